"""Replacement and void claims (CLM05-3 frequency 7 and 8) applied to a ledger, append-only.

A replacement (7) resends a claim the ledger holds with corrected lines; a
void (8) withdraws it. Neither alters a posted entry: the original's live
charges are negated and, for a replacement, its lines are charged again.

- **Void (8)**: every live charge of the encounter is negated; the
  encounter's charge is then 0 (its payments, if any, must be reversed first,
  or the negation would leave a credit, which the ledger refuses).
- **Replacement (7)**: each line of the replacement is matched with the
  ledger's line of the same number when it is the same service (code,
  modifiers, units); a matched line's live charge is negated and the new
  charge posted on it. A line of the replacement that matches none becomes a
  new procedure (next line number); a line of the original the replacement
  no longer has is negated to 0.

The entries are ``source="charge"``, ``actor="read_837"`` and a note naming
the frequency and the file; negations point at the entries they undo. The
encounter's own attributes (payers, dates, place of service) stay as the
original set them; a replacement naming another primary payer is refused.
"""

from __future__ import annotations

import datetime as dt
from pathlib import PurePath
from types import SimpleNamespace

import numpy as np
import pyarrow as pa

from ledgerkit.core.compute import pc
from ledgerkit.errors import LedgerError

__all__ = ["RESUBMISSION_CODES", "split_resubmissions", "apply_resubmissions"]

RESUBMISSION_CODES = ("7", "8")


def _renumbered(table: pa.Table, column: str, old_to_new: np.ndarray) -> pa.Table:
    """Rows of ``table`` whose ``column`` id is kept, with ids renumbered."""
    ids = table[column].to_numpy(zero_copy_only=False)
    if pa.types.is_floating(pa.from_numpy_dtype(ids.dtype)):  # nulls in a nullable id column
        ids = np.where(np.isnan(ids), -1, ids)
    ids = ids.astype(np.int64)
    keep = (ids >= 0) & (old_to_new[np.maximum(ids, 0)] >= 0)
    out = table.filter(pa.array(keep))
    i = out.schema.get_field_index(column)
    new_ids = pa.array(old_to_new[ids[keep]].astype(np.int32))
    return out.set_column(i, out.schema.field(i), new_ids)


def _subset(claims, rows: np.ndarray):
    """The claims ``rows`` as a claims-like object (claim and line ids renumbered)."""
    old_to_new = np.full(claims.claims.num_rows + 1, -1, np.int64)
    old_to_new[rows] = np.arange(len(rows))
    c = claims.claims.take(pa.array(rows))
    c = c.set_column(0, c.schema.field(0), pa.array(np.arange(len(rows), dtype=np.int32)))
    lines = _renumbered(claims.service_lines, "claim_id", old_to_new)
    return SimpleNamespace(
        transactions=claims.transactions,
        claims=c,
        service_lines=lines,
        other_payers=_renumbered(claims.other_payers, "claim_id", old_to_new),
        prior_adjudication=claims.prior_adjudication.slice(0, 0),
    )


def split_resubmissions(claims):
    """(claims of originals, rows of replacement/void claims in file order).

    The first is ``claims`` itself when there is no resubmission.
    """
    freq = claims.claims["frequency_code"]
    redo = pc.fill_null(pc.is_in(freq, pa.array(RESUBMISSION_CODES)), False)
    rows = np.flatnonzero(redo.to_numpy(zero_copy_only=False))
    if not len(rows):
        return claims, rows
    originals = np.flatnonzero(~redo.to_numpy(zero_copy_only=False))
    return _subset(claims, originals), rows


def _live_charges(ledger, encounter_id: str) -> dict[int, list[tuple[int, int, int]]]:
    """line -> [(entry_id, amount, payer_seq)] of the encounter's live charge entries."""
    e = ledger.entries
    mine = e.filter(pc.equal(e["encounter_id"], encounter_id)).to_pylist()
    negated = {r["negates"] for r in mine if r["negates"] is not None}
    out: dict[int, list] = {}
    for r in mine:
        if r["kind"] == "charge" and r["negates"] is None and r["entry_id"] not in negated:
            out.setdefault(r["line"], []).append(
                (r["entry_id"], r["amount_cents"], r["payer_seq"], r["payer_id"])
            )
    return out


