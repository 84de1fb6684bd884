"""read_837: the shared public 837 samples against a plain-Python reference reader,
hand-written fixtures for each shape (837I, COB loops, 4010), errors and PHI."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from reference_837 import reference_read
from x12_837_fixtures import CANARY, COB, FIXTURES, PROFESSIONAL, envelope

from ledgerkit.x12 import Claims, X12Error, read_835, read_837

SAMPLES = Path(__file__).parents[2] / "shared" / "data" / "x12-public" / "837"


def _readme_counts() -> dict[str, tuple[int, int]]:
    """File -> (CLM segments, SV1/SV2 lines) from the samples' README table."""
    out = {}
    for row in (SAMPLES / "README.md").read_text().splitlines():
        m = re.match(r"\|\s*(lfh_\S+)\s*\|\s*\d+\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|", row)
        if m:
            out[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return out


COUNTS = _readme_counts() if SAMPLES.exists() else {}
needs_samples = pytest.mark.skipif(not SAMPLES.exists(), reason="shared 837 samples not found")


def _compare_with_reference(c: Claims, data: bytes):
    """Every claim, line, diagnosis and prior adjudication row equals the reference's."""
    ref = reference_read(data)
    claims = c.claims.to_pylist()
    lines = c.service_lines.to_pylist()
    assert [(r["encounter_id"], r["charge_cents"]) for r in claims] == [
        (x["id"], x["charge"]) for x in ref
    ]
    ref_lines = [ln for x in ref for ln in x["lines"]]
    assert [
        (ln["procedure_code"], ln["modifiers"], ln["revenue_code"], ln["charge_cents"],
         ln["units"], ln["line_control_number"], ln["ndc"])
        for ln in lines
    ] == [
        (x["code"], x["modifiers"], x["revenue"], x["charge"], x["units"], x["control"],
         x["ndc"])
        for x in ref_lines
    ]  # fmt: skip
    assert [r["line_count"] for r in claims] == [len(x["lines"]) for x in ref]
    assert [(d["qualifier"], d["code"]) for d in c.diagnoses.to_pylist()] == [
        d for x in ref for d in x["dx"]
    ]
    first_line = np.cumsum([0] + [len(x["lines"]) for x in ref])
    expected_prior = [
        (src, None if where is None else int(first_line[i] + where), extra, amount)
        for i, x in enumerate(ref)
        for src, where, extra, amount in x["prior"]
    ]
    got_prior = [
        (p["source"], p["line_id"],
         (p["group_code"], p["carc"]) if p["source"] == "CAS"
         else p["amount_qualifier"] if p["source"] == "AMT" else None,
         p["amount_cents"])
        for p in c.prior_adjudication.to_pylist()
    ]  # fmt: skip
    assert got_prior == expected_prior


# ----------------------------------------------------------------------------- public samples
@needs_samples
def test_readme_lists_every_sample():
    files = sorted(p.name for p in SAMPLES.iterdir() if p.name.startswith("lfh_"))
    assert len(files) == 22
    assert sorted(COUNTS) == files


@needs_samples
@pytest.mark.parametrize("name", sorted(COUNTS))
def test_public_sample_counts_and_charges(name):
    data = (SAMPLES / name).read_bytes()
    c = read_837(SAMPLES / name, salt="test-salt")
    n_claims, n_lines = COUNTS[name]
    assert c.claims.num_rows == n_claims
    assert c.service_lines.num_rows == n_lines
    ref = reference_read(data)
    total = sum(x["charge"] for x in ref)
    assert sum(c.claims.column("charge_cents").to_pylist()) == total
    assert sum(c.service_lines.column("charge_cents").to_pylist()) == sum(
        ln["charge"] for x in ref for ln in x["lines"]
    )
    _compare_with_reference(c, data)
    # the public samples are balanced: no claim differs from its lines, no COB residual;
    # a few use ">" in composites while their ISA16 says ":" (read, and noted once)
    odd = b"HC>" in data or b"11>B" in data or b"13>A" in data
    codes = c.findings.column("code").to_pylist()
    assert codes == (["component_separator"] if odd else []), c.findings.to_pylist()
    assert c.claims.column("patient_key").null_count == 0
    assert c.transactions.column("claim_type").to_pylist()[0] == (
        "institutional" if name.endswith(".837i") else "professional"
    )


@needs_samples
def test_public_folder_reads_every_file_with_exact_totals():
    c = read_837(SAMPLES)
    assert c.transactions.num_rows == 22
    assert c.claims.num_rows == sum(v[0] for v in COUNTS.values()) == 23
    assert c.service_lines.num_rows == sum(v[1] for v in COUNTS.values()) == 55
    total = sum(x["charge"] for p in sorted(SAMPLES.glob("lfh_*")) for x in reference_read(
        p.read_bytes()))  # fmt: skip
    assert sum(c.claims.column("charge_cents").to_pylist()) == total == 855_477
    # ids stay unique across files
    assert c.claims.column("claim_id").to_pylist() == list(range(23))
    assert set(c.service_lines.column("claim_id").to_pylist()) == set(range(23))


@needs_samples
def test_public_cob_sample_keeps_primary_adjudication():
    c = read_837(SAMPLES / "lfh_005010X222A2_demo.cob.example3.B.837")
    prior = c.prior_adjudication.to_pylist()
    paid = [p for p in prior if p["source"] == "AMT" and p["amount_qualifier"] == "D"]
    assert [(p["other_payer_id"], p["amount_cents"]) for p in paid] == [("999996666", 3915)]
    svd = [p for p in prior if p["source"] == "SVD"]
    assert [(p["procedure_code"], p["amount_cents"]) for p in svd] == [
        ("99213", 4000), ("90782", 1500), ("J3301", 2104),
    ]  # fmt: skip
    assert {p["adjudication_date"] for p in svd} == {dt.date(2005, 10, 15)}
    other = c.other_payers.to_pylist()
    assert [(o["responsibility"], o["payer_id"], o["payer_name"]) for o in other] == [
        ("P", "999996666", "KEY INSURANCE COMPANY")
    ]
    claim_cas = [(p["group_code"], p["carc"], p["amount_cents"]) for p in prior
                 if p["source"] == "CAS" and p["line_id"] is None]  # fmt: skip
    assert claim_cas == [("PR", "1", 2189), ("PR", "2", 1500)]


# ----------------------------------------------------------------------------- fixtures
@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_matches_reference(name):
    data = FIXTURES[name]
    if name == "pipes_newlines":  # the reference reader wants "~"; same content otherwise
        data_ref = FIXTURES["professional"]
    else:
        data_ref = data
    c = read_837(data, salt="s")
    _compare_with_reference(c, data_ref)
    assert c.findings.num_rows == 0


def test_professional_claim_fields():
    c = read_837(FIXTURES["professional"], salt="s")
    claim = c.claims.to_pylist()[0]
    assert claim["charge_cents"] == 23050
    assert (claim["place_of_service"], claim["frequency_code"]) == ("11", "1")
    assert (claim["payer_id"], claim["payer_name"], claim["payer_seq"]) == (
        "ACME1", "ACME HEALTH", 1,
    )  # fmt: skip
    assert claim["billing_provider_npi"] == "1234567893"
    assert claim["billing_provider_tax_id"] == "111222333"
    assert claim["rendering_provider_id"] == "1098765432"
    assert claim["prior_authorization"] == "AUTH77"
    lines = c.service_lines.to_pylist()
    # the first line has its own date; the second inherits the claim's DTP*472
    assert [ln["service_from"] for ln in lines] == [dt.date(2025, 1, 3), dt.date(2025, 1, 2)]
    assert (claim["service_from"], claim["service_to"]) == (dt.date(2025, 1, 2),) * 2
    assert [ln["diagnosis_pointers"] for ln in lines] == ["1:2", "1"]
    assert [ln["modifiers"] for ln in lines] == ["25:59", None]
    # a child patient (HL 23) is not the subscriber
    assert claim["patient_key"] != claim["subscriber_key"]
    assert claim["patient_key"].startswith("LK") and len(claim["patient_key"]) == 26


def test_institutional_claim_fields():
    c = read_837(FIXTURES["institutional"])
    claim = c.claims.to_pylist()[0]
    assert (claim["facility_code"], claim["facility_code_qualifier"]) == ("13", "A")
    assert claim["place_of_service"] is None
    assert (claim["statement_from"], claim["statement_to"]) == (
        dt.date(2025, 1, 1), dt.date(2025, 1, 3),
    )  # fmt: skip
    assert claim["attending_provider_id"] == "1555555555"
    assert (claim["service_from"], claim["service_to"]) == (
        dt.date(2025, 1, 1), dt.date(2025, 1, 3),
    )  # fmt: skip
    lines = c.service_lines.to_pylist()
    got = [
        (ln["revenue_code"], ln["procedure_code"], ln["charge_cents"], ln["units"]) for ln in lines
    ]
    assert got == [("0450", "99284", 120000, 1.0), ("0250", None, 30000, 3.0)]
    assert (lines[0]["service_from"], lines[0]["service_to"]) == (
        dt.date(2025, 1, 1), dt.date(2025, 1, 2),
    )  # fmt: skip
    assert c.transactions.column("claim_type").to_pylist() == ["institutional"]
    # no patient loop and relationship 18: the patient is the subscriber
    assert claim["patient_key"] is None  # no salt: no keys
    keyed = read_837(FIXTURES["institutional"], salt="s").claims.to_pylist()[0]
    assert keyed["patient_key"] == keyed["subscriber_key"] is not None


def test_cob_seed_003_examples_balance_per_line():
    c = read_837(FIXTURES["cob"])
    claim = c.claims.to_pylist()[0]
    assert (claim["payer_seq"], claim["payer_id"]) == (2, "SECOND1")
    prior = c.prior_adjudication.to_pylist()
    for line_id, paid in ((0, 0), (1, 8000)):
        rows = [p for p in prior if p["line_id"] == line_id]
        assert [p["amount_cents"] for p in rows if p["source"] == "SVD"] == [paid]
        cas = sum(p["amount_cents"] for p in rows if p["source"] == "CAS")
        assert 15000 - paid == cas  # fee - primary paid = sum of the primary's CAS
        assert {p["other_payer_id"] for p in rows} == {"FIRST1"}
        assert {p["other_payer"] for p in rows} == {1}
        assert {p["other_payer_responsibility"] for p in rows} == {"P"}
        assert {p["adjudication_date"] for p in rows} == {dt.date(2025, 1, 20)}
    assert [(p["group_code"], p["carc"], p["amount_cents"]) for p in prior
            if p["line_id"] == 0 and p["source"] == "CAS"] == [("CO", "45", 4000),
                                                               ("PR", "1", 11000)]  # fmt: skip
    assert c.findings.num_rows == 0
    # the other coverage itself: one row per 2320 loop, with its 2330B payer
    assert c.other_payers.to_pylist() == [
        {"claim_id": 0, "other_payer": 1, "responsibility": "P", "payer_seq": 1,
         "claim_filing_indicator": "CI", "payer_id": "FIRST1", "payer_name": "FIRST PAYER"}
    ]  # fmt: skip


def test_cob_residuals_are_findings_with_exact_cents():
    body = [s.replace("CAS*PR*1*110.00", "CAS*PR*1*100.00") for s in COB]
    body = [s.replace("AMT*D*80.00", "AMT*D*70.00") for s in body]
    c = read_837(envelope([body]))
    f = c.findings.to_pylist()
    assert sorted((x["code"], x["difference_cents"], x["line_id"]) for x in f) == [
        ("unbalanced_prior_claim", 2000, None),  # 300 - 70 - (40 + 100 + 40 + 20 + 10)
        ("unbalanced_prior_line", 1000, 0),  # 150 - 0 - (40 + 100)
    ]
    assert all(CANARY not in x["message"] for x in f)


def test_claim_charge_not_sum_of_lines_is_a_finding():
    body = [s.replace("CLM*ENC-P1*230.50", "CLM*ENC-P1*230.00") for s in PROFESSIONAL]
    c = read_837(envelope([body]))
    f = c.findings.to_pylist()
    assert [(x["code"], x["segment_id"], x["element"], x["difference_cents"]) for x in f] == [
        ("unbalanced_claim", "CLM", 2, -50)
    ]
    with pytest.raises(X12Error, match="unbalanced_claim"):
        read_837(envelope([body]), strict=True)


def test_claim_without_lines_is_a_finding():
    body = PROFESSIONAL[: PROFESSIONAL.index("LX*1")]
    c = read_837(envelope([body]))
    assert c.findings.column("code").to_pylist() == ["claim_without_lines"]
    assert c.claims.column("line_count").to_pylist() == [0]


def test_4010_professional():
    c = read_837(FIXTURES["professional_4010"])
    claim = c.claims.to_pylist()[0]
    assert c.transactions.column("version").to_pylist() == ["004010X098A1"]
    assert c.transactions.column("claim_type").to_pylist() == ["professional"]
    assert claim["billing_provider_tax_id"] == "999887777"  # NM108 24 in 4010
    assert claim["billing_provider_npi"] is None
    assert claim["claim_filing_indicator"] == "MB"
    assert [(d["qualifier"], d["code"]) for d in c.diagnoses.to_pylist()] == [
        ("BK", "4019"), ("BF", "25000"),
    ]  # fmt: skip


def test_no_envelope_and_several_files():
    body = ["ST*837*1*005010X222A1"] + PROFESSIONAL + [f"SE*{len(PROFESSIONAL) + 2}*1"]
    c = read_837("~".join(body).encode() + b"~")
    assert c.findings.column("code").to_pylist() == ["no_envelope"]
    assert c.claims.column("charge_cents").to_pylist() == [23050]
    both = read_837([FIXTURES["professional"], FIXTURES["cob"]])
    assert both.claims.column("claim_id").to_pylist() == [0, 1]
    assert both.service_lines.column("claim_id").to_pylist() == [0, 0, 1, 1]
    assert both.prior_adjudication.column("claim_id").to_pylist() == [1] * 8
    assert set(both.prior_adjudication.column("line_id").to_pylist()) == {None, 2, 3}


# ----------------------------------------------------------------------------- PHI
def _all_text(c: Claims) -> str:
    out = []
    for t in c.tables.values():
        for col in t.columns:
            if pa.types.is_string(col.type):
                out.extend(str(v) for v in col.to_pylist() if v is not None)
    return "\n".join(out)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_identifiers_never_kept_by_default(name):
    c = read_837(FIXTURES[name], salt="s")
    assert CANARY not in _all_text(c)
    kept = read_837(FIXTURES[name], salt="s", keep_identifiers=True)
    assert CANARY in _all_text(kept)


def test_identifier_columns_with_keep_identifiers():
    claim = read_837(FIXTURES["professional"], keep_identifiers=True).claims.to_pylist()[0]
    assert claim["subscriber_last_name"] == f"DOE{CANARY}"
    assert claim["subscriber_id"] == f"M100{CANARY}"
    assert claim["patient_first_name"] == "KID"
    assert claim["patient_id"] is None


def test_patient_key_is_the_835_readers_key():
    salt = "clinic-secret"
    raw835 = (b"ST*835*0001~BPR*I*80*C*CHK************20250110~TRN*1*CHK1*1999~"
              b"N1*PR*ACME*XV*ACME1~N1*PE*CLINIC*XX*1234567893~CLP*ENC-I1*1*1500*80~"
              b"NM1*QC*1*DOE" + CANARY.encode() + b"*JANE****MI*M100" + CANARY.encode() +
              b"~SE*7*0001~")  # fmt: skip
    key835 = read_835(raw835, salt=salt).claims.column("patient_key")[0].as_py()
    key837 = read_837(FIXTURES["institutional"], salt=salt).claims.column("patient_key")[0]
    assert key837.as_py() == key835


# ----------------------------------------------------------------------------- errors
BROKEN = {
    "truncated": (FIXTURES["professional"][:-60], "truncated", None),
    "not_837": (FIXTURES["professional"].replace(b"ST*837", b"ST*835"), "not an 837", "ST"),
    "bad_charge": (FIXTURES["professional"].replace(b"*230.50*", b"*2X0.50*"), "not a number",
                   "CLM"),
    "subcent": (FIXTURES["professional"].replace(b"*180.00*", b"*180.001*"), "fractions",
                "SV1"),
    "missing_claim_id": (FIXTURES["professional"].replace(b"CLM*ENC-P1*", b"CLM**"),
                         "required", "CLM"),
    "line_outside_claim": (FIXTURES["professional"].replace(b"LX*1~", b"HL*9*1*22*0~"),
                           "not allowed", "SV1"),
    "cas_outside_cob": (FIXTURES["professional"].replace(b"REF*G1*AUTH77", b"CAS*CO*45*1"),
                        "not allowed", "CAS"),
    "se_count": (FIXTURES["professional"].replace(b"SE*", b"SE*9"), "SE01", "SE"),
    "empty": (b"   ", "no X12 segments", None),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_files_raise_x12error_naming_the_place(case):
    data, words, segment_id = BROKEN[case]
    with pytest.raises(X12Error) as info:
        read_837(data)
    e = info.value
    assert words in str(e)
    assert e.file == "<bytes>"
    if segment_id:
        assert e.segment_id == segment_id
        assert e.segment_number is not None
    assert CANARY not in str(e)


def test_on_error_skip_and_missing_file(tmp_path):
    good = tmp_path / "a.837"
    bad = tmp_path / "b.837"
    good.write_bytes(FIXTURES["professional"])
    bad.write_bytes(FIXTURES["professional"][:-60])
    c = read_837(tmp_path, on_error="skip")
    assert c.claims.num_rows == 1
    assert [name for name, _ in c.skipped] == [str(bad)]
    with pytest.raises(X12Error):
        read_837(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_837(tmp_path / "nope.837")
    with pytest.raises(ValueError, match="on_error"):
        read_837(good, on_error="ignore")


def test_dense_file_grows_its_arrays():
    # far more claims per byte than the first allocation assumes: parsed again, exactly
    body = ["HL*1**20*1", "HL*2*1*22*0", "SBR*P*18"]
    for i in range(3000):
        body += [f"CLM*E{i}*1***11:B:1", "LX*1", "SV1*HC:1*1*UN*1", "SVD*P*1*HC:1**1"]
    c = read_837(envelope([body]))
    assert c.claims.num_rows == 3000
    assert c.service_lines.num_rows == 3000
    assert sum(c.claims.column("charge_cents").to_pylist()) == 300_000


def test_line_break_before_each_terminator_reads_the_same():
    # "...\n~GS*..." layouts: the ISA's terminator is the line break, "~" leads each segment
    data = envelope([PROFESSIONAL], term="\n~")
    assert data.count(b"\n~") > 10
    c, plain = read_837(data, salt="s"), read_837(FIXTURES["professional"], salt="s")
    for name in ("claims", "service_lines", "diagnoses", "prior_adjudication", "findings"):
        assert getattr(c, name).equals(getattr(plain, name)), name


def test_non_ascii_delimiter_is_refused_at_the_isa():
    data = FIXTURES["professional"].replace(b"*", b"\xe9")
    with pytest.raises(X12Error, match="ASCII") as info:
        read_837(data)
    assert (info.value.segment_number, info.value.segment_id) == (1, "ISA")
