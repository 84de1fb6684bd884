"""Posting kernels: remit ids, per-procedure state and the batch decision pass.

Everything is numpy in, numpy out; outputs are allocated by the caller
(``ledgerkit.posting``). Reason codes are the ``R_*`` constants below, shared
with the Python layer; the fingerprint hashes behind remit ids are in ``hashing``.
"""

import numpy as np

from ledgerkit._kernels import codes as C
from ledgerkit._kernels._njit import njit
from ledgerkit._kernels.keys import counting_order_nb

# Reason codes the kernel can return for one claim (index into posting.REASONS).
R_POSTED = 0
R_REVERSAL = 1
R_CONFLICT = 2
R_NEGATIVE = 3
R_REVERSAL_NO_ORIGINAL = 4
R_REVERSAL_MISMATCH = 5

# Item kinds of remit items.
ITEM_PAYMENT = 0
ITEM_ADJUSTMENT = 1


@njit
def hex_ids_nb(h1, h2, out):
    """'R' + 32 lowercase hex digits of (h1, h2) per row into ``out`` (n x 33 uint8)."""
    digits = np.frombuffer(b"0123456789abcdef", np.uint8)
    for i in range(h1.shape[0]):
        out[i, 0] = 82  # 'R'
        a = h1[i]
        b = h2[i]
        for k in range(16):
            out[i, 16 - k] = digits[np.int64(a & np.uint64(15))]
            a >>= np.uint64(4)
            out[i, 32 - k] = digits[np.int64(b & np.uint64(15))]
            b >>= np.uint64(4)


@njit
def procedure_state_nb(
    procs,
    codes,
    amounts,
    is_remit,
    proc_entry_start,
    balance,
    live_n,
    live_paid,
    live_adj,
    live_contr,
    pr_by_seq,
    moved,
    adj_n,
    live_pr,
):
    """What the decision pass reads of each procedure in ``procs``, in one pass over
    its entries (``codes``: packed entry codes, see ``codes.pack_code``; ``amounts``
    and ``is_remit`` in grouped order). Outputs are zeroed by the caller; the 2-D
    ones have shape (len(procs), 4), one column per payer_seq.

    * ``balance[u]``: charge - paid - patient_paid - contractual - written_off (PR
      write-offs included), as in ``ledgerkit.balances``;
    * ``live_n``, ``live_paid``, ``live_adj``, ``live_contr``: count, paid, adjustments
      and contractual adjustments of the live remit entries of each payer;
    * the open PR cap (DOMAIN.md, Settled question 3): ``pr_by_seq`` the PR amounts
      of each payer (every entry; negations net out), ``moved[u]`` pushed to PR -
      patient paid - PR written off, ``adj_n`` the live payments and payer
      adjustments of each payer (the last adjudicating payer is the largest seq with
      one) and ``live_pr`` the PR of the live remit entries of each payer (what a
      reversal takes back). Open PR = PR of the last adjudicating payer + ``moved``,
      as in ``balances.figures_of_slots_nb``.
    """
    for u in range(procs.shape[0]):
        p = procs[u]
        b = 0
        for i in range(proc_entry_start[p], proc_entry_start[p + 1]):
            c = codes[i]
            a = amounts[i]
            bucket = C.bucket_of(c)
            seq = C.payer_seq_of(c)
            live = C.is_live(c)
            remit_live = live and is_remit[i]
            if bucket == C.CHARGE:
                b += a
            elif (
                bucket == C.PAID
                or bucket == C.PATIENT_PAID
                or bucket == C.CONTRACTUAL
                or bucket == C.WRITTEN_OFF
                or bucket == C.PR_WRITTEN_OFF
            ):
                b -= a
            if bucket >= C.PR_DEDUCTIBLE and bucket <= C.PR_OTHER:
                pr_by_seq[u, seq] += a
                if remit_live:
                    live_pr[u, seq] += a
            elif bucket == C.PUSHED_TO_PR:
                moved[u] += a
            if bucket == C.PATIENT_PAID or bucket == C.PR_WRITTEN_OFF:
                moved[u] -= a
            if live and bucket >= C.PAID and bucket <= C.OTHER:
                adj_n[u, seq] += 1
            if remit_live:
                if bucket == C.PAID:
                    live_paid[u, seq] += a
                elif bucket >= C.CONTRACTUAL and bucket <= C.OTHER:
                    live_adj[u, seq] += a
                    if bucket == C.CONTRACTUAL:
                        live_contr[u, seq] += a
                live_n[u, seq] += 1
        balance[u] = b


