"""837 code validation: every code column of read_837's tables is checked (CPT/HCPCS,
modifiers, revenue codes, ICD-10/ICD-9 shapes, place of service, frequency, SBR codes,
CAS, SVD); a bad value is null with an invalid_code finding naming segment and element,
never the value; a shifted identifying value never reaches a code column."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from x12_837_fixtures import CANARY, COB, FIXTURES, INSTITUTIONAL, PROFESSIONAL, envelope

from ledgerkit.x12 import X12Error, read_837
from ledgerkit.x12.claim_codes import CLAIM_CODE_RULES
from ledgerkit.x12.codes import invalid_codes

SAMPLES = Path(__file__).parents[2] / "shared" / "data" / "x12-public" / "837"
BAD = f"Q{CANARY}"


def _code_findings(c):
    return [(r["segment_id"], r["element"], r["message"]) for r in c.findings.to_pylist()
            if r["code"] == "invalid_code"]  # fmt: skip


def _swap(body, old, new):
    out = [s.replace(old, new) for s in body]
    assert out != body, old
    return out


@pytest.mark.parametrize(
    ("old", "new", "table", "column", "place"),
    [
        ("SV1*HC:99214:25:59", f"SV1*HC:{BAD}:25:59", "service_lines", "procedure_code", "SV101"),
        ("SV1*HC:J1100", f"SV1*{BAD}:J1100", "service_lines", "procedure_qualifier", "SV101"),
        ("HC:99214:25:59", f"HC:99214:{BAD}", "service_lines", "modifiers", "SV101"),
        ("*180.00*UN*1***", f"*180.00*{BAD}*1***", "service_lines", "unit_basis", "SV103"),
        ("11:B:1", f"{BAD}:B:1", "claims", "facility_code", "CLM05"),
        ("11:B:1", f"11:{BAD}:1", "claims", "facility_code_qualifier", "CLM05"),
        ("11:B:1", f"11:B:{BAD}", "claims", "frequency_code", "CLM05"),
        ("SBR*P**GRP9******CI", f"SBR*P**GRP9******{BAD}", "claims",
         "claim_filing_indicator", "SBR09"),
        ("SBR*P**", f"SBR*{BAD}**", "claims", "payer_responsibility", "SBR01"),
        ("HI*ABK:J069", f"HI*ABK:{BAD}", "diagnoses", "code", "HI"),
        ("HI*ABK:J069", f"HI*{BAD}:J069", "diagnoses", "qualifier", "HI"),
        ("LIN**N4*00009012345", f"LIN**N4*{BAD}", "service_lines", "ndc", "LIN03"),
    ],
)  # fmt: skip
def test_bad_code_is_withheld_with_a_finding(old, new, table, column, place):
    c = read_837(envelope([_swap(PROFESSIONAL, old, new)]))
    values = getattr(c, table).column(column).to_pylist()
    assert all(v is None or CANARY not in v for v in values)
    found = _code_findings(c)
    assert found and any(m.startswith(f"{place}: not a valid") for _, _, m in found), found
    for table_name, t in c.tables.items():
        for col in t.column_names:
            if t.schema.field(col).type == "string":
                assert all(v is None or CANARY not in v for v in t[col].to_pylist()), (
                    table_name, col,
                )  # fmt: skip
    with pytest.raises(X12Error, match="invalid_code") as e:
        read_837(envelope([_swap(PROFESSIONAL, old, new)]), strict=True)
    assert CANARY[2:8] not in str(e.value)


def test_other_columns_of_the_claim_are_kept():
    c = read_837(envelope([_swap(PROFESSIONAL, "SV1*HC:J1100", f"SV1*HC:{BAD}")]))
    lines = c.service_lines.to_pylist()
    assert [x["procedure_code"] for x in lines] == ["99214", None]
    assert [x["charge_cents"] for x in lines] == [18000, 5050]
    assert c.claims["charge_cents"].to_pylist() == [23050]
    assert [(s, e) for s, e, _ in _code_findings(c)] == [("SV1", 1)]


def test_place_of_service_follows_the_withheld_facility_code():
    c = read_837(envelope([_swap(PROFESSIONAL, "11:B:1", "1X:B:1")]))
    assert c.claims.select(["facility_code", "place_of_service"]).to_pylist() == [
        {"facility_code": None, "place_of_service": None}
    ]


def test_institutional_lines_name_sv2():
    c = read_837(
        envelope([_swap(INSTITUTIONAL, "SV2*0450*HC:99284", f"SV2*0450*HC:{BAD}")],
                 version="005010X223A2")
    )  # fmt: skip
    assert [(s, e) for s, e, _ in _code_findings(c)] == [("SV2", 2)]
    c = read_837(envelope([_swap(INSTITUTIONAL, "SV2*0250*", "SV2*25O*")], version="005010X223A2"))
    assert [(s, e) for s, e, _ in _code_findings(c)] == [("SV2", 1)]
    assert c.service_lines["revenue_code"].to_pylist() == ["0450", None]


def test_prior_payer_codes_are_checked():
    body = _swap(COB, "CAS*CO*45*40.00", "CAS*C0*45*40.00")
    body = _swap(body, "SVD*FIRST1*80.00*HC:97110:GP", f"SVD*FIRST1*80.00*HC:{BAD}:GP")
    c = read_837(envelope([body]))
    places = sorted((s, e) for s, e, _ in _code_findings(c))
    assert places == [("CAS", 1), ("CAS", 1), ("SVD", 3)]
    prior = c.prior_adjudication
    # the AMT and the two SVD rows have none; both lines' CO-45 are withheld
    assert prior["group_code"].to_pylist().count(None) == 3 + 2
    assert all(v is None or CANARY not in v for v in prior["procedure_code"].to_pylist())


@pytest.mark.parametrize(
    "code, qualifier, ok",
    [
        ("J069", "ABK", True), ("E119", "ABF", True), ("Z7984", "ABF", True),
        ("S72001A", "ABK", True), ("J06.9", "ABK", False), ("4019", "BK", True),
        ("V1052", "BF", True), ("J069", "BK", False), ("0BJ08ZZ", "BBR", True),
        ("99213", "BP", True), ("A1", "BE", True), ("DOE", "ABK", False), ("J0", "ABK", False),
    ],
)  # fmt: skip
def test_diagnosis_shapes(code, qualifier, ok):
    import pyarrow as pa

    rule = CLAIM_CODE_RULES["diagnoses"][1]
    bad = invalid_codes(pa.array([code]), rule, pa.array([qualifier]))
    assert bool(bad[0]) is (not ok)


def test_fixtures_have_no_invalid_code():
    for name, data in FIXTURES.items():
        assert _code_findings(read_837(data)) == [], name


@pytest.mark.skipif(not SAMPLES.exists(), reason="shared 837 samples not found")
def test_public_samples_have_no_invalid_code():
    for path in sorted(SAMPLES.glob("lfh_*")):
        assert _code_findings(read_837(path)) == [], path.name


CODE_COLUMNS = {t: [r.column for r in rules] for t, rules in CLAIM_CODE_RULES.items()}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fixture=st.sampled_from(["professional", "cob", "institutional"]),
    drops=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=4),
)
def test_shifted_elements_never_put_an_identifier_in_a_code_column(fixture, drops):
    """Delete element separators (every later element shifts left, as a lost '*' does):
    a name or member id may land anywhere, but never stays in a code column."""
    data = bytearray(FIXTURES[fixture])
    stars = [i for i, b in enumerate(data) if b == ord("*") and i > 106]
    for d in drops:
        if stars:
            del data[stars.pop(int(d * len(stars)))]
    try:
        c = read_837(bytes(data), salt="s")
    except X12Error as e:
        assert CANARY[2:8] not in str(e)
        return
    for table, columns in CODE_COLUMNS.items():
        t = getattr(c, table)
        for col in columns:
            assert all(v is None or CANARY[2:8] not in v for v in t[col].to_pylist()), (table, col)
    assert all(CANARY[2:8] not in m for m in c.findings["message"].to_pylist())
