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


# Slots of the per-procedure sums (int64[N_SLOTS], one per thread, reused).
S_CHARGE, S_PAID, S_CONTRACTUAL, S_OTHER = 0, 1, 2, 3
S_WRITTEN_OFF, S_PR_WRITTEN_OFF, S_PUSHED, S_PATIENT_PAID = 4, 5, 6, 7
S_DENIED = 8  # every payer's denials (payer_seq >= 1)
S_IGNORED = 9  # summed, never read: a patient-level (payer_seq 0) denial
S_PR = 10  # PR by payer: S_PR + payer_seq * 4 + (bucket - PR_DEDUCTIBLE)
N_SLOTS = S_PR + 16
SCRATCH = N_SLOTS


def _slot_tables():
    """Per packed code (0..127): the slot its amount is summed in, the payer it shows
    adjudicated (0: none), and whether it is a live denial (one that can explain a
    class).

    A look-up instead of branches on the bucket: the same few instructions per
    entry whatever its bucket, with nothing for the processor to mispredict.
    """
    slot = np.full(128, S_IGNORED, np.uint8)
    adjudicated_by = np.zeros(128, np.int64)
    live_denial = np.zeros(128, np.bool_)
    flat = {
        C.CHARGE: S_CHARGE, C.PAID: S_PAID, C.CONTRACTUAL: S_CONTRACTUAL, C.OTHER: S_OTHER,
        C.WRITTEN_OFF: S_WRITTEN_OFF, C.PR_WRITTEN_OFF: S_PR_WRITTEN_OFF,
        C.PUSHED_TO_PR: S_PUSHED, C.PATIENT_PAID: S_PATIENT_PAID,
    }  # fmt: skip
    for code in range(128):
        bucket, seq, live = C.bucket_of(code), C.payer_seq_of(code), C.is_live(code)
        if bucket in flat:
            slot[code] = flat[bucket]
        elif C.PR_DEDUCTIBLE <= bucket <= C.PR_OTHER:
            slot[code] = S_PR + seq * 4 + bucket - C.PR_DEDUCTIBLE
        elif bucket == C.DENIED and seq >= 1:
            slot[code] = S_DENIED
            live_denial[code] = live
        if live and C.PAID <= bucket <= C.OTHER:
            adjudicated_by[code] = seq
    return slot, adjudicated_by, live_denial


SLOT_OF, ADJUDICATED_BY, LIVE_DENIAL = _slot_tables()  # frozen into the kernels


# Encounter sums (classify.classify_chunk_nb): the slots above, with the PR-by-payer
# slots in PR_BANKS copies (procedure p uses copy p % PR_BANKS), then the four slots
# of the last payers' PR (every procedure's last adjudicating payer's).
PR_BANKS = 4  # a power of 2
BANK_SLOTS = N_SLOTS - S_PR  # 16: PR by payer
LAST_PR = PR_BANKS * 4  # figures_of_slots_nb(sums, LAST_PR, ...) reads the last payers' PR
S_LAST_PR = S_PR + LAST_PR * 4
ENCOUNTER_SLOTS = S_LAST_PR + 4
SHORT_PROCEDURE = 8  # entries read by classify_chunk_nb's fixed body (most procedures: 3-7)


def _banked_roles():
    """Per (bank, packed code), row ``bank * 128 + code``: the slot of the entry's amount
    in ``bank``'s PR copy, and its adjudicating payer: ``slot | payer << 8``.

    One look-up for the hottest loop, the same instructions whatever the bucket.
    """
    roles = np.empty(PR_BANKS * 128, np.int64)
    for bank in range(PR_BANKS):
        for code in range(128):
            slot = int(SLOT_OF[code])
            slot += bank * BANK_SLOTS if slot >= S_PR else 0
            roles[bank * 128 + code] = slot | int(ADJUDICATED_BY[code]) << 8
    return roles


ROLE_BY_BANK = _banked_roles()  # frozen into the kernels