@njit
def slots_by_first_use_nb(item_u, slot_of, by_use):
    """Number the procedure slots in the order the items first use them: ``slot_of[u]``
    is slot ``u``'s number, ``by_use[k]`` the slot numbered ``k`` (both of length
    ``n slots``; every slot is used by some item). One pass, no sort."""
    slot_of[:] = -1
    k = 0
    for i in range(item_u.shape[0]):
        u = item_u[i]
        if slot_of[u] < 0:
            slot_of[u] = k
            by_use[k] = u
            k += 1


@njit
def order_items_nb(item_rank, item_u, item_start, order):
    """The stable order of items by (claim rank, slot), one counting pass: ``order``
    (length of the items) receives it and ``item_start`` (ranks + 1) where each rank's
    items start. A claim has a handful of items: each rank's run is put in slot order
    by insertion (a merge sort for a run longer than 32, stable as well)."""
    counting_order_nb(item_rank, item_start, order)
    for r in range(item_start.shape[0] - 1):
        s, e = item_start[r], item_start[r + 1]
        if e - s > 32:
            run = order[s:e].copy()
            order[s:e] = run[np.argsort(item_u[run], kind="mergesort")]
            continue
        for i in range(s + 1, e):
            k = order[i]
            j = i - 1
            while j >= s and item_u[order[j]] > item_u[k]:
                order[j + 1] = order[j]
                j -= 1
            order[j + 1] = k


@njit(forceinline=True)
def open_pr_gap_nb(balance, pr_by_seq, moved, adj_n, u, seq, more_n, more_pr):
    """Open PR - balance of procedure slot ``u`` (the last adjudicating payer's PR),
    with ``more_n`` payments/adjustments and ``more_pr`` PR added to payer ``seq``
    (0, 0: as it stands). Reads the state arrays in place: no per-call views or copies
    (inlined: the decision pass calls it twice per procedure of every claim)."""
    last = 0
    for s in range(1, 4):
        if adj_n[u, s] + (more_n if s == seq else 0) > 0:
            last = s
    return pr_by_seq[u, last] + (more_pr if last == seq else 0) + moved[u] - balance


@njit
def decide_nb(
    candidates,
    claim_seq,
    claim_reversal,
    item_start,
    item_u,
    item_kind,
    item_amount,
    item_contractual,
    item_pr,
    allow_conflict,
    self_pay,
    balance,
    has_live,
    live_paid,
    live_adj,
    live_contr,
    live_n,
    pr_by_seq,
    moved,
    adj_n,
    live_pr,
    reason,
    bad_u,
):
    """Decide each candidate claim in batch order; update the per-procedure state.

    ``candidates`` are claim positions in batch order; the items of claim ``c``
    are ``item_start[c]:item_start[c + 1]``, sorted by procedure slot ``u``.
    A regular claim posts unless a procedure already holds a live remit of the
    same payer (conflict) or its balance would turn negative. A reversal
    (status 22) posts when every procedure it names holds a live remit of that
    payer and the reversal mirrors it (paid and adjustments, to the cent).
    A claim that would leave open PR above a procedure's balance where it was not
    so before it (the cap of DOMAIN.md, Settled question 3; not for self-pay
    encounters, whose open PR is the balance) is a negative balance too: each claim
    is judged on the state the claims before it leave, so only the one crossing the
    cap is flagged. ``item_pr``: the item is a PR adjustment; the cap state is
    ``procedure_state_nb``'s, ``live_n`` the live remit entries per payer.
    ``reason[c]`` receives an ``R_*`` code and ``bad_u[c]`` the slot at fault.
    """
    for k in range(candidates.shape[0]):
        c = candidates[k]
        seq = claim_seq[c]
        s = item_start[c]
        e = item_start[c + 1]
        verdict = R_REVERSAL if claim_reversal[c] else R_POSTED
        bad = -1
        i = s
        # pass 1: check every procedure slot of the claim
        while i < e:
            u = item_u[i]
            j = i
            paid = 0
            adj = 0
            contr = 0
            while j < e and item_u[j] == u:
                if item_kind[j] == ITEM_PAYMENT:
                    paid += item_amount[j]
                else:
                    adj += item_amount[j]
                    if item_contractual[j]:
                        contr += item_amount[j]
                j += 1
            if claim_reversal[c]:
                if not has_live[u, seq]:
                    verdict = R_REVERSAL_NO_ORIGINAL
                    bad = u
                    break
                if paid != -live_paid[u, seq] or adj != -live_adj[u, seq]:
                    verdict = R_REVERSAL_MISMATCH
                    bad = u
                    break
                if balance[u] + live_paid[u, seq] + live_contr[u, seq] < 0:
                    verdict = R_NEGATIVE
                    bad = u
                    break
            else:
                if has_live[u, seq] and not allow_conflict:
                    verdict = R_CONFLICT
                    bad = u
                    break
                if balance[u] - paid - contr < 0:
                    verdict = R_NEGATIVE
                    bad = u
                    break
            i = j
        if verdict == R_POSTED or verdict == R_REVERSAL:
            bad = _crosses_cap_nb(
                s, e, seq, claim_reversal[c], item_u, item_kind, item_amount,
                item_contractual, item_pr, self_pay, balance, live_paid, live_contr,
                live_n, pr_by_seq, moved, adj_n, live_pr,
            )  # fmt: skip
            if bad >= 0:
                verdict = R_NEGATIVE
        reason[c] = verdict
        bad_u[c] = bad
        if verdict != R_POSTED and verdict != R_REVERSAL:
            continue
        # pass 2: apply
        for i in range(s, e):
            u = item_u[i]
            if claim_reversal[c]:
                if has_live[u, seq]:
                    balance[u] += live_paid[u, seq] + live_contr[u, seq]
                    has_live[u, seq] = False
                    live_paid[u, seq] = 0
                    live_adj[u, seq] = 0
                    live_contr[u, seq] = 0
                    pr_by_seq[u, seq] -= live_pr[u, seq]
                    adj_n[u, seq] -= live_n[u, seq]
                    live_pr[u, seq] = 0
                    live_n[u, seq] = 0
            else:
                has_live[u, seq] = True
                live_n[u, seq] += 1
                adj_n[u, seq] += 1
                if item_pr[i]:
                    pr_by_seq[u, seq] += item_amount[i]
                    live_pr[u, seq] += item_amount[i]
                if item_kind[i] == ITEM_PAYMENT:
                    balance[u] -= item_amount[i]
                    live_paid[u, seq] += item_amount[i]
                else:
                    live_adj[u, seq] += item_amount[i]
                    if item_contractual[i]:
                        balance[u] -= item_amount[i]
                        live_contr[u, seq] += item_amount[i]


