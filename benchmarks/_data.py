"""Seeded ledgers shared by the benchmarks (and, small, by tests/test_benchmarks.py).

asv runs every benchmark in a fresh process; generating 10M procedures each time
would dominate, so large ledgers are generated once and kept as Parquet under
``.asv/ledgers/`` (ignored by git), keyed by size and seed.
"""

import functools
from pathlib import Path

import ledgerkit as lk
from ledgerkit.synth.ledgers import MEAN_PROCEDURES_PER_ENCOUNTER

SEED = 0
CACHE = Path(__file__).resolve().parents[1] / ".asv" / "ledgers"
CACHE_FROM = 500_000  # smaller ledgers are quicker to generate than to read


@functools.lru_cache(maxsize=2)
def ledger_with_procedures(n_procedures: int) -> lk.Ledger:
    """A synthetic ledger of about ``n_procedures`` procedures, keys warmed."""
    n_enc = max(1, round(n_procedures / MEAN_PROCEDURES_PER_ENCOUNTER))
    folder = CACHE / f"{n_enc}-{SEED}"
    if n_procedures >= CACHE_FROM and (folder / "entries.parquet").exists():
        ledger = lk.Ledger.from_parquet(folder)
    else:
        ledger = lk.synth.generate(n_enc, seed=SEED)
        if n_procedures >= CACHE_FROM:
            ledger.to_parquet(folder)
    ledger.keys.packed_codes(ledger.entries, ledger.policy)
    return ledger
