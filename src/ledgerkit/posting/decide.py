"""Deciding a batch of remitted claims: post, archive or flag, with a reason.

How a batch is decided
----------------------
1. Every claim gets a ``remit_id``: a 128-bit fingerprint of what makes a
   remit the same remit (payer, patient control number, payer claim number,
   status, charge, paid, every line and every adjustment). Entries posted
   from a remit carry it in ``remit_ref``, so a remit already in the ledger
   is recognised from the ledger alone: posting the same files twice changes
   nothing.
2. Claims are matched to encounters by patient control number (CLP01), to the
   payer's position by the 835 payer id (N1*PR) against the encounter's
   coverage, and service lines to procedures by line item control number
   (REF*6R) when it names a procedure of that encounter, else by billed code
   (SVC06 when the payer re-coded, else SVC01) + modifiers + service date +
   charge (the k-th identical line to the k-th identical procedure, when the
   claim names all of them; a line that could be one of several identical
   procedures stays unmatched). These are Arrow joins over the whole batch.
3. Amounts the payer reported at claim level only (claim-level CAS, or a
   claim without service lines) go to the procedure when the encounter has
   exactly one; otherwise no line amounts are invented: the claim is
   flagged ``claim_level_amount`` (a reviewer can post it to a line).
4. One compiled pass walks the candidate claims in batch order (transaction
   payment date, then input order) keeping, per touched procedure, its
   balance and the live remit of each payer: conflicts, negative balances and
   reversals are decided there, each claim seeing the effect of the claims
   before it.
5. Posted claims become entries (one payment per line, one adjustment per
   CAS; ``source="remit"``, ``remit_ref=remit_id``); a posted reversal
   becomes negations of the live remit entries of its procedures and payer.

Step 5 (entries) is :mod:`~ledgerkit.posting.entries`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._kernels import posting as K
from ledgerkit._kernels.groupsums import group_sum_nb
from ledgerkit._kernels.keys import radix_order_nb
from ledgerkit.core.arrow import (
    bool_array,
    codes_in,
    encode,
    plain,
    valid_array,
)
from ledgerkit.core.keys import dense_unique, distinct_strings
from ledgerkit.core.ledger import Ledger
from ledgerkit.core.schema import SOURCES
from ledgerkit.errors import LedgerError
from ledgerkit.posting.batch import (
    Batch,
    first_index,
    ints,
    lex_order,
)
from ledgerkit.posting.match import _match_lines
from ledgerkit.posting.reasons import REASON_CODES, STATIC_FLAGS


def _existing_refs(ledger: Ledger) -> pa.Array:
    """The remit_ref values used by the ledger's entries, each at least once (kept with
    its keys, which carry them through appends: a post does not read every entry's
    reference)."""
    keys = ledger.keys
    if keys.remit_refs is None:
        keys.remit_refs = pa.chunked_array([distinct_strings(ledger.entries["remit_ref"])])
    return keys.remit_refs


def evaluate_batch(ledger, b: Batch, policy, *, review=False, claim_level_line=None):
    """Static checks, items and the decision pass. Returns a dict of arrays."""
    n = b.n
    claim_enc = ledger.keys.encounter_positions(
        ledger.encounters["encounter_id"], b.claims["encounter_id"]
    )
    seq = _payer_positions(ledger, b, claim_enc)
    status = plain(b.claims["status_code"])
    reversal = bool_array(pc.equal(status, "22"))
    amounts = _Amounts.of(b)
    unbalanced = _unbalanced(b, amounts)
    line_proc = _match_lines(ledger, b, claim_enc)
    unmatched = _unmatched_lines(b, line_proc)
    claim_level = _claim_level(ledger, b, amounts, claim_enc, claim_level_line)
    static = _static_reasons(
        _withheld_codes(b),
        claim_enc < 0,
        seq == 0,
        unbalanced & (not review),
        unmatched > 0,
        claim_level.needs_target & (claim_level.target < 0),
    )
    order, rank, reason = _batch_order(ledger, b, static)
    items = _items(b, amounts, line_proc, claim_level)
    items["contractual"], items["pr"] = _adjustment_roles(b, policy, items["adj_row"])
    procs, items, item_start = _sort_items(items, rank, n, ledger.keys.n_procedures)
    bad_u, start_has_live = _decide(
        ledger, policy, procs, items, item_start, reason, order, seq, reversal, review
    )
    return dict(
        n=n,
        claim_enc=claim_enc,
        seq=seq,
        reversal=reversal,
        rank=rank,
        order=order,
        reason=reason,
        bad_u=bad_u,
        procs=procs,
        items=items,
        start_has_live=start_has_live,
    )


def _per_claim(values: np.ndarray, claim: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``values`` per claim (rows with claim -1 count nowhere)."""
    out = np.zeros(n, np.int64)
    group_sum_nb(values, np.asarray(claim, np.int64), out)  # int64 groups: one compile
    return out


