"""Integer codes shared by the kernels and the Python layer, and the packed entry code.

Plain ints so that Numba freezes them as compile-time constants. Each entry's
bucket, payer_seq and liveness travel as one byte,
``bucket | payer_seq << 4 | live << 6``; :func:`pack_code` builds it and
:func:`bucket_of`, :func:`payer_seq_of` and :func:`is_live` read it. They work
on scalars inside ``@njit`` kernels (where they inline) and on numpy arrays.
"""

from numba.extending import register_jitable

# Entry buckets: what one entry contributes to (see DOMAIN.md, "Buckets").
CHARGE = 0
PAID = 1
CONTRACTUAL = 2
PR_DEDUCTIBLE = 3
PR_COINSURANCE = 4
PR_COPAY = 5
PR_OTHER = 6
DENIED = 7
OTHER = 8
WRITTEN_OFF = 9  # write-off of a payer balance (denied or unpaid amounts)
PR_WRITTEN_OFF = 10  # write-off of patient responsibility (payer_seq 0)
PUSHED_TO_PR = 11
PATIENT_PAID = 12
N_BUCKETS = 13

ADJUSTMENT_BUCKETS = {
    "contractual": CONTRACTUAL,
    "pr_deductible": PR_DEDUCTIBLE,
    "pr_coinsurance": PR_COINSURANCE,
    "pr_copay": PR_COPAY,
    "pr_other": PR_OTHER,
    "denied": DENIED,
    "other": OTHER,
}

# Encounter classes, ordered so that a larger code is a worse payer decision.
AWAITING = 0
PAID_CLASS = 1
UNRESOLVED = 2
PARTIAL_DENIAL = 3
DENIAL = 4
CLASS_NAMES = ("AWAITING", "PAID", "UNRESOLVED", "PARTIAL_DENIAL", "DENIAL")

# Stages: who owes the balance now.
FINALIZED = 0
PAYER_1 = 1
PAYER_2 = 2
PAYER_3 = 3
PATIENT = 4
FINALIZATION_PENDING = 5
STAGE_NAMES = ("finalized", "payer_1", "payer_2", "payer_3", "patient", "finalization_pending")

MAX_PAYER_SEQ = 3


# The packed entry code. Buckets take 4 bits, payer_seq (0..3) 2 bits, live 1 bit.
_SEQ_SHIFT = 4
_LIVE_SHIFT = 6


@register_jitable
def pack_code(bucket, payer_seq, live):
    """The packed code of entries with this bucket, payer_seq and live flag (0 or 1)."""
    return bucket | (payer_seq << _SEQ_SHIFT) | (live << _LIVE_SHIFT)


@register_jitable
def bucket_of(code):
    """The bucket (``CHARGE`` .. ``PATIENT_PAID``) of a packed code."""
    return code & 15


@register_jitable
def payer_seq_of(code):
    """The payer_seq (0 = patient, 1..3) of a packed code."""
    return (code >> _SEQ_SHIFT) & 3


@register_jitable
def is_live(code):
    """True where the entry is live: neither negated nor a negation."""
    return (code >> _LIVE_SHIFT) & 1 == 1
