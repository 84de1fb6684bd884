"""Rules move at most what is open and say so (DOMAIN, Settled questions 3 and 4)."""

import pytest
from hypothesis import given, settings
from ledgers import make_ledger
from reference import balances_ref
from reference_rules import amounts_ref, dry_run_ref
from rule_strategies import rule_ledgers, rule_sets

import ledgerkit as lk
from ledgerkit.rules.engine import (
    Action,
    Condition,
    Rule,
    RuleError,
    apply_rules,
    default_rules,
    dry_run,
)


def _rows(eid, line, rows):
    out = []
    for seq, kind, amount, *gc in rows:
        e = dict(encounter_id=eid, line=line, payer_seq=seq, kind=kind, amount_cents=amount)
        if gc:
            e.update(group_code=gc[0], carc=gc[1])
        out.append(e)
    return out


def _noncovered_after_secondary():
    """E1 line 1: $100; the primary pays $30, CO-45 $20, PR-96 $50; the secondary pays
    $20 of it (OA-23 $80). Line 2: $60 denied CO-96 by the primary, OA-23 on the
    secondary. Balance $30 + $60, no open PR."""
    line1 = [
        (1, "charge", 10_000),
        (1, "payment", 3_000),
        (1, "adjustment", 2_000, "CO", "45"),
        (1, "adjustment", 5_000, "PR", "96"),
        (2, "payment", 2_000),
        (2, "adjustment", 8_000, "OA", "23"),
    ]
    line2 = [
        (1, "charge", 6_000),
        (1, "adjustment", 6_000, "CO", "96"),
        (2, "adjustment", 6_000, "OA", "23"),
    ]
    return make_ledger(
        [("E1", ("P1", "P2"))],
        [("E1", 1, "99213", 10_000), ("E1", 2, "99214", 6_000)],
        _rows("E1", 1, line1) + _rows("E1", 2, line2),
    )


def test_matched_push_to_pr_is_capped_by_the_payer_balance_and_says_so():
    ledger = _noncovered_after_secondary()
    run = dry_run(ledger, default_rules())
    [entry] = run.entries.to_pylist()
    assert (entry["line"], entry["kind"], entry["payer_seq"], entry["amount_cents"]) == (
        1,
        "transfer_to_pr",
        2,
        3_000,
    )
    assert (entry["group_code"], entry["rule_id"]) == ("PR", "noncovered_to_pr")
    assert entry["note"] == "capped by what is open: asked $50.00, moved $30.00"
    [hit] = run.hits.to_pylist()
    assert (hit["amount_cents"], hit["requested_cents"], hit["capped"]) == (3_000, 5_000, True)
    row = {r["rule"]: r for r in run.summary.to_pylist()}["noncovered_to_pr"]
    assert (row["to_pr_cents"], row["capped_procedures"], row["capped_cents"]) == (
        3_000,
        1,
        2_000,
    )
    # The CO-96 line stays the provider's: nothing of its $60 moves to the patient.
    after = {r["line"]: r for r in lk.balances(apply_rules(ledger, run), "procedure").to_pylist()}
    assert (after[1]["open_pr"], after[1]["payer_balance"]) == (3_000, 0)
    assert (after[2]["open_pr"], after[2]["payer_balance"]) == (0, 6_000)


def test_write_off_never_takes_more_than_the_balance():
    """The patient paid a $20 copay at the visit; the payer then denied all $100 (CO-50).
    Balance $80, open PR -$20, payer balance $100: a write-off moves $80, not $100."""
    rows = [
        (0, "patient_payment", 2_000),
        (1, "charge", 10_000),
        (1, "payment", 0),
        (1, "adjustment", 10_000, "CO", "50"),
    ]
    ledger = make_ledger([("E2", ("P1",))], [("E2", 1, "99213", 10_000)], _rows("E2", 1, rows))
    rule = Rule("wo", when=Condition(carcs=["50"]), then=Action("write_off"))
    run = dry_run(ledger, [rule])
    [entry] = run.entries.to_pylist()
    assert (entry["kind"], entry["payer_seq"], entry["amount_cents"]) == ("write_off", 1, 8_000)
    assert entry["note"] == "capped by what is open: asked $100.00, moved $80.00"
    [hit] = run.hits.to_pylist()
    assert (hit["requested_cents"], hit["capped"]) == (10_000, True)
    after = lk.classify(apply_rules(ledger, run)).to_pylist()[0]
    assert after["balance"] == 0  # not a $20 credit made by a rule


