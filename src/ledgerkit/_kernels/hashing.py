"""64-bit hashes: one splitmix64, and the two string hashes built on it.

``partition_hash_strings_nb`` decides which partition an encounter id lands in
(partitions on disk depend on it: never change its output);
``fingerprint_strings_nb``, ``combine_nb`` and ``fold_groups_nb`` build the
seeded row fingerprints that identify remits in posting. Python's ``hash()``
is salted per process and could serve neither.
"""

import numba
import numpy as np

from ledgerkit._kernels._njit import njit, njit_parallel
from ledgerkit._kernels.chunks import chunk_range, n_chunks

GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: splitmix64's increment
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
_NULL = np.uint64(0x6A09E667F3BCC909)  # what a null string contributes
HASH_CHUNK = 1 << 16  # strings per parallel task of the fingerprints


@njit
def splitmix64_nb(x):
    """The splitmix64 finaliser of a uint64: every input bit moves every output bit."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


@njit
def mix_nb(h, x):
    """``h`` combined with ``x`` (order-dependent): one splitmix64 step."""
    return splitmix64_nb((h ^ x) + GOLDEN)


@njit
def partition_hash_strings_nb(offsets, data, out):
    """``out[i]``: splitmix64 of the FNV-1a 64 of bytes ``data[offsets[i]:offsets[i + 1]]``.

    The partition of an encounter id is ``out % n_partitions``; the finaliser
    spreads ids that differ only in their last digits.
    """
    for i in range(out.shape[0]):
        h = FNV_OFFSET
        for j in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(data[j])) * FNV_PRIME
        out[i] = splitmix64_nb(h)


@njit
def fingerprint_strings_nb(offsets, data, valid, seed, out):
    """Seeded 64-bit hash of every string of an Arrow string array, for remit fingerprints.

    FNV-1a from ``seed``, then mixed with the length; nulls (``valid[i]`` False)
    hash to a constant of the seed.
    """
    for i in range(out.shape[0]):
        if not valid[i]:
            out[i] = mix_nb(seed, _NULL)
            continue
        h = seed ^ FNV_OFFSET
        for j in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(data[j])) * FNV_PRIME
        out[i] = mix_nb(h, np.uint64(offsets[i + 1] - offsets[i]))


@njit
def _fingerprint_pair_rows_nb(offsets, data, valid, seed_a, seed_b, out_a, out_b, i0, i1):
    for i in range(i0, i1):
        if not valid[i]:
            out_a[i] = mix_nb(seed_a, _NULL)
            out_b[i] = mix_nb(seed_b, _NULL)
            continue
        ha = seed_a ^ FNV_OFFSET
        hb = seed_b ^ FNV_OFFSET
        for j in range(offsets[i], offsets[i + 1]):
            byte = np.uint64(data[j])
            ha = (ha ^ byte) * FNV_PRIME
            hb = (hb ^ byte) * FNV_PRIME
        length = np.uint64(offsets[i + 1] - offsets[i])
        out_a[i] = mix_nb(ha, length)
        out_b[i] = mix_nb(hb, length)


@njit_parallel
def fingerprint_strings_pair_nb(offsets, data, valid, seed_a, seed_b, out_a, out_b):
    """``fingerprint_strings_nb`` under two seeds in one read of the bytes: ``out_a``
    and ``out_b`` are what it gives for ``seed_a`` and ``seed_b`` (two independent
    multiply chains per byte, so the second costs little beside the first). Rows in
    parallel chunks (each row's hash is its own: the same result on any thread count)."""
    n = out_a.shape[0]
    for chunk in numba.prange(n_chunks(n, HASH_CHUNK)):
        i0, i1 = chunk_range(chunk, n, HASH_CHUNK)
        _fingerprint_pair_rows_nb(offsets, data, valid, seed_a, seed_b, out_a, out_b, i0, i1)


@njit
def seeded_pair_nb(values, seed_a, seed_b, out_a, out_b):
    """``out_a[i] = mix(seed_a, values[i])`` and ``out_b[i] = mix(seed_b, values[i])``:
    ``combine_nb`` of a seed-filled array under two seeds, in one read of ``values``."""
    for i in range(values.shape[0]):
        out_a[i] = mix_nb(seed_a, values[i])
        out_b[i] = mix_nb(seed_b, values[i])


@njit
def combine_pair_nb(h_a, x_a, h_b, x_b):
    """``combine_nb(h_a, x_a)`` and ``combine_nb(h_b, x_b)`` in one loop."""
    for i in range(h_a.shape[0]):
        h_a[i] = mix_nb(h_a[i], x_a[i])
        h_b[i] = mix_nb(h_b[i], x_b[i])


@njit
def combine_nb(h, x):
    """``h[i] = mix(h[i], x[i])`` in place."""
    for i in range(h.shape[0]):
        h[i] = mix_nb(h[i], x[i])


@njit
def fold_groups_nb(group, values, out):
    """``out[g] = mix(out[g], v)`` over rows in order (rows sorted by group)."""
    for i in range(group.shape[0]):
        g = group[i]
        if g >= 0:
            out[g] = mix_nb(out[g], values[i])
