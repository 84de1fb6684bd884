"""Secondary-claim adjustments: the two worked examples of seed 003 and more."""

import pytest
from ledgers import make_ledger

import ledgerkit as lk
from ledgerkit.analytics.secondary import secondary_adjustments
from ledgerkit.errors import LedgerError


def _ledger(paid, cas, extra=()):
    rows = [(1, "charge", 15000), (1, "payment", paid)] + [
        (1, "adjustment", amt, g, c) for g, c, amt in cas
    ]
    entries = []
    for seq, kind, amount, *gc in [*rows, *extra]:
        e = dict(encounter_id="E1", line=1, payer_seq=seq, kind=kind, amount_cents=amount)
        if gc:
            e.update(group_code=gc[0], carc=gc[1])
        entries.append(e)
    return make_ledger([("E1", ("P1", "P2"))], [("E1", 1, "99213", 15000)], entries)


def _by_group(table):
    out = {}
    for r in table.to_pylist():
        amount, count = out.get(r["group_code"], (0, 0))
        out[r["group_code"]] = (amount + r["amount_cents"], count + r["count"])
    return out


def test_seed_003_example_one():
    """Fee $150, paid $80; CO-45 $40, PR-3 $10, PR-2 $20: $150 - $80 = $70 of CARs."""
    ledger = _ledger(8000, [("CO", "45", 4000), ("PR", "3", 1000), ("PR", "2", 2000)])
    t = secondary_adjustments(ledger, ["E1"])
    assert [(r["group_code"], r["carc"], r["amount_cents"]) for r in t.to_pylist()] == [
        ("CO", "45", 4000),
        ("PR", "2", 2000),
        ("PR", "3", 1000),
    ]
    assert _by_group(t) == {"PR": (3000, 2), "CO": (4000, 1)}
    row = t.to_pylist()[0]
    assert row["charge_cents"] - row["paid_cents"] == row["line_adjustments_cents"] == 7000
    assert all(t["balances"].to_pylist())


def test_seed_003_example_two():
    """Fee $150, paid $0 (deductible): CO-45 $40 + PR-1 $110 = $150."""
    ledger = _ledger(0, [("CO", "45", 4000), ("PR", "1", 11000)])
    t = secondary_adjustments(ledger, "E1")
    assert _by_group(t) == {"PR": (11000, 1), "CO": (4000, 1)}
    row = t.to_pylist()[0]
    assert (row["charge_cents"], row["paid_cents"], row["line_adjustments_cents"]) == (
        15000,
        0,
        15000,
    )
    assert all(t["balances"].to_pylist())


def test_unbalanced_remit_is_flagged_and_secondary_entries_ignored():
    ledger = _ledger(
        8000,
        [("CO", "45", 4000), ("PR", "2", 2000)],
        extra=[(2, "payment", 2000), (2, "adjustment", 13000, "OA", "23")],
    )
    t = secondary_adjustments(ledger, ["E1"])
    assert {r["carc"] for r in t.to_pylist()} == {"45", "2"}  # payer 2's OA-23 left out
    assert not any(t["balances"].to_pylist())  # 150 - 80 != 60
    t2 = secondary_adjustments(ledger, ["E1"], payer_seq=2)
    assert t2.to_pylist()[0]["carc"] == "23"


def test_negated_adjustments_drop_out():
    ledger = _ledger(8000, [("CO", "45", 4000), ("PR", "2", 3000)])
    pr2 = [r["entry_id"] for r in ledger.entries.to_pylist() if r["carc"] == "2"]
    ledger = ledger.negate(pr2, actor="poster", note="keyed wrong")
    ledger = ledger.append(
        [
            dict(
                encounter_id="E1",
                line=1,
                payer_seq=1,
                kind="adjustment",
                group_code="PR",
                carc="2",
                amount_cents=2000,
                actor="poster",
            ),
            dict(
                encounter_id="E1",
                line=1,
                payer_seq=1,
                kind="adjustment",
                group_code="PR",
                carc="3",
                amount_cents=1000,
                actor="poster",
            ),
        ]
    )
    t = secondary_adjustments(ledger, ["E1"])
    assert _by_group(t) == {"CO": (4000, 1), "PR": (3000, 2)}
    assert all(t["balances"].to_pylist())


def test_unknown_encounter_raises():
    ledger = _ledger(8000, [("CO", "45", 7000)])
    with pytest.raises(LedgerError, match="encounter 'NOPE' is not in the ledger"):
        secondary_adjustments(ledger, ["E1", "NOPE"])
    with pytest.raises(ValueError, match="payer_seq must be"):
        secondary_adjustments(ledger, ["E1"], payer_seq=0)


def test_synth_primary_remits_balance():
    ledger = lk.synth.generate(300, seed=9)
    ids = ledger.encounters["encounter_id"].to_pylist()
    t = secondary_adjustments(ledger, ids)
    assert t.num_rows > 0
    assert all(t["balances"].to_pylist())
