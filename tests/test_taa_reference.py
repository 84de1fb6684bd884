"""taa_history and suggest_taa, whole tables, against the plain twins in reference_taa."""

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_taa import _row_order, suggest_taa_ref, taa_history_ref
from rule_strategies import taa_ledgers

import ledgerkit as lk
from ledgerkit.rules.taa import suggest_taa, taa_history

PERCENTILES = [0, 10, 25, 33.3, 50, 62.5, 90, 100]


def _rows(table: pa.Table) -> list[dict]:
    rows = table.to_pylist()
    claims = [r["claims"] for r in rows]
    assert claims == sorted(claims, reverse=True)  # most claims first
    return sorted(rows, key=_row_order)


@given(
    taa_ledgers(),
    st.integers(1, 3),
    st.lists(st.sampled_from(PERCENTILES), min_size=1, max_size=3, unique=True),
)
@settings(max_examples=25)
def test_taa_history_equals_reference(ledger, min_claims, percentiles):
    got = taa_history(ledger, min_claims=min_claims, percentiles=tuple(percentiles))
    assert _rows(got) == taa_history_ref(ledger, min_claims, percentiles)


@given(taa_ledgers(), st.sampled_from(PERCENTILES), st.integers(1, 4))
@settings(max_examples=25)
def test_suggest_taa_equals_reference(ledger, percentile, min_claims):
    got = suggest_taa(ledger, percentile=percentile, min_claims=min_claims)
    assert _rows(got) == suggest_taa_ref(ledger, percentile, min_claims)


@given(st.integers(0, 1000), st.sampled_from(PERCENTILES), st.integers(1, 8))
@settings(max_examples=8)
def test_synthetic_tables_equal_reference(seed, percentile, min_claims):
    ledger = lk.synth.generate(300, seed=seed)
    got = suggest_taa(ledger, percentile=percentile, min_claims=min_claims)
    assert _rows(got) == suggest_taa_ref(ledger, percentile, min_claims)
    got = taa_history(ledger, min_claims=min_claims)
    assert _rows(got) == taa_history_ref(ledger, min_claims)
