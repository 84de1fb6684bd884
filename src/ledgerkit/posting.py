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

from ledgerkit._arrow import codes_in
from ledgerkit._kernels import codes as C
from ledgerkit._kernels import posting as K
from ledgerkit.errors import LedgerError
from ledgerkit.ledger import Ledger
from ledgerkit.schema import SOURCES, TIMESTAMP

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
        dec = self.decisions["decision"].to_numpy(zero_copy_only=False)
        paid = pc.fill_null(self.decisions["paid_cents"], 0).to_numpy()
        for d in ("posted", "archived", "flagged"):
            m = dec == d
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


# ----------------------------------------------------------------------------- helpers
def _plain(col) -> pa.Array:
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    if pa.types.is_large_string(col.type):
        col = col.cast(pa.string())
    return col


def _ints(col, fill=0) -> np.ndarray:
    col = _plain(col)
    return pc.fill_null(col.cast(pa.int64()), fill).to_numpy(zero_copy_only=False)


def _positions(keys, value_set) -> np.ndarray:
    """Position of each key in ``value_set`` (-1 when absent or null)."""
    keys, value_set = _plain(keys), _plain(value_set)
    if len(keys) == 0:
        return np.zeros(0, np.int64)
    pos = pc.index_in(keys, value_set=value_set)
    return _ints(pos, -1)


def _const(value, n: int, typ=pa.string()) -> pa.Array:
    """``value`` repeated ``n`` times (no Python list of n objects)."""
    return pa.repeat(pa.scalar(value, typ), n)


def _hash_column(col, seed: int) -> np.ndarray:
    col = _plain(col)
    n = len(col)
    out = np.empty(n, np.uint64)
    if n == 0:
        return out
    if pa.types.is_string(col.type):
        bufs = col.buffers()
        offsets = np.frombuffer(bufs[1], np.int32, n + 1, col.offset * 4)
        data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.zeros(1, np.uint8)
        valid = col.is_valid().to_numpy(zero_copy_only=False)
        K.hash_strings_nb(offsets.astype(np.int64), data, valid, np.uint64(seed), out)
        return out
    if pa.types.is_floating(col.type):
        col = pc.round(col, 6)
        vals = pc.fill_null(col, -1.5).to_numpy(zero_copy_only=False).view(np.uint64)
    elif pa.types.is_date(col.type):
        vals = _ints(col.cast(pa.int32()), -(2**40)).view(np.uint64)
    else:
        vals = _ints(col, -(2**62)).view(np.uint64)
    out[:] = np.uint64(seed)
    K.combine_nb(out, np.ascontiguousarray(vals))
    return out


def _row_hash(columns, seed: int) -> np.ndarray:
    h = None
    for i, col in enumerate(columns):
        x = _hash_column(col, seed + 7919 * (i + 1))
        if h is None:
            h = x
        else:
            K.combine_nb(h, x)
    return h


