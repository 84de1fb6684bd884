"""submission_metrics: clean-claim rate, first-pass yield, denial rate and resubmissions
on hand-built 837 claims and 835 remits, with exact figures."""

from __future__ import annotations

import pytest
from x12_837_fixtures import HEADER, envelope

import ledgerkit as lk


def _claim(eid, charge, lines, freq="1"):
    segs = [f"CLM*{eid}*{charge}***11:B:{freq}*Y*A*Y*Y", "DTP*472*D8*20250105"]
    for n, (code, amount) in enumerate(lines, start=1):
        segs += [f"LX*{n}", f"SV1*HC:{code}*{amount}*UN*1***1"]
    return segs


def _subscriber(hl, payer):
    return [f"HL*{hl}*1*22*0", "SBR*P*18*******CI", "NM1*IL*1******MI*K1",
            f"NM1*PR*2*{payer} HEALTH*****PI*{payer}"]  # fmt: skip


def _claims():
    body = HEADER[:]
    body += _subscriber(2, "ACME") + _claim("A", 100, [("99213", 100)])
    body += _subscriber(3, "ACME") + _claim("B", 200, [("99214", 150)])  # lines != total
    body += _subscriber(4, "ACME") + _claim("C", 300, [("99215", 300)])
    body += _subscriber(5, "BETA") + _claim("D", 50, [("99212", 50)])
    body += _subscriber(6, "BETA") + _claim("E", 80, [("99213", 80)])
    body += _subscriber(7, "BETA") + _claim("F", 60, [("QZ1", 60)])  # not a CPT/HCPCS code
    body += _subscriber(8, "ACME") + _claim("B", 150, [("99214", 150)], freq="7")
    body += _subscriber(9, "ACME") + _claim("A", 100, [("99213", 100)], freq="8")
    return lk.read_837(envelope([body]))


def _payment(payer, date, total, claims):
    segs = [f"BPR*I*{total}*C*CHK************{date}", "TRN*1*T1*1999",
            f"N1*PR*{payer} HEALTH*XV*{payer}", "N1*PE*CLINIC*XX*1234567893", *claims]  # fmt: skip
    return ["ST*835*0001", *segs, f"SE*{len(segs) + 2}*0001"]


def _remits():
    acme = _payment("ACME", "20250120", 270, [
        "CLP*A*1*100*70", "CAS*CO*45*20", "CAS*PR*2*10",  # paid in full
        "CLP*B*4*200*0", "CAS*CO*50*200",  # denied
        "CLP*C*1*300*200", "CAS*CO*45*50", "CAS*PI*59*50",  # paid, part denied
    ])  # fmt: skip
    # BETA's later payment comes first in the file: order is by payment date
    beta_late = _payment("BETA", "20250301", 80, ["CLP*E*1*80*80"])
    beta_early = _payment("BETA", "20250201", 10, [
        "CLP*E*4*80*0", "CAS*CO*16*80",  # first answer: denied
        "CLP*F*22*-60*0", "CAS*CO*45*-60",  # a reversal is not a first answer
        "CLP*A*2*100*10", "CAS*OA*23*90",  # BETA as A's secondary: not A's claim to ACME
    ])  # fmt: skip
    raw = "~".join(s for seg in (acme, beta_late, beta_early) for s in seg) + "~"
    return lk.read_835(raw.encode())


def _by(table):
    return {r["group"]: r for r in table.to_pylist()}


def test_totals_with_exact_figures():
    claims, remits = _claims(), _remits()
    assert remits.claims.num_rows == 7
    assert set(remits.findings["code"].to_pylist()) <= {"no_envelope"}
    row = lk.submission_metrics(claims, remits).to_pylist()[0]
    assert row["group"] == "all"
    # A B C D E F submitted; B (charges do not add up) and F (invalid code) are not clean
    assert (row["claims"], row["clean_claims"], row["clean_claim_rate"]) == (6, 4, 4 / 6)
    assert row["charge_cents"] == 10000 + 20000 + 30000 + 5000 + 8000 + 6000
    # answered first: A paid, B denied, C part denied, E denied (its later payment is not
    # the first answer); D has no remit, F only a reversal
    assert (row["adjudicated"], row["first_pass_paid"], row["first_pass_yield"]) == (4, 1, 0.25)
    assert (row["denied"], row["denial_rate"]) == (3, 0.5)
    assert row["denied_cents"] == 20000 + 5000 + 8000
    assert row["dollar_denial_rate"] == pytest.approx(33000 / 79000)
    assert (row["replacements"], row["voids"]) == (1, 1)


def test_by_payer():
    t = _by(lk.submission_metrics(_claims(), _remits(), by="payer"))
    assert list(t) == ["ACME", "BETA"]
    acme, beta = t["ACME"], t["BETA"]
    assert (acme["claims"], acme["clean_claims"], acme["adjudicated"]) == (3, 2, 3)
    assert (acme["first_pass_paid"], acme["denied"], acme["denied_cents"]) == (1, 2, 25000)
    assert (acme["replacements"], acme["voids"]) == (1, 1)
    assert (beta["claims"], beta["clean_claims"], beta["adjudicated"]) == (3, 2, 1)
    assert (beta["first_pass_paid"], beta["first_pass_yield"], beta["denied"]) == (0, 0.0, 1)
    assert beta["denial_rate"] == pytest.approx(1 / 3)


def test_without_remits_and_other_groupings():
    t = lk.submission_metrics(_claims())
    row = t.to_pylist()[0]
    assert (row["claims"], row["clean_claims"], row["adjudicated"]) == (6, 4, 0)
    assert row["first_pass_yield"] is None and row["denial_rate"] is None
    assert _by(lk.submission_metrics(_claims(), by="month"))["2025-01"]["claims"] == 6
    assert list(_by(lk.submission_metrics(_claims(), by="claim_type"))) == ["professional"]
    with pytest.raises(ValueError, match="by must be"):
        lk.submission_metrics(_claims(), by="cpt")
