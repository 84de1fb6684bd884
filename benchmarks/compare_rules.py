"""Rules, TAA sweeps and what-if re-evaluation at scale, and the dry run vs polars.

    python benchmarks/compare_rules.py --procedures 10000000

Prints one table: the one-off feature pass, the 20-rule dry run (summary only,
and with the proposed entries built), 101-level sweeps, a single-threshold
what-if re-evaluation on 1M encounters, and the same 20 rules written as
polars expressions over the same per-procedure data (the feature arrays the
kernel reads, as a polars DataFrame; the CARC conditions joined from the
entries). The polars result must equal the dry run's summary before any time
is printed. Times are medians of ``--runs`` runs after a warm-up run. Then a cold
table: the dry run and a TAA sweep computed by a fresh process from a Parquet folder.
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
from benchmarks._data import cached_ledger, ledger_folder  # noqa: E402
from benchmarks._rules_data import twenty_rules  # noqa: E402
from ledgerkit import rules as R  # noqa: E402
from ledgerkit import whatif  # noqa: E402
from ledgerkit._kernels import rules as K  # noqa: E402
from ledgerkit.analytics.derived import Derived, ledger_features  # noqa: E402
from ledgerkit.rules.taa import denied_entirely  # noqa: E402


def timed(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


# ---------------------------------------------------------------------- polars
def polars_frames(ledger, rules):
    """The kernel's inputs as polars frames (not timed: the same data both engines read)."""
    import polars as pl

    f = ledger_features(ledger)
    compiled = R.compile_rules(rules, f, ledger)
    enc = pl.DataFrame(
        {
            "enc": np.arange(f.n_encounters, dtype=np.int64),
            "payer": f.enc_payer,
            "pclass": f.enc_pclass,
            "site": f.enc_site,
            "class": f.enc_class,
            "stage": f.enc_stage,
            "enc_balance": f.enc_balance,
            "allowed": f.enc_allowed,
            "last_remit": f.enc_last_remit,
            **{f"taa{v}": compiled.enc_taa[v] for v in range(compiled.enc_taa.shape[0])},
        }
    )
    proc = pl.DataFrame(
        {
            "proc": np.arange(f.n_procedures, dtype=np.int64),
            "enc": f.proc_encounter(),
            "cpt": f.proc_cpt,
            "service_day": f.proc_service_day,
            "payer_balance": f.proc_payer_balance,
            "open_pr": f.proc_open_pr,
            "balance": f.proc_balance,
            # Settled question 5: money-moving TAA rules leave lines denied entirely alone
            "denied_entirely": denied_entirely(ledger),
            **{f"matched{v}": m for v, m in enumerate(compiled.proc_matched)},
        }
    )
    counts = np.diff(f.proc_entry_start)
    entries = pl.DataFrame(
        {
            "proc": np.repeat(np.arange(f.n_procedures, dtype=np.int64), counts),
            "pair": f.entry_pair,
        }
    )
    return f, compiled, enc, proc, entries


def _in(col, table_row, offset=0):
    import polars as pl

    codes = (np.flatnonzero(table_row) - offset).tolist()
    return pl.col(col).is_in(codes)


