"""``write_837_secondary``: the claim to the next payer, carrying the earlier payers' decisions.

Seed 003 (and DOMAIN.md, "Secondary claims"): to bill the secondary, the
primary's adjustments travel with the claim, and per service line
fee - primary paid = the primary's claim adjustments (CAS), by group and
reason. For each encounter the claim goes to the payer after the last one
that adjudicated it (``payer_seq`` + 1 of the encounter's payers); every
earlier payer is a 2320 loop with its total paid (AMT*D) and, per line, a
2430 loop: SVD (paid, procedure, units), CAS by group code and CARC, and
DTP*573 (the date its latest entry on the line was posted). The ledger keeps
adjustments per line, so there is no claim-level CAS.

Every line of every encounter is checked before anything is written; an
encounter that does not balance is refused with a :class:`LedgerError`
naming its position in ``encounter_ids`` and the line (an encounter id is the
practice's key and is not quoted), and no file is written.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.core.adjudication import payer_adjudication
from ledgerkit.errors import LedgerError
from ledgerkit.x12.write_claims import ClaimPick, PriorPayer, claims_text

__all__ = ["write_837_secondary", "format_837_secondary"]


def _decisions(ledger, ids: list[str]) -> dict[int, dict]:
    """Per payer_seq: encounter -> line -> (charge, paid, adjusted, adjudicated, date, CAS)."""
    out = {}
    for seq in (1, 2, 3):
        lines, cas = payer_adjudication(ledger, ids, seq)
        per: dict[str, dict] = {}
        for r in lines.to_pylist():
            per.setdefault(r["encounter_id"], {})[r["line"]] = [
                r["charge_cents"], r["paid_cents"], r["adjustments_cents"], r["adjudicated"],
                r["last_posted"], [],
            ]  # fmt: skip
        for r in cas.to_pylist():
            per[r["encounter_id"]][r["line"]][5].append(
                (r["group_code"], r["carc"], r["amount_cents"])
            )
        out[seq] = per
    return out


def secondary_picks(ledger, encounter_ids) -> list[ClaimPick]:
    """The claims ``write_837_secondary`` writes, checked (see the module docstring).

    Raises
    ------
    LedgerError
        An encounter not in the ledger, adjudicated by no payer, with no payer
        after the last one that adjudicated it, or a line whose
        fee - paid - adjustments of an earlier payer is not 0.
    """
    if isinstance(encounter_ids, str):
        encounter_ids = [encounter_ids]
    ids = list(encounter_ids)
    if not ids:
        raise LedgerError("write_837_secondary: no encounter given")
    decisions = _decisions(ledger, ids)
    enc_ids = ledger.encounters["encounter_id"]
    rows = pc.index_in(pa.array(ids, pa.string()), value_set=enc_ids).to_pylist()
    enc = {k: ledger.encounters[f"payer{k}_id"].to_pylist() for k in (1, 2, 3)}
    charges = dict(
        zip(
            zip(ledger.procedures["encounter_id"].to_pylist(),
                ledger.procedures["line"].to_pylist(), strict=True),
            ledger.procedures["charge_cents"].to_pylist(),
            strict=True,
        )
    )  # fmt: skip
    picks = []
    for pos, (eid, row) in enumerate(zip(ids, rows, strict=True)):
        where = f"write_837_secondary: encounter_ids[{pos}]"
        done = [k for k in (1, 2, 3) if any(v[3] for v in decisions[k].get(eid, {}).values())]
        if not done:
            raise LedgerError(
                f"{where}: no payer has adjudicated it yet; the primary claim is write_837's"
            )
        to = max(done) + 1
        if to > 3 or enc[to][row] is None:
            raise LedgerError(f"{where}: payer {to - 1} adjudicated it and there is no payer {to}")
        priors = []
        for k in range(1, to):
            if enc[k][row] is None:
                raise LedgerError(f"{where}: payer {k} is missing before payer {to}")
            lines = {}
            for line, (charge, paid, adjusted, seen, when, cas) in decisions[k][eid].items():
                if charge != charges[(eid, line)]:
                    raise LedgerError(
                        f"{where} line {line}: the live charge differs from the procedure's "
                        "charge (a negated charge); nothing was written"
                    )
                if not seen:
                    raise LedgerError(
                        f"{where} line {line}: payer {k} has not adjudicated the line; "
                        "nothing was written"
                    )
                if charge - paid != adjusted:
                    raise LedgerError(
                        f"{where} line {line}: fee - payer {k} paid - payer {k}'s adjustments = "
                        f"{(charge - paid - adjusted) / 100:.2f}, not 0 (seed 003: the "
                        "adjustments must account for the fee); nothing was written"
                    )
                lines[line] = (paid, when, cas)
            total_paid = sum(v[0] for v in lines.values())
            priors.append(PriorPayer(k, total_paid, lines))
        picks.append(ClaimPick(row, to, tuple(priors)))
    return picks


def format_837_secondary(ledger, encounter_ids, **options) -> bytes:
    """The 837P text :func:`write_837_secondary` writes (same parameters, no path)."""
    return claims_text(ledger, secondary_picks(ledger, encounter_ids), **options)


def write_837_secondary(ledger, encounter_ids, path, **options) -> Path:
    """Write the claims of ``encounter_ids`` to their next payer, with the earlier decisions.

    Each claim goes to the payer after the last one that adjudicated the
    encounter and carries every earlier payer's decision: 2320 (SBR, AMT*D
    total paid, 2330B payer) and per line 2430 (SVD paid, CAS by group code
    and CARC, DTP*573). Each line is checked first (seed 003):
    fee - that payer's paid = that payer's adjustments.

    Parameters
    ----------
    ledger : Ledger
    encounter_ids : str or iterable of str
    path : str or os.PathLike
        File to write (overwritten); nothing is written if any encounter is
        refused.
    **options
        ``sender``, ``receiver``, ``control`` (interchange control number),
        ``created`` (datetime of the envelope and BHT).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    LedgerError
        An encounter that is unknown, that no payer adjudicated, that has no
        next payer, or a line that does not balance for an earlier payer;
        named by position in ``encounter_ids`` and line, never by id.

    Examples
    --------
    Seed 003, example one: fee $150, primary paid $80, CO-45 $40, PR-3 $10,
    PR-2 $20 ($150 - $80 = $70 of adjustments).

    >>> import datetime as dt, tempfile, pathlib
    >>> import pyarrow as pa
    >>> import ledgerkit as lk
    >>> day = dt.date(2025, 1, 5)
    >>> ledger = lk.Ledger.from_arrow(
    ...     pa.table({"encounter_id": ["E1"], "service_date": [day],
    ...               "payer1_id": ["FIRST"], "payer2_id": ["SECOND"]}),
    ...     pa.table({"encounter_id": ["E1"], "line": pa.array([1], pa.int32()),
    ...               "cpt": ["99213"], "units": pa.array([1], pa.int32()),
    ...               "charge_cents": [15000], "service_date": [day]}),
    ...     pa.table({"entry_id": [1, 2, 3, 4, 5], "encounter_id": ["E1"] * 5,
    ...               "line": pa.array([1] * 5, pa.int32()),
    ...               "payer_seq": pa.array([1] * 5, pa.int8()), "payer_id": ["FIRST"] * 5,
    ...               "kind": ["charge", "payment", "adjustment", "adjustment", "adjustment"],
    ...               "group_code": [None, None, "CO", "PR", "PR"],
    ...               "carc": [None, None, "45", "3", "2"],
    ...               "amount_cents": [15000, 8000, 4000, 1000, 2000],
    ...               "posted_at": [dt.datetime(2025, 1, 20, tzinfo=dt.UTC)] * 5,
    ...               "source": ["charge", "remit", "remit", "remit", "remit"]}))
    >>> path = write_837_secondary(ledger, ["E1"], pathlib.Path(tempfile.mkdtemp()) / "s.837")
    >>> back = lk.read_837(path)
    >>> back.claims["payer_id"].to_pylist(), back.claims["payer_seq"].to_pylist()
    (['SECOND'], [2])
    >>> for r in back.prior_adjudication.to_pylist():
    ...     if r["line_id"] is not None:
    ...         print(r["source"], r["group_code"], r["carc"], r["amount_cents"])
    SVD None None 8000
    CAS CO 45 4000
    CAS PR 2 2000
    CAS PR 3 1000
    """
    data = format_837_secondary(ledger, encounter_ids, **options)
    path = Path(os.fspath(path))
    path.write_bytes(data)
    return path
