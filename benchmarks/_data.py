"""Seeded ledgers shared by the benchmarks (and, small, by tests/test_benchmarks.py)."""

import functools

import ledgerkit as lk
from ledgerkit.synth import MEAN_PROCEDURES_PER_ENCOUNTER

SEED = 0


@functools.lru_cache(maxsize=2)
def ledger_with_procedures(n_procedures: int) -> lk.Ledger:
    """A synthetic ledger of about ``n_procedures`` procedures, keys warmed."""
    n_enc = max(1, round(n_procedures / MEAN_PROCEDURES_PER_ENCOUNTER))
    ledger = lk.synth.generate(n_enc, seed=SEED)
    ledger.keys.packed_codes(ledger.entries, ledger.policy)
    return ledger