def _payer_positions(ledger: Ledger, b: Batch, claim_enc: np.ndarray) -> np.ndarray:
    """Position (1-3) of each claim's 835 payer in its encounter's coverage; 0 if none."""
    payer = b.payer_codes()  # the batch's few payer ids, coded once
    seq = np.zeros(b.n, np.int8)
    found = claim_enc >= 0
    by_chunk = {}  # the claims of each chunk, per chunk layout (the columns share one)
    for k in (3, 2, 1):
        same = _same_strings(ledger.encounters[f"payer{k}_id"], claim_enc, payer, by_chunk)
        seq[same & found] = k
    return seq


_NUMPY_INDEX = {pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32,
                pa.int64(): np.int64}  # fmt: skip


def _same_strings(column, rows: np.ndarray, values: tuple, by_chunk: dict) -> np.ndarray:
    """``column[rows[i]] == value i`` (False where either is null or ``rows[i] < 0``),
    compared chunk by chunk: only the rows asked for are read, no chunk is joined to
    another and no dictionary decoded. ``values``: ``encode`` of the values (codes,
    distinct values); a dictionary chunk is compared by codes (its dictionary's values
    mapped to the values' codes), a plain one by strings."""
    codes, distinct = values
    sizes = tuple(len(chunk) for chunk in column.chunks)
    if sizes not in by_chunk:
        bounds = np.cumsum((0, *sizes))
        chunk_of = np.searchsorted(bounds, rows, side="right") - 1
        chunk_of[rows < 0] = len(sizes)  # no chunk
        # the rows by chunk (radix: a stable argsort of 1M rows took 0.04 s)
        order, by_chunk_key = np.empty(len(rows), np.int64), np.empty_like(chunk_of)
        radix_order_nb(chunk_of, len(sizes) + 1, order, by_chunk_key,
                       np.empty(len(rows), np.int64), np.empty_like(chunk_of))  # fmt: skip
        at = np.searchsorted(by_chunk_key, np.arange(len(sizes) + 1))
        by_chunk[sizes] = (bounds, order, at)
    bounds, order, at = by_chunk[sizes]
    out = np.zeros(len(rows), np.bool_)
    for c, chunk in enumerate(column.chunks):
        here = order[at[c] : at[c + 1]]
        if not len(here):
            continue
        local = rows[here] - bounds[c]
        if pa.types.is_dictionary(chunk.type):
            # each dictionary value's code among the values (-1: none; a null value
            # matches nothing), then every row asked for compared in one pass
            value_code = np.asarray(
                codes_in(chunk.dictionary, distinct) if len(chunk.dictionary) else [-1],
                np.int64,
            )
            ind = chunk.indices
            bits = ind.buffers()[0]
            K.same_dictionary_codes_nb(
                np.frombuffer(ind.buffers()[1], _NUMPY_INDEX[ind.type]),
                np.frombuffer(bits, np.uint8) if ind.null_count else np.empty(0, np.uint8),
                ind.offset, local, codes[here], value_code, out, here,
            )  # fmt: skip
        else:
            got = plain(chunk.take(pa.array(local)))
            value = distinct.take(pa.array(codes[here], mask=codes[here] < 0))
            out[here] = bool_array(pc.equal(got, value))
    return out


