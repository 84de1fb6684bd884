"""ledgerkit.rules: kernel vs the plain Python interpreter, apply, order, files."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledgers import make_ledger
from reference_rules import dry_run_ref
from rule_strategies import rule_ledgers, rule_sets

import ledgerkit as lk
from ledgerkit.rules.engine import (
    Action,
    Condition,
    DryRun,
    Rule,
    RuleError,
    RuleSet,
    apply_rules,
    default_rules,
    dry_run,
    load_rules,
    save_rules,
)

ENTRY_KEYS = ("encounter_id", "line", "payer_seq", "kind", "group_code", "carc", "amount_cents")
SUMMARY_KEYS = (
    "procedures",
    "encounters",
    "written_off_cents",
    "to_pr_cents",
    "encounters_closed",
    "capped_procedures",
    "capped_cents",
)
SYNTH_POOLS = dict(
    payer_ids=("MCR01", "MCD01", "BCBS1", "AET01", "SUPP1"),
    cpts=("99213", "99214", "36415", "97110", "G0439"),
    carcs=["45", "97", "16", "50", "1", "2", "3", "204", "96", "23", "27", "59"],
)


def _got(run: DryRun):
    entries = [
        {k: r[k] for k in (*ENTRY_KEYS, "rule_id", "note")} for r in run.entries.to_pylist()
    ]
    summary = {r["rule"]: {k: r[k] for k in SUMMARY_KEYS} for r in run.summary.to_pylist()}
    return entries, summary


def _check_against_reference(ledger, rules):
    run = dry_run(ledger, rules)
    entries, summary = _got(run)
    want_entries, want_summary = dry_run_ref(ledger, rules)
    assert entries == want_entries
    assert summary == want_summary
    for r in run.entries.to_pylist():
        assert r["source"] == "rule" and r["amount_cents"] > 0
    return run


@given(rule_ledgers(), rule_sets())
def test_dry_run_matches_reference(ledger, rules):
    _check_against_reference(ledger, rules)


@given(st.integers(0, 10_000), rule_sets(max_rules=6, sites=("MAIN", "EAST"), **SYNTH_POOLS))
@settings(max_examples=25)
def test_dry_run_matches_reference_on_synthetic_ledgers(seed, rules):
    _check_against_reference(lk.synth.generate(40, seed=seed), rules)


def test_default_rules_match_reference_on_synthetic_ledger():
    ledger = lk.synth.generate(400, seed=9)
    rules = default_rules().enable("taa_write_off")
    run = _check_against_reference(ledger, rules)
    assert run.summary.num_rows == 4
    assert sum(run.summary["procedures"].to_pylist()) > 0


@given(rule_ledgers(), rule_sets(max_rules=4))
@settings(max_examples=30)
def test_dry_run_then_apply_posts_exactly_the_dry_run(ledger, rules):
    run = dry_run(ledger, rules)
    after = apply_rules(ledger, run)
    new = after.entries.slice(ledger.entries.num_rows)
    assert new.num_rows == run.entries.num_rows
    cols = [*ENTRY_KEYS, "rule_id", "source"]
    got = [{k: r[k] for k in cols} for r in new.to_pylist()]
    want = [{k: r[k] for k in cols} for r in run.entries.to_pylist()]
    assert got == want
    # Write-offs brought exactly the summarised encounters to a zero balance.
    before = {r["encounter_id"]: r["balance"] for r in lk.classify(ledger).to_pylist()}
    closed = sum(
        1
        for r in lk.classify(after).to_pylist()
        if r["balance"] == 0 and before[r["encounter_id"]] != 0
    )
    assert closed == sum(run.summary["encounters_closed"].to_pylist())


@given(rule_ledgers(), rule_sets(max_rules=4))
@settings(max_examples=30)
def test_disabled_rules_do_nothing(ledger, rules):
    run = dry_run(ledger, rules)
    only_enabled = RuleSet(tuple(r for r in rules if r.enabled))
    assert _got(run)[0] == _got(dry_run(ledger, only_enabled))[0]
    for row in run.summary.to_pylist():
        if not row["enabled"]:
            assert row["position"] is None
            assert all(row[k] == 0 for k in SUMMARY_KEYS)


def _denied_ledger():
    """Two encounters, one procedure each, fully denied by the primary (CO-96)."""
    rows = []
    for eid in ("E1", "E2"):
        rows += [
            dict(encounter_id=eid, line=1, payer_seq=1, kind="charge", amount_cents=10_000),
            dict(encounter_id=eid, line=1, payer_seq=1, kind="payment", amount_cents=0),
            dict(
                encounter_id=eid,
                line=1,
                payer_seq=1,
                kind="adjustment",
                amount_cents=10_000,
                group_code="CO",
                carc="96",
            ),
        ]
    for i, r in enumerate(rows):
        r["entry_id"] = i + 1
    ledger = make_ledger(
        [("E1", ("P1",)), ("E2", ("P1",))],
        [("E1", 1, "99395", 10_000), ("E2", 1, "99395", 10_000)],
        rows,
    )
    enc = ledger.encounters.set_column(
        ledger.encounters.schema.get_field_index("site_id"), "site_id", [["NORTH", "MAIN"]]
    )
    return lk.Ledger.from_arrow(enc, ledger.procedures, ledger.entries)


def _rule_of(run):
    return {r["encounter_id"]: r["rule"] for r in run.hits.to_pylist()}


def test_order_first_match_wins_and_order_field_decides():
    ledger = _denied_ledger()
    push = Rule(
        "push",
        when=Condition(group_codes=["CO"], carcs=["96"]),
        then=Action("transfer_to_pr"),
        order=2,
    )
    wo = Rule("write", when=Condition(carcs=["96"]), then=Action("write_off"), order=1)
    run = dry_run(ledger, [push, wo])
    assert _rule_of(run) == {"E1": "write", "E2": "write"}
    assert run.summary["rule"].to_pylist() == ["write", "push"]
    # Same order: position in the set breaks the tie.
    import dataclasses

    tied = [dataclasses.replace(push, order=1), wo]
    assert _rule_of(dry_run(ledger, tied)) == {"E1": "push", "E2": "push"}
    # A site rule runs before global rules, whatever its order.
    site = Rule(
        "north_leave", when=Condition(), then=Action("leave"), scope="site", site="NORTH", order=9
    )
    run = dry_run(ledger, [push, wo, site])
    assert _rule_of(run) == {"E1": "north_leave", "E2": "write"}
    assert run.entries["encounter_id"].to_pylist() == ["E2"]
    kinds = {r["rule_id"]: r["kind"] for r in run.entries.to_pylist()}
    assert kinds == {"write": "write_off"}


def test_write_off_and_transfer_entries_move_the_right_buckets():
    ledger = _denied_ledger()
    rules = [
        Rule(
            "push",
            when=Condition(group_codes=["CO"], carcs=["96"]),
            then=Action("transfer_to_pr"),
        )
    ]
    run = dry_run(ledger, rules)
    row = run.entries.to_pylist()[0]
    assert (row["kind"], row["payer_seq"], row["amount_cents"]) == ("transfer_to_pr", 1, 10_000)
    assert (row["group_code"], row["carc"], row["rule_id"]) == ("PR", "204", "push")
    hit = run.hits.to_pylist()[0]
    assert (hit["from_bucket"], hit["to_bucket"]) == ("payer_balance", "pushed_to_pr")
    after = lk.classify(apply_rules(ledger, run)).to_pylist()[0]
    assert (after["stage"], after["open_pr"], after["payer_balance"]) == ("patient", 10_000, 0)


def test_medicare_pr_write_off_from_the_source_guide():
    rows = [
        dict(encounter_id="E1", line=1, payer_seq=1, kind="charge", amount_cents=15_000),
        dict(encounter_id="E1", line=1, payer_seq=1, kind="payment", amount_cents=8_000),
        dict(
            encounter_id="E1",
            line=1,
            payer_seq=1,
            kind="adjustment",
            amount_cents=5_000,
            group_code="CO",
            carc="45",
        ),
        dict(
            encounter_id="E1",
            line=1,
            payer_seq=1,
            kind="adjustment",
            amount_cents=2_000,
            group_code="PR",
            carc="2",
        ),
    ]
    base = make_ledger([("E1", ("MCR01",))], [("E1", 1, "99213", 15_000)], rows)
    payers = {
        "payer_id": ["MCR01"],
        "payer_class": ["medicare"],
        "timely_filing_days": [365],
        "appeal_days": [120],
    }
    ledger = lk.Ledger.from_arrow(base.encounters, base.procedures, base.entries, payers)
    # Shipped switched off (Settled question 4): the defaults leave Medicare PR alone.
    assert dry_run(ledger, default_rules()).entries.num_rows == 0
    run = dry_run(ledger, default_rules().enable("medicare_pr_write_off"))
    row = run.entries.to_pylist()[0]
    assert (row["rule_id"], row["kind"], row["payer_seq"], row["amount_cents"]) == (
        "medicare_pr_write_off",
        "write_off",
        0,
        2_000,
    )
    assert lk.classify(apply_rules(ledger, run))["balanced"][0].as_py()


def test_age_conditions_count_days_to_as_of():
    ledger = _denied_ledger()
    old = Rule(
        "old", when=Condition(age_from="service", age_min_days=30), then=Action("write_off")
    )
    service = dt.date(2025, 2, 1)
    assert dry_run(ledger, [old], as_of=service + dt.timedelta(days=29)).entries.num_rows == 0
    assert dry_run(ledger, [old], as_of=service + dt.timedelta(days=30)).entries.num_rows == 2


def test_empty_ledger_and_empty_rule_set():
    empty = make_ledger([], [], [])
    assert dry_run(empty, default_rules()).entries.num_rows == 0
    ledger = _denied_ledger()
    run = dry_run(ledger, RuleSet())
    assert run.entries.num_rows == 0 and run.summary.num_rows == 0
    assert apply_rules(ledger, RuleSet()) is ledger


def test_apply_refuses_a_dry_run_of_another_ledger():
    run = dry_run(_denied_ledger(), default_rules())
    with pytest.raises(RuleError, match="another ledger"):
        apply_rules(_denied_ledger(), run)


def test_rules_argument_types():
    ledger = _denied_ledger()
    with pytest.raises(TypeError, match="rules must be"):
        dry_run(ledger, 42)
    with pytest.raises(TypeError, match="as_of"):
        dry_run(ledger, default_rules(), as_of=3)
    assert dry_run(ledger, Rule("x", then=Action("flag"))).hits.num_rows == 2


# ---------------------------------------------------------------- files
def test_toml_round_trip(tmp_path):
    rules = default_rules().with_rule(
        Rule(
            "north",
            when=Condition(cpts=["99213"], age_from="last_remit", age_min_days=90),
            then=Action("flag"),
            scope="site",
            site="NORTH",
            order=5,
            description='quotes " and \\ survive',
        )
    )
    path = save_rules(rules, tmp_path / "rules.toml")
    assert load_rules(path) == rules
    assert load_rules(str(path)) == rules
    assert load_rules(rules.to_toml()) == rules


@given(rule_sets(max_rules=6))
@settings(max_examples=30)
def test_random_rule_sets_round_trip(rules):
    assert load_rules(rules.to_toml()) == rules


BAD_FILES = [
    ('name = "x"\n', "unknown top-level keys"),
    ('[[rule]]\nname = "a"\ncolour = "red"\n', r"rule 'a', field 'colour': unknown field"),
    ('[[rule]]\nname = "a"\n[rule.when]\ncarcs = 45\n', r"rule 'a', field 'when.carcs'"),
    (
        '[[rule]]\nname = "a"\n[rule.when]\npayer_classes = ["medicar"]\n',
        r"rule 'a', field 'when.payer_classes': 'medicar' is not one of",
    ),
    (
        '[[rule]]\nname = "a"\n[rule.when]\nbalance_min = 10\nbalance_max = 5\n',
        r"rule 'a', field 'when.balance_max'",
    ),
    ('[[rule]]\nname = "a"\n[rule.when]\nage_min_days = 5\n', r"field 'when.age_from'"),
    (
        '[[rule]]\nname = "a"\n[rule.when]\nallowed_vs_taa = ">"\n',
        r"rule 'a', field 'when.allowed_vs_taa'",
    ),
    (
        '[[rule]]\nname = "a"\n[rule.when]\ntaa_percentile = 150\n',
        r"rule 'a', field 'when.taa_percentile': must be between",
    ),
    ('[[rule]]\nname = "a"\n[rule.then]\naction = "delete"\n', r"rule 'a', field 'then.action'"),
    ('[[rule]]\nname = "a"\n[rule.then]\ngroup = "XX"\n', r"rule 'a', field 'then.group'"),
    (
        '[[rule]]\nname = "a"\n[rule.then]\naction = "transfer_to_pr"\ntarget = "pr"\n',
        r"rule 'a', field 'then.target'",
    ),
    ('[[rule]]\nname = "a"\n[rule.then]\nwhen = 1\n', r"rule 'a', field 'then.when'"),
    ('[[rule]]\nname = "a"\nscope = "site"\n', r"rule 'a', field 'site'"),
    ('[[rule]]\nname = "a"\nsite = "X"\n', r"rule 'a', field 'site'"),
    ('[[rule]]\nname = "a"\nenabled = "yes"\n', r"rule 'a', field 'enabled'"),
    ('[[rule]]\nname = "a"\norder = 1.5\n', r"rule 'a', field 'order'"),
    ('[[rule]]\nname = "a"\nwhen = 3\n', r"rule 'a', field 'when': expected a table"),
    ('[[rule]]\nname = ""\n', r"field 'name'"),
    ("[[rule]]\norder = 1\n", r"rule #1, field 'name': missing"),
    ('[[rule]]\nname = "a"\n[[rule]]\nname = "a"\n', r"rule 'a', field 'name': two rules"),
    ("rule = 3\n", r"array of tables"),
    ("[[rule]\n", r"not valid TOML"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_malformed_rule_file_names_rule_and_field(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(RuleError, match=message):
        load_rules(path)


def test_direct_construction_is_validated():
    with pytest.raises(RuleError, match=r"field 'when.stages'"):
        Condition(stages=["closed"])
    with pytest.raises(RuleError, match=r"rule 'x', field 'when'"):
        Rule("x", when={"stages": []})
    with pytest.raises(RuleError, match=r"rule 'x', field 'then'"):
        Rule("x", then="write_off")
    with pytest.raises(RuleError, match=r"field 'then.reason'"):
        Action("write_off", reason=" ")
    with pytest.raises(RuleError, match=r"rule 'x', field 'description'"):
        Rule("x", description=3)
    with pytest.raises(RuleError, match=r"rule #1: expected a Rule"):
        RuleSet(("x",))
    with pytest.raises(RuleError, match=r"rule #2: expected a table"):
        RuleSet.from_dict({"rule": [{"name": "a"}, 3]})
    with pytest.raises(KeyError):
        default_rules()["nope"]
    with pytest.raises(RuleError, match="when.taa_min_claims"):
        Condition(allowed_vs_taa=">=", taa_min_claims=0)
    with pytest.raises(RuleError, match="when.taa_fraction"):
        Condition(taa_fraction=float("nan"))
    with pytest.raises(RuleError, match="when.balance_min"):
        Condition(balance_min=True)
