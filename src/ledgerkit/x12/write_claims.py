"""``write_837``: a ledger's encounters as 837P claims that ``read_837`` reads back.

One claim per insured encounter (a primary payer), sent to that payer: CLM01
is the encounter id, one SV1 line per procedure with its date and REF*6R line
control number, the other payers as 2320/2330B loops, the rendering provider
(NM1*82), the location (NM1*77) and the site as the billing provider (NM1*85).
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
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ledgerkit.core.claims_in import FILING_BY_CLASS
from ledgerkit.x12.write import _date, _money

__all__ = ["write_837", "format_837"]

VERSION = "005010X222A1"


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
) -> bytes:
    """The 837P text of ``ledger``'s insured encounters (all, or ``encounter_ids``).

    Raises
    ------
    ValueError
        A value contains a separator (``*``, ``:``, ``~``) or an encounter has
        no procedure; named by row, never by value.
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
        ledger, picks, sender=sender, receiver=receiver, control=control, created=created
    )


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
) -> bytes:
    """The 837P interchange of the claims ``picks`` (a list of :class:`ClaimPick`)."""
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

    # encounters in the given order; a billing provider loop per run of one site
    runs: list[tuple[str, list[ClaimPick]]] = []
    for pick in picks:
        site = enc["site_id"][pick.row] or ""
        if not runs or runs[-1][0] != site:
            runs.append((site, []))
        runs[-1][1].append(pick)

    ymd, hm = created.strftime("%Y%m%d"), created.strftime("%H%M")
    body = [
        f"BHT*0019*00*{control}*{ymd}*{hm}*CH",
        f"NM1*41*2*{text(sender, 'sender')}*****46*{text(sender, 'sender')}",
        "PER*IC*BILLING*TE*0000000000",
        f"NM1*40*2*{text(receiver, 'receiver')}*****46*{text(receiver, 'receiver')}",
    ]
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
            pos = text(enc["place_of_service"][i], where) or "11"
            body += [
                f"HL*{hl}*{site_hl}*22*0",
                f"SBR*{'PST'[to - 1]}*18*******{filing}",
                member,
                f"NM1*PR*2*{name}*****PI*{pid}",
                f"CLM*{text(enc['encounter_id'][i], where)}*{_money(total)}***{pos}:B:1*Y*A*Y*Y",
                f"DTP*472*D8*{_date(enc['service_date'][i])}",
            ]
            if enc["provider_id"][i] is not None:
                body.append(f"NM1*82*1*PROVIDER*****XX*{text(enc['provider_id'][i], where)}")
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
                code = f"HC:{text(proc['cpt'][j], w)}"
                if proc["modifiers"][j]:
                    code += ":" + ":".join(text(m, w) for m in proc["modifiers"][j].split(":"))
                body += [
                    f"LX*{n}",
                    f"SV1*{code}*{_money(proc['charge_cents'][j])}*UN*{proc['units'][j]}***1",
                    f"DTP*472*D8*{_date(proc['service_date'][j])}",
                ]
                if proc["line_control_number"][j] is not None:
                    body.append(f"REF*6R*{text(proc['line_control_number'][j], w)}")
                for prior in pick.priors:
                    paid, when, adjustments = prior.lines[proc["line"][j]]
                    other_pid = text(enc[f"payer{prior.payer_seq}_id"][i], where)
                    body.append(f"SVD*{other_pid}*{_money(paid)}*{code}**{proc['units'][j]}")
                    body += _cas_segments((text(g, w), text(c, w), a) for g, c, a in adjustments)
                    if when is not None:
                        body.append(f"DTP*573*D8*{_date(when)}")
    ctl = f"{control:09d}"
    segs = [
        f"ISA*00*          *00*          *ZZ*{sender[:15]:<15}*ZZ*{receiver[:15]:<15}"
        f"*{created.strftime('%y%m%d')}*{hm}*^*00501*{ctl}*0*P*:",
        f"GS*HC*{sender}*{receiver}*{ymd}*{hm}*{control}*X*{VERSION}",
        f"ST*837*0001*{VERSION}",
        *body,
        f"SE*{len(body) + 2}*0001",
        f"GE*1*{control}",
        f"IEA*1*{ctl}",
    ]
    return ("~\n".join(segs) + "~\n").encode()


def write_837(ledger, path, encounter_ids=None, **options) -> Path:
    """Write ``ledger``'s insured encounters as one X12 837P file.

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
        ``created`` (datetime of the envelope and BHT).

    Returns
    -------
    pathlib.Path

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
