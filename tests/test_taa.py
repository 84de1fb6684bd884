"""ledgerkit.taa: configuration keys, history and suggested TAAs against plain Python."""

from collections import defaultdict

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledgers import make_ledger
from reference_rules import LedgerView
from reference_taa import dirty_encounters_ref, suggest_taa_ref
from rule_strategies import rule_ledgers

import ledgerkit as lk
from ledgerkit.rules.engine import Action, Condition, Rule, dry_run
from ledgerkit.rules.taa import (
    config_labels,
    configurations,
    encounter_taa,
    suggest_taa,
    taa_history,
)


def _check_configs(ledger):
    view = LedgerView(ledger)
    configs = configurations(ledger)
    ref = [view.config(e) for e in view.encounters]
    # Same configuration in the reference <=> same id from the kernel.
    pairs = set(zip(ref, configs.enc_config.tolist(), strict=True))
    assert len(pairs) == len(set(ref)) == configs.n_configs
    history = defaultdict(list)
    dirty = dirty_encounters_ref(ledger)
    for c, e in zip(configs.enc_config.tolist(), view.encounters, strict=True):
        row = view.enc[e["encounter_id"]]
        clean = e["encounter_id"] not in dirty
        if row["class"] != "AWAITING" and row["allowed"] > 0 and clean:
            history[c].append(row["allowed"])
    for c in range(configs.n_configs):
        lo, hi = configs.hist_start[c], configs.hist_start[c + 1]
        assert configs.hist_values[lo:hi].tolist() == sorted(history[c])
    return view, configs


@given(rule_ledgers(max_encounters=8))
def test_configuration_keys_match_reference(ledger):
    _check_configs(ledger)


def test_configuration_keys_on_synthetic_ledger():
    _check_configs(lk.synth.generate(600, seed=21))


def test_configuration_is_a_multiset_of_lines():
    """Line order does not matter; units, modifiers, payer and POS do."""
    entries = []
    procs = [
        ("E1", 1, "99213", 100),
        ("E1", 2, "36415", 10),
        ("E2", 1, "36415", 10),
        ("E2", 2, "99213", 100),
        ("E3", 1, "99213", 100),
        ("E3", 2, "99213", 100),
        ("E4", 1, "99213", 100),
    ]
    encs = [("E1", ("P1",)), ("E2", ("P1",)), ("E3", ("P1",)), ("E4", ("P2",))]
    ledger = make_ledger(encs, procs, entries)
    ids = configurations(ledger).enc_config.tolist()
    assert ids[0] == ids[1]
    assert len({ids[0], ids[2], ids[3]}) == 3
    labels = config_labels(ledger)
    assert labels[ids[0]] == "P1|-|36415x1+99213x1"


@given(st.integers(0, 1000), st.sampled_from([0, 10, 25, 50, 62.5, 90, 100]), st.integers(1, 6))
@settings(max_examples=15)
def test_suggest_taa_is_the_lower_percentile_of_history(seed, percentile, min_claims):
    ledger = lk.synth.generate(300, seed=seed)
    view = LedgerView(ledger)
    want = sorted(
        (r["taa_cents"] or -1, r["taa_source"] or "")
        for r in suggest_taa_ref(ledger, percentile, min_claims)
    )
    table = suggest_taa(ledger, percentile=percentile, min_claims=min_claims)
    got = zip(table["taa_cents"].to_pylist(), table["taa_source"].to_pylist(), strict=True)
    assert sorted((c or -1, s or "") for c, s in got) == want
    claims = table["claims"].to_pylist()
    assert claims == sorted(claims, reverse=True)
    per_enc = encounter_taa(ledger, percentile=percentile, min_claims=min_claims)
    ref = view.taa(percentile, min_claims)
    assert [None if t < 0 else t for t in per_enc.tolist()] == [
        ref[e["encounter_id"]] for e in view.encounters
    ]


