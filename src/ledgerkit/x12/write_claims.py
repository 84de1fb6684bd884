"""``write_837``: a ledger's encounters as 837P/837I claims that ``read_837`` reads back.

One claim per insured encounter (a primary payer), sent to that payer: CLM01
is the encounter id, one SV1 line per procedure with its date and REF*6R line
control number, the other payers as 2320/2330B loops, the rendering provider
(NM1*82), the location (NM1*77) and the site as the billing provider (NM1*85).
An institutional encounter (its lines are revenue codes, as ``Ledger.from_837``
keeps an 837I line without a procedure) goes in an 837I transaction instead:
CLM05 facility type code, DTP*434 statement dates, SV2 lines, the attending
provider (NM1*71).
``Ledger.from_837(read_837(...))`` gives back the same encounters, procedures
and charges (``tests/test_x12_write_837.py``). The patient is written as the
subscriber's member id (``NM1*IL*1******MI*<patient_key>``), never a name.

What the ledger does not hold is not invented: no addresses, birth dates or
diagnoses, so the text is valid X12 in shape but not a complete
implementation-guide claim for a clearinghouse.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ledgerkit.core.claims_in import FILING_BY_CLASS
from ledgerkit.errors import LedgerError
from ledgerkit.x12.write import _date, _money

__all__ = ["write_837", "format_837"]

VERSION = "005010X222A1"
INSTITUTIONAL_VERSION = "005010X223A2"
# A ledger's code of a line read from an 837I without a procedure is its revenue
# code: 3-4 digits, which no CPT/HCPCS code is (5 characters).
REVENUE_CODE = re.compile(r"[0-9]{3,4}")


def _cols(table: pa.Table, names) -> dict:
    return {n: table.column(n).to_pylist() for n in names}


def format_837(
    ledger,
    encounter_ids=None,
    *,
    sender: str = "LEDGERKIT",
    receiver: str = "RECEIVER",
    control: int = 1,
    created: dt.datetime | None = None,
    facility_type: str | None = None,
) -> bytes:
    """The 837 text of ``ledger``'s insured encounters (all, or ``encounter_ids``).

    Professional encounters are an 837P transaction, institutional ones
    (every line a revenue code) an 837I transaction with ``facility_type``
    as CLM05-1 (see :func:`write_837`).

    Raises
    ------
    ValueError
        A value contains a separator (``*``, ``:``, ``~``) or an encounter has
        no procedure; named by row, never by value.
    LedgerError
        An institutional encounter without ``facility_type``, or one that mixes
        revenue-code lines with CPT/HCPCS lines or has modifiers on a
        revenue code; named by position and line, never by id.
    """
    wanted = None if encounter_ids is None else set(encounter_ids)
    ids = ledger.encounters["encounter_id"].to_pylist()
    payer1 = ledger.encounters["payer1_id"].to_pylist()
    picks = [
        ClaimPick(i)
        for i, e in enumerate(ids)
        if payer1[i] is not None and (wanted is None or e in wanted)
    ]
    return claims_text(
        ledger, picks, sender=sender, receiver=receiver, control=control, created=created,
        facility_type=facility_type,
    )  # fmt: skip


@dataclass(frozen=True)
class PriorPayer:
    """An earlier payer's decision on a claim, as the next payer's claim carries it.

    ``lines`` maps a procedure line to ``(paid_cents, adjudication date,
    adjustments)`` with adjustments a list of ``(group_code, carc,
    amount_cents)``; ``paid_cents`` is the claim total (2320 AMT*D).
    """

    payer_seq: int
    paid_cents: int
    lines: dict


@dataclass(frozen=True)
class ClaimPick:
    """One claim to write: an encounter row, the payer it goes to, the earlier payers'
    decisions (2320 AMT*D and 2430 SVD/CAS/DTP*573) when it goes to a later payer."""

    row: int
    to_payer_seq: int = 1
    priors: tuple = ()


def _cas_segments(adjustments) -> list[str]:
    """CAS segments: one per group code, at most six reason/amount pairs each."""
    by_group: dict[str, list] = {}
    for group, carc, amount in adjustments:
        by_group.setdefault(group, []).append((carc, amount))
    out = []
    for group, pairs in by_group.items():
        for start in range(0, len(pairs), 6):
            chunk = pairs[start : start + 6]
            out.append(f"CAS*{group}*" + "**".join(f"{c}*{_money(a)}" for c, a in chunk))
    return out


def claims_text(
    ledger,
    picks,
    *,
    sender: str = "LEDGERKIT",
    receiver: str = "RECEIVER",
    control: int = 1,
    created: dt.datetime | None = None,
    facility_type: str | None = None,
) -> bytes:
    """The 837 interchange of the claims ``picks`` (a list of :class:`ClaimPick`).

    Professional claims are one 837P transaction, institutional ones (see
    :func:`write_837`) one 837I transaction, each in its own functional group
    (GS08 names the guide).
    """
    created = created or dt.datetime.now(dt.UTC)
    enc = _cols(ledger.encounters, ledger.encounters.column_names)
    proc = _cols(ledger.procedures, ledger.procedures.column_names)
    payers = {
        pid: (name, cls)
        for pid, name, cls in zip(
            ledger.payers["payer_id"].to_pylist(),
            ledger.payers["name"].to_pylist(),
            ledger.payers["payer_class"].cast(pa.string()).to_pylist(),
            strict=True,
        )
    }
    lines_of: dict[str, list[int]] = {}
    for i, e in enumerate(proc["encounter_id"]):
        lines_of.setdefault(e, []).append(i)

    def text(value, where):
        value = "" if value is None else str(value)
        if any(c in value for c in "*:~^\n\r"):
            raise ValueError(f"{where}: a value contains an X12 separator (* : ~ ^)")
        return value

    def payer_segments(pid, where):
        name, cls = payers.get(pid, (pid, "other"))
        return (FILING_BY_CLASS.get(cls, "ZZ"), text(name or pid, where), text(pid, where))

    facility = text(facility_type, "facility_type")
    institutional = [
        _is_institutional(proc, lines_of.get(enc["encounter_id"][p.row], []), p, facility)
        for p in picks
    ]
    ymd, hm = created.strftime("%Y%m%d"), created.strftime("%H%M")
    header = [
        f"BHT*0019*00*{control}*{ymd}*{hm}*CH",
        f"NM1*41*2*{text(sender, 'sender')}*****46*{text(sender, 'sender')}",
        "PER*IC*BILLING*TE*0000000000",
        f"NM1*40*2*{text(receiver, 'receiver')}*****46*{text(receiver, 'receiver')}",
    ]

    def claim_loops(kind_picks, inst):
        body = list(header)
        # encounters in the given order; a billing provider loop per run of one site
        runs: list[tuple[str, list[ClaimPick]]] = []
        for pick in kind_picks:
            site = enc["site_id"][pick.row] or ""
            if not runs or runs[-1][0] != site:
                runs.append((site, []))
            runs[-1][1].append(pick)
        hl = 0
        for site, site_picks in runs:
            hl += 1
            site_hl = hl
            npi = text(site, "encounters site_id") or "1234567893"
            body += [f"HL*{hl}**20*1", f"NM1*85*2*BILLING PROVIDER*****XX*{npi}"]
            for pick in site_picks:
                i = pick.row
                where = f"encounters row {i}"
                lines = lines_of.get(enc["encounter_id"][i], [])
                if not lines:
                    raise ValueError(f"{where}: an encounter without procedures")
                hl += 1
                to = pick.to_payer_seq
                filing, name, pid = payer_segments(enc[f"payer{to}_id"][i], where)
                key = text(enc["patient_key"][i], where)
                member = f"NM1*IL*1******MI*{key}" if key else "NM1*IL*1"
                total = sum(proc["charge_cents"][j] for j in lines)
                eid = text(enc["encounter_id"][i], where)
                body += [
                    f"HL*{hl}*{site_hl}*22*0",
                    f"SBR*{'PST'[to - 1]}*18*******{filing}",
                    member,
                    f"NM1*PR*2*{name}*****PI*{pid}",
                ]
                if inst:
                    first = _date(enc["service_date"][i])
                    last = max(_date(proc["service_date"][j]) for j in lines)
                    body += [
                        f"CLM*{eid}*{_money(total)}***{facility}:A:1*Y*A*Y*Y",
                        f"DTP*434*RD8*{min(first, last)}-{last}",
                    ]
                else:
                    pos = text(enc["place_of_service"][i], where) or "11"
                    body += [
                        f"CLM*{eid}*{_money(total)}***{pos}:B:1*Y*A*Y*Y",
                        f"DTP*472*D8*{_date(enc['service_date'][i])}",
                    ]
                if enc["provider_id"][i] is not None:
                    role = "71" if inst else "82"  # 837I: the attending provider
                    body.append(
                        f"NM1*{role}*1*PROVIDER*****XX*{text(enc['provider_id'][i], where)}"
                    )
                if enc["location_id"][i] is not None:
                    body.append(f"NM1*77*2*LOCATION*****XX*{text(enc['location_id'][i], where)}")
                prior_of = {p.payer_seq: p for p in pick.priors}
                for k in (1, 2, 3):
                    other = enc[f"payer{k}_id"][i]
                    if k == to or other is None:
                        continue
                    filing, name, other_pid = payer_segments(other, where)
                    body.append(f"SBR*{'PST'[k - 1]}*18*******{filing}")
                    if k in prior_of:
                        body.append(f"AMT*D*{_money(prior_of[k].paid_cents)}")
                    body += ["OI***Y*P**Y", member, f"NM1*PR*2*{name}*****PI*{other_pid}"]
                for n, j in enumerate(lines, start=1):
                    w = f"procedures row {j}"
                    amount, units = _money(proc["charge_cents"][j]), proc["units"][j]
                    if inst:
                        service = f"SV2*{text(proc['cpt'][j], w)}**{amount}*UN*{units}"
                    else:
                        code = f"HC:{text(proc['cpt'][j], w)}"
                        if proc["modifiers"][j]:
                            mods = proc["modifiers"][j].split(":")
                            code += ":" + ":".join(text(m, w) for m in mods)
                        service = f"SV1*{code}*{amount}*UN*{units}***1"
                    body += [f"LX*{n}", service, f"DTP*472*D8*{_date(proc['service_date'][j])}"]
                    if proc["line_control_number"][j] is not None:
                        body.append(f"REF*6R*{text(proc['line_control_number'][j], w)}")
                    for prior in pick.priors:
                        paid, when, adjustments = prior.lines[proc["line"][j]]
                        other_pid = text(enc[f"payer{prior.payer_seq}_id"][i], where)
                        body.append(f"SVD*{other_pid}*{_money(paid)}*{code}**{units}")
                        body += _cas_segments(
                            (text(g, w), text(c, w), a) for g, c, a in adjustments
                        )
                        if when is not None:
                            body.append(f"DTP*573*D8*{_date(when)}")
        return body

    groups = [(VERSION, [p for p, inst in zip(picks, institutional, strict=True) if not inst])]
    inst_picks = [p for p, inst in zip(picks, institutional, strict=True) if inst]
    if inst_picks:
        groups = [g for g in groups if g[1]] + [(INSTITUTIONAL_VERSION, inst_picks)]
    ctl = f"{control:09d}"
    segs = [
        f"ISA*00*          *00*          *ZZ*{sender[:15]:<15}*ZZ*{receiver[:15]:<15}"
        f"*{created.strftime('%y%m%d')}*{hm}*^*00501*{ctl}*0*P*:"
    ]
    for g, (version, kind_picks) in enumerate(groups):
        body = claim_loops(kind_picks, version == INSTITUTIONAL_VERSION)
        segs += [
            f"GS*HC*{sender}*{receiver}*{ymd}*{hm}*{control + g}*X*{version}",
            f"ST*837*0001*{version}",
            *body,
            f"SE*{len(body) + 2}*0001",
            f"GE*1*{control + g}",
        ]
    segs.append(f"IEA*{len(groups)}*{ctl}")
    return ("~\n".join(segs) + "~\n").encode()


def _is_institutional(proc: dict, lines: list[int], pick: ClaimPick, facility: str) -> bool:
    """Whether an encounter's lines are revenue codes (an 837I claim); refuses a mix."""
    revenue = [REVENUE_CODE.fullmatch(proc["cpt"][j] or "") is not None for j in lines]
    if not any(revenue):
        return False
    where = f"encounters row {pick.row}"
    for j, rev in zip(lines, revenue, strict=True):
        line = f"{where} line {proc['line'][j]}"
        if not rev:
            raise LedgerError(
                f"{line}: a CPT/HCPCS line in an institutional encounter (its other lines are "
                "revenue codes); an 837 claim is either 837P or 837I, nothing was written"
            )
        if proc["modifiers"][j]:
            raise LedgerError(
                f"{line}: modifiers on a revenue code (SV2 carries them only with a "
                "procedure code); nothing was written"
            )
    if pick.priors:
        raise LedgerError(
            f"{where}: an institutional encounter to a later payer (an 837I with the earlier "
            "payers' 2430 loops) is not written; nothing was written"
        )
    if not facility:
        raise LedgerError(
            f"{where}: an institutional encounter (revenue-code lines) needs facility_type, "
            "the 837I CLM05-1 type of facility code (e.g. '13' hospital outpatient), which "
            "the ledger does not hold; nothing was written"
        )
    return True


