"""The payer decisions of a ledger, expressed as 835 remittances.

``remittances_from_ledger(ledger)`` turns the remit-sourced payments and
adjustments of a ledger (``ledgerkit.synth.generate`` or a real one) into a
:class:`~ledgerkit.x12.Remittances`, so that ``write_835`` can produce 835
files of any size whose contents are known, and round trips can be tested.

Mapping (one row per ...):

- transaction: one ERA = one ``remit_ref`` and payer; BPR02 = the sum of its
  claim payments (a negative total is written as a debit, BPR03 = D);
- claim: one encounter, payer and remit; entries of a remit that negate
  earlier entries form a **reversal** claim (CLP02 = 22, every amount
  negative), and the entries posted after them in the same remit its
  **correction**; CLP02 is otherwise the payer's position (1, 2, 3), or 4
  when nothing was paid nor assessed to the patient;
- service line: one procedure line with entries in that claim (charge from
  the procedures table, negated on a reversal);
- adjustment: one adjustment entry (group, CARC, amount), in posting order;
- remark: one RARC of an entry, at line level (LQ*HE).

The patient is written as a pseudonym only (``patient_key`` = "LK" + hex of
a hash of the ledger's own patient key), never a name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.core.arrow import bool_array, encode, numpy_array, plain, valid_array
from ledgerkit.x12.remittances import Remittances
from ledgerkit.x12.tables import findings_table, table_from_columns, with_derived_columns

__all__ = ["remittances_from_ledger", "FILING_INDICATOR"]

# Claim filing indicator (CLP06) by payer class.
FILING_INDICATOR = {
    "medicare": "MB",
    "medicaid": "MC",
    "medicare_advantage": "16",
    "commercial": "CI",
    "workers_comp": "WC",
    "self_pay": "ZZ",
    "other": "ZZ",
}
PAYEE = ("LEDGERKIT CLINIC", "XX", "1234567893")


def _key(value: str) -> str:
    digest = hashlib.blake2b(value.encode(), digest_size=12, person=b"ledgerkit-synth").digest()
    return "LK" + digest.hex().upper()


def _runs(*keys: np.ndarray) -> np.ndarray:
    """Run id of each row of rows sorted by ``keys`` (a new run when any key changes)."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, np.int64)
    change = np.zeros(n, bool)
    change[0] = True
    for k in keys:
        change[1:] |= k[1:] != k[:-1]
    return np.cumsum(change) - 1


def remittances_from_ledger(ledger) -> Remittances:
    """Remittances carrying the payer decisions (remit entries) of a ledger.

    Parameters
    ----------
    ledger : ledgerkit.Ledger

    Returns
    -------
    Remittances
        Balanced remittances: line charge - paid = line adjustments, claim
        charge - paid = its adjustments, BPR02 = sum of CLP04.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> r = remittances_from_ledger(lk.synth.generate(200, seed=3))
    >>> r.claims.num_rows > 200, r.findings.num_rows
    (True, 0)
    >>> "22" in r.claims.column("status_code").to_pylist()  # reversals come through
    True
    """
    e = _payer_decision_entries(ledger.entries)
    if e.num_rows == 0:
        return Remittances.concat([])
    rows = _remit_rows(e)
    lines = _line_amounts(ledger.procedures, rows)
    adj = _adjustment_codes(rows)
    claims, claim_paid = _claims_table(ledger, rows, lines, adj)
    adjustments = _adjustments_table(rows, adj)
    line_cols = _line_columns(rows, lines, adj)
    claims, service_lines = with_derived_columns(claims, line_cols, adjustments)
    return Remittances(
        _transactions_table(ledger.payers, rows, claim_paid),
        claims,
        service_lines,
        adjustments,
        _remarks_table(rows),
        table_from_columns("provider_adjustments", {"transaction_id": pa.array([], pa.int32())}),
        findings_table("<ledger>", []),
    )


