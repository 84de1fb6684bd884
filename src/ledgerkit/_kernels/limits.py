"""Limits at the ledger boundary: int64 sums that cannot overflow, and capped movements.

Entries arrive grouped by procedure (``proc_entry_start``), in posting order
within a procedure, so a batch appended to a ledger is the tail of each
procedure it touches. :func:`movement_problems_nb` replays each touched
procedure and checks every new entry against the state the entries before it
leave (DOMAIN.md, Settled question 3).
"""

import numpy as np

from ledgerkit._kernels import codes as C
from ledgerkit._kernels._njit import njit

INT64_MAX = np.iinfo(np.int64).max

# Problems of a new entry (0 = none); ledgerkit.core.limits words them.
OK = 0
TRANSFER_OVER_CAP = 1  # transfer_to_pr above the payer balance
WRITE_OFF_OVER_CAP = 2  # payer write-off above the payer balance
PR_WRITE_OFF_OVER_CAP = 3  # PR write-off above the open PR
OPEN_PR_ABOVE_BALANCE = 4  # any other entry leaving open PR above the balance
CREDIT = 5  # the balance goes below 0


@njit
def sum_overflow_nb(procs, amounts, proc_entry_start, first_bad):
    """``first_bad[u]``: grouped position of the entry of procedure ``procs[u]`` at which
    the running sum of absolute amounts passes int64, or -1.

    Callers bound every amount by 2**53 first, so ``abs`` itself cannot overflow.
    """
    for u in range(procs.shape[0]):
        p = procs[u]
        total = 0
        first_bad[u] = -1
        for i in range(proc_entry_start[p], proc_entry_start[p + 1]):
            a = abs(amounts[i])
            if a > INT64_MAX - total:
                first_bad[u] = i
                break
            total += a


@njit
def movement_problems_nb(
    procs, n_new, codes, amounts, proc_entry_start, self_pay, allow_credit, found
):
    """Check the last ``n_new[u]`` entries of each procedure ``procs[u]``.

    Each new capped movement is checked against the state the entries before it
    leave: a transfer to PR or a payer write-off moves at most the payer
    balance, a PR write-off at most the open PR. The batch as a whole (a remit's
    payment and its adjustments arrive together, in any order) may not leave
    open PR above the balance, nor (unless ``allow_credit``) the balance below
    0, where it was not so before the batch.

    ``found[u]`` (int64[4]) receives: the grouped position of the entry at fault
    (-1 when none; for the whole-batch problems the procedure's last new entry),
    the problem code, the cap (the most the entry could move, cents; for
    ``CREDIT`` and ``OPEN_PR_ABOVE_BALANCE`` the balance left) and the open PR
    (before the entry; after the batch). ``self_pay[u]``: the encounter has no
    payer, so its whole balance is open PR.

    The state follows ``balances.procedure_figures_nb``: balance = charge -
    paid - patient_paid - contractual - write-offs; open PR = PR of the last
    adjudicating payer + pushed_to_pr - patient_paid - PR write-offs.
    """
    pr_by_seq = np.zeros(4, np.int64)
    for u in range(procs.shape[0]):
        p = procs[u]
        s = proc_entry_start[p]
        e = proc_entry_start[p + 1]
        first_new = e - n_new[u]
        pr_by_seq[:] = 0
        balance = 0
        moved_to_pr = 0  # pushed_to_pr - patient_paid - PR write-offs
        last = 0
        balance_before = 0
        gap_before = 0
        found[u, 0] = -1
        for i in range(s, e):
            c = codes[i]
            a = amounts[i]
            bucket = C.bucket_of(c)
            seq = C.payer_seq_of(c)
            if i >= first_new:
                open_pr = balance if self_pay[u] else pr_by_seq[last] + moved_to_pr
                payer_balance = balance - open_pr
                if i == first_new:
                    balance_before = balance
                    gap_before = -payer_balance
                problem = OK
                cap = 0
                # A write-off never takes more than the balance, whatever the parts
                # say (a patient's prepayment makes open PR negative).
                if a > 0 and bucket == C.PUSHED_TO_PR and a > payer_balance:
                    problem, cap = TRANSFER_OVER_CAP, payer_balance
                elif a > 0 and bucket == C.WRITTEN_OFF and a > min(payer_balance, balance):
                    problem, cap = WRITE_OFF_OVER_CAP, min(payer_balance, balance)
                elif a > 0 and bucket == C.PR_WRITTEN_OFF and a > min(open_pr, balance):
                    problem, cap = PR_WRITE_OFF_OVER_CAP, min(open_pr, balance)
                if problem != OK:
                    found[u, 0] = i
                    found[u, 1] = problem
                    found[u, 2] = max(cap, 0)
                    found[u, 3] = open_pr
                    break
            if bucket == C.CHARGE:
                balance += a
            elif bucket == C.PAID or bucket == C.CONTRACTUAL or bucket == C.WRITTEN_OFF:
                balance -= a
            elif bucket == C.PATIENT_PAID or bucket == C.PR_WRITTEN_OFF:
                balance -= a
                moved_to_pr -= a
            elif bucket == C.PUSHED_TO_PR:
                moved_to_pr += a
            elif bucket >= C.PR_DEDUCTIBLE and bucket <= C.PR_OTHER:
                pr_by_seq[seq] += a
            if C.is_live(c) and seq > last and bucket >= C.PAID and bucket <= C.OTHER:
                last = seq
        if found[u, 0] >= 0 or n_new[u] == 0:
            continue
        open_pr = balance if self_pay[u] else pr_by_seq[last] + moved_to_pr
        gap = open_pr - balance
        if balance < 0 and balance < balance_before and not allow_credit:
            found[u, 0] = e - 1
            found[u, 1] = CREDIT
            found[u, 2] = balance
            found[u, 3] = open_pr
        elif balance >= 0 and gap > 0 and gap > gap_before and not self_pay[u]:
            found[u, 0] = e - 1
            found[u, 1] = OPEN_PR_ABOVE_BALANCE
            found[u, 2] = balance
            found[u, 3] = open_pr


@njit
def coverage_mismatch_nb(entry_enc, seq, named, coverage):
    """The first row whose payer entry (``seq[i] > 0``) names another payer than its
    encounter's for that seq, or -1: ``named[i]`` (the payer's position, -3 when the
    row names none) against ``coverage[entry_enc[i], seq[i]]`` (-2: no payer there); a
    seq beyond ``coverage``'s columns is a mismatch (callers validate seq first)."""
    for i in range(seq.shape[0]):
        s = seq[i]
        if s > 0 and (s >= coverage.shape[1] or named[i] != coverage[entry_enc[i], s]):
            return i
    return -1
