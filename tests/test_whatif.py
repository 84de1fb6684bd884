"""ledgerkit.whatif: every sweep level and every slider position equals a dry run."""

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ledgerkit as lk
from ledgerkit.rules.engine import Action, Condition, Rule, RuleSet, dry_run
from ledgerkit.rules.whatif import FIGURES, WhatIf, taa_sweep, threshold_sweep

LEDGER = lk.synth.generate(1500, seed=17)


def _dry_totals(ledger, rules, by_payer=False):
    """Dry-run figures in the sweep's terms, from the hits and the ledger."""
    run = dry_run(ledger, rules)
    hits = run.hits.to_pylist()
    balance = {r["encounter_id"]: r["balance"] for r in lk.classify(ledger).to_pylist()}
    payer = {
        e["encounter_id"]: e["payer1_id"]
        for e in ledger.encounters.select(["encounter_id", "payer1_id"]).to_pylist()
    }
    written = {}
    for h in hits:
        written[h["encounter_id"]] = written.get(h["encounter_id"], 0) + h["amount_cents"]
    out = {}
    for eid, amount in written.items():
        key = payer[eid] if by_payer else None
        t = out.setdefault(key, dict.fromkeys(FIGURES, 0))
        t["encounters_hit"] += 1
        t["written_off_cents"] += amount
        if balance[eid] != 0 and balance[eid] == amount:
            t["encounters_closed"] += 1
            t["ar_closed_cents"] += balance[eid]
    assert sum(t["encounters_closed"] for t in out.values()) == sum(
        run.summary["encounters_closed"].to_pylist()
    )
    return out


def _taa_rule(percentile, fraction=1.0, min_claims=5):
    when = Condition(
        allowed_vs_taa=">=",
        taa_percentile=float(percentile),
        taa_fraction=fraction,
        taa_min_claims=min_claims,
    )
    return Rule("taa", when=when, then=Action("write_off", target="payer_balance"))


def _small_rule(threshold):
    when = Condition(balance_min=1, balance_max=int(threshold))
    return Rule("small", when=when, then=Action("write_off", target="balance"))


def _rows(table, level):
    return {
        r["payer_id"]: {k: r[k] for k in FIGURES}
        for r in table.to_pylist()
        if r["level"] == level and r["encounters_hit"] > 0
    }


@pytest.mark.parametrize("by_payer", [False, True])
def test_percentile_sweep_equals_dry_runs(by_payer):
    levels = [0, 10, 25, 33.3, 50, 75, 90, 100]
    curve = taa_sweep(LEDGER, levels, min_claims=5, by_payer=by_payer)
    assert curve.num_rows % len(levels) == 0
    for level in levels:
        want = _dry_totals(LEDGER, [_taa_rule(level)], by_payer)
        assert _rows(curve, level) == want, level


def test_fraction_sweep_equals_dry_runs():
    levels = [0.5, 0.8, 0.95, 1.0, 1.2]
    curve = taa_sweep(LEDGER, levels, mode="fraction", percentile=40, min_claims=5)
    for level in levels:
        want = _dry_totals(LEDGER, [_taa_rule(40, level)], by_payer=True)
        assert _rows(curve, level) == want, level


def test_threshold_sweep_equals_dry_runs():
    levels = [0, 1, 250, 499, 2_000, 10_000]
    curve = threshold_sweep(LEDGER, levels)
    for level in levels:
        want = _dry_totals(LEDGER, [_small_rule(level)], by_payer=True) if level >= 1 else {}
        assert _rows(curve, level) == want, level


def test_default_sweeps_have_101_levels_and_monotone_curves():
    curve = taa_sweep(LEDGER, min_claims=5, by_payer=False)
    assert curve.num_rows == 101
    hit = curve["encounters_hit"].to_numpy()
    assert (np.diff(hit) <= 0).all()  # a higher TAA closes fewer encounters
    curve = taa_sweep(LEDGER, mode="fraction", min_claims=5, by_payer=False)
    assert curve.num_rows == 101 and (np.diff(curve["written_off_cents"].to_numpy()) <= 0).all()
    curve = threshold_sweep(LEDGER, by_payer=False)
    assert curve.num_rows == 101 and (np.diff(curve["encounters_closed"].to_numpy()) >= 0).all()


@given(
    st.one_of(st.none(), st.sampled_from([0.0, 10.0, 25.0, 50.0, 90.0, 100.0])),
    st.sampled_from([0.8, 1.0, 1.1]),
    st.one_of(st.none(), st.integers(0, 5_000)),
)
@settings(max_examples=20)
def test_whatif_equals_dry_run_of_its_rules(percentile, fraction, small):
    what = WhatIf(LEDGER, min_claims=5)
    got = what.evaluate(taa_percentile=percentile, taa_fraction=fraction, small_balance=small)
    rules = what.rules(percentile, fraction, small)
    want = _dry_totals(LEDGER, rules).get(None, dict.fromkeys(FIGURES, 0))
    assert got == want
    by_payer = what.evaluate(percentile, fraction, small, by_payer=True)
    assert {r["payer_id"]: {k: r[k] for k in FIGURES} for r in by_payer.to_pylist()} == (
        _dry_totals(LEDGER, rules, by_payer=True)
    )


def test_whatif_rules_round_trip_through_toml():
    rules = WhatIf(LEDGER, min_claims=5).rules(25, 0.9, 499)
    assert isinstance(rules, RuleSet)
    assert lk.rules.load_rules(rules.to_toml()) == rules


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode must be one of"):
        taa_sweep(LEDGER, mode="dollars")
    with pytest.raises(ValueError, match="strictly increasing"):
        taa_sweep(LEDGER, [50, 10])
    with pytest.raises(ValueError, match="non-empty"):
        taa_sweep(LEDGER, [])
    with pytest.raises(ValueError, match="between 0 and 100"):
        taa_sweep(LEDGER, [10, 120])
    with pytest.raises(ValueError, match="fraction levels must be >= 0"):
        taa_sweep(LEDGER, [-1, 1], mode="fraction")
    with pytest.raises(ValueError, match="integer cents"):
        threshold_sweep(LEDGER, [0.5, 1])
    what = WhatIf(LEDGER)
    with pytest.raises(ValueError, match="taa_fraction must be >= 0"):
        what.evaluate(50, -1)
    with pytest.raises(ValueError, match="small_balance is integer cents"):
        what.evaluate(None, 1, 1.5)
    with pytest.raises(ValueError, match="percentile must be between"):
        what.evaluate(101)


def test_empty_ledger():
    from ledgers import make_ledger

    empty = make_ledger([], [], [])
    assert taa_sweep(empty, [50], by_payer=False)["encounters_hit"].to_pylist() == [0]
    assert threshold_sweep(empty, [100], by_payer=False)["encounters_hit"].to_pylist() == [0]
    assert WhatIf(empty).evaluate(50, small_balance=100)["encounters_hit"] == 0


def test_rule_benchmark_bodies_run_small():
    """Every asv body of benchmarks/bench_rules.py runs once, small (flox-style)."""
    bench = importlib.import_module("benchmarks.bench_rules")
    for cls_name in ("DryRun", "Features", "Sweeps", "Slider", "History"):
        cls = getattr(bench, cls_name)
        params = [3_000] + [p[-1] for p in cls.params[1:]]
        obj = cls()
        obj.setup(*params)
        for meth in dir(cls):
            if meth.startswith("time_"):
                getattr(obj, meth)(*params)
