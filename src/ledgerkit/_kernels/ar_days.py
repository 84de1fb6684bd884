"""Days in A/R: open balance per month end and charges per day, per group, in one pass
over the grouped entries (encounter by encounter).

Arrays in, arrays out (allocated and zeroed by the caller, one buffer per thread,
summed by the caller). An entry counts from ``max(posting day, service day)``.
"""

import numba
import numpy as np

from ledgerkit._kernels import codes as C
from ledgerkit._kernels._njit import njit, njit_parallel

NO_DAY = np.iinfo(np.int32).max


@njit
def _first_charge_day(codes, day, service, enc_proc_start, proc_entry_start, e0, e1):
    first = NO_DAY
    for e in range(e0, e1):
        for i in range(
            proc_entry_start[enc_proc_start[e]], proc_entry_start[enc_proc_start[e + 1]]
        ):
            if C.bucket_of(codes[i]) == C.CHARGE:
                d = max(day[i], service[e])
                if d < first:
                    first = d
    return first


@njit_parallel
def first_charge_day_nb(codes, day, service, enc_proc_start, proc_entry_start, out):
    """``out[t]``: the earliest ``max(posting, service)`` day of a charge among thread
    ``t``'s encounters (``NO_DAY`` when none); the caller takes the minimum."""
    n_threads = out.shape[0]
    n_enc = enc_proc_start.shape[0] - 1
    step = (n_enc + n_threads - 1) // n_threads
    for t in numba.prange(n_threads):
        e0 = min(n_enc, t * step)
        e1 = min(n_enc, e0 + step)
        out[t] = _first_charge_day(codes, day, service, enc_proc_start, proc_entry_start, e0, e1)


@njit
def _ar_cells(codes, amounts, day, service, enc_proc_start, proc_entry_start, proc_key,
              ends, sign, day_lo, ar, charges, e0, e1):  # fmt: skip
    n_m = ends.shape[0]
    n_days = charges.shape[0]
    for e in range(e0, e1):
        s = service[e]
        for p in range(enc_proc_start[e], enc_proc_start[e + 1]):
            k = proc_key[p]
            if k < 0:
                continue
            for i in range(proc_entry_start[p], proc_entry_start[p + 1]):
                b = C.bucket_of(codes[i])
                effect = amounts[i] * sign[b]
                d = max(day[i], s)
                m = np.searchsorted(ends, d, side="left")
                if m < n_m:
                    ar[m, k] += effect
                if b == C.CHARGE:
                    c = day[i] - day_lo
                    if c >= 0 and c < n_days:
                        charges[c, k] += effect


@njit_parallel
def ar_cells_nb(codes, amounts, day, service, enc_proc_start, proc_entry_start, proc_key,
                ends, sign, day_lo, ar, charges):  # fmt: skip
    """Per thread ``t``: ``ar[t, m, k]`` += the balance effect (``amount * sign[bucket]``)
    of group ``k``'s entries whose day (``max(posting, service)``) falls after month end
    ``m - 1`` and on or before ``ends[m]``; ``charges[t, d, k]`` += the charges posted on
    day ``day_lo + d`` (their posting day). Procedures with ``proc_key < 0`` are skipped.
    """
    n_threads = ar.shape[0]
    n_enc = enc_proc_start.shape[0] - 1
    step = (n_enc + n_threads - 1) // n_threads
    for t in numba.prange(n_threads):
        e0 = min(n_enc, t * step)
        e1 = min(n_enc, e0 + step)
        _ar_cells(codes, amounts, day, service, enc_proc_start, proc_entry_start, proc_key,
                  ends, sign, day_lo, ar[t], charges[t], e0, e1)  # fmt: skip
