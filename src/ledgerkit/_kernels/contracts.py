"""Contract pricing kernels: candidate rows per (segment, code), best row per line, amounts.

A *segment* is one payer, one payer class or "any payer" (the caller numbers
them densely, only those some row uses). Rows arrive in precedence order, so
the first row of a line's candidate lists that matches is the one that applies.
Codes are dense codes of the ledger's CPT dictionary; ``value_keys`` are their
sortable keys (``contracts.model.code_key``).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ledgerkit._kernels._njit import njit, njit_parallel
from ledgerkit._kernels.chunks import CHUNK, chunk_range, n_chunks

MATCHED = 0
NO_CONTRACT = 0 + 1
OUTSIDE_DATES = 2
# Reason codes of the result (index into contracts.model.REASONS), -1 none.
R_NONE, R_NO_CONTRACT, R_CARVE_OUT, R_NO_BASE_RATE, R_OUTSIDE_DATES = -1, 0, 1, 2, 3


@njit
def candidates_nb(row_slot, order, code_from, code_to, value_keys, n_slots):
    """CSR of candidate rows per (slot, code): ``rows[start[s * n_codes + c]:...]``.

    ``row_slot[r]`` is the segment slot of row ``r`` (-1: the row can match
    nothing in this ledger); ``order`` lists rows most specific first and each
    list keeps that order.
    """
    n_codes = len(value_keys)
    by_key = np.argsort(value_keys)
    sorted_keys = value_keys[by_key]
    counts = np.zeros(n_slots * n_codes + 1, np.int64)
    lo = np.empty(len(order), np.int64)
    hi = np.empty(len(order), np.int64)
    for k in range(len(order)):
        r = order[k]
        lo[k] = np.searchsorted(sorted_keys, code_from[r], side="left")
        hi[k] = np.searchsorted(sorted_keys, code_to[r], side="right")
        if row_slot[r] < 0:
            hi[k] = lo[k]
        for i in range(lo[k], hi[k]):
            if sorted_keys[i] >= 0:
                counts[row_slot[r] * n_codes + by_key[i] + 1] += 1
    start = np.cumsum(counts)
    fill = start[:-1].copy()
    rows = np.empty(start[-1], np.int32)
    for k in range(len(order)):
        r = order[k]
        for i in range(lo[k], hi[k]):
            if sorted_keys[i] >= 0:
                cell = row_slot[r] * n_codes + by_key[i]
                rows[fill[cell]] = r
                fill[cell] += 1
    return start, rows


@njit
def best_rows_nb(
    e_lo,
    e_hi,
    todo,
    enc_proc_start,
    enc_slots,
    enc_pos,
    proc_code,
    proc_modifier,
    proc_day,
    n_codes,
    start,
    rows,
    row_modifier,
    row_pos,
    row_from,
    row_to,
    best,
    status,
):
    """The row that applies to each line (``best``, -1 none) and ``status``.

    ``enc_slots[e]`` holds the encounter's segment slots in the order they
    are tried (exact payer, payer class, any; -1 skips). A row matches when
    the line's code is in its lists, its modifier and place of service are
    any (-1) or equal, and its dates hold the line's date of service.
    ``status`` is MATCHED, NO_CONTRACT, or OUTSIDE_DATES when rows matched
    all but the date. Lines with ``todo`` false are left as they are. Serial,
    over encounters ``e_lo:e_hi``; :func:`best_rows_chunks_nb` runs it in parallel.
    """
    for e in range(e_lo, e_hi):
        pos = enc_pos[e]
        for p in range(enc_proc_start[e], enc_proc_start[e + 1]):
            if not todo[p]:
                continue
            best[p] = -1
            status[p] = NO_CONTRACT
            code = proc_code[p]
            if code < 0:
                continue
            for s in range(enc_slots.shape[1]):
                slot = enc_slots[e, s]
                if slot < 0:
                    continue
                cell = slot * n_codes + code
                for k in range(start[cell], start[cell + 1]):
                    r = rows[k]
                    if row_modifier[r] != -1 and row_modifier[r] != proc_modifier[p]:
                        continue
                    if row_pos[r] != -1 and row_pos[r] != pos:
                        continue
                    if row_from[r] <= proc_day[p] <= row_to[r]:
                        best[p] = r
                        status[p] = MATCHED
                        break
                    status[p] = OUTSIDE_DATES
                if best[p] >= 0:
                    break


@njit
def _half_up(numerator, denominator):
    return (numerator + denominator // 2) // denominator


@njit
def amounts_nb(
    e_lo,
    e_hi,
    enc_proc_start,
    proc_units,
    proc_charge,
    best,
    status,
    base_rate,
    row_rate,
    row_percent_bp,
    row_carve_out,
    row_family,
    row_mppr_bp,
    row_cap,
    amount,
    expected,
    reason,
):
    """Expected allowed cents per line (-1: none) and its ``reason`` code.

    ``amount`` receives the contract amount before MPPR and cap (-1 none):
    rate x units, or percent x base rate x units rounded half-up once. Within
    an encounter the lines of one MPPR family are ranked by it (ties: lower
    position first); all but the first are paid their row's MPPR percent,
    rounded half-up once; then the charge cap. Serial, over encounters
    ``e_lo:e_hi``.
    """
    for e in range(e_lo, e_hi):
        lo, hi = enc_proc_start[e], enc_proc_start[e + 1]
        for p in range(lo, hi):
            amount[p] = -1
            expected[p] = -1
            reason[p] = R_NONE
            r = best[p]
            if r < 0:
                reason[p] = R_OUTSIDE_DATES if status[p] == OUTSIDE_DATES else R_NO_CONTRACT
                continue
            if row_carve_out[r]:
                expected[p] = 0
                reason[p] = R_CARVE_OUT
                continue
            units = np.int64(max(proc_units[p], 0))  # a negative count prices nothing
            if row_rate[r] >= 0:
                amount[p] = row_rate[r] * units
            elif base_rate[p] >= 0:
                amount[p] = _half_up(base_rate[p] * units * row_percent_bp[r], 10_000)
            else:
                reason[p] = R_NO_BASE_RATE
        for p in range(lo, hi):
            if amount[p] < 0:
                continue
            value = amount[p]
            family = row_family[best[p]]
            if family >= 0:
                first = True
                for q in range(lo, hi):
                    if q == p or amount[q] < 0 or row_family[best[q]] != family:
                        continue
                    if amount[q] > amount[p] or (amount[q] == amount[p] and q < p):
                        first = False
                        break
                if not first:
                    value = _half_up(value * row_mppr_bp[best[p]], 10_000)
            if row_cap[best[p]] and proc_charge[p] < value:
                value = proc_charge[p]
            expected[p] = value


@njit_parallel
def best_rows_chunks_nb(
    todo,
    enc_proc_start,
    enc_slots,
    enc_pos,
    proc_code,
    proc_modifier,
    proc_day,
    n_codes,
    start,
    rows,
    row_modifier,
    row_pos,
    row_from,
    row_to,
    best,
    status,
):
    """:func:`best_rows_nb` over every encounter, ``CHUNK`` encounters per parallel task."""
    n_enc = len(enc_proc_start) - 1
    for chunk in prange(n_chunks(n_enc, CHUNK)):
        e0, e1 = chunk_range(chunk, n_enc, CHUNK)
        best_rows_nb(
            e0,
            e1,
            todo,
            enc_proc_start,
            enc_slots,
            enc_pos,
            proc_code,
            proc_modifier,
            proc_day,
            n_codes,
            start,
            rows,
            row_modifier,
            row_pos,
            row_from,
            row_to,
            best,
            status,
        )


@njit_parallel
def amounts_chunks_nb(
    enc_proc_start,
    proc_units,
    proc_charge,
    best,
    status,
    base_rate,
    row_rate,
    row_percent_bp,
    row_carve_out,
    row_family,
    row_mppr_bp,
    row_cap,
    amount,
    expected,
    reason,
):
    """:func:`amounts_nb` over every encounter, ``CHUNK`` encounters per parallel task."""
    n_enc = len(enc_proc_start) - 1
    for chunk in prange(n_chunks(n_enc, CHUNK)):
        e0, e1 = chunk_range(chunk, n_enc, CHUNK)
        amounts_nb(
            e0,
            e1,
            enc_proc_start,
            proc_units,
            proc_charge,
            best,
            status,
            base_rate,
            row_rate,
            row_percent_bp,
            row_carve_out,
            row_family,
            row_mppr_bp,
            row_cap,
            amount,
            expected,
            reason,
        )
