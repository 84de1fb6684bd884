"""The Arrow boundary: codes_in against a plain dictionary look-up."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from ledgerkit.core.arrow import codes_in

NAMES = [f"E{i:03d}" for i in range(12)]


def reference(chunks, value_set):
    where = {v: i for i, v in enumerate(value_set)}
    return [where.get(v, -1) if v is not None else -1 for chunk in chunks for v in chunk]


@st.composite
def columns(draw):
    """A value set, and chunks mixing aligned runs (as a grouped ledger is written),
    runs that continue across a chunk boundary, unknown values, nulls and shuffles."""
    value_set = draw(st.lists(st.sampled_from(NAMES), unique=True, min_size=1))
    runs = [v for v in value_set for _ in range(draw(st.integers(1, 3)))]
    chunks = []
    while runs:
        k = draw(st.integers(1, len(runs)))
        chunks.append(runs[:k])
        runs = runs[k:]
    for _ in range(draw(st.integers(0, 3))):
        extra = st.one_of(st.sampled_from(NAMES), st.none(), st.just("unknown"))
        chunks.insert(draw(st.integers(0, len(chunks))), draw(st.lists(extra, min_size=1)))
    return chunks, value_set


@given(columns(), st.booleans())
def test_codes_in_equals_a_dictionary_lookup(case, as_dictionary):
    chunks, value_set = case
    arrays = [pa.array(c, pa.string()) for c in chunks]
    if as_dictionary:
        arrays = [a.dictionary_encode() for a in arrays]
    got = codes_in(pa.chunked_array(arrays), pa.array(value_set, pa.string()))
    assert got.tolist() == reference(chunks, value_set)


def test_codes_in_of_nothing():
    empty = pa.chunked_array([], pa.string())
    assert codes_in(empty, pa.array(["a"])).tolist() == []
