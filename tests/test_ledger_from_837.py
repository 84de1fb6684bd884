"""Ledger.from_837 / add_claims: encounters, procedures and charges from 837 claims,
and an 835 for those claims posting against them (CLP01 = CLM01, REF*6R)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from x12_837_fixtures import COB, FIXTURES, INSTITUTIONAL, PROFESSIONAL, envelope

import ledgerkit as lk
from ledgerkit.errors import LedgerError

AT = dt.datetime(2025, 1, 11, tzinfo=dt.UTC)
SAMPLES = Path(__file__).parents[2] / "shared" / "data" / "x12-public" / "837"


def _rows(table, *cols):
    return [tuple(r[c] for c in cols) for r in table.to_pylist()]


def test_from_837_professional():
    ledger = lk.Ledger.from_837(lk.read_837(FIXTURES["professional"], salt="s"), at=AT)
    enc = ledger.encounters.to_pylist()[0]
    assert enc["encounter_id"] == "ENC-P1"
    assert (enc["payer1_id"], enc["payer2_id"], enc["place_of_service"]) == ("ACME1", None, "11")
    assert (enc["service_date"], enc["provider_id"], enc["site_id"]) == (
        dt.date(2025, 1, 2), "1098765432", "1234567893",
    )  # fmt: skip
    assert enc["patient_key"].startswith("LK")
    assert _rows(ledger.procedures, "line", "cpt", "modifiers", "units", "charge_cents",
                 "service_date", "line_control_number") == [
        (1, "99214", "25:59", 1, 18000, dt.date(2025, 1, 3), "LCN0001"),
        (2, "J1100", None, 2, 5050, dt.date(2025, 1, 2), "LCN0002"),
    ]  # fmt: skip
    assert _rows(ledger.entries, "entry_id", "line", "payer_seq", "payer_id", "kind",
                 "amount_cents", "source", "note") == [
        (0, 1, 1, "ACME1", "charge", 18000, "charge", "837 <bytes>"),
        (1, 2, 1, "ACME1", "charge", 5050, "charge", "837 <bytes>"),
    ]  # fmt: skip
    assert set(ledger.entries["posted_at"].to_pylist()) == {AT}
    assert _rows(ledger.payers, "payer_id", "name", "payer_class") == [
        ("ACME1", "ACME HEALTH", "commercial")
    ]
    assert lk.classify(ledger)["class"].to_pylist() == ["AWAITING"]


def test_institutional_revenue_only_line_uses_its_revenue_code():
    ledger = lk.Ledger.from_837(lk.read_837(FIXTURES["institutional"]), at=AT)
    assert _rows(ledger.procedures, "cpt", "units", "charge_cents", "service_date") == [
        ("99284", 1, 120000, dt.date(2025, 1, 1)),
        ("0250", 3, 30000, dt.date(2025, 1, 3)),
    ]
    enc = ledger.encounters.to_pylist()[0]
    assert (enc["service_date"], enc["provider_id"], enc["place_of_service"]) == (
        dt.date(2025, 1, 1), "1555555555", None,
    )  # fmt: skip


def test_primary_and_secondary_claims_make_one_encounter():
    primary = [s.replace("SBR*S*", "SBR*P*").replace("SECOND1", "FIRST1") for s in COB]
    primary = primary[: primary.index("SBR*P*18*GRP1******CI")] + [
        s for s in primary if s.startswith(("LX", "SV1", "DTP*472", "REF*6R"))
    ]
    claims = lk.read_837([envelope([primary]), FIXTURES["cob"]])
    assert claims.claims["payer_seq"].to_pylist() == [1, 2]
    ledger = lk.Ledger.from_837(claims, at=AT)
    enc = ledger.encounters.to_pylist()
    assert [(e["payer1_id"], e["payer2_id"]) for e in enc] == [("FIRST1", "SECOND1")]
    # the charges once, on the primary
    assert _rows(ledger.entries, "payer_id", "amount_cents") == [("FIRST1", 15000)] * 2
    # a secondary claim alone names its primary from the COB loop
    alone = lk.Ledger.from_837(lk.read_837(FIXTURES["cob"]), at=AT)
    assert _rows(alone.encounters, "payer1_id", "payer2_id") == [("FIRST1", "SECOND1")]
    assert sorted(alone.payers["payer_id"].to_pylist()) == ["FIRST1", "SECOND1"]


def test_835_posts_against_claims_by_clm01_and_line_control_numbers():
    ledger = lk.Ledger.from_837(lk.read_837(FIXTURES["professional"]), at=AT)
    # lines in the other order and the drug line's code recoded: REF*6R still matches
    raw835 = (
        b"ST*835*0001~BPR*I*150*C*CHK************20250120~TRN*1*CHK1*1999~"
        b"N1*PR*ACME HEALTH*XV*ACME1~N1*PE*CLINIC*XX*1234567893~"
        b"CLP*ENC-P1*1*230.5*150*20*12*PCN1~"
        b"SVC*HC:J1101*50.5*40**2~DTM*472*20250102~CAS*CO*45*10.5~REF*6R*LCN0002~"
        b"SVC*HC:99214:25:59*180*110**1~DTM*472*20250103~CAS*CO*45*50~CAS*PR*2*20~"
        b"REF*6R*LCN0001~SE*14*0001~"
    )
    result = lk.post(ledger, raw835, at=AT + dt.timedelta(days=9))
    assert result.counts()["posted"] == (1, 15000)
    new = result.entries
    assert sorted(_rows(new, "line", "kind", "group_code", "carc", "amount_cents")) == [
        (1, "adjustment", "CO", "45", 5000),
        (1, "adjustment", "PR", "2", 2000),
        (1, "payment", None, None, 11000),
        (2, "adjustment", "CO", "45", 1050),
        (2, "payment", None, None, 4000),
    ]
    bal = lk.balances(result.ledger)
    assert _rows(bal, "line", "charge", "paid", "contractual", "balance", "open_pr") == [
        (1, 18000, 11000, 5000, 2000, 2000),
        (2, 5050, 4000, 1050, 0, 0),
    ]


def test_add_claims_continues_ids_and_refuses_known_encounters():
    ledger = lk.Ledger.from_837(lk.read_837(FIXTURES["professional"]), at=AT)
    more = ledger.add_claims(lk.read_837(FIXTURES["institutional"]), at=AT)
    assert more.encounters["encounter_id"].to_pylist() == ["ENC-P1", "ENC-I1"]
    assert more.entries["entry_id"].to_pylist() == [0, 1, 2, 3]
    assert more.entries["amount_cents"].to_pylist() == [18000, 5050, 120000, 30000]
    assert sorted(more.payers["payer_id"].to_pylist()) == ["ACME1", "MCARE"]
    assert ledger.entries.num_rows == 2  # unchanged
    with pytest.raises(LedgerError, match="already in the ledger"):
        more.add_claims(lk.read_837(FIXTURES["institutional"]))


def test_refused_claims_say_why_without_ids():
    replacement = [s.replace("11:B:1", "11:B:7") for s in PROFESSIONAL]
    with pytest.raises(LedgerError, match="a replacement claim .* does not hold") as info:
        lk.Ledger.from_837(lk.read_837(envelope([replacement])))
    assert "ENC-P1" not in str(info.value)
    with pytest.raises(LedgerError, match="same claim id") as info:
        lk.Ledger.from_837(lk.read_837(envelope([PROFESSIONAL, PROFESSIONAL])))
    assert "ENC-P1" not in str(info.value)
    no_date = [s for s in INSTITUTIONAL if not s.startswith("DTP")]
    with pytest.raises(LedgerError, match="no service date"):
        lk.Ledger.from_837(lk.read_837(envelope([no_date], version="005010X223A2")))


@pytest.mark.skipif(not SAMPLES.exists(), reason="shared 837 samples not found")
@pytest.mark.parametrize("path", sorted(SAMPLES.glob("lfh_*")), ids=lambda p: p.name[4:40])
def test_every_public_sample_makes_a_ledger_with_its_charges(path):
    claims = lk.read_837(path)
    ledger = lk.Ledger.from_837(claims, at=AT)
    assert ledger.encounters.num_rows == claims.claims.num_rows
    assert sum(ledger.entries["amount_cents"].to_pylist()) == sum(
        claims.claims["charge_cents"].to_pylist()
    )
    assert ledger.procedures.num_rows == claims.service_lines.num_rows