@dataclass
class _Amounts:
    """The batch's amounts in cents (nulls read as 0; validity kept for lines)."""

    charge: np.ndarray  # per claim
    paid: np.ndarray
    adjustment: np.ndarray  # per CAS
    line_charge: np.ndarray
    line_paid: np.ndarray
    line_charge_valid: np.ndarray
    line_paid_valid: np.ndarray

    @classmethod
    def of(cls, b: Batch) -> _Amounts:
        c, lines = b.claims, b.lines
        return cls(
            charge=ints(c["charge_cents"]),
            paid=ints(c["paid_cents"]),
            adjustment=ints(b.adjustments["amount_cents"]),
            line_charge=ints(lines["charge_cents"]),
            line_paid=ints(lines["paid_cents"]),
            line_charge_valid=valid_array(lines["charge_cents"]),
            line_paid_valid=valid_array(lines["paid_cents"]),
        )


def _unbalanced(b: Batch, a: _Amounts) -> np.ndarray:
    """Claims where charge - paid != adjustments, for the claim or any of its lines
    (a line without a paid amount never balances)."""
    n = b.n
    unbalanced = a.charge - a.paid - _per_claim(a.adjustment, b.adj_claim, n) != 0
    nl = b.lines.num_rows
    l_cas = _per_claim(a.adjustment, np.where(b.adj_line >= 0, b.adj_line, -1), nl)
    bad_line = a.line_charge_valid & a.line_paid_valid & (a.line_charge - a.line_paid - l_cas != 0)
    bad_line |= ~a.line_paid_valid
    return unbalanced | (_per_claim(bad_line.astype(np.int64), b.line_claim, n) > 0)


def _unmatched_lines(b: Batch, line_proc: np.ndarray) -> np.ndarray:
    """Per claim: lines matching no procedure, plus lines matching a procedure another
    line of the claim already took."""
    unmatched = _per_claim((line_proc < 0).astype(np.int64), b.line_claim, b.n)
    if b.lines.num_rows:
        o = lex_order(b.line_claim, line_proc)  # lines come claim by claim, in line order
        lc, lp = b.line_claim[o], line_proc[o]
        twice = (lc[1:] == lc[:-1]) & (lp[1:] == lp[:-1]) & (lp[1:] >= 0)
        unmatched[lc[1:][twice]] += 1
    return unmatched


@dataclass
class _ClaimLevel:
    """Per claim: amounts reported at claim level only, and the procedure they go to."""

    n_lines: np.ndarray
    leftover_paid: np.ndarray  # paid - sum of line paid
    needs_target: np.ndarray  # claim-level CAS, leftover paid, or no lines
    target: np.ndarray  # procedure row, -1 when there is no single one


def _claim_level(ledger, b: Batch, a: _Amounts, claim_enc, claim_level_line) -> _ClaimLevel:
    """The target is the encounter's only procedure, or ``claim_level_line`` (review)."""
    n = b.n
    n_lines = _per_claim(np.ones(b.lines.num_rows, np.int64), b.line_claim, n)
    line_paid_sum = _per_claim(a.line_paid, b.line_claim, n)
    n_claim_adj = _per_claim((b.adj_line < 0).astype(np.int64), b.adj_claim, n)
    leftover_paid = a.paid - line_paid_sum
    needs_target = (n_claim_adj > 0) | (leftover_paid != 0) | (n_lines == 0)
    keys = ledger.keys
    enc_n_proc = np.where(
        claim_enc >= 0,
        keys.enc_proc_start[np.maximum(claim_enc, 0) + 1]
        - keys.enc_proc_start[np.maximum(claim_enc, 0)],
        0,
    )
    target = np.where(
        (claim_enc >= 0) & (enc_n_proc == 1), keys.enc_proc_start[np.maximum(claim_enc, 0)], -1
    )
    if claim_level_line is not None:
        lines_of = keys.enc_proc_start
        for i in np.flatnonzero(needs_target & (target < 0) & (claim_enc >= 0)):
            s, e = lines_of[claim_enc[i]], lines_of[claim_enc[i] + 1]
            hit = np.flatnonzero(keys.proc_line[s:e] == int(claim_level_line))
            if len(hit) == 0:
                raise LedgerError(
                    f"claim_level_line {claim_level_line}: no such procedure line in the "
                    "remit's encounter"
                )
            target[i] = s + hit[0]
    return _ClaimLevel(n_lines, leftover_paid, needs_target, target)


