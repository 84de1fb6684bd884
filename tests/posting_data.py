"""Shared data for the posting, review and store tests: synth ledgers split into
charges (+ patient and manual work) and their 835 remits, and small remit edits."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import ledgerkit as lk
from ledgerkit.synth.remits import remittances_from_ledger
from ledgerkit.x12 import Remittances, read_835, write_835


def payer_decisions(entries: pa.Table) -> pa.Array:
    """Mask of the entries ``remittances_from_ledger`` expresses as 835 claims."""
    return pc.and_(
        pc.and_(
            pc.equal(entries["source"].cast(pa.string()), "remit"),
            pc.greater(entries["payer_seq"], 0),
        ),
        pc.is_in(entries["kind"].cast(pa.string()), pa.array(["payment", "adjustment"])),
    )


def split(full: lk.Ledger) -> tuple[lk.Ledger, Remittances]:
    """(ledger without payer decisions, the payer decisions as Remittances)."""
    e = full.entries
    base = lk.Ledger.from_arrow(
        full.encounters, full.procedures, e.filter(pc.invert(payer_decisions(e))), full.payers
    )
    return base, remittances_from_ledger(full)


def via_835(r: Remittances, folder, name="batch.835") -> Remittances:
    """Write ``r`` with write_835 and read it back (what a clearinghouse delivers)."""
    return read_835(write_835(r, folder / name))


def with_columns(t: pa.Table, **columns) -> pa.Table:
    for name, values in columns.items():
        i = t.column_names.index(name)
        t = t.set_column(i, t.schema.field(i), pa.array(values, t.schema.field(i).type))
    return t


def copy(r: Remittances, **tables) -> Remittances:
    parts = {name: getattr(r, name) for name in r.tables}
    parts.update(tables)
    return Remittances(**parts)


def claims_where(r: Remittances, mask) -> list[int]:
    return np.flatnonzero(np.asarray(mask)).tolist()


def subset(r: Remittances, claim_positions) -> Remittances:
    """The remittances of some claims (by position in ``r.claims``), ids renumbered."""
    claims = r.claims.take(pa.array(claim_positions, pa.int64()))
    cid = claims["claim_id"].combine_chunks()
    tx = r.transactions
    tx = tx.filter(
        pc.is_in(tx["transaction_id"], value_set=claims["transaction_id"].combine_chunks())
    )
    lines = r.service_lines.filter(pc.is_in(r.service_lines["claim_id"], value_set=cid))

    def renumber(t, col, old_ids):
        if col not in t.column_names:
            return t
        new = pc.index_in(t[col], value_set=old_ids.combine_chunks()).cast(pa.int32())
        i = t.column_names.index(col)
        return t.set_column(i, t.schema.field(i), new)

    def fix(t):
        t = renumber(t, "transaction_id", tx["transaction_id"])
        t = renumber(t, "claim_id", claims["claim_id"])
        return renumber(t, "line_id", lines["line_id"])

    def sub(t):
        return fix(t.filter(pc.is_in(t["claim_id"], value_set=cid)))

    return copy(
        r,
        transactions=fix(tx),
        claims=fix(claims),
        service_lines=fix(lines),
        adjustments=sub(r.adjustments),
        remarks=sub(r.remarks),
        provider_adjustments=r.provider_adjustments.slice(0, 0),
        findings=r.findings.slice(0, 0),
    )


def single_line_paid_claims(r: Remittances) -> list[int]:
    """Positions of primary claims with one service line, paid > 0, not reversals."""
    n_lines = np.bincount(r.service_lines["claim_id"].to_numpy(), minlength=r.claims.num_rows)
    status = np.asarray(r.claims["status_code"].to_pylist())
    paid = r.claims["paid_cents"].to_numpy()
    return np.flatnonzero((n_lines == 1) & (status == "1") & (paid > 0)).tolist()


def shift_paid(r: Remittances, claim_pos: int, delta: int, group="CO", carc="45",
               pccn_suffix="-2") -> Remittances:  # fmt: skip
    """A new remit from claim ``claim_pos`` of ``r``: its first line pays ``delta`` more
    and a (group, carc) adjustment of ``-delta`` keeps it balanced."""
    one = subset(r, [claim_pos])
    c = one.claims
    lines = one.service_lines
    first_line = lines["line_id"][0].as_py()
    pccn = (c["payer_claim_control_number"][0].as_py() or "") + pccn_suffix
    claims = with_columns(
        c, paid_cents=[c["paid_cents"][0].as_py() + delta], payer_claim_control_number=[pccn]
    )
    paid = lines["paid_cents"].to_pylist()
    paid[0] += delta
    lines = with_columns(lines, paid_cents=paid)
    extra = pa.Table.from_pylist(
        [{"claim_id": c["claim_id"][0].as_py(), "line_id": first_line, "group_code": group,
          "carc": carc, "amount_cents": -delta, "quantity": None}],
        schema=one.adjustments.schema,
    )  # fmt: skip
    tx = one.transactions
    tx = with_columns(tx, payment_cents=[claims["paid_cents"][0].as_py()])
    return copy(
        one,
        transactions=tx,
        claims=claims,
        service_lines=lines,
        adjustments=pa.concat_tables([one.adjustments, extra]),
    )
