"""ledgerkit.analytics.derived: one cache per (ledger, policy), figures against plain Python."""

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference_rules import LedgerView, lower_percentile
from rule_strategies import rule_ledgers

import ledgerkit as lk
from ledgerkit._kernels.codes import CLASS_NAMES, STAGE_NAMES
from ledgerkit.analytics import derived as D
from ledgerkit.analytics import metrics
from ledgerkit.rules import taa, whatif
from ledgerkit.rules.engine import Action, Condition, Rule, RuleSet, dry_run
from ledgerkit.rules.model import as_rule_set, default_rules
from ledgerkit.rules.taa import check_percentile, configurations, with_history
from ledgerkit.scale.taa import GlobalHistory

TAA_RULES = RuleSet(
    (
        Rule(
            "taa",
            when=Condition(allowed_vs_taa=">=", taa_percentile=40.0, taa_min_claims=2),
            then=Action("write_off", target="payer_balance", group="CO", reason="45"),
        ),
    )
)


def _everything(ledger, policy=None):
    """Metrics, a dry run with a TAA rule, TAA tables and what-if, on one ledger."""
    metrics.initial_denial_rate(ledger, by="payer", policy=policy)
    metrics.denial_dollars(ledger, policy=policy)
    dry_run(ledger, TAA_RULES, policy=policy).entries
    taa.suggest_taa(ledger, 50, 2)
    taa.taa_history(ledger)
    whatif.taa_sweep(ledger, [10, 50], min_claims=2)
    whatif.threshold_sweep(ledger, [100, 500])
    whatif.WhatIf(ledger, min_claims=2, policy=policy).evaluate(30, small_balance=500)


@pytest.fixture
def kernel_calls(monkeypatch):
    calls = []
    kernel = D.ledger_figures_nb

    def counting(*args):
        calls.append(len(args[2]) - 1)  # encounters of the ledger it ran on
        return kernel(*args)

    monkeypatch.setattr(D, "ledger_figures_nb", counting)
    return calls


def test_balance_kernel_runs_once_for_metrics_rules_taa_and_whatif(kernel_calls):
    ledger = lk.synth.generate(400, seed=5)
    _everything(ledger)
    _everything(ledger)
    assert kernel_calls == [400]
    data = D.derived(ledger)
    assert ledger.keys.cached_policies() == [ledger.policy]
    assert data.facts.figures["balance"] is data.features.proc_balance  # one array, shared


def test_two_policies_get_two_entries(kernel_calls):
    ledger = lk.synth.generate(300, seed=6)
    other = ledger.policy.override("CO", "97", "contractual")
    _everything(ledger)
    _everything(ledger, policy=other)
    assert len(kernel_calls) == 2
    assert ledger.keys.cached_policies() == [ledger.policy, other]
    assert D.derived(ledger) is D.derived(ledger, ledger.policy)
    assert D.derived(ledger, other) is not D.derived(ledger)
    # The changed policy changes the figures: no stale entry is served.
    a, b = D.derived(ledger).figures.proc, D.derived(ledger, other).figures.proc
    assert not np.array_equal(a["denied"], b["denied"])
    # An equal-looking but new policy object is a new entry; the oldest goes.
    third = ledger.policy.override("CO", "97", "contractual")
    D.derived(ledger, third)
    assert ledger.keys.cached_policies() == [other, third]  # MAX_POLICIES, oldest dropped


def test_with_policy_ledgers_share_the_keys_cache():
    ledger = lk.synth.generate(100, seed=2)
    same = ledger.with_policy(ledger.policy)
    assert D.derived(same) is D.derived(ledger)


def test_denial_facts_are_not_computed_for_rules():
    ledger = lk.synth.generate(200, seed=3)
    dry_run(ledger)
    whatif.taa_sweep(ledger, [50], min_claims=2)
    assert "facts" not in vars(D.derived(ledger))


