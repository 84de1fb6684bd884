"""The denial lifecycle's metrics on a hand-built ledger, by hand (issue #16).

The ledger is analytics_ledgers.metrics_ledger (see its docstring). Work on it:

- E2 line 1 (CO-50 $100.00, first remit 01-20): appealed at level 1 on 01-25;
  the payer's reprocessing of 02-15 pays $70.00 (entry 105) and CO-45 $30.00.
- E4 line 1 (CO-197 $100.00, first remit 02-25): appealed at level 1 on 02-27,
  upheld 03-05, appealed at level 2 on 03-06, written off 03-10.
- E3 line 2 (CO-97 $30.00, first remit 02-20): resubmitted 02-22, pending.
"""

import datetime as dt

import pyarrow as pa
import pytest
from analytics_ledgers import at, metrics_ledger

import ledgerkit as lk
from ledgerkit.analytics import metrics


def _e(day, enc, line, kind, **fields):
    return {"at": at(day), "encounter_id": enc, "line": line, "kind": kind, "actor": "ana",
            **fields}  # fmt: skip


EVENTS = [
    _e("2025-01-25", "E2", 1, "appeal", appeal_level="1", appeal_method="portal"),
    _e("2025-02-22", "E3", 2, "status", status="resubmitted"),
    _e("2025-02-27", "E4", 1, "appeal", appeal_level="1", appeal_method="fax"),
    _e("2025-03-05", "E4", 1, "outcome", outcome="upheld", outcome_cents=0),
    _e("2025-03-06", "E4", 1, "appeal", appeal_level="2", appeal_method="mail"),
    _e("2025-03-10", "E4", 1, "status", status="written_off"),
]


@pytest.fixture(scope="module")
def ledger():
    return metrics_ledger()


def by_key(table, *names):
    return {tuple(r[n] for n in names): r for r in table.to_pylist()}


# ----------------------------------------------------------------------- outcomes
def test_appeal_outcomes_link_the_payment_that_answered(ledger):
    t = lk.appeal_outcomes(EVENTS, ledger=ledger)
    got = [(r["encounter_id"], r["line"], r["attempt"], r["kind"], r["appeal_level"],
            r["outcome"], r["outcome_source"], r["recovered_cents"], r["entry_ids"])
           for r in t.to_pylist()]  # fmt: skip
    assert got == [
        ("E2", 1, 1, "appeal", "1", "overturned", "payments", 7000, [105]),
        ("E3", 2, 1, "resubmission", None, None, None, 0, []),
        ("E4", 1, 1, "appeal", "1", "upheld", "person", 0, []),
        ("E4", 1, 2, "appeal", "2", None, None, 0, []),
    ]
    e2 = t.to_pylist()[0]
    assert e2["decided_at"] == at("2025-02-15") and e2["linked"] and e2["paid_cents"] == 7000
    # the first E4 attempt's window ends where the second begins
    assert t["window_end"][2].as_py() == at("2025-03-06")


def test_appeal_outcomes_as_of(ledger):
    before = lk.appeal_outcomes(EVENTS, as_of="2025-02-10", ledger=ledger).to_pylist()
    assert [(r["encounter_id"], r["outcome"], r["recovered_cents"]) for r in before] == [
        ("E2", None, 0)]  # fmt: skip
    mid = lk.appeal_outcomes(EVENTS, as_of=at("2025-03-05"), ledger=ledger)
    assert mid["outcome"].to_pylist() == ["overturned", None, "upheld"]


def test_a_person_unlinks_and_links_the_payment(ledger):
    unlink = _e("2025-02-20", "E2", 1, "unlink", note="paid for the other visit")
    t = lk.appeal_outcomes([*EVENTS, unlink], ledger=ledger).to_pylist()[0]
    assert (t["linked"], t["outcome"], t["recovered_cents"], t["entry_ids"]) == (
        False, None, 0, [105])  # fmt: skip
    items = lk.work_items([*EVENTS, unlink], ledger=ledger).to_pylist()[0]
    assert (items["status"], items["outcome"], items["recovered_cents"]) == ("appealed", None, 0)
    # as of before the unlink, the payment was the outcome
    items = lk.work_items([*EVENTS, unlink], as_of="2025-02-19", ledger=ledger).to_pylist()[0]
    assert (items["status"], items["recovered_cents"]) == ("resolved", 7000)
    relink = _e("2025-02-21", "E2", 1, "link", note="it was ours after all")
    t = lk.appeal_outcomes([*EVENTS, unlink, relink], ledger=ledger).to_pylist()[0]
    assert (t["linked"], t["outcome"], t["recovered_cents"]) == (True, "overturned", 7000)
    items = lk.work_items([*EVENTS, unlink, relink], ledger=ledger).to_pylist()[0]
    assert (items["status"], items["recovered_cents"]) == ("resolved", 7000)


