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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.x12.read import _table, _with_derived, findings_table
from ledgerkit.x12.remittances import Remittances

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


def _plain(col) -> pa.Array:
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    return col


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
    e = ledger.entries
    kind = _plain(e.column("kind"))
    keep = pc.and_(
        pc.and_(pc.equal(_plain(e.column("source")), "remit"), pc.greater(e["payer_seq"], 0)),
        pc.is_in(kind, pa.array(["payment", "adjustment"])),
    )
    e = e.filter(keep)
    n = e.num_rows
    if n == 0:
        return Remittances.concat([])
    enc = _plain(e.column("encounter_id"))
    ref = pc.fill_null(_plain(e.column("remit_ref")), "")
    payer = pc.fill_null(_plain(e.column("payer_id")), "")
    seq = e.column("payer_seq").to_numpy().astype(np.int64)
    line = e.column("line").to_numpy().astype(np.int64)
    eid = e.column("entry_id").to_numpy()
    is_neg = e.column("negates").is_valid().to_numpy(zero_copy_only=False)
    is_pay = pc.equal(_plain(e.column("kind")), "payment").to_numpy(zero_copy_only=False)
    amount = e.column("amount_cents").to_numpy()
    ref_c = pc.dictionary_encode(ref)
    enc_c = pc.dictionary_encode(enc)
    pay_c = pc.dictionary_encode(payer)

    def codes(d):
        return d.indices.to_numpy().astype(np.int64) if n else np.zeros(0, np.int64)

    # Sort by payer (one interchange each), ERA (remit_ref), encounter, seq, posting order.
    rc, ec, pcode = codes(ref_c), codes(enc_c), codes(pay_c)
    order = np.lexsort((eid, seq, ec, rc, pcode))
    rc, ec, pcode, seq, line, eid = (
        rc[order],
        ec[order],
        pcode[order],
        seq[order],
        line[order],
        eid[order],
    )
    is_neg, is_pay, amount = is_neg[order], is_pay[order], amount[order]
    e = e.take(pa.array(order))
    # Phase within (ERA, encounter, seq): 0 before any negation, 1 negations, 2 after.
    grp = _runs(pcode, rc, ec, seq)
    seen_neg = np.zeros(n, bool)
    if n:
        first_neg = np.full(grp.max() + 1, np.iinfo(np.int64).max)
        np.minimum.at(first_neg, grp[is_neg], np.flatnonzero(is_neg))
        seen_neg = np.arange(n) > first_neg[grp]
    phase = np.where(is_neg, 1, np.where(seen_neg, 2, 0))
    # Re-sort: phase before line so that each claim's rows are contiguous.
    order2 = np.lexsort((eid, line, phase, grp))
    rc, ec, pcode, seq, line, eid = (a[order2] for a in (rc, ec, pcode, seq, line, eid))
    is_neg, is_pay, amount, phase, grp = (a[order2] for a in (is_neg, is_pay, amount, phase, grp))
    e = e.take(pa.array(order2))

    tx_of = _runs(pcode, rc)
    claim_of = _runs(pcode, rc, ec, seq, phase)
    line_of = _runs(pcode, rc, ec, seq, phase, line)
    ntx = int(tx_of.max()) + 1 if n else 0
    ncl = int(claim_of.max()) + 1 if n else 0
    nli = int(line_of.max()) + 1 if n else 0
    first_tx = np.searchsorted(tx_of, np.arange(ntx))
    first_cl = np.searchsorted(claim_of, np.arange(ncl))
    first_li = np.searchsorted(line_of, np.arange(nli))

    # Lines: procedure attributes by (encounter, line).
    procs = ledger.procedures
    pkey = pc.binary_join_element_wise(
        _plain(procs.column("encounter_id")), pc.cast(procs.column("line"), pa.string()), "\x1f"
    )
    li_enc = enc.take(pa.array(order)).take(pa.array(order2)).take(pa.array(first_li))
    li_line = pa.array(line[first_li].astype(np.int32))
    lkey = pc.binary_join_element_wise(li_enc, pc.cast(li_line, pa.string()), "\x1f")
    pidx = pc.index_in(lkey, value_set=pkey)
    if pidx.null_count:
        raise ValueError("remit entries refer to procedures missing from ledger.procedures")
    proc = procs.take(pidx)
    li_neg = is_neg[first_li]
    sign = np.where(li_neg, -1, 1)
    li_charge = proc.column("charge_cents").to_numpy() * sign
    li_paid = np.zeros(nli, np.int64)
    np.add.at(li_paid, line_of[is_pay], amount[is_pay])
    li_claim = claim_of[first_li]

    adj = ~is_pay
    kinds = {
        "group_code": _plain(e.column("group_code")).filter(pa.array(adj)),
        "carc": _plain(e.column("carc")).filter(pa.array(adj)),
    }
    rarc = _plain(e.column("rarc"))
    has_rarc = rarc.is_valid().to_numpy(zero_copy_only=False)

    # Claims.
    cl_charge = np.zeros(ncl, np.int64)
    np.add.at(cl_charge, li_claim, li_charge)
    cl_paid = np.zeros(ncl, np.int64)
    np.add.at(cl_paid, li_claim, li_paid)
    group = kinds["group_code"]
    is_pr = (
        pc.equal(group, "PR").to_numpy(zero_copy_only=False) if len(group) else np.zeros(0, bool)
    )
    cl_pr = np.zeros(ncl, np.int64)
    np.add.at(cl_pr, claim_of[adj][is_pr], amount[adj][is_pr])
    cl_seq = seq[first_cl]
    cl_phase = phase[first_cl]
    status = np.where(
        cl_phase == 1,
        "22",
        np.where((cl_paid == 0) & (cl_pr == 0), "4", cl_seq.astype(str)),
    )
    cl_enc = li_enc.take(pa.array(np.searchsorted(li_claim, np.arange(ncl))))
    encounters = ledger.encounters
    eidx = pc.index_in(cl_enc, value_set=_plain(encounters.column("encounter_id")))
    enc_rows = encounters.take(eidx)
    payers = ledger.payers
    cl_payer = pay_c.dictionary.take(pa.array(pcode[first_cl])) if n else pa.array([], pa.string())
    pidx2 = pc.index_in(cl_payer, value_set=_plain(payers.column("payer_id")))
    payer_class = _plain(payers.column("payer_class")).take(pidx2)
    filing = pc.fill_null(
        pa.array([FILING_INDICATOR.get(c, "ZZ") for c in payer_class.to_pylist()], pa.string()),
        "ZZ",
    )
    patient = _plain(enc_rows.column("patient_key"))
    pat_keys = pa.array([None if p is None else _key(p) for p in patient.to_pylist()], pa.string())
    pcn = pc.binary_join_element_wise(
        cl_payer, cl_enc, pc.cast(pa.array(cl_seq), pa.string()),
        pa.array(np.where(cl_phase == 1, "R", np.where(cl_phase == 2, "C", "")), pa.string()),
        "",
    )  # fmt: skip
    service = enc_rows.column("service_date")
    claims = _table(
        "claims",
        {
            "claim_id": pa.array(np.arange(ncl, dtype=np.int32)),
            "transaction_id": pa.array(tx_of[first_cl].astype(np.int32)),
            "encounter_id": cl_enc,
            "status_code": pa.array(status, pa.string()),
            "charge_cents": pa.array(cl_charge),
            "paid_cents": pa.array(cl_paid),
            "reported_patient_responsibility_cents": pa.array(cl_pr),
            "claim_filing_indicator": filing,
            "payer_claim_control_number": pcn,
            "facility_type": _plain(enc_rows.column("place_of_service")),
            "frequency_code": pa.array(np.where(cl_phase == 1, "8", "1"), pa.string()),
            "statement_from": service,
            "statement_to": service,
            "rendering_provider_id": _plain(enc_rows.column("provider_id")),
            "patient_key": pat_keys,
        },
    )
    mods = _plain(proc.column("modifiers"))
    mods = pc.if_else(pc.equal(mods, ""), pa.nulls(len(mods), pa.string()), mods)
    line_number = np.arange(nli) - np.searchsorted(li_claim, li_claim) + 1
    li_adj_pr123 = np.zeros(nli, np.int64)
    carc = kinds["carc"]
    is_pr123 = is_pr & (
        pc.is_in(carc, pa.array(["1", "2", "3"])).to_numpy(zero_copy_only=False)
        if len(carc)
        else np.zeros(0, bool)
    )
    np.add.at(li_adj_pr123, line_of[adj][is_pr123], amount[adj][is_pr123])
    line_cols = {
        "line_id": pa.array(np.arange(nli, dtype=np.int32)),
        "claim_id": pa.array(li_claim.astype(np.int32)),
        "line_number": pa.array(line_number.astype(np.int32)),
        "procedure_qualifier": pa.array(np.full(nli, "HC"), pa.string()),
        "procedure_code": _plain(proc.column("cpt")),
        "modifiers": mods,
        "charge_cents": pa.array(li_charge),
        "paid_cents": pa.array(li_paid),
        "units": pc.cast(proc.column("units"), pa.float64()),
        "service_date": proc.column("service_date"),
        "line_control_number": proc.column("line_control_number"),
        "reported_allowed_cents": pa.array(li_paid + li_adj_pr123),
    }
    adjustments = _table(
        "adjustments",
        {
            "claim_id": pa.array(claim_of[adj].astype(np.int32)),
            "line_id": pa.array(line_of[adj].astype(np.int32)),
            "group_code": kinds["group_code"],
            "carc": kinds["carc"],
            "amount_cents": pa.array(amount[adj]),
            "quantity": pa.nulls(int(adj.sum()), pa.float64()),
        },
    )
    remarks = _table(
        "remarks",
        {
            "claim_id": pa.array(claim_of[has_rarc].astype(np.int32)),
            "line_id": pa.array(line_of[has_rarc].astype(np.int32)),
            "source": pa.array(np.full(int(has_rarc.sum()), "LQ"), pa.string()),
            "qualifier": pa.array(np.full(int(has_rarc.sum()), "HE"), pa.string()),
            "code": rarc.filter(pa.array(has_rarc)),
        },
    )
    # Transactions: one ERA per remit_ref and payer.
    tx_total = np.zeros(ntx, np.int64)
    np.add.at(tx_total, tx_of[first_cl], cl_paid)
    tx_payer = pay_c.dictionary.take(pa.array(pcode[first_tx])) if n else pa.array([], pa.string())
    tx_ref = ref_c.dictionary.take(pa.array(rc[first_tx])) if n else pa.array([], pa.string())
    pidx3 = pc.index_in(tx_payer, value_set=_plain(payers.column("payer_id")))
    tx_day = pc.cast(e.column("posted_at").take(pa.array(first_tx)), pa.date32())
    payer_num = pc.index_in(tx_payer, value_set=_plain(payers.column("payer_id"))).to_numpy(
        zero_copy_only=False
    )
    # One interchange and group per payer: the group date is the payer's last ERA date.
    days = tx_day.cast(pa.int32()).to_numpy(zero_copy_only=False)
    payer_last = np.zeros(len(payers) + 1, np.int64)
    pnum = np.nan_to_num(payer_num, nan=len(payers)).astype(np.int64)
    np.maximum.at(payer_last, pnum, days)
    gs_date = pa.array(payer_last[pnum].astype(np.int32)).cast(pa.date32())
    isa_ctl = pa.array([f"{int(p) + 1:09d}" for p in np.nan_to_num(payer_num)], pa.string())
    st_ctl = pa.array([f"{i + 1:04d}" for i in range(ntx)], pa.string())
    transactions = _table(
        "transactions",
        {
            "transaction_id": pa.array(np.arange(ntx, dtype=np.int32)),
            "file": pa.array(np.full(ntx, "<ledger>"), pa.string()),
            "isa_sender": tx_payer,
            "isa_receiver": pa.array(np.full(ntx, "LEDGERKIT"), pa.string()),
            "isa_control": isa_ctl,
            "gs_sender": tx_payer,
            "gs_receiver": pa.array(np.full(ntx, "LEDGERKIT"), pa.string()),
            "gs_control": pc.cast(
                pa.array(np.nan_to_num(payer_num).astype(np.int64) + 1), pa.string()
            ),
            "gs_date": gs_date,
            "version": pa.array(np.full(ntx, "005010X221A1"), pa.string()),
            "st_control": st_ctl,
            "payer_id": tx_payer,
            "payer_id_qualifier": pa.array(np.full(ntx, "XV"), pa.string()),
            "payer_name": _plain(payers.column("name")).take(pidx3),
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
    claims, lines = _with_derived(claims, line_cols, adjustments)
    # Keep transactions in a stable, writer-friendly order: by interchange (payer).
    return Remittances(
        transactions,
        claims,
        lines,
        adjustments,
        remarks,
        _table("provider_adjustments", {"transaction_id": pa.array([], pa.int32())}),
        findings_table("<ledger>", []),
    )
