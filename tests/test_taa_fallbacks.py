"""The fee-schedule input of the TAA fallbacks and the rule option for denied lines."""

import pyarrow as pa
import pytest
from ledgers import make_ledger

import ledgerkit as lk
from ledgerkit.rules.engine import (
    Action,
    Condition,
    Rule,
    RuleError,
    RuleSet,
    dry_run,
    load_rules,
)
from ledgerkit.rules.fee_schedule import check_fee_schedule, contract_taa
from ledgerkit.rules.taa import encounter_taa, suggest_taa


def _ledger():
    """P1, 99213 + 36415:25: E1 allowed $80.00, balanced; E2 allowed $60.00, $10.00 open."""
    procs, rows = [], []
    for eid, paid in (("E1", 8000), ("E2", 6000)):
        procs += [(eid, 1, "99213", 9000), (eid, 2, "36415", 1000)]
        rows += [
            dict(encounter_id=eid, line=1, payer_seq=1, kind="charge", amount_cents=9000),
            dict(encounter_id=eid, line=2, payer_seq=1, kind="charge", amount_cents=1000),
            dict(encounter_id=eid, line=1, payer_seq=1, kind="payment", amount_cents=paid),
            dict(
                encounter_id=eid,
                line=1,
                payer_seq=1,
                kind="adjustment",
                group_code="CO",
                carc="45",
                amount_cents=8000 - paid if paid < 8000 else 1000,
            ),
            dict(
                encounter_id=eid,
                line=2,
                payer_seq=1,
                kind="adjustment",
                group_code="CO",
                carc="45",
                amount_cents=1000,
            ),
        ]
    for i, r in enumerate(rows):
        r["entry_id"] = i + 1
    ledger = make_ledger([("E1", ("P1",)), ("E2", ("P1",))], procs, rows)
    proc = ledger.procedures
    at = proc.schema.get_field_index("modifiers")
    mods = pa.array([None, "25", None, "25"], proc.schema.field(at).type)
    proc = proc.set_column(at, proc.schema.field(at), mods)
    return lk.Ledger.from_arrow(ledger.encounters, proc, ledger.entries, ledger.payers)


SCHEDULE = {
    "payer_id": ["P1", "P1", "P1"],
    "cpt": ["99213", "36415", "36415"],
    "modifiers": [None, None, "25"],
    "rate_cents": [7000, 900, 1200],
}


def test_contract_rate_is_rate_times_units_with_exact_modifiers_first():
    ledger = _ledger()
    row = suggest_taa(ledger, 50, 5, fee_schedule=SCHEDULE, contract_fraction=0.9).to_pylist()
    # $70.00 + $12.00 (the 36415:25 row, not the plain $9.00 one) = $82.00 x 0.9
    assert [(r["claims"], r["taa_cents"], r["taa_source"]) for r in row] == [(2, 7380, "contract")]
    plain = dict(SCHEDULE, cpt=["99213", "36415", "36416"])  # no 36415:25 row: plain rate
    row = suggest_taa(ledger, 50, 5, fee_schedule=plain, contract_fraction=1.0).to_pylist()[0]
    assert row["taa_cents"] == 7900
    missing = dict(SCHEDULE, cpt=["99214", "36415", "36415"])  # 99213 unpriced: no contract
    row = suggest_taa(ledger, 50, 5, fee_schedule=missing).to_pylist()[0]
    assert (row["taa_cents"], row["taa_source"]) == (None, None)
    assert encounter_taa(ledger, percentile=50, min_claims=5).tolist() == [-1, -1]


def test_a_contract_taa_reaches_the_rules_through_the_taa_table():
    ledger = _ledger()  # the contract TAA is $73.80: E2 (allowed $60.00) is under it
    table = suggest_taa(ledger, 50, 5, fee_schedule=SCHEDULE, contract_fraction=0.9)
    when = Condition(allowed_vs_taa="<", taa_min_claims=5)
    rules = [Rule("under", when=when, then=Action("flag"))]
    assert dry_run(ledger, rules).hits.num_rows == 0  # no history, no fallback: no TAA
    hits = dry_run(ledger, rules, taa=table).hits
    assert sorted(set(hits["encounter_id"].to_pylist())) == ["E2"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rate_cents": [7000, 900, 0]}, "fee_schedule row 2, field 'rate_cents'"),
        ({"rate_cents": [7000, None, 1]}, "fee_schedule row 1, field 'rate_cents'"),
        ({"cpt": ["99213", "", "36415"]}, "fee_schedule row 1, field 'cpt'"),
        ({"payer_id": ["P1", None, "P1"]}, "fee_schedule row 1, field 'payer_id'"),
        ({"modifiers": [None, None, ""]}, "fee_schedule row 2: payer, cpt and modifiers"),
    ],
)
def test_bad_fee_schedules_name_the_row_and_field(change, message):
    with pytest.raises(lk.LedgerError, match=message):
        check_fee_schedule(dict(SCHEDULE, **change))


def test_fee_schedule_needs_its_columns_and_a_positive_fraction():
    with pytest.raises(lk.LedgerError, match="missing column 'rate_cents'"):
        suggest_taa(_ledger(), fee_schedule={"payer_id": ["P1"], "cpt": ["99213"]})
    for fraction in (0, -0.5, 101, True):
        with pytest.raises(ValueError, match="contract_fraction"):
            contract_taa(pa.array([100]).to_numpy(), fraction)


def test_denied_lines_option_is_validated_and_kept_in_rule_files(tmp_path):
    when = Condition(allowed_vs_taa=">=", taa_includes_denied_lines=True)
    rules = RuleSet((Rule("taa", when=when, then=Action("write_off")),))
    path = tmp_path / "rules.toml"
    path.write_text(rules.to_toml())
    assert "taa_includes_denied_lines = true" in path.read_text()
    assert next(iter(load_rules(path))).when.taa_includes_denied_lines is True
    with pytest.raises(RuleError, match="taa_includes_denied_lines"):
        Condition(allowed_vs_taa=">=", taa_includes_denied_lines="yes")
