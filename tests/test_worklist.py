"""The worklist on a hand ledger: rows, deadlines, likelihood and order by hand."""

import math

import pytest
from analytics_ledgers import build, rows

import ledgerkit as lk
from ledgerkit.analytics.worklist import worklist

PAYERS = [("PA", "commercial", 90, 60), ("PB", "medicare", 365, 120)]


def worklist_ledger():
    """W1 PA $500 CO-50 (03-01), W2 PB $100 CO-16 (03-01), W3 PA $1000 CO-197
    (01-05), H1 PA $100 CO-50 (01-10) later overturned and paid: history only."""
    encounters = [
        ("W1", ("PA",), "2025-02-20", "DR1", "L1"),
        ("W2", ("PB",), "2025-02-20", "DR1", "L1"),
        ("W3", ("PA",), "2025-01-01", "DR2", "L1"),
        ("H1", ("PA",), "2025-01-02", "DR2", "L1"),
    ]
    procedures = [
        ("W1", 1, "99214", 50000),
        ("W2", 1, "99213", 10000),
        ("W3", 1, "20610", 100000),
        ("H1", 1, "99213", 10000),
    ]
    e = []
    e += rows(
        "W1",
        1,
        [
            (1, "charge", 50000, "2025-02-21"),
            (1, "payment", 0, "2025-03-01"),
            (1, "adjustment", 50000, "2025-03-01", "CO", "50"),
        ],
    )
    e += rows(
        "W2",
        1,
        [
            (1, "charge", 10000, "2025-02-21"),
            (1, "payment", 0, "2025-03-01"),
            (1, "adjustment", 10000, "2025-03-01", "CO", "16"),
        ],
    )
    e += rows(
        "W3",
        1,
        [
            (1, "charge", 100000, "2025-01-02"),
            (1, "payment", 0, "2025-01-05"),
            (1, "adjustment", 100000, "2025-01-05", "CO", "197"),
        ],
    )
    e += rows(
        "H1",
        1,
        [
            (1, "charge", 10000, "2025-01-03", None, None, None, 101),
            (1, "payment", 0, "2025-01-10", None, None, None, 102),
            (1, "adjustment", 10000, "2025-01-10", "CO", "50", None, 103),
            (1, "adjustment", -10000, "2025-02-01", "CO", "50", 103, 104),
            (1, "payment", 8000, "2025-02-01", None, None, None, 105),
            (1, "adjustment", 2000, "2025-02-01", "CO", "45", None, 106),
        ],
    )
    for i, row in enumerate(e):
        row.setdefault("entry_id", i + 1)
    return build(encounters, procedures, e, PAYERS)


# History: denied on a first response: H1 (PA x 50, overturned), W1 (PA x 50),
# W2 (PB x 16), W3 (PA x 197) -> overall 1/4. With m = 10:
P_ALL = 1 / 4
P_MED = (1 + 10 * P_ALL) / (2 + 10)  # medical necessity: 1 of 2
P_PA_50 = (1 + 10 * P_MED) / (2 + 10)
P_OTHER = (0 + 10 * P_ALL) / (1 + 10)  # "other" (CO-16) and prior auth: 0 of 1
P_PB_16 = (0 + 10 * P_OTHER) / (1 + 10)
P_PA_197 = P_PB_16


def expected_priorities(w_value=0.4, w_deadline=0.3, w_likelihood=0.3):
    top = math.log1p(1000)
    value = {"W1": math.log1p(500) / top, "W2": math.log1p(100) / top, "W3": 1.0}
    # today 2025-04-01: W1 appeal by 03-01 + 60 = 04-30 (29 days left);
    # W2 corrected claim within timely filing: 02-20 + 365 (325 days: not urgent);
    # W3 appeal by 01-05 + 60 = 03-06: expired.
    urgency = {"W1": 1 - 29 / 90, "W2": 0.0, "W3": 0.0}
    p = {"W1": P_PA_50, "W2": P_PB_16, "W3": P_PA_197}
    return {k: w_value * value[k] + w_deadline * urgency[k] + w_likelihood * p[k] for k in value}


