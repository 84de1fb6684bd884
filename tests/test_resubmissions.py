"""Replacement (CLM05-3 7) and void (8) claims in Ledger.add_claims / from_837: the
original's charges are negated and the replacement's posted, append-only; exact cents."""

from __future__ import annotations

import datetime as dt

import pytest
from x12_837_fixtures import PROFESSIONAL, envelope

import ledgerkit as lk
from ledgerkit.errors import LedgerError

AT = dt.datetime(2025, 1, 11, tzinfo=dt.UTC)
LATER = AT + dt.timedelta(days=20)


def _claim(frequency="1", lines=None, payer="ACME1"):
    """PROFESSIONAL (ENC-P1: 99214-25-59 $180.00, J1100 x2 $50.50) with its frequency,
    payer and lines changed; ``lines`` = [(SV1 code, charge text, units), ...]."""
    body = [s.replace("11:B:1", f"11:B:{frequency}").replace("PI*ACME1", f"PI*{payer}")
            for s in PROFESSIONAL]  # fmt: skip
    if lines is not None:
        head = body[: body.index("LX*1")]
        total = sum(round(float(c) * 100) for _, c, _ in lines)
        head = [s if not s.startswith("CLM*") else s.replace("230.50", f"{total / 100:.2f}")
                for s in head]  # fmt: skip
        for n, (code, charge, units) in enumerate(lines, start=1):
            head += [f"LX*{n}", f"SV1*HC:{code}*{charge}*UN*{units}***1", "DTP*472*D8*20250103"]
        body = head
    return lk.read_837(envelope([body]))


def _entries(ledger):
    return [(r["entry_id"], r["line"], r["amount_cents"], r["negates"], r["note"])
            for r in ledger.entries.to_pylist()]  # fmt: skip


def _charge_by_line(ledger):
    out = {}
    for r in ledger.entries.to_pylist():
        if r["kind"] == "charge":
            out[r["line"]] = out.get(r["line"], 0) + r["amount_cents"]
    return out


def test_replacement_with_a_new_charge_negates_and_recharges():
    ledger = lk.Ledger.from_837(_claim(), at=AT)
    fixed = ledger.add_claims(
        _claim("7", [("99214:25:59", "150.00", 1), ("J1100", "50.50", 2)]), at=LATER
    )
    assert _entries(fixed) == [
        (0, 1, 18000, None, "837 <bytes>"),
        (1, 2, 5050, None, "837 <bytes>"),
        (2, 1, -18000, 0, "837 replacement <bytes>"),
        (3, 2, -5050, 1, "837 replacement <bytes>"),
        (4, 1, 15000, None, "837 replacement <bytes>"),
        (5, 2, 5050, None, "837 replacement <bytes>"),
    ]
    assert fixed.procedures.num_rows == 2  # the same two services
    assert _charge_by_line(fixed) == {1: 15000, 2: 5050}
    assert set(fixed.entries["source"].to_pylist()) == {"charge"}
    assert set(fixed.entries["actor"].to_pylist()) == {"read_837"}
    assert ledger.entries.num_rows == 2  # the original ledger is unchanged


def test_replacement_drops_a_line_and_adds_a_service():
    """Line 2 is gone, line 1 is now 99213 (another service: a new procedure, line 3)."""
    ledger = lk.Ledger.from_837(_claim(), at=AT)
    fixed = ledger.add_claims(_claim("7", [("99213", "120.00", 1)]), at=LATER)
    procs = [(r["line"], r["cpt"], r["charge_cents"]) for r in fixed.procedures.to_pylist()]
    assert procs == [(1, "99214", 18000), (2, "J1100", 5050), (3, "99213", 12000)]
    assert _charge_by_line(fixed) == {1: 0, 2: 0, 3: 12000}
    bal = lk.balances(fixed)
    assert sorted(zip(bal["line"].to_pylist(), bal["balance"].to_pylist(), strict=True)) == [
        (1, 0), (2, 0), (3, 12000),
    ]  # fmt: skip


def test_original_and_replacement_in_one_file_and_then_a_void():
    both = lk.read_837(
        [envelope([PROFESSIONAL]),
         envelope([[s.replace("11:B:1", "11:B:7").replace("180.00", "170.00")
                    .replace("230.50", "220.50") for s in PROFESSIONAL]])]
    )  # fmt: skip
    ledger = lk.Ledger.from_837(both, at=AT)
    assert ledger.encounters.num_rows == 1
    assert _charge_by_line(ledger) == {1: 17000, 2: 5050}
    voided = ledger.add_claims(_claim("8"), at=LATER)
    assert _charge_by_line(voided) == {1: 0, 2: 0}
    negations = [r for r in voided.entries.to_pylist() if r["note"] == "837 void <bytes>"]
    assert [(r["line"], r["amount_cents"], r["negates"]) for r in negations] == [
        (1, -17000, 4), (2, -5050, 5),
    ]  # fmt: skip
    assert sum(voided.entries["amount_cents"].to_pylist()) == 0


def test_replacement_after_a_payment_keeps_the_payment():
    ledger = lk.Ledger.from_837(_claim(), at=AT)
    paid = ledger.append(
        [dict(encounter_id="ENC-P1", line=1, payer_seq=1, kind="payment", amount_cents=10000,
              source="remit")], at=AT + dt.timedelta(days=5)
    )  # fmt: skip
    fixed = paid.add_claims(
        _claim("7", [("99214:25:59", "160.00", 1), ("J1100", "50.50", 2)]), at=LATER
    )
    bal = {r["line"]: r["balance"] for r in lk.balances(fixed).to_pylist()}
    assert bal == {1: 6000, 2: 5050}
    # a void would leave the paid line at -$100.00: refused whole, nothing applied
    with pytest.raises(LedgerError, match="credit|below 0"):
        fixed.add_claims(_claim("8"), at=LATER)


def test_refusals_name_rows_never_claim_ids():
    with pytest.raises(LedgerError, match=r"claims row 0: a replacement claim .* does not hold"):
        lk.Ledger.from_837(_claim("7"), at=AT)
    ledger = lk.Ledger.from_837(_claim(), at=AT)
    with pytest.raises(LedgerError, match="void claim") as e:
        other = [s.replace("11:B:1", "11:B:8").replace("ENC-P1", "ENC-QZ9") for s in PROFESSIONAL]
        ledger.add_claims(lk.read_837(envelope([other])))
    assert "ENC-QZ9" not in str(e.value)
    with pytest.raises(LedgerError, match="another primary payer") as e:
        ledger.add_claims(_claim("7", payer="OTHER9"))
    assert "ENC-P1" not in str(e.value) and "OTHER9" not in str(e.value)
    # an original of a known encounter is still refused
    with pytest.raises(LedgerError, match="already in the ledger"):
        ledger.add_claims(_claim("1"))
