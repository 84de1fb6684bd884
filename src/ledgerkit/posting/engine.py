"""The posting engine: 835 remittances into the append-only ledger (DOMAIN.md, "Posting").

``post(ledger, remittances)`` decides every remitted claim of a batch at once
and returns a :class:`PostResult`: the new ledger and a decisions table, one
row per claim, ``posted``, ``archived`` or ``flagged``, with the reason as a
code and in words.

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

Reason codes
------------
=========================  ========  ===================================================
code                       decision  meaning
=========================  ========  ===================================================
first_remit                posted    no live remit of this payer on these procedures
reversal                   posted    claim status 22: negations of the remit it reverses
reviewed                   posted    posted by a person in review (``post_flagged``)
duplicate                  archived  the same remit is already posted
duplicate_in_batch         archived  the same remit appears earlier in this batch
reviewed_archive           archived  archived by a person in review (``archive``)
unmatched_claim            flagged   patient control number matches no encounter
payer_not_in_coverage      flagged   the 835 payer is not in the encounter's coverage
unbalanced_remit           flagged   charge - paid != adjustments (claim or a line)
unmatched_line             flagged   a service line matches no procedure of the encounter
claim_level_amount         flagged   claim-level amounts on an encounter of several lines
conflict                   flagged   another live remit of this payer on these procedures
negative_balance           flagged   posting would make a procedure balance negative
reversal_without_original  flagged   a reversal with no live remit to reverse
reversal_mismatch          flagged   a reversal that does not mirror the posted remit
=========================  ========  ===================================================
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._kernels import codes as C
from ledgerkit._kernels import posting as K
from ledgerkit._kernels.groupsums import group_sum_nb
from ledgerkit.core.arrow import bool_array, codes_in, encode, numpy_array, plain, valid_array
from ledgerkit.core.ledger import Ledger
from ledgerkit.core.schema import SOURCES, TIMESTAMP
from ledgerkit.errors import LedgerError
from ledgerkit.posting.batch import (
    Batch,
    const,
    first_index,
    flatten,
    ints,
    positions,
    remit_ids,
    select_remits,
)
from ledgerkit.posting.match import _match_lines

__all__ = [
    "post",
    "PostResult",
    "REASONS",
    "DECISIONS_SCHEMA",
    "remit_ids",
    "select_remits",
    "ENGINE_ACTOR",
]

ENGINE_ACTOR = "posting engine"

# code -> (decision, words). The order is fixed: the kernel's R_* codes index it.
REASONS = {
    "first_remit": ("posted", "posted: first remit of this payer for these procedures"),
    "reversal": ("posted", "posted: reversal (claim status 22) negates the remit it reverses"),
    "conflict": (
        "flagged",
        "flagged: another remit of this payer is already posted on these procedures and was "
        "not reversed; reverse or negate it first, or archive this one",
    ),
    "negative_balance": (
        "flagged",
        "flagged: posting would make a procedure balance negative; negate earlier entries or "
        "adjust first",
    ),
    "reversal_without_original": (
        "flagged",
        "flagged: reversal (claim status 22) but no posted remit of this payer to reverse",
    ),
    "reversal_mismatch": (
        "flagged",
        "flagged: reversal amounts do not mirror the posted remit of this payer",
    ),
    "duplicate": ("archived", "archived: the same remit is already posted"),
    "duplicate_in_batch": ("archived", "archived: the same remit appears earlier in this batch"),
    "unmatched_claim": ("flagged", "flagged: patient control number matches no encounter"),
    "payer_not_in_coverage": (
        "flagged",
        "flagged: the 835 payer is not the encounter's primary, secondary or tertiary payer",
    ),
    "unbalanced_remit": (
        "flagged",
        "flagged: the remit does not balance (charge - paid != adjustments, claim or line)",
    ),
    "unmatched_line": (
        "flagged",
        "flagged: a service line matches no procedure of the encounter (control number, or "
        "code + modifiers + date + charge)",
    ),
    "claim_level_amount": (
        "flagged",
        "flagged: amounts reported at claim level only on an encounter with several "
        "procedures; no line amounts are invented",
    ),
    "reviewed": ("posted", "posted by a reviewer"),
    "reviewed_archive": ("archived", "archived by a reviewer"),
}
_CODES = tuple(REASONS)
_KERNEL_CODES = _CODES[:6]  # R_POSTED .. R_REVERSAL_MISMATCH, in kernel order
assert _KERNEL_CODES == (
    "first_remit",
    "reversal",
    "conflict",
    "negative_balance",
    "reversal_without_original",
    "reversal_mismatch",
)
# Static flags, by priority (first that applies wins).
_STATIC = (
    "unmatched_claim",
    "payer_not_in_coverage",
    "unbalanced_remit",
    "unmatched_line",
    "claim_level_amount",
)

DECISIONS_SCHEMA = pa.schema(
    [
        pa.field("remit_id", pa.string(), False),
        pa.field("decision", pa.string(), False),
        pa.field("reason_code", pa.string(), False),
        pa.field("reason", pa.string(), False),
        pa.field("encounter_id", pa.string(), False),
        pa.field("payer_id", pa.string()),
        pa.field("payer_seq", pa.int8()),
        pa.field("status_code", pa.string()),
        pa.field("payer_claim_control_number", pa.string()),
        pa.field("charge_cents", pa.int64()),
        pa.field("paid_cents", pa.int64()),
        pa.field("n_entries", pa.int64(), False),
        pa.field("file", pa.string()),
        pa.field("claim_id", pa.int32()),
        pa.field("batch_position", pa.int64()),
        pa.field("decided_at", TIMESTAMP, False),
        pa.field("actor", pa.string()),
        pa.field("note", pa.string()),
    ]
)


@dataclass
class PostResult:
    """What a post did: the new ledger, one decision per claim, the entries added.

    Attributes
    ----------
    ledger : Ledger
        The ledger with the posted entries appended (the input is unchanged).
    decisions : pyarrow.Table
        One row per remitted claim (``DECISIONS_SCHEMA``), in batch order.
    entries : pyarrow.Table
        The entries appended (empty when nothing posted).
    provider_adjustments : pyarrow.Table or None
        Provider-level adjustments (PLB) newly stored by ``LedgerStore.post``; None
        from :func:`post`, which changes procedures only (PLB belong to no procedure).
    """

    ledger: Ledger
    decisions: pa.Table
    entries: pa.Table
    provider_adjustments: pa.Table | None = None

    def counts(self) -> dict:
        """``{decision: (claims, paid cents)}`` for posted, archived and flagged."""
        out = {}
        dec = plain(self.decisions["decision"])
        paid = numpy_array(self.decisions["paid_cents"], fill=0)
        for d in ("posted", "archived", "flagged"):
            m = bool_array(pc.equal(dec, d))
            out[d] = (int(m.sum()), int(paid[m].sum()))
        return out

    @property
    def flagged(self) -> pa.Table:
        """The decisions of the flagged claims."""
        return self.decisions.filter(pc.equal(self.decisions["decision"], "flagged"))

    @property
    def pending(self) -> list:
        """Encounter ids with flagged remits (pass to ``classify(pending=...)``)."""
        return pc.unique(self.flagged["encounter_id"]).to_pylist()

    def __repr__(self) -> str:
        c = self.counts()
        parts = [f"{k} {n:,} (${v / 100:,.2f})" for k, (n, v) in c.items()]
        return f"PostResult({', '.join(parts)}; {self.entries.num_rows:,} entries)"


# ----------------------------------------------------------------------------- core
def _existing_refs(ledger: Ledger) -> pa.Array:
    """Distinct remit_ref values used by the ledger's entries."""
    col = ledger.entries["remit_ref"]
    parts = []
    for chunk in col.chunks:
        if pa.types.is_dictionary(chunk.type):
            idx = numpy_array(chunk.indices.drop_null())
            if len(idx):
                parts.append(chunk.dictionary.take(pa.array(np.unique(idx))))
        else:
            parts.append(pc.unique(chunk.drop_null()))
    if not parts:
        return pa.array([], pa.string())
    out = pc.unique(pa.chunked_array([plain(p) for p in parts], pa.string()))
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _evaluate(ledger, b: Batch, policy, *, review=False, claim_level_line=None):
    """Static checks, items and the decision pass. Returns a dict of arrays."""
    n = b.n
    claim_enc = positions(b.claims["encounter_id"], ledger.encounters["encounter_id"])
    seq = _payer_positions(ledger, b, claim_enc)
    status = plain(b.claims["status_code"])
    reversal = bool_array(pc.equal(status, "22"))
    amounts = _Amounts.of(b)
    unbalanced = _unbalanced(b, amounts)
    line_proc = _match_lines(ledger, b, claim_enc)
    unmatched = _unmatched_lines(b, line_proc)
    claim_level = _claim_level(ledger, b, amounts, claim_enc, claim_level_line)
    static = _static_reasons(
        claim_enc < 0,
        seq == 0,
        unbalanced & (not review),
        unmatched > 0,
        claim_level.needs_target & (claim_level.target < 0),
    )
    order, rank, reason = _batch_order(ledger, b, static)
    items = _items(b, amounts, line_proc, claim_level)
    items["contractual"] = _contractual(b, policy, items["adj_row"])
    procs, items, item_start = _sort_items(items, rank, n)
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
    group_sum_nb(values, claim, out)
    return out


