"""Time every denial metric on one synthetic ledger and print a table.

    python benchmarks/compare_analytics.py --procedures 10000000

The ledger is generated once (seeded ``lk.synth.generate``) into the benchmark
Parquet cache (``benchmarks/_data.py``) by a child process; by default a child adds
the denial lifecycle to it there (``lk.synth.lifecycle``: appeals, resubmissions,
reprocessing remits, write-offs, take-backs, and the work events), and the
lifecycle metrics run on it too (``--no-lifecycle``: the plain ledger). The
operations run in a child process of their own, which reads that folder lean
(``Ledger.from_parquet``); this process only prints.
``facts (first call)`` is the shared one-pass extraction every metric needs
once per ledger and policy (cached on the ledger's keys); the other rows are
medians of ``--runs`` warm runs of each operation with the facts cached, beside
the first of them (``first``: what the lifecycle metrics keep per work events
table is built there). JIT compilation is excluded (warm-up).
Then a cold table: metrics computed by a fresh process from the same Parquet folder,
and every process's peak RSS (a plain line says whether any went over 8 GB).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._data import ledger_folder, ledger_with_procedures, lifecycle_folder  # noqa: E402
from benchmarks.bench_analytics import OPERATIONS  # noqa: E402
from benchmarks.children import print_peaks, run_child  # noqa: E402
from ledgerkit.analytics import metrics  # noqa: E402
from ledgerkit.analytics.appeal_outcomes import appeal_outcomes  # noqa: E402
from ledgerkit.analytics.derived import facts  # noqa: E402
from ledgerkit.analytics.worklist import worklist  # noqa: E402
from ledgerkit.synth import lifecycle  # noqa: E402

# Operations on (ledger, work events).
LIFECYCLE_OPERATIONS = {
    "appeal_outcomes": lambda L, w: appeal_outcomes(w, ledger=L),
    "appeal_overturn_rate(payer,category)": lambda L, w: metrics.appeal_overturn_rate(
        L, w, by=("payer", "category")
    ),
    "appeal_win_rate(payer)": lambda L, w: metrics.appeal_win_rate(L, w, by="payer"),
    "appeal_days_to_resolution(payer)": lambda L, w: metrics.appeal_days_to_resolution(
        L, w, by="payer"
    ),
    "recovery_likelihood": lambda L, w: metrics.recovery_likelihood(L, w),
    "worklist(work=events)": lambda L, w: worklist(L, work=w),
    "days_in_ar(payer)": lambda L, w: metrics.days_in_ar(L, by="payer"),
    "first_pass_resolution_rate(month)": lambda L, w: metrics.first_pass_resolution_rate(L),
    "take_backs(payer,month)": lambda L, w: metrics.take_backs(L, by=("payer", "month")),
}


def _available_gb() -> float:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1e6
    except OSError:
        pass
    return float("inf")


def _guard(min_free_gb: float) -> None:
    """Exit (code 3) rather than push a shared machine into the OOM killer."""

    def watch():
        while True:
            if _available_gb() < min_free_gb:
                print(f"aborted: less than {min_free_gb} GB of memory left", flush=True)
                os._exit(3)
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True).start()


def timings(folder: str, events: str | None, runs: int, min_free_gb: float = 0.0) -> dict:
    """In a child process: every operation on the ledger read lean from ``folder`` (and
    the work events of ``events``), after a warm-up of the JIT on a small ledger."""
    import pyarrow.parquet as pq

    import ledgerkit as lk

    if min_free_gb > 0:
        _guard(min_free_gb)
    # Warm the JIT on a small ledger first so compile time is not counted.
    small = ledger_with_procedures(5_000)
    if events:
        lc = lifecycle(small, seed=1)
        for op in LIFECYCLE_OPERATIONS.values():
            op(lc.ledger, lc.events)
        del lc
    for op in OPERATIONS.values():
        op(small)
    del small
    ledger_with_procedures.cache_clear()

    t0 = time.perf_counter()
    ledger = lk.Ledger.from_parquet(folder)
    work = pq.read_table(events) if events else None
    load = time.perf_counter() - t0
    operations = {name: (lambda L, w, op=op: op(L)) for name, op in OPERATIONS.items()}
    if events:
        operations.update(LIFECYCLE_OPERATIONS)
    before = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    facts(ledger)
    rows = [("facts (first call)", time.perf_counter() - t0, None, None)]
    after = resource.getrusage(resource.RUSAGE_SELF)
    # where the first call's time goes: CPU in user code vs in the kernel (page faults
    # on fresh memory), over all of this process's threads
    facts_cpu = (
        after.ru_utime - before.ru_utime,
        after.ru_stime - before.ru_stime,
        after.ru_minflt - before.ru_minflt,
    )
    for name, op in operations.items():
        times = []
        n_rows = 0
        for _ in range(runs):
            t0 = time.perf_counter()
            n_rows = op(ledger, work).num_rows
            times.append(time.perf_counter() - t0)
        rows.append((name, statistics.median(times), times[0], n_rows))
    return {
        "ledger": repr(ledger),
        "load": load,
        "events": work.num_rows if events else None,
        "rows": rows,
        "facts_cpu": facts_cpu,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procedures", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold-runs", type=int, default=3, help="0: no cold table")
    parser.add_argument(
        "--no-lifecycle", action="store_true", help="the plain ledger: no appeals, no work events"
    )
    parser.add_argument(
        "--min-free-gb", type=float, default=0.0, help="abort when free memory drops below"
    )
    args = parser.parse_args(argv)
    if args.min_free_gb > 0:
        _guard(args.min_free_gb)

    # the ledger (with its lifecycle) is made once by a child process into the benchmark
    # cache; the operations run in another child, which reads it lean
    events = None
    if args.no_lifecycle:
        folder = ledger_folder(args.procedures)
    else:
        made = lifecycle_folder(args.procedures)
        folder, events = made / "ledger", made / "work_events.parquet"
    out = run_child(
        "compare_analytics", "timings", str(folder), events and str(events), args.runs,
        args.min_free_gb, label="ledgerkit (the operations)",
    )  # fmt: skip
    print(f"{out['ledger']} (read lean from {folder} in {out['load']:.1f} s)")
    if events:
        print(f"with its denial lifecycle: {out['events']} work events")
    # seconds: the median of the runs; first: the first run, which also builds what the
    # derived layer keeps for the next (appeal outcomes and work items per events table)
    print(f"{'operation':<40} {'seconds':>9} {'first':>9} {'rows':>9}")
    for name, median, first, n_rows in out["rows"]:
        if first is None:
            print(f"{name:<40} {median:>9.3f} {'':>9} {'':>9}")
        else:
            print(f"{name:<40} {median:>9.3f} {first:>9.3f} {n_rows:>9}")
    user, system, faults = out["facts_cpu"]
    print(
        f"facts (first call) CPU: user {user:.2f} s, system {system:.2f} s, "
        f"{faults:,} minor page faults (the operations' process, all threads)"
    )
    if args.cold_runs:
        cold_rows(folder, args.cold_runs)
    print_peaks("compare_analytics.py")


def cold_rows(folder, runs: int) -> None:
    """Metrics as a notebook's first cell meets them: a fresh process, from Parquet."""
    from benchmarks import cold

    read = f"import ledgerkit as lk\nledger = lk.Ledger.from_parquet({str(folder)!r})"
    codes = {
        "from_parquet + denial dollars by payer, category": f"{read}\n"
        "lk.metrics.denial_dollars(ledger, by=('payer', 'category'))",
        "from_parquet + worklist": f"{read}\nlk.worklist(ledger)",
    }
    cold.run_cold(next(iter(codes.values())))  # untimed: page cache and Numba cache
    print(f"\ncold: a fresh process per run, median of {runs}, Numba cache warm")
    cold.print_cold_rows([(label, cold.median_cold(code, runs)) for label, code in codes.items()])


if __name__ == "__main__":
    main()
