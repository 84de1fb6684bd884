"""Classification that keeps its sums in registers, for the few figures most calls ask for.

``classify_chunk_nb`` sums every entry into a slot of a small array (one slot per
bucket, PR by payer) and moves the last payer's PR out of it after each
procedure: a load and a store per entry, and a chain through memory when two
entries of a procedure hit the same slot. When the figures asked for are among
:data:`LEAN_FIGURES`, :func:`classify_lean_chunk_nb` reads each procedure twice
instead (its few entries are in L1 by then): once for its last adjudicating
payer, once to add every entry to five scalars through masks chosen by that
payer. No slot, no store per entry, the same answers.
"""

import numpy as np

from ledgerkit._kernels import codes as C
from ledgerkit._kernels._njit import njit
from ledgerkit._kernels.balances import (
    ADJUDICATED_BY,
    F_ALLOWED,
    F_BALANCE,
    F_DENIED,
    F_OPEN_PR,
    F_PAYER_BALANCE,
    LIVE_DENIAL,
    S_CHARGE,
    S_CONTRACTUAL,
    S_DENIED,
    S_PAID,
    S_PATIENT_PAID,
    S_PR,
    S_PR_WRITTEN_OFF,
    S_PUSHED,
    S_WRITTEN_OFF,
    SLOT_OF,
)
from ledgerkit._kernels.encounter_class import (
    BIT_BALANCED,
    BIT_CARC,
    BIT_EXPLAINED,
    BIT_GROUP,
    CODE_CARC,
    CODE_GROUP,
    CODE_LINE,
    SMALL_BALANCED,
    SMALL_CLASS,
    SMALL_LAST_PAYER,
    SMALL_PAYER,
    SMALL_STAGE,
    classify_encounter_nb,
    denied_entirely_nb,
    pick_nb,
    stage_nb,
)

# The figures the lean kernel computes (rows of FIGURES).
LEAN_FIGURES = (F_DENIED, F_ALLOWED, F_BALANCE, F_OPEN_PR, F_PAYER_BALANCE)

# Columns of MASKS: which scalar an entry's amount is added to (-1) or not (0).
M_BALANCE_PLUS, M_BALANCE_MINUS, M_OPEN_PLUS, M_OPEN_MINUS, M_ALLOWED, M_DENIED = range(6)
M_LIVE_DENIAL = 6  # and whether it is a live denial (one that can explain a class)
N_MASKS = 8  # a row is 8 bytes


def _mask_table():
    """int8 masks per (last payer, packed code), row ``last * 128 + code``.

    Built from ``balances.SLOT_OF``, so that the sums are those of
    ``figures_of_slots_nb``: balance = charge - paid - patient paid - contractual -
    written off (payer and PR); open PR = the last payer's PR
    + pushed - patient paid - PR written off; allowed = paid + the last payer's
    deductible, coinsurance and copay; denied = every payer's denials.
    """
    masks = np.zeros((4 * 128, N_MASKS), np.int8)
    for last in range(4):
        pr = range(S_PR + last * 4, S_PR + last * 4 + 4)
        for code in range(128):
            slot = int(SLOT_OF[code])
            row = masks[last * 128 + code]
            row[M_BALANCE_PLUS] = -(slot == S_CHARGE)
            minus = (S_PAID, S_PATIENT_PAID, S_CONTRACTUAL, S_WRITTEN_OFF, S_PR_WRITTEN_OFF)
            row[M_BALANCE_MINUS] = -(slot in minus)
            row[M_OPEN_PLUS] = -(slot == S_PUSHED or slot in pr)
            row[M_OPEN_MINUS] = -(slot in (S_PATIENT_PAID, S_PR_WRITTEN_OFF))
            row[M_ALLOWED] = -(slot == S_PAID or slot in pr[:3])
            row[M_DENIED] = -(slot == S_DENIED)
            row[M_LIVE_DENIAL] = -int(LIVE_DENIAL[code])
    return masks


MASKS = _mask_table()  # frozen into the kernel


