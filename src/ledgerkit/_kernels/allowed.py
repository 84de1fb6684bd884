"""Allowed amounts per (payer, CPT) group against an expected allowed per unit, in one
pass over the adjudicated lines.

Arrays in, arrays out (allocated and zeroed by the caller). Serial: the float sum of
the expected amounts keeps line order, as ``numpy.bincount`` adds them.
"""

import math

import numpy as np

from ledgerkit._kernels._njit import njit


@njit
def allowed_sums_nb(key, allowed, units, expected, tolerance, ints, expected_sum):
    """Per group ``k`` of lines with ``key == k >= 0``:

    ``ints[0, k]`` lines, ``ints[1, k]`` allowed cents, ``ints[2, k]`` units,
    ``ints[3, k]`` lines with an expected amount (``expected[k]`` per unit, NaN: none),
    ``ints[4, k]`` underpaid lines (allowed < expected * units * (1 - tolerance)),
    ``ints[5, k]`` their shortfall in cents (``rint(expected * units) - allowed``);
    ``expected_sum[k]`` the sum of the lines' expected per unit.
    """
    for i in range(key.shape[0]):
        k = key[i]
        if k < 0:
            continue
        a = allowed[i]
        ints[0, k] += 1
        ints[1, k] += a
        ints[2, k] += units[i]
        e = expected[k]
        if math.isnan(e):
            continue
        ints[3, k] += 1
        expected_sum[k] += e
        total = e * units[i]
        if a < total * (1.0 - tolerance):
            ints[4, k] += 1
            short = np.rint(total) - a
            if short > 0:
                ints[5, k] += np.int64(short)