def dry_run_polars(f, compiled, enc, proc, entries, as_of_day):
    """First-match rule chain and per-rule summary, as polars expressions."""
    import polars as pl

    t = compiled.tables
    lf = proc.lazy().join(enc.lazy(), on="enc", how="left")
    pair_rules = [r for r in range(len(compiled.rules)) if compiled.r_int[r, K.R_HAS_PAIR]]
    live = entries.lazy().filter(pl.col("pair") >= 0)
    for r in pair_rules:
        has = (
            live.filter(_in("pair", t["r_pair"][r]))
            .select("proc")
            .unique()
            .with_columns(pl.lit(True).alias(f"pair{r}"))
        )
        lf = lf.join(has, on="proc", how="left").with_columns(pl.col(f"pair{r}").fill_null(False))
    pb = pl.max_horizontal(pl.col("payer_balance"), 0)
    pr = pl.max_horizontal(pl.col("open_pr"), 0)
    room = pl.max_horizontal(pl.col("balance"), 0)  # a write-off never exceeds the balance
    wo_payer = pl.min_horizontal(pb, room)
    chain = None
    amounts = {}
    for r, rule in enumerate(compiled.rules):
        ri = compiled.r_int[r]
        c = pl.lit(True)
        for col, name, off in (
            ("payer", "r_payer", 1),
            ("pclass", "r_pclass", 0),
            ("site", "r_site", 1),
            ("class", "r_class", 0),
            ("stage", "r_stage", 0),
            ("cpt", "r_cpt", 0),
        ):
            if not t[name][r].all():
                c = c & _in(col, t[name][r], off)
        if ri[K.R_BAL_MIN] > -(1 << 62) or ri[K.R_BAL_MAX] < (1 << 62):
            c = c & pl.col("enc_balance").is_between(int(ri[K.R_BAL_MIN]), int(ri[K.R_BAL_MAX]))
        if ri[K.R_AGE_FROM]:
            day = (
                pl.col("service_day")
                if ri[K.R_AGE_FROM] == K.AGE_SERVICE
                else pl.col("last_remit")
            )
            age = as_of_day - day
            c = c & (day >= 0) & age.is_between(int(ri[K.R_AGE_MIN]), int(ri[K.R_AGE_MAX]))
        if ri[K.R_TAA_VAR] >= 0:
            taa = pl.col(f"taa{int(ri[K.R_TAA_VAR])}")
            reached = pl.col("allowed") * 10000 >= taa * int(ri[K.R_TAA_BP])
            c = c & (taa >= 0) & (reached if ri[K.R_TAA_OP] == K.TAA_GE else ~reached)
        action, target = ri[K.R_ACTION], ri[K.R_TARGET]
        # amount = "matched": what the rule matched, capped like the rest.
        want = pl.col(f"matched{ri[K.R_MATCHED_VAR]}") if ri[K.R_MATCHED_VAR] >= 0 else pb
        if action == K.A_WRITE_OFF:
            a_payer = pl.min_horizontal(want, wo_payer) if target != K.T_PR else pl.lit(0)
            a_pr = pl.min_horizontal(pr, room - a_payer)
            a_pr = a_pr if target != K.T_PAYER_BALANCE else pl.lit(0)
        elif action == K.A_TRANSFER_TO_PR:
            a_payer, a_pr = pl.min_horizontal(want, pb), pl.lit(0)
        else:
            a_payer = a_pr = pl.lit(0)
        if action <= K.A_TRANSFER_TO_PR:
            c = c & ((a_payer + a_pr) > 0)
        if ri[K.R_HAS_PAIR]:
            c = c & pl.col(f"pair{r}")
        if compiled.skips_denied_lines[r]:
            c = c & ~pl.col("denied_entirely")
        amounts[r] = (a_payer, a_pr)
        chain = (pl.when(c) if chain is None else chain.when(c)).then(pl.lit(r))
    lf = lf.with_columns(chain.otherwise(pl.lit(-1)).alias("rule"))
    a_payer = a_pr = None
    for r, (ap, apr) in amounts.items():
        cond = pl.col("rule") == r
        a_payer = (pl.when(cond) if a_payer is None else a_payer.when(cond)).then(ap)
        a_pr = (pl.when(cond) if a_pr is None else a_pr.when(cond)).then(apr)
    actions = np.array([compiled.r_int[r, K.R_ACTION] for r in range(len(compiled.rules))])
    hits = (
        lf.filter(pl.col("rule") >= 0)
        .with_columns(
            a_payer.otherwise(0).alias("from_payer"),
            a_pr.otherwise(0).alias("from_pr"),
            pl.col("rule")
            .replace_strict(list(range(len(actions))), actions.tolist())
            .alias("act"),
        )
        .select("enc", "rule", "act", "from_payer", "from_pr", "enc_balance")
        .collect()
    )
    written = pl.when(pl.col("act") == K.A_WRITE_OFF).then(
        pl.col("from_payer") + pl.col("from_pr")
    )
    summary = hits.group_by("rule").agg(
        pl.len().alias("procedures"),
        pl.col("enc").n_unique().alias("encounters"),
        written.otherwise(0).sum().alias("written_off_cents"),
        pl.when(pl.col("act") == K.A_TRANSFER_TO_PR)
        .then(pl.col("from_payer"))
        .otherwise(0)
        .sum()
        .alias("to_pr_cents"),
    )
    closed = (
        hits.filter(pl.col("act") == K.A_WRITE_OFF)
        .group_by("enc")
        .agg(
            pl.col("rule").min().alias("rule"),
            (pl.col("from_payer") + pl.col("from_pr")).sum().alias("written"),
            pl.col("enc_balance").first(),
        )
        .filter((pl.col("enc_balance") != 0) & (pl.col("enc_balance") == pl.col("written")))
        .group_by("rule")
        .agg(pl.len().alias("encounters_closed"))
    )
    return summary.join(closed, on="rule", how="left").with_columns(
        pl.col("encounters_closed").fill_null(0)
    )


def check_same(run, polars_summary, compiled):
    got = {r["rule"]: r for r in run.summary.to_pylist()}
    names = [r.name for r in compiled.rules]
    for row in polars_summary.to_dicts():
        want = got[names[row["rule"]]]
        for k in (
            "procedures",
            "encounters",
            "written_off_cents",
            "to_pr_cents",
            "encounters_closed",
        ):
            assert row[k] == want[k], (names[row["rule"]], k, row[k], want[k])
    assert len(polars_summary) == sum(1 for r in got.values() if r["procedures"] > 0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procedures", type=int, default=1_000_000)
    parser.add_argument("--slider-encounters", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--skip-polars", action="store_true", help="skip the polars run (it needs ~2x the memory)"
    )
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args(argv)
    print_rows(ledger_rows(args))  # the large ledger is freed before the slider ledger is built
    print_rows(slider_rows(args), header=False)
    if args.cold_runs:
        cold_rows(args)


def cold_rows(args) -> None:
    """The dry run as a notebook's first cell meets it: a fresh process, from Parquet.

    ledgerkit only: the polars twin above reads the kernel's own feature arrays, so it
    has no cold form of its own (the classification peers' cold table is compare.py's).
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
    if not args.skip_polars:
        rows.append(polars_row(ledger, rules, run, t_dry, args.runs))
    return rows


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


def polars_row(ledger, rules, run, t_dry, runs):
    f, compiled, enc, proc, entries = polars_frames(ledger, rules)
    as_of = f.latest_day
    ps = dry_run_polars(f, compiled, enc, proc, entries, as_of)
    check_same(run, ps, compiled)
    t_pl = timed(lambda: dry_run_polars(f, compiled, enc, proc, entries, as_of), max(1, runs // 2))
    note = f"polars / ledgerkit = {t_pl / t_dry:.1f}x"
    return ("polars expressions, same 20 rules, same data (results equal)", t_pl, note)


def print_rows(rows, header=True):
    if header:
        print(f"\n{'benchmark':<72} {'median':>10}  note")
    for name, sec, note in rows:
        value = "" if sec != sec else (f"{sec * 1000:.1f} ms" if sec < 1 else f"{sec:.2f} s")
        print(f"{name:<72} {value:>10}  {note}", flush=True)


if __name__ == "__main__":
    main()
    from benchmarks._data import print_peak_rss

    print_peak_rss()
