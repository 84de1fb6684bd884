"""Per-group quantiles by selection: rows scattered to their group once (a counting
pass), then each group's order statistics picked in place (quickselect), never a sort
of every row.

Arrays in, arrays out (allocated by the caller). Values are float64 without NaN.
"""

import math

import numba
import numpy as np

from ledgerkit._kernels._njit import njit, njit_parallel


@njit
def scatter_by_group_nb(key, values, starts, cursor, buf):
    """Rows with ``key[i] = g >= 0`` to ``buf[starts[g]:starts[g + 1]]`` (row order kept).

    ``starts`` (n_groups + 1) and ``cursor`` (n_groups) arrive zeroed.
    """
    n_groups = cursor.shape[0]
    for i in range(key.shape[0]):
        g = key[i]
        if g >= 0:
            starts[g + 1] += 1
    for g in range(n_groups):
        starts[g + 1] += starts[g]
        cursor[g] = starts[g]
    for i in range(key.shape[0]):
        g = key[i]
        if g >= 0:
            buf[cursor[g]] = values[i]
            cursor[g] += 1


@njit
def select_nb(a, k):
    """The ``k``-th smallest of ``a`` (0-based), ``a`` reordered in place around it
    (Hoare partition, median-of-three pivot; ties split evenly)."""
    lo = 0
    hi = a.shape[0] - 1
    while hi > lo:
        mid = (lo + hi) // 2
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[hi] < a[mid]:
            a[hi], a[mid] = a[mid], a[hi]
        pivot = a[mid]
        i = lo
        j = hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break  # a[j+1 .. i-1] all equal the pivot
    return a[k]


@njit
def _group_quantiles(seg, qs, out, j):
    n = seg.shape[0]
    for q in range(qs.shape[0]):
        if n == 0:
            out[q, j] = math.nan
            continue
        pos = (n - 1) * qs[q]
        a = int(math.floor(pos))
        b = int(math.ceil(pos))
        va = select_nb(seg, a)
        vb = va if b == a else select_nb(seg, b)
        out[q, j] = va + (vb - va) * (pos - a)


@njit_parallel
def group_quantiles_nb(starts, buf, groups, qs, out):
    """``out[q, j]``: quantile ``qs[q]`` of group ``groups[j]``'s values in ``buf``
    (grouped by :func:`scatter_by_group_nb`), linearly interpolated between order
    statistics as ``numpy.quantile``'s default does; NaN for an empty group.

    ``groups`` must be distinct (each task reorders its own group's values).
    """
    for j in numba.prange(groups.shape[0]):
        g = groups[j]
        # int64: the parfor's index is int64 when typed, uint64 in its task (two compiles)
        _group_quantiles(buf[starts[g] : starts[g + 1]], qs, out, np.int64(j))