@pytest.fixture(scope="module")
def ledger():
    return worklist_ledger()


def test_rows_deadlines_and_likelihood(ledger):
    wl = worklist(ledger, today="2025-04-01")
    got = {r["encounter_id"]: r for r in wl.to_pylist()}
    assert set(got) == {"W1", "W2", "W3"}  # H1 is balanced
    w1, w2, w3 = got["W1"], got["W2"], got["W3"]
    assert (w1["class"], w1["carc"], w1["category"], w1["next_action"]) == (
        "DENIAL",
        "50",
        "medical_necessity",
        "appeal",
    )
    assert (w1["deadline_kind"], str(w1["deadline"]), w1["days_left"]) == (
        "appeal",
        "2025-04-30",
        29,
    )
    assert (w2["next_action"], w2["deadline_kind"], str(w2["deadline"])) == (
        "correct_resubmit",
        "timely_filing",
        "2026-02-20",
    )
    assert w2["days_left"] == 325
    assert (w3["days_left"], w3["expired"], w3["urgency_score"]) == (-26, True, 0.0)
    assert (w1["history_denied"], w1["history_overturned"]) == (2, 1)
    assert w1["likelihood"] == pytest.approx(P_PA_50)
    assert w2["likelihood"] == pytest.approx(P_PB_16)
    assert w3["at_stake_cents"] == 100000 and w1["payer_id"] == "PA"
    for k, want in expected_priorities().items():
        assert got[k]["priority"] == pytest.approx(want), k
    assert "CO-50" in w1["why"] and "$500.00 at stake" in w1["why"]
    assert "1/2 overturned" in w1["why"]


def test_order_by_priority(ledger):
    wl = worklist(ledger, today="2025-04-01")
    want = expected_priorities()
    assert wl["encounter_id"].to_pylist() == sorted(want, key=lambda k: -want[k])
    assert wl["encounter_id"].to_pylist() == ["W1", "W3", "W2"]
    assert wl["rank"].to_pylist() == [1, 2, 3]


def test_weights_change_the_order(ledger):
    wl = worklist(ledger, today="2025-04-01", weights={"value": 1, "deadline": 0, "likelihood": 0})
    assert wl["encounter_id"].to_pylist() == ["W3", "W1", "W2"]
    with pytest.raises(ValueError, match="unknown weight 'money'"):
        worklist(ledger, weights={"money": 1})
    with pytest.raises(ValueError, match="must be >= 0"):
        worklist(ledger, weights={"value": -1})


def test_worklist_is_the_unbalanced_denials_of_classify():
    """Not-balanced worked classes with something left to chase from a payer: open
    denied dollars, else a payer balance (a push to PR ends a denial's work)."""
    ledger = lk.synth.generate(2000, seed=3)
    wl = worklist(ledger)
    cls = lk.classify(ledger).to_pylist()
    open_denied = {}
    for p in lk.balances(ledger, "procedure").to_pylist():
        line_open = max(min(p["denied"], p["payer_balance"]), 0)
        open_denied[p["encounter_id"]] = open_denied.get(p["encounter_id"], 0) + line_open
    want = {
        r["encounter_id"]
        for r in cls
        if not r["balanced"]
        and r["class"] in ("DENIAL", "PARTIAL_DENIAL", "UNRESOLVED")
        and (open_denied.get(r["encounter_id"], 0) > 0 or r["payer_balance"] > 0)
    }
    assert len(want) > 100  # the synthetic ledger has plenty of work
    assert set(wl["encounter_id"].to_pylist()) == want
    prio = wl["priority"].to_pylist()
    assert prio == sorted(prio, reverse=True)
    assert wl["category"].null_count == 0 and wl["next_action"].null_count == 0
