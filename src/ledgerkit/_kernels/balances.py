"""Balance, bucket and classification kernels over entries grouped by procedure.

Inputs are the packed per-entry codes (bucket | payer_seq << 4 | live << 6, see
``ledgerkit.keys``) and amounts, both in grouped order, plus CSR offsets:
``enc_proc_start`` (procedures of an encounter) and ``proc_entry_start``
(entries of a procedure). Outputs are preallocated by the caller.
"""

import numba
import numpy as np

from ledgerkit._kernels import codes as C
from ledgerkit._kernels._njit import njit, njit_parallel

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

CHUNK = 4096  # encounters per parallel task: small enough to balance 2..64 threads


@njit
def last_adjudicating_payer_nb(codes):
    """Highest payer_seq with a live payment or adjustment (0 when none)."""
    last = 0
    for i in range(codes.shape[0]):
        c = codes[i]
        bucket = c & 15
        seq = (c >> 4) & 3
        live = (c >> 6) & 1
        if live == 1 and seq > last and bucket >= C.PAID and bucket <= C.OTHER:
            last = seq
    return last


SCRATCH = 16 + 20  # per-bucket sums, then PR/denied sums per payer_seq (see below)


@njit
def procedure_figures_nb(codes, amounts, self_pay, out, scratch=None):
    """Fill ``out`` (length N_FIGURES) for one procedure; return (last payer, top denial).

    ``top denial`` is the position (within ``codes``) of the last payer's largest
    live denied entry, or -1. ``scratch`` (int64[SCRATCH]) is reused between
    calls; pass one per thread (allocated here when omitted).

    One pass sums every entry into a small table: by bucket, and for PR and
    denials also by payer_seq, because only the last adjudicating payer's PR
    and denials count (earlier payers' PR was billed on to the next payer).
    """
    if scratch is None:
        scratch = np.empty(SCRATCH, np.int64)
    scratch[:] = 0
    last = 0
    n_denied = 0
    for i in range(codes.shape[0]):
        c = codes[i]
        a = amounts[i]
        bucket = c & 15
        seq = (c >> 4) & 3
        if bucket >= C.PR_DEDUCTIBLE and bucket <= C.DENIED:
            scratch[16 + seq * 5 + bucket - C.PR_DEDUCTIBLE] += a
            n_denied += bucket == C.DENIED
        else:
            scratch[bucket] += a
        if (c >> 6) & 1 == 1 and seq > last and bucket >= C.PAID and bucket <= C.OTHER:
            last = seq
    k = 16 + last * 5
    ded = scratch[k]
    coins = scratch[k + 1]
    copay = scratch[k + 2]
    pr_other = scratch[k + 3]
    denied = scratch[k + 4]
    top = -1
    if n_denied > 0:  # a second look only where something was denied
        top_amount = 0
        for i in range(codes.shape[0]):
            c = codes[i]
            if (c & 15) == C.DENIED and (c >> 4) & 3 == last and (c >> 6) & 1 == 1:
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
    n_chunks = (n_enc + CHUNK - 1) // CHUNK
    for chunk in numba.prange(n_chunks):
        buf = np.empty(N_FIGURES, np.int64)
        scratch = np.empty(SCRATCH, np.int64)
        for e in range(chunk * CHUNK, min(n_enc, (chunk + 1) * CHUNK)):
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


@njit
def classify_encounter_nb(n_adjudicated, allowed_adj, any_zero_allowed, any_denied):
    """The class of one encounter from its adjudicated procedures (DOMAIN.md)."""
    if n_adjudicated == 0:
        return C.AWAITING
    if allowed_adj <= 0:
        return C.DENIAL
    if any_zero_allowed:
        return C.PARTIAL_DENIAL
    if any_denied:
        return C.UNRESOLVED
    return C.PAID_CLASS


@njit
def stage_nb(balance, payer_balance, open_pr, last, n_payers, pending):
    """Who owes the encounter's balance now (DOMAIN.md, "Stages")."""
    if balance == 0:
        return C.FINALIZATION_PENDING if pending else C.FINALIZED
    if n_payers == 0:
        return C.PATIENT
    if payer_balance != 0:
        return max(last, 1)
    if open_pr != 0 and last < n_payers:
        return last + 1  # PR of payer k is billed to payer k+1
    return C.PATIENT


