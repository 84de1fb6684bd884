"""The CARC catalogue: coverage, unknown codes, overrides and validation."""

import pyarrow as pa
import pytest

import ledgerkit as lk
from ledgerkit import synth
from ledgerkit.core.catalog import ACTIONS, CATEGORIES, TYPES, CarcCatalog


def test_at_least_80_codes_with_valid_fields():
    cat = CarcCatalog.default()
    assert len(cat) >= 80
    table = cat.table()
    assert set(table["category"].to_pylist()) <= set(CATEGORIES)
    assert set(table["type"].to_pylist()) <= set(TYPES)
    assert set(table["next_action"].to_pylist()) <= set(ACTIONS)
    assert all(d and len(d) < 80 for d in table["description"].to_pylist())


def test_every_synthetic_carc_resolves_to_a_category():
    used = {"45", "1", "2", "3", "23", "A2", "204"}
    used |= {c[3] for c in synth.CPTS} | {d[0] for d in synth.CLAIM_DENIALS}
    used |= {r[0] for r in synth.REDUCTIONS}
    ledger = synth.generate(2000, seed=1)
    used |= {v for v in ledger.entries["carc"].cast(pa.string()).to_pylist() if v}
    cat = CarcCatalog.default()
    assert cat.unknown(sorted(used)) == []
    looked = cat.lookup(sorted(used))
    assert all(looked["known"].to_pylist())
    assert all(c in CATEGORIES for c in looked["category"].to_pylist())


def test_well_known_codes():
    cat = CarcCatalog.default()
    assert cat.category_of("45") == "contractual"
    assert cat.category_of("1") == "patient_responsibility"
    assert cat.category_of("27") == "eligibility_cob"
    assert cat.category_of("29") == "timely_filing"
    assert cat.category_of("18") == "duplicate"
    assert cat.category_of("97") == "bundling"
    assert cat.category_of("50") == "medical_necessity"
    assert cat.next_action_of("2", "PR") == "bill_patient"
    assert cat.next_action_of("2", "CO") == "appeal"  # CO: never the patient's


def test_unknown_codes_fall_into_other_and_are_listed():
    cat = CarcCatalog.default()
    t = cat.lookup(["ZZ1", "45", " 50"])
    got = {r["carc"]: r for r in t.to_pylist()}
    assert (got["ZZ1"]["category"], got["ZZ1"]["known"]) == ("other", False)
    assert got[" 50"]["known"]  # codes are trimmed
    assert cat.unknown(pa.chunked_array([["ZZ1", None, "45", "ZZ1"]])) == ["ZZ1"]


def test_unknown_codes_stay_in_the_metrics():
    from ledgers import make_ledger

    from ledgerkit.analytics import metrics

    entries = [
        dict(encounter_id="E1", line=1, payer_seq=1, kind="charge", amount_cents=5000),
        dict(encounter_id="E1", line=1, payer_seq=1, kind="payment", amount_cents=0),
        dict(
            encounter_id="E1",
            line=1,
            payer_seq=1,
            kind="adjustment",
            amount_cents=5000,
            group_code="CO",
            carc="ZZ1",
        ),
    ]
    ledger = make_ledger([("E1", ("P1",))], [("E1", 1, "99213", 5000)], entries)
    t = metrics.denial_dollars(ledger, by=("carc", "category")).to_pylist()
    assert t == [
        {"carc": "ZZ1", "category": "other", "denials": 1, "claims": 1, "denied_cents": 5000}
    ]
    assert CarcCatalog.default().unknown(ledger.entries["carc"]) == ["ZZ1"]


def test_override_rows():
    cat = CarcCatalog.default().override("16", category="coding", next_action="appeal")
    assert (cat.category_of("16"), cat.next_action_of("16")) == ("coding", "appeal")
    assert CarcCatalog.default().category_of("16") == "other"  # original unchanged
    new = cat.override("Q9", description="local code", category="duplicate")
    assert new.category_of("Q9") == "duplicate" and "Q9" in new
    with pytest.raises(ValueError, match="unknown field 'colour'"):
        cat.override("16", colour="red")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"category": "misc"}, "category 'misc' is not one of"),
        ({"type": "legal"}, "type 'legal' is not one of"),
        ({"next_action": "call"}, "next_action 'call' is not one of"),
        ({"avoidable": "maybe"}, "avoidable 'maybe' is not yes/no"),
        ({"carc": " "}, "carc is empty"),
        ({"group_code": "XX"}, "group_code 'XX' is not"),
        ({"next_action": "bill_patient"}, "'bill_patient' is only for group 'PR'"),
        ({"group_code": "CO", "next_action": "bill_patient"}, "only for group 'PR'"),
    ],
)
def test_bad_rows_raise(row, message):
    base = {
        "carc": "X1",
        "description": "d",
        "category": "other",
        "type": "technical",
        "avoidable": "no",
        "next_action": "appeal",
    }
    with pytest.raises(ValueError, match=message):
        CarcCatalog(pa.Table.from_pylist([{**base, **row}]))
    with pytest.raises(ValueError, match="missing column 'type'"):
        CarcCatalog(pa.table({"carc": ["1"], "description": ["d"], "category": ["other"]}))


def test_exported_via_module():
    assert lk.catalog.CarcCatalog is CarcCatalog


def test_next_action_follows_the_group_code():
    """Settled question 4: only a PR adjustment is billed to the patient."""
    cat = CarcCatalog.default()
    table = cat.table()
    assert set(table["group_code"].to_pylist()) == {"*", "PR"}
    billed = {
        c
        for g, c, a in zip(*(table[k].to_pylist() for k in ("group_code", "carc", "next_action")))
        if a == "bill_patient"
    }
    assert {"1", "2", "3", "96", "119", "204"} <= billed
    for code in sorted(billed):
        assert cat.next_action_of(code, "PR") == "bill_patient"
        for group in ("CO", "OA", "PI", "CR", None):
            assert cat.next_action_of(code, group) != "bill_patient", (group, code)
    assert (cat.next_action_of("96", "CO"), cat.next_action_of("119", "CO")) == (
        "write_off",
        "write_off",
    )
    # Group rows copy the code's description and category; lookups stay per code.
    assert cat.category_of("96", "PR") == cat.category_of("96") == "other"
    assert len(cat) == len(set(table["carc"].to_pylist()))
    assert "96" in cat and cat.unknown(["96", "119"]) == []


def test_override_a_group_row():
    cat = CarcCatalog.default().override("97", "PR", next_action="bill_patient")
    assert cat.next_action_of("97", "PR") == "bill_patient"
    assert cat.next_action_of("97", "CO") == CarcCatalog.default().next_action_of("97")
    assert cat.category_of("97", "PR") == "bundling"  # copied from the code's "*" row
    with pytest.raises(ValueError, match="only for group 'PR'"):
        cat.override("97", "CO", next_action="bill_patient")
    # Tables without a group_code column are "*" rows, as before.
    base = {"carc": "X1", "description": "d", "category": "other", "type": "technical"}
    old = CarcCatalog(pa.Table.from_pylist([{**base, "avoidable": "no", "next_action": "appeal"}]))
    assert old.next_action_of("X1", "CO") == "appeal"