@given(rule_ledgers(max_encounters=8))
def test_figures_and_features_match_reference(ledger):
    view = LedgerView(ledger)
    data = D.derived(ledger)
    f = data.features
    for name in D.KEPT_FIGURES:
        assert data.figures.proc[name].tolist() == [r[name] for r in view.figures]
    assert f.proc_last.tolist() == [r["last"] for r in view.figures]
    enc = [view.enc[e["encounter_id"]] for e in view.encounters]
    assert f.enc_balance.tolist() == [r["balance"] for r in enc]
    assert f.enc_allowed.tolist() == [r["allowed"] for r in enc]
    assert [CLASS_NAMES[c] for c in f.enc_class] == [r["class"] for r in enc]
    assert [STAGE_NAMES[s] for s in f.enc_stage] == [r["stage"] for r in enc]
    last_remit = [view.last_remit.get(e["encounter_id"], -1) for e in view.encounters]
    assert f.enc_last_remit.tolist() == last_remit
    assert f.latest_day == view.latest_day


@given(
    st.lists(st.lists(st.integers(1, 10**6), max_size=6), min_size=1, max_size=5),
    st.floats(0, 100),
    st.integers(1, 4),
)
def test_configuration_percentile_matches_reference(histories, percentile, min_claims):
    values = [sorted(h) for h in histories]
    start = np.cumsum([0] + [len(h) for h in values]).astype(np.int64)
    configs = taa.Configurations(
        enc_config=np.arange(len(values), dtype=np.int64),
        n_configs=len(values),
        representative=np.arange(len(values), dtype=np.int64),
        hist_start=start,
        hist_values=np.array([v for h in values for v in h], np.int64),
        config_group=np.arange(len(values), dtype=np.int64),
        group_start=start,
        group_values=np.array([v for h in values for v in h], np.int64),
    )
    want = [lower_percentile(h, percentile) if len(h) >= min_claims and h else -1 for h in values]
    assert configs.percentile(percentile, min_claims).tolist() == want


@given(st.data())
def test_with_history_reads_each_configuration_from_the_global_one(data):
    ledger = lk.synth.generate(120, seed=data.draw(st.integers(0, 3)))
    own = configurations(ledger)
    labels = taa.config_labels(ledger, own)
    known = data.draw(st.lists(st.sampled_from(labels), unique=True))
    extra = data.draw(st.lists(st.text("xyz|", min_size=1, max_size=4), unique=True))
    names = sorted(set(known) | set(extra))
    hist = {n: sorted(data.draw(st.lists(st.integers(1, 999), max_size=4))) for n in names}
    start = np.cumsum([0] + [len(hist[n]) for n in names]).astype(np.int64)
    values = np.array([v for n in names for v in hist[n]], np.int64)
    history = GlobalHistory(pa.array(names, pa.string()), start, values)
    before = (own.hist_start.copy(), own.hist_values.copy())
    got = with_history(own, labels, history)
    for c, label in enumerate(labels):
        lo, hi = got.hist_start[c], got.hist_start[c + 1]
        assert got.hist_values[lo:hi].tolist() == hist.get(label, [])
    # Nothing cached is changed: the ledger's own configurations stay as they were.
    assert configurations(ledger) is own
    assert np.array_equal(own.hist_start, before[0])
    assert np.array_equal(own.hist_values, before[1])


def test_history_argument_changes_the_taa_rules_and_nothing_cached():
    ledger = lk.synth.generate(600, seed=8)
    own = dry_run(ledger, TAA_RULES).summary.to_pydict()
    labels = taa.config_labels(ledger)
    # A history in which every configuration's allowed amounts are 1 cent: all reached.
    names = sorted(set(labels))
    history = GlobalHistory(
        pa.array(names, pa.string()),
        np.arange(0, 2 * len(names) + 1, 2, dtype=np.int64),
        np.ones(2 * len(names), np.int64),
    )
    wide = dry_run(ledger, TAA_RULES, history=history).summary.to_pydict()
    assert wide["encounters"][0] > own["encounters"][0]
    assert dry_run(ledger, TAA_RULES).summary.to_pydict() == own


def test_check_percentile_and_as_rule_set():
    check_percentile(0, 1)
    check_percentile(100, 3)
    for percentile, min_claims in ((-1, 1), (101, 1), (50, 0), (50, 1.5)):
        with pytest.raises(ValueError):
            check_percentile(percentile, min_claims)
    assert len(as_rule_set(None)) == len(default_rules())
    rule = TAA_RULES.rules[0] if hasattr(TAA_RULES, "rules") else tuple(TAA_RULES)[0]
    assert tuple(as_rule_set(rule)) == (rule,)
    assert tuple(as_rule_set([rule])) == (rule,)
    with pytest.raises(TypeError):
        as_rule_set(3)
