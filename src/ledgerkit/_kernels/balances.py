"""Procedure figures and balances over entries grouped by procedure.

Inputs are the packed per-entry codes (``codes.pack_code``, built by
``ledgerkit.core.keys``) and amounts, both in grouped order, plus CSR offsets:
``enc_proc_start`` (procedures of an encounter) and ``proc_entry_start``
(entries of a procedure). Outputs are preallocated by the caller.
"""

import numba
import numpy as np

from ledgerkit._kernels import codes as C
from ledgerkit._kernels._njit import njit, njit_parallel
from ledgerkit._kernels.chunks import CHUNK, chunk_range, n_chunks

# Rows of the figures matrix, shared by every level.
FIGURES = (
    "charge",
    "paid",
    "contractual",
    "pr_deductible",
    "pr_coinsurance",
    "pr_copay",
    "pr_other",
    "pr",
    "denied",
    "other",
    "written_off",
    "pushed_to_pr",
    "patient_paid",
    "allowed",
    "balance",
    "open_pr",
    "payer_balance",
)
N_FIGURES = len(FIGURES)
F_ALLOWED = FIGURES.index("allowed")
F_DENIED = FIGURES.index("denied")
F_BALANCE = FIGURES.index("balance")
F_OPEN_PR = FIGURES.index("open_pr")
F_PAYER_BALANCE = FIGURES.index("payer_balance")


SCRATCH = 16 + 20  # per-bucket sums, then PR/denied sums per payer_seq (see below)


@njit
def procedure_figures_nb(codes, amounts, self_pay, out, scratch=None):
    """Fill ``out`` (length N_FIGURES) for one procedure; return (last payer, top denial).

    ``top denial`` is the position (within ``codes``) of the largest live denied
    entry of any payer (the first one on ties), or -1. ``scratch``
    (int64[SCRATCH]) is reused between calls; pass one per thread (allocated
    here when omitted).

    One pass sums every entry into a small table: by bucket, and for PR and
    denials also by payer_seq. PR counts only for the last adjudicating payer
    (earlier payers' PR was billed on to the next payer). ``denied`` is the sum
    of the live denials of *every* payer (payer_seq >= 1; DOMAIN.md, Settled
    question 1): a later payer's payment, PR or OA-23 does not cure an earlier
    payer's denial, because under coordination of benefits the secondary pays
    its share of what the primary *allowed*.

    ``denied`` records what the payers decided; it is not lowered by what
    happens afterwards. Only a negation (the denial is no longer live) takes an
    amount out of it. The work a denial leaves ends through the balance: a
    write-off lowers ``balance`` (and so ``payer_balance``), a push to PR moves
    the amount from ``payer_balance`` to ``open_pr``, and a payment lowers
    both. What is still open on a denial is ``min(denied, payer_balance)``
    (floored at 0), and a procedure whose balance is 0 is balanced, hence off
    the worklist, whatever its ``denied``.
    """
    if scratch is None:
        scratch = np.empty(SCRATCH, np.int64)
    scratch[:] = 0
    last = 0
    n_denied = 0
    for i in range(codes.shape[0]):
        c = codes[i]
        a = amounts[i]
        bucket = C.bucket_of(c)
        seq = C.payer_seq_of(c)
        if bucket >= C.PR_DEDUCTIBLE and bucket <= C.DENIED:
            scratch[16 + seq * 5 + bucket - C.PR_DEDUCTIBLE] += a
            n_denied += bucket == C.DENIED
        else:
            scratch[bucket] += a
        if C.is_live(c) and seq > last and bucket >= C.PAID and bucket <= C.OTHER:
            last = seq
    k = 16 + last * 5
    ded = scratch[k]
    coins = scratch[k + 1]
    copay = scratch[k + 2]
    pr_other = scratch[k + 3]
    # Every payer's denials (Settled question 1); payer_seq 0 is the patient.
    denied = scratch[16 + 5 + 4] + scratch[16 + 10 + 4] + scratch[16 + 15 + 4]
    top = -1
    if n_denied > 0:  # a second look only where something was denied
        top_amount = 0
        for i in range(codes.shape[0]):
            c = codes[i]
            if C.bucket_of(c) == C.DENIED and C.payer_seq_of(c) >= 1 and C.is_live(c):
                if top < 0 or amounts[i] > top_amount:
                    top = i
                    top_amount = amounts[i]
    charge = scratch[C.CHARGE]
    paid = scratch[C.PAID]
    contractual = scratch[C.CONTRACTUAL]
    written_off = scratch[C.WRITTEN_OFF]
    pr_written_off = scratch[C.PR_WRITTEN_OFF]
    pushed = scratch[C.PUSHED_TO_PR]
    patient_paid = scratch[C.PATIENT_PAID]
    pr = ded + coins + copay + pr_other
    balance = charge - paid - patient_paid - contractual - written_off - pr_written_off
    if self_pay:
        open_pr = balance
    else:
        open_pr = pr + pushed - patient_paid - pr_written_off
    out[0] = charge
    out[1] = paid
    out[2] = contractual
    out[3] = ded
    out[4] = coins
    out[5] = copay
    out[6] = pr_other
    out[7] = pr
    out[8] = denied
    out[9] = scratch[C.OTHER]
    out[10] = written_off + pr_written_off
    out[11] = pushed
    out[12] = patient_paid
    out[13] = paid + ded + coins + copay
    out[14] = balance
    out[15] = open_pr
    out[16] = balance - open_pr
    return last, top


@njit_parallel
def procedure_balances_nb(
    codes, amounts, enc_proc_start, proc_entry_start, enc_n_payers, figures, last_payer
):
    """Per-procedure figures: ``figures[:, p]`` and ``last_payer[p]``."""
    n_enc = enc_proc_start.shape[0] - 1
    for chunk in numba.prange(n_chunks(n_enc, CHUNK)):
        buf = np.empty(N_FIGURES, np.int64)
        scratch = np.empty(SCRATCH, np.int64)
        e0, e1 = chunk_range(chunk, n_enc, CHUNK)
        for e in range(e0, e1):
            self_pay = enc_n_payers[e] == 0
            for p in range(enc_proc_start[e], enc_proc_start[e + 1]):
                lo = proc_entry_start[p]
                hi = proc_entry_start[p + 1]
                last, _ = procedure_figures_nb(
                    codes[lo:hi], amounts[lo:hi], self_pay, buf, scratch
                )
                for f in range(N_FIGURES):
                    figures[f, p] = buf[f]
                last_payer[p] = last
