"""Posting 835 remittances to a ledger: ``post`` (``engine``), deciding each claim (``decide``,
``match``, ``batch``, ``reasons``), the entries it writes (``entries``), human ``review``.
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
