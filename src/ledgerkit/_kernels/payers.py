"""Per-encounter, per-payer figures: what each payer was billed and decided."""

import numba
import numpy as np

from ledgerkit._kernels import codes as C
from ledgerkit._kernels._njit import njit, njit_parallel
from ledgerkit._kernels.chunks import CHUNK, chunk_range, n_chunks

PAYER_FIGURES = (
    "billed",
    "paid",
    "contractual",
    "pr",
    "denied",
    "other",
    "written_off",
    "pushed_to_pr",
    "allowed",
    "balance",
)


@njit
def _payer_chunk_nb(
    e0, e1, codes, amounts, enc_proc_start, proc_entry_start, figures, adjudicated
):
    """:func:`payer_balances_nb` for encounters ``e0:e1`` (serial)."""
    acc = np.zeros((4, 10), np.int64)
    seen = np.zeros(4, np.bool_)
    for e in range(e0, e1):
        acc[:, :] = 0
        seen[:] = False
        charge = 0
        last_enc = 0
        for p in range(enc_proc_start[e], enc_proc_start[e + 1]):
            lo = proc_entry_start[p]
            hi = proc_entry_start[p + 1]
            for i in range(lo, hi):
                c = codes[i]
                a = amounts[i]
                b = C.bucket_of(c)
                s = C.payer_seq_of(c)
                if s > 0 and C.is_live(c) and b >= C.PAID and b <= C.OTHER:
                    seen[s] = True
                    last_enc = max(last_enc, s)
                if b == C.CHARGE:
                    charge += a
                elif b == C.PAID:
                    acc[s, 1] += a
                elif b == C.CONTRACTUAL:
                    acc[s, 2] += a
                elif b >= C.PR_DEDUCTIBLE and b <= C.PR_OTHER:
                    acc[s, 3] += a
                    if b != C.PR_OTHER:
                        acc[s, 8] += a
                elif b == C.DENIED:
                    acc[s, 4] += a
                elif b == C.OTHER:
                    acc[s, 5] += a
                elif b == C.WRITTEN_OFF:
                    acc[s, 6] += a
                elif b == C.PR_WRITTEN_OFF:
                    acc[0, 6] += a
                elif b == C.PUSHED_TO_PR:
                    acc[s, 7] += a
                elif b == C.PATIENT_PAID:
                    acc[0, 1] += a
        billed = charge
        for k in range(1, 4):
            acc[k, 0] = billed
            acc[k, 8] += acc[k, 1]
            acc[k, 9] = billed - acc[k, 1] - acc[k, 2] - acc[k, 6] - acc[k, 3] - acc[k, 7]
            if seen[k]:
                billed = acc[k, 3] + acc[k, 7]
        # The patient is billed what the last adjudicating payer assessed.
        acc[0, 0] = acc[last_enc, 3] + acc[last_enc, 7] if last_enc > 0 else charge
        acc[0, 9] = acc[0, 0] - acc[0, 1] - acc[0, 6]
        for k in range(4):
            adjudicated[4 * e + k] = seen[k]
            for f in range(10):
                figures[f, 4 * e + k] = acc[k, f]


@njit_parallel
def payer_balances_nb(codes, amounts, enc_proc_start, proc_entry_start, figures, adjudicated):
    """``figures[:, 4*e + k]``: payer ``k`` (0 = patient) of encounter ``e``.

    Row 0 of a payer block is what it was billed: the charge for payer 1, the
    previous payer's PR plus transfers for payer k > 1 and for the patient
    (row ``k = 0``: billed the last adjudicating payer's PR; paid = patient
    payments; written_off = PR write-offs).

    The loop body is :func:`_payer_chunk_nb`: a large parfor is slow to compile (a
    latency users feel on a cold start), a serial chunk called from a tiny one is not.
    """
    n_enc = enc_proc_start.shape[0] - 1
    for chunk in numba.prange(n_chunks(n_enc, CHUNK)):
        e0, e1 = chunk_range(chunk, n_enc, CHUNK)
        _payer_chunk_nb(
            e0, e1, codes, amounts, enc_proc_start, proc_entry_start, figures, adjudicated
        )