def _withheld_codes(b: Batch) -> np.ndarray:
    """Per claim: the reader withheld (nulled) its status or a group code or CARC."""
    bad = ~valid_array(b.claims["status_code"])
    if b.adjustments.num_rows:
        adj_bad = ~(valid_array(b.adjustments["group_code"]) & valid_array(b.adjustments["carc"]))
        bad[b.adj_claim[adj_bad & (b.adj_claim >= 0)]] = True
    return bad


def _static_reasons(*conds: np.ndarray) -> np.ndarray:
    """The first static flag (``STATIC_FLAGS`` order) each claim raises, as a reason code; -1."""
    static = np.full(len(conds[0]), -1, np.int64)
    for code, cond in reversed(list(zip(STATIC_FLAGS, conds, strict=True))):
        static = np.where(cond, REASON_CODES.index(code), static)
    return static


def _batch_order(ledger: Ledger, b: Batch, static: np.ndarray):
    """(order, rank, reason): batch order (payment date, then input order), each
    claim's rank in it, and the reasons known before the decision pass: duplicates
    (of the ledger, then within the batch), then static flags; -1 = to decide."""
    n = b.n
    order = lex_order(b.tx_date, np.arange(n))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    rid = b.remit_id
    posted_before = bool_array(pc.is_in(rid, value_set=_existing_refs(ledger)))
    first = _first_in_batch(b, order, rank)
    reason = np.full(n, -1, np.int64)
    reason[posted_before] = REASON_CODES.index("duplicate")
    reason[(reason < 0) & ~first] = REASON_CODES.index("duplicate_in_batch")
    reason = np.where((reason < 0) & (static >= 0), static, reason)
    return order, rank, reason


