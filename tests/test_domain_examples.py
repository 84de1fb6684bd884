"""The worked examples of DOMAIN.md (and the source guides) as tests."""

import pytest
from ledgers import make_ledger

import ledgerkit as lk


def _entries(eid, line, rows):
    out = []
    for seq, kind, amount, *gc in rows:
        e = dict(encounter_id=eid, line=line, payer_seq=seq, kind=kind, amount_cents=amount)
        if gc:
            e.update(group_code=gc[0], carc=gc[1])
        out.append(e)
    return out


def test_two_payers_balance_is_last_payers_pr():
    """Fee $150; primary pays $80, CO-45 $40, PR-2 $20, PR-3 $10; secondary pays $20,
    PR-3 $10 -> balance $10, all of it open PR."""
    rows = [
        (1, "charge", 15000),
        (1, "payment", 8000),
        (1, "adjustment", 4000, "CO", "45"),
        (1, "adjustment", 2000, "PR", "2"),
        (1, "adjustment", 1000, "PR", "3"),
        (2, "payment", 2000),
        (2, "adjustment", 1000, "PR", "3"),
    ]
    ledger = make_ledger(
        [("E1", ("P1", "P2"))], [("E1", 1, "99213", 15000)], _entries("E1", 1, rows)
    )
    row = lk.classify(ledger).to_pylist()[0]
    assert row["balance"] == 1000
    assert row["open_pr"] == 1000
    assert row["payer_balance"] == 0
    assert row["allowed"] == 8000 + 2000 + 1000  # all payments + last payer's PR-3
    assert row["stage"] == "patient"
    assert row["class"] == "PAID"


def test_allowed_and_total_cars():
    """Fee $150, paid $80, CO-45 $40, PR-3 $10, PR-2 $20 -> allowed $110; CARs $70."""
    rows = [
        (1, "charge", 15000),
        (1, "payment", 8000),
        (1, "adjustment", 4000, "CO", "45"),
        (1, "adjustment", 1000, "PR", "3"),
        (1, "adjustment", 2000, "PR", "2"),
    ]
    ledger = make_ledger([("E1", ("P1",))], [("E1", 1, "99213", 15000)], _entries("E1", 1, rows))
    row = lk.balances(ledger, "procedure").to_pylist()[0]
    assert row["allowed"] == 11000
    cars = row["contractual"] + row["pr"] + row["denied"] + row["other"]
    assert cars == 7000 == row["charge"] - row["paid"]


def test_unresolved_example():
    """$80 charge, $50 paid, $25 CO-45, $5 denied -> unresolved."""
    rows = [
        (1, "charge", 8000),
        (1, "payment", 5000),
        (1, "adjustment", 2500, "CO", "45"),
        (1, "adjustment", 500, "PI", "59"),
    ]
    ledger = make_ledger([("E1", ("P1",))], [("E1", 1, "99213", 8000)], _entries("E1", 1, rows))
    row = lk.classify(ledger).to_pylist()[0]
    assert row["class"] == "UNRESOLVED"
    assert (row["explain_line"], row["explain_group"], row["explain_carc"]) == (1, "PI", "59")
    assert row["explain_amount"] == 500
    assert row["balance"] == 500  # denied amounts do not lower the balance
    assert not row["balanced"]


def test_denial_keeps_full_balance_until_written_off():
    rows = [
        (1, "charge", 20000),
        (1, "payment", 0),
        (1, "adjustment", 20000, "CO", "50"),
    ]
    ledger = make_ledger([("E1", ("P1",))], [("E1", 1, "99214", 20000)], _entries("E1", 1, rows))
    row = lk.classify(ledger).to_pylist()[0]
    assert (row["class"], row["stage"], row["balance"]) == ("DENIAL", "payer_1", 20000)
    assert (row["explain_carc"], row["explain_amount"]) == ("50", 20000)
    written = ledger.append(_entries("E1", 1, [(1, "write_off", 20000, "CO", "A2")]))
    row = lk.classify(written).to_pylist()[0]
    assert (row["class"], row["stage"], row["balanced"]) == ("DENIAL", "finalized", True)


def test_partial_denial_names_the_denied_line():
    entries = _entries(
        "E1", 1, [(1, "charge", 10000), (1, "payment", 6000), (1, "adjustment", 4000, "CO", "45")]
    )
    entries += _entries(
        "E1", 2, [(1, "charge", 3000), (1, "payment", 0), (1, "adjustment", 3000, "CO", "97")]
    )
    ledger = make_ledger(
        [("E1", ("P1",))], [("E1", 1, "99213", 10000), ("E1", 2, "36415", 3000)], entries
    )
    row = lk.classify(ledger).to_pylist()[0]
    assert row["class"] == "PARTIAL_DENIAL"
    assert (row["explain_line"], row["explain_carc"], row["explain_amount"]) == (2, "97", 3000)


