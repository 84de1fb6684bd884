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
