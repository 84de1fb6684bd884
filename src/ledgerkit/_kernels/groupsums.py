"""Exact int64 group sums: ``out[g] += values[i]`` over rows with ``group[i] == g >= 0``.

``group_sum_nb`` sums one column serially; ``group_sums_nb`` sums several
columns in parallel, one buffer per thread (the caller adds them up).
"""

import numba

from ledgerkit._kernels._njit import njit, njit_parallel


@njit
def group_sum_nb(values, group, out):
    """``out[g] += values[i]`` for ``g = group[i] >= 0``."""
    for i in range(group.shape[0]):
        g = group[i]
        if g >= 0:
            out[g] += values[i]


@njit_parallel
def group_sums_nb(key, values, bufs, counts):
    """Per-thread sums: ``bufs[t, j, g]`` += ``values[j, i]`` for rows with ``key[i] == g``.

    ``bufs`` (n_threads, n_values, n_groups) and ``counts`` (n_threads,
    n_groups) arrive zeroed; the caller adds them up over axis 0. Rows with a
    negative key are skipped. Each thread owns one contiguous slice of rows
    and its own buffer: no shared ``+=``.
    """
    n_threads = bufs.shape[0]
    n = key.shape[0]
    m = values.shape[0]
    step = (n + n_threads - 1) // n_threads
    for t in numba.prange(n_threads):
        lo = t * step
        hi = min(n, lo + step)
        buf = bufs[t]
        cnt = counts[t]
        for i in range(lo, hi):
            g = key[i]
            if g < 0:
                continue
            cnt[g] += 1
            for j in range(m):
                buf[j, g] += values[j, i]
