"""Posting kernels: remit ids, per-procedure state and the batch decision pass.

Everything is numpy in, numpy out; outputs are allocated by the caller
(``ledgerkit.posting``). Reason codes are the ``R_*`` constants below, shared
with the Python layer; the fingerprint hashes behind remit ids are in ``hashing``.
"""

import numpy as np

from ledgerkit._kernels import codes as C
from ledgerkit._kernels._njit import njit

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
):
    """Balance and live remit sums (per payer_seq) of each procedure in ``procs``.

    ``codes`` are the packed entry codes (see ``codes.pack_code``) and
    ``amounts``/``is_remit`` the entries in grouped order. ``live_*`` have shape
    (len(procs), 4). Balance = charge - paid - patient_paid - contractual -
    written_off (PR write-offs included), as in ``ledgerkit.balances``.
    """
    for u in range(procs.shape[0]):
        p = procs[u]
        s = proc_entry_start[p]
        e = proc_entry_start[p + 1]
        c_ = codes[s:e]
        a_ = amounts[s:e]
        r_ = is_remit[s:e]
        b = 0
        for i in range(e - s):
            c = c_[i]
            a = a_[i]
            bucket = C.bucket_of(c)
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
            if r_[i] and C.is_live(c):
                seq = C.payer_seq_of(c)
                if bucket == C.PAID:
                    live_paid[u, seq] += a
                elif bucket >= C.CONTRACTUAL and bucket <= C.OTHER:
                    live_adj[u, seq] += a
                    if bucket == C.CONTRACTUAL:
                        live_contr[u, seq] += a
                live_n[u, seq] += 1
        balance[u] = b


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
    allow_conflict,
    balance,
    has_live,
    live_paid,
    live_adj,
    live_contr,
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
            else:
                has_live[u, seq] = True
                if item_kind[i] == ITEM_PAYMENT:
                    balance[u] -= item_amount[i]
                    live_paid[u, seq] += item_amount[i]
                else:
                    live_adj[u, seq] += item_amount[i]
                    if item_contractual[i]:
                        balance[u] -= item_amount[i]
                        live_contr[u, seq] += item_amount[i]


@njit
def match_control_numbers_nb(
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
    An encounter has a handful of procedures: a scan beats any join.
    """
    for i in range(line_enc.shape[0]):
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
