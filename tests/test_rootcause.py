"""Root causes on a hand ledger: ranking by dollars, monthly series and trend."""

import pytest
from analytics_ledgers import build, rows

import ledgerkit as lk
from ledgerkit.analytics.rootcause import root_causes

PAYERS = [("P1", "commercial", 90, 60), ("P2", "medicare", 365, 120)]


def pattern_ledger():
    """Pattern A (P1 x CO-50 x 99213 x DR1): $100 Jan, $200 Feb, $300 Mar (growing).
    Pattern B (P2 x CO-97 x 36415 x DR2): $500 Jan, $100 Feb, $50 Mar (shrinking)."""
    plan = [
        ("A", "P1", "DR1", "99213", "50", [("01", 10000), ("02", 20000), ("03", 30000)]),
        ("B", "P2", "DR2", "36415", "97", [("01", 50000), ("02", 10000), ("03", 5000)]),
    ]
    encounters, procedures, entries = [], [], []
    for name, payer, provider, cpt, carc, months in plan:
        for month, amount in months:
            eid = f"{name}{month}"
            encounters.append((eid, (payer,), f"2025-{month}-02", provider, "L1"))
            procedures.append((eid, 1, cpt, amount))
            entries += rows(
                eid,
                1,
                [
                    (1, "charge", amount, f"2025-{month}-03"),
                    (1, "payment", 0, f"2025-{month}-20"),
                    (1, "adjustment", amount, f"2025-{month}-20", "CO", carc),
                ],
            )
    return build(encounters, procedures, entries, PAYERS)


def test_ranked_by_dollars_with_trend():
    t = root_causes(pattern_ledger(), complete_months=False).to_pylist()
    assert [(r["payer"], r["carc"], r["cpt"], r["provider"]) for r in t] == [
        ("P2", "97", "36415", "DR2"),
        ("P1", "50", "99213", "DR1"),
    ]
    b, a = t
    assert (b["denied_cents"], b["denials"], b["claims"]) == (65000, 3, 3)
    assert b["share"] == pytest.approx(650 / 1250)
    assert b["monthly_cents"] == [50000, 10000, 5000] and b["first_month"] == "2025-01"
    assert (b["last_month_cents"], b["prev_month_cents"], b["mom_change_cents"]) == (
        5000,
        10000,
        -5000,
    )
    assert b["slope_cents_per_month"] == pytest.approx((5000 - 50000) / 2)
    assert not b["growing"]
    assert a["slope_cents_per_month"] == pytest.approx(10000.0) and a["growing"]
    assert (a["category"], b["category"]) == ("medical_necessity", "bundling")


def test_partial_last_month_is_dropped_and_top_and_by():
    ledger = pattern_ledger()  # last posting day 03-20: March is partial
    t = root_causes(ledger, by=("carc",), top=1).to_pylist()
    assert len(t) == 1 and t[0]["carc"] == "97"
    assert t[0]["monthly_cents"] == [50000, 10000]
    with pytest.raises(ValueError, match="trend axis"):
        root_causes(ledger, by=("month", "carc"))
    with pytest.raises(ValueError, match="window must be"):
        root_causes(ledger, window=1)


def test_synth_shares_add_up():
    ledger = lk.synth.generate(2000, seed=6)
    t = root_causes(ledger, top=None)
    assert sum(t["share"].to_pylist()) == pytest.approx(1.0)
    total = lk.metrics.denial_dollars(ledger, by=None)["denied_cents"][0].as_py()
    assert sum(t["denied_cents"].to_pylist()) == total
