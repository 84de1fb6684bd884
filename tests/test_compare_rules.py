"""benchmarks/compare_rules.py: peers that agree with the dry run, warm and cold tables.

The polars and DuckDB twins of the 20-rule dry run must reproduce its per-rule
summary exactly (issue #19 item 3). Two extra TAA rules make lines denied entirely
matter on a small ledger (Settled question 5: a money-moving TAA rule leaves them
alone unless it says otherwise), the case the polars twin once missed.
"""

from __future__ import annotations

import polars as pl
import pytest

import ledgerkit as lk
from benchmarks import compare_rules
from benchmarks import rules_peers as peers
from benchmarks._rules_data import twenty_rules
from ledgerkit._kernels import rules as K
from ledgerkit.rules.engine import Action, Condition, Rule, RuleSet


def _rules_with_loose_taa() -> RuleSet:
    loose = dict(allowed_vs_taa="<", taa_percentile=75.0, taa_min_claims=3)
    return RuleSet(
        list(twenty_rules())
        + [
            Rule(
                "taa_under_skips_denied",
                when=Condition(**loose),
                then=Action("write_off", target="payer_balance"),
                order=2,
            ),
            Rule(
                "taa_under_takes_denied",
                when=Condition(**loose, taa_includes_denied_lines=True),
                then=Action("transfer_to_pr"),
                order=3,
            ),
        ]
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_peers_summarise_the_dry_run_exactly(seed):
    ledger = lk.synth.generate(1000, seed=seed)
    rules = _rules_with_loose_taa()
    run = lk.dry_run(ledger, rules)
    hit = {r["rule"]: r["procedures"] for r in run.summary.to_pylist()}
    assert hit["taa_under_skips_denied"] > 0 and hit["taa_under_takes_denied"] > 0
    f, compiled, enc, proc, entries = peers.polars_frames(ledger, rules)
    assert proc["denied_entirely"].sum() > 0
    polars_summary = peers.dry_run_polars(f, compiled, enc, proc, entries, f.latest_day)
    peers.check_same(run, polars_summary, compiled, "polars")
    con = peers.duckdb_tables(enc, proc, entries)
    duckdb_summary = peers.dry_run_duckdb(con, compiled, f.latest_day)
    peers.check_same(run, duckdb_summary, compiled, "duckdb")
    # the check has teeth: a peer that ignores lines denied entirely disagrees
    blind = proc.with_columns(pl.lit(False).alias("denied_entirely"))
    with pytest.raises(AssertionError, match="taa_under_skips_denied"):
        summary = peers.dry_run_polars(f, compiled, enc, blind, entries, f.latest_day)
        peers.check_same(run, summary, compiled, "polars")
    with pytest.raises(AssertionError, match="taa_under_skips_denied"):
        con = peers.duckdb_tables(enc, blind, entries)
        peers.check_same(run, peers.dry_run_duckdb(con, compiled, f.latest_day), compiled)


def test_peers_agree_on_the_benchmark_rules_without_pair_rules():
    """No group/CARC rule at all: the peers' queries still build (no pair columns)."""
    ledger = lk.synth.generate(600, seed=5)
    rules = RuleSet([r for r in twenty_rules() if not (r.when.carcs or r.when.group_codes)])
    run = lk.dry_run(ledger, rules)
    f, compiled, enc, proc, entries = peers.polars_frames(ledger, rules)
    assert not compiled.r_int[:, K.R_HAS_PAIR].any()
    peers.check_same(
        run, peers.dry_run_polars(f, compiled, enc, proc, entries, f.latest_day), compiled
    )
    con = peers.duckdb_tables(enc, proc, entries)
    peers.check_same(run, peers.dry_run_duckdb(con, compiled, f.latest_day), compiled, "duckdb")


@pytest.mark.slow
def test_compare_rules_prints_warm_and_cold_tables(capsys):
    assert compare_rules.main(["--procedures", "4000", "--slider-encounters", "500",
                               "--runs", "1", "--cold-runs", "1"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    warm = out.split("warm: ")[1].split("(prep:")[0]
    assert [line.split()[0] for line in warm.splitlines()[3:]] == list(compare_rules.ENGINES)
    cold = out.split("cold: a fresh process")[1]
    assert "from_parquet + dry run, 20 rules (summary)" in cold
    # every process's peak RSS: the ledgerkit, what-if and peer children, the cold runs, itself
    peaks = out.split("peak RSS of every process")[1]
    for label in ("ledgerkit (dry runs, sweeps)", "polars", "duckdb", "cold: from_parquet"):
        assert f"\n  {label}" in peaks
    assert "compare_rules.py (parent)" in peaks
    assert out.splitlines()[-1] == "every process stayed under 8 GB"
