"""What a decided batch writes: ledger entries for posted claims and the decisions table.

Posted claims become entries (one payment per line, one adjustment per CAS;
``source="remit"``, ``remit_ref=remit_id``); a posted reversal becomes negations of the
live remit entries of its procedures and payer.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._kernels import codes as C
from ledgerkit._kernels import posting as K
from ledgerkit._kernels.keys import is_nondecreasing_nb
from ledgerkit.core.arrow import encode, plain, strings_at
from ledgerkit.core.schema import TIMESTAMP
from ledgerkit.posting.batch import (
    const,
    ints,
)
from ledgerkit.posting.decide import remit_entry_mask
from ledgerkit.posting.reasons import DECISIONS_SCHEMA, REASON_CODES, REASONS


def _entry_table(ledger, b, ev, rows_claim, rows_proc, kind, amount, adj_row, actor, note):
    """Entries for remit items, in the ledger's column types.

    Categorical columns are dictionary arrays from the start (indices into each
    distinct value once), so neither reordering nor ``Ledger.append`` copies or
    re-hashes strings.
    """
    keys = ledger.keys
    n = len(rows_claim)
    adj = b.adjustments
    no_adj = adj_row < 0
    if adj.num_rows:
        at = np.maximum(adj_row, 0)
        group = _dictionary(adj["group_code"], at, pa.int8(), no_adj,
                            encoded=b.codes("adjustments", "group_code"))  # fmt: skip
        carc = _dictionary(adj["carc"], at, pa.int16(), no_adj,
                           encoded=b.codes("adjustments", "carc"))  # fmt: skip
    else:
        group = pa.nulls(n, pa.dictionary(pa.int8(), pa.string()))
        carc = pa.nulls(n, pa.dictionary(pa.int16(), pa.string()))
    return pa.table(
        {
            "line": pa.array(keys.proc_line[rows_proc]),
            "payer_seq": pa.array(ev["seq"][rows_claim]),
            "payer_id": _dictionary(b.payer_id, rows_claim, pa.int32(), encoded=b.payer_codes()),
            "kind": pa.DictionaryArray.from_arrays(
                pa.array((kind != K.ITEM_PAYMENT).astype(np.int8)),
                pa.array(["payment", "adjustment"]),
            ),
            "group_code": group,
            "carc": carc,
            "amount_cents": pa.array(amount, pa.int64()),
            "negates": pa.nulls(n, pa.int64()),
            "source": _one_value("remit", n, pa.int8()),
            "remit_ref": _claim_dictionary(b.remit_id, rows_claim),
            "actor": _one_value(actor, n, pa.int32()),
            "note": const(note, n),
        }
    )


def _dictionary(values, rows: np.ndarray, index_type, mask=None, encoded=None):
    """``values.take(rows)`` as a dictionary array (nulls where ``mask`` or null);
    ``encoded``: ``encode(values)`` when the caller has it."""
    codes, dictionary = encode(plain(values)) if encoded is None else encoded
    codes = codes[rows]
    null = codes < 0 if mask is None else (codes < 0) | mask
    indices = pa.array(codes.astype(index_type.to_pandas_dtype()), index_type, mask=null)
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def _claim_dictionary(remit_id: pa.Array, rows_claim: np.ndarray) -> pa.DictionaryArray:
    """Each row's claim's remit id, as indices into the batch's remit ids (no hashing: the
    ids are 33-character fingerprints, distinct but for duplicates, which never post)."""
    indices = pa.array(rows_claim.astype(np.int32), pa.int32())
    return pa.DictionaryArray.from_arrays(indices, plain(remit_id))


def _one_value(value, n: int, index_type) -> pa.DictionaryArray:
    """``value`` n times as a dictionary array of one value."""
    indices = pa.array(np.zeros(n, index_type.to_pandas_dtype()), index_type)
    return pa.DictionaryArray.from_arrays(indices, pa.array([value], pa.string()))


_ENTRY_COLS = (
    "encounter_id", "line", "payer_seq", "payer_id", "kind", "group_code", "carc",
    "amount_cents", "negates", "source", "remit_ref", "actor", "note",
)  # fmt: skip
# the columns of the parts (regular entries, negations) before they are put in order;
# encounter_id, negates and note are made once for the ordered rows
_PART_COLS = tuple(c for c in _ENTRY_COLS if c not in ("encounter_id", "negates", "note"))


def build_entries(ledger, b, ev, actor, note, at):
    """The new entries of the posted claims (in batch order), entries per claim, and the
    grouped procedure of each new entry (for ``Ledger.append_located``)."""
    it = ev["items"]
    reason = ev["reason"]
    posted_regular = np.isin(
        reason, [REASON_CODES.index("first_remit"), REASON_CODES.index("reviewed")]
    )
    posted_rev = reason == REASON_CODES.index("reversal")
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
    part_procs = [it["proc"][reg_idx]]
    part_claims = [it["claim"][reg_idx]]
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
        # new regular entries of the batch on the same procedures (only those are keyed)
        reversed_slot = np.zeros(len(procs), np.bool_)
        reversed_slot[uu] = True
        near = np.flatnonzero(reversed_slot[it["u"][reg_idx]])
        new_u = it["u"][reg_idx[near]]
        new_seq = ev["seq"][it["claim"][reg_idx[near]]].astype(np.int64)
        n_key = ((new_u * 4 + new_seq) << 32) | (reg_key[near] + 1)
        for cand_key, is_new, ref in ((c_key, False, ex_rows), (n_key, True, near)):
            pos = np.searchsorted(rv_key, cand_key, side="right")
            hit = pos < len(rv_key)
            hit[hit] = (rv_key[pos[hit]] >> 32) == (cand_key[hit] >> 32)
            which = np.flatnonzero(hit)
            if not len(which):
                continue
            by_claim = rv_claim[pos[which]]
            if is_new:
                target_new = ref[which]  # rows of reg_table
                src = reg_table.take(pa.array(target_new))
                target_id = np.full(len(which), -1, np.int64)
            else:
                # column by column, chunk by chunk: Arrow's take of the table in chunks
                # joined every column of the ledger first
                src = pa.table(
                    {name: strings_at(ledger.entries[name], ref[which])
                     for name in (*_PART_COLS, "entry_id")}
                )  # fmt: skip
                target_new = np.full(len(which), -1, np.int64)
                target_id = ints(src["entry_id"])
            neg = {name: src[name] for name in _PART_COLS}
            neg["amount_cents"] = pc.negate(src["amount_cents"])
            neg["source"] = _one_value("remit", len(which), pa.int8())
            neg["remit_ref"] = _claim_dictionary(b.remit_id, by_claim)
            neg["actor"] = _one_value(actor, len(which), pa.int32())
            parts.append(pa.table(neg).select(list(_PART_COLS)))
            sort_rank.append(rank[by_claim])
            part_procs.append(procs[cand_key[which] >> 34])  # the key's slot u
            # a reversal negates entries of its own procedures: its claim's encounter
            part_claims.append(by_claim)
            neg_target_new.append(target_new)
            neg_target_id.append(target_id)
    parts = [p.select(list(_PART_COLS)).cast(parts[0].select(list(_PART_COLS)).schema)
             for p in parts]  # fmt: skip
    table = pa.concat_tables(parts).combine_chunks()
    ranks = np.concatenate(sort_rank)
    m = table.num_rows
    o, new_pos, interleaved = _rank_order(ranks, reg_table.num_rows)
    start = ledger.next_entry_id()
    ids = start + new_pos
    negates = np.full(m, -1, np.int64)
    if neg_target_new:
        tn = np.concatenate(neg_target_new)
        ti = np.concatenate(neg_target_id)
        n_reg = reg_table.num_rows
        neg_rows = np.arange(n_reg, n_reg + len(tn))
        negates[neg_rows] = np.where(tn >= 0, ids[np.maximum(tn, 0)], ti)
    entry_procs = np.concatenate(part_procs)
    row_claims = np.concatenate(part_claims)
    if interleaved:  # reversals interleave: restore batch order
        table = table.take(pa.array(o))
        negates, entry_procs, row_claims = negates[o], entry_procs[o], row_claims[o]
        ids = ids[o]  # (start, start + 1, ...: each row's place in the order)
    columns = {
        # the claim's: its encounter was found by this very id (never a read of the
        # procedures' column, a copy of every procedure's id when it is in chunks);
        # taken once, in order (5.5M strings at 1M claims)
        "encounter_id": plain(b.claims["encounter_id"]).take(pa.array(row_claims)),
        **{name: table[name] for name in _PART_COLS},
        "negates": pa.array(negates, mask=negates < 0),
        "note": const(note, m),
        "entry_id": pa.array(ids),
        "posted_at": const(at, m, TIMESTAMP),
    }
    table = pa.table({name: columns[name] for name in (*_ENTRY_COLS, "entry_id", "posted_at")})
    per_claim = np.bincount(ev["order"][ranks], minlength=ev["n"]).astype(np.int64)
    return table, per_claim, entry_procs


def _rank_order(ranks: np.ndarray, n_regular: int) -> tuple:
    """(order, place, interleaved): the stable order of the entries by claim rank, each
    row's place in it, and whether it differs from the rows' own order.

    The first ``n_regular`` rows come in rank order already (items are sorted by claim
    rank): only the negations after them are sorted and merged in (a stable argsort of
    every entry took 0.2 s of a post of 1M claims).
    """
    m = len(ranks)
    regular, negations = ranks[:n_regular], ranks[n_regular:]
    if not is_nondecreasing_nb(regular):
        order = np.argsort(ranks, kind="stable")
        place = np.empty(m, np.int64)
        place[order] = np.arange(m)
        return order, place, bool((np.diff(order) < 0).any())
    by_rank = np.argsort(negations, kind="stable")
    # one merge pass: a negation follows every regular row of its rank or lower
    order, place = np.empty(m, np.int64), np.empty(m, np.int64)
    before = K.merge_rank_order_nb(regular, negations, by_rank, order, place)
    interleaved = before or not is_nondecreasing_nb(negations)
    return order, place, bool(interleaved)


def decisions_table(b, ev, n_entries, decided_at, actor, note) -> pa.Table:
    order = ev["order"]
    which = pa.array(ev["reason"][order])
    codes = pa.array(REASON_CODES).take(which)
    decision = pa.array([REASONS[c][0] for c in REASON_CODES]).take(which)
    words = pa.array([REASONS[c][1] for c in REASON_CODES]).take(which)
    take = pa.array(order)
    in_order = is_nondecreasing_nb(order)  # (a permutation: then the identity)

    def at(column):  # the batch's column in batch order
        return plain(column) if in_order else plain(column).take(take)

    c = b.claims
    seq = ev["seq"][order]
    n = b.n
    return pa.Table.from_arrays(
        [
            at(b.remit_id),
            decision,
            codes,
            words,
            at(c["encounter_id"]),
            at(b.payer_id),
            pa.array(seq, mask=seq == 0),
            at(c["status_code"]),
            at(c["payer_claim_control_number"]),
            at(c["charge_cents"]),
            at(c["paid_cents"]),
            pa.array(n_entries[order]),
            at(b.file),
            at(c["claim_id"]),
            pa.array(np.arange(n, dtype=np.int64)),
            const(decided_at, n, TIMESTAMP),
            const(actor, n),
            const(note, n),
        ],
        schema=DECISIONS_SCHEMA,
    )
