# ruff: noqa: E501
"""Input that cannot be read: X12Error naming file, segment number, segment id, element."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyarrow.compute as pc
import pytest

from ledgerkit.x12 import X12Error, read_835

FIXTURES = Path(__file__).parent / "data" / "x12"
BASE = (FIXTURES / "base.835").read_bytes()


def lines() -> list[bytes]:
    return BASE.splitlines()


def edit(index: int, new: bytes | None) -> bytes:
    """base.835 with line ``index`` (0-based = segment index - 1) replaced or removed."""
    out = lines()
    if new is None:
        del out[index]
    else:
        out[index] = new
    return b"\n".join(out) + b"\n"


def read_file(tmp_path, data: bytes, name="bad.835", strict=False):
    path = tmp_path / name
    path.write_bytes(data)
    return read_835(path, strict=strict)


# case: (bytes, segment number, segment id, element, reason pattern)
CASES = {
    "truncated": (BASE[: BASE.index(b"CLP*ENC-1002") + 20], 29, "CLP", 4, "ends inside a transaction set \\(no SE\\)"),
    "non_835": (edit(2, b"ST*837*0001*005010X222A1~"), 3, "ST", 1, "'837' is not an 835"),
    "broken_isa_date": (BASE.replace(b"*250110*0930*", b"*2501X0*0930*", 1), 1, "ISA", 9, "ISA header is broken"),
    "broken_isa_short": (BASE.replace(b"*00*          *00*", b"*00*", 1), 1, "ISA", 14, "ISA header is broken"),
    "se_count": (BASE.replace(b"SE*33*0001", b"SE*31*0001"), 35, "SE", 1, "SE01 says '31' segments but .* has 33"),
    "se_control": (BASE.replace(b"SE*33*0001", b"SE*33*0002"), 35, "SE", 2, "control number does not match ST02 \\(values withheld"),
    "ge_count": (BASE.replace(b"GE*1*101", b"GE*2*101"), 36, "GE", 1, "GE01 says '2'"),
    "iea_control": (BASE.replace(b"IEA*1*000000101", b"IEA*1*000000999"), 37, "IEA", 2, "does not match ISA13"),
    "unknown_segment": (edit(12, b"XYZ*1*2~"), 13, None, 0, "the segment id is not a segment of the 835"),
    "segment_out_of_loop": (edit(11, b"SVC*HC:99213*10*10~"), 12, "SVC", 0, "not allowed in the header number loop"),
    "cas_in_header": (edit(4, b"CAS*CO*45*10~"), 5, "CAS", 0, "not allowed in the header"),
    "bpr_in_claim": (edit(16, b"BPR*I*1*C*CHK~"), 17, "BPR", 0, "not allowed in the claim payment loop"),
    "lq_in_claim": (edit(16, b"LQ*HE*N130~"), 17, "LQ", 0, "claim payment loop"),
    "non_numeric_amount": (BASE.replace(b"CLP*ENC-1001*1*300*150", b"CLP*ENC-1001*1*300*15O"), 12, "CLP", 4, "the value is not a number"),
    "non_numeric_cas": (BASE.replace(b"CAS*CO*45*40~", b"CAS*CO*45*4,0~"), 19, "CAS", 3, "the value is not a number"),
    "subcent_amount": (BASE.replace(b"AMT*B6*160", b"AMT*B6*160.005"), 22, "AMT", 2, "fractions of a cent"),
    "missing_required": (BASE.replace(b"CLP*ENC-1002*1*100*80", b"CLP*ENC-1002*1**80"), 29, "CLP", 3, "required element is empty"),
    "bad_quantity": (BASE.replace(b"CAS*PR*2*20*1*3*20", b"CAS*PR*2*20*X*3*20"), 20, "CAS", 4, "the value is not a quantity"),
    "bad_segment_id": (edit(20, b"sv c*HC:1*1*1~"), 21, None, 0, "not a segment id"),
    "isa_inside_transaction": (edit(20, lines()[0]), 21, "ISA", 0, "not allowed inside a transaction set"),
    "missing_iea": (b"\n".join(lines()[:-1]) + b"\n", 36, "GE", 2, "ends inside an interchange"),
}  # fmt: skip


# Damage inside a claim costs that claim by default (a claim_skipped finding), and a
# wrong SE count is a finding; strict=True keeps them errors.
CLAIM_DAMAGE = {
    "unknown_segment": 0, "bpr_in_claim": 0, "lq_in_claim": 0, "non_numeric_amount": 0,
    "non_numeric_cas": 0, "subcent_amount": 0, "bad_quantity": 0, "bad_segment_id": 0,
    "missing_required": 1,
}  # fmt: skip  # case -> the claim left out (0: ENC-1001, segments 12-28; 1: ENC-1002)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_names_file_segment_and_element(tmp_path, case):
    data, seg, sid, element, reason = CASES[case]
    recovered = case in CLAIM_DAMAGE or case == "se_count"
    if not recovered:
        with pytest.raises(X12Error, match=reason):
            read_file(tmp_path, data, f"{case}.835")
    with pytest.raises(X12Error, match=reason) as info:
        read_file(tmp_path, data, f"{case}.835", strict=True)
    err = info.value
    assert (err.segment_number, err.segment_id, err.element) == (seg, sid, element)
    msg = str(err)
    assert msg.startswith(str(tmp_path / f"{case}.835") + f": segment {seg} ")
    if element == 0:
        assert "element 0 (the segment id)" in msg
    else:
        assert f"element {sid}{element:02d}" in msg
    # The damaged value itself is never quoted (it may be a name moved there).
    for value in ("15O", "4,0", "'X'", "XYZ", "0002", "'0001'", "sv c"):
        assert value not in msg
    # Never silently partial: the same bytes through the bytes path raise too.
    with pytest.raises(X12Error):
        read_835(data, strict=True)


@pytest.mark.parametrize("case", sorted(CLAIM_DAMAGE))
def test_damage_in_a_claim_costs_that_claim(case):
    data, seg, sid, element, _ = CASES[case]
    r = read_835(data)
    kept = ["ENC-1001", "ENC-1002"]
    lost = kept.pop(CLAIM_DAMAGE[case])
    assert r.claims.column("encounter_id").to_pylist() == kept
    skipped = r.findings.filter(pc.equal(r.findings["code"], "claim_skipped")).to_pylist()
    withheld = case in ("unknown_segment", "bad_segment_id")  # damaged ids are not quoted
    assert [(f["segment_number"], f["segment_id"], f["element"]) for f in skipped] == [
        (seg, None if withheld else sid, element or None)
    ]
    clp = 12 if lost == "ENC-1001" else 29
    assert f"the claim whose CLP is segment {clp} was left out" in skipped[0]["message"]
    # the money left out shows in the payment's balancing check (BPR02 230.00)
    unbalanced = r.findings.filter(pc.equal(r.findings["code"], "unbalanced_transaction"))
    assert unbalanced["difference_cents"].to_pylist() == [15000 if lost == "ENC-1001" else 8000]
    assert r.service_lines.column("claim_id").to_pylist() == [0] * (
        1 if kept == ["ENC-1002"] else 2
    )


def test_wrong_se_count_is_a_finding():
    r = read_835(CASES["se_count"][0])
    assert r.claims.column("encounter_id").to_pylist() == ["ENC-1001", "ENC-1002"]
    f = r.findings.to_pylist()
    assert [(x["code"], x["segment_number"], x["segment_id"], x["element"]) for x in f] == [
        ("se_count", 35, "SE", 1)
    ]


def test_empty_and_garbage_input():
    with pytest.raises(X12Error, match=r"<bytes>: the input holds no X12 segments"):
        read_835(b"\xef\xbb\xbf  \n")
    # issue #18: a file that does not begin like X12 is named as not an X12 file
    with pytest.raises(X12Error, match=r"^<bytes>: not an X12 file: it does not begin with"):
        read_835(b"hello world, this is not an 835 file")
    with pytest.raises(X12Error, match=r"segment 1 \(GS\).*expected ISA"):
        read_835(b"GS*HP*A*B*20250101*0000*1*X*005010X221A1~")


def test_error_message_does_not_leak_names(tmp_path):
    data = BASE.replace(b"NM1*QC*1*DOE*JANE****MI*MEM1001", b"NM1*QC*1*DOE*JANE****MI*MEM1001*X*Y")
    data = data.replace(b"CLP*ENC-1001*1*300*150", b"CLP*ENC-1001*1*300*1S0")
    with pytest.raises(X12Error) as info:
        read_835(data, strict=True)
    assert "DOE" not in str(info.value) and "MEM1001" not in str(info.value)
    findings = read_835(data).findings
    assert "claim_skipped" in findings.column("code").to_pylist()
    messages = " ".join(findings.column("message").to_pylist())
    assert "DOE" not in messages and "MEM1001" not in messages


def test_folder_with_a_bad_file(tmp_path):
    shutil.copy(FIXTURES / "base.835", tmp_path / "a.835")
    (tmp_path / "b.835").write_bytes(CASES["se_control"][0])
    shutil.copy(FIXTURES / "plb.835", tmp_path / "c.835")
    with pytest.raises(
        X12Error, match=re.escape(str(tmp_path / "b.835")) + ": segment 35 \\(SE\\)"
    ):
        read_835(tmp_path)
    r = read_835(tmp_path, on_error="skip")
    assert r.transactions.column("file").to_pylist() == [
        str(tmp_path / "a.835"), str(tmp_path / "c.835"),
    ]  # fmt: skip
    assert [f for f, _ in r.skipped] == [str(tmp_path / "b.835")]
    assert "does not match ST02" in r.skipped[0][1]
    assert "1 files skipped" in repr(r)
    # a list of files behaves the same
    r2 = read_835(sorted(tmp_path.iterdir()), on_error="skip")
    assert r2.claims.equals(r.claims)


def test_x12error_is_a_valueerror_and_pickles():
    import pickle

    err = X12Error("f.835", 3, "ST", 1, "bad")
    assert isinstance(err, ValueError)
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.element == 1
