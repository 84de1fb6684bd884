"""Contract pricing kernels: candidate rows per (slot, code), then one pass per encounter.

A *slot* is one payer, one payer class or "any payer" of the contract rows
(the caller numbers them densely, only those some row uses), or one base
schedule. Rows arrive in precedence order, so the first row of a line's
candidate lists that matches is the one that applies. Codes are dense codes
of the ledger's CPT dictionary; ``value_keys`` are their sortable keys
(``contracts.model.code_key``).

One pass per encounter finds each line's row, its base rate when the row is a
percent of a base schedule, the contract amount, then the MPPR ranking of the
encounter's lines and the charge cap: the lines of an encounter are read once.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ledgerkit._kernels._njit import njit, njit_parallel
from ledgerkit._kernels.chunks import CHUNK, chunk_range, n_chunks

# Reason codes of the result (index into contracts.model.REASONS), -1 none.
R_NONE, R_NO_CONTRACT, R_CARVE_OUT, R_NO_BASE_RATE, R_OUTSIDE_DATES = -1, 0, 1, 2, 3
# Columns of ``row_int`` (one int64 row per contract or base row, fields side by side).
# MODIFIER and POS: -1 any, else the ledger's code (-2: a value no line has);
# FROM/TO: day numbers, inclusive; RATE: cents per unit, -1 none; PERCENT and
# MPPR: basis points; BASE: base schedule slot, -1 none; FAMILY: -1 none.
MODIFIER, POS, FROM, TO, RATE, PERCENT, BASE, CARVE_OUT, FAMILY, MPPR, CAP = range(11)
N_ROW_FIELDS = 11


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
def _first_row(lo, hi, rows, row_int, modifier, pos, day):
    """(first row of ``rows[lo:hi]`` matching the line, whether one missed only by date)."""
    outside = False
    for k in range(lo, hi):
        r = rows[k]
        want = row_int[r, MODIFIER]
        if want != -1 and want != modifier:
            continue
        want = row_int[r, POS]
        if want != -1 and want != pos:
            continue
        if row_int[r, FROM] <= day <= row_int[r, TO]:
            return r, outside
        outside = True
    return -1, outside


@njit
def _half_up(numerator, denominator):
    return (numerator + denominator // 2) // denominator


@njit
def price_nb(
    e_lo,
    e_hi,
    enc_proc_start,
    enc_payer,
    enc_class,
    enc_pos,
    proc_code,
    proc_modifier,
    proc_day,
    proc_units,
    proc_charge,
    n_codes,
    slot_of_payer,
    slot_of_class,
    any_slot,
    start,
    rows,
    row_int,
    base_start,
    base_rows,
    base_int,
    best,
    amount,
    expected,
    reason,
):
    """Price the lines of encounters ``e_lo:e_hi`` (serial; see :func:`price_chunks_nb`).

    A line tries the rows of its payer's slot, then its payer class's, then
    any payer's (none for self-pay, ``enc_payer`` -1), most specific first; a
    row matches when its modifier and place of service are any or equal and
    its dates hold the line's date of service. Writes ``best`` (row, -1),
    ``amount`` (the contract amount before MPPR and cap: rate x units, or
    base rate x units x percent rounded half-up once; -1 none), ``expected``
    (-1 none) and ``reason`` (R_* code). Within an encounter the lines of one
    MPPR family are ranked by ``amount`` (ties: lower position first); all but
    the first are paid their row's MPPR percent, rounded half-up once; then
    the charge cap.
    """
    for e in range(e_lo, e_hi):
        lo, hi = enc_proc_start[e], enc_proc_start[e + 1]
        payer = enc_payer[e]
        pos = enc_pos[e]
        for p in range(lo, hi):
            best[p] = -1
            amount[p] = -1
            expected[p] = -1
            reason[p] = R_NO_CONTRACT
            code = proc_code[p]
            if code < 0:
                continue
            r = -1
            outside = False
            for s in range(3):
                if s == 0:
                    slot = slot_of_payer[payer] if payer >= 0 else -1
                elif s == 1:
                    slot = slot_of_class[enc_class[e]]
                else:
                    slot = any_slot if payer >= 0 else -1
                if slot < 0:
                    continue
                cell = slot * n_codes + code
                r, missed = _first_row(
                    start[cell], start[cell + 1], rows, row_int, proc_modifier[p], pos, proc_day[p]
                )
                outside = outside or missed
                if r >= 0:
                    break
            if r < 0:
                if outside:
                    reason[p] = R_OUTSIDE_DATES
                continue
            best[p] = r
            reason[p] = R_NONE
            if row_int[r, CARVE_OUT]:
                expected[p] = 0
                reason[p] = R_CARVE_OUT
                continue
            units = np.int64(max(proc_units[p], 0))  # a negative count prices nothing
            if row_int[r, RATE] >= 0:
                amount[p] = row_int[r, RATE] * units
                continue
            cell = row_int[r, BASE] * n_codes + code
            b, _ = _first_row(
                base_start[cell], base_start[cell + 1], base_rows, base_int,
                proc_modifier[p], pos, proc_day[p],
            )  # fmt: skip
            if b < 0:
                reason[p] = R_NO_BASE_RATE
            else:
                amount[p] = _half_up(base_int[b, RATE] * units * row_int[r, PERCENT], 10_000)
        for p in range(lo, hi):
            if amount[p] < 0:
                continue
            r = best[p]
            value = amount[p]
            family = row_int[r, FAMILY]
            if family >= 0:
                first = True
                for q in range(lo, hi):
                    if q == p or amount[q] < 0 or row_int[best[q], FAMILY] != family:
                        continue
                    if amount[q] > amount[p] or (amount[q] == amount[p] and q < p):
                        first = False
                        break
                if not first:
                    value = _half_up(value * row_int[r, MPPR], 10_000)
            if row_int[r, CAP] and proc_charge[p] < value:
                value = proc_charge[p]
            expected[p] = value


@njit_parallel
def price_chunks_nb(
    enc_proc_start,
    enc_payer,
    enc_class,
    enc_pos,
    proc_code,
    proc_modifier,
    proc_day,
    proc_units,
    proc_charge,
    n_codes,
    slot_of_payer,
    slot_of_class,
    any_slot,
    start,
    rows,
    row_int,
    base_start,
    base_rows,
    base_int,
    best,
    amount,
    expected,
    reason,
):
    """:func:`price_nb` over every encounter, ``CHUNK`` encounters per parallel task."""
    n_enc = len(enc_proc_start) - 1
    for chunk in prange(n_chunks(n_enc, CHUNK)):
        e0, e1 = chunk_range(chunk, n_enc, CHUNK)
        price_nb(
            e0,
            e1,
            enc_proc_start,
            enc_payer,
            enc_class,
            enc_pos,
            proc_code,
            proc_modifier,
            proc_day,
            proc_units,
            proc_charge,
            n_codes,
            slot_of_payer,
            slot_of_class,
            any_slot,
            start,
            rows,
            row_int,
            base_start,
            base_rows,
            base_int,
            best,
            amount,
            expected,
            reason,
        )
