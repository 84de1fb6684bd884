"""Take-backs: negated payer payments with no repost, procedure by procedure.

Arrays in, arrays out (allocated by the caller); entries in grouped order.
"""

import numba

from ledgerkit._kernels._njit import njit, njit_parallel
from ledgerkit._kernels.chunks import CHUNK, chunk_range, n_chunks

KIND_PAYMENT = 1  # index of "payment" in core.schema.KINDS


@njit
def _procedure_take_backs(kind, seq, negation, amounts, day, out):
    n = kind.shape[0]
    for i in range(n):
        out[i] = False
        if kind[i] != KIND_PAYMENT or seq[i] < 1 or not negation[i] or amounts[i] >= 0:
            continue
        reposted = False
        for j in range(n):
            if (
                kind[j] == KIND_PAYMENT
                and not negation[j]
                and seq[j] == seq[i]
                and day[j] == day[i]
            ):
                reposted = True
                break
        out[i] = not reposted


@njit_parallel
def take_backs_nb(kind, seq, negation, amounts, day, proc_entry_start, out):
    """``out[i]``: grouped entry ``i`` negates a payer payment (``payer_seq`` >= 1,
    amount < 0) and the same payer_seq posted no new (non-negation) payment on the
    same procedure the same day (that would be a correction, not a take-back)."""
    n_proc = proc_entry_start.shape[0] - 1
    for chunk in numba.prange(n_chunks(n_proc, CHUNK)):
        p0, p1 = chunk_range(chunk, n_proc, CHUNK)
        for p in range(p0, p1):
            lo = proc_entry_start[p]
            hi = proc_entry_start[p + 1]
            _procedure_take_backs(
                kind[lo:hi], seq[lo:hi], negation[lo:hi], amounts[lo:hi], day[lo:hi],
                out[lo:hi],
            )  # fmt: skip
