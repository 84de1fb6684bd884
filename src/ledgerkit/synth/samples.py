"""The small sample 835 files in ``data/samples/835/``, rebuilt by one function.

``write_samples(folder)`` writes five files, made up here (names, ids and
amounts are invented), each balanced at line, claim and payment level:

========================  ==============================================================
file                      what it shows
========================  ==============================================================
primary_mixed.835         four claims from a primary payer: paid in full (CO-45 + PR
                          copay), denied (CLP02 = 4, CO-50), partially denied (one line
                          CO-97 bundled), unresolved (a line partly denied, CO-16)
claim_level_only.835      an institutional claim with claim-level CAS only and MIA remarks
reversal_correction.835   a reversal (CLP02 = 22, negative amounts) and its correction
provider_adjustment.835   a payment with PLB: an overpayment recovery (WO) and interest (L6)
secondary.835             a secondary payer's remit: OA-23 prior payer, PR, AMT*B6
========================  ==============================================================

Rebuild them with ``python -m ledgerkit.x12.samples data/samples/835``.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pyarrow as pa

from ledgerkit.x12.remittances import Remittances, schema
from ledgerkit.x12.tables import findings_table, table_from_columns, with_derived_columns
from ledgerkit.x12.write import write_835

__all__ = ["write_samples", "sample_remittances", "SAMPLE_FILES"]

D = dt.date(2025, 3, 3)


def _line(cpt, charge, cas=(), mods=None, units=1.0, rarc=(), allowed=None):
    return dict(cpt=cpt, charge=charge, cas=list(cas), mods=mods, units=units, rarc=list(rarc),
                allowed=allowed)  # fmt: skip


def _claim(enc, status, lines=(), claim_cas=(), charge=None, mia=()):
    return dict(enc=enc, status=status, lines=list(lines), cas=list(claim_cas), charge=charge,
                mia=list(mia))  # fmt: skip


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
                paid_cents=l_charge - l_cas, units=ln["units"], service_date=day,
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
            facility_type="11", frequency_code="1", statement_from=day, statement_to=day,
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


COMMERCIAL = ("BLUE01", "BLUE PLAN OF SAMPLE STATE", "CI")
MEDICARE = ("MCR01", "MEDICARE PART B SAMPLE CONTRACTOR", "MB")
MEDIGAP = ("SUPP1", "SAMPLE MEDIGAP SUPPLEMENT", "CI")


def sample_remittances() -> dict[str, Remittances]:
    """The sample files' contents, by file name.

    Examples
    --------
    >>> r = sample_remittances()["primary_mixed.835"]
    >>> r.claims.column("status_code").to_pylist()
    ['1', '4', '1', '1']
    """
    return {
        "primary_mixed.835": _build(
            COMMERCIAL,
            [
                _claim("ENC-0001", "1", [  # paid in full: contractual + copay
                    _line("99214", 22000, [("CO", "45", 6500), ("PR", "3", 2500)], mods="25",
                          allowed=15500),
                    _line("36415", 2500, [("CO", "45", 1200)], allowed=1300),
                ]),
                _claim("ENC-0002", "4", [  # denied: not medically necessary
                    _line("97110", 18000, [("CO", "50", 18000)], units=2.0, rarc=["N115"],
                          allowed=0),
                ]),
                _claim("ENC-0003", "1", [  # partially denied: one line bundled
                    _line("99213", 15000, [("CO", "45", 4000), ("PR", "2", 2000)], allowed=11000),
                    _line("93000", 8000, [("CO", "97", 8000)], rarc=["M15"], allowed=0),
                ]),
                _claim("ENC-0004", "1", [  # unresolved: part of a line denied
                    _line("99204", 28000, [("CO", "45", 7000), ("CO", "16", 3000),
                                           ("PR", "1", 5000)], rarc=["MA130"], allowed=18000),
                ]),
            ],
            control=101,
        ),
        "claim_level_only.835": _build(
            MEDICARE,
            [_claim("ENC-0101", "1", charge=1250000, claim_cas=[("CO", "45", 512000),
                                                               ("PR", "1", 167600)],
                    mia=["MA01", "MA02"])],
            control=102,
        ),
        "reversal_correction.835": _build(
            COMMERCIAL,
            [
                _claim("ENC-0001", "22", [
                    _line("99214", 22000, [("CO", "45", -6500), ("PR", "3", -2500)], mods="25"),
                ]),
                _claim("ENC-0001", "1", [
                    _line("99214", 22000, [("CO", "45", 7000), ("PR", "3", 2500)], mods="25",
                          allowed=15000),
                ]),
            ],
            control=103,
        ),
        "provider_adjustment.835": _build(
            COMMERCIAL,
            [_claim("ENC-0201", "1", [_line("99213", 15000, [("CO", "45", 4000)])])],
            plb=[("WO", "ENC-0099", 2500), ("L6", None, -312)],
            control=104,
        ),
        "secondary.835": _build(
            MEDIGAP,
            [
                _claim("ENC-0301", "2", [
                    _line("99214", 22000, [("OA", "23", 16900), ("PR", "3", 500)],
                          allowed=11440),
                    _line("81001", 2000, [("OA", "23", 1700)], allowed=1000),
                ]),
            ],
            control=105,
        ),
    }  # fmt: skip


SAMPLE_FILES = (
    "primary_mixed.835",
    "claim_level_only.835",
    "reversal_correction.835",
    "provider_adjustment.835",
    "secondary.835",
)


def write_samples(folder) -> list[Path]:
    """Write the sample 835 files into ``folder`` (created if needed).

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
    return [write_835(r, folder / name) for name, r in sample_remittances().items()]


if __name__ == "__main__":  # pragma: no cover
    for p in write_samples(sys.argv[1] if len(sys.argv) > 1 else "data/samples/835"):
        print(p)
