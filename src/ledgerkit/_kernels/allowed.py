"""Allowed amounts per (payer, CPT) group against an expected allowed per unit: each
line's group and allowed per unit in one parallel pass over the procedures, then the
group sums in one pass over the adjudicated lines.

Arrays in, arrays out (allocated by the caller; the sums' outputs zeroed).
``allowed_sums_nb`` is serial: the float sum of the expected amounts keeps line order,
as ``numpy.bincount`` adds them.
"""

import math

import numba
import numpy as np

from ledgerkit._kernels._njit import njit, njit_parallel
from ledgerkit._kernels.chunks import CHUNK, chunk_range, n_chunks


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


@njit
def _lines_chunk(enc_proc_start, enc_payer, enc_first_day, proc_cpt, n_cpt, units,
                 proc_order, allowed, no_day, key, per_unit, line_units, e0, e1):  # fmt: skip
    has_order = proc_order.shape[0] > 0
    for e in range(e0, e1):
        adjudicated = enc_first_day[e, 1] != no_day
        base = np.int64(enc_payer[e]) * n_cpt
        for p in range(enc_proc_start[e], enc_proc_start[e + 1]):
            u = np.int64(units[proc_order[p]] if has_order else units[p])
            line_units[p] = u if u > 1 else 1
            a = allowed[p]
            if adjudicated and a > 0:
                key[p] = base + proc_cpt[p]
                per_unit[p] = a / line_units[p]
            else:
                key[p] = -1
                per_unit[p] = 0.0


@njit_parallel
def allowed_lines_nb(enc_proc_start, enc_payer, enc_first_day, proc_cpt, n_cpt, units,
                     proc_order, allowed, no_day, key, per_unit, line_units):  # fmt: skip
    """Each grouped procedure's (payer, CPT) group and allowed amount per unit, in one
    pass over the procedures (no per-procedure copy of its encounter's figures).

    ``key[p] = enc_payer[e] * n_cpt + proc_cpt[p]`` for a line the primary adjudicated
    (``enc_first_day[e, 1] != no_day``) with ``allowed[p] > 0``, else -1;
    ``line_units[p] = max(units, 1)``; ``per_unit[p] = allowed[p] / line_units[p]``
    (0.0 where ``key`` is -1). ``units`` is in procedures-row order, ``proc_order``
    maps grouped procedure -> row (empty: the identity).
    """
    n_enc = enc_proc_start.shape[0] - 1
    for chunk in numba.prange(n_chunks(n_enc, CHUNK)):
        e0, e1 = chunk_range(chunk, n_enc, CHUNK)
        _lines_chunk(enc_proc_start, enc_payer, enc_first_day, proc_cpt, n_cpt, units,
                     proc_order, allowed, no_day, key, per_unit, line_units, e0, e1)  # fmt: skip