@njit
def classify_chunk_nb(
    lo_enc,
    hi_enc,
    codes,
    amounts,
    enc_proc_start,
    proc_entry_start,
    enc_n_payers,
    enc_pending,
    figures,
    enc_class,
    enc_stage,
    enc_last_payer,
    explain_proc,
    explain_entry,
    explain_amount,
):
    """:func:`classify_nb` for encounters ``lo_enc:hi_enc`` (serial)."""
    buf = np.empty(N_FIGURES, np.int64)
    acc = np.empty(N_FIGURES, np.int64)
    scratch = np.empty(SCRATCH, np.int64)
    if True:  # keeps the loop body's indentation shared with the history
        for e in range(lo_enc, hi_enc):
            acc[:] = 0
            self_pay = enc_n_payers[e] == 0
            n_adj = 0
            enc_last = 0
            allowed_adj = 0
            any_zero = False
            any_denied = False
            # Best explanation so far for each class of cause.
            zero_p = zero_e = -1
            zero_amt = 0
            den_p = den_e = -1
            den_amt = -1
            first_adj = first_e = -1
            for p in range(enc_proc_start[e], enc_proc_start[e + 1]):
                lo = proc_entry_start[p]
                hi = proc_entry_start[p + 1]
                last, top = procedure_figures_nb(
                    codes[lo:hi], amounts[lo:hi], self_pay, buf, scratch
                )
                for f in range(N_FIGURES):
                    acc[f] += buf[f]
                if last == 0:
                    continue
                n_adj += 1
                enc_last = max(enc_last, last)
                allowed = buf[F_ALLOWED]
                denied = buf[F_DENIED]
                allowed_adj += allowed
                top_pos = lo + top if top >= 0 else -1
                if first_adj < 0:
                    first_adj, first_e = p, top_pos
                if allowed <= 0:
                    any_zero = True
                    if zero_p < 0 or denied > zero_amt:
                        zero_p, zero_e, zero_amt = p, top_pos, denied
                if denied > 0:
                    any_denied = True
                    if denied > den_amt:
                        den_p, den_e, den_amt = p, top_pos, denied
            for f in range(N_FIGURES):
                figures[f, e] = acc[f]
            cls = classify_encounter_nb(n_adj, allowed_adj, any_zero, any_denied)
            enc_class[e] = cls
            enc_last_payer[e] = enc_last
            enc_stage[e] = stage_nb(
                acc[F_BALANCE],
                acc[F_PAYER_BALANCE],
                acc[F_OPEN_PR],
                enc_last,
                enc_n_payers[e],
                enc_pending[e],
            )
            if cls == C.PARTIAL_DENIAL:
                explain_proc[e], explain_entry[e] = zero_p, zero_e
                explain_amount[e] = max(zero_amt, 0)
            elif (cls == C.DENIAL or cls == C.UNRESOLVED) and den_p >= 0:
                explain_proc[e], explain_entry[e] = den_p, den_e
                explain_amount[e] = den_amt
            elif cls == C.DENIAL:
                # Allowed 0 with nothing denied (e.g. all contractual): name the line.
                explain_proc[e], explain_entry[e] = first_adj, first_e
                explain_amount[e] = 0
            else:
                explain_proc[e], explain_entry[e] = -1, -1
                explain_amount[e] = 0


@njit_parallel
def classify_nb(
    codes,
    amounts,
    enc_proc_start,
    proc_entry_start,
    enc_n_payers,
    enc_pending,
    figures,
    enc_class,
    enc_stage,
    enc_last_payer,
    explain_proc,
    explain_entry,
    explain_amount,
):
    """Encounter figures, class, stage and explanation in one pass.

    ``figures[:, e]`` sums the procedure figures; ``explain_proc[e]`` and
    ``explain_entry[e]`` (grouped positions, -1 when none) name the procedure and
    the denied entry that decided a DENIAL, PARTIAL_DENIAL or UNRESOLVED class.

    The parallel loop only hands out chunks: the work is in the serial
    :func:`classify_chunk_nb`, which keeps the parfor small and compilation
    (a latency users feel on a cold start) short.
    """
    n_enc = enc_proc_start.shape[0] - 1
    n_chunks = (n_enc + CHUNK - 1) // CHUNK
    for chunk in numba.prange(n_chunks):
        classify_chunk_nb(
            chunk * CHUNK,
            min(n_enc, (chunk + 1) * CHUNK),
            codes,
            amounts,
            enc_proc_start,
            proc_entry_start,
            enc_n_payers,
            enc_pending,
            figures,
            enc_class,
            enc_stage,
            enc_last_payer,
            explain_proc,
            explain_entry,
            explain_amount,
        )