def _payer_positions(ledger: Ledger, b: Batch, claim_enc: np.ndarray) -> np.ndarray:
    """Position (1-3) of each claim's 835 payer in its encounter's coverage; 0 if none."""
    payer = plain(b.payer_id)
    seq = np.zeros(b.n, np.int8)
    take = pa.array(np.maximum(claim_enc, 0))
    for k in (3, 2, 1):
        cov = plain(ledger.encounters[f"payer{k}_id"]).take(take)
        same = bool_array(pc.equal(cov, payer))
        seq[same & (claim_enc >= 0)] = k
    return seq


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
        o = np.lexsort((line_proc, b.line_claim))
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


def _static_reasons(*conds: np.ndarray) -> np.ndarray:
    """The first static flag (``_STATIC`` order) each claim raises, as a reason code; -1."""
    static = np.full(len(conds[0]), -1, np.int64)
    for code, cond in reversed(list(zip(_STATIC, conds, strict=True))):
        static = np.where(cond, _CODES.index(code), static)
    return static


def _batch_order(ledger: Ledger, b: Batch, static: np.ndarray):
    """(order, rank, reason): batch order (payment date, then input order), each
    claim's rank in it, and the reasons known before the decision pass: duplicates
    (of the ledger, then within the batch), then static flags; -1 = to decide."""
    n = b.n
    order = np.lexsort((np.arange(n), b.tx_date))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    rid = b.remit_id
    posted_before = bool_array(pc.is_in(rid, value_set=_existing_refs(ledger)))
    rid_codes, _ = encode(rid)
    first = first_index(rid_codes, order)
    reason = np.full(n, -1, np.int64)
    reason[posted_before] = _CODES.index("duplicate")
    reason[(reason < 0) & ~first] = _CODES.index("duplicate_in_batch")
    reason = np.where((reason < 0) & (static >= 0), static, reason)
    return order, rank, reason


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


