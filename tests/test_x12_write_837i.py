"""837I through write_837: institutional encounters (revenue-code lines) are written as
837I claims (CLM05 facility type, SV2 revenue code) that read_837 reads back, or refused
by encounter row and line when they cannot be (issue #17)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ledgerkit as lk
from ledgerkit.errors import LedgerError
from ledgerkit.x12.write_claims import ClaimPick, PriorPayer, claims_text, format_837

SALT = "837i"
ENC_COLS = ["encounter_id", "site_id", "provider_id", "location_id", "place_of_service",
            "service_date", "payer1_id", "payer2_id", "payer3_id"]  # fmt: skip
PROC_COLS = ["encounter_id", "line", "cpt", "modifiers", "units", "charge_cents",
             "service_date", "line_control_number"]  # fmt: skip

# Two outpatient claims whose lines carry only a revenue code (no HCPCS in SV202)
HOSPITAL_837I = (
    b"ISA*00*          *00*          *ZZ*HOSPITAL       *ZZ*PAYER          *250110*1200*^*"
    b"00501*000000001*0*P*:~GS*HC*HOSPITAL*PAYER*20250110*1200*1*X*005010X223A2~"
    b"ST*837*0001*005010X223A2~BHT*0019*00*B1*20250110*1200*CH~"
    b"NM1*41*2*HOSPITAL*****46*H1~NM1*40*2*PAYER*****46*P1~"
    b"HL*1**20*1~NM1*85*2*HOSPITAL*****XX*1234567893~"
    b"HL*2*1*22*0~SBR*P*18*******MB~NM1*IL*1******MI*M1~NM1*PR*2*MEDICARE*****PI*MCR~"
    b"CLM*INST1*200.50***13:A:1*Y*A*Y*Y~DTP*434*RD8*20250102-20250103~"
    b"NM1*71*1*ATTENDING*****XX*1111111112~"
    b"LX*1~SV2*0250**120.50*UN*2~DTP*472*D8*20250102~REF*6R*L1~"
    b"LX*2~SV2*0300**80*UN*1~DTP*472*D8*20250103~"
    b"HL*3*1*22*0~SBR*P*18*******CI~NM1*IL*1******MI*M2~NM1*PR*2*ACME*****PI*ACME~"
    b"CLM*INST2*45.00***13:A:1*Y*A*Y*Y~DTP*434*RD8*20250105-20250105~"
    b"SBR*S*18*******MB~OI***Y*P**Y~NM1*IL*1******MI*M2~NM1*PR*2*MEDICARE*****PI*MCR~"
    b"LX*1~SV2*0450**45*UN*1~DTP*472*D8*20250105~"
    b"SE*34*0001~GE*1*1~IEA*1*000000001~"
)


def _strings(table: pa.Table) -> pa.Table:
    cols = [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in table.columns]
    return pa.table(cols, names=table.column_names)


def _rows(table: pa.Table, cols) -> list[tuple]:
    rows = [tuple(r[c] for c in cols) for r in _strings(table).select(cols).to_pylist()]
    return sorted(rows, key=lambda r: tuple("" if v is None else str(v) for v in r))


def _same_ledger(back: lk.Ledger, ledger: lk.Ledger):
    assert _rows(back.encounters, ENC_COLS) == _rows(ledger.encounters, ENC_COLS)
    assert _rows(back.procedures, PROC_COLS) == _rows(ledger.procedures, PROC_COLS)
    charges = ["encounter_id", "line", "payer_seq", "amount_cents"]
    assert _rows(back.entries, charges) == _rows(ledger.entries, charges)


def _hospital_ledger() -> lk.Ledger:
    return lk.Ledger.from_837(lk.read_837(HOSPITAL_837I, salt=SALT))


def test_revenue_code_lines_round_trip_as_837i():
    ledger = _hospital_ledger()
    assert ledger.procedures["cpt"].cast(pa.string()).to_pylist() == ["0250", "0300", "0450"]
    text = format_837(ledger, facility_type="13")
    assert b"SV1*" not in text and b"GS*HC*LEDGERKIT*RECEIVER*" in text
    claims = lk.read_837(text, salt=SALT)
    assert claims.findings.num_rows == 0
    assert claims.transactions["claim_type"].to_pylist() == ["institutional"]
    assert claims.transactions["version"].to_pylist() == ["005010X223A2"]
    c = claims.claims
    assert c["facility_code"].to_pylist() == ["13", "13"]
    assert c["facility_code_qualifier"].to_pylist() == ["A", "A"]
    assert c["place_of_service"].to_pylist() == [None, None]
    assert c["charge_cents"].to_pylist() == [20050, 4500]
    assert c["statement_from"].to_pylist() == [dt.date(2025, 1, 2), dt.date(2025, 1, 5)]
    assert c["statement_to"].to_pylist() == [dt.date(2025, 1, 3), dt.date(2025, 1, 5)]
    assert c["attending_provider_id"].to_pylist() == ["1111111112", None]
    lines = claims.service_lines
    assert lines["revenue_code"].to_pylist() == ["0250", "0300", "0450"]
    assert lines["procedure_code"].to_pylist() == [None, None, None]
    assert lines["charge_cents"].to_pylist() == [12050, 8000, 4500]
    assert lines["units"].to_pylist() == [2.0, 1.0, 1.0]
    assert lines["line_control_number"].to_pylist() == ["L1", None, None]
    _same_ledger(lk.Ledger.from_837(claims), ledger)


def test_professional_and_institutional_encounters_in_one_file():
    ledger = _hospital_ledger()
    office = lk.synth.generate(8, seed=3)
    ledger = ledger.add_claims(lk.read_837(format_837(office), salt=SALT))
    claims = lk.read_837(format_837(ledger, facility_type="14"), salt=SALT)
    assert claims.findings.num_rows == 0
    assert claims.transactions["claim_type"].to_pylist() == ["professional", "institutional"]
    c = claims.claims
    kinds = dict(zip(c["encounter_id"].to_pylist(), c["facility_code_qualifier"].to_pylist(),
                     strict=True))  # fmt: skip
    assert kinds.pop("INST1") == kinds.pop("INST2") == "A"
    assert set(kinds.values()) == {"B"}
    _same_ledger(lk.Ledger.from_837(claims), ledger)


def test_institutional_encounter_without_facility_type_is_refused(tmp_path):
    path = tmp_path / "claims.837"
    with pytest.raises(LedgerError, match=r"encounters row 0: .*needs facility_type") as info:
        lk.write_837(_hospital_ledger(), path)
    assert "INST1" not in str(info.value)
    assert not path.exists()


def _with_procedures(ledger: lk.Ledger, **changes) -> lk.Ledger:
    procs = ledger.procedures
    for name, values in changes.items():
        i = procs.schema.get_field_index(name)
        procs = procs.set_column(i, name, pa.array(values, pa.string()))
    return lk.Ledger.from_arrow(ledger.encounters, procs, ledger.entries, ledger.payers)


def test_cpt_line_in_an_institutional_encounter_is_refused_by_row_and_line():
    mixed = _with_procedures(_hospital_ledger(), cpt=["0250", "99213", "0450"])
    with pytest.raises(LedgerError, match=r"encounters row 0 line 2: a CPT/HCPCS line") as info:
        format_837(mixed, facility_type="13")
    assert "INST1" not in str(info.value) and "99213" not in str(info.value)


def test_modifiers_on_a_revenue_code_are_refused_by_row_and_line():
    modified = _with_procedures(_hospital_ledger(), modifiers=[None, None, "25"])
    with pytest.raises(LedgerError, match=r"encounters row 1 line 1: modifiers"):
        format_837(modified, facility_type="13")


def test_institutional_claim_to_a_later_payer_is_refused():
    ledger = _hospital_ledger()
    pick = ClaimPick(1, to_payer_seq=2, priors=(PriorPayer(1, 0, {1: (0, None, [])}),))
    with pytest.raises(LedgerError, match=r"encounters row 1: an institutional encounter to a"):
        claims_text(ledger, [pick], facility_type="13")


REVENUE = st.text("0123456789", min_size=3, max_size=4)
IDENT = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=12)


@st.composite
def institutional_ledgers(draw):
    n = draw(st.integers(1, 5))
    ids = draw(st.lists(IDENT, min_size=n, max_size=n, unique=True))
    enc = {c: [] for c in ENC_COLS + ["patient_key"]}
    proc = {c: [] for c in PROC_COLS}
    for e in ids:
        day = dt.date(2024, 1, 1) + dt.timedelta(days=draw(st.integers(0, 700)))
        k = draw(st.integers(1, 3))
        enc["encounter_id"].append(e)
        enc["patient_key"].append(draw(st.sampled_from(["A", "B", None])))
        enc["site_id"].append(draw(st.sampled_from(["1234567893", "SITE2"])))
        enc["provider_id"].append(draw(st.one_of(st.none(), IDENT)))
        enc["location_id"].append(draw(st.one_of(st.none(), IDENT)))
        enc["place_of_service"].append(None)  # an 837I claim has a facility type instead
        enc["service_date"].append(day)
        for j in (1, 2, 3):
            enc[f"payer{j}_id"].append(f"P{j}" if j <= k else None)
        for line in range(1, draw(st.integers(1, 4)) + 1):
            proc["encounter_id"].append(e)
            proc["line"].append(line)
            proc["cpt"].append(draw(REVENUE))
            proc["modifiers"].append(None)
            proc["units"].append(draw(st.integers(1, 99)))
            proc["charge_cents"].append(draw(st.integers(0, 10**11)))
            # the encounter's date is its first line's (read_837 takes the earliest line)
            later = 0 if line == 1 else draw(st.integers(0, 3))
            proc["service_date"].append(day + dt.timedelta(days=later))
            proc["line_control_number"].append(draw(st.one_of(st.none(), IDENT)))
    payers = {"payer_id": ["P1", "P2", "P3"], "name": ["ONE", "TWO", "THREE"],
              "payer_class": ["medicare", "commercial", "medicaid"],
              "timely_filing_days": [365] * 3, "appeal_days": [180] * 3}  # fmt: skip
    lines = len(proc["line"])
    entries = {
        "entry_id": list(range(lines)),
        "encounter_id": proc["encounter_id"],
        "line": proc["line"],
        "payer_seq": [1] * lines,
        "payer_id": [enc["payer1_id"][ids.index(e)] for e in proc["encounter_id"]],
        "kind": ["charge"] * lines,
        "amount_cents": proc["charge_cents"],
        "posted_at": [dt.datetime(2025, 1, 1, tzinfo=dt.UTC)] * lines,
        "source": ["charge"] * lines,
    }
    return lk.Ledger.from_arrow(pa.table(enc), pa.table(proc), pa.table(entries),
                                pa.table(payers))  # fmt: skip


@settings(max_examples=25, deadline=None)
@given(ledger=institutional_ledgers(), facility=st.sampled_from(["11", "13", "14", "85"]))
def test_arbitrary_institutional_ledgers_round_trip(ledger, facility):
    claims = lk.read_837(format_837(ledger, facility_type=facility), salt=SALT)
    assert claims.findings.num_rows == 0
    assert set(claims.claims["facility_code"].to_pylist()) == {facility}
    assert claims.service_lines["revenue_code"].to_pylist() == [
        c for c in ledger.procedures["cpt"].cast(pa.string()).to_pylist()
    ]
    _same_ledger(lk.Ledger.from_837(claims), ledger)
