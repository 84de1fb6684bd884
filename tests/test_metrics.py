"""Every metric on the hand ledger of analytics_ledgers.metrics_ledger, by hand.

Claims: E1..E5 (E6 is self-pay). Charges: E1 100, E2 100, E3 200 + 30,
E4 100, E5 200 = $730. Denied on the first response: E2 (CO-50 $100),
E3 line 2 (CO-97 $30), E4 (CO-197 $100) = $230.
"""

import numpy as np
import pyarrow as pa
import pytest
from analytics_ledgers import metrics_ledger

import ledgerkit as lk
from ledgerkit.analytics import metrics
from ledgerkit.core.catalog import CarcCatalog


@pytest.fixture(scope="module")
def ledger():
    return metrics_ledger()


def rows(table, key=None):
    out = table.to_pylist()
    if key is None:
        return out
    return {tuple(r[k] for k in key) if len(key) > 1 else r[key[0]]: r for r in out}


def test_initial_denial_rate_total(ledger):
    (row,) = rows(metrics.initial_denial_rate(ledger, by=None))
    assert (row["claims"], row["responded"], row["denied_claims"]) == (5, 4, 3)
    assert row["denial_rate"] == pytest.approx(3 / 5)
    assert (row["charge_cents"], row["denied_cents"]) == (73000, 23000)
    assert row["dollar_denial_rate"] == pytest.approx(230 / 730)


def test_initial_denial_rate_by_month_and_payer(ledger):
    by_month = rows(metrics.initial_denial_rate(ledger, by="month"), ["month"])
    assert list(by_month) == ["2025-01", "2025-02"]
    jan, feb = by_month["2025-01"], by_month["2025-02"]
    assert (jan["claims"], jan["denied_claims"], jan["charge_cents"], jan["denied_cents"]) == (
        2,
        1,
        20000,
        10000,
    )
    assert (feb["claims"], feb["denied_claims"], feb["charge_cents"], feb["denied_cents"]) == (
        3,
        2,
        53000,
        13000,
    )
    by_payer = rows(metrics.initial_denial_rate(ledger, by="payer"), ["payer"])
    assert (by_payer["P1"]["claims"], by_payer["P1"]["denied_claims"]) == (3, 2)
    assert (by_payer["P2"]["claims"], by_payer["P2"]["responded"]) == (2, 1)
    assert by_payer["P2"]["denied_cents"] == 10000
    by_class = rows(metrics.initial_denial_rate(ledger, by="payer_class"), ["payer_class"])
    assert by_class["commercial"]["claims"] == 3 and by_class["medicare"]["claims"] == 2
    by_provider = rows(metrics.initial_denial_rate(ledger, by="provider"), ["provider"])
    # DR1: E1, E2, E5 (E2 denied); DR2: E3, E4 (both denied).
    assert (by_provider["DR1"]["claims"], by_provider["DR1"]["denied_claims"]) == (3, 1)
    assert (by_provider["DR2"]["claims"], by_provider["DR2"]["denied_claims"]) == (2, 2)
    by_location = rows(metrics.initial_denial_rate(ledger, by="location"), ["location"])
    assert by_location["L2"]["denied_cents"] == 13000


def test_initial_denial_rate_by_cpt_counts_claims_per_code(ledger):
    t = rows(metrics.initial_denial_rate(ledger, by="cpt"), ["cpt"])
    # 99213: E1, E2, E4 (E2, E4 denied); 99214: E3, E5; 36415: E3 (denied).
    assert (t["99213"]["claims"], t["99213"]["denied_claims"], t["99213"]["denied_cents"]) == (
        3,
        2,
        20000,
    )
    assert (t["99214"]["claims"], t["99214"]["denied_claims"], t["99214"]["charge_cents"]) == (
        2,
        0,
        40000,
    )
    assert (t["36415"]["claims"], t["36415"]["denied_claims"]) == (1, 1)
    assert t["36415"]["denial_rate"] == 1.0


