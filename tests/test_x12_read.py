"""read_835 on the public sample files and on the project's own quirk fixtures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.compute as pc
import pytest

from ledgerkit.x12 import Remittances, X12Error, read_835, write_835
from ledgerkit.x12.remittances import TABLE_NAMES, schema

PUBLIC = Path(__file__).parents[2] / "shared" / "data" / "x12-public"
FIXTURES = Path(__file__).parent / "data" / "x12"

# file: (claims, sum of CLP04 in cents, balancing findings, other findings) - from the README
# of the public folder and the files' own totals (BPR02 = sum CLP04 - sum PLB everywhere).
PUBLIC_EXPECTED = {
    "edi835parser_blue_cross_nc_no_isa.txt": (
        1, 192286, [], ["no_envelope", "svc_malformed", "se_count"],
    ),
    "edi835parser_emedny_sample.txt": (3, 4575, [], []),
    "edi835parser_uhc_legacy_sample.txt": (2, 34999, [], []),
    "lfh_cob_contractual_adjustment.835": (
        1, 3400, [], ["bpr_date_position", "component_separator"],
    ),
    "lfh_managed_care.835": (2, 94500, [], ["invalid_date"]),
    "lfh_medicare_part_a.835": (2, 14999873, [], []),
    "lfh_secondary_payment.835": (2, 122200, [], ["bpr_date_position", "component_separator"]),
    # its SVC has no composite (SVC*HC*24599.00*...): the shifted "187.50" in SVC04 and
    # "1" in SVC06 are no revenue code or qualifier, so they are withheld (invalid_code)
    "lfh_tertiary_payment.835": (
        1, 18750, ["unbalanced_line"],
        ["bpr_date_position", "invalid_code", "invalid_code", "svc_malformed"],
    ),
    "tastypackets_newline_terminated.edi": (3, 4575, [], []),
}  # fmt: skip

needs_public = pytest.mark.skipif(not PUBLIC.is_dir(), reason=f"{PUBLIC} not present")


def codes(r: Remittances, balancing: bool) -> list[str]:
    c = r.findings.column("code").to_pylist()
    return sorted(x for x in c if x.startswith("unbalanced") == balancing)


@needs_public
@pytest.mark.parametrize("name", sorted(PUBLIC_EXPECTED))
def test_public_file_counts_totals_and_findings(name):
    n_claims, paid, balancing, other = PUBLIC_EXPECTED[name]
    r = read_835(PUBLIC / name)
    assert r.claims.num_rows == n_claims
    assert pc.sum(r.claims.column("paid_cents")).as_py() == paid
    assert codes(r, True) == sorted(balancing)
    assert codes(r, False) == sorted(other)
    # The transaction balances as the file says: BPR02 = sum CLP04 - sum PLB.
    plb = pc.sum(r.provider_adjustments.column("amount_cents")).as_py() or 0
    assert r.transactions.column("payment_cents")[0].as_py() == paid - plb
    for t in TABLE_NAMES:
        assert getattr(r, t).schema == schema(t)


@needs_public
def test_public_folder_reads_every_file():
    r = read_835(PUBLIC)
    assert r.transactions.num_rows == len(PUBLIC_EXPECTED)
    assert r.claims.num_rows == sum(v[0] for v in PUBLIC_EXPECTED.values())
    # ids are renumbered across files
    assert r.claims.column("claim_id").to_pylist() == list(range(r.claims.num_rows))


@needs_public
def test_public_details():
    med = read_835(PUBLIC / "lfh_medicare_part_a.835")
    assert med.provider_adjustments.to_pylist()[0] | {} == {
        "transaction_id": 0, "provider_id": "6543210903",
        "fiscal_period_date": dt.date(2002, 12, 31), "reason_code": "CV", "reference": "CP",
        "amount_cents": -127,
    }  # fmt: skip
    assert med.remarks.select(["source", "code"]).to_pylist() == [
        {"source": "MOA", "code": "MA02"}
    ]
    assert med.service_lines.num_rows == 0
    cob = read_835(PUBLIC / "lfh_cob_contractual_adjustment.835")
    assert cob.adjustments.column("amount_cents").to_pylist() == [51600, -900]
    line = cob.service_lines.to_pylist()[0]
    assert (line["procedure_code"], line["reported_allowed_cents"], line["allowed_cents"]) == (
        "55669", 55000, 3400,
    )  # fmt: skip
    assert cob.transactions.column("payment_date")[0].as_py() == dt.date(2005, 3, 18)
    bc = read_835(PUBLIC / "edi835parser_blue_cross_nc_no_isa.txt")
    assert bc.service_lines.column("original_procedure_code").to_pylist() == [
        "59410",
        "59410",
        None,
    ]
    assert bc.service_lines.column("charge_cents").to_pylist() == [121000, 89000, None]
    assert bc.claims.column("patient_responsibility_cents").to_pylist() == [14254]
    em = read_835(PUBLIC / "edi835parser_emedny_sample.txt")
    assert em.service_lines.column("modifiers").to_pylist()[:2] == ["RB", "RB"]
    assert em.remarks.column("code").to_pylist() == ["N206", "N206"]
    uhc = read_835(PUBLIC / "edi835parser_uhc_legacy_sample.txt")
    q = uhc.adjustments.filter(pc.equal(uhc.adjustments.column("carc"), "1"))
    # CAS*PR*2*5.13**1*110: the empty quantity keeps the second triplet in place
    assert q.column("amount_cents").to_pylist() == [10526, 11000]
    assert q.column("quantity").to_pylist() == [None, None]
    mc = read_835(PUBLIC / "lfh_managed_care.835")
    assert mc.transactions.column("payment_date")[0].as_py() is None
    assert mc.adjustments.column("line_id").to_pylist() == [None, 0, None, 1, 1]


@needs_public
def test_public_newline_file_equals_tilde_file():
    a = read_835(PUBLIC / "tastypackets_newline_terminated.edi")
    b = read_835(PUBLIC / "edi835parser_emedny_sample.txt")
    assert a.equals(b)


# ----------------------------------------------------------------------------- fixtures
def test_fixture_base():
    r = read_835(FIXTURES / "base.835")
    c = r.claims.to_pylist()
    assert [x["encounter_id"] for x in c] == ["ENC-1001", "ENC-1002"]
    assert c[0]["patient_responsibility_cents"] == 4000  # from PR CAS
    assert c[0]["reported_patient_responsibility_cents"] == 5000  # CLP05 as reported
    assert c[0]["allowed_cents"] == 15000 + 4000
    lines = r.service_lines.to_pylist()
    assert lines[0]["modifiers"] == "25" and lines[0]["line_control_number"] == "ENC-1001-1"
    assert lines[0]["allowed_cents"] == 16000 and lines[0]["reported_allowed_cents"] == 16000
    assert r.adjustments.num_rows == 6
    assert r.remarks.to_pylist() == [
        {"claim_id": 0, "line_id": 1, "source": "LQ", "qualifier": "HE", "code": "N130"}
    ]
    assert r.findings.num_rows == 0
    assert c[0]["patient_key"] is None and c[0]["patient_id"] is None  # no salt, no PHI


@pytest.mark.parametrize(
    "name",
    ["bom_indented.835", "newline_terminated.835", "crlf.835", "pipe_separators.835"],
)
def test_delimiter_and_layout_variants_read_like_base(name):
    assert read_835(FIXTURES / name).equals(read_835(FIXTURES / "base.835"))


def test_no_envelope_reads_with_a_finding():
    r = read_835(FIXTURES / "no_envelope.835")
    base = read_835(FIXTURES / "base.835")
    assert r.claims.equals(base.claims) and r.adjustments.equals(base.adjustments)
    assert codes(r, False) == ["no_envelope"]
    assert r.transactions.column("isa_control").to_pylist() == [None]


EXPECTED_FINDINGS = {
    "component_mismatch.835": ["component_separator"],
    "bpr_short.835": ["bpr_date_position"],
    "invalid_date.835": ["invalid_date"],
    "claim_level_cas_only.835": [],
    "mixed_cas.835": [],
    "negative_cas_empty_qty.835": [],
    "svc06_recoded.835": [],
    "malformed_svc.835": ["svc_malformed"],
    "unbalanced.835": ["unbalanced_claim", "unbalanced_line", "unbalanced_transaction"],
    "reversal_4010.835": [],
    "plb.835": [],
    "two_interchanges.835": [],
}


@pytest.mark.parametrize("name", sorted(EXPECTED_FINDINGS))
def test_fixture_findings(name):
    r = read_835(FIXTURES / name)
    assert sorted(r.findings.column("code").to_pylist()) == EXPECTED_FINDINGS[name]


def test_fixture_details():
    r = read_835(FIXTURES / "component_mismatch.835")
    assert r.service_lines.column("procedure_code").to_pylist()[:2] == ["99214", "36415"]
    assert r.service_lines.column("modifiers").to_pylist()[0] == "25"
    r = read_835(FIXTURES / "invalid_date.835")
    assert r.service_lines.column("service_date").to_pylist()[-1] is None
    f = r.findings.to_pylist()[0]
    assert (f["segment_id"], f["element"], f["claim_id"], f["line_id"]) == ("DTM", 2, 1, 2)
    r = read_835(FIXTURES / "claim_level_cas_only.835")
    assert r.remarks.select(["source", "code"]).to_pylist() == [
        {"source": "MIA", "code": "MA01"}, {"source": "MIA", "code": "MA02"},
    ]  # fmt: skip
    r = read_835(FIXTURES / "mixed_cas.835")
    assert r.adjustments.column("line_id").to_pylist() == [None, 0]
    line = r.service_lines.to_pylist()[0]
    assert line["units"] is None and line["service_start"] == dt.date(2025, 1, 1)
    r = read_835(FIXTURES / "negative_cas_empty_qty.835")
    assert r.adjustments.select(["carc", "amount_cents", "quantity"]).to_pylist() == [
        {"carc": "23", "amount_cents": 51600, "quantity": None},
        {"carc": "94", "amount_cents": -900, "quantity": None},
    ]
    r = read_835(FIXTURES / "svc06_recoded.835")
    line = r.service_lines.to_pylist()[0]
    assert (line["procedure_code"], line["original_procedure_code"]) == ("59430", "59410")
    assert r.remarks.column("code").to_pylist() == ["MA130"]
    r = read_835(FIXTURES / "reversal_4010.835")
    c = r.claims.to_pylist()
    assert [x["status_code"] for x in c] == ["22", "1"]
    assert (c[0]["charge_cents"], c[0]["paid_cents"]) == (-10000, -8000)
    assert r.adjustments.column("group_code").to_pylist() == ["CR", "CO"]
    assert r.transactions.column("version").to_pylist() == ["004010X091A1"]
    r = read_835(FIXTURES / "plb.835")
    assert r.provider_adjustments.select(
        ["reason_code", "reference", "amount_cents"]
    ).to_pylist() == [
        {"reason_code": "WO", "reference": "ENC-0999", "amount_cents": 2500},
        {"reason_code": "L6", "reference": None, "amount_cents": -1500},
    ]
    r = read_835(FIXTURES / "two_interchanges.835")
    assert r.transactions.column("isa_control").to_pylist() == ["000000101", "000000102"]
    assert r.claims.column("encounter_id").to_pylist() == [
        "ENC-1001", "ENC-1002", "ENC-1101", "ENC-1102",
    ]  # fmt: skip
    assert r.service_lines.column("modifiers").to_pylist()[3] == "25"
    r = read_835(FIXTURES / "unbalanced.835")
    diffs = {f["code"]: f["difference_cents"] for f in r.findings.to_pylist()}
    assert diffs == {"unbalanced_line": 1000, "unbalanced_claim": 1000,
                     "unbalanced_transaction": 87900}  # fmt: skip


def test_strict_raises_on_the_first_finding():
    match = r"unbalanced\.835: segment 4 \(BPR\), element BPR02: unbalanced_transaction"
    with pytest.raises(X12Error, match=match):
        read_835(FIXTURES / "unbalanced.835", strict=True)
    with pytest.raises(X12Error, match=r"segment 4 \(BPR\), element BPR15: bpr_date_position"):
        read_835(FIXTURES / "bpr_short.835", strict=True)
    read_835(FIXTURES / "base.835", strict=True)  # clean files pass


def test_identifiers_are_pseudonymised_unless_kept():
    plain = read_835(FIXTURES / "base.835", salt="s3cret").claims
    keys = plain.column("patient_key").to_pylist()
    assert all(k.startswith("LK") and len(k) == 26 for k in keys)
    assert plain.column("subscriber_key").to_pylist()[1] is None  # no NM1*IL on claim 2
    for col in ("patient_last_name", "patient_id", "subscriber_id"):
        assert plain.column(col).null_count == plain.num_rows
    assert read_835(FIXTURES / "base.835", salt="s3cret").claims.equals(plain)  # stable
    other = read_835(FIXTURES / "base.835", salt="other").claims.column("patient_key")
    assert other.to_pylist() != keys
    kept = read_835(FIXTURES / "base.835", salt="s3cret", keep_identifiers=True).claims
    assert kept.column("patient_last_name").to_pylist() == ["DOE", "ROE"]
    assert kept.column("subscriber_id").to_pylist() == ["SUB1001", None]
    assert kept.column("patient_key").to_pylist() == keys
    # names and ids never reach the text of findings or errors
    text = str(read_835(FIXTURES / "unbalanced.835").findings.to_pylist())
    assert "TOE" not in text and "MEM7001" not in text


def test_sources_list_bytes_and_folder(tmp_path):
    data = (FIXTURES / "base.835").read_bytes()
    assert read_835(data).claims.equals(read_835(FIXTURES / "base.835").claims)
    r = read_835([FIXTURES / "base.835", FIXTURES / "plb.835"])
    assert r.transactions.column("file").to_pylist() == [
        str(FIXTURES / "base.835"), str(FIXTURES / "plb.835"),
    ]  # fmt: skip
    assert r.adjustments.column("claim_id").to_pylist()[-1] == 2
    (tmp_path / "a.835").write_bytes(data)
    (tmp_path / "notes.md").write_text("not an 835")
    assert read_835(tmp_path).claims.num_rows == 2
    with pytest.raises(TypeError, match="source must be"):
        read_835(3)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_835(tmp_path / "missing.835")
    with pytest.raises(ValueError, match="on_error must be"):
        read_835(data, on_error="ignore")


def test_latin1_bytes_are_read(tmp_path):
    data = (FIXTURES / "base.835").read_bytes().replace(b"SAMPLE CLINIC", b"CL\xcdNICA")
    r = read_835(data)
    assert r.transactions.column("payee_name").to_pylist() == ["CL\u00cdNICA"]


def test_write_then_read_fixtures_identical(tmp_path):
    for name in sorted(EXPECTED_FINDINGS):
        if name in (
            "bpr_short.835",
            "invalid_date.835",
            "malformed_svc.835",
            "component_mismatch.835",
        ):
            continue  # the oddity itself is not written back
        r = read_835(FIXTURES / name, keep_identifiers=True)
        back = read_835(write_835(r, tmp_path / name), keep_identifiers=True)
        for t in TABLE_NAMES[:-1]:
            assert (
                getattr(back, t)
                .drop_columns(["file"] * (t == "transactions"))
                .equals(getattr(r, t).drop_columns(["file"] * (t == "transactions")))
            ), (name, t)
        # findings point at segment numbers of the new file, the rest is the same
        cols = ["code", "segment_id", "element", "claim_id", "line_id", "difference_cents"]
        assert back.findings.select(cols).equals(r.findings.select(cols)), name


@pytest.mark.parametrize("margin", [1.1, 0.05])  # estimates too large, then too small (retry)
def test_rows_estimated_from_samples_read_the_same(monkeypatch, tmp_path, margin):
    import ledgerkit as lk
    from ledgerkit.synth.remits import remittances_from_ledger
    from ledgerkit.x12 import tokenize

    synth = remittances_from_ledger(lk.synth.generate(200, seed=3))
    sources = [write_835(synth, tmp_path / "synth.835")]
    sources += [FIXTURES / n for n in ("plb.835", "mixed_cas.835", "two_interchanges.835")]
    expected = [read_835(s, salt="s") for s in sources]
    runs = []
    run = tokenize._run
    monkeypatch.setattr(tokenize, "_run", lambda *a: runs.append(1) or run(*a))
    monkeypatch.setattr(tokenize, "SAMPLED_ABOVE", 0)
    monkeypatch.setattr(tokenize, "SAMPLES", 3)
    monkeypatch.setattr(tokenize, "SAMPLE_BYTES", 128)
    monkeypatch.setattr(tokenize, "SAMPLE_MARGIN", margin)
    for s, e in zip(sources, expected, strict=True):
        assert read_835(s, salt="s").equals(e)
    if margin < 1:
        assert len(runs) > len(sources)  # some estimates were too small: parsed again


def test_zero_quantities_are_kept_and_absent_ones_null():
    r = read_835(
        b"ST*835*1~BPR*I*0*C*CHK************20250101~CLP*E1*1*10*0~"
        b"SVC*HC:99213*10*0**0*HC:99213*-0~DTM*150*20250102~CAS*CO*45*10*0~CAS*CO*45*0~"
        b"SE*7*1~"
    )
    assert r.adjustments.column("quantity").to_pylist() == [0.0, None]
    line = r.service_lines.to_pylist()[0]
    assert (line["units"], line["original_units"]) == (0.0, 0.0)
    assert (line["service_date"], line["service_end"]) == (None, None)
    assert line["service_start"] == dt.date(2025, 1, 2)


def test_repeated_and_invalid_dates_read_each_time():
    line = b"SVC*HC:99213*10*10**1~DTM*472*%s~"
    raw = (
        b"ST*835*1~BPR*I*40*C*CHK************20250101~CLP*E1*1*40*40~DTM*232*20250102~"
        + b"".join(
            line % d for d in (b"20250102", b"20250102", b"20250231", b"20250102", b"2025013")
        )
        + b"SE*15*1~"
    )
    r = read_835(raw)
    assert r.claims.column("statement_from").to_pylist() == [dt.date(2025, 1, 2)]
    day = dt.date(2025, 1, 2)
    assert r.service_lines.column("service_date").to_pylist() == [day, day, None, day, None]
    assert [c for c in r.findings.column("code").to_pylist() if c == "invalid_date"] == [
        "invalid_date"
    ] * 2
