"""Root causes and payer behaviour against their plain references (reference_trends).

Same random ledgers as test_metrics_reference. Counts and cents compare
exactly; means exactly (one correctly rounded division); quantiles, medians,
expected amounts and slopes within 1e-9 (the references compute them exactly).
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
import reference_metrics as ref_metrics
import reference_trends as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from test_metrics_reference import CATALOG, CPTS, assert_same, metric_ledgers

import ledgerkit as lk

SETTINGS = settings(max_examples=25, deadline=None)
PATTERN_DIMS = tuple(d for d in ref_metrics.DIMENSIONS if d != "month")


@SETTINGS
@given(
    ledger=metric_ledgers(),
    by=st.lists(st.sampled_from(PATTERN_DIMS), unique=True, min_size=1, max_size=3),
    top=st.sampled_from([None, 1, 3, 20]),
    window=st.sampled_from([2, 3, 4]),
    complete_months=st.booleans(),
    as_of_shift=st.one_of(st.none(), st.integers(-120, 120)),
)
def test_root_causes_match_reference(ledger, by, top, window, complete_months, as_of_shift):
    as_of = None
    if as_of_shift is not None and ledger.entries.num_rows:
        last = max(ref_metrics.posting_day(e) for e in ledger.entries.to_pylist())
        as_of = last + dt.timedelta(days=as_of_shift)
    for by in (("payer", "carc", "cpt", "provider"), ("category",), by):
        kw = dict(
            top=top, window=window, complete_months=complete_months, as_of=as_of, catalog=CATALOG
        )
        got = lk.root_causes(ledger, by=by, **kw)
        want = ref.root_causes_ref(ledger, by=by, **kw)
        for row in want:
            row["slope_cents_per_month"] = float(row["slope_cents_per_month"])
        assert_same(got, want, ("slope_cents_per_month",))


@SETTINGS
@given(ledger=metric_ledgers())
def test_remit_lag_and_denial_trend_match_reference(ledger):
    quantiles = ("p10_days", "p25_days", "median_days", "p75_days", "p90_days", "max_days")
    assert_same(lk.payer_behaviour.remit_lag(ledger), ref.remit_lag_ref(ledger), quantiles)
    assert_same(
        lk.payer_behaviour.denial_trend(ledger, catalog=CATALOG),
        ref_metrics.initial_denial_rate_ref(
            ledger, by=("payer", "month", "category"), catalog=CATALOG
        ),
    )


@st.composite
def fee_schedules(draw):
    """None (historical medians) or a few rows, some for any payer, some per payer."""
    if draw(st.booleans()):
        return None
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from([None, "P1", "P2", "P4"]),
                st.sampled_from(CPTS),
                st.sampled_from([1000, 2500, 5001, 10000]),
            ),
            max_size=5,
        )
    )
    return pa.table(
        {
            "payer_id": pa.array([r[0] for r in rows], pa.string()),
            "cpt": pa.array([r[1] for r in rows], pa.string()),
            "allowed_cents": pa.array([r[2] for r in rows], pa.int64()),
        }
    )


@SETTINGS
@given(
    ledger=metric_ledgers(),
    fee_schedule=fee_schedules(),
    tolerance=st.sampled_from([0.0, 0.05, 0.2]),
)
def test_allowed_by_cpt_and_underpayments_match_reference(ledger, fee_schedule, tolerance):
    kw = dict(fee_schedule=fee_schedule, tolerance=tolerance)
    want = ref.allowed_by_cpt_ref(ledger, **kw)
    for row in want:
        if row["expected_per_unit"] is not None:
            row["expected_per_unit"] = float(row["expected_per_unit"])
    assert_same(lk.payer_behaviour.allowed_by_cpt(ledger, **kw), want, ("expected_per_unit",))
    assert_same(
        lk.payer_behaviour.underpayments(ledger, **kw), ref.underpayments_ref(ledger, **kw)
    )


def test_slope_reference():
    assert ref.slope([0, 10, 20]) == 10
    assert ref.slope([5, 5]) == 0
    assert ref.slope([30, 0, 0, 30]) == 0
    assert float(ref.slope([1, 0, 0])) == pytest.approx(-0.5)


@SETTINGS
@given(
    ledger=metric_ledgers(),
    today=st.sampled_from([None, "2025-02-27", "2025-06-30"]),
    weights=st.sampled_from([None, {"value": 1.0}, {"deadline": 0.0, "likelihood": 2.0}]),
    prior_weight=st.sampled_from([10.0, 0.5]),
)
def test_worklist_matches_reference(ledger, today, weights, prior_weight):
    kw = dict(today=today, weights=weights, prior_weight=prior_weight)
    got = lk.worklist(ledger, catalog=CATALOG, **kw)
    scores = (
        "likelihood",
        "value_score",
        "urgency_score",
        "priority",
    )  # log1p may differ by 1 ulp
    assert_same(got, ref.worklist_ref(ledger, catalog=CATALOG, **kw), scores)
