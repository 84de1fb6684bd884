"""The ledger kept on disk: ``LedgerStore`` over Delta tables (``ledger_store``), the
stored remits (``remits``) and the one-writer file lock (``lock``).
"""

from ledgerkit.store.ledger_store import SCHEMA_VERSION, LedgerStore

__all__ = ["LedgerStore", "SCHEMA_VERSION"]
