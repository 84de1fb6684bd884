"""Per-entry arrays the A/R metrics share (grouped order): balance effect, procedure,
negation flag. Internal to ``analytics``."""

from __future__ import annotations

import numpy as np

from ledgerkit._kernels import codes as C
from ledgerkit.core.row_groups import valid_flags

# Buckets that move the balance (DOMAIN.md: balance = charge - paid - patient_paid
# - contractual - written_off); the others (PR, denied, other, pushes) do not.
BALANCE_SIGN = np.zeros(C.N_BUCKETS, np.int64)
BALANCE_SIGN[C.CHARGE] = 1
for _b in (C.PAID, C.CONTRACTUAL, C.WRITTEN_OFF, C.PR_WRITTEN_OFF, C.PATIENT_PAID):
    BALANCE_SIGN[_b] = -1


def balance_effect(facts, ledger) -> np.ndarray:
    """What each grouped entry adds to its procedure's balance, in cents."""
    return ledger.keys.amounts * BALANCE_SIGN[C.bucket_of(facts.codes)]


def entry_procs(ledger) -> np.ndarray:
    """Grouped procedure of every grouped entry."""
    starts = ledger.keys.proc_entry_start
    return np.repeat(np.arange(len(starts) - 1, dtype=np.int64), np.diff(starts))


def negations(ledger) -> np.ndarray:
    """True for grouped entries that negate another entry.

    Only the null flags of ``negates`` are needed: a Parquet folder's column is read a
    row group at a time into the one bool array (the whole column is 390 MB at 10M
    procedures; the flags 48 MB).
    """
    flag = valid_flags(ledger, "entries", "negates")
    rows = ledger.keys.entry_order
    return flag if rows is None else flag[rows]
