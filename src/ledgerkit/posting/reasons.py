"""Why the posting engine decided what it did: the reason codes and the decisions table.

Reason codes
------------
=========================  ========  ===================================================
code                       decision  meaning
=========================  ========  ===================================================
first_remit                posted    no live remit of this payer on these procedures
reversal                   posted    claim status 22: negations of the remit it reverses
reviewed                   posted    posted by a person in review (``post_flagged``)
duplicate                  archived  the same remit is already posted
duplicate_in_batch         archived  the same remit appears earlier in this batch
reviewed_archive           archived  archived by a person in review (``archive``)
unmatched_claim            flagged   patient control number matches no encounter
payer_not_in_coverage      flagged   the 835 payer is not in the encounter's coverage
unbalanced_remit           flagged   charge - paid != adjustments (claim or a line)
unmatched_line             flagged   a service line matches no procedure of the encounter
claim_level_amount         flagged   claim-level amounts on an encounter of several lines
invalid_code               flagged   the reader withheld a code of the remit (status, CAS)
conflict                   flagged   another live remit of this payer on these procedures
negative_balance           flagged   posting would make a procedure balance negative, or
                                     leave its open PR above its balance
reversal_without_original  flagged   a reversal with no live remit to reverse
reversal_mismatch          flagged   a reversal that does not mirror the posted remit
=========================  ========  ===================================================
"""

from __future__ import annotations

import pyarrow as pa

from ledgerkit.core.schema import TIMESTAMP

__all__ = ["ENGINE_ACTOR", "REASONS", "REASON_CODES", "STATIC_FLAGS", "DECISIONS_SCHEMA"]

ENGINE_ACTOR = "posting engine"

# code -> (decision, words). The order is fixed: the kernel's R_* codes index it.
REASONS = {
    "first_remit": ("posted", "posted: first remit of this payer for these procedures"),
    "reversal": ("posted", "posted: reversal (claim status 22) negates the remit it reverses"),
    "conflict": (
        "flagged",
        "flagged: another remit of this payer is already posted on these procedures and was "
        "not reversed; reverse or negate it first, or archive this one",
    ),
    "negative_balance": (
        "flagged",
        "flagged: posting would make a procedure balance negative (or leave open PR above "
        "it); negate earlier entries or adjust first",
    ),
    "reversal_without_original": (
        "flagged",
        "flagged: reversal (claim status 22) but no posted remit of this payer to reverse",
    ),
    "reversal_mismatch": (
        "flagged",
        "flagged: reversal amounts do not mirror the posted remit of this payer",
    ),
    "duplicate": ("archived", "archived: the same remit is already posted"),
    "duplicate_in_batch": ("archived", "archived: the same remit appears earlier in this batch"),
    "unmatched_claim": ("flagged", "flagged: patient control number matches no encounter"),
    "payer_not_in_coverage": (
        "flagged",
        "flagged: the 835 payer is not the encounter's primary, secondary or tertiary payer",
    ),
    "unbalanced_remit": (
        "flagged",
        "flagged: the remit does not balance (charge - paid != adjustments, claim or line)",
    ),
    "unmatched_line": (
        "flagged",
        "flagged: a service line matches no procedure of the encounter (control number, or "
        "code + modifiers + date + charge)",
    ),
    "claim_level_amount": (
        "flagged",
        "flagged: amounts reported at claim level only on an encounter with several "
        "procedures; no line amounts are invented",
    ),
    "invalid_code": (
        "flagged",
        "flagged: the 835 reader withheld a claim status, group code or CARC of this remit "
        "as not a valid code (see the reader's findings); correct the file and post it again",
    ),
    "reviewed": ("posted", "posted by a reviewer"),
    "reviewed_archive": ("archived", "archived by a reviewer"),
}
REASON_CODES = tuple(REASONS)
_KERNEL_CODES = REASON_CODES[:6]  # R_POSTED .. R_REVERSAL_MISMATCH, in kernel order
assert _KERNEL_CODES == (
    "first_remit",
    "reversal",
    "conflict",
    "negative_balance",
    "reversal_without_original",
    "reversal_mismatch",
)
# Static flags, by priority (first that applies wins).
STATIC_FLAGS = (
    "invalid_code",
    "unmatched_claim",
    "payer_not_in_coverage",
    "unbalanced_remit",
    "unmatched_line",
    "claim_level_amount",
)

DECISIONS_SCHEMA = pa.schema(
    [
        pa.field("remit_id", pa.string(), False),
        pa.field("decision", pa.string(), False),
        pa.field("reason_code", pa.string(), False),
        pa.field("reason", pa.string(), False),
        pa.field("encounter_id", pa.string(), False),
        pa.field("payer_id", pa.string()),
        pa.field("payer_seq", pa.int8()),
        pa.field("status_code", pa.string()),
        pa.field("payer_claim_control_number", pa.string()),
        pa.field("charge_cents", pa.int64()),
        pa.field("paid_cents", pa.int64()),
        pa.field("n_entries", pa.int64(), False),
        pa.field("file", pa.string()),
        pa.field("claim_id", pa.int32()),
        pa.field("batch_position", pa.int64()),
        pa.field("decided_at", TIMESTAMP, False),
        pa.field("actor", pa.string()),
        pa.field("note", pa.string()),
    ]
)
