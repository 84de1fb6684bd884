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
import dataclasses
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ledgerkit as lk  # noqa: E402
from benchmarks._data import cached_ledger, ledger_folder  # noqa: E402
from benchmarks._rules_data import twenty_rules  # noqa: E402
from benchmarks.children import json_ready, print_peaks, run_child  # noqa: E402
from benchmarks.rules_peers import (  # noqa: E402
    check_summary,
    dry_run_duckdb,
    dry_run_polars,
    duckdb_tables,
    polars_frames,
)
from ledgerkit import rules as R  # noqa: E402
from ledgerkit import whatif  # noqa: E402
from ledgerkit.analytics.derived import Derived  # noqa: E402

ENGINES = ("ledgerkit", "polars", "duckdb")
FRAMES = ("enc", "proc", "entries")  # the peers' inputs, as ledgerkit_rows writes them


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
        help="skip the polars and DuckDB runs",
    )
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lk-rules-") as shared:
        # each part in its own child process: ledgerkit writes the peers' inputs to `shared`
        ours = run_child("compare_rules", "ledgerkit_rows", args.procedures, args.seed,
                         args.runs, None if args.skip_peers else shared,
                         label="ledgerkit (dry runs, sweeps)")  # fmt: skip
        print_rows(ours["rows"])
        what_if = f"ledgerkit (what-if, {args.slider_encounters:,} encounters)"
        slider = run_child("compare_rules", "slider_rows", args.slider_encounters, args.seed,
                           label=what_if)  # fmt: skip
        print_rows(slider["rows"], header=False)
        if not args.skip_peers:
            warm = [("ledgerkit", ours["features_s"], ours["dry_run_s"])]
            for engine in ENGINES[1:]:
                peer = run_child("compare_rules", "peer_rows", engine, shared, args.runs,
                                 label=engine)  # fmt: skip
                check_summary(ours["summary"], ours["names"], peer["summary"], engine)
                warm.append((engine, ours["frames_s"] + peer["prep_s"], peer["dry_run_s"]))
            print_warm(warm, args.runs)
    if args.cold_runs:
        cold_rows(args)
    print_peaks("compare_rules.py")
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


def ledgerkit_rows(procedures: int, seed: int, runs: int, shared: str | None) -> dict:
    """In a child: ledgerkit's figures on the cached ledger; with ``shared``, the peers'
    inputs (the feature frames, the compiled rules, the dry run's summary) written there."""
    rules = twenty_rules()
    t = time.perf_counter()
    ledger = cached_ledger(procedures, seed=seed)  # generated once, by a child
    print(f"# {ledger} loaded in {time.perf_counter() - t:.1f} s", flush=True)
    ledger.packed_codes()  # from the keys sidecar: the entries table stays unread
    rows = []
    t = time.perf_counter()
    R.dry_run(ledger, rules)
    rows.append(("first dry run (JIT, features, TAA configurations)", time.perf_counter() - t, ""))
    t_features = timed(lambda: Derived(ledger, ledger.policy).features, 2)
    rows.append(("features pass (once per ledger, cached)", t_features, ""))
    t_dry = timed(lambda: R.dry_run(ledger, rules), runs)
    rows.append(("dry run, 20 rules (summary)", t_dry, "target < 1 s"))
    t_entries = timed(lambda: R.dry_run(ledger, rules).entries, 3)
    rows.append(("dry run, 20 rules + proposed entries table", t_entries, ""))
    run = R.dry_run(ledger, rules)
    n_hits = int((run.proc_rule >= 0).sum())
    counts = f"{n_hits} / {run.entries.num_rows}"
    rows.append(("  procedures hit / entries proposed", float("nan"), counts))
    for kind in ("percentile", "fraction"):
        t_sweep = timed(lambda k=kind: whatif.taa_sweep(ledger, mode=k), runs)
        rows.append((f"TAA sweep, 101 {kind} levels, by payer", t_sweep, "target < 1 s"))
    t_sb = timed(lambda: whatif.threshold_sweep(ledger), runs)
    rows.append(("small-balance sweep, 101 thresholds, by payer", t_sb, ""))
    out = {"rows": rows, "features_s": t_features, "dry_run_s": t_dry}
    if shared:
        out |= write_peer_inputs(ledger, rules, Path(shared))
        out["summary"] = run.summary.to_pylist()
    return json_ready(out)


def write_peer_inputs(ledger, rules, shared: Path) -> dict:
    """The per-procedure data the kernel reads, as the peers' three frames, and the
    compiled rules (without their per-procedure matches: those are in the frames)."""
    t = time.perf_counter()
    f, compiled, enc, proc, entries = polars_frames(ledger, rules)
    t_frames = time.perf_counter() - t
    for name, frame in zip(FRAMES, (enc, proc, entries), strict=True):
        frame.write_parquet(shared / f"{name}.parquet")
    small = dataclasses.replace(compiled, proc_matched=compiled.proc_matched[:, :0])
    with open(shared / "compiled.pickle", "wb") as file:
        pickle.dump((small, int(f.latest_day)), file)
    return {"frames_s": t_frames, "names": [r.name for r in compiled.rules]}


def peer_rows(engine: str, shared: str, runs: int) -> dict:
    """In a child: one peer's preparation and dry run on the frames ledgerkit wrote."""
    import polars as pl

    folder = Path(shared)
    with open(folder / "compiled.pickle", "rb") as file:
        compiled, as_of = pickle.load(file)
    enc, proc, entries = (
        pl.read_parquet(folder / f"{n}.parquet") for n in ("enc", "proc", "entries")
    )
    if engine == "polars":
        prep = 0.0  # the frames are its preparation, timed by ledgerkit_rows

        def call():
            return dry_run_polars(None, compiled, enc, proc, entries, as_of)
    else:
        t = time.perf_counter()
        con = duckdb_tables(enc, proc, entries)
        prep = time.perf_counter() - t
        del enc, proc, entries  # in DuckDB's own tables now

        def call():
            return dry_run_duckdb(con, compiled, as_of)

    summary = call().to_dicts()
    return json_ready({"prep_s": prep, "dry_run_s": timed(call, runs), "summary": summary})


def slider_rows(n_encounters: int, seed: int) -> list:
    small = lk.synth.generate(n_encounters, seed=seed + 1)
    what = whatif.WhatIf(small)
    what.evaluate(taa_percentile=25, small_balance=499)
    levels = iter(np.linspace(20, 30, 1000))
    t_one = timed(lambda: what.evaluate(taa_percentile=float(next(levels)), small_balance=499), 20)
    n = n_encounters
    rows = [(f"what-if re-evaluation, {n} encounters, new TAA percentile", t_one, "< 50 ms")]
    sb = iter(range(100, 10_000, 7))
    t_sb = timed(lambda: what.evaluate(taa_percentile=25, small_balance=next(sb)), 20)
    rows.append((f"what-if re-evaluation, {n} encounters, new threshold", t_sb, "< 50 ms"))
    return {"rows": rows}


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
