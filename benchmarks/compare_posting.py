"""Time ``ledgerkit.post``: N remitted claims into a ledger of M procedures.

    python benchmarks/compare_posting.py --procedures 10000000 --claims 1000000

Data generation (synth + remittances_from_ledger) is not timed; the post is
run after a small warm-up post (JIT compiled) and timed once.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._posting_data import posting_counts, posting_workload  # noqa: E402
from ledgerkit.posting import post  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procedures", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=100_000)
    args = parser.parse_args(argv)
    t = time.perf_counter()
    base, remits = posting_workload(args.procedures, args.claims)
    print(f"data: {base} and {remits} in {time.perf_counter() - t:.1f} s", flush=True)
    post(base, remits.__class__.concat([]))  # warm-up (JIT)
    from ledgerkit.posting import _flatten

    _flatten(remits)
    t = time.perf_counter()
    result = post(base, remits)
    elapsed = time.perf_counter() - t
    n = result.decisions.num_rows
    print(f"post: {n:,} claims into {base.procedures.num_rows:,} procedures "
          f"in {elapsed:.2f} s = {n / elapsed:,.0f} claims/s")  # fmt: skip
    print(posting_counts(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
