"""What a payer sends when it overturns a denial: a reversal and a corrected claim.

:func:`overturn_remit` builds it from the remit a store posted for the denial,
the way payers reprocess a claim after a won appeal: one 835 transaction with
the original claim reversed (CLP02 = 22, every amount negated) and the
corrected claim paying what was denied. Posting it negates the denial's
entries and posts the payment, so the appeal's work item links the recovered
cents (:func:`ledgerkit.work_items`). For notebooks, demos and tests.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.errors import LedgerError

__all__ = ["overturn_remit"]

PATIENT_GROUP = "PR"


def overturn_remit(store, encounter_id: str, line: int, carc: str, *, cents=None, paid_on=None):
    """The payer's reprocessed claim after overturning the ``carc`` denial on a line.

    Parameters
    ----------
    store : LedgerStore
        Holds the posted remit that carries the denial.
    encounter_id : str
    line : int
    carc : str
        The denial overturned (its non-PR adjustments on that line).
    cents : int, optional
        What the payer now pays on the line (default: the whole denied amount;
        less is a partial overturn, the rest of the denial stays).
    paid_on : date, optional
        The payment date (default: today).

    Returns
    -------
    Remittances
        One transaction: the reversal of the denying remit, then its correction.

    Raises
    ------
    LedgerError
        No live remit denies that line with that CARC, or ``cents`` is not
        between 1 and the denied amount.

    Examples
    --------
    >>> import tempfile, ledgerkit as lk
    >>> from ledgerkit.widgets import sample_store
    >>> store = sample_store(tempfile.mkdtemp() + "/s", lk.synth.generate(300, seed=5),
    ...                      conflicts=0, unmatched=0, unbalanced=0)
    >>> row = [r for r in lk.worklist(store).to_pylist() if r["class"] == "DENIAL"][0]
    >>> r = overturn_remit(store, row["encounter_id"], row["line"], row["carc"])
    >>> r.claims["status_code"].to_pylist()
    ['22', '1']
    """
    carc = str(carc)
    ledger = store.ledger()
    e = ledger.entries
    mine = e.filter(pc.equal(e["encounter_id"].cast(pa.string()), str(encounter_id))).to_pylist()
    negated = {x["negates"] for x in mine if x["negates"] is not None}
    denials = [
        x for x in mine
        if x["kind"] == "adjustment" and x["line"] == int(line) and x["carc"] == carc
        and x["group_code"] != PATIENT_GROUP and x["negates"] is None
        and x["entry_id"] not in negated and x["remit_ref"] is not None
    ]  # fmt: skip
    if not denials:
        raise LedgerError(
            "overturn_remit: no live remit adjustment with that CARC on that line to overturn"
        )
    remit_id = str(denials[-1]["remit_ref"])
    r = store.remittances([remit_id])
    if r.claims.num_rows != 1:
        raise LedgerError("overturn_remit: the denying remit is not stored as one claim")
    lines = r.service_lines.to_pylist()
    adj = r.adjustments.to_pylist()
    line_ids = _svc_lines(ledger, encounter_id, int(line), carc, lines, adj)
    hit = [a for a in adj if a["line_id"] in line_ids and a["carc"] == carc
           and a["group_code"] != PATIENT_GROUP]  # fmt: skip
    denied = sum(a["amount_cents"] for a in hit)
    pay = denied if cents is None else int(cents)
    if not 0 < pay <= denied:
        raise LedgerError("overturn_remit: cents must be > 0 and at most the denied amount")

    claim = r.claims.to_pylist()[0]
    reversal = _negated(claim, lines, adj)
    fixed_adj, left = [], pay
    for a in adj:
        if a in hit and left:
            take = min(left, a["amount_cents"])
            left -= take
            if a["amount_cents"] == take:
                continue
            a = {**a, "amount_cents": a["amount_cents"] - take}
        fixed_adj.append(a)
    fixed_lines = [
        {**li, "paid_cents": (li["paid_cents"] or 0) + pay} if li["line_id"] == line_ids[0] else li
        for li in lines
    ]
    fixed_claim = {**claim, "paid_cents": claim["paid_cents"] + pay}
    if fixed_claim["status_code"] == "4":  # denied; now processed as the payer it is
        fixed_claim["status_code"] = str(denials[-1]["payer_seq"])
    return _remittances(r, [reversal, (fixed_claim, fixed_lines, fixed_adj)], pay, paid_on)


def _svc_lines(ledger, encounter_id, line: int, carc: str, lines: list, adj: list) -> list:
    """The stored remit's service line of ledger ``line`` (as posting matched it: the
    billed code and charge), the one carrying the ``carc`` denial first."""
    p = ledger.procedures
    proc = p.filter(
        pc.and_(pc.equal(p["encounter_id"].cast(pa.string()), str(encounter_id)),
                pc.equal(p["line"], line))
    ).to_pylist()[0]  # fmt: skip
    denied = {a["line_id"] for a in adj if a["carc"] == carc and a["group_code"] != PATIENT_GROUP}
    same = [
        li["line_id"] for li in lines
        if (li["original_procedure_code"] or li["procedure_code"]) == proc["cpt"]
        and abs(li["charge_cents"] or 0) == proc["charge_cents"]
    ]  # fmt: skip
    found = sorted(same, key=lambda i: i not in denied)
    if not found or found[0] not in denied:
        raise LedgerError("overturn_remit: the denying remit has no matching service line")
    return found[:1]


def _negated(claim: dict, lines: list, adj: list):
    def neg(v):
        return None if v is None else -v

    money = ("charge_cents", "paid_cents", "patient_responsibility_cents",
             "reported_patient_responsibility_cents", "allowed_cents")  # fmt: skip
    c = {**claim, "status_code": "22", **{k: neg(claim.get(k)) for k in money if k in claim}}
    li = [{**x, **{k: neg(x.get(k)) for k in ("charge_cents", "paid_cents", "allowed_cents",
                                              "reported_allowed_cents") if k in x}}
          for x in lines]  # fmt: skip
    a = [{**x, "amount_cents": -x["amount_cents"]} for x in adj]
    return c, li, a


def _remittances(r, claims: list, paid: int, paid_on):
    """One transaction of the given (claim, lines, adjustments), ids renumbered."""
    from ledgerkit.x12 import Remittances

    out_claims, out_lines, out_adj = [], [], []
    for cid, (claim, lines, adj) in enumerate(claims):
        new_id = {}
        for li in lines:
            new_id[li["line_id"]] = len(out_lines)
            out_lines.append({**li, "claim_id": cid, "line_id": new_id[li["line_id"]]})
        out_claims.append({**claim, "claim_id": cid, "transaction_id": 0})
        out_adj += [
            {
                **a,
                "claim_id": cid,
                "line_id": None if a["line_id"] is None else new_id[a["line_id"]],
            }
            for a in adj
        ]
    tx = r.transactions.to_pylist()[0]
    tx.update(transaction_id=0, payment_cents=paid,
              payment_date=paid_on or dt.date.today())  # fmt: skip
    return Remittances(
        pa.Table.from_pylist([tx], schema=r.transactions.schema),
        pa.Table.from_pylist(out_claims, schema=r.claims.schema),
        pa.Table.from_pylist(out_lines, schema=r.service_lines.schema),
        pa.Table.from_pylist(out_adj, schema=r.adjustments.schema),
        r.remarks.slice(0, 0),
        r.provider_adjustments.slice(0, 0),
        r.findings.slice(0, 0),
    )