def _contractual(b: Batch, policy, adj_row: np.ndarray) -> np.ndarray:
    """Per item: an adjustment the policy buckets as contractual."""
    contractual = np.zeros(len(adj_row), np.bool_)
    if b.adjustments.num_rows:
        g_codes, g_vals = _adjustment_codes(b.adjustments["group_code"])
        c_codes, c_vals = _adjustment_codes(b.adjustments["carc"])
        g_ok = [g if g in ("CO", "PR", "OA", "PI", "CR") else "OA" for g in g_vals]
        matrix = policy.bucket_matrix(g_ok, [str(v).strip() for v in c_vals])
        bucket = matrix[g_codes, c_codes]
        is_adj = adj_row >= 0
        contractual[is_adj] = bucket[adj_row[is_adj]] == C.CONTRACTUAL
    return contractual


def _sort_items(items: dict, rank: np.ndarray, n: int):
    """(procs, items, item_start): the touched procedures (slot ``u`` indexes them),
    items sorted by (claim rank, slot), and where each rank's items start."""
    procs, it_u = np.unique(items["proc"], return_inverse=True)
    items["u"] = it_u.astype(np.int64)
    io = np.lexsort((np.arange(len(items["claim"])), items["u"], rank[items["claim"]]))
    items = {name: v[io] for name, v in items.items()}
    # items of claim c at item_start[c]:item_start[c+1] - index by rank, not claim
    item_start = np.searchsorted(rank[items["claim"]], np.arange(n + 1))
    return procs, items, item_start