def _payer_decision_entries(e: pa.Table) -> pa.Table:
    """The entries a payer sent: remit payments and adjustments of payers 1-3."""
    keep = pc.and_(
        pc.and_(pc.equal(plain(e.column("source")), "remit"), pc.greater(e["payer_seq"], 0)),
        pc.is_in(plain(e.column("kind")), pa.array(["payment", "adjustment"])),
    )
    return e.filter(keep)


@dataclass
class _RemitRows:
    """The payer-decision entries sorted into 835 order, and the transaction, claim
    and service line (``tx_of``, ``claim_of``, ``line_of``) each row belongs to.

    Rows are sorted by payer (one interchange each), ERA (remit_ref), encounter,
    payer position, phase (0 before any negation, 1 negations = the reversal
    claim, 2 after = the correction), line and posting order. ``first_*`` are
    the first row of each transaction, claim and line.
    """

    entries: pa.Table
    encounter_id: pa.Array
    ref_dictionary: pa.Array
    payer_dictionary: pa.Array
    ref_code: np.ndarray
    payer_code: np.ndarray
    seq: np.ndarray
    line: np.ndarray
    is_neg: np.ndarray
    is_pay: np.ndarray
    amount: np.ndarray
    phase: np.ndarray
    tx_of: np.ndarray
    claim_of: np.ndarray
    line_of: np.ndarray
    first_tx: np.ndarray
    first_cl: np.ndarray
    first_li: np.ndarray

    @property
    def n_claims(self) -> int:
        return len(self.first_cl)

    @property
    def n_lines(self) -> int:
        return len(self.first_li)


def _remit_rows(e: pa.Table) -> _RemitRows:
    enc = plain(e.column("encounter_id"))
    ref_c, ref_values = encode(pc.fill_null(plain(e.column("remit_ref")), ""))
    enc_c, _ = encode(enc)
    pay_c, payer_values = encode(pc.fill_null(plain(e.column("payer_id")), ""))
    seq = numpy_array(e.column("payer_seq"), dtype=np.int64)
    line = numpy_array(e.column("line"), dtype=np.int64)
    eid = numpy_array(e.column("entry_id"))
    is_neg = valid_array(e.column("negates"))
    is_pay = bool_array(pc.equal(plain(e.column("kind")), "payment"))
    amount = numpy_array(e.column("amount_cents"))
    rc, ec, pcode = (c.astype(np.int64) for c in (ref_c, enc_c, pay_c))

    # Sort by payer, ERA, encounter, seq, posting order.
    order = np.lexsort((eid, seq, ec, rc, pcode))
    rc, ec, pcode, seq, line, eid = (a[order] for a in (rc, ec, pcode, seq, line, eid))
    is_neg, is_pay, amount = is_neg[order], is_pay[order], amount[order]
    grp = _runs(pcode, rc, ec, seq)
    n = len(grp)
    first_neg = np.full(grp.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first_neg, grp[is_neg], np.flatnonzero(is_neg))
    seen_neg = np.arange(n) > first_neg[grp]
    phase = np.where(is_neg, 1, np.where(seen_neg, 2, 0))
    # Re-sort: phase before line so that each claim's rows are contiguous.
    order2 = np.lexsort((eid, line, phase, grp))
    rc, pcode, seq, line = (a[order2] for a in (rc, pcode, seq, line))
    is_neg, is_pay, amount, phase = (a[order2] for a in (is_neg, is_pay, amount, phase))

    tx_of = _runs(pcode, rc)
    claim_of = _runs(pcode, rc, ec[order2], seq, phase)
    line_of = _runs(pcode, rc, ec[order2], seq, phase, line)
    return _RemitRows(
        entries=e.take(pa.array(order)).take(pa.array(order2)),
        encounter_id=enc.take(pa.array(order)).take(pa.array(order2)),
        ref_dictionary=ref_values,
        payer_dictionary=payer_values,
        ref_code=rc,
        payer_code=pcode,
        seq=seq,
        line=line,
        is_neg=is_neg,
        is_pay=is_pay,
        amount=amount,
        phase=phase,
        tx_of=tx_of,
        claim_of=claim_of,
        line_of=line_of,
        first_tx=np.searchsorted(tx_of, np.arange(int(tx_of.max()) + 1)),
        first_cl=np.searchsorted(claim_of, np.arange(int(claim_of.max()) + 1)),
        first_li=np.searchsorted(line_of, np.arange(int(line_of.max()) + 1)),
    )


