"""The small pieces every kernel shares: packed codes, chunk ranges, splitmix64.

Each is checked against the plain arithmetic it stands for, on Python ints,
on numpy arrays and inside an ``@njit`` function.
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ledgerkit._kernels import codes as C
from ledgerkit._kernels._njit import njit
from ledgerkit._kernels.chunks import chunk_range, n_chunks
from ledgerkit._kernels.hashing import mix_nb, splitmix64_nb

BUCKETS = st.integers(0, C.N_BUCKETS - 1)
SEQS = st.integers(0, C.MAX_PAYER_SEQ)
LIVE = st.integers(0, 1)
MASK64 = (1 << 64) - 1


def test_pack_code_round_trips_every_valid_triple():
    for bucket in range(C.N_BUCKETS):
        for seq in range(C.MAX_PAYER_SEQ + 1):
            for live in (0, 1):
                code = C.pack_code(bucket, seq, live)
                assert code == bucket + 16 * seq + 64 * live  # the documented layout
                assert 0 <= code < 128  # fits the int8 the keys store
                assert C.bucket_of(code) == bucket
                assert C.payer_seq_of(code) == seq
                assert C.is_live(code) == bool(live)


@given(st.lists(st.tuples(BUCKETS, SEQS, LIVE), max_size=50))
def test_accessors_work_on_numpy_arrays(triples):
    b = np.array([t[0] for t in triples], np.int8)
    s = np.array([t[1] for t in triples], np.int8)
    live = np.array([t[2] for t in triples], np.bool_)
    codes = C.pack_code(b, s, live.astype(np.int8))
    assert codes.dtype == np.int8
    assert np.array_equal(C.bucket_of(codes), b)
    assert np.array_equal(C.payer_seq_of(codes), s)
    assert np.array_equal(C.is_live(codes), live)


@njit
def _decode_all_nb(codes, out):
    for i in range(codes.shape[0]):
        out[i, 0] = C.bucket_of(codes[i])
        out[i, 1] = C.payer_seq_of(codes[i])
        out[i, 2] = 1 if C.is_live(codes[i]) else 0
        out[i, 3] = C.pack_code(out[i, 0], out[i, 1], out[i, 2])


@given(st.lists(st.tuples(BUCKETS, SEQS, LIVE), max_size=50))
def test_accessors_work_inside_njit(triples):
    codes = np.array([b | s << 4 | v << 6 for b, s, v in triples], np.int8)
    out = np.empty((len(triples), 4), np.int64)
    _decode_all_nb(codes, out)
    assert out[:, :3].tolist() == [list(t) for t in triples]
    assert np.array_equal(out[:, 3], codes)


@given(st.integers(0, 100_000), st.integers(1, 5000))
def test_chunks_cover_every_row_once(n, size):
    ranges = [chunk_range(c, n, size) for c in range(n_chunks(n, size))]
    rows = [r for lo, hi in ranges for r in range(lo, hi)] if n <= 20_000 else None
    if rows is not None:
        assert rows == list(range(n))
    assert all(lo < hi for lo, hi in ranges)
    assert (ranges[-1][1] if ranges else 0) == n


def _splitmix64_ref(x: int) -> int:
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


@given(st.integers(0, MASK64), st.integers(0, MASK64))
def test_splitmix64_matches_reference(h, x):
    assert int(splitmix64_nb(np.uint64(x))) == _splitmix64_ref(x)
    expected = _splitmix64_ref(((h ^ x) + 0x9E3779B97F4A7C15) & MASK64)
    assert int(mix_nb(np.uint64(h), np.uint64(x))) == expected


def _fingerprint_ref(value, seed: int) -> int:
    """``fingerprint_strings_nb`` of one string (None: null) in plain Python."""
    mix = lambda h, x: _splitmix64_ref(((h ^ x) + 0x9E3779B97F4A7C15) & MASK64)  # noqa: E731
    if value is None:
        return mix(seed, 0x6A09E667F3BCC909)
    h = seed ^ 0xCBF29CE484222325
    data = value.encode()
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & MASK64
    return mix(h, len(data))


@given(
    st.lists(st.none() | st.text(max_size=12), max_size=30),
    st.integers(0, MASK64),
    st.integers(0, MASK64),
)
def test_fingerprints_under_two_seeds_match_one_seed_at_a_time(values, seed_a, seed_b):
    """The remit ids' two halves hashed in one pass equal the single-seed hashes (so ids
    stored by earlier versions are recognised), strings and numbers alike."""
    import pyarrow as pa

    from ledgerkit._kernels.hashing import (
        combine_nb,
        combine_pair_nb,
        fingerprint_strings_nb,
        fingerprint_strings_pair_nb,
        seeded_pair_nb,
    )
    from ledgerkit.core.arrow import string_buffers, valid_array

    column = pa.array(values, pa.string())
    offsets, data = string_buffers(column)
    n = len(values)
    single = [np.empty(n, np.uint64), np.empty(n, np.uint64)]
    pair = [np.empty(n, np.uint64), np.empty(n, np.uint64)]
    seeds = (np.uint64(seed_a), np.uint64(seed_b))
    for seed, out in zip(seeds, single, strict=True):
        fingerprint_strings_nb(offsets, data, valid_array(column), seed, out)
    fingerprint_strings_pair_nb(offsets, data, valid_array(column), *seeds, *pair)
    assert [a.tolist() for a in pair] == [a.tolist() for a in single]
    assert pair[0].tolist() == [_fingerprint_ref(v, seed_a) for v in values]

    numbers = np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B9)
    one = [np.full(n, s, np.uint64) for s in seeds]
    for out in one:
        combine_nb(out, numbers)
    seeded_pair_nb(numbers, *seeds, *pair)
    assert [a.tolist() for a in pair] == [a.tolist() for a in one]
    h_a, h_b = pair[0].copy(), pair[1].copy()
    combine_pair_nb(h_a, numbers, h_b, numbers[::-1].copy())
    combine_nb(pair[0], numbers)
    combine_nb(pair[1], numbers[::-1].copy())
    assert h_a.tolist() == pair[0].tolist() and h_b.tolist() == pair[1].tolist()


@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.text(max_size=6)),
            st.one_of(st.none(), st.integers(-(2**40), 2**40)),
            st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)),
            st.one_of(st.none(), st.dates()),
        ),
        max_size=40,
    ),
    st.integers(0, 2**32),
    st.integers(0, 2**32),
)
def test_row_hashes_of_a_pair_equal_each_seed_alone(rows, seed_a, seed_b):
    """Remit and PLB ids: both halves from one read of each column equal two passes."""
    import pyarrow as pa

    from ledgerkit.posting.batch import row_hash, row_hash_pair

    types = (pa.string(), pa.int64(), pa.float64(), pa.date32())
    columns = [pa.array([r[i] for r in rows], t) for i, t in enumerate(types)]
    h_a, h_b = row_hash_pair(columns, seed_a, seed_b)
    assert np.array_equal(h_a, row_hash(columns, seed_a))
    assert np.array_equal(h_b, row_hash(columns, seed_b))
