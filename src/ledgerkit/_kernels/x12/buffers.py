"""Writers of the parser's output rows, findings and errors (each bounds-checked).

The output arrays are preallocated from an estimate: a row past the capacity
is counted but not written, and the wrapper retries with the exact sizes.
"""

from __future__ import annotations

from ledgerkit._kernels.x12.jit import helper
from ledgerkit._kernels.x12.layout import (
    ERR_A,
    ERR_B,
    ERR_CODE,
    ERR_ELEM,
    ERR_POS,
    ERR_SEG,
    ERR_VE,
    ERR_VS,
    FN_CLAIM,
    FN_CODE,
    FN_ELEM,
    FN_LINE,
    FN_POS,
    FN_SEG,
    FN_TX,
    FN_VE,
    FN_VS,
)


@helper
def set_span(a, f, row, s, e):
    if row < a.shape[1] and s < e:
        a[2 * f, row] = s
        a[2 * f + 1, row] = e


@helper
def init_row(a, row, v):
    """Set every field of a new row (the wrapper allocates without initialising)."""
    if row < a.shape[1]:
        for f in range(a.shape[0]):
            a[f, row] = v


@helper
def set_number(a, f, row, v):
    if row < a.shape[1]:
        a[f, row] = v


@helper
def clear_rows(a, start, stop):
    """Zero rows ``start:stop`` (those within the capacity) of a zero-initialised array."""
    stop = min(stop, a.shape[1])
    for f in range(a.shape[0]):
        for r in range(start, stop):
            a[f, r] = 0


@helper
def add_finding(fn, k, code, seg, elem, tx, cl, li, vs, ve, pos):
    if k < fn.shape[1]:
        fn[FN_CODE, k] = code
        fn[FN_SEG, k] = seg
        fn[FN_ELEM, k] = elem
        fn[FN_TX, k] = tx
        fn[FN_CLAIM, k] = cl
        fn[FN_LINE, k] = li
        fn[FN_VS, k] = vs
        fn[FN_VE, k] = ve
        fn[FN_POS, k] = pos
    return k + 1


@helper
def fail(err, code, seg, elem, pos, a, b, vs, ve):
    err[ERR_CODE] = code
    err[ERR_SEG] = seg
    err[ERR_ELEM] = elem
    err[ERR_POS] = pos
    err[ERR_A] = a
    err[ERR_B] = b
    err[ERR_VS] = vs
    err[ERR_VE] = ve
    return code