@njit
def lean_figure_nb(figure, allowed, balance, open_pr, denied):
    """One of :data:`LEAN_FIGURES` from the encounter's sums."""
    value = denied if figure == F_DENIED else allowed
    value = balance if figure == F_BALANCE else value
    value = open_pr if figure == F_OPEN_PR else value
    return balance - open_pr if figure == F_PAYER_BALANCE else value


@njit
def lean_figures_asked(kept):
    """Whether every figure in ``kept`` is one of :data:`LEAN_FIGURES`."""
    for k in range(kept.shape[0]):
        if kept[k] not in LEAN_FIGURES:
            return False
    return True


@njit
def classify_lean_chunk_nb(
    lo_enc,
    hi_enc,
    codes,
    amounts,
    enc_proc_start,
    proc_entry_start,
    enc_n_payers,
    enc_pending,
    kept,
    proc_line,
    entry_order,
    group_codes,
    carc_codes,
    figures,
    small,
    explain_codes,
    bits,
):
    """``classify_chunk_nb`` when every figure in ``kept`` is one of :data:`LEAN_FIGURES`.

    Same arguments and outputs. Each procedure is read twice: its last
    adjudicating payer first (a max over a table), then its amounts into scalars
    through the masks of that payer's row of :data:`MASKS`, its largest live
    denial found on the way (selects, no branch). The explaining entries' line,
    codes and payer are looked up afterwards, in a tight pass over the chunk
    (:func:`lean_explanations_nb`): scattered reads that overlap there, where
    in the main loop each one stalled it.
    """
    n_kept = kept.shape[0]
    any_pending = enc_pending.shape[0] > 0
    # per encounter of the chunk: the explaining procedure and entry row (-1: none)
    explain_proc = np.empty(hi_enc - lo_enc, np.int64)
    explain_row = np.empty(hi_enc - lo_enc, np.int64)
    balanced_bits = explained_bits = 0
    for e in range(lo_enc, hi_enc):
        p0 = enc_proc_start[e]
        p1 = enc_proc_start[e + 1]
        base = proc_entry_start[p0]
        # the encounter's entries as their own arrays: local loop bounds, no checks
        enc_codes = codes[base : proc_entry_start[p1]]
        enc_amounts = amounts[base : proc_entry_start[p1]]
        balance = open_pr = allowed_sum = denied_sum = 0
        n_adj = enc_last = allowed_adj = 0
        # the procedure with the largest denied amount (the first on ties) among those
        # denied entirely, and among all denied ones, with its largest live denial
        whole_p = den_p = whole_top = den_top = -1
        whole_amt = den_amt = 0
        for p in range(p0, p1):
            lo = proc_entry_start[p] - base
            hi = proc_entry_start[p + 1] - base
            last = 0
            for i in range(lo, hi):
                last = max(last, ADJUDICATED_BY[np.uint64(enc_codes[i])])
            row = last * 128
            allowed = denied = 0
            top = -1
            top_amount = 0
            for i in range(lo, hi):
                a = enc_amounts[i]
                m = MASKS[row + np.int64(enc_codes[i])]  # (codes are 0..127)
                balance += (a & np.int64(m[M_BALANCE_PLUS])) - (a & np.int64(m[M_BALANCE_MINUS]))
                open_pr += (a & np.int64(m[M_OPEN_PLUS])) - (a & np.int64(m[M_OPEN_MINUS]))
                allowed += a & np.int64(m[M_ALLOWED])
                denied += a & np.int64(m[M_DENIED])
                # as top_denial_nb: the first largest live denial
                better = (m[M_LIVE_DENIAL] != 0) & ((top < 0) | (a > top_amount))
                top = pick_nb(better, i, top)
                top_amount = pick_nb(better, a, top_amount)
            allowed_sum += allowed
            denied_sum += denied
            # as classify_chunk_nb: a procedure no payer adjudicated counts for nothing
            adjudicated = last > 0
            n_adj += adjudicated
            enc_last = max(enc_last, last)
            allowed_adj += allowed * adjudicated
            denied = denied * adjudicated
            denied *= denied > 0
            more = denied > den_amt
            den_p = pick_nb(more, p, den_p)
            den_top = pick_nb(more, top, den_top)
            den_amt = pick_nb(more, denied, den_amt)
            whole = denied * denied_entirely_nb(allowed, denied)
            more = whole > whole_amt
            whole_p = pick_nb(more, p, whole_p)
            whole_top = pick_nb(more, top, whole_top)
            whole_amt = pick_nb(more, whole, whole_amt)
        n_payers = enc_n_payers[e]
        open_pr = pick_nb(n_payers == 0, balance, open_pr)  # self-pay: all the patient's
        for k in range(n_kept):
            figures[k, e] = lean_figure_nb(kept[k], allowed_sum, balance, open_pr, denied_sum)
        cls = classify_encounter_nb(n_adj, allowed_adj, whole_p >= 0, den_p >= 0)
        small[SMALL_CLASS, e] = cls
        small[SMALL_STAGE, e] = stage_nb(
            balance, balance - open_pr, open_pr, enc_last, n_payers, any_pending and enc_pending[e]
        )
        small[SMALL_LAST_PAYER, e] = enc_last
        small[SMALL_BALANCED, e] = balance == 0
        # Every DENIAL / PARTIAL_DENIAL / UNRESOLVED names a procedure, a live
        # denied entry (CARC, payer) and a positive amount: the class needs one.
        entirely = cls >= C.PARTIAL_DENIAL
        explained = cls >= C.UNRESOLVED
        proc = pick_nb(explained, pick_nb(entirely, whole_p, den_p), -1)
        top = pick_nb(entirely, whole_top, den_top)
        figures[n_kept, e] = pick_nb(entirely, whole_amt, den_amt) * (proc >= 0)
        explain_proc[e - lo_enc] = proc
        explain_row[e - lo_enc] = pick_nb((proc >= 0) & (top >= 0), base + top, -1)
        bit = e & 7
        balanced_bits |= np.int64(balance == 0) << bit
        explained_bits |= np.int64(proc >= 0) << bit
        if bit == 7 or e == hi_enc - 1:
            bits[BIT_BALANCED, e >> 3] = balanced_bits
            bits[BIT_EXPLAINED, e >> 3] = explained_bits
            balanced_bits = explained_bits = 0
    lean_explanations_nb(
        lo_enc, explain_proc, explain_row, codes, proc_line, entry_order, group_codes,
        carc_codes, small, explain_codes, bits,
    )  # fmt: skip