def _decide(ledger, policy, procs, items, item_start, reason, order, seq, reversal, review):
    """The compiled decision pass over the undecided claims, in batch order: fills
    ``reason`` in place. Returns (bad_u, start_has_live)."""
    keys = ledger.keys
    nu = len(procs)
    balance = np.zeros(nu, np.int64)
    live_n = np.zeros((nu, 4), np.int64)
    live_paid = np.zeros((nu, 4), np.int64)
    live_adj = np.zeros((nu, 4), np.int64)
    live_contr = np.zeros((nu, 4), np.int64)
    codes = keys.packed_codes(ledger.entries, policy)
    K.procedure_state_nb(
        procs, codes, keys.amounts, remit_entry_mask(ledger), keys.proc_entry_start,
        balance, live_n, live_paid, live_adj, live_contr,
    )  # fmt: skip
    has_live = live_n > 0
    start_has_live = has_live.copy()

    n = len(reason)
    cand_rank = np.flatnonzero(reason[order] < 0)  # ranks of claims to decide
    kreason = np.full(n, -1, np.int64)
    bad_u = np.full(n, -1, np.int64)
    K.decide_nb(
        cand_rank.astype(np.int64), seq[order].astype(np.int64), reversal[order], item_start,
        items["u"], items["kind"], items["amount"], items["contractual"], bool(review),
        balance, has_live, live_paid, live_adj, live_contr, kreason, bad_u,
    )  # fmt: skip
    reason_by_rank = reason[order]
    reason_by_rank[cand_rank] = kreason[cand_rank]
    reason[order] = reason_by_rank
    return bad_u, start_has_live


def _adjustment_codes(column) -> tuple[np.ndarray, list]:
    """Codes in order of first appearance (null reads as the first value) and the values."""
    codes, values = encode(plain(column), null_code=0)
    return codes.astype(np.int64), values.to_pylist()


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
    src = codes_in(ledger.entries["source"], pa.array(SOURCES)) == SOURCES.index("remit")
    order = ledger.keys.entry_order
    return src if order is None else src[order]


def _entry_table(ledger, b, ev, rows_claim, rows_proc, kind, amount, adj_row, actor, note):
    """Entries for remit items, in the ledger's column types.

    Categorical columns are dictionary arrays from the start (indices into each
    distinct value once), so neither reordering nor ``Ledger.append`` copies or
    re-hashes strings.
    """
    keys = ledger.keys
    n = len(rows_claim)
    proc_rows = keys.proc_rows(rows_proc)
    adj = b.adjustments
    no_adj = adj_row < 0
    if adj.num_rows:
        at = np.maximum(adj_row, 0)
        group = _dictionary(adj["group_code"], at, pa.int8(), no_adj)
        carc = _dictionary(adj["carc"], at, pa.int16(), no_adj)
    else:
        group = pa.nulls(n, pa.dictionary(pa.int8(), pa.string()))
        carc = pa.nulls(n, pa.dictionary(pa.int16(), pa.string()))
    return pa.table(
        {
            "encounter_id": plain(ledger.procedures["encounter_id"]).take(pa.array(proc_rows)),
            "line": pa.array(keys.proc_line[rows_proc]),
            "payer_seq": pa.array(ev["seq"][rows_claim]),
            "payer_id": _dictionary(b.payer_id, rows_claim, pa.int32()),
            "kind": pa.DictionaryArray.from_arrays(
                pa.array((kind != K.ITEM_PAYMENT).astype(np.int8)),
                pa.array(["payment", "adjustment"]),
            ),
            "group_code": group,
            "carc": carc,
            "amount_cents": pa.array(amount, pa.int64()),
            "negates": pa.nulls(n, pa.int64()),
            "source": _one_value("remit", n, pa.int8()),
            "remit_ref": _dictionary(b.remit_id, rows_claim, pa.int32()),
            "actor": _one_value(actor, n, pa.int32()),
            "note": const(note, n),
        }
    )


def _dictionary(values, rows: np.ndarray, index_type, mask=None) -> pa.DictionaryArray:
    """``values.take(rows)`` as a dictionary array (nulls where ``mask`` or null)."""
    codes, dictionary = encode(plain(values))
    codes = codes[rows]
    null = codes < 0 if mask is None else (codes < 0) | mask
    indices = pa.array(codes.astype(index_type.to_pandas_dtype()), index_type, mask=null)
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def _one_value(value, n: int, index_type) -> pa.DictionaryArray:
    """``value`` n times as a dictionary array of one value."""
    indices = pa.array(np.zeros(n, index_type.to_pandas_dtype()), index_type)
    return pa.DictionaryArray.from_arrays(indices, pa.array([value], pa.string()))