@dataclass
class _LineAmounts:
    """Per service line: its procedure row, encounter, claim, charge and paid."""

    procedures: pa.Table
    encounter_id: pa.Array
    claim: np.ndarray
    charge: np.ndarray  # negated on a reversal
    paid: np.ndarray


def _line_amounts(procs: pa.Table, rows: _RemitRows) -> _LineAmounts:
    """Procedure attributes by (encounter, line); paid = the line's payments."""
    pkey = pc.binary_join_element_wise(
        plain(procs.column("encounter_id")), pc.cast(procs.column("line"), pa.string()), "\x1f"
    )
    first_li = rows.first_li
    li_enc = rows.encounter_id.take(pa.array(first_li))
    li_line = pa.array(rows.line[first_li].astype(np.int32))
    lkey = pc.binary_join_element_wise(li_enc, pc.cast(li_line, pa.string()), "\x1f")
    pidx = pc.index_in(lkey, value_set=pkey)
    if pidx.null_count:
        raise ValueError("remit entries refer to procedures missing from ledger.procedures")
    proc = procs.take(pidx)
    sign = np.where(rows.is_neg[first_li], -1, 1)
    li_paid = np.zeros(rows.n_lines, np.int64)
    np.add.at(li_paid, rows.line_of[rows.is_pay], rows.amount[rows.is_pay])
    return _LineAmounts(
        procedures=proc,
        encounter_id=li_enc,
        claim=rows.claim_of[first_li],
        charge=numpy_array(proc.column("charge_cents")) * sign,
        paid=li_paid,
    )


@dataclass
class _AdjustmentCodes:
    """Group code and CARC of the adjustment rows (rows that are not payments)."""

    group_code: pa.Array
    carc: pa.Array
    is_pr: np.ndarray
    is_pr123: np.ndarray  # PR-1/2/3: deductible, coinsurance, copay


def _adjustment_codes(rows: _RemitRows) -> _AdjustmentCodes:
    adj = pa.array(~rows.is_pay)
    group = plain(rows.entries.column("group_code")).filter(adj)
    carc = plain(rows.entries.column("carc")).filter(adj)
    if len(group) == 0:
        return _AdjustmentCodes(group, carc, np.zeros(0, bool), np.zeros(0, bool))
    is_pr = bool_array(pc.equal(group, "PR"))
    pr123 = bool_array(pc.is_in(carc, pa.array(["1", "2", "3"])))
    return _AdjustmentCodes(group, carc, is_pr, is_pr & pr123)


