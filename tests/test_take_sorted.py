"""linked_payments.take_sorted, the chunk-by-chunk take of the payments' columns, against
Arrow's take of the whole chunked column (issue #19, item 5)."""

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerkit.analytics.linked_payments import take_sorted

values = st.one_of(st.none(), st.sampled_from(["r1", "r2", "remit-3", ""]))


@settings(max_examples=60)
@given(
    st.lists(st.lists(values, max_size=12), max_size=5),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_take_sorted_is_a_take(chunks, seed, as_dictionary):
    column = pa.chunked_array([pa.array(c, pa.string()) for c in chunks], pa.string())
    if as_dictionary:
        column = pa.chunked_array(
            [c.dictionary_encode() for c in column.chunks],
            pa.dictionary(pa.int32(), pa.string()),
        )
    n = len(column)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, rng.integers(0, n + 1), replace=False)).astype(np.int64)
    want = column.take(pa.array(rows, pa.int64())).cast(pa.string()).to_pylist()
    got = take_sorted(column, rows, pa.string())
    assert got.type == pa.string() and got.to_pylist() == want
    same_type = take_sorted(column, rows)
    assert same_type.type == column.type
    assert same_type.cast(pa.string()).to_pylist() == want


def test_take_sorted_of_numbers_keeps_their_type():
    column = pa.chunked_array([pa.array([5, 6, 7], pa.int64()), pa.array([8, 9], pa.int64())])
    got = take_sorted(column, np.array([0, 2, 3, 4]))
    assert got.type == pa.int64() and got.to_pylist() == [5, 7, 8, 9]