def test_link_and_unlink_need_a_note(ledger):
    with pytest.raises(lk.LedgerError, match="row 0, field 'note'"):
        from ledgerkit.core.work_events import work_event_rows

        work_event_rows([{"kind": "unlink", "encounter_id": "E2"}], ledger, actor="ana",
                        now=at("2025-04-01"))  # fmt: skip


# ----------------------------------------------------------------------- metrics
def test_appeal_overturn_rate(ledger):
    (row,) = metrics.appeal_overturn_rate(ledger, EVENTS, by=None).to_pylist()
    assert (row["appealed"], row["overturned"]) == (3, 1)
    assert (row["denied_cents"], row["recovered_cents"]) == (23000, 7000)
    assert row["overturn_rate"] == pytest.approx(1 / 3)
    assert row["recovery_rate"] == pytest.approx(7000 / 23000)
    payer = by_key(metrics.appeal_overturn_rate(ledger, EVENTS, by="payer"), "payer")
    assert [(k, r["appealed"], r["overturned"], r["denied_cents"], r["recovered_cents"])
            for k, r in payer.items()] == [(("P1",), 2, 1, 13000, 7000),
                                           (("P2",), 1, 0, 10000, 0)]  # fmt: skip
    kind = by_key(metrics.appeal_overturn_rate(ledger, EVENTS, by=("type", "category")),
                  "type", "category")  # fmt: skip
    assert {k: r["overturned"] for k, r in kind.items()} == {
        ("technical", "bundling"): 0,
        ("clinical", "medical_necessity"): 1,
        ("administrative", "prior_authorization"): 0,
    }


def test_by_owner(ledger):
    owners = [{"at": at("2025-01-21"), "encounter_id": "E2", "kind": "assign", "owner": "ana",
               "actor": "ana"},
              {"at": at("2025-02-26"), "encounter_id": "E4", "kind": "assign", "owner": "bo",
               "actor": "ana"}]  # fmt: skip
    t = by_key(metrics.appeal_overturn_rate(ledger, EVENTS + owners, by=("owner", "payer")),
               "owner", "payer")  # fmt: skip
    assert {k: (r["appealed"], r["overturned"], r["recovered_cents"]) for k, r in t.items()} == {
        ("ana", "P1"): (1, 1, 7000), ("bo", "P2"): (1, 0, 0), (None, "P1"): (1, 0, 0),
    }  # fmt: skip
    with pytest.raises(ValueError, match="unknown dimension"):
        metrics.appeal_overturn_rate(ledger, EVENTS, by="colour")


def test_appeal_win_rate_by_level(ledger):
    t = by_key(metrics.appeal_win_rate(ledger, EVENTS), "level")
    assert {k[0]: (r["filed"], r["decided"], r["won"], r["recovered_cents"])
            for k, r in t.items()} == {
        "1": (2, 2, 1, 7000), "2": (1, 0, 0, 0), "resubmission": (1, 0, 0, 0),
    }  # fmt: skip
    assert t[("1",)]["win_rate"] == 0.5 and t[("2",)]["win_rate"] == 0.0
    assert t[("2",)]["decided_win_rate"] is None
    by_payer = by_key(metrics.appeal_win_rate(ledger, EVENTS, by="payer"), "level", "payer")
    assert by_payer[("1", "P2")]["won"] == 0 and by_payer[("1", "P1")]["won"] == 1


def test_appeal_days_to_resolution(ledger):
    (row,) = metrics.appeal_days_to_resolution(ledger, EVENTS, by=None).to_pylist()
    # E2: 01-20 -> 02-15 = 26 days; E4: 02-25 -> 03-10 written off = 13 days; E3 open
    assert (row["appealed"], row["resolved"], row["open"]) == (3, 2, 1)
    assert row["mean_days"] == 19.5 and row["median_days"] == 19.5
    assert row["p90_days"] == pytest.approx(13 + 0.9 * 13)
    payer = by_key(metrics.appeal_days_to_resolution(ledger, EVENTS, by="payer"), "payer")
    assert payer[("P1",)]["mean_days"] == 26 and payer[("P2",)]["mean_days"] == 13


def test_recovery_likelihood_smoothing(ledger):
    t = metrics.recovery_likelihood(ledger, EVENTS, prior_weight=1)
    rows = by_key(t, "payer_id", "category", "carc")
    # p_all = 1/3; med. necessity: p_cat = (1 + 1/3) / 2 = 2/3, prior = (1 + 2/3) / 2
    med = rows[("P1", "medical_necessity", "50")]
    assert (med["appealed"], med["overturned"]) == (1, 1)
    assert med["prior"] == pytest.approx(5 / 6)
    assert med["likelihood"] == pytest.approx((1 + 5 / 6) / 2)
    # bundling: p_cat = (0 + 1/3) / 2 = 1/6, prior = (0 + 1/6) / 2 = 1/12
    bundling = rows[("P1", "bundling", "97")]
    assert bundling["likelihood"] == pytest.approx((0 + 1 / 12) / 2)
    assert rows[("P2", "prior_authorization", "197")]["likelihood"] == pytest.approx(1 / 24)


