"""What ``amount = "matched"`` rules ask for: matched adjustments still payer-owed.

One parallel pass over the grouped entries for every variant (a distinct group
code / CARC set) at once. It replaced a numpy version that, per variant, built
an int64 copy of every entry's amount, its cumulative sum and a concatenation
of it (about 1.1 GB of temporaries per variant at 10M procedures, and most of
a 20-rule dry run's time).
"""

import numba
import numpy as np

from ledgerkit._kernels import codes as C
from ledgerkit._kernels._njit import njit_parallel
from ledgerkit._kernels.chunks import CHUNK, chunk_range, n_chunks


@njit_parallel
def matched_sums_nb(codes, amounts, entry_pair, proc_entry_start, proc_last, pair_rows, out):
    """``out[v, p]``: cents of procedure ``p``'s matched, payer-owed adjustments, floored at 0.

    An entry counts for variant ``v`` when its pair code (``entry_pair``: group
    code x CARC of a live adjustment, else -1) is marked in ``pair_rows[v]``
    and its amount still sits in the payer balance: a denied or other
    adjustment of any payer, or a PR adjustment of a payer other than the
    procedure's last adjudicating one (``proc_last``). ``codes`` are the packed
    entry codes, ``amounts`` int64 cents, both grouped like ``entry_pair``.
    """
    n_proc = len(proc_entry_start) - 1
    n_var = pair_rows.shape[0]
    for chunk in numba.prange(n_chunks(n_proc, CHUNK)):
        lo, hi = chunk_range(chunk, n_proc, CHUNK)
        for p in range(lo, hi):
            last = proc_last[p]
            for v in range(n_var):
                out[v, p] = 0
            for i in range(proc_entry_start[p], proc_entry_start[p + 1]):
                pair = entry_pair[i]
                if pair < 0:
                    continue
                code = codes[i]
                bucket = C.bucket_of(code)
                owed = bucket == C.DENIED or bucket == C.OTHER
                if not owed and C.PR_DEDUCTIBLE <= bucket <= C.PR_OTHER:
                    owed = C.payer_seq_of(code) != last
                if owed:
                    for v in range(n_var):
                        if pair_rows[v, pair]:
                            out[v, p] += amounts[i]
            for v in range(n_var):
                out[v, p] = max(out[v, p], np.int64(0))