def test_initial_denial_rate_by_reason(ledger):
    t = rows(metrics.initial_denial_rate(ledger, by=("payer", "carc")), ["payer", "carc"])
    assert set(t) == {("P1", "50"), ("P1", "97"), ("P2", "197")}
    assert (t[("P1", "50")]["claims"], t[("P1", "50")]["denied_claims"]) == (3, 1)
    assert t[("P1", "97")]["denied_cents"] == 3000
    assert t[("P1", "97")]["denial_rate"] == pytest.approx(1 / 3)
    assert (t[("P2", "197")]["claims"], t[("P2", "197")]["charge_cents"]) == (2, 30000)
    cat = rows(metrics.initial_denial_rate(ledger, by="category"), ["category"])
    assert {k: v["denied_cents"] for k, v in cat.items()} == {
        "prior_authorization": 10000,
        "medical_necessity": 10000,
        "bundling": 3000,
    }
    assert all(v["claims"] == 5 for v in cat.values())


def test_avoidable_denial_rate(ledger):
    (row,) = rows(metrics.avoidable_denial_rate(ledger, by=None))
    # CO-97 (bundling, fixable with a modifier) and CO-197 (no auth) are avoidable;
    # CO-50 (medical necessity) is not.
    assert (row["claims"], row["denied_claims"], row["avoidable_claims"]) == (5, 3, 2)
    assert row["avoidable_rate"] == pytest.approx(2 / 5)
    assert row["avoidable_share"] == pytest.approx(2 / 3)
    assert (row["avoidable_cents"], row["charge_cents"]) == (13000, 73000)
    by_payer = rows(metrics.avoidable_denial_rate(ledger, by="payer"), ["payer"])
    assert by_payer["P1"]["avoidable_claims"] == 1 and by_payer["P2"]["avoidable_claims"] == 1


def test_avoidable_follows_catalogue_overrides(ledger):
    cat = CarcCatalog.default().override("50", avoidable=True)
    (row,) = rows(metrics.avoidable_denial_rate(ledger, by=None, catalog=cat))
    assert row["avoidable_claims"] == 3


def test_denial_dollars_counts_live_denials_only(ledger):
    t = rows(metrics.denial_dollars(ledger, by=("payer", "carc")), ["payer", "carc"])
    # E2's CO-50 was negated when the payer reprocessed the claim.
    assert {k: (v["denials"], v["claims"], v["denied_cents"]) for k, v in t.items()} == {
        ("P1", "97"): (1, 1, 3000),
        ("P2", "197"): (1, 1, 10000),
    }
    (total,) = rows(metrics.denial_dollars(ledger, by=None))
    assert total["denied_cents"] == 13000


def test_overturn_rate(ledger):
    (row,) = rows(metrics.overturn_rate(ledger, by=None))
    assert (row["denied_claims"], row["overturned_claims"]) == (3, 1)
    assert row["overturn_rate"] == pytest.approx(1 / 3)
    # E2 recovered $70 of its $100 denial.
    assert (row["denied_cents"], row["recovered_cents"]) == (23000, 7000)
    assert row["recovery_rate"] == pytest.approx(70 / 230)
    t = rows(metrics.overturn_rate(ledger, by="carc"), ["carc"])
    assert t["50"]["overturn_rate"] == 1.0 and t["197"]["overturn_rate"] == 0.0


def test_days_to_resolution(ledger):
    (row,) = rows(metrics.days_to_resolution(ledger, by=None))
    # E2: 01-20 -> 02-15 = 26 days; E4: 02-25 -> 03-10 (write-off) = 13 days; E3 open.
    assert (row["denied_claims"], row["resolved_claims"], row["open_claims"]) == (3, 2, 1)
    assert row["mean_days"] == pytest.approx(19.5)
    assert row["median_days"] == pytest.approx(19.5)
    assert row["p90_days"] == pytest.approx(13 + 0.9 * 13)
    t = rows(metrics.days_to_resolution(ledger, by="payer"), ["payer"])
    assert (t["P1"]["resolved_claims"], t["P1"]["open_claims"], t["P1"]["mean_days"]) == (
        1,
        1,
        26.0,
    )
    assert t["P2"]["median_days"] == 13.0


def test_open_denial_dollars(ledger):
    (row,) = rows(metrics.open_denial_dollars(ledger, by=None))
    assert (row["claims"], row["lines"], row["open_denied_cents"]) == (1, 1, 3000)
    t = rows(metrics.open_denial_dollars(ledger, by=("carc", "cpt")), ["carc", "cpt"])
    assert list(t) == [("97", "36415")]


