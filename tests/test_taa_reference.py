"""taa_history, suggest_taa and encounter_taa (clean history, fallbacks) against the
plain twins in reference_taa."""

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_taa import _row_order, encounter_taa_ref, suggest_taa_ref, taa_history_ref
from rule_strategies import taa_ledgers

import ledgerkit as lk
from ledgerkit.rules.taa import encounter_taa, suggest_taa, taa_history

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


@st.composite
def fee_schedules(draw):
    """A few contracted rates over the strategies' payers, CPTs and modifiers."""
    keys = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["P1", "P2", "P3", "P4"]),
                st.sampled_from(["99213", "36415", "J1030"]),
                st.sampled_from([None, "25"]),
            ),
            max_size=8,
            unique_by=lambda k: (k[0], k[1], k[2] or ""),
        )
    )
    return [
        dict(payer_id=p, cpt=c, modifiers=m, rate_cents=draw(st.integers(1, 30_000)))
        for p, c, m in keys
    ]


@given(
    taa_ledgers(),
    fee_schedules(),
    st.sampled_from(PERCENTILES),
    st.integers(1, 4),
    st.sampled_from([0.5, 0.95, 1.0]),
)
@settings(max_examples=25)
def test_fallbacks_equal_reference(ledger, schedule, percentile, min_claims, fraction):
    table = pa.Table.from_pylist(
        schedule,
        schema=pa.schema(
            [("payer_id", pa.string()), ("cpt", pa.string()), ("modifiers", pa.string()),
             ("rate_cents", pa.int64())]
        ),
    )  # fmt: skip
    got = suggest_taa(
        ledger, percentile, min_claims, fee_schedule=table, contract_fraction=fraction
    )
    want = suggest_taa_ref(ledger, percentile, min_claims, schedule, fraction)
    assert _rows(got) == want
    per_enc = encounter_taa(
        ledger,
        percentile=percentile,
        min_claims=min_claims,
        fee_schedule=table,
        contract_fraction=fraction,
    )
    ref = encounter_taa_ref(ledger, percentile, min_claims, schedule, fraction)
    ids = ledger.encounters["encounter_id"].to_pylist()  # encounter_taa: in this order
    assert [None if t < 0 else t for t in per_enc.tolist()] == [ref[i] for i in ids]
