"""A memory-bandwidth floor: one parallel read of the bytes ``classify_nb`` must read.

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

from ledgerkit._kernels._njit import njit, njit_parallel
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