@njit(forceinline=True)
def _crosses_cap_nb(
    s, e, seq, reversal, item_u, item_kind, item_amount, item_contractual, item_pr,
    self_pay, balance, live_paid, live_contr, live_n, pr_by_seq, moved, adj_n, live_pr,
):  # fmt: skip
    """The first procedure slot of items ``s:e`` whose open PR the claim would lift above
    its balance (where it was not so before), or -1."""
    i = s
    while i < e:
        u = item_u[i]
        j = i
        if self_pay[u]:
            while j < e and item_u[j] == u:
                j += 1
            i = j
            continue
        if reversal:
            after_balance = balance[u] + live_paid[u, seq] + live_contr[u, seq]
            more_pr = -live_pr[u, seq]
            more_n = -live_n[u, seq]
            while j < e and item_u[j] == u:
                j += 1
        else:
            after_balance = balance[u]
            more_pr = 0
            more_n = 0
            while j < e and item_u[j] == u:
                more_n += 1
                if item_kind[j] == ITEM_PAYMENT or item_contractual[j]:
                    after_balance -= item_amount[j]
                if item_pr[j]:
                    more_pr += item_amount[j]
                j += 1
        none = np.int64(0)  # not a literal 0: open_pr_gap_nb compiles once
        gap_before = open_pr_gap_nb(balance[u], pr_by_seq, moved, adj_n, u, seq, none, none)
        gap = open_pr_gap_nb(after_balance, pr_by_seq, moved, adj_n, u, seq, more_n, more_pr)
        if after_balance >= 0 and gap > 0 and gap > gap_before:
            return u
        i = j
    return -1