def _claims_table(ledger, rows: _RemitRows, lines: _LineAmounts, adj: _AdjustmentCodes):
    """(claims table before derived columns, paid per claim)."""
    ncl = rows.n_claims
    cl_charge = np.zeros(ncl, np.int64)
    np.add.at(cl_charge, lines.claim, lines.charge)
    cl_paid = np.zeros(ncl, np.int64)
    np.add.at(cl_paid, lines.claim, lines.paid)
    is_adj = ~rows.is_pay
    cl_pr = np.zeros(ncl, np.int64)
    np.add.at(cl_pr, rows.claim_of[is_adj][adj.is_pr], rows.amount[is_adj][adj.is_pr])
    cl_seq = rows.seq[rows.first_cl]
    cl_phase = rows.phase[rows.first_cl]
    status = np.where(
        cl_phase == 1,
        "22",
        np.where((cl_paid == 0) & (cl_pr == 0), "4", cl_seq.astype(str)),
    )
    cl_enc = lines.encounter_id.take(pa.array(np.searchsorted(lines.claim, np.arange(ncl))))
    encounters = ledger.encounters
    eidx = pc.index_in(cl_enc, value_set=plain(encounters.column("encounter_id")))
    enc_rows = encounters.take(eidx)
    payers = ledger.payers
    cl_payer = rows.payer_dictionary.take(pa.array(rows.payer_code[rows.first_cl]))
    pidx = pc.index_in(cl_payer, value_set=plain(payers.column("payer_id")))
    payer_class = plain(payers.column("payer_class")).take(pidx)
    filing = pc.fill_null(
        pa.array([FILING_INDICATOR.get(c, "ZZ") for c in payer_class.to_pylist()], pa.string()),
        "ZZ",
    )
    patient = plain(enc_rows.column("patient_key"))
    pat_keys = pa.array([None if p is None else _key(p) for p in patient.to_pylist()], pa.string())
    pcn = pc.binary_join_element_wise(
        cl_payer, cl_enc, pc.cast(pa.array(cl_seq), pa.string()),
        pa.array(np.where(cl_phase == 1, "R", np.where(cl_phase == 2, "C", "")), pa.string()),
        "",
    )  # fmt: skip
    service = enc_rows.column("service_date")
    claims = table_from_columns(
        "claims",
        {
            "claim_id": pa.array(np.arange(ncl, dtype=np.int32)),
            "transaction_id": pa.array(rows.tx_of[rows.first_cl].astype(np.int32)),
            "encounter_id": cl_enc,
            "status_code": pa.array(status, pa.string()),
            "charge_cents": pa.array(cl_charge),
            "paid_cents": pa.array(cl_paid),
            "reported_patient_responsibility_cents": pa.array(cl_pr),
            "claim_filing_indicator": filing,
            "payer_claim_control_number": pcn,
            "facility_type": plain(enc_rows.column("place_of_service")),
            "frequency_code": pa.array(np.where(cl_phase == 1, "8", "1"), pa.string()),
            "statement_from": service,
            "statement_to": service,
            "rendering_provider_id": plain(enc_rows.column("provider_id")),
            "patient_key": pat_keys,
        },
    )
    return claims, cl_paid


def _line_columns(rows: _RemitRows, lines: _LineAmounts, adj: _AdjustmentCodes) -> dict:
    """Service line columns (the reader's derived columns are added by the caller)."""
    nli = rows.n_lines
    proc = lines.procedures
    mods = plain(proc.column("modifiers"))
    mods = pc.if_else(pc.equal(mods, ""), pa.nulls(len(mods), pa.string()), mods)
    line_number = np.arange(nli) - np.searchsorted(lines.claim, lines.claim) + 1
    is_adj = ~rows.is_pay
    li_adj_pr123 = np.zeros(nli, np.int64)
    np.add.at(li_adj_pr123, rows.line_of[is_adj][adj.is_pr123], rows.amount[is_adj][adj.is_pr123])
    return {
        "line_id": pa.array(np.arange(nli, dtype=np.int32)),
        "claim_id": pa.array(lines.claim.astype(np.int32)),
        "line_number": pa.array(line_number.astype(np.int32)),
        "procedure_qualifier": pa.array(np.full(nli, "HC"), pa.string()),
        "procedure_code": plain(proc.column("cpt")),
        "modifiers": mods,
        "charge_cents": pa.array(lines.charge),
        "paid_cents": pa.array(lines.paid),
        "units": pc.cast(proc.column("units"), pa.float64()),
        "service_date": proc.column("service_date"),
        "line_control_number": proc.column("line_control_number"),
        "reported_allowed_cents": pa.array(lines.paid + li_adj_pr123),
    }


def _adjustments_table(rows: _RemitRows, adj: _AdjustmentCodes) -> pa.Table:
    """One CAS per adjustment entry, in posting order."""
    is_adj = ~rows.is_pay
    return table_from_columns(
        "adjustments",
        {
            "claim_id": pa.array(rows.claim_of[is_adj].astype(np.int32)),
            "line_id": pa.array(rows.line_of[is_adj].astype(np.int32)),
            "group_code": adj.group_code,
            "carc": adj.carc,
            "amount_cents": pa.array(rows.amount[is_adj]),
            "quantity": pa.nulls(int(is_adj.sum()), pa.float64()),
        },
    )