@njit
def top_denial_nb(codes, amounts, lo, hi):
    """The position of the largest live denial of any payer in ``lo:hi`` (first on ties), or -1.

    Classification looks for it only where a procedure has something denied,
    not on every entry.
    """
    top = -1
    top_amount = 0
    for i in range(lo, hi):
        # selects, not branches: which entries are denials follows no pattern
        better = LIVE_DENIAL[np.uint64(codes[i])] & ((top < 0) | (amounts[i] > top_amount))
        top = i if better else top
        top_amount = amounts[i] if better else top_amount
    return top


@njit
def sum_procedure_nb(codes, amounts, lo, hi, slots):
    """Sum entries ``lo:hi`` (one procedure) into ``slots``; return its last payer.

    ``slots`` (int64[N_SLOTS]) is zeroed here. The last payer is the largest
    payer_seq with a live payment or payer adjustment (0: none). One pass, no
    branch on the bucket (see :func:`_slot_tables`).
    """
    for j in range(N_SLOTS):
        slots[j] = 0
    last = 0
    for i in range(lo, hi):
        c = np.uint64(codes[i])  # unsigned: no negative-index check per entry
        slots[SLOT_OF[c]] += amounts[i]
        last = max(last, ADJUDICATED_BY[c])
    return last


@njit
def figures_of_slots_nb(slots, last, self_pay, out):
    """Fill ``out`` (int64[N_FIGURES], in ``FIGURES`` order) from one procedure's slots.

    PR counts only for the last adjudicating payer (an earlier payer's PR was
    billed on to the next payer); ``denied`` is every payer's live denials.
    """
    k = S_PR + last * 4
    ded = slots[k]
    coins = slots[k + 1]
    copay = slots[k + 2]
    pr_other = slots[k + 3]
    paid = slots[S_PAID]
    patient_paid = slots[S_PATIENT_PAID]
    pr_written_off = slots[S_PR_WRITTEN_OFF]
    pushed = slots[S_PUSHED]
    written_off = slots[S_WRITTEN_OFF]
    pr = ded + coins + copay + pr_other
    balance = (
        slots[S_CHARGE] - paid - patient_paid - slots[S_CONTRACTUAL] - written_off - pr_written_off
    )
    open_pr = balance if self_pay else pr + pushed - patient_paid - pr_written_off
    out[0] = slots[S_CHARGE]
    out[1] = paid
    out[2] = slots[S_CONTRACTUAL]
    out[3] = ded
    out[4] = coins
    out[5] = copay
    out[6] = pr_other
    out[7] = pr
    out[8] = slots[S_DENIED]
    out[9] = slots[S_OTHER]
    out[10] = written_off + pr_written_off
    out[11] = pushed
    out[12] = patient_paid
    out[13] = paid + ded + coins + copay
    out[14] = balance
    out[15] = open_pr
    out[16] = balance - open_pr


@njit
def procedure_figures_nb(codes, amounts, self_pay, out, scratch=None):
    """Fill ``out`` (length N_FIGURES) for one procedure; return (last payer, top denial).

    ``top denial`` is the position (within ``codes``) of the largest live denied
    entry of any payer (the first one on ties), or -1. ``scratch``
    (int64[N_SLOTS]) is reused between calls; pass one per thread (allocated
    here when omitted).

    PR counts only for the last adjudicating payer (earlier payers' PR was
    billed on to the next payer). ``denied`` is the sum of the live denials of
    *every* payer (payer_seq >= 1; DOMAIN.md, Settled question 1): a later
    payer's payment, PR or OA-23 does not cure an earlier payer's denial,
    because under coordination of benefits the secondary pays its share of
    what the primary *allowed*.

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
        scratch = np.empty(N_SLOTS, np.int64)
    last = sum_procedure_nb(codes, amounts, 0, codes.shape[0], scratch)
    figures_of_slots_nb(scratch, last, self_pay, out)
    return last, top_denial_nb(codes, amounts, 0, codes.shape[0])


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
                last = sum_procedure_nb(codes, amounts, lo, hi, scratch)
                figures_of_slots_nb(scratch, last, self_pay, buf)
                for f in range(N_FIGURES):
                    figures[f, p] = buf[f]
                last_payer[p] = last