def _first_index(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """For rows visited in ``order``: True where the value is seen for the first time."""
    first = np.zeros(len(values), bool)
    if len(values) == 0:
        return first
    v = values[order]
    _, idx = np.unique(v, return_index=True)
    first[order[idx]] = True
    return first


# ----------------------------------------------------------------------------- flatten
@dataclass
class _Batch:
    claims: pa.Table
    lines: pa.Table
    adjustments: pa.Table
    payer_id: pa.Array
    file: pa.Array
    tx_date: np.ndarray
    line_claim: np.ndarray
    adj_claim: np.ndarray
    adj_line: np.ndarray
    remit_id: pa.Array

    @property
    def n(self) -> int:
        return self.claims.num_rows


def _flatten(r) -> _Batch:
    claims, lines, adj, tx = r.claims, r.service_lines, r.adjustments, r.transactions
    tx_pos = _positions(claims["transaction_id"], tx["transaction_id"])
    take = pa.array(np.maximum(tx_pos, 0))
    has_tx = pa.array(tx_pos >= 0)
    payer_id = pc.if_else(has_tx, _plain(tx["payer_id"]).take(take), None)
    file = pc.if_else(has_tx, _plain(tx["file"]).take(take), None)
    date = pc.coalesce(tx["payment_date"], tx["production_date"], tx["gs_date"])
    date = _ints(pc.cast(_plain(date), pa.int32()), 2**31)
    tx_date = np.where(tx_pos >= 0, date[np.maximum(tx_pos, 0)] if len(date) else 0, 2**31)
    line_claim = _positions(lines["claim_id"], claims["claim_id"])
    adj_claim = _positions(adj["claim_id"], claims["claim_id"])
    adj_line = _positions(adj["line_id"], lines["line_id"])
    b = _Batch(claims, lines, adj, payer_id, file, tx_date, line_claim, adj_claim, adj_line, None)
    b.remit_id = _fingerprints(b)
    return b


def _fingerprints(b: _Batch) -> pa.Array:
    """remit_id of every claim: 'R' + 32 hex digits of two 64-bit content hashes."""
    n = b.n
    c, li, ad = b.claims, b.lines, b.adjustments
    lnum = _ints(li["line_number"]) if li.num_rows else np.zeros(0, np.int64)
    adj_lnum = np.where(b.adj_line >= 0, lnum[np.maximum(b.adj_line, 0)] if len(lnum) else 0, 0)
    l_order = np.lexsort((lnum, b.line_claim))
    a_order = np.lexsort((np.arange(len(b.adj_claim)), adj_lnum, b.adj_claim))
    out = []
    for seed in (0x51ED, 0xA5A5):
        h = _row_hash(
            [
                b.payer_id,
                c["encounter_id"],
                c["payer_claim_control_number"],
                c["status_code"],
                c["charge_cents"],
                c["paid_cents"],
            ],
            seed,
        )
        if li.num_rows:
            lh = _row_hash(
                [
                    li["line_number"],
                    li["procedure_code"],
                    li["modifiers"],
                    li["original_procedure_code"],
                    li["charge_cents"],
                    li["paid_cents"],
                    li["units"],
                    li["service_date"],
                    li["line_control_number"],
                ],
                seed + 1,
            )
            K.fold_groups_nb(b.line_claim[l_order], lh[l_order], h)
        if ad.num_rows:
            ah = _row_hash(
                [pa.array(adj_lnum), ad["group_code"], ad["carc"], ad["amount_cents"]],
                seed + 2,
            )
            K.fold_groups_nb(b.adj_claim[a_order], ah[a_order], h)
        out.append(h)
    raw = np.empty((n, 33), np.uint8)
    K.hex_ids_nb(out[0], out[1], raw)
    offsets = np.arange(0, 33 * (n + 1), 33, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(raw.reshape(-1))]
    )


def remit_ids(remittances) -> pa.Array:
    """The ``remit_id`` of every claim of ``remittances`` (claims order).

    Two claims get the same id exactly when they are the same remit: same
    payer, patient control number, payer claim number, status, charge, paid,
    lines and adjustments (file names, dates and trace numbers do not count).

    Examples
    --------
    >>> from ledgerkit.x12 import read_835
    >>> raw = b"ST*835*1~BPR*I*10*C*CHK************20250101~N1*PR*P*XV*P1~CLP*E1*1*10*10~SE*5*1~"
    >>> a, b = remit_ids(read_835(raw)), remit_ids(read_835(raw.replace(b"20250101", b"20250102")))
    >>> a.equals(b), len(a[0].as_py())
    (True, 33)
    """
    return _flatten(remittances).remit_id


def select_remits(remittances, remit_id):
    """The remittances restricted to the claims with the given remit id(s)."""
    from ledgerkit.x12.remittances import Remittances

    ids = pa.array([remit_id] if isinstance(remit_id, str) else list(remit_id), pa.string())
    keep = pc.is_in(remit_ids(remittances), value_set=ids)
    claims = remittances.claims.filter(keep)
    cid = claims["claim_id"]

    def sub(t):
        return t.filter(pc.is_in(t["claim_id"], value_set=cid.combine_chunks()))

    tx = remittances.transactions
    tx = tx.filter(
        pc.is_in(tx["transaction_id"], value_set=claims["transaction_id"].combine_chunks())
    )
    return Remittances(
        tx,
        claims,
        sub(remittances.service_lines),
        sub(remittances.adjustments),
        sub(remittances.remarks),
        remittances.provider_adjustments.slice(0, 0),
        remittances.findings.slice(0, 0),
    )