def _first_in_batch(b: Batch, order: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Per claim: no claim before it in batch order has its remit id.

    Ids differing in their first hash (``b.remit_hash``) differ: only the claims
    sharing one with another (none, but for duplicates) have their ids compared, so
    the batch's ids are not hashed again as strings.
    """
    if b.remit_hash is None:
        return first_index(encode(b.remit_id)[0], order)
    h = np.ascontiguousarray(b.remit_hash, np.uint64)
    first = np.ones(len(h), np.bool_)
    shared = np.zeros(len(h), np.bool_)
    table = np.full(1 << int(2 * len(h)).bit_length(), -1, np.int64)  # over half empty
    K.shared_hashes_nb(h, table, shared)  # (an argsort of 1M hashes: 0.1 s)
    rows = np.flatnonzero(shared)
    if len(rows):
        codes = encode(b.remit_id.take(pa.array(rows)))[0]
        first[rows] = first_index(codes, np.argsort(rank[rows], kind="stable"))
    return first


def _items(b: Batch, a: _Amounts, line_proc, claim_level: _ClaimLevel) -> dict:
    """What the claims would post: one payment per matched line, one adjustment per
    CAS with a procedure, and the claim-level paid on its target procedure."""
    nl = b.lines.num_rows
    target = claim_level.target
    ok_line = line_proc >= 0
    it_claim = [b.line_claim[ok_line]]
    it_proc = [line_proc[ok_line]]
    it_kind = [np.full(int(ok_line.sum()), K.ITEM_PAYMENT, np.int8)]
    it_amount = [a.line_paid[ok_line]]
    it_adj_row = [np.full(int(ok_line.sum()), -1, np.int64)]
    adj_proc = np.where(
        b.adj_line >= 0,
        line_proc[np.maximum(b.adj_line, 0)] if nl else -1,
        target[np.maximum(b.adj_claim, 0)] if b.n else -1,
    )
    ok_adj = (adj_proc >= 0) & (b.adj_claim >= 0)
    it_claim.append(b.adj_claim[ok_adj])
    it_proc.append(adj_proc[ok_adj])
    it_kind.append(np.full(int(ok_adj.sum()), K.ITEM_ADJUSTMENT, np.int8))
    it_amount.append(a.adjustment[ok_adj])
    it_adj_row.append(np.flatnonzero(ok_adj))
    leftover = claim_level.leftover_paid
    lv = np.flatnonzero(
        claim_level.needs_target & (target >= 0) & ((leftover != 0) | (claim_level.n_lines == 0))
    )
    it_claim.append(lv)
    it_proc.append(target[lv])
    it_kind.append(np.full(len(lv), K.ITEM_PAYMENT, np.int8))
    it_amount.append(leftover[lv])
    it_adj_row.append(np.full(len(lv), -1, np.int64))
    parts = dict(claim=it_claim, proc=it_proc, kind=it_kind, amount=it_amount, adj_row=it_adj_row)
    return {name: np.concatenate(p) for name, p in parts.items()}


def _adjustment_roles(b: Batch, policy, adj_row: np.ndarray) -> tuple:
    """Per item: an adjustment the policy buckets as contractual; one it buckets as PR."""
    contractual = np.zeros(len(adj_row), np.bool_)
    pr = np.zeros(len(adj_row), np.bool_)
    if b.adjustments.num_rows:
        g_codes, g_vals = b.codes("adjustments", "group_code")
        c_codes, c_vals = b.codes("adjustments", "carc")
        g_vals, c_vals = g_vals.to_pylist(), c_vals.to_pylist()
        g_ok = [g if g in ("CO", "PR", "OA", "PI", "CR") else "OA" for g in g_vals]
        matrix = policy.bucket_matrix(g_ok, [str(v).strip() for v in c_vals])
        if matrix.size == 0:  # no values of a column (every code null): its code 0 reads
            matrix = np.zeros((max(matrix.shape[0], 1), max(matrix.shape[1], 1)), np.int8)
        K.adjustment_roles_nb(adj_row, g_codes, c_codes, matrix, contractual, pr)
    return contractual, pr


def _sort_items(items: dict, rank: np.ndarray, n: int, n_procedures: int):
    """(procs, items, item_start): the touched procedures (slot ``u`` indexes them),
    items sorted by (claim rank, slot), and where each rank's items start."""
    procs, it_u = dense_unique(items["proc"], n_procedures)
    items["u"] = it_u
    # a counting pass by rank, each claim's few items then by slot: no stable argsort of
    # every item's (rank, slot) key, no search for where each rank starts
    io = np.empty(len(it_u), np.int64)
    item_start = np.empty(n + 1, np.int64)  # items of rank r at item_start[r]:item_start[r+1]
    K.order_items_nb(rank[items["claim"]], it_u, item_start, io)
    items = {name: v[io] for name, v in items.items()}
    return procs, items, item_start


def _decide(ledger, policy, procs, items, item_start, reason, order, seq, reversal, review):
    """The compiled decision pass over the undecided claims, in batch order: fills
    ``reason`` in place. Returns (bad_u, start_has_live)."""
    keys = ledger.keys
    # The kernel numbers the procedures in the order the batch first touches them, so
    # that walking the claims in batch order walks its state arrays front to back (in
    # the procedures' order it jumped across all of them: 3x slower at 100k claims).
    nu = len(procs)
    slot_of, by_use = np.empty(nu, np.int64), np.empty(nu, np.int64)  # slot <-> kernel slot
    K.slots_by_first_use_nb(items["u"], slot_of, by_use)  # (np.minimum.at: 0.3 s at 10M)
    kprocs = procs[by_use]  # the procedure of each kernel slot
    state = procedure_state(ledger, policy, kprocs)
    balance, live_n, live_paid, live_adj, live_contr, pr_by_seq, moved, adj_n, live_pr = state
    has_live = live_n > 0
    # slot u's row is has_live[slot_of[u]]: its 4 flags gathered as one uint32 (a row
    # assignment of the 2-D array cost 0.08 s at 1M claims)
    start_has_live = has_live.view(np.uint32)[slot_of].view(np.bool_)
    self_pay = keys.enc_n_payers[keys.procedure_encounters()[kprocs]] == 0

    n = len(reason)
    cand_rank = np.flatnonzero(reason[order] < 0)  # ranks of claims to decide
    kreason = np.full(n, -1, np.int64)
    bad_u = np.full(n, -1, np.int64)
    K.decide_nb(
        cand_rank.astype(np.int64), seq[order].astype(np.int64), reversal[order], item_start,
        slot_of[items["u"]], items["kind"], items["amount"], items["contractual"], items["pr"],
        bool(review), self_pay, balance, has_live, live_paid, live_adj, live_contr, live_n,
        pr_by_seq, moved, adj_n, live_pr, kreason, bad_u,
    )  # fmt: skip
    reason_by_rank = reason[order]
    reason_by_rank[cand_rank] = kreason[cand_rank]
    reason[order] = reason_by_rank
    at_fault = bad_u >= 0
    bad_u[at_fault] = by_use[bad_u[at_fault]]
    return bad_u, start_has_live


def procedure_state(ledger: Ledger, policy, procs: np.ndarray) -> tuple:
    """What the decision pass reads of the procedures ``procs`` (grouped positions), from
    one pass over their entries: (balance, live_n, live_paid, live_adj, live_contr,
    pr_by_seq, moved, adj_n, live_pr), as ``_kernels.posting.procedure_state_nb``
    describes them.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(5, seed=1)
    >>> balance = procedure_state(ledger, ledger.policy, np.array([0]))[0]
    >>> balance.shape
    (1,)
    """
    keys = ledger.keys
    nu = len(procs)
    balance, moved = np.zeros(nu, np.int64), np.zeros(nu, np.int64)
    per_payer = [np.zeros((nu, 4), np.int64) for _ in range(7)]
    live_n, live_paid, live_adj, live_contr, pr_by_seq, adj_n, live_pr = per_payer
    K.procedure_state_nb(
        np.asarray(procs, np.int64), keys.packed_codes(ledger.entries, policy), keys.amounts,
        remit_entry_mask(ledger), keys.proc_entry_start, balance, live_n, live_paid,
        live_adj, live_contr, pr_by_seq, moved, adj_n, live_pr,
    )  # fmt: skip
    return balance, live_n, live_paid, live_adj, live_contr, pr_by_seq, moved, adj_n, live_pr


def remit_entry_mask(ledger: Ledger) -> np.ndarray:
    """Which entries came from a remit.

    Parameters
    ----------
    ledger : Ledger

    Returns
    -------
    numpy.ndarray of bool
        True for entries with source ``remit``, in grouped order (the order of
        ``ledger.keys``, as the posting kernels read entries).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(20, seed=1)
    >>> int(remit_entry_mask(ledger).sum()) > 0
    True
    """
    keys = ledger.keys
    if keys.remit_mask is not None:
        return keys.remit_mask
    src = codes_in(ledger.entries["source"], pa.array(SOURCES)) == SOURCES.index("remit")
    order = keys.entry_order
    mask = src if order is None else src[order]
    keys.remit_mask = mask  # a post reads it twice (decisions, then reversals)
    return mask