def test_awaiting_and_self_pay():
    ledger = make_ledger(
        [("E1", ("P1",)), ("E2", ())],
        [("E1", 1, "99213", 10000), ("E2", 1, "99213", 9000)],
        _entries("E1", 1, [(1, "charge", 10000)])
        + _entries("E2", 1, [(0, "charge", 9000), (0, "patient_payment", 4000)]),
    )
    rows = {r["encounter_id"]: r for r in lk.classify(ledger).to_pylist()}
    assert (rows["E1"]["class"], rows["E1"]["stage"]) == ("AWAITING", "payer_1")
    assert (rows["E2"]["class"], rows["E2"]["stage"]) == ("AWAITING", "patient")
    assert rows["E2"]["open_pr"] == 5000 and rows["E2"]["payer_balance"] == 0


def test_pr_goes_to_secondary_before_patient():
    rows = [
        (1, "charge", 15000),
        (1, "payment", 8000),
        (1, "adjustment", 4000, "CO", "45"),
        (1, "adjustment", 3000, "PR", "2"),
    ]
    ledger = make_ledger(
        [("E1", ("P1", "P2"))], [("E1", 1, "99213", 15000)], _entries("E1", 1, rows)
    )
    assert lk.classify(ledger)["stage"][0].as_py() == "payer_2"


def test_oa23_on_secondary_does_not_change_balance():
    rows = [
        (1, "charge", 15000),
        (1, "payment", 8000),
        (1, "adjustment", 4000, "CO", "45"),
        (1, "adjustment", 3000, "PR", "2"),
        (2, "payment", 3000),
        (2, "adjustment", 12000, "OA", "23"),
    ]
    ledger = make_ledger(
        [("E1", ("P1", "P2"))], [("E1", 1, "99213", 15000)], _entries("E1", 1, rows)
    )
    row = lk.classify(ledger).to_pylist()[0]
    assert row["other"] == 12000
    assert (row["balance"], row["stage"], row["class"]) == (0, "finalized", "PAID")


@pytest.mark.parametrize(
    ("paid", "cas", "expected_total"),
    [
        # Seed 003, example one: fee $150, paid $80, CO-45 $40 + PR-3 $10 + PR-2 $20.
        (8000, [("CO", "45", 4000), ("PR", "3", 1000), ("PR", "2", 2000)], 7000),
        # Example two: paid $0 (deductible), CO-45 $40 + PR-1 $110.
        (0, [("CO", "45", 4000), ("PR", "1", 11000)], 15000),
    ],
)
def test_fee_minus_paid_equals_total_cars(paid, cas, expected_total):
    rows = [(1, "charge", 15000), (1, "payment", paid)] + [
        (1, "adjustment", amt, g, c) for g, c, amt in cas
    ]
    ledger = make_ledger([("E1", ("P1",))], [("E1", 1, "99213", 15000)], _entries("E1", 1, rows))
    row = lk.balances(ledger, "procedure").to_pylist()[0]
    assert row["charge"] - row["paid"] == expected_total
    assert row["contractual"] + row["pr"] == expected_total
    assert row["balanced"] == (row["pr"] == 0)


def test_payer_level_rows():
    rows = [
        (1, "charge", 15000),
        (1, "payment", 8000),
        (1, "adjustment", 4000, "CO", "45"),
        (1, "adjustment", 2000, "PR", "2"),
        (1, "adjustment", 1000, "PR", "3"),
        (2, "payment", 2000),
        (2, "adjustment", 1000, "PR", "3"),
    ]
    ledger = make_ledger(
        [("E1", ("P1", "P2"))], [("E1", 1, "99213", 15000)], _entries("E1", 1, rows)
    )
    table = lk.balances(ledger, "payer").to_pylist()
    by_seq = {r["payer_seq"]: r for r in table}
    assert set(by_seq) == {0, 1, 2}
    assert (by_seq[1]["billed"], by_seq[1]["balance"], by_seq[1]["payer_id"]) == (15000, 0, "P1")
    assert (by_seq[2]["billed"], by_seq[2]["paid"], by_seq[2]["balance"]) == (3000, 2000, 0)
    assert (by_seq[0]["billed"], by_seq[0]["balance"]) == (1000, 1000)
    assert by_seq[2]["adjudicated"] and not by_seq[0]["adjudicated"]
