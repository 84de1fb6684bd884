"""Two floors for ``classify_nb``: the bytes it must read, and its loop with nothing decided.

Used by ``benchmarks/compare.py`` to tell how close classification is to the
cost of merely touching its inputs: every entry's packed code (1 byte) and
amount (8 bytes), every procedure's entry offset and every encounter's
procedure offset (8 bytes each) and payer count (1 byte), in the same chunks
of encounters as classify. That is every byte classify reads of every row, no
more. Not counted: what classify writes (about 60 bytes an encounter with the
four figures compare.py asks for, and its bitmaps), and what it reads only for
the encounters it explains (a procedure's line, and the group code and CARC of
the one entry that explains it, about a fifth of the encounters of the
benchmark ledger), nor ``entry_order`` or the pending mask when a ledger has them.
"""

import numba
import numpy as np

from ledgerkit._kernels._njit import njit, njit_parallel
from ledgerkit._kernels.balances import ENCOUNTER_SLOTS, PR_BANKS, ROLE_BY_BANK, SHORT_PROCEDURE
from ledgerkit._kernels.chunks import CHUNK, chunk_range, n_chunks


@njit
def _sum_nb(values):
    # a plain loop over one contiguous slice: Numba vectorises it
    total = 0
    for i in range(values.shape[0]):
        total += values[i]
    return total


@njit_parallel
def touch_nb(codes, amounts, proc_entry_start, enc_proc_start, enc_n_payers):
    """Sum of every input value, read chunk by chunk of encounters like classify."""
    n_enc = enc_proc_start.shape[0] - 1
    total = 0
    for chunk in numba.prange(n_chunks(n_enc, CHUNK)):
        e0, e1 = chunk_range(chunk, n_enc, CHUNK)
        p0 = enc_proc_start[e0]
        p1 = enc_proc_start[e1]
        lo = proc_entry_start[p0]
        hi = proc_entry_start[p1]
        total += (
            _sum_nb(codes[lo:hi])
            + _sum_nb(amounts[lo:hi])
            + _sum_nb(proc_entry_start[p0:p1])
            + _sum_nb(enc_proc_start[e0:e1])
            + _sum_nb(enc_n_payers[e0:e1])
        )
    return total


@njit
def _procedure_loop_chunk_nb(
    e0, e1, codes, amounts, enc_proc_start, proc_entry_start, totals, lasts, sums
):
    # classify_chunk_nb's walk, body for body, minus every decision: each entry's amount
    # into its slot (the same role table, the same fixed body for short procedures) and
    # the largest adjudicating payer; per encounter, the slots' total.
    n_all = codes.shape[0]
    for e in range(e0, e1):
        last = 0
        for p in range(enc_proc_start[e], enc_proc_start[e + 1]):
            lo = proc_entry_start[p]
            n = proc_entry_start[p + 1] - lo
            row = np.uint64((p & (PR_BANKS - 1)) * 128)
            if n <= SHORT_PROCEDURE and lo + SHORT_PROCEDURE <= n_all:
                start = np.uint64(lo)
                for i in range(SHORT_PROCEDURE):
                    role = ROLE_BY_BANK[row + np.uint64(codes[start + np.uint64(i)])]
                    inside = i < n
                    sums[role & 255] += amounts[start + np.uint64(i)] if inside else 0
                    last = max(last, (role >> 8) if inside else 0)
            else:
                for i in range(lo, lo + n):
                    role = ROLE_BY_BANK[row + np.uint64(codes[i])]
                    sums[role & 255] += amounts[i]
                    last = max(last, role >> 8)
        total = 0
        for j in range(ENCOUNTER_SLOTS):
            total += sums[j]
            sums[j] = 0
        totals[e] = total
        lasts[e] = last


@njit_parallel
def procedure_loop_nb(codes, amounts, enc_proc_start, proc_entry_start, totals, lasts, scratch):
    """Classify's loop over procedures and entries with nothing decided: a floor for
    any classification that reads each procedure's entries in turn.

    ``totals[e]`` receives the sum of encounter ``e``'s amounts (through the slots, as
    classify sums them) and ``lasts[e]`` its largest adjudicating payer_seq;
    ``scratch`` (int64, zeros, ``(n_chunks(n_enc, CHUNK), ENCOUNTER_SLOTS)``) is left
    zeros. ``benchmarks/compare.py`` times it beside classify ("procedure loop"): what
    classify takes above it is the deciding, what it takes above the bandwidth floor
    is the loop's shape (a branch and a chain of dependent loads per procedure).
    """
    n_enc = enc_proc_start.shape[0] - 1
    for chunk in numba.prange(n_chunks(n_enc, CHUNK)):
        e0, e1 = chunk_range(chunk, n_enc, CHUNK)
        _procedure_loop_chunk_nb(
            e0, e1, codes, amounts, enc_proc_start, proc_entry_start, totals, lasts, scratch[chunk]
        )