# ----------------------------------------------------------------------------- matching
def _candidate_procedures(ledger: Ledger, enc_pos: np.ndarray):
    """Grouped procedure positions of the given encounters, and their encounter."""
    keys = ledger.keys
    enc = np.unique(enc_pos[enc_pos >= 0])
    start = keys.enc_proc_start[enc]
    count = keys.enc_proc_start[enc + 1] - start
    total = int(count.sum())
    proc = np.repeat(start - np.concatenate([[0], np.cumsum(count)[:-1]]), count) + np.arange(
        total
    )
    return proc.astype(np.int64), np.repeat(enc, count)


def _rank_within(*keys) -> tuple[np.ndarray, np.ndarray]:
    """0-based rank of each row among rows with equal keys (input order), and group size."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort((np.arange(n),) + tuple(reversed(keys)))
    change = np.zeros(n, bool)
    change[0] = True
    for k in keys:
        ks = k[order]
        change[1:] |= ks[1:] != ks[:-1]
    run_start = np.maximum.accumulate(np.where(change, np.arange(n), 0))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n) - run_start
    starts = np.flatnonzero(change)
    sizes = np.diff(np.append(starts, n))
    size = np.empty(n, np.int64)
    size[order] = np.repeat(sizes, sizes)
    return rank, size


def _shared_codes(a, b):
    """Integer codes of two string arrays against one dictionary (null -> '')."""
    a = pc.fill_null(_plain(a), "")
    b = pc.fill_null(_plain(b), "")
    both = pc.dictionary_encode(pa.chunked_array([a, b], pa.string())).combine_chunks()
    idx = both.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return idx[: len(a)], idx[len(a) :]


def _match_lines(ledger: Ledger, b: _Batch, claim_enc: np.ndarray) -> np.ndarray:
    """Grouped procedure position of every service line (-1 when unmatched)."""
    li = b.lines
    nl = li.num_rows
    out = np.full(nl, -1, np.int64)
    if nl == 0:
        return out
    line_enc = np.where(b.line_claim >= 0, claim_enc[np.maximum(b.line_claim, 0)], -1)
    cand, cand_enc = _candidate_procedures(ledger, line_enc)
    if len(cand) == 0:
        return out
    rows = ledger.keys.proc_rows(cand)
    procs = ledger.procedures.take(pa.array(rows))
    # 1. line item control number, within the encounter
    lcn = _plain(li["line_control_number"])
    has_lcn = lcn.is_valid().to_numpy(zero_copy_only=False) & (line_enc >= 0)
    if has_lcn.any():
        pl = _plain(procs["line_control_number"])
        left = pa.table(
            {"e": pa.array(line_enc[has_lcn]), "l": lcn.filter(pa.array(has_lcn)),
             "i": pa.array(np.flatnonzero(has_lcn))}
        )  # fmt: skip
        right = pa.table({"e": pa.array(cand_enc), "l": pl, "p": pa.array(cand)})
        right = right.filter(pc.is_valid(right["l"]))
        j = left.join(right, keys=["e", "l"], join_type="inner")
        if j.num_rows:
            i = j["i"].to_numpy()
            p = j["p"].to_numpy()
            o = np.lexsort((p, i))
            i, p = i[o], p[o]
            first = np.ones(len(i), bool)
            first[1:] = i[1:] != i[:-1]
            out[i[first]] = p[first]
    # 2. code + modifiers + service date + charge, k-th identical to k-th identical
    rest = np.flatnonzero((out < 0) & (line_enc >= 0))
    if len(rest):
        billed = pc.coalesce(li["original_procedure_code"], li["procedure_code"])
        recoded = pc.is_valid(li["original_procedure_code"])
        mods = pc.if_else(recoded, li["original_modifiers"], li["modifiers"])
        cl_from = b.claims["statement_from"].take(pa.array(np.maximum(b.line_claim, 0)))
        date = pc.coalesce(li["service_date"], li["service_start"], cl_from)
        take = pa.array(rest)
        l_code, p_code = _shared_codes(_plain(billed).take(take), procs["cpt"])
        l_mod, p_mod = _shared_codes(_plain(mods).take(take), procs["modifiers"])
        l_date = _ints(pc.cast(_plain(date).take(take), pa.int32()), -(2**40))
        p_date = _ints(pc.cast(_plain(procs["service_date"]), pa.int32()))
        # reversals (status 22) report the billed charge negated
        l_charge = np.abs(_ints(_plain(li["charge_cents"]).take(take), -(2**62)))
        p_charge = _ints(procs["charge_cents"])
        l_enc = line_enc[rest]
        # rank within the claim (several claims of one encounter name the same lines)
        l_rank, l_size = _rank_within(b.line_claim[rest], l_code, l_mod, l_date, l_charge)
        p_rank, p_size = _rank_within(cand_enc, p_code, p_mod, p_date, p_charge)
        left = pa.table(
            {"e": l_enc, "c": l_code, "m": l_mod, "d": l_date, "a": l_charge, "r": l_rank,
             "i": rest, "n": l_size}
        )  # fmt: skip
        right = pa.table(
            {"e": cand_enc, "c": p_code, "m": p_mod, "d": p_date, "a": p_charge, "r": p_rank,
             "p": cand, "pn": p_size}
        )  # fmt: skip
        j = left.join(right, keys=["e", "c", "m", "d", "a", "r"], join_type="inner")
        if j.num_rows:
            # identical procedures are matched in order only when the claim names them
            # all; otherwise which one is meant is ambiguous and the line stays unmatched
            sure = j["n"].to_numpy() == j["pn"].to_numpy()
            out[j["i"].to_numpy()[sure]] = j["p"].to_numpy()[sure]
    return out


# ----------------------------------------------------------------------------- core
def _existing_refs(ledger: Ledger) -> pa.Array:
    """Distinct remit_ref values used by the ledger's entries."""
    col = ledger.entries["remit_ref"]
    parts = []
    for chunk in col.chunks:
        if pa.types.is_dictionary(chunk.type):
            idx = chunk.indices.drop_null().to_numpy(zero_copy_only=False)
            if len(idx):
                parts.append(chunk.dictionary.take(pa.array(np.unique(idx))))
        else:
            parts.append(pc.unique(chunk.drop_null()))
    if not parts:
        return pa.array([], pa.string())
    out = pc.unique(pa.chunked_array([_plain(p) for p in parts], pa.string()))
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _evaluate(ledger, b: _Batch, policy, *, review=False, claim_level_line=None):
    """Static checks, items and the decision pass. Returns a dict of arrays."""
    n = b.n
    c = b.claims
    enc_ids = ledger.encounters["encounter_id"]
    claim_enc = _positions(c["encounter_id"], enc_ids)
    # payer position in the coverage
    payer = _plain(b.payer_id)
    seq = np.zeros(n, np.int8)
    take = pa.array(np.maximum(claim_enc, 0))
    for k in (3, 2, 1):
        cov = _plain(ledger.encounters[f"payer{k}_id"]).take(take)
        same = pc.fill_null(pc.equal(cov, payer), False).to_numpy(zero_copy_only=False)
        seq[same & (claim_enc >= 0)] = k
    status = _plain(c["status_code"])
    reversal = pc.fill_null(pc.equal(status, "22"), False).to_numpy(zero_copy_only=False)
    # balancing: claim and lines
    charge = _ints(c["charge_cents"])
    paid = _ints(c["paid_cents"])
    adj_amount = _ints(b.adjustments["amount_cents"])
    cas = np.zeros(n, np.int64)
    K.group_sum_nb(adj_amount, b.adj_claim, cas)
    unbalanced = charge - paid - cas != 0
    nl = b.lines.num_rows
    l_charge_v = b.lines["charge_cents"].is_valid().to_numpy(zero_copy_only=False)
    l_paid_v = b.lines["paid_cents"].is_valid().to_numpy(zero_copy_only=False)
    l_charge = _ints(b.lines["charge_cents"])
    l_paid = _ints(b.lines["paid_cents"])
    l_cas = np.zeros(nl, np.int64)
    K.group_sum_nb(adj_amount, np.where(b.adj_line >= 0, b.adj_line, -1), l_cas)
    bad_line = l_charge_v & l_paid_v & (l_charge - l_paid - l_cas != 0)
    bad_line |= ~l_paid_v
    bad_line_claim = np.zeros(n, np.int64)
    K.group_sum_nb(bad_line.astype(np.int64), b.line_claim, bad_line_claim)
    unbalanced |= bad_line_claim > 0
    # lines -> procedures
    line_proc = _match_lines(ledger, b, claim_enc)
    unmatched = np.zeros(n, np.int64)
    K.group_sum_nb((line_proc < 0).astype(np.int64), b.line_claim, unmatched)
    if nl:  # two lines of one claim on one procedure
        o = np.lexsort((line_proc, b.line_claim))
        lc, lp = b.line_claim[o], line_proc[o]
        twice = (lc[1:] == lc[:-1]) & (lp[1:] == lp[:-1]) & (lp[1:] >= 0)
        unmatched[lc[1:][twice]] += 1
    # claim-level amounts
    n_lines = np.zeros(n, np.int64)
    K.group_sum_nb(np.ones(nl, np.int64), b.line_claim, n_lines)
    line_paid_sum = np.zeros(n, np.int64)
    K.group_sum_nb(l_paid, b.line_claim, line_paid_sum)
    claim_adj = b.adj_line < 0
    n_claim_adj = np.zeros(n, np.int64)
    K.group_sum_nb(claim_adj.astype(np.int64), b.adj_claim, n_claim_adj)
    leftover_paid = paid - line_paid_sum
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
    no_target = needs_target & (target < 0)

    static = np.full(n, -1, np.int64)
    conds = (
        claim_enc < 0,
        seq == 0,
        unbalanced & (not review),
        unmatched > 0,
        no_target,
    )
    for code, cond in reversed(list(zip(_STATIC, conds, strict=True))):
        static = np.where(cond, _CODES.index(code), static)

    # batch order and duplicates
    order = np.lexsort((np.arange(n), b.tx_date))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    rid = b.remit_id
    existing = _existing_refs(ledger)
    posted_before = pc.is_in(rid, value_set=existing).to_numpy(zero_copy_only=False)
    rid_codes = pc.dictionary_encode(rid).indices.to_numpy(zero_copy_only=False)
    first = _first_index(rid_codes, order)
    reason = np.full(n, -1, np.int64)
    reason[posted_before] = _CODES.index("duplicate")
    reason[(reason < 0) & ~first] = _CODES.index("duplicate_in_batch")
    reason = np.where((reason < 0) & (static >= 0), static, reason)

    # items: one payment per matched line, one adjustment per CAS
    ok_line = line_proc >= 0
    it_claim = [b.line_claim[ok_line]]
    it_proc = [line_proc[ok_line]]
    it_kind = [np.full(int(ok_line.sum()), K.ITEM_PAYMENT, np.int8)]
    it_amount = [l_paid[ok_line]]
    it_adj_row = [np.full(int(ok_line.sum()), -1, np.int64)]
    adj_proc = np.where(
        b.adj_line >= 0,
        line_proc[np.maximum(b.adj_line, 0)] if nl else -1,
        target[np.maximum(b.adj_claim, 0)] if n else -1,
    )
    ok_adj = (adj_proc >= 0) & (b.adj_claim >= 0)
    it_claim.append(b.adj_claim[ok_adj])
    it_proc.append(adj_proc[ok_adj])
    it_kind.append(np.full(int(ok_adj.sum()), K.ITEM_ADJUSTMENT, np.int8))
    it_amount.append(adj_amount[ok_adj])
    it_adj_row.append(np.flatnonzero(ok_adj))
    lv = np.flatnonzero(needs_target & (target >= 0) & ((leftover_paid != 0) | (n_lines == 0)))
    it_claim.append(lv)
    it_proc.append(target[lv])
    it_kind.append(np.full(len(lv), K.ITEM_PAYMENT, np.int8))
    it_amount.append(leftover_paid[lv])
    it_adj_row.append(np.full(len(lv), -1, np.int64))
    it_claim, it_proc, it_kind, it_amount, it_adj_row = (
        np.concatenate(x) for x in (it_claim, it_proc, it_kind, it_amount, it_adj_row)
    )
    # contractual flag of each adjustment by policy
    contractual = np.zeros(len(it_claim), np.bool_)
    if b.adjustments.num_rows:
        g_codes, g_vals = _dict_codes(b.adjustments["group_code"])
        c_codes, c_vals = _dict_codes(b.adjustments["carc"])
        g_ok = [g if g in ("CO", "PR", "OA", "PI", "CR") else "OA" for g in g_vals]
        matrix = policy.bucket_matrix(g_ok, [str(v).strip() for v in c_vals])
        bucket = matrix[g_codes, c_codes]
        is_adj = it_adj_row >= 0
        contractual[is_adj] = bucket[it_adj_row[is_adj]] == C.CONTRACTUAL
    # procedure slots
    procs, it_u = np.unique(it_proc, return_inverse=True)
    it_u = it_u.astype(np.int64)
    # sort items by (batch rank, slot)
    io = np.lexsort((np.arange(len(it_claim)), it_u, rank[it_claim]))
    it_claim, it_proc, it_kind, it_amount, it_adj_row, contractual, it_u = (
        a[io] for a in (it_claim, it_proc, it_kind, it_amount, it_adj_row, contractual, it_u)
    )
    # items of claim c at item_start[c]:item_start[c+1] - index by rank, not claim
    item_start = np.searchsorted(rank[it_claim], np.arange(n + 1))

    # state of the touched procedures
    nu = len(procs)
    balance = np.zeros(nu, np.int64)
    live_n = np.zeros((nu, 4), np.int64)
    live_paid = np.zeros((nu, 4), np.int64)
    live_adj = np.zeros((nu, 4), np.int64)
    live_contr = np.zeros((nu, 4), np.int64)
    codes = keys.packed_codes(ledger.entries, policy)
    is_remit = _is_remit(ledger)
    K.procedure_state_nb(
        procs, codes, keys.amounts, is_remit, keys.proc_entry_start,
        balance, live_n, live_paid, live_adj, live_contr,
    )  # fmt: skip
    has_live = live_n > 0
    start_has_live = has_live.copy()

    cand_rank = np.flatnonzero(reason[order] < 0)  # ranks of claims to decide
    by_rank_seq = seq[order].astype(np.int64)
    by_rank_rev = reversal[order]
    kreason = np.full(n, -1, np.int64)
    bad_u = np.full(n, -1, np.int64)
    K.decide_nb(
        cand_rank.astype(np.int64), by_rank_seq, by_rank_rev, item_start, it_u, it_kind,
        it_amount, contractual, bool(review), balance, has_live, live_paid, live_adj,
        live_contr, kreason, bad_u,
    )  # fmt: skip
    reason_by_rank = reason[order]
    reason_by_rank[cand_rank] = kreason[cand_rank]
    reason[order] = reason_by_rank
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
        items=dict(
            claim=it_claim,
            proc=it_proc,
            kind=it_kind,
            amount=it_amount,
            adj_row=it_adj_row,
            u=it_u,
        ),  # fmt: skip
        start_has_live=start_has_live,
    )


