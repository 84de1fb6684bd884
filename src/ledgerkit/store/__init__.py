"""The ledger kept on disk: ``LedgerStore`` over Delta tables (``ledger_store``), the
stored remits (``remits``), the one-writer file lock (``lock``) and the Delta writes
with their faults as ``LedgerError`` (``delta_io``).
"""

from ledgerkit.store.ledger_store import SCHEMA_VERSION, LedgerStore

__all__ = ["LedgerStore", "SCHEMA_VERSION"]
