# ruff: noqa: E501
"""Input that cannot be read: X12Error naming file, segment number, segment id, element."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

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


def read_file(tmp_path, data: bytes, name="bad.835"):
    path = tmp_path / name
    path.write_bytes(data)
    return read_835(path)


# case: (bytes, segment number, segment id, element, reason pattern)
CASES = {
    "truncated": (BASE[: BASE.index(b"CLP*ENC-1002") + 20], 29, "CLP", 4, "ends inside transaction set '0001'"),
    "non_835": (edit(2, b"ST*837*0001*005010X222A1~"), 3, "ST", 1, "'837' is not an 835"),
    "broken_isa_date": (BASE.replace(b"*250110*0930*", b"*2501X0*0930*", 1), 1, "ISA", 9, "ISA header is broken"),
    "broken_isa_short": (BASE.replace(b"*00*          *00*", b"*00*", 1), 1, "ISA", 14, "ISA header is broken"),
    "se_count": (BASE.replace(b"SE*33*0001", b"SE*31*0001"), 35, "SE", 1, "SE01 says '31' segments but .* has 33"),
    "se_control": (BASE.replace(b"SE*33*0001", b"SE*33*0002"), 35, "SE", 2, "does not match ST02 '0001'"),
    "ge_count": (BASE.replace(b"GE*1*101", b"GE*2*101"), 36, "GE", 1, "GE01 says '2'"),
    "iea_control": (BASE.replace(b"IEA*1*000000101", b"IEA*1*000000999"), 37, "IEA", 2, "does not match ISA13"),
    "unknown_segment": (edit(12, b"XYZ*1*2~"), 13, "XYZ", 0, "XYZ is not a segment of the 835"),
    "segment_out_of_loop": (edit(11, b"SVC*HC:99213*10*10~"), 12, "SVC", 0, "not allowed in the header number loop"),
    "cas_in_header": (edit(4, b"CAS*CO*45*10~"), 5, "CAS", 0, "not allowed in the header"),
    "bpr_in_claim": (edit(16, b"BPR*I*1*C*CHK~"), 17, "BPR", 0, "not allowed in the claim payment loop"),
    "lq_in_claim": (edit(16, b"LQ*HE*N130~"), 17, "LQ", 0, "claim payment loop"),
    "non_numeric_amount": (BASE.replace(b"CLP*ENC-1001*1*300*150", b"CLP*ENC-1001*1*300*15O"), 12, "CLP", 4, "'15O' is not a number"),
    "non_numeric_cas": (BASE.replace(b"CAS*CO*45*40~", b"CAS*CO*45*4,0~"), 19, "CAS", 3, "'4,0' is not a number"),
    "subcent_amount": (BASE.replace(b"AMT*B6*160", b"AMT*B6*160.005"), 22, "AMT", 2, "fractions of a cent"),
    "missing_required": (BASE.replace(b"CLP*ENC-1002*1*100*80", b"CLP*ENC-1002*1**80"), 29, "CLP", 3, "required element is empty"),
    "bad_quantity": (BASE.replace(b"CAS*PR*2*20*1*3*20", b"CAS*PR*2*20*X*3*20"), 20, "CAS", 4, "'X' is not a quantity"),
    "bad_segment_id": (edit(20, b"sv c*HC:1*1*1~"), 21, None, 0, "not a segment id"),
    "isa_inside_transaction": (edit(20, lines()[0]), 21, "ISA", 0, "not allowed inside a transaction set"),
    "missing_iea": (b"\n".join(lines()[:-1]) + b"\n", 36, "GE", 2, "ends inside an interchange"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_names_file_segment_and_element(tmp_path, case):
    data, seg, sid, element, reason = CASES[case]
    with pytest.raises(X12Error, match=reason) as info:
        read_file(tmp_path, data, f"{case}.835")
    err = info.value
    assert (err.segment_number, err.segment_id, err.element) == (seg, sid, element)
    msg = str(err)
    assert msg.startswith(str(tmp_path / f"{case}.835") + f": segment {seg} ")
    if element == 0:
        assert "element 0 (the segment id)" in msg
    else:
        assert f"element {sid}{element:02d}" in msg
    # Never silently partial: the same bytes through the bytes path raise too.
    with pytest.raises(X12Error):
        read_835(data)


def test_empty_and_garbage_input():
    with pytest.raises(X12Error, match=r"<bytes>: the input holds no X12 segments"):
        read_835(b"\xef\xbb\xbf  \n")
    with pytest.raises(X12Error, match=r"segment 1 \(\?\), element 0 .* not a segment id"):
        read_835(b"hello world, this is not an 835 file")
    with pytest.raises(X12Error, match=r"segment 1 \(GS\).*expected ISA"):
        read_835(b"GS*HP*A*B*20250101*0000*1*X*005010X221A1~")


def test_error_message_does_not_leak_names(tmp_path):
    data = BASE.replace(b"NM1*QC*1*DOE*JANE****MI*MEM1001", b"NM1*QC*1*DOE*JANE****MI*MEM1001*X*Y")
    data = data.replace(b"CLP*ENC-1001*1*300*150", b"CLP*ENC-1001*1*300*1S0")
    with pytest.raises(X12Error) as info:
        read_835(data)
    assert "DOE" not in str(info.value) and "MEM1001" not in str(info.value)


def test_folder_with_a_bad_file(tmp_path):
    shutil.copy(FIXTURES / "base.835", tmp_path / "a.835")
    (tmp_path / "b.835").write_bytes(CASES["se_count"][0])
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
    assert "SE01 says '31'" in r.skipped[0][1]
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
