"""Encounters, procedures and charge entries from claims read from 837 files.

``Ledger.from_837`` and ``Ledger.add_claims`` call :func:`ledger_tables_from_claims`;
it takes the tables of a ``ledgerkit.x12.Claims`` (any object with ``claims``,
``service_lines``, ``prior_adjudication`` and ``transactions`` tables), so the
core does not depend on the reader.

One encounter per claim id (CLM01, the id the payer's 835 returns as CLP01),
one procedure per service line (line numbers 1.. in file order) and one charge
entry per procedure, on the claim's primary payer (on the patient for a claim
with no payer). A claim id may appear more than once only as the same claim
sent to later payers (coordination of benefits: a higher SBR01 with the same
lines); those copies name the secondary and tertiary payers and add no charge.
"""

from __future__ import annotations

import datetime as dt
from pathlib import PurePath

import numpy as np
import pyarrow as pa

from ledgerkit.core.arrow import numpy_array
from ledgerkit.core.compute import pc
from ledgerkit.core.schema import arrow_schema
from ledgerkit.errors import LedgerError

__all__ = [
    "ledger_tables_from_claims",
    "payers_from_claims",
    "PAYER_CLASS_BY_FILING",
    "FILING_BY_CLASS",
]

# Claim filing indicator (SBR09) -> payer class; anything else is "other".
PAYER_CLASS_BY_FILING = {
    "MA": "medicare", "MB": "medicare",
    "MC": "medicaid",
    "16": "medicare_advantage",
    "CI": "commercial", "BL": "commercial", "HM": "commercial", "12": "commercial",
    "13": "commercial", "14": "commercial", "15": "commercial", "17": "commercial",
    "DS": "commercial", "LM": "commercial",
    "WC": "workers_comp",
    "09": "self_pay",
}  # fmt: skip
# Payer class -> the filing indicator a claim to such a payer carries (writers).
FILING_BY_CLASS = {
    "medicare": "MB", "medicaid": "MC", "medicare_advantage": "16", "commercial": "CI",
    "workers_comp": "WC", "self_pay": "09", "other": "ZZ",
}  # fmt: skip
_SEQ_BY_LETTER = {letter: i for i, letter in enumerate("PST", start=1)}


def _column(table: pa.Table, name: str) -> list:
    return table.column(name).to_pylist()


def payers_from_claims(claims) -> pa.Table:
    """Payer reference rows for every payer an 837 names (its own and other coverage).

    The class comes from the claim filing indicator (SBR09) of the claims sent
    to that payer, or of the 2320 loops naming it (:data:`PAYER_CLASS_BY_FILING`).
    Filing and appeal windows are the ledger defaults.
    """
    from ledgerkit.core.ledger import DEFAULT_APPEAL_DAYS, DEFAULT_TIMELY_FILING_DAYS  # a cycle

    names: dict[str, str | None] = {}
    classes: dict[str, str] = {}
    # The claims' own payers first, then the other payers of COB claims.
    for t in (claims.claims, claims.other_payers):
        for pid, name, filing in zip(
            _column(t, "payer_id"), _column(t, "payer_name"), _column(t, "claim_filing_indicator"),
            strict=True,
        ):  # fmt: skip
            if pid is None:
                continue
            names.setdefault(pid, name)
            cls = PAYER_CLASS_BY_FILING.get(filing or "", "other")
            if classes.get(pid, "other") == "other":
                classes[pid] = cls
    ids = sorted(names)
    return pa.table(
        {
            "payer_id": pa.array(ids, pa.string()),
            "name": pa.array([names[i] or i for i in ids], pa.string()),
            "payer_class": pa.array([classes[i] for i in ids], pa.string()),
            "timely_filing_days": pa.array([DEFAULT_TIMELY_FILING_DAYS] * len(ids), pa.int32()),
            "appeal_days": pa.array([DEFAULT_APPEAL_DAYS] * len(ids), pa.int32()),
        }
    )


