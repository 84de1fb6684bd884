"""Posting 835 remittances to a ledger: the engine and its decisions (``engine``), the
flattened remit batch (``batch``), line matching (``match``) and human review (``review``).
"""

from ledgerkit.posting.engine import (
    DECISIONS_SCHEMA,
    ENGINE_ACTOR,
    REASONS,
    PostResult,
    post,
    remit_ids,
    select_remits,
)

__all__ = [
    "post",
    "PostResult",
    "REASONS",
    "DECISIONS_SCHEMA",
    "remit_ids",
    "select_remits",
    "ENGINE_ACTOR",
]