def _remarks_table(rows: _RemitRows) -> pa.Table:
    """One line-level remark (LQ*HE) per entry with a RARC."""
    rarc = plain(rows.entries.column("rarc"))
    has_rarc = valid_array(rarc)
    n = int(has_rarc.sum())
    return table_from_columns(
        "remarks",
        {
            "claim_id": pa.array(rows.claim_of[has_rarc].astype(np.int32)),
            "line_id": pa.array(rows.line_of[has_rarc].astype(np.int32)),
            "source": pa.array(np.full(n, "LQ"), pa.string()),
            "qualifier": pa.array(np.full(n, "HE"), pa.string()),
            "code": rarc.filter(pa.array(has_rarc)),
        },
    )


def _transactions_table(payers: pa.Table, rows: _RemitRows, claim_paid) -> pa.Table:
    """One ERA per remit_ref and payer; one interchange and group per payer, dated
    the payer's last ERA."""
    ntx = len(rows.first_tx)
    tx_total = np.zeros(ntx, np.int64)
    np.add.at(tx_total, rows.tx_of[rows.first_cl], claim_paid)
    tx_payer = rows.payer_dictionary.take(pa.array(rows.payer_code[rows.first_tx]))
    tx_ref = rows.ref_dictionary.take(pa.array(rows.ref_code[rows.first_tx]))
    pidx = pc.index_in(tx_payer, value_set=plain(payers.column("payer_id")))
    tx_day = pc.cast(rows.entries.column("posted_at").take(pa.array(rows.first_tx)), pa.date32())
    payer_num = numpy_array(pidx, fill=0)  # an unknown payer numbers as the first
    days = numpy_array(tx_day.cast(pa.int32()))
    payer_last = np.zeros(len(payers) + 1, np.int64)
    pnum = numpy_array(pidx, fill=len(payers), dtype=np.int64)
    np.maximum.at(payer_last, pnum, days)
    gs_date = pa.array(payer_last[pnum].astype(np.int32)).cast(pa.date32())
    isa_ctl = pa.array([f"{int(p) + 1:09d}" for p in payer_num], pa.string())
    st_ctl = pa.array([f"{i + 1:04d}" for i in range(ntx)], pa.string())
    return table_from_columns(
        "transactions",
        {
            "transaction_id": pa.array(np.arange(ntx, dtype=np.int32)),
            "file": pa.array(np.full(ntx, "<ledger>"), pa.string()),
            "isa_sender": tx_payer,
            "isa_receiver": pa.array(np.full(ntx, "LEDGERKIT"), pa.string()),
            "isa_control": isa_ctl,
            "gs_sender": tx_payer,
            "gs_receiver": pa.array(np.full(ntx, "LEDGERKIT"), pa.string()),
            "gs_control": pc.cast(pa.array(payer_num.astype(np.int64) + 1), pa.string()),
            "gs_date": gs_date,
            "version": pa.array(np.full(ntx, "005010X221A1"), pa.string()),
            "st_control": st_ctl,
            "payer_id": tx_payer,
            "payer_id_qualifier": pa.array(np.full(ntx, "XV"), pa.string()),
            "payer_name": plain(payers.column("name")).take(pidx),
            "payee_name": pa.array(np.full(ntx, PAYEE[0]), pa.string()),
            "payee_id_qualifier": pa.array(np.full(ntx, PAYEE[1]), pa.string()),
            "payee_id": pa.array(np.full(ntx, PAYEE[2]), pa.string()),
            "handling_code": pa.array(np.where(tx_total == 0, "I", "C"), pa.string()),
            "payment_cents": pa.array(np.abs(tx_total)),
            "credit_debit": pa.array(np.where(tx_total < 0, "D", "C"), pa.string()),
            "payment_method": pa.array(np.where(tx_total == 0, "NON", "ACH"), pa.string()),
            "payment_date": tx_day,
            "trace_number": tx_ref,
            "trace_originator": pc.binary_join_element_wise("1", tx_payer, ""),
            "production_date": tx_day,
        },
    )
