"""Integer codes shared by the kernels and the Python layer.

Plain ints so that Numba freezes them as compile-time constants.
"""

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