@njit
def match_control_numbers_nb(
    line_order,
    line_enc,
    line_offsets,
    line_data,
    line_valid,
    enc_proc_start,
    proc_rows,
    has_rows,
    proc_offsets,
    proc_data,
    proc_valid,
    out,
):
    """Grouped procedure of each service line whose control number (REF*6R) names one.

    Line ``i`` of encounter ``line_enc[i]`` (-1: none) matches the first procedure
    ``p`` of that encounter (grouped positions ``enc_proc_start[e]:enc_proc_start[e+1]``,
    procedures-table row ``proc_rows[p]``, or ``p`` when not ``has_rows``) whose
    control number has the same bytes; ``out[i]`` is left as it is when none does.
    An encounter has a handful of procedures: a scan beats any join. The lines are
    visited in ``line_order`` (any order gives the same ``out``): in encounter order,
    the procedures' arrays are read front to back instead of at random.
    """
    for k in range(line_order.shape[0]):
        i = line_order[k]
        e = line_enc[i]
        if e < 0 or not line_valid[i]:
            continue
        ls = line_offsets[i]
        n = line_offsets[i + 1] - ls
        for p in range(enc_proc_start[e], enc_proc_start[e + 1]):
            r = proc_rows[p] if has_rows else p
            if not proc_valid[r]:
                continue
            ps = proc_offsets[r]
            if proc_offsets[r + 1] - ps != n:
                continue
            same = True
            for k in range(n):
                if line_data[ls + k] != proc_data[ps + k]:
                    same = False
                    break
            if same:
                out[i] = p
                break


@njit
def is_lex_sorted_nb(major, minor):
    """True when rows are in order of ``(major, minor)`` (ties in row order allowed): a
    stable lexsort of them would be the identity."""
    for i in range(1, major.shape[0]):
        if major[i] < major[i - 1] or (major[i] == major[i - 1] and minor[i] < minor[i - 1]):
            return False
    return True


@njit
def shared_hashes_nb(h, table, shared):
    """``shared[i]`` set True when another row has the hash ``h[i]`` (``shared`` is False
    on entry). ``table``: open addressing scratch of a power-of-two size above
    ``len(h)``, filled with -1 by the caller. One probe a row on average: no sort."""
    mask = table.shape[0] - 1
    for i in range(h.shape[0]):
        slot = np.int64(h[i] & np.uint64(mask))
        while True:
            j = table[slot]
            if j < 0:
                table[slot] = i
                break
            if h[j] == h[i]:
                shared[i] = True
                shared[j] = True
                break
            slot = (slot + 1) & mask


@njit
def merge_rank_order_nb(regular, negations, by_rank, order, place):
    """Merge regular rows (ranks ``regular``, nondecreasing) and negation rows (ranks
    ``negations``, visited in ``by_rank``, their stable order by rank) into one stable
    order by rank, regular rows first within a rank: ``order[t]`` is the row at place
    ``t`` (negation ``k`` is row ``len(regular) + k``), ``place[row]`` its place.
    Returns True when a negation lands before some regular row."""
    nr = regular.shape[0]
    nn = by_rank.shape[0]
    i = 0
    j = 0
    before = False
    for t in range(nr + nn):
        if j >= nn or (i < nr and regular[i] <= negations[by_rank[j]]):
            order[t] = i
            place[i] = t
            i += 1
        else:
            row = nr + by_rank[j]
            order[t] = row
            place[row] = t
            j += 1
            if i < nr:
                before = True
    return before


@njit
def adjustment_roles_nb(adj_row, group, carc, matrix, contractual, pr):
    """Per item: ``contractual[i]`` / ``pr[i]`` when it is an adjustment (``adj_row[i]``
    >= 0) whose bucket ``matrix[group[r], carc[r]]`` is contractual / a PR bucket (a null
    code, -1, reads as code 0). One pass, no per-adjustment bucket array."""
    for i in range(adj_row.shape[0]):
        r = adj_row[i]
        if r < 0:
            contractual[i] = False
            pr[i] = False
            continue
        b = matrix[max(group[r], 0), max(carc[r], 0)]
        contractual[i] = b == C.CONTRACTUAL
        pr[i] = b >= C.PR_DEDUCTIBLE and b <= C.PR_OTHER


@njit
def same_dictionary_codes_nb(indices, valid_bits, offset, rows, want, value_code, out, at):
    """Compare rows of one dictionary chunk with wanted values by code, in one pass:
    ``out[at[t]]`` is True when row ``rows[t]`` is not null and its dictionary value's
    code ``value_code[index]`` is ``want[t]`` (>= 0; -1 wants nothing). ``indices`` is
    the indices buffer from its start and ``offset`` the chunk's offset in it;
    ``valid_bits`` its validity bitmap (empty: no nulls)."""
    has_bits = valid_bits.shape[0] > 0
    for t in range(rows.shape[0]):
        r = rows[t] + offset
        w = want[t]
        ok = w >= 0
        if ok and has_bits:
            ok = ((valid_bits[r >> 3] >> (r & 7)) & 1) == 1
        if ok:
            ok = value_code[indices[r]] == w
        out[at[t]] = ok
