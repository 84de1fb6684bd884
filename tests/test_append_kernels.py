"""The append path's one-pass kernels against plain numpy references: the radix order
of new rows by procedure, the check of a caller's procedure positions, the coverage
check, and the dictionary indices read at some rows."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerkit._kernels.keys import check_positions_nb, radix_order_nb
from ledgerkit._kernels.limits import coverage_mismatch_nb
from ledgerkit.core.arrow import encode


def radix_order(key, n_keys):
    key = np.asarray(key)
    n = len(key)
    order, tmp_order = np.empty(n, np.int64), np.empty(n, np.int64)
    out, tmp = np.empty(n, key.dtype), np.empty(n, key.dtype)
    radix_order_nb(key, n_keys, order, out, tmp_order, tmp)
    return order, out


def radix_order_ref(key):
    order = np.argsort(np.asarray(key), kind="stable")
    return order, np.asarray(key)[order]


@given(
    st.integers(1, 1 << 34).flatmap(
        lambda n: st.tuples(st.just(n), st.lists(st.integers(0, n - 1), max_size=300))
    ),
    st.sampled_from([np.int32, np.int64]),
)
@settings(max_examples=150, derandomize=True)
def test_radix_order_is_a_stable_argsort(case, dtype):
    n_keys, keys = case
    if dtype is np.int32 and n_keys > 2**31:
        n_keys = 2**31
        keys = [k % n_keys for k in keys]
    key = np.array(keys, dtype)
    order, out = radix_order(key, n_keys)
    ref_order, ref_out = radix_order_ref(key)
    assert order.tolist() == ref_order.tolist()
    assert out.tolist() == ref_out.tolist()


def test_radix_order_on_a_large_batch_with_many_ties():
    rng = np.random.default_rng(3)
    key = rng.integers(0, 10_000_000, 200_000).astype(np.int32)
    key[::7] = key[0]
    order, out = radix_order(key, 10_000_000)
    ref_order, ref_out = radix_order_ref(key)
    assert np.array_equal(order, ref_order) and np.array_equal(out, ref_out)


def check_positions_ref(positions, lines, proc_line):
    positions = np.asarray(positions, np.int64)
    if len(positions) and (positions.min() < 0 or positions.max() >= len(proc_line)):
        return 1
    if not np.array_equal(np.asarray(proc_line)[positions], lines):
        return 2
    return 0


@given(
    st.lists(st.integers(1, 4), min_size=1, max_size=30),
    st.lists(st.tuples(st.integers(-2, 32), st.integers(0, 5)), max_size=40),
)
@settings(max_examples=200, derandomize=True)
def test_check_positions_matches_the_reference(proc_line, rows):
    proc_line = np.array(proc_line, np.int32)
    positions = np.array([p for p, _ in rows], np.int64)
    lines = np.array(
        [proc_line[p] if 0 <= p < len(proc_line) and w else w for p, w in rows], np.int32
    )
    out = np.empty(len(positions), np.int32)
    problem = check_positions_nb(positions, lines, proc_line, out)
    assert problem == check_positions_ref(positions, lines, proc_line)
    if problem == 0:
        assert out.tolist() == positions.tolist()


def coverage_mismatch_ref(entry_enc, seq, named, coverage):
    expected = coverage[entry_enc, seq]
    bad = np.flatnonzero((seq > 0) & (named != expected))
    return int(bad[0]) if len(bad) else -1


@given(
    st.integers(1, 6).flatmap(
        lambda n_enc: st.tuples(
            st.lists(
                st.lists(st.integers(-2, 3), min_size=4, max_size=4),
                min_size=n_enc,
                max_size=n_enc,
            ),
            st.lists(
                st.tuples(st.integers(0, n_enc - 1), st.integers(0, 3), st.integers(-3, 3)),
                max_size=40,
            ),
        )
    )
)
@settings(max_examples=200, derandomize=True)
def test_coverage_mismatch_matches_the_reference(case):
    coverage, rows = case
    coverage = np.array(coverage, np.int64)
    entry_enc = np.array([e for e, _, _ in rows], np.int64)
    seq = np.array([s for _, s, _ in rows], np.int8)
    named = np.array([p for _, _, p in rows], np.int64)
    got = coverage_mismatch_nb(entry_enc, seq, named, coverage)
    assert got == coverage_mismatch_ref(entry_enc, seq, named, coverage)


_VALUES = st.one_of(st.none(), st.sampled_from(["A", "B", "C", "DD"]))


@given(
    st.lists(st.lists(_VALUES, max_size=20), min_size=1, max_size=3),
    st.integers(0, 3),
    st.booleans(),
    st.data(),
)
@settings(max_examples=150, derandomize=True)
def test_payer_columns_compared_by_codes_as_by_strings(chunks, cut, as_dictionary, data):
    """``decide._same_strings`` (dictionary chunks by codes, ``same_dictionary_codes_nb``;
    plain ones by strings) against a comparison of the strings."""
    from ledgerkit.posting.decide import _same_strings

    arrays = [pa.array(c, pa.string()) for c in chunks]
    arrays[0] = arrays[0].slice(min(cut, len(arrays[0])))  # an offset into the buffers
    if as_dictionary:
        arrays = [a.dictionary_encode() for a in arrays]
    column = pa.chunked_array(arrays)
    strings = [None if v is None else str(v) for v in column.to_pylist()]
    n = len(strings)
    rows = np.array(data.draw(st.lists(st.integers(-1, n - 1), max_size=30)), np.int64)
    values = data.draw(st.lists(_VALUES, min_size=len(rows), max_size=len(rows)))
    codes, distinct = encode(pa.array(values, pa.string()))
    got = _same_strings(column, rows, (codes, distinct), {})
    expected = [
        r >= 0 and v is not None and strings[r] is not None and strings[r] == v
        for r, v in zip(rows.tolist(), values, strict=True)
    ]
    assert got.tolist() == expected


def lookup_ids_ref(ids, queries):
    where = {v: i for i, v in enumerate(ids)}
    return [-1 if q is None else where.get(q, -1) for q in queries]


@given(
    st.lists(st.text(max_size=5), max_size=300, unique=True),
    st.lists(st.one_of(st.none(), st.text(max_size=5)), max_size=60),
    st.integers(0, 3),
)
@settings(max_examples=120, derandomize=True)
def test_id_index_lookup_kernel_matches_a_dictionary(ids, queries, cut):
    from ledgerkit.core.id_index import IdIndex

    queries = queries + ids[::7]  # hits too
    values = pa.array([None] * cut + queries, pa.string()).slice(cut)  # an offset
    index = IdIndex(pa.chunked_array([pa.array(ids, pa.string())]))
    got = index._lookup(values) if len(values) and len(ids) else None
    if got is not None:
        assert got.tolist() == lookup_ids_ref(ids, queries)
    assert index.positions(values).tolist() == lookup_ids_ref(ids, queries)


def test_lookup_kernel_scans_a_bucket_and_checks_the_bytes():
    """Buckets of several hashes (one top bit), and a query whose fingerprint is an id's
    but whose bytes differ: found only where the bytes agree."""
    from ledgerkit._kernels.keys import lookup_ids_nb

    ids = ["a", "bb", "ccc", "dd"]
    hashes = np.array([1, 2, 3, (1 << 63) + 5], np.uint64)  # sorted already
    order = np.arange(4)
    bucket_start = np.array([0, 3, 4], np.int64)  # top bit 0: 3 ids, 1: one
    offsets = np.array([0, 1, 3, 6, 8], np.int32)
    data = np.frombuffer(b"abbcccdd", np.uint8)
    q = ["ccc", "xx", "dd", "a", "zz"]
    q_hash = np.array([3, 2, (1 << 63) + 5, 1, 7], np.uint64)  # "xx" shares bb's hash
    q_offsets = np.array([0, 3, 5, 7, 8, 10], np.int64)
    q_data = np.frombuffer("".join(q).encode(), np.uint8)
    valid = np.array([True, True, True, False, True])
    for visit in (np.arange(5), np.array([4, 2, 0, 3, 1])):  # any order, the same answer
        out = np.empty(5, np.int64)
        lookup_ids_nb(hashes, bucket_start, 63, order, q_hash, valid, visit, q_offsets,
                      q_data, offsets, data, out)  # fmt: skip
        assert out.tolist() == [2, -1, 3, -1, -1]
    assert [ids[p] if p >= 0 else None for p in out] == ["ccc", None, "dd", None, None]


def shared_hashes_ref(h):
    values, counts = np.unique(h, return_counts=True)
    return np.isin(h, values[counts > 1])


@given(st.lists(st.integers(0, 40), max_size=200), st.integers(0, 3))
@settings(max_examples=150, derandomize=True)
def test_shared_hashes_marks_every_row_whose_hash_repeats(values, spread):
    from ledgerkit._kernels.posting import shared_hashes_nb

    h = np.array(values, np.uint64) << np.uint64(8 * spread)  # same low bits: long probes
    table = np.full(1 << int(2 * len(h)).bit_length(), -1, np.int64)
    shared = np.zeros(len(h), np.bool_)
    shared_hashes_nb(h, table, shared)
    assert shared.tolist() == shared_hashes_ref(h).tolist()


@given(
    st.lists(st.integers(0, 12), max_size=60).map(sorted),
    st.lists(st.integers(0, 12), max_size=30),
)
@settings(max_examples=200, derandomize=True)
def test_merge_rank_order_is_a_stable_argsort_of_the_ranks(regular, negations):
    """Regular rows (in rank order) and negations merged: the stable argsort of all ranks."""
    from ledgerkit.posting.entries import _rank_order

    ranks = np.array(regular + negations, np.int64)
    order, place, interleaved = _rank_order(ranks, len(regular))
    expected = np.argsort(ranks, kind="stable")
    assert order.tolist() == expected.tolist()
    assert place[order].tolist() == list(range(len(ranks)))
    assert interleaved == bool((np.diff(expected) < 0).any())


@given(
    st.integers(1, 4).flatmap(
        lambda ng: st.integers(1, 5).flatmap(
            lambda nc: st.tuples(
                st.lists(
                    st.lists(st.integers(0, 13), min_size=nc, max_size=nc),
                    min_size=ng,
                    max_size=ng,
                ),
                st.lists(
                    st.tuples(st.integers(-1, ng - 1), st.integers(-1, nc - 1)),
                    min_size=1,
                    max_size=20,
                ),  # fmt: skip
            )
        )
    ),
    st.data(),
)
@settings(max_examples=150, derandomize=True)
def test_adjustment_roles_match_the_bucket_gather(case, data):
    from ledgerkit._kernels import codes as C
    from ledgerkit._kernels.posting import adjustment_roles_nb

    matrix, adj = case
    matrix = np.array(matrix, np.int8)
    g = np.array([a for a, _ in adj], np.int32)
    c = np.array([b for _, b in adj], np.int32)
    adj_row = np.array(data.draw(st.lists(st.integers(-1, len(adj) - 1), max_size=30)), np.int64)
    contractual = np.ones(len(adj_row), np.bool_)
    pr = np.ones(len(adj_row), np.bool_)
    adjustment_roles_nb(adj_row, g, c, matrix, contractual, pr)
    bucket = matrix[np.maximum(g, 0), np.maximum(c, 0)]  # the numpy gather it replaces
    is_adj = adj_row >= 0
    b = np.where(is_adj, bucket[np.maximum(adj_row, 0)], -1)
    assert contractual.tolist() == (is_adj & (b == C.CONTRACTUAL)).tolist()
    assert pr.tolist() == (is_adj & (b >= C.PR_DEDUCTIBLE) & (b <= C.PR_OTHER)).tolist()
