"""Remittances as store rows and back: the remit tables of a ``LedgerStore``.

A remit (one 835 claim) is keyed by its content fingerprint ``remit_id``
(``ledgerkit.posting``); its service lines, adjustments (CAS) and remark codes
(LQ, MOA, MIA) hang off that id. Provider-level adjustments (PLB) belong to a
payment, not a claim: each gets a ``plb_id`` from the payment it came with
(payer, trace number, amount, date) and its own content, so the same file
stored twice adds nothing. No patient names or member ids are stored.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.core.arrow import bool_array, dates_of, encode, numpy_array, plain
from ledgerkit.posting.batch import flatten, positions, row_hash, row_hash_pair

REMIT_TABLES = (
    "remit_claims",
    "remit_lines",
    "remit_adjustments",
    "remit_remarks",
    "remit_provider_adjustments",
)

CLAIM_COLUMNS = (
    "encounter_id", "status_code", "charge_cents", "paid_cents",
    "reported_patient_responsibility_cents", "claim_filing_indicator",
    "payer_claim_control_number", "facility_type", "frequency_code", "statement_from",
    "statement_to", "received_date", "rendering_provider_id", "patient_key", "subscriber_key",
)  # fmt: skip
LINE_COLUMNS = (
    "line_number", "procedure_qualifier", "procedure_code", "modifiers", "charge_cents",
    "paid_cents", "revenue_code", "units", "original_procedure_qualifier",
    "original_procedure_code", "original_modifiers", "original_units", "service_date",
    "service_start", "service_end", "line_control_number", "reported_allowed_cents",
)  # fmt: skip
ADJUSTMENT_COLUMNS = ("group_code", "carc", "amount_cents", "quantity")
REMARK_COLUMNS = ("source", "qualifier", "code")
PLB_COLUMNS = (
    "provider_id", "fiscal_period_date", "reason_code", "reference", "amount_cents",
)  # fmt: skip
PAYMENT_COLUMNS = ("payer_id", "file", "trace_number", "payment_date", "payment_cents")


def remit_schemas() -> dict:
    """Arrow schema of each remit table (every column nullable, as Delta stores it)."""
    from ledgerkit.x12.remittances import schema

    def cols(table, names):
        s = schema(table)
        return [s.field(c).with_nullable(True) for c in names]

    remit_id = pa.field("remit_id", pa.string())
    line_number = pa.field("line_number", pa.int32())
    return {
        "remit_claims": pa.schema(
            [
                remit_id,
                pa.field("payer_id", pa.string()),
                pa.field("file", pa.string()),
                pa.field("payment_date", pa.date32()),
            ]
            + cols("claims", CLAIM_COLUMNS)
        ),  # fmt: skip
        "remit_lines": pa.schema([remit_id] + cols("service_lines", LINE_COLUMNS)),
        "remit_adjustments": pa.schema(
            [remit_id, line_number] + cols("adjustments", ADJUSTMENT_COLUMNS)
        ),
        "remit_remarks": pa.schema([remit_id, line_number] + cols("remarks", REMARK_COLUMNS)),
        "remit_provider_adjustments": pa.schema(
            [pa.field("plb_id", pa.string())]
            + cols("transactions", PAYMENT_COLUMNS)
            + cols("provider_adjustments", PLB_COLUMNS)
        ),
    }


def remit_rows(r, stored_remit_ids: pa.Array, stored_plb_ids: pa.Array, batch=None) -> dict:
    """Rows of the remit tables for what is not stored yet.

    Parameters
    ----------
    r : Remittances
        The batch being posted.
    stored_remit_ids, stored_plb_ids : pyarrow.Array
        Ids already in the store (their rows are not written again).
    batch : optional
        ``ledgerkit.posting.flatten(r)`` when the caller has it already.

    Returns
    -------
    dict
        ``{table name: pyarrow.Table}`` for every table of ``REMIT_TABLES``.
    """
    b = flatten(r) if batch is None else batch
    ids = b.remit_id
    codes, _ = encode(ids)
    first = np.zeros(b.n, bool)
    if b.n:
        _, idx = np.unique(codes, return_index=True)
        first[idx] = True
    new = first & ~bool_array(pc.is_in(ids, value_set=stored_remit_ids))
    schemas = remit_schemas()
    lines = b.lines
    line_numbers = numpy_array(plain(lines["line_number"]))

    def rows(name, claim_pos, columns, source, line_pos=None):
        """Rows of ``source`` (one per CAS, line or remark) of the new remits."""
        if not b.n or not len(claim_pos):
            return schemas[name].empty_table()
        claim_pos = np.asarray(claim_pos, np.int64)
        out = {"remit_id": ids.take(pa.array(np.maximum(claim_pos, 0)))}
        if line_pos is not None:
            has_line = line_pos >= 0
            number = line_numbers[np.maximum(line_pos, 0)] if len(line_numbers) else 0
            out["line_number"] = pa.array(
                np.where(has_line, number, 0).astype(np.int32), mask=~has_line
            )
        for col in columns:
            out[col] = plain(source[col])
        keep = (claim_pos >= 0) & new[np.maximum(claim_pos, 0)]
        return pa.table(out).filter(pa.array(keep)).cast(schemas[name])

    claims = {
        "remit_id": ids,
        "payer_id": plain(b.payer_id),
        "file": plain(b.file),
        "payment_date": _dates(b.tx_date),
    }
    for col in CLAIM_COLUMNS:
        claims[col] = plain(b.claims[col])
    remarks = r.remarks
    return {
        "remit_claims": pa.table(claims).filter(pa.array(new)).cast(schemas["remit_claims"]),
        "remit_lines": rows("remit_lines", b.line_claim, LINE_COLUMNS, lines),
        "remit_adjustments": rows(
            "remit_adjustments", b.adj_claim, ADJUSTMENT_COLUMNS, b.adjustments, b.adj_line
        ),
        "remit_remarks": rows(
            "remit_remarks",
            positions(remarks["claim_id"], b.claims["claim_id"]),
            REMARK_COLUMNS,
            remarks,
            positions(remarks["line_id"], lines["line_id"]),
        ),
        "remit_provider_adjustments": _plb_rows(r, stored_plb_ids),
    }


def _dates(days: np.ndarray) -> pa.Array:
    """int days since 1970 -> date32, with 2**31 meaning unknown (null)."""
    known = days < 2**31
    return dates_of(np.where(known, days, 0), mask=~known)


def _plb_rows(r, stored_plb_ids: pa.Array) -> pa.Table:
    schema = remit_schemas()["remit_provider_adjustments"]
    plb, tx = r.provider_adjustments, r.transactions
    if plb.num_rows == 0:
        return schema.empty_table()
    take = pa.array(np.maximum(positions(plb["transaction_id"], tx["transaction_id"]), 0))
    payment = {c: plain(tx[c]).take(take) for c in PAYMENT_COLUMNS}
    # the n-th identical PLB row of a payment is its own adjustment: number them
    content = [payment[c] for c in PAYMENT_COLUMNS if c != "file"] + [plb[c] for c in PLB_COLUMNS]
    same = row_hash(content, 0x9E37)
    order = np.argsort(same, kind="stable")
    sorted_same = same[order]
    starts = np.r_[True, sorted_same[1:] != sorted_same[:-1]]
    run_start = np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
    ordinal = np.empty(len(order), np.int64)
    ordinal[order] = np.arange(len(order)) - run_start
    halves = row_hash_pair(content + [pa.array(ordinal)], 0x51ED, 0xA5A5)
    plb_id = pa.array(
        ["P" + f"{a:016x}{b:016x}" for a, b in zip(halves[0].tolist(), halves[1].tolist(),
                                                    strict=True)]
    )  # fmt: skip
    out = {"plb_id": plb_id, **payment}
    for col in PLB_COLUMNS:
        out[col] = plain(plb[col])
    table = pa.table(out).cast(schema)
    first = np.zeros(table.num_rows, bool)
    _, idx = np.unique(encode(plb_id)[0], return_index=True)
    first[idx] = True
    new = first & ~bool_array(pc.is_in(plb_id, value_set=stored_plb_ids))
    return table.filter(pa.array(new))


def to_remittances(claims: pa.Table, lines: pa.Table, adj: pa.Table, remarks: pa.Table):
    """Rebuild ``Remittances`` (one transaction per claim) from stored remit rows."""
    from ledgerkit.x12.remittances import Remittances
    from ledgerkit.x12.tables import findings_table, table_from_columns

    n = claims.num_rows
    cid = pa.array(np.arange(n, dtype=np.int32))
    ids = claims["remit_id"].combine_chunks()
    tx = table_from_columns(
        "transactions",
        {
            "transaction_id": cid,
            "file": pc.fill_null(claims["file"], "<store>").combine_chunks(),
            "st_control": pa.array([str(i + 1) for i in range(n)], pa.string()),
            "payer_id": claims["payer_id"].combine_chunks(),
            "payment_date": claims["payment_date"].combine_chunks(),
        },
    )
    ccols = {"claim_id": cid, "transaction_id": cid}
    for col in CLAIM_COLUMNS:
        ccols[col] = claims[col].combine_chunks()
    ccols["patient_responsibility_cents"] = pa.array(np.zeros(n, np.int64))
    ccols["allowed_cents"] = pa.array(np.zeros(n, np.int64))
    lcols = {
        "line_id": pa.array(np.arange(lines.num_rows, dtype=np.int32)),
        "claim_id": pc.index_in(lines["remit_id"], value_set=ids).cast(pa.int32()),
    }
    for col in LINE_COLUMNS:
        lcols[col] = lines[col].combine_chunks()
    line_keys = _line_keys(lines).combine_chunks()

    def attached(t: pa.Table) -> dict:
        """claim_id and line_id (null for claim level) of rows keyed by remit + line."""
        line = pc.index_in(_line_keys(t), value_set=line_keys) if lines.num_rows else None
        return {
            "claim_id": pc.index_in(t["remit_id"], value_set=ids).cast(pa.int32()),
            "line_id": (line.cast(pa.int32()) if line is not None
                        else pa.nulls(t.num_rows, pa.int32())),
        }  # fmt: skip

    acols = attached(adj)
    for col in ADJUSTMENT_COLUMNS:
        acols[col] = adj[col].combine_chunks()
    rcols = attached(remarks)
    for col in REMARK_COLUMNS:
        rcols[col] = remarks[col].combine_chunks()
    return Remittances(
        tx,
        table_from_columns("claims", ccols),
        table_from_columns("service_lines", lcols),
        table_from_columns("adjustments", acols),
        table_from_columns("remarks", rcols),
        table_from_columns("provider_adjustments", {"transaction_id": pa.array([], pa.int32())}),
        findings_table("<store>", []),
    )


def _line_keys(t: pa.Table):
    return pc.binary_join_element_wise(t["remit_id"], pc.cast(t["line_number"], pa.string()), "|")