def write_837(ledger, path, encounter_ids=None, **options) -> Path:
    """Write ``ledger``'s insured encounters as one X12 837 file (837P, and 837I if needed).

    An encounter whose lines are all revenue codes (3-4 digits, as
    ``Ledger.from_837`` keeps the lines of an 837I without a procedure code)
    is an institutional claim: it is written in an 837I transaction, with
    ``facility_type`` as its type of facility (CLM05-1), which the ledger does
    not hold and is therefore never guessed.

    Parameters
    ----------
    ledger : Ledger
    path : str or os.PathLike
        File to write (overwritten).
    encounter_ids : iterable of str, optional
        Only these encounters (default: every encounter with a primary payer;
        self-pay encounters are not claims).
    **options
        ``sender``, ``receiver``, ``control`` (interchange control number),
        ``created`` (datetime of the envelope and BHT), ``facility_type``
        (CLM05-1 of the institutional claims, e.g. ``"13"`` hospital
        outpatient; required when there are any).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    LedgerError
        An institutional encounter without ``facility_type``, one that also
        has CPT/HCPCS lines or modifiers on a revenue code, or one sent to a
        later payer (``write_837_secondary``); named by encounter row and
        line, never by id. Nothing is written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(5, seed=1)
    >>> path = write_837(ledger, pathlib.Path(tempfile.mkdtemp()) / "claims.837")
    >>> back = lk.Ledger.from_837(lk.read_837(path))
    >>> back.procedures["charge_cents"].to_pylist() == ledger.procedures.filter(
    ...     pa.compute.is_in(ledger.procedures["encounter_id"], back.encounters["encounter_id"])
    ... )["charge_cents"].to_pylist()
    True
    """
    path = Path(os.fspath(path))
    path.write_bytes(format_837(ledger, encounter_ids, **options))
    return path
