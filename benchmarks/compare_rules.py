"""Rules, TAA sweeps and what-if re-evaluation at scale, and the dry run vs its peers.

    python benchmarks/compare_rules.py --procedures 10000000

Prints three tables. First ledgerkit's own figures: the one-off feature pass, the
20-rule dry run (summary only, and with the proposed entries built), 101-level
sweeps, a single-threshold what-if re-evaluation on 1M encounters. Then the warm
table: the same 20 rules as polars expressions and as one DuckDB query
(``rules_peers.py``) over the same per-procedure data the kernel reads, each
engine's preparation timed and shown; every peer's summary must equal the dry run's
before any time is printed. Times are medians of ``--runs`` runs after a warm-up
run. Then the cold table: the dry run and a TAA sweep computed by a fresh process
from a Parquet folder. Last, this process's peak RSS.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ledgerkit as lk  # noqa: E402
from benchmarks._data import cached_ledger, ledger_folder, print_peak_rss  # noqa: E402
from benchmarks._rules_data import twenty_rules  # noqa: E402
from benchmarks.rules_peers import (  # noqa: E402
    check_same,
    dry_run_duckdb,
    dry_run_polars,
    duckdb_tables,
    polars_frames,
)
from ledgerkit import rules as R  # noqa: E402
from ledgerkit import whatif  # noqa: E402
from ledgerkit.analytics.derived import Derived  # noqa: E402

ENGINES = ("ledgerkit", "polars", "duckdb")


def timed(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procedures", type=int, default=1_000_000)
    parser.add_argument("--slider-encounters", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--skip-peers",
        "--skip-polars",
        action="store_true",
        help="skip the polars and DuckDB runs (they need ~2x the memory)",
    )
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args(argv)
    rows, warm = ledger_rows(args)  # the large ledger is freed before the slider ledger is built
    print_rows(rows)
    print_rows(slider_rows(args), header=False)
    if warm:
        print_warm(warm, args.runs)
    if args.cold_runs:
        cold_rows(args)
    print_peak_rss()
    return 0


def cold_rows(args) -> None:
    """The dry run as a notebook's first cell meets it: a fresh process, from Parquet.

    ledgerkit only: the peers above read the kernel's own feature arrays, so they
    have no cold form of their own (the classification peers' cold table is compare.py's).
    """
    from benchmarks import cold

    folder = ledger_folder(args.procedures, seed=args.seed)  # the benchmark cache's
    read = f"import ledgerkit as lk\nledger = lk.Ledger.from_parquet({str(folder)!r})"
    rules = "from benchmarks._rules_data import twenty_rules\nrules = twenty_rules()"
    codes = {
        "from_parquet + dry run, 20 rules (summary)": f"{read}\n{rules}\n"
        "lk.dry_run(ledger, rules).summary",
        "from_parquet + TAA sweep, 101 percentile levels": f"{read}\n"
        "lk.taa_sweep(ledger, mode='percentile')",
    }
    cold.run_cold(next(iter(codes.values())))  # untimed: page cache and Numba cache
    print(f"\ncold: a fresh process per run, median of {args.cold_runs}, Numba cache warm")
    cold.print_cold_rows(
        [(label, cold.median_cold(code, args.cold_runs)) for label, code in codes.items()]
    )


def ledger_rows(args) -> list:
    rules = twenty_rules()
    t = time.perf_counter()
    ledger = cached_ledger(args.procedures, seed=args.seed)  # generated once, by a child
    print(f"# {ledger} loaded in {time.perf_counter() - t:.1f} s", flush=True)
    ledger.keys.packed_codes(ledger.entries, ledger.policy)
    rows = []
    t = time.perf_counter()
    R.dry_run(ledger, rules)
    rows.append(("first dry run (JIT, features, TAA configurations)", time.perf_counter() - t, ""))
    t_features = timed(lambda: Derived(ledger, ledger.policy).features, 2)
    rows.append(("features pass (once per ledger, cached)", t_features, ""))
    t_dry = timed(lambda: R.dry_run(ledger, rules), args.runs)
    rows.append(("dry run, 20 rules (summary)", t_dry, "target < 1 s"))
    t_entries = timed(lambda: R.dry_run(ledger, rules).entries, 3)
    rows.append(("dry run, 20 rules + proposed entries table", t_entries, ""))
    run = R.dry_run(ledger, rules)
    n_hits = int((run.proc_rule >= 0).sum())
    counts = f"{n_hits} / {run.entries.num_rows}"
    rows.append(("  procedures hit / entries proposed", float("nan"), counts))
    for kind in ("percentile", "fraction"):
        t_sweep = timed(lambda k=kind: whatif.taa_sweep(ledger, mode=k), args.runs)
        rows.append((f"TAA sweep, 101 {kind} levels, by payer", t_sweep, "target < 1 s"))
    t_sb = timed(lambda: whatif.threshold_sweep(ledger), args.runs)
    rows.append(("small-balance sweep, 101 thresholds, by payer", t_sb, ""))
    warm = None if args.skip_peers else warm_rows(ledger, rules, run, (t_features, t_dry), args)
    return rows, warm


def slider_rows(args) -> list:
    small = lk.synth.generate(args.slider_encounters, seed=args.seed + 1)
    what = whatif.WhatIf(small)
    what.evaluate(taa_percentile=25, small_balance=499)
    levels = iter(np.linspace(20, 30, 1000))
    t_one = timed(lambda: what.evaluate(taa_percentile=float(next(levels)), small_balance=499), 20)
    n = args.slider_encounters
    rows = [(f"what-if re-evaluation, {n} encounters, new TAA percentile", t_one, "< 50 ms")]
    sb = iter(range(100, 10_000, 7))
    t_sb = timed(lambda: what.evaluate(taa_percentile=25, small_balance=next(sb)), 20)
    rows.append((f"what-if re-evaluation, {n} encounters, new threshold", t_sb, "< 50 ms"))
    return rows


def warm_rows(ledger, rules, run, ledgerkit_times, args) -> list:
    """(engine, preparation s, dry run s) of each engine; the peers' results checked first.

    ledgerkit prepares its per-procedure features (the pass the dry run reads); the
    peers are handed those same arrays and prepare their own frames and tables.
    """
    rows = [("ledgerkit", *ledgerkit_times)]
    t = time.perf_counter()
    f, compiled, enc, proc, entries = polars_frames(ledger, rules)
    t_frames = time.perf_counter() - t
    as_of = f.latest_day
    check_same(run, dry_run_polars(f, compiled, enc, proc, entries, as_of), compiled, "polars")
    t_pl = timed(lambda: dry_run_polars(f, compiled, enc, proc, entries, as_of), args.runs)
    rows.append(("polars", t_frames, t_pl))
    t = time.perf_counter()
    con = duckdb_tables(enc, proc, entries)
    t_tables = t_frames + time.perf_counter() - t
    check_same(run, dry_run_duckdb(con, compiled, as_of), compiled, "duckdb")
    t_db = timed(lambda: dry_run_duckdb(con, compiled, as_of), args.runs)
    rows.append(("duckdb", t_tables, t_db))
    con.close()
    return rows


def print_warm(rows, runs) -> None:
    print(f"\nwarm: 20-rule dry run (summary), median of {runs}; results equal the dry run's")
    header = f"{'engine':<12}{'prep s':>9}{'dry run s':>12}{'x ledgerkit':>13}"
    print(header)
    print("-" * len(header))
    base = rows[0][2]
    for engine, prep, dry in rows:
        print(f"{engine:<12}{prep:>9.3f}{dry:>12.3f}{dry / base:>13.1f}", flush=True)
    print(
        "(prep: ledgerkit, its features pass; polars, the same feature arrays, compiled rules"
        " and denied-entirely lines as three DataFrames; duckdb, those frames copied into"
        " its own tables)"
    )


def print_rows(rows, header=True):
    if header:
        print(f"\n{'benchmark':<72} {'median':>10}  note")
    for name, sec, note in rows:
        value = "" if sec != sec else (f"{sec * 1000:.1f} ms" if sec < 1 else f"{sec:.2f} s")
        print(f"{name:<72} {value:>10}  {note}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
