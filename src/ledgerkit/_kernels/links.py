"""Ranged searches that link payments to appeals: rows sorted by (group, time).

Arrays in, arrays out (allocated by the caller).
"""

import numba
import numpy as np

from ledgerkit._kernels._njit import njit_parallel


@njit_parallel
def search_after_nb(base, t, q, when, out):
    """``out[i]``: the index of the first row with ``(base, t) > (q[i], when[i])`` among
    rows sorted by ``(base, t)`` (``len(base)`` when none)."""
    for i in numba.prange(q.shape[0]):
        lo = np.searchsorted(base, q[i], side="left")
        hi = np.searchsorted(base, q[i], side="right")
        out[i] = lo + np.searchsorted(t[lo:hi], when[i], side="right")