def _coverages(claims, groups: list[list[int]]) -> list[dict[int, str]]:
    """Payer of each sequence (1..3) named by the claims of each encounter: the
    claim's own payer (SBR01, NM1*PR) and its other coverage (2320 SBR01, 2330B)."""
    c, other = claims.claims, claims.other_payers
    seq, pid = _column(c, "payer_seq"), _column(c, "payer_id")
    named: dict[int, list] = {}
    for cl, k, payer in zip(
        _column(other, "claim_id"), _column(other, "payer_seq"), _column(other, "payer_id"),
        strict=True,
    ):  # fmt: skip
        named.setdefault(cl, []).append((k, payer))
    out = []
    for rows in groups:
        cover: dict[int, str] = {}
        pairs = [(seq[r], pid[r]) for r in rows]
        pairs += [pair for r in rows for pair in named.get(r, [])]
        for k, payer in pairs:
            if k is None or payer is None or k > 3:
                continue
            if cover.setdefault(k, payer) != payer:
                raise LedgerError(
                    f"claims rows {rows}: two different payers for payer_seq {k} "
                    "(SBR/NM1*PR of the claims and their 2320/2330B loops)"
                )
        out.append(cover)
    return out


def _encounter_rows(claims) -> list[list[int]]:
    """Claim rows of each encounter (first appearance order), checked for duplicates."""
    c = claims.claims
    ids = _column(c, "encounter_id")
    freq = _column(c, "frequency_code")
    seq = _column(c, "payer_seq")
    redo = [i for i, f in enumerate(freq) if f in ("7", "8")]
    if redo:
        raise LedgerError(
            f"claims rows {redo[:5]}{'...' if len(redo) > 5 else ''}: replacement and void "
            "claims (CLM05-3 7 or 8) are not encounters of their own; Ledger.from_837 and "
            "add_claims apply them (ledgerkit.core.resubmissions)"
        )
    groups: dict[str, list[int]] = {}
    for i, enc in enumerate(ids):
        groups.setdefault(enc, []).append(i)
    charge = _column(c, "charge_cents")
    for rows in groups.values():
        if len(rows) > 1:
            seqs = [seq[r] for r in rows]
            same_claim = len({charge[r] for r in rows}) == 1
            if len(set(seqs)) != len(seqs) or None in seqs or not same_claim:
                raise LedgerError(
                    f"claims rows {rows}: the same claim id (CLM01) is used by {len(rows)} "
                    "claims that are not one claim sent to successive payers (same charge, "
                    "different SBR01); a claim id names one encounter"
                )
    return list(groups.values())


def _base_rows(claims, groups) -> np.ndarray:
    """The claim that defines each encounter's lines: the lowest payer sequence."""
    seq = _column(claims.claims, "payer_seq")
    return np.array([min(rows, key=lambda r: (seq[r] or 0, r)) for rows in groups], np.int64)