_ENTRY_COLS = (
    "encounter_id", "line", "payer_seq", "payer_id", "kind", "group_code", "carc",
    "amount_cents", "negates", "source", "remit_ref", "actor", "note",
)  # fmt: skip


def _build_entries(ledger, b, ev, actor, note, at):
    """The new entries of the posted claims (in batch order) and entries per claim."""
    it = ev["items"]
    reason = ev["reason"]
    posted_regular = np.isin(reason, [_CODES.index("first_remit"), _CODES.index("reviewed")])
    posted_rev = reason == _CODES.index("reversal")
    rank = ev["rank"]
    reg = posted_regular[it["claim"]]
    reg_idx = np.flatnonzero(reg)
    reg_table = _entry_table(
        ledger, b, ev, it["claim"][reg_idx], it["proc"][reg_idx], it["kind"][reg_idx],
        it["amount"][reg_idx], it["adj_row"][reg_idx], actor, note,
    )  # fmt: skip
    reg_key = rank[it["claim"][reg_idx]]
    parts = [reg_table]
    sort_rank = [reg_key]
    neg_target_new = []  # per negation row: index into reg rows, or -1
    neg_target_id = []
    if posted_rev.any():
        rv = np.flatnonzero(posted_rev[it["claim"]])
        rv_u = it["u"][rv]
        rv_claim = it["claim"][rv]
        rv_seq = ev["seq"][rv_claim].astype(np.int64)
        rv_key = ((rv_u * 4 + rv_seq) << 32) | (rank[rv_claim] + 1)
        rv_key, first = np.unique(rv_key, return_index=True)
        rv_claim = rv_claim[first]
        # candidates: existing live remit entries of the touched (procedure, payer) pairs
        keys = ledger.keys
        procs = ev["procs"]
        uu = np.unique(rv_u)
        s = keys.proc_entry_start[procs[uu]]
        cnt = keys.proc_entry_start[procs[uu] + 1] - s
        grouped = np.repeat(s - np.concatenate([[0], np.cumsum(cnt)[:-1]]), cnt) + np.arange(
            int(cnt.sum())
        )
        g_u = np.repeat(uu, cnt)
        codes = keys.packed_codes(ledger.entries, ledger.policy)
        is_remit = remit_entry_mask(ledger)
        live = C.is_live(codes[grouped]) & is_remit[grouped]
        e_seq = C.payer_seq_of(codes[grouped]).astype(np.int64)
        grouped, g_u, e_seq = grouped[live], g_u[live], e_seq[live]
        ex_rows = keys.entry_rows(grouped)
        c_key = ((g_u * 4 + e_seq) << 32) | 0
        # new regular entries of the batch on the same pairs
        new_u = it["u"][reg_idx]
        new_seq = ev["seq"][it["claim"][reg_idx]].astype(np.int64)
        n_key = ((new_u * 4 + new_seq) << 32) | (reg_key + 1)
        for cand_key, is_new, ref in ((c_key, False, ex_rows), (n_key, True, None)):
            pos = np.searchsorted(rv_key, cand_key, side="right")
            hit = pos < len(rv_key)
            hit[hit] = (rv_key[pos[hit]] >> 32) == (cand_key[hit] >> 32)
            which = np.flatnonzero(hit)
            if not len(which):
                continue
            by_claim = rv_claim[pos[which]]
            if is_new:
                src = reg_table.take(pa.array(which))
                target_new = which
                target_id = np.full(len(which), -1, np.int64)
            else:
                src = ledger.entries.take(pa.array(ref[which]))
                target_new = np.full(len(which), -1, np.int64)
                target_id = ints(src["entry_id"])
            neg = {name: src[name] for name in _ENTRY_COLS}
            neg["amount_cents"] = pc.negate(src["amount_cents"])
            neg["source"] = _one_value("remit", len(which), pa.int8())
            neg["remit_ref"] = _dictionary(b.remit_id, by_claim, pa.int32())
            neg["actor"] = _one_value(actor, len(which), pa.int32())
            neg["note"] = const(note, len(which))
            neg["negates"] = pa.nulls(len(which), pa.int64())
            parts.append(pa.table(neg).select(list(_ENTRY_COLS)))
            sort_rank.append(rank[by_claim])
            neg_target_new.append(target_new)
            neg_target_id.append(target_id)
    parts = [p.select(list(_ENTRY_COLS)).cast(parts[0].select(list(_ENTRY_COLS)).schema)
             for p in parts]  # fmt: skip
    table = pa.concat_tables(parts).combine_chunks()
    ranks = np.concatenate(sort_rank)
    m = table.num_rows
    o = np.argsort(ranks, kind="stable")
    new_pos = np.empty(m, np.int64)
    new_pos[o] = np.arange(m)
    start = ledger.next_entry_id()
    ids = start + new_pos
    negates = np.full(m, -1, np.int64)
    if neg_target_new:
        tn = np.concatenate(neg_target_new)
        ti = np.concatenate(neg_target_id)
        n_reg = reg_table.num_rows
        neg_rows = np.arange(n_reg, n_reg + len(tn))
        negates[neg_rows] = np.where(tn >= 0, ids[np.maximum(tn, 0)], ti)
    table = table.set_column(
        table.column_names.index("negates"),
        "negates",
        pa.array(negates, mask=negates < 0),
    )
    table = table.append_column("entry_id", pa.array(ids))
    table = table.append_column("posted_at", const(at, m, TIMESTAMP))
    if (np.diff(o) < 0).any():  # reversals interleave: restore batch order
        table = table.take(pa.array(o))
    per_claim = np.bincount(ev["order"][ranks], minlength=ev["n"]).astype(np.int64)
    return table, per_claim