def test_aging(ledger):
    (row,) = rows(metrics.aging(ledger, by=None, today="2025-03-31"))
    # E3 $30 (service 02-05, 54 days), E5 $200 (02-10, 49 days), E6 $50 (01-10, 80 days).
    assert row["claims"] == 3 and row["total_cents"] == 28000
    assert (row["days_0_30"], row["days_31_60"], row["days_61_90"]) == (0, 23000, 5000)
    assert (row["days_91_120"], row["days_over_120"]) == (0, 0)
    t = rows(metrics.aging(ledger, by="payer", today="2025-03-31"), ["payer"])
    assert t["P1"]["days_31_60"] == 3000 and t["P2"]["days_31_60"] == 20000
    assert t[None]["days_61_90"] == 5000  # self-pay
    (payer_only,) = rows(
        metrics.aging(ledger, by=None, today="2025-03-31", amount="payer_balance")
    )
    assert payer_only["total_cents"] == 23000
    (later,) = rows(metrics.aging(ledger, by=None, today="2025-07-01"))
    assert later["days_over_120"] == 28000


def test_by_validation(ledger):
    with pytest.raises(ValueError, match="unknown dimension 'doctor'"):
        metrics.initial_denial_rate(ledger, by="doctor")
    with pytest.raises(ValueError, match="appears twice"):
        metrics.overturn_rate(ledger, by=("payer", "payer"))
    with pytest.raises(ValueError, match="amount must be"):
        metrics.aging(ledger, amount="charge")


def test_empty_ledger_gives_empty_tables():
    ledger = lk.synth.generate(0, seed=0)
    for fn in (
        metrics.initial_denial_rate,
        metrics.overturn_rate,
        metrics.days_to_resolution,
        metrics.open_denial_dollars,
        metrics.aging,
    ):
        assert fn(ledger, by="payer").num_rows == 0, fn.__name__


def test_synth_consistency():
    ledger = lk.synth.generate(3000, seed=11)
    total = metrics.initial_denial_rate(ledger, by=None).to_pylist()[0]
    for by in ("payer", "month", "provider", "location"):
        t = metrics.initial_denial_rate(ledger, by=by)
        assert sum(t["claims"].to_pylist()) == total["claims"], by
        assert sum(t["denied_claims"].to_pylist()) == total["denied_claims"], by
        assert sum(t["denied_cents"].to_pylist()) == total["denied_cents"], by
    by_carc = metrics.initial_denial_rate(ledger, by="carc")
    assert sum(by_carc["denied_cents"].to_pylist()) == total["denied_cents"]
    # Denial dollars against a plain filter of the entries.
    entries = ledger.entries.to_pylist()
    negated = {e["negates"] for e in entries if e["negates"] is not None}
    want = sum(
        e["amount_cents"]
        for e in entries
        if e["kind"] == "adjustment"
        and e["payer_seq"] >= 1
        and e["negates"] is None
        and e["entry_id"] not in negated
        and ledger.policy.bucket_of(e["group_code"], e["carc"]) == "denied"
    )
    assert metrics.denial_dollars(ledger, by=None)["denied_cents"][0].as_py() == want
    # Aging total = sum of non-zero procedure balances.
    bal = lk.balances(ledger, "procedure")["balance"].to_numpy()
    aged = metrics.aging(ledger, by="payer")
    assert sum(aged["total_cents"].to_pylist()) == int(bal.sum())
    buckets = [c for c, _, _ in metrics.AGING_BUCKETS]
    assert sum(sum(aged[c].to_pylist()) for c in buckets) == int(bal.sum())
    # Overturned <= denied; open denial <= payer balances.
    ov = metrics.overturn_rate(ledger, by="payer")
    assert all(
        o <= d
        for o, d in zip(
            ov["overturned_claims"].to_pylist(), ov["denied_claims"].to_pylist(), strict=True
        )
    )
    pb = lk.classify(ledger)["payer_balance"].to_numpy()
    od = metrics.open_denial_dollars(ledger, by=None)["open_denied_cents"][0].as_py()
    assert od <= int(np.maximum(pb, 0).sum())
    assert isinstance(metrics.days_to_resolution(ledger, by="category"), pa.Table)
