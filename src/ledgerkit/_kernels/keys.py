"""Kernels that turn string keys into dense integer positions and groupings."""

import numpy as np

from ledgerkit._kernels import codes as C
from ledgerkit._kernels._njit import njit


@njit
def locate_lines_nb(entry_enc, entry_line, enc_proc_start, proc_line, out):
    """Grouped procedure position of each entry, or -1 when it matches none.

    ``enc_proc_start[e]:enc_proc_start[e+1]`` are encounter ``e``'s procedures
    (grouped order) and ``proc_line`` their line numbers in increasing order.
    """
    for i in range(entry_enc.shape[0]):
        e = entry_enc[i]
        if e < 0:
            out[i] = -1
            continue
        lo = enc_proc_start[e]
        hi = enc_proc_start[e + 1]
        want = entry_line[i]
        # Lines are usually 1..n in order: try the direct slot before searching.
        guess = lo + want - 1
        if lo <= guess < hi and proc_line[guess] == want:
            out[i] = guess
            continue
        found = -1
        while lo < hi:
            mid = (lo + hi) // 2
            if proc_line[mid] < want:
                lo = mid + 1
            else:
                hi = mid
        if lo < enc_proc_start[e + 1] and proc_line[lo] == want:
            found = lo
        out[i] = found


@njit
def is_nondecreasing_nb(a):
    """True when ``a[i] <= a[i+1]`` everywhere."""
    for i in range(1, a.shape[0]):
        if a[i] < a[i - 1]:
            return False
    return True


@njit
def counting_order_nb(key, starts, order):
    """Stable counting sort: ``order`` lists rows grouped by ``key`` (0..n-1).

    ``starts`` (length n+1) receives the group offsets. Stable, so entries of
    one procedure stay in posting order.
    """
    starts[:] = 0
    for i in range(key.shape[0]):
        starts[key[i] + 1] += 1
    for k in range(1, starts.shape[0]):
        starts[k] += starts[k - 1]
    fill = starts[:-1].copy()
    for i in range(key.shape[0]):
        k = key[i]
        order[fill[k]] = i
        fill[k] += 1


@njit
def group_starts_nb(sorted_key, n_groups, starts):
    """Offsets of each group in an already sorted key array (length n_groups+1)."""
    j = 0
    for g in range(n_groups + 1):
        while j < sorted_key.shape[0] and sorted_key[j] < g:
            j += 1
        starts[g] = j


_LIVE = np.int8(C.pack_code(0, 0, 1))  # the live bit of a packed entry code
_NOT_LIVE = np.int8(~C.pack_code(0, 0, 1))


@njit
def merge_appended_nb(
    old_start,
    old_order,
    has_order,
    new_proc,
    new_order,
    n_old,
    old_seq,
    new_seq,
    old_kind,
    new_kind,
    old_amounts,
    new_amounts,
    old_live,
    new_live,
    negated,
    out_start,
    out_order,
    out_seq,
    out_kind,
    out_amounts,
    out_live,
    old_codes,
    new_codes,
    out_codes,
):
    """Grouped keys of a ledger after an append, from the old grouped keys and the new rows.

    Old entries are grouped (``old_start`` CSR offsets per procedure, ``old_order``
    their rows when ``has_order``, else rows 0..n_old-1 in order); the new rows
    (rows ``n_old + r``) go after the old ones of their procedure ``new_proc[r]``, in
    row order (``new_order`` sorts them by procedure, stably). An entry is live when
    it was (``old_live``/``new_live``) and its row is not ``negated`` now. One pass:
    the append costs a copy of the grouped arrays, no sort of the whole ledger.

    ``old_codes`` (grouped) and ``new_codes`` (per new row) are packed entry codes
    under one policy (``codes.pack_code``; the live bit of the new ones is ignored):
    ``out_codes`` gets them in the merged order with the live bit of ``out_live``, so
    the appended ledger's codes need no pass over its entries. Empty ``out_codes``:
    no codes to carry.
    """
    carry = out_codes.shape[0] > 0
    n_proc = old_start.shape[0] - 1
    k = 0
    j = 0
    n_new = new_order.shape[0]
    for p in range(n_proc):
        out_start[p] = k
        for i in range(old_start[p], old_start[p + 1]):
            row = old_order[i] if has_order else i
            out_order[k] = row
            out_seq[k] = old_seq[i]
            out_kind[k] = old_kind[i]
            out_amounts[k] = old_amounts[i]
            out_live[k] = old_live[i] and not negated[row]
            if carry:
                out_codes[k] = (old_codes[i] & _NOT_LIVE) | (_LIVE if out_live[k] else 0)
            k += 1
        while j < n_new and new_proc[new_order[j]] == p:
            r = new_order[j]
            out_order[k] = n_old + r
            out_seq[k] = new_seq[r]
            out_kind[k] = new_kind[r]
            out_amounts[k] = new_amounts[r]
            out_live[k] = new_live[r] and not negated[n_old + r]
            if carry:
                out_codes[k] = (new_codes[r] & _NOT_LIVE) | (_LIVE if out_live[k] else 0)
            k += 1
            j += 1
    out_start[n_proc] = k