def test_store_gives_ledger_and_events(ledger, tmp_path):
    store = lk.LedgerStore.create(tmp_path / "s", ledger, actor="setup", note="load")
    store.record_work([{k: v for k, v in e.items() if k != "actor"} for e in EVENTS],
                      actor="ana", note="worked")  # fmt: skip
    assert metrics.appeal_overturn_rate(store, by=None).equals(
        metrics.appeal_overturn_rate(ledger, EVENTS, by=None))  # fmt: skip
    with pytest.raises(ValueError, match="work events"):
        metrics.appeal_overturn_rate(ledger)


# ----------------------------------------------------------------------- ledger-only
def test_days_in_ar_by_hand(ledger):
    t = metrics.days_in_ar(ledger, by=None).to_pylist()
    got = [(r["month"], r["as_of"], r["ar_cents"], r["charges_cents"]) for r in t]
    # Jan 31: E2 $100 (denied, still owed) + E6 $50; Feb 28: E3 line 2 $30, E4 $100,
    # E5 $200, E6 $50; Mar 10 (the last posting): E4 written off
    assert got == [
        ("2025-01", dt.date(2025, 1, 31), 15000, 25000),
        ("2025-02", dt.date(2025, 2, 28), 38000, 78000),
        ("2025-03", dt.date(2025, 3, 10), 28000, 78000),
    ]
    assert [r["days_in_ar"] for r in t] == pytest.approx(
        [15000 / (25000 / 90), 38000 / (78000 / 90), 28000 / (78000 / 90)])  # fmt: skip
    feb = by_key(metrics.days_in_ar(ledger, by="payer"), "month", "payer")
    assert (feb[("2025-02", "P1")]["ar_cents"], feb[("2025-02", "P1")]["charges_cents"]) == (
        3000, 43000)  # fmt: skip
    assert feb[("2025-02", "P2")]["days_in_ar"] == pytest.approx(30000 / (30000 / 90))
    assert feb[("2025-02", None)]["ar_cents"] == 5000  # self-pay
    with pytest.raises(ValueError, match="month is given"):
        metrics.days_in_ar(ledger, by="month")


def test_first_pass_resolution_rate_by_hand(ledger):
    (row,) = metrics.first_pass_resolution_rate(ledger, by=None).to_pylist()
    # E1 paid in full on its first remit; E2, E3, E4 denied; E5 not adjudicated
    assert (row["claims"], row["first_pass_claims"]) == (4, 1)
    assert (row["charge_cents"], row["first_pass_charge_cents"]) == (53000, 10000)
    assert row["first_pass_rate"] == 0.25
    payer = by_key(metrics.first_pass_resolution_rate(ledger, by="payer"), "payer")
    assert (payer[("P1",)]["claims"], payer[("P1",)]["first_pass_claims"]) == (3, 1)
    assert (payer[("P2",)]["claims"], payer[("P2",)]["first_pass_claims"]) == (1, 0)


def test_a_short_first_payment_is_not_first_pass(ledger):
    # E5's first remit pays $120.00 + CO-45 $40.00 of $200.00: $40.00 left to the payer
    e5 = ledger.append(pa.table({
        "encounter_id": ["E5", "E5"], "line": pa.array([1, 1], pa.int32()),
        "payer_seq": pa.array([1, 1], pa.int8()), "kind": ["payment", "adjustment"],
        "group_code": [None, "CO"], "carc": [None, "45"], "amount_cents": [12000, 4000],
    }), at=at("2025-03-12"))  # fmt: skip
    (row,) = metrics.first_pass_resolution_rate(e5, by=None).to_pylist()
    assert (row["claims"], row["first_pass_claims"]) == (5, 1)


def test_take_backs_by_hand(ledger):
    ids = {(r["encounter_id"], r["line"], r["kind"], r["amount_cents"]): r["entry_id"]
           for r in ledger.entries.to_pylist()}  # fmt: skip
    e1_paid = ids[("E1", 1, "payment", 6000)]
    e3_paid = ids[("E3", 1, "payment", 12000)]
    recouped = ledger.negate([e1_paid], actor="era", note="recoupment", at=at("2025-03-05"))
    corrected = recouped.negate([e3_paid], actor="era", note="reversal", at=at("2025-03-06"))
    corrected = corrected.append(pa.table({
        "encounter_id": ["E3"], "line": pa.array([1], pa.int32()),
        "payer_seq": pa.array([1], pa.int8()), "kind": ["payment"], "amount_cents": [11000],
    }), at=at("2025-03-06"))  # fmt: skip
    t = metrics.take_backs(corrected, by=("payer", "month")).to_pylist()
    assert t == [{"payer": "P1", "month": "2025-03", "take_backs": 1, "claims": 1,
                  "take_back_cents": 6000}]  # fmt: skip
    (total,) = metrics.take_backs(ledger, by=None).to_pylist()
    assert total == {"take_backs": 0, "claims": 0, "take_back_cents": 0}