def _dict_codes(column):
    arr = pc.dictionary_encode(_plain(column))
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    return (
        arr.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64),
        arr.dictionary.to_pylist(),
    )


def _is_remit(ledger: Ledger) -> np.ndarray:
    """True for entries with source 'remit', in grouped order."""
    src = codes_in(ledger.entries["source"], pa.array(SOURCES)) == SOURCES.index("remit")
    order = ledger.keys.entry_order
    return src if order is None else src[order]


def _entry_table(ledger, b, ev, rows_claim, rows_proc, kind, amount, adj_row, actor, note):
    """Entries (plain string columns) for remit items."""
    keys = ledger.keys
    n = len(rows_claim)
    take_c = pa.array(rows_claim)
    proc_rows = keys.proc_rows(rows_proc)
    adj = b.adjustments
    has_adj = adj_row >= 0
    at = pa.array(np.maximum(adj_row, 0))
    mask = pa.array(~has_adj)
    if adj.num_rows:
        group = pc.if_else(mask, None, _plain(adj["group_code"]).take(at))
        carc = pc.if_else(mask, None, _plain(adj["carc"]).take(at))
    else:
        group = carc = pa.nulls(n, pa.string())
    return pa.table(
        {
            "encounter_id": _plain(ledger.procedures["encounter_id"]).take(pa.array(proc_rows)),
            "line": pa.array(keys.proc_line[rows_proc]),
            "payer_seq": pa.array(ev["seq"][rows_claim]),
            "payer_id": _plain(b.payer_id).take(take_c),
            "kind": pa.DictionaryArray.from_arrays(
                pa.array((kind != K.ITEM_PAYMENT).astype(np.int8)),
                pa.array(["payment", "adjustment"]),
            ).cast(pa.string()),
            "group_code": group,
            "carc": carc,
            "amount_cents": pa.array(amount, pa.int64()),
            "negates": pa.nulls(n, pa.int64()),
            "source": _const("remit", n),
            "remit_ref": b.remit_id.take(take_c),
            "actor": _const(actor, n),
            "note": _const(note, n),
        }
    )


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
        is_remit = _is_remit(ledger)
        live = ((codes[grouped] >> 6) & 1 == 1) & is_remit[grouped]
        e_seq = ((codes[grouped] >> 4) & 3).astype(np.int64)
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
                src = _plain_entries(ledger.entries.take(pa.array(ref[which])))
                target_new = np.full(len(which), -1, np.int64)
                target_id = _ints(src["entry_id"])
            neg = {name: src[name] for name in _ENTRY_COLS}
            neg["amount_cents"] = pc.negate(src["amount_cents"])
            neg["source"] = _const("remit", len(which))
            neg["remit_ref"] = b.remit_id.take(pa.array(by_claim))
            neg["actor"] = _const(actor, len(which))
            neg["note"] = _const(note, len(which))
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
    table = table.append_column("posted_at", _const(at, m, TIMESTAMP)).take(pa.array(o))
    per_claim = np.bincount(ev["order"][ranks], minlength=ev["n"]).astype(np.int64)
    return table, per_claim