def _decisions(b, ev, n_entries, decided_at, actor, note) -> pa.Table:
    order = ev["order"]
    which = pa.array(ev["reason"][order])
    codes = pa.array(_CODES).take(which)
    decision = pa.array([REASONS[c][0] for c in _CODES]).take(which)
    words = pa.array([REASONS[c][1] for c in _CODES]).take(which)
    take = pa.array(order)
    c = b.claims
    seq = ev["seq"][order]
    n = b.n
    return pa.Table.from_arrays(
        [
            b.remit_id.take(take),
            decision,
            codes,
            words,
            plain(c["encounter_id"]).take(take),
            plain(b.payer_id).take(take),
            pa.array(seq, mask=seq == 0),
            plain(c["status_code"]).take(take),
            plain(c["payer_claim_control_number"]).take(take),
            plain(c["charge_cents"]).take(take),
            plain(c["paid_cents"]).take(take),
            pa.array(n_entries[order]),
            plain(b.file).take(take),
            plain(c["claim_id"]).take(take),
            pa.array(np.arange(n, dtype=np.int64)),
            const(decided_at, n, TIMESTAMP),
            const(actor, n),
            const(note, n),
        ],
        schema=DECISIONS_SCHEMA,
    )


def as_remittances(remittances):
    """``remittances`` itself when it is a :class:`~ledgerkit.x12.Remittances`, else
    what :func:`~ledgerkit.x12.read_835` reads from it.

    Parameters
    ----------
    remittances : Remittances, or 835 bytes, a file, a folder or a list of them

    Returns
    -------
    Remittances

    Examples
    --------
    >>> import ledgerkit as lk
    >>> r = lk.synth.remittances(lk.synth.generate(20, seed=1))
    >>> as_remittances(r) is r
    True
    """
    from ledgerkit.x12.remittances import Remittances

    if isinstance(remittances, Remittances):
        return remittances
    from ledgerkit.x12 import read_835

    return read_835(remittances)