def test_history_table():
    ledger = lk.synth.generate(800, seed=5)
    table = taa_history(ledger, min_claims=5, percentiles=(25, 50, 12.5))
    assert table.column_names == [
        "config",
        "payer_id",
        "place_of_service",
        "claims",
        "min_cents",
        "p25_cents",
        "p50_cents",
        "p12_5_cents",
        "max_cents",
    ]
    rows = table.to_pylist()
    assert rows and all(r["claims"] >= 5 for r in rows)
    for r in rows:
        assert r["min_cents"] <= r["p25_cents"] <= r["p50_cents"] <= r["max_cents"]
        assert r["config"].split("|")[0] == (r["payer_id"] or "-")
        assert r["config"].split("|")[1] == (r["place_of_service"] or "-")


def _taa_ledger():
    """Three encounters of one configuration, allowed $60, $80, $100; E3 still owes $50."""
    procs, rows = [], []
    for eid, paid in (("E1", 6000), ("E2", 8000), ("E3", 10_000)):
        procs.append((eid, 1, "99213", 15_000))
        rows += [
            dict(encounter_id=eid, line=1, payer_seq=1, kind="charge", amount_cents=15_000),
            dict(encounter_id=eid, line=1, payer_seq=1, kind="payment", amount_cents=paid),
        ]
        if eid != "E3":
            adj = dict(group_code="CO", carc="45", amount_cents=15_000 - paid)
            rows.append(dict(encounter_id=eid, line=1, payer_seq=1, kind="adjustment", **adj))
    for i, r in enumerate(rows):
        r["entry_id"] = i + 1
    return make_ledger([(e, ("P1",)) for e in ("E1", "E2", "E3")], procs, rows)


def test_taa_rule_writes_off_the_rest_when_allowed_reaches_taa():
    ledger = _taa_ledger()
    assert suggest_taa(ledger, 50, 3)["taa_cents"].to_pylist() == [8000]

    def rule(pct, op=">="):
        when = Condition(allowed_vs_taa=op, taa_percentile=pct, taa_min_claims=3)
        return Rule("taa", when=when, then=Action("write_off", target="payer_balance"))

    run = dry_run(ledger, [rule(50)])
    assert run.entries.to_pylist()[0]["amount_cents"] == 5000
    assert run.summary["encounters_closed"].to_pylist() == [1]
    assert dry_run(ledger, [rule(100)]).entries.num_rows == 1  # $100 >= max $100
    # allowed < TAA: flag for review (a flag needs no amount to move).
    under = Rule("under", when=rule(100, "<").when, then=Action("flag"))
    assert dry_run(ledger, [under]).hits["encounter_id"].to_pylist() == ["E1", "E2"]
    # A configuration with too few claims has no TAA: the rule never matches.
    big = Condition(allowed_vs_taa=">=", taa_percentile=0, taa_min_claims=4)
    assert dry_run(ledger, [Rule("t", when=big, then=Action("write_off"))]).entries.num_rows == 0


def test_taa_table_overrides_history():
    ledger = _taa_ledger()
    table = suggest_taa(ledger, 50, 3)
    high = table.set_column(
        table.schema.get_field_index("taa_cents"), "taa_cents", pa.array([20_000])
    )
    when = Condition(allowed_vs_taa=">=", taa_min_claims=3)
    rules = [Rule("taa", when=when, then=Action("write_off"))]
    assert dry_run(ledger, rules).entries.num_rows == 1
    assert dry_run(ledger, rules, taa=high).entries.num_rows == 0
    with pytest.raises(lk.LedgerError, match="missing column 'taa_cents'"):
        dry_run(ledger, rules, taa=table.drop_columns(["taa_cents"]))


def test_bad_parameters():
    ledger = _taa_ledger()
    with pytest.raises(ValueError, match="percentile must be between 0 and 100"):
        suggest_taa(ledger, percentile=101)
    with pytest.raises(ValueError, match="min_claims must be an integer >= 1"):
        suggest_taa(ledger, min_claims=0)
    with pytest.raises(ValueError, match="percentile must be between"):
        taa_history(ledger, percentiles=(-1,))


def test_empty_ledger():
    empty = make_ledger([], [], [])
    assert suggest_taa(empty).num_rows == 0
    assert taa_history(empty).num_rows == 0
    assert len(encounter_taa(empty, percentile=50, min_claims=1)) == 0
    assert np.asarray(configurations(empty).enc_config).shape == (0,)