def test_pr_write_off_is_capped_by_the_balance():
    """Finding 2's line: $45 charge, PR-204 $45 and a further push of $45 -> open PR $90
    on a $45 balance. A PR write-off moves $45 and says it was asked for $90."""
    rows = [
        (1, "charge", 4_500),
        (1, "adjustment", 4_500, "PR", "204"),
        (1, "transfer_to_pr", 4_500, "PR", "204"),
    ]
    ledger = make_ledger([("E3", ("P1",))], [("E3", 1, "99213", 4_500)], _rows("E3", 1, rows))
    for target in ("pr", "balance"):
        rule = Rule("wo", when=Condition(), then=Action("write_off", target=target))
        run = dry_run(ledger, [rule])
        [entry] = run.entries.to_pylist()
        assert (entry["payer_seq"], entry["amount_cents"]) == (0, 4_500)
        assert entry["note"] == "capped by what is open: asked $90.00, moved $45.00"
        summary = run.summary.to_pylist()[0]
        assert (summary["written_off_cents"], summary["capped_cents"]) == (4_500, 4_500)
    # A push to PR finds nothing open to push (payer balance -$45).
    push = Rule("push", when=Condition(), then=Action("transfer_to_pr"))
    assert dry_run(ledger, [push]).entries.num_rows == 0


def test_a_push_to_pr_by_carc_names_its_group_codes():
    with pytest.raises(RuleError, match="field 'when.group_codes'.*CO is the provider"):
        Rule("push", when=Condition(carcs=["96"]), then=Action("transfer_to_pr"))
    with pytest.raises(RuleError, match="'matched' needs when.group_codes or when.carcs"):
        Rule("push", then=Action("transfer_to_pr", amount="matched"))
    with pytest.raises(RuleError, match="then.amount"):
        Action("write_off", target="pr", amount="matched")
    with pytest.raises(RuleError, match="'most' is not one of"):
        Action("transfer_to_pr", amount="most")
    ok = Rule(
        "push",
        when=Condition(group_codes=["PR"], carcs=["96"]),
        then=Action("transfer_to_pr", amount="matched"),
    )
    text = lk.rules.RuleSet((ok,)).to_toml()
    assert 'amount = "matched"' in text
    assert lk.rules.load_rules(text)["push"] == ok


@given(rule_ledgers(), rule_sets(max_rules=4))
@settings(max_examples=60)
def test_movements_never_exceed_what_is_open(ledger, rules):
    """Every movement is within its caps, ``capped`` says exactly where one bit, and a
    procedure with 0 <= open PR <= balance keeps it after the rules are applied."""
    run = dry_run(ledger, rules)
    figures = {(f["encounter_id"], f["line"]): f for f in balances_ref(ledger, "procedure")}
    by_rule = {r.name: r for r in rules}
    held_back = {}
    for hit in run.hits.to_pylist():
        f = figures[(hit["encounter_id"], hit["line"])]
        rule = by_rule[hit["rule"]]
        moved, asked = hit["amount_cents"], hit["requested_cents"]
        assert hit["capped"] == (asked > moved)
        if rule.then.action == "transfer_to_pr":
            assert 0 < moved <= f["payer_balance"]
        elif rule.then.action == "write_off":
            assert 0 < moved <= f["balance"]
            if rule.then.target == "payer_balance":
                assert moved <= f["payer_balance"]
            if rule.then.target == "pr":
                assert moved <= f["open_pr"]
            if rule.then.amount == "all":  # asked for the whole bucket it names
                assert asked == amounts_ref(rule, f)[2]
        else:
            assert moved == asked == 0
        held_back[rule.name] = held_back.get(rule.name, 0) + asked - moved
    for row in run.summary.to_pylist():
        assert row["capped_cents"] == held_back.get(row["rule"], 0)
    want = dry_run_ref(ledger, rules)[1]
    assert want == {r["rule"]: {k: r[k] for k in want[r["rule"]]} for r in run.summary.to_pylist()}
    after = {
        (f["encounter_id"], f["line"]): f
        for f in balances_ref(apply_rules(ledger, run), "procedure")
    }
    for key, f in figures.items():
        if 0 <= f["open_pr"] <= f["balance"]:
            assert 0 <= after[key]["open_pr"] <= after[key]["balance"], key
        if f["balance"] >= 0:
            assert after[key]["balance"] >= 0, key