def _now(at) -> dt.datetime:
    if at is None:
        return dt.datetime.now(dt.UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at


def post_batch(
    ledger: Ledger,
    batch: Batch,
    *,
    policy=None,
    at: dt.datetime | None = None,
    actor: str = ENGINE_ACTOR,
    note: str | None = None,
    review: bool = False,
    claim_level_line: int | None = None,
) -> PostResult:
    """Decide and post a flattened batch: :func:`post` for callers that flattened
    the remittances already (``LedgerStore.post`` stores the same batch).

    Parameters
    ----------
    ledger : Ledger
    batch : Batch
        ``ledgerkit.posting.batch.flatten(remittances)``.
    policy, at, actor, note
        As in :func:`post`.
    review : bool
        Decide as a reviewer does (``post_flagged``): an unbalanced remit may post,
        a conflict does not stop it, and posted claims get reason ``reviewed``.
    claim_level_line : int, optional
        With ``review``: the procedure line that takes claim-level amounts when the
        encounter has several.

    Returns
    -------
    PostResult
        ``provider_adjustments`` is None (PLB belong to no procedure).

    Raises
    ------
    LedgerError
        ``claim_level_line`` names no procedure line of a remit's encounter.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit.posting.batch import flatten
    >>> full = lk.synth.generate(50, seed=2)
    >>> batch = flatten(lk.synth.remittances(full))
    >>> post_batch(full, batch).entries.num_rows  # every remit is posted already
    0
    """
    policy = policy or ledger.policy
    when = _now(at)
    ev = _evaluate(ledger, batch, policy, review=review, claim_level_line=claim_level_line)
    if review:
        ev["reason"] = np.where(
            ev["reason"] == _CODES.index("first_remit"), _CODES.index("reviewed"), ev["reason"]
        )
    entries, per_claim = _build_entries(ledger, batch, ev, actor, note, when)
    new_ledger = ledger.append(entries, at=when) if entries.num_rows else ledger
    appended = new_ledger.entries.slice(ledger.entries.num_rows)
    decisions = _decisions(batch, ev, per_claim, when, actor, note)
    return PostResult(new_ledger, decisions, appended)


def archive_decisions(batch: Batch, *, at=None, actor: str, note: str) -> pa.Table:
    """Decision rows archiving every claim of a batch on a reviewer's word.

    Parameters
    ----------
    batch : Batch
        ``ledgerkit.posting.batch.flatten(remittances)``.
    at : datetime, optional
        ``decided_at`` (now when omitted).
    actor, note : str
        Who archives, and why.

    Returns
    -------
    pyarrow.Table
        One row per claim (``DECISIONS_SCHEMA``): decision ``archived``, reason
        ``reviewed_archive``, no entries.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit.posting.batch import flatten
    >>> batch = flatten(lk.synth.remittances(lk.synth.generate(5, seed=2)))
    >>> rows = archive_decisions(batch, actor="ana", note="paid by check")
    >>> pc.unique(rows["reason_code"]).to_pylist()
    ['reviewed_archive']
    """
    n = batch.n
    ev = {
        "order": np.arange(n),
        "reason": np.full(n, _CODES.index("reviewed_archive")),
        "seq": np.zeros(n, np.int8),
    }
    return _decisions(batch, ev, np.zeros(n, np.int64), _now(at), actor, note)


def post(
    ledger: Ledger,
    remittances,
    *,
    policy=None,
    at: dt.datetime | None = None,
    actor: str = ENGINE_ACTOR,
    note: str | None = None,
) -> PostResult:
    """Post a batch of 835 remittances into a ledger.

    Parameters
    ----------
    ledger : Ledger
        The ledger to post into (unchanged; the result holds the new one).
    remittances : ledgerkit.x12.Remittances, or what ``read_835`` reads
        The batch: ``Remittances`` or 835 bytes, a file, a folder or a list.
    policy : CarcPolicy, optional
        Decides which adjustments lower the balance (``ledger.policy``).
    at : datetime, optional
        ``posted_at`` of the new entries and ``decided_at`` (now when omitted).
    actor, note : str
        Recorded on every entry and decision.

    Returns
    -------
    PostResult
        ``ledger``, ``decisions`` (one row per claim) and ``entries``.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit.x12.from_ledger import remittances_from_ledger
    >>> full = lk.synth.generate(300, seed=4)
    >>> import pyarrow.compute as pc
    >>> base = lk.Ledger.from_arrow(full.encounters, full.procedures,
    ...     full.entries.filter(pc.not_equal(full.entries["source"].cast("string"), "remit")),
    ...     full.payers)
    >>> result = post(base, remittances_from_ledger(full))
    >>> result.counts()["flagged"][0]
    0
    >>> post(result.ledger, remittances_from_ledger(full)).entries.num_rows  # idempotent
    0
    """
    batch = flatten(as_remittances(remittances))
    return post_batch(ledger, batch, policy=policy, at=at, actor=actor, note=note)
