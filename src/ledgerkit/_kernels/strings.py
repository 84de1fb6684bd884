"""Strings taken from a few distinct values by code, as Arrow lays them out.

A take from a short dictionary (reason codes: a handful of 1-3 byte values) into
one value per encounter: Arrow's generic take cost about 17 ns a row here, a
quarter of classification's whole time at 1M procedures. These kernels write
Arrow's ``string`` buffers directly, in parallel: :func:`taken_bytes_nb` sizes
each chunk, the caller allocates, :func:`take_strings_nb` fills.
"""

import numba

from ledgerkit._kernels._njit import njit_parallel
from ledgerkit._kernels.chunks import CHUNK, chunk_range, n_chunks


@njit_parallel
def taken_bytes_nb(value_offsets, codes, chunk_bytes):
    """``chunk_bytes[c]``: the bytes the rows of chunk ``c`` take (code -1: none)."""
    n = codes.shape[0]
    for chunk in numba.prange(n_chunks(n, CHUNK)):
        r0, r1 = chunk_range(chunk, n, CHUNK)
        total = 0
        for r in range(r0, r1):
            code = codes[r]
            if code >= 0:
                total += value_offsets[code + 1] - value_offsets[code]
        chunk_bytes[chunk] = total


@njit_parallel
def take_strings_nb(value_offsets, value_data, codes, chunk_start, offsets, data):
    """Fill Arrow's ``offsets`` (``len(codes) + 1``) and ``data`` with value ``codes[r]``
    at row ``r`` (-1: an empty string, null by the caller's validity bitmap).

    ``chunk_start[c]`` is where chunk ``c``'s bytes begin in ``data`` (the running
    sum of :func:`taken_bytes_nb`'s, starting at 0).
    """
    n = codes.shape[0]
    offsets[0] = 0
    for chunk in numba.prange(n_chunks(n, CHUNK)):
        r0, r1 = chunk_range(chunk, n, CHUNK)
        at = chunk_start[chunk]
        for r in range(r0, r1):
            code = codes[r]
            if code >= 0:
                for b in range(value_offsets[code], value_offsets[code + 1]):
                    data[at] = value_data[b]
                    at += 1
            offsets[r + 1] = at