@njit
def lean_explanations_nb(
    lo_enc, explain_proc, explain_row, codes, proc_line, entry_order, group_codes,
    carc_codes, small, explain_codes, bits,
):  # fmt: skip
    """Line, group code, CARC and payer of each encounter's explaining procedure
    ``explain_proc`` and entry ``explain_row`` (grouped position; -1: none), for
    the encounters from ``lo_enc`` (a multiple of 8).

    Without a branch: an encounter without one reads row 0 and keeps nothing of
    it, so the processor has many of these scattered reads in flight at once.
    """
    ordered = entry_order.shape[0] > 0
    n = explain_proc.shape[0]
    group_bits = carc_bits = 0
    for k in range(n):
        e = lo_enc + k
        proc = explain_proc[k]
        row = explain_row[k]
        found = row >= 0
        at = max(row, 0)
        entries_row = entry_order[at] if ordered else at
        group = pick_nb(found, group_codes[entries_row], -1)
        carc = pick_nb(found, carc_codes[entries_row], -1)
        explain_codes[CODE_LINE, e] = pick_nb(proc >= 0, proc_line[max(proc, 0)], 0)
        explain_codes[CODE_GROUP, e] = group
        explain_codes[CODE_CARC, e] = carc
        small[SMALL_PAYER, e] = pick_nb(found, C.payer_seq_of(codes[at]), 0)
        bit = e & 7
        group_bits |= np.int64(group >= 0) << bit
        carc_bits |= np.int64(carc >= 0) << bit
        if bit == 7 or k == n - 1:
            bits[BIT_GROUP, e >> 3] = group_bits
            bits[BIT_CARC, e >> 3] = carc_bits
            group_bits = carc_bits = 0
