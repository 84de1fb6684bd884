"""Sizes, seeded ledgers and the test-only slowdown shared by the benchmarks.

Sizes are a setting, read once from ``LEDGERKIT_BENCH_SIZE``:

* ``tiny``: a few thousand procedures; every benchmark in seconds (development, tests);
* ``quick`` (the default): 1M procedures, what ``make bench-check`` compares;
* ``full``: ``quick`` plus 10M procedures, the 400k-encounter 835 file, the RuleTuner at
  1M encounters, and ``ledgerkit warm`` from an empty Numba cache.

asv runs every benchmark in a fresh process; generating large ledgers each time would
dominate, so they are generated once and kept as Parquet under ``.asv/ledgers/``
(ignored by git), keyed by size and seed.
"""

import functools
import os
import shutil
from pathlib import Path

import ledgerkit as lk
from ledgerkit.synth.ledgers import MEAN_PROCEDURES_PER_ENCOUNTER

SEED = 0
CACHE = Path(__file__).resolve().parents[1] / ".asv" / "ledgers"
CACHE_FROM = 500_000  # smaller ledgers are quicker to generate than to read

SIZE_SETTINGS = ("tiny", "quick", "full")


def bench_size() -> str:
    """The size setting of this run: ``tiny``, ``quick`` or ``full``."""
    size = os.environ.get("LEDGERKIT_BENCH_SIZE", "quick")
    if size not in SIZE_SETTINGS:
        raise ValueError(f"LEDGERKIT_BENCH_SIZE={size!r}: expected one of {SIZE_SETTINGS}")
    return size


def by_size(tiny, quick, full):
    """The parameter list of the current size setting."""
    return {"tiny": tiny, "quick": quick, "full": full}[bench_size()]


# ledger sizes (procedures) of the classify / balances / rules / analytics benchmarks
PROCEDURES = by_size([3_000], [1_000_000], [1_000_000, 10_000_000])
# one slider move or one RuleTuner build (full: 1M encounters, the documented target)
TUNER_PROCEDURES = by_size([3_000], [1_000_000], [2_300_000])


def slowdown(name: str) -> int:
    """How many times a benchmark body repeats the work it times (normally 1).

    Test-only: ``LEDGERKIT_BENCH_SLOWDOWN=classify`` (or ``classify:5``) makes the
    ``classify`` benchmark do its work ten times (or 5 times), the stand-in for a slowed
    kernel that proves ``make bench-check`` fails. The library never reads it.
    """
    for item in os.environ.get("LEDGERKIT_BENCH_SLOWDOWN", "").split(","):
        key, _, times = item.strip().partition(":")
        if key == name:
            return int(times or 10)
    return 1


@functools.lru_cache(maxsize=2)
def ledger_with_procedures(n_procedures: int) -> lk.Ledger:
    """A synthetic ledger of about ``n_procedures`` procedures, keys warmed."""
    folder = ledger_folder(n_procedures)
    if n_procedures >= CACHE_FROM and (folder / "entries.parquet").exists():
        ledger = lk.Ledger.from_parquet(folder)
    else:
        ledger = lk.synth.generate(_encounters(n_procedures), seed=SEED)
        if n_procedures >= CACHE_FROM:
            ledger.to_parquet(folder)
    ledger.keys.packed_codes(ledger.entries, ledger.policy)
    return ledger


def ledger_folder(n_procedures: int, *, write: bool = False) -> Path:
    """The Parquet folder of the seeded ledger of ``n_procedures`` (written if asked)."""
    folder = CACHE / f"{_encounters(n_procedures)}-{SEED}"
    if write and not (folder / "entries.parquet").exists():
        tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
        lk.synth.generate(_encounters(n_procedures), seed=SEED).to_parquet(tmp)
        try:
            tmp.rename(folder)
        except OSError:  # another process wrote it meanwhile
            shutil.rmtree(tmp)
    return folder


def _encounters(n_procedures: int) -> int:
    return max(1, round(n_procedures / MEAN_PROCEDURES_PER_ENCOUNTER))