def apply_resubmissions(ledger, claims, rows, *, at=None):
    """``ledger`` with the replacement and void claims ``rows`` of ``claims`` applied in order.

    Raises
    ------
    LedgerError
        A resubmission for an encounter the ledger does not hold, a
        replacement naming another primary payer, a line without a code, or
        entries the ledger refuses (a void of a paid claim leaves a credit);
        named by claims row, never by claim id. Nothing is applied then.
    """
    from ledgerkit.core.ledger import Ledger  # a cycle

    when = at or dt.datetime.now(dt.UTC)
    c = claims.claims
    ids = c["encounter_id"].to_pylist()
    freq = c["frequency_code"].to_pylist()
    payer = c["payer_id"].to_pylist()
    seq = c["payer_seq"].to_pylist()
    tx = c["transaction_id"].to_pylist()
    files = claims.transactions["file"].to_pylist()
    lines = claims.service_lines
    line_claim = lines["claim_id"].to_numpy(zero_copy_only=False)
    for row in rows:
        row = int(row)
        eid = ids[row]
        where = f"claims row {row}"
        kind = "replacement" if freq[row] == "7" else "void"
        pos = pc.index(ledger.encounters["encounter_id"], eid).as_py()
        if pos < 0:
            raise LedgerError(
                f"{where}: a {kind} claim (CLM05-3 {freq[row]}) for a claim the ledger does "
                "not hold; add the original first; nothing was added"
            )
        enc = ledger.encounters.slice(pos, 1).to_pylist()[0]
        primary = enc["payer1_id"]
        if (
            kind == "replacement"
            and (seq[row] or 1) == 1
            and payer[row] is not None
            and primary is not None
            and payer[row] != primary
        ):
            raise LedgerError(
                f"{where}: the replacement names another primary payer than the ledger's "
                "encounter; void it and send a new claim; nothing was added"
            )
        note = f"837 {kind} {PurePath(files[tx[row]]).name}"
        live = _live_charges(ledger, eid)
        entries, new_procs = [], []

        def negate_line(line):
            for entry_id, amount, payer_seq, payer_id in live.pop(line, []):
                entries.append(
                    dict(encounter_id=eid, line=line, payer_seq=payer_seq, payer_id=payer_id,
                         kind="charge", amount_cents=-amount, negates=entry_id)
                )  # fmt: skip

        if kind == "void":
            for line in sorted(live):
                negate_line(line)
        else:
            procs = ledger.procedures.filter(pc.equal(ledger.procedures["encounter_id"], eid))
            service = {
                p["line"]: (p["cpt"], p["modifiers"], p["units"]) for p in procs.to_pylist()
            }
            next_line = max(service, default=0) + 1
            mine = lines.filter(pa.array(line_claim == row)).to_pylist()
            seen = set()
            charges = []
            for n, li in enumerate(mine, start=1):
                code = li["procedure_code"] or li["revenue_code"]
                if code is None:
                    raise LedgerError(f"{where} line {n}: no procedure or revenue code")
                u = li["units"]
                units = 1 if u is None or np.isnan(u) else max(int(round(u)), 1)
                if service.get(n) == (code, li["modifiers"], units) and n not in seen:
                    line = n
                else:
                    line = next_line
                    next_line += 1
                    new_procs.append(
                        dict(encounter_id=eid, line=line, cpt=code, modifiers=li["modifiers"],
                             units=units, charge_cents=li["charge_cents"],
                             service_date=li["service_from"] or enc["service_date"],
                             line_control_number=li["line_control_number"])
                    )  # fmt: skip
                seen.add(line)
                charges.append((line, li["charge_cents"]))
            for line in sorted(set(live) | seen):
                negate_line(line)
            for line, amount in charges:
                entries.append(
                    dict(encounter_id=eid, line=line, payer_seq=1 if primary else 0,
                         payer_id=primary, kind="charge", amount_cents=amount, negates=None)
                )  # fmt: skip
        if new_procs:
            ledger = _with_procedures(ledger, new_procs, Ledger)
        if entries:
            for e in entries:
                e.update(source="charge", actor="read_837", note=note)
            ledger = ledger.append(entries, at=when)
    return ledger


def _with_procedures(ledger, rows: list[dict], cls):
    """``ledger`` with procedure rows added (no entries yet)."""
    from ledgerkit.core.validate import conform

    sch = ledger.procedures.schema
    new = pa.table(
        {
            f.name: pa.array([r.get(f.name) for r in rows], f.type.value_type)
            if pa.types.is_dictionary(f.type)
            else pa.array([r.get(f.name) for r in rows], f.type)
            for f in sch
        }
    )
    procedures = pa.concat_tables([ledger.procedures, conform(new, "procedures")])
    return cls.from_arrow(
        ledger.encounters, procedures, ledger.entries, ledger.payers, policy=ledger.policy
    )
