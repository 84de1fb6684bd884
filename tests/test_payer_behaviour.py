"""Payer behaviour on the metrics hand ledger: remit lag, allowed vs expected, trend."""

import pyarrow as pa
import pytest
from analytics_ledgers import metrics_ledger

import ledgerkit as lk
from ledgerkit.analytics import payer_behaviour as pb


@pytest.fixture(scope="module")
def ledger():
    return metrics_ledger()


def test_remit_lag(ledger):
    t = {r["payer_id"]: r for r in pb.remit_lag(ledger).to_pylist()}
    # P1: E1 01-10 -> 01-20, E2 01-10 -> 01-20, E3 02-05 -> 02-20: 10, 10, 15 days.
    assert t["P1"]["remits"] == 3
    assert t["P1"]["mean_days"] == pytest.approx(35 / 3)
    assert (t["P1"]["median_days"], t["P1"]["max_days"]) == (10.0, 15.0)
    assert t["P1"]["p90_days"] == pytest.approx(10 + 0.8 * 5)
    # P2: E4 02-10 -> 02-25 = 15 days; E5 has no remit.
    assert (t["P2"]["remits"], t["P2"]["median_days"]) == (1, 15.0)


FEES = pa.table(
    {
        "payer_id": pa.array([None, "P1"], pa.string()),
        "cpt": ["99213", "99214"],
        "allowed_cents": [8000, 12000],
    }
)


def test_allowed_against_fee_schedule(ledger):
    # Allowed: E1 99213 $60, E2 99213 $70, E3 99214 $120 (all P1); denied lines left out.
    t = {
        (r["payer"], r["cpt"]): r
        for r in pb.allowed_by_cpt(ledger, fee_schedule=FEES, tolerance=0.0).to_pylist()
    }
    assert set(t) == {("P1", "99213"), ("P1", "99214")}
    a = t[("P1", "99213")]
    assert (a["lines"], a["mean_allowed_per_unit"], a["expected_per_unit"]) == (2, 6500.0, 8000.0)
    assert (a["underpaid_lines"], a["shortfall_cents"]) == (2, 3000)
    b = t[("P1", "99214")]
    assert (b["underpaid_lines"], b["shortfall_cents"]) == (0, 0)


def test_underpayments_lists_lines_largest_first(ledger):
    t = pb.underpayments(ledger, fee_schedule=FEES, tolerance=0.0).to_pylist()
    assert [(r["encounter_id"], r["shortfall_cents"]) for r in t] == [("E1", 2000), ("E2", 1000)]
    assert t[0]["expected_cents"] == 8000 and t[0]["allowed_cents"] == 6000
    # 15% tolerance: $68 is the floor, so only E1 ($60) is underpaid.
    t = pb.underpayments(ledger, fee_schedule=FEES, tolerance=0.15).to_pylist()
    assert [r["encounter_id"] for r in t] == ["E1"]
    with pytest.raises(ValueError, match="missing column 'allowed_cents'"):
        pb.underpayments(ledger, fee_schedule=pa.table({"payer_id": ["P1"], "cpt": ["1"]}))


def test_historical_median_when_no_fee_schedule(ledger):
    # P1 99213 history: $60 and $70 -> median $65; E1 is $5 short.
    t = pb.underpayments(ledger, tolerance=0.0).to_pylist()
    assert [(r["encounter_id"], r["expected_cents"], r["shortfall_cents"]) for r in t] == [
        ("E1", 6500, 500)
    ]


def test_denial_trend(ledger):
    t = pb.denial_trend(ledger).to_pylist()
    got = {(r["payer"], r["month"], r["category"]): r["denial_rate"] for r in t}
    assert got == {
        ("P1", "2025-01", "medical_necessity"): 0.5,
        ("P1", "2025-02", "bundling"): 1.0,
        ("P2", "2025-02", "prior_authorization"): 0.5,
    }


def test_synth_runs():
    ledger = lk.synth.generate(1000, seed=2)
    lag = pb.remit_lag(ledger)
    assert set(lag["payer_id"].to_pylist()) <= set(ledger.payers["payer_id"].to_pylist())
    assert all(m >= 0 for m in lag["median_days"].to_pylist())
    t = pb.allowed_by_cpt(ledger)
    assert sum(t["underpaid_lines"].to_pylist()) == pb.underpayments(ledger).num_rows
