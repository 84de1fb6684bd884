"""Time ``ledgerkit.post``: N remitted claims into a ledger of M procedures.

    python benchmarks/compare_posting.py --procedures 10000000 --claims 1000000
    python benchmarks/compare_posting.py --procedures 10000000 --claims 1000000 --store

Data generation (synth + remittances_from_ledger) is not timed; the post is
run after a small warm-up post (JIT compiled) and timed once. ``--store`` also
times the same batch through a ``LedgerStore`` on Delta Lake (in a temporary
folder under ``$LEDGERKIT_BENCH_DIR``, default ``/tmp/ledgerkit-bench``):
creating the store, the post with its commit, posting the batch again (all
archived), and a fresh process's first ``store.ledger()``.
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._posting_data import posting_counts, posting_workload  # noqa: E402
from ledgerkit.posting.engine import post  # noqa: E402

BENCH_DIR = Path(os.environ.get("LEDGERKIT_BENCH_DIR", "/tmp/ledgerkit-bench"))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(label: str, fn):
    t = time.perf_counter()
    out = fn()
    print(f"  {label:<44} {time.perf_counter() - t:8.2f} s", flush=True)
    return out


def store_round(base, remits) -> None:
    from ledgerkit.store.ledger_store import LedgerStore

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=BENCH_DIR, prefix="store_"))
    try:
        print("LedgerStore (Delta Lake):")
        store = _timed(
            "create (write the ledger)",
            lambda: LedgerStore.create(folder / "s", base, actor="bench", note="load"),
        )
        result = _timed(
            f"post {remits.claims.num_rows:,} claims + commit",
            lambda: store.post(remits, actor="bench", note="batch"),
        )
        print(f"    {posting_counts(result)}")
        again = _timed("the same batch again (all archived)",
                       lambda: store.post(remits, actor="bench", note="again"))  # fmt: skip
        assert again.entries.num_rows == 0
        code = (
            "import time, ledgerkit as lk; t = time.perf_counter(); "
            f"s = lk.LedgerStore({str(folder / 's')!r}); n = s.ledger().entries.num_rows; "
            "print(f'{time.perf_counter() - t:.2f} {n}')"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout.split()  # fmt: skip
        print(f"  {'fresh process: open + ledger() (' + f'{int(out[1]):,} entries)':<44} "
              f"{float(out[0]):8.2f} s")  # fmt: skip
        size = sum(f.stat().st_size for f in (folder / "s").rglob("*") if f.is_file())
        print(f"  store on disk: {size / 1e6:,.0f} MB; peak RSS of this process "
              f"{_peak_mb():,.0f} MB")  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procedures", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--store", action="store_true", help="also time a LedgerStore")
    args = parser.parse_args(argv)
    t = time.perf_counter()
    base, remits = posting_workload(args.procedures, args.claims)
    print(f"data: {base} and {remits} in {time.perf_counter() - t:.1f} s", flush=True)
    post(base, remits.__class__.concat([]))  # warm-up (JIT)
    from ledgerkit.posting.batch import flatten

    flatten(remits)
    t = time.perf_counter()
    result = post(base, remits)
    elapsed = time.perf_counter() - t
    n = result.decisions.num_rows
    print(f"post: {n:,} claims into {base.procedures.num_rows:,} procedures "
          f"in {elapsed:.2f} s = {n / elapsed:,.0f} claims/s")  # fmt: skip
    print(posting_counts(result))
    del result
    if args.store:
        store_round(base, remits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