def _plain_entries(t: pa.Table) -> pa.Table:
    return pa.table({name: _plain(t[name]) for name in t.column_names})


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
            _plain(c["encounter_id"]).take(take),
            _plain(b.payer_id).take(take),
            pa.array(seq, mask=seq == 0),
            _plain(c["status_code"]).take(take),
            _plain(c["payer_claim_control_number"]).take(take),
            _plain(c["charge_cents"]).take(take),
            _plain(c["paid_cents"]).take(take),
            pa.array(n_entries[order]),
            _plain(b.file).take(take),
            _plain(c["claim_id"]).take(take),
            pa.array(np.arange(n, dtype=np.int64)),
            _const(decided_at, n, TIMESTAMP),
            _const(actor, n),
            _const(note, n),
        ],
        schema=DECISIONS_SCHEMA,
    )


def _as_remittances(remittances):
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


def _run(ledger, remittances, *, policy, at, actor, note, review=False, claim_level_line=None):
    r = _as_remittances(remittances)
    policy = policy or ledger.policy
    when = _now(at)
    b = _flatten(r)
    ev = _evaluate(ledger, b, policy, review=review, claim_level_line=claim_level_line)
    if review:
        ok = np.isin(ev["reason"], [_CODES.index("first_remit"), _CODES.index("reversal")])
        ev["reason"] = np.where(
            ev["reason"] == _CODES.index("first_remit"), _CODES.index("reviewed"), ev["reason"]
        )
    else:
        ok = None
    entries, per_claim = _build_entries(ledger, b, ev, actor, note, when)
    new_ledger = ledger.append(entries, at=when) if entries.num_rows else ledger
    appended = new_ledger.entries.slice(ledger.entries.num_rows)
    decisions = _decisions(b, ev, per_claim, when, actor, note)
    return PostResult(new_ledger, decisions, appended), ev, ok


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
    result, _, _ = _run(ledger, remittances, policy=policy, at=at, actor=actor, note=note)
    return result
