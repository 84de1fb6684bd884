"""The small sample 835 files in ``data/samples/835/``: the payers' answers to the
bundled sample ledger's open encounters.

``write_samples(folder, ledger)`` writes five files, each balanced at line,
claim and payment level. Their claims answer encounters of ``ledger`` that no
payer has answered yet (charges only), with those encounters' ids, payers,
procedure codes, modifiers, charges and dates, so that

    ledgerkit store create S --sample && ledgerkit post S data/samples/835/*.835

posts every claim (none flagged). Amounts are made up here from the charges.

========================  ==============================================================
file                      what it shows
========================  ==============================================================
primary_mixed.835         four claims from one primary payer: paid in full (CO-45 + PR
                          copay), denied (CLP02 = 4, CO-50), partially denied (lines after
                          the first CO-97 bundled), unresolved (a line partly denied, CO-16)
claim_level_only.835      a claim with claim-level CAS only and an MIA remark (its
                          encounter has one procedure, which the amounts go to)
reversal_correction.835   a reversal (CLP02 = 22, negative amounts) of the paid-in-full
                          claim of primary_mixed.835, and its correction, 30 days later
provider_adjustment.835   a payment with PLB: an overpayment recovery (WO) and interest (L6)
secondary.835             the secondary payer of the claim-level encounter: OA-23 for what
                          the primary settled, the coinsurance paid in part, the rest PR
========================  ==============================================================

Rebuild them (with the ledger) with ``ledgerkit sample data/samples``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.errors import LedgerError
from ledgerkit.x12.remittances import Remittances, schema
from ledgerkit.x12.tables import findings_table, table_from_columns, with_derived_columns
from ledgerkit.x12.write import write_835

__all__ = ["write_samples", "sample_remittances", "SAMPLE_FILES"]

D = dt.date(2025, 3, 3)


def _line(cpt, charge, cas=(), mods=None, units=1.0, rarc=(), allowed=None):
    return dict(cpt=cpt, charge=charge, cas=list(cas), mods=mods, units=units, rarc=list(rarc),
                allowed=allowed)  # fmt: skip


def _claim(enc, status, lines=(), claim_cas=(), charge=None, mia=(), day=D):
    return dict(enc=enc, status=status, lines=list(lines), cas=list(claim_cas), charge=charge,
                mia=list(mia), day=day)  # fmt: skip


def _build(payer, claims, plb=(), *, control=1, day=D) -> Remittances:
    """Remittances for one payment from a compact description (amounts in cents)."""
    tx, cl, li, ad, rm, pl = [], [], [], [], [], []
    total = 0
    for c_i, c in enumerate(claims):
        sign = -1 if c["status"] == "22" else 1
        cas_total = 0
        for g, carc, amt in c["cas"]:
            ad.append(dict(claim_id=c_i, line_id=None, group_code=g, carc=carc, amount_cents=amt))
            cas_total += amt
        for code in c["mia"]:
            rm.append(dict(claim_id=c_i, line_id=None, source="MIA", qualifier=None, code=code))
        charge = 0
        for n, ln in enumerate(c["lines"]):
            i = len(li)
            l_charge = sign * ln["charge"]
            l_cas = 0
            for g, carc, amt in ln["cas"]:
                ad.append(dict(claim_id=c_i, line_id=i, group_code=g, carc=carc, amount_cents=amt))
                l_cas += amt
            for code in ln["rarc"]:
                rm.append(dict(claim_id=c_i, line_id=i, source="LQ", qualifier="HE", code=code))
            li.append(dict(
                line_id=i, claim_id=c_i, line_number=n + 1, procedure_qualifier="HC",
                procedure_code=ln["cpt"], modifiers=ln["mods"], charge_cents=l_charge,
                paid_cents=l_charge - l_cas, units=ln["units"], service_date=c["day"],
                line_control_number=f"{c['enc']}-{n + 1}", reported_allowed_cents=ln["allowed"],
            ))  # fmt: skip
            charge += l_charge
            cas_total += l_cas
        if c["charge"] is not None:
            charge = c["charge"]
        paid = charge - cas_total
        pr = sum(
            a for g, _, a in c["cas"] + [x for ln in c["lines"] for x in ln["cas"]] if g == "PR"
        )
        total += paid
        cl.append(dict(
            claim_id=c_i, transaction_id=0, encounter_id=c["enc"], status_code=c["status"],
            charge_cents=charge, paid_cents=paid, reported_patient_responsibility_cents=pr,
            claim_filing_indicator=payer[2], payer_claim_control_number=f"{payer[0]}{c_i + 1:06d}",
            facility_type="11", frequency_code="1", statement_from=c["day"], statement_to=c["day"],
            rendering_provider_id="1999999984", patient_key=None,
        ))  # fmt: skip
    for reason, ref, amt in plb:
        pl.append(dict(transaction_id=0, provider_id="1234567893",
                       fiscal_period_date=dt.date(2025, 12, 31), reason_code=reason,
                       reference=ref, amount_cents=amt))  # fmt: skip
        total -= amt
    pay_day = day + dt.timedelta(days=14)
    tx.append(dict(
        transaction_id=0, file="<samples>", isa_sender=payer[0], isa_receiver="SAMPLECLINIC",
        isa_control=f"{control:09d}", gs_sender=payer[0], gs_receiver="SAMPLECLINIC",
        gs_control=str(control), gs_date=pay_day, version="005010X221A1", st_control="0001",
        payer_id=payer[0], payer_id_qualifier="XV", payer_name=payer[1],
        payee_name="SAMPLE FAMILY CLINIC", payee_id_qualifier="XX", payee_id="1234567893",
        handling_code="C" if total else "I", payment_cents=abs(total),
        credit_debit="D" if total < 0 else "C", payment_method="ACH" if total else "NON",
        payment_date=pay_day, trace_number=f"EFT{control:07d}", trace_originator="1999999999",
        production_date=pay_day,
    ))  # fmt: skip

    def cols(rows, table):
        names = rows[0].keys() if rows else []
        return {f.name: pa.array([r[f.name] for r in rows], f.type)
                for f in schema(table) if f.name in names or not rows}  # fmt: skip

    adjustments = table_from_columns("adjustments", cols(ad, "adjustments"))
    claims_t, lines = with_derived_columns(
        table_from_columns("claims", cols(cl, "claims")), cols(li, "service_lines"), adjustments
    )
    return Remittances(
        table_from_columns("transactions", cols(tx, "transactions")), claims_t, lines, adjustments,
        table_from_columns("remarks", cols(rm, "remarks")),
        table_from_columns("provider_adjustments", cols(pl, "provider_adjustments")),
        findings_table("<samples>", []),
    )  # fmt: skip


# Claim filing indicator (CLP06) of each payer class, for the sample claims.
_FILING = {"medicare": "MB", "medicaid": "MC", "medicare_advantage": "16",
           "commercial": "CI", "workers_comp": "WC"}  # fmt: skip


@dataclass(frozen=True)
class _Open:
    """An encounter of the ledger that no payer has answered yet (charges only)."""

    encounter_id: str
    day: dt.date
    payers: tuple  # (payer1_id, payer2_id)
    lines: tuple  # (cpt, modifiers, units, charge_cents) per procedure, in line order


def _open_encounters(ledger) -> list[_Open]:
    """Encounters with charge entries only, in encounter id order."""
    answered = ledger.entries.filter(
        pc.not_equal(ledger.entries["source"].cast(pa.string()), "charge")
    )["encounter_id"]
    enc = ledger.encounters.filter(
        pc.invert(pc.is_in(ledger.encounters["encounter_id"], value_set=pc.unique(answered)))
    ).sort_by("encounter_id")
    procs = ledger.procedures.filter(
        pc.is_in(ledger.procedures["encounter_id"], value_set=enc["encounter_id"])
    ).sort_by([("encounter_id", "ascending"), ("line", "ascending")])
    lines: dict[str, list] = {}
    for row in procs.select(
        ["encounter_id", "cpt", "modifiers", "units", "charge_cents"]
    ).to_pylist():
        lines.setdefault(row["encounter_id"], []).append(
            (row["cpt"], row["modifiers"], float(row["units"]), row["charge_cents"])
        )
    cols = enc.select(["encounter_id", "service_date", "payer1_id", "payer2_id"]).to_pylist()
    return [
        _Open(r["encounter_id"], r["service_date"], (r["payer1_id"], r["payer2_id"]),
              tuple(lines.get(r["encounter_id"], ())))
        for r in cols
    ]  # fmt: skip


def _pick(candidates: list[_Open], used: set, payers: tuple, n_lines: int, *, more=False):
    """The first unused open encounter with these payers and ``n_lines`` lines (or more)."""
    for c in candidates:
        fits = len(c.lines) >= n_lines if more else len(c.lines) == n_lines
        if c.encounter_id not in used and c.payers == payers and fits:
            used.add(c.encounter_id)
            return c
    raise LedgerError(
        f"the ledger has no open encounter (charges only) with payers {payers} and "
        f"{n_lines} lines{' or more' if more else ''} to build the sample 835 files from"
    )


def _pct(cents: int, percent: int) -> int:
    return cents * percent // 100


def _paid_in_full(c: _Open) -> dict:
    """Contractual on every line, a $25 copay on the first."""
    lines = []
    for i, (cpt, mods, units, charge) in enumerate(c.lines):
        allowed = charge - _pct(charge, 30)
        copay = min(2500, allowed // 2) if i == 0 else 0
        cas = [("CO", "45", charge - allowed)] + ([("PR", "3", copay)] if copay else [])
        lines.append(_line(cpt, charge, cas, mods=mods, units=units, allowed=allowed))
    return _claim(c.encounter_id, "1", lines, day=c.day)


def _reversed(claim: dict) -> dict:
    """The reversal (CLP02 = 22) of a posted claim: every amount negated."""
    lines = [
        dict(ln, cas=[(g, carc, -a) for g, carc, a in ln["cas"]], allowed=None, rarc=[])
        for ln in claim["lines"]
    ]
    return dict(claim, status="22", lines=lines)


def _corrected(c: _Open) -> dict:
    """The payer's correction of ``_paid_in_full``: a lower allowed amount."""
    lines = []
    for i, (cpt, mods, units, charge) in enumerate(c.lines):
        allowed = charge - _pct(charge, 35)
        copay = min(2500, allowed // 2) if i == 0 else 0
        cas = [("CO", "45", charge - allowed)] + ([("PR", "3", copay)] if copay else [])
        lines.append(_line(cpt, charge, cas, mods=mods, units=units, allowed=allowed))
    return _claim(c.encounter_id, "1", lines, day=c.day)


def _denied(c: _Open) -> dict:
    """Every line denied as not medically necessary (CLP02 = 4, CO-50)."""
    lines = [
        _line(cpt, charge, [("CO", "50", charge)], mods=mods, units=units, rarc=["N115"],
              allowed=0)
        for cpt, mods, units, charge in c.lines
    ]  # fmt: skip
    return _claim(c.encounter_id, "4", lines, day=c.day)


def _partly_denied(c: _Open) -> dict:
    """The first line paid (contractual, coinsurance), the others bundled (CO-97)."""
    cpt, mods, units, charge = c.lines[0]
    allowed = charge - _pct(charge, 25)
    lines = [_line(cpt, charge, [("CO", "45", charge - allowed), ("PR", "2", _pct(allowed, 20))],
                   mods=mods, units=units, allowed=allowed)]  # fmt: skip
    lines += [
        _line(cpt, charge, [("CO", "97", charge)], mods=mods, units=units, rarc=["M15"],
              allowed=0)
        for cpt, mods, units, charge in c.lines[1:]
    ]  # fmt: skip
    return _claim(c.encounter_id, "1", lines, day=c.day)


def _unresolved(c: _Open) -> dict:
    """A line partly denied (CO-16, missing information) beside contractual and deductible."""
    lines = []
    for cpt, mods, units, charge in c.lines:
        allowed = charge - _pct(charge, 25)
        denied = _pct(charge, 10)
        deductible = min(5000, _pct(allowed - denied, 30))
        cas = [("CO", "45", charge - allowed), ("CO", "16", denied), ("PR", "1", deductible)]
        lines.append(_line(cpt, charge, cas, mods=mods, units=units, rarc=["MA130"],
                           allowed=allowed))  # fmt: skip
    return _claim(c.encounter_id, "1", lines, day=c.day)


def _claim_level(c: _Open) -> tuple[dict, int]:
    """Amounts at claim level only (no service lines); returns the claim and its PR."""
    charge = sum(line[3] for line in c.lines)
    allowed = charge - _pct(charge, 40)
    coinsurance = _pct(allowed, 20)
    cas = [("CO", "45", charge - allowed), ("PR", "2", coinsurance)]
    return _claim(c.encounter_id, "1", charge=charge, claim_cas=cas, mia=["MA01"], day=c.day), (
        allowed
    )


def _secondary(c: _Open, primary_allowed: int) -> dict:
    """The secondary payer pays the primary's coinsurance; OA-23 is what the primary settled."""
    ((cpt, mods, units, charge),) = c.lines
    coinsurance = _pct(primary_allowed, 20)
    paid = coinsurance - coinsurance // 4
    cas = [("OA", "23", charge - coinsurance), ("PR", "2", coinsurance - paid)]
    return _claim(c.encounter_id, "2", [_line(cpt, charge, cas, mods=mods, units=units,
                                               allowed=primary_allowed)], day=c.day)  # fmt: skip


def _payer(ledger, payer_id: str) -> tuple:
    row = ledger.payers.filter(pc.equal(ledger.payers["payer_id"], payer_id)).to_pylist()[0]
    return (payer_id, row["name"].upper(), _FILING.get(row.get("payer_class"), "CI"))


def sample_remittances(ledger=None) -> dict[str, Remittances]:
    """The sample files' contents, by file name, for open encounters of ``ledger``.

    Parameters
    ----------
    ledger : Ledger, optional
        Default: the bundled sample ledger. The claims answer encounters of it
        that no payer has answered yet (charges only), with their procedure
        codes, modifiers, charges and dates, so posting the files posts them.

    Examples
    --------
    >>> r = sample_remittances()["primary_mixed.835"]
    >>> r.claims.column("status_code").to_pylist()
    ['1', '4', '1', '1']
    """
    if ledger is None:
        from ledgerkit.synth.ledgers import load_sample

        ledger = load_sample()
    open_ = _open_encounters(ledger)
    used: set = set()
    primary = (_primary_payer(open_), None)
    full = _pick(open_, used, primary, 2)
    denied = _pick(open_, used, primary, 1)
    partial = _pick(open_, used, primary, 2, more=True)
    unresolved = _pick(open_, used, primary, 1)
    pair = next((c.payers for c in open_ if None not in c.payers and len(c.lines) == 1), None)
    two_payers = _pick(open_, used, pair or ("any", "any"), 1)
    single = next(
        (c.payers for c in open_ if c.encounter_id not in used and c.payers[1] is None
         and c.payers[0] is not None), ("any", None),
    )  # fmt: skip
    with_plb = _pick(open_, used, single, 1, more=True)
    paid_claim = _paid_in_full(full)
    level_claim, level_allowed = _claim_level(two_payers)
    last = max(c.day for c in (full, denied, partial, unresolved, two_payers, with_plb))

    def pay(payer_id):
        return _payer(ledger, payer_id)

    return {
        "primary_mixed.835": _build(
            pay(primary[0]),
            [paid_claim, _denied(denied), _partly_denied(partial), _unresolved(unresolved)],
            control=101, day=last,
        ),
        "claim_level_only.835": _build(pay(two_payers.payers[0]), [level_claim], control=102,
                                       day=last),
        "reversal_correction.835": _build(
            pay(primary[0]), [_reversed(paid_claim), _corrected(full)], control=103,
            day=last + dt.timedelta(days=30),
        ),
        "provider_adjustment.835": _build(
            pay(with_plb.payers[0]), [_paid_in_full(with_plb)],
            plb=[("WO", "OVERPAY0099", 2500), ("L6", None, -312)], control=104, day=last,
        ),
        "secondary.835": _build(
            pay(two_payers.payers[1]), [_secondary(two_payers, level_allowed)], control=105,
            day=last + dt.timedelta(days=21),
        ),
    }  # fmt: skip


def _primary_payer(open_: list[_Open]) -> str:
    """The payer with the most open encounters it alone covers (two of one line and two of
    two lines or more, at least)."""
    best, best_n = None, -1
    for payer in sorted({c.payers[0] for c in open_ if c.payers[0] is not None}):
        mine = [c for c in open_ if c.payers == (payer, None)]
        ones = sum(len(c.lines) == 1 for c in mine)
        twos = sum(len(c.lines) >= 2 for c in mine)
        if ones >= 2 and twos >= 2 and len(mine) > best_n:
            best, best_n = payer, len(mine)
    if best is None:
        raise LedgerError("the ledger has too few open encounters to build the sample 835 files")
    return best


SAMPLE_FILES = (
    "primary_mixed.835",
    "claim_level_only.835",
    "reversal_correction.835",
    "provider_adjustment.835",
    "secondary.835",
)


def write_samples(folder, ledger=None) -> list[Path]:
    """Write the sample 835 files answering ``ledger`` (default: the bundled sample ledger)
    into ``folder`` (created if needed).

    Examples
    --------
    >>> import tempfile
    >>> from ledgerkit.x12 import read_835
    >>> paths = write_samples(tempfile.mkdtemp())
    >>> [p.name for p in paths] == list(SAMPLE_FILES)
    True
    >>> read_835(paths[0]).findings.num_rows
    0
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_835(r, folder / name) for name, r in sample_remittances(ledger).items()]
