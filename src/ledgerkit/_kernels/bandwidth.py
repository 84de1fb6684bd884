"""A memory-bandwidth floor: one parallel read of what ``classify_nb`` reads.

Used by ``benchmarks/compare.py`` to tell how close classification is to the
cost of merely touching its inputs.
"""

import numba

from ledgerkit._kernels._njit import njit_parallel
from ledgerkit._kernels.chunks import CHUNK, chunk_range, n_chunks


@njit_parallel
def touch_nb(codes, amounts, proc_entry_start, enc_proc_start):
    """Sum of amounts plus codes, traversed encounter by encounter like classify."""
    n_enc = enc_proc_start.shape[0] - 1
    total = 0
    for chunk in numba.prange(n_chunks(n_enc, CHUNK)):
        e0, e1 = chunk_range(chunk, n_enc, CHUNK)
        lo = proc_entry_start[enc_proc_start[e0]]
        hi = proc_entry_start[enc_proc_start[e1]]
        local = 0
        for i in range(lo, hi):
            local += amounts[i] + codes[i]
        total += local
    return total
