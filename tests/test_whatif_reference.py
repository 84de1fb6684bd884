"""taa_sweep, threshold_sweep and WhatIf against one reference dry run per level."""

from hypothesis import given, settings
from hypothesis import strategies as st
from reference_whatif import taa_sweep_ref, threshold_sweep_ref, whatif_ref
from rule_strategies import taa_ledgers

from ledgerkit.rules.whatif import WhatIf, taa_sweep, threshold_sweep

PERCENTILES = [0.0, 10.0, 25.0, 33.3, 50.0, 90.0, 100.0]
FRACTIONS = [0.0, 0.5, 0.9, 1.0, 1.25]


def _levels(values):
    return st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True).map(sorted)


def _by_payer(rows):
    """Rows per payer in the sweep's payer order; compared in sorted payer order."""
    return sorted(rows, key=lambda r: (r["payer_id"] is not None, r["payer_id"] or ""))


@given(taa_ledgers(), _levels(PERCENTILES), st.integers(1, 3), st.booleans())
@settings(max_examples=20)
def test_percentile_sweep_equals_reference(ledger, levels, min_claims, by_payer):
    got = taa_sweep(ledger, levels, min_claims=min_claims, by_payer=by_payer).to_pylist()
    want = taa_sweep_ref(ledger, levels, min_claims=min_claims, by_payer=by_payer)
    assert _by_payer(got) == want


@given(
    taa_ledgers(), _levels(FRACTIONS), st.sampled_from(PERCENTILES), st.integers(1, 3),
    st.booleans(),
)  # fmt: skip
@settings(max_examples=20)
def test_fraction_sweep_equals_reference(ledger, levels, percentile, min_claims, by_payer):
    got = taa_sweep(
        ledger, levels, mode="fraction", percentile=percentile, min_claims=min_claims,
        by_payer=by_payer,
    ).to_pylist()  # fmt: skip
    want = taa_sweep_ref(
        ledger, levels, mode="fraction", percentile=percentile, min_claims=min_claims,
        by_payer=by_payer,
    )  # fmt: skip
    assert _by_payer(got) == want


@given(
    taa_ledgers(),
    st.lists(st.integers(0, 60_000), min_size=1, max_size=3, unique=True).map(sorted),
    st.booleans(),
)
@settings(max_examples=20)
def test_threshold_sweep_equals_reference(ledger, thresholds, by_payer):
    got = threshold_sweep(ledger, thresholds, by_payer=by_payer).to_pylist()
    assert _by_payer(got) == threshold_sweep_ref(ledger, thresholds, by_payer=by_payer)


@given(
    taa_ledgers(),
    st.integers(1, 3),
    st.one_of(st.none(), st.sampled_from(PERCENTILES)),
    st.sampled_from(FRACTIONS),
    st.one_of(st.none(), st.integers(0, 60_000)),
)
@settings(max_examples=25)
def test_whatif_equals_reference(ledger, min_claims, percentile, fraction, small):
    what = WhatIf(ledger, min_claims=min_claims)
    kw = dict(taa_percentile=percentile, taa_fraction=fraction, small_balance=small)
    assert what.evaluate(**kw) == whatif_ref(ledger, min_claims=min_claims, **kw)
    got = what.evaluate(**kw, by_payer=True).to_pylist()
    assert _by_payer(got) == whatif_ref(ledger, min_claims=min_claims, by_payer=True, **kw)