def ledger_tables_from_claims(claims, *, at=None, first_entry_id: int = 0):
    """(encounters, procedures, entries) tables for ``claims``, in the ledger's schemas.

    Parameters
    ----------
    claims : ledgerkit.x12.Claims
    at : datetime, optional
        ``posted_at`` of the charge entries (now when omitted).
    first_entry_id : int
        ``entry_id`` of the first charge entry.

    Raises
    ------
    LedgerError
        Replacement or void claims, a claim id used by unrelated claims, a
        claim without service lines or dates, a line without a code: named by
        row (never by claim id or patient).
    """
    c, lines = claims.claims, claims.service_lines
    groups = _encounter_rows(claims)
    base = _base_rows(claims, groups)
    ncl = c.num_rows
    counts = numpy_array(c["line_count"]).astype(np.int64)
    empty = base[counts[base] == 0]
    if len(empty):
        raise LedgerError(f"claims rows {empty[:5].tolist()}: a claim without service lines")
    enc_ids = c["encounter_id"].take(pa.array(base))
    cover = _coverages(claims, groups)
    service = pc.coalesce(c["service_from"], c["statement_from"]).take(pa.array(base))
    if service.null_count:
        row = int(base[np.flatnonzero(pc.is_null(service).to_numpy(zero_copy_only=False))[0]])
        raise LedgerError(f"claims row {row}: no service date (DTP*472 or DTP*434)")
    provider = pc.coalesce(c["rendering_provider_id"], c["attending_provider_id"])
    encounters = pa.table(
        {
            "encounter_id": enc_ids,
            "patient_key": c["patient_key"].take(pa.array(base)),
            "site_id": c["billing_provider_npi"].take(pa.array(base)),
            "provider_id": provider.take(pa.array(base)),
            "location_id": c["service_facility_id"].take(pa.array(base)),
            "place_of_service": c["place_of_service"].take(pa.array(base)),
            "service_date": service,
            **{f"payer{k}_id": pa.array([cv.get(k) for cv in cover], pa.string())
               for k in (1, 2, 3)},
        }
    )  # fmt: skip
    # procedures: the lines of each base claim, in order
    line_claim = numpy_array(lines["claim_id"]).astype(np.int64)
    enc_of_claim = np.full(ncl, -1, np.int64)
    enc_of_claim[base] = np.arange(len(base))
    keep = np.flatnonzero(enc_of_claim[line_claim] >= 0)
    keep = keep[np.argsort(enc_of_claim[line_claim[keep]], kind="stable")]
    li = lines.take(pa.array(keep))
    enc_of_line = enc_of_claim[line_claim[keep]]
    starts = np.searchsorted(enc_of_line, enc_of_line, side="left")
    line_no = (np.arange(len(keep)) - starts + 1).astype(np.int32)
    code = pc.coalesce(li["procedure_code"], li["revenue_code"])
    if code.null_count:
        row = int(keep[np.flatnonzero(pc.is_null(code).to_numpy(zero_copy_only=False))[0]])
        raise LedgerError(f"service_lines row {row}: no procedure or revenue code")
    units = li["units"].to_numpy(zero_copy_only=False)
    units = np.where(np.isnan(units), 1, np.maximum(np.rint(units), 1)).astype(np.int32)
    line_date = pc.coalesce(li["service_from"], service.take(pa.array(enc_of_line)))
    procedures = pa.table(
        {
            "encounter_id": enc_ids.take(pa.array(enc_of_line)),
            "line": pa.array(line_no),
            "cpt": code,
            "modifiers": li["modifiers"],
            "units": pa.array(units),
            "charge_cents": li["charge_cents"],
            "service_date": line_date,
            "line_control_number": li["line_control_number"],
        }
    )
    # one charge per procedure, on the primary (the patient when there is none)
    n = procedures.num_rows
    payer1 = encounters["payer1_id"].take(pa.array(enc_of_line))
    tx_of_claim = numpy_array(c["transaction_id"]).astype(np.int64)
    files = claims.transactions["file"].take(pa.array(tx_of_claim[line_claim[keep]]))
    notes = pc.binary_join_element_wise(
        "837 ", pa.array([PurePath(f).name for f in files.to_pylist()], pa.string()), ""
    )
    when = at or dt.datetime.now(dt.UTC)
    entries = pa.table(
        {
            "entry_id": pa.array(np.arange(first_entry_id, first_entry_id + n, dtype=np.int64)),
            "encounter_id": procedures["encounter_id"],
            "line": procedures["line"],
            "payer_seq": pc.if_else(pc.is_valid(payer1), 1, 0).cast(pa.int8()),
            "payer_id": payer1,
            "kind": pa.array(["charge"] * n),
            "amount_cents": procedures["charge_cents"],
            "posted_at": pa.array([when] * n, arrow_schema("entries").field("posted_at").type),
            "source": pa.array(["charge"] * n),
            "actor": pa.array(["read_837"] * n),
            "note": notes,
        }
    )
    return encounters, procedures, entries
