# ruff: noqa: E501
"""Code fields are validated; damaged values are withheld from messages, findings and columns (issue #14)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from posting_data import split, with_columns

import ledgerkit as lk
from ledgerkit.errors import LedgerError
from ledgerkit.posting import post
from ledgerkit.posting.review import post_flagged
from ledgerkit.x12 import X12Error, read_835
from ledgerkit.x12.remittances import Remittances

FIXTURES = Path(__file__).parent / "data" / "x12"
BASE = (FIXTURES / "base.835").read_bytes()


def damaged(old: bytes, new: bytes) -> bytes:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


def invalid(r) -> list[dict]:
    f = r.findings.filter(pc.equal(r.findings["code"], "invalid_code"))
    return [{k: row[k] for k in ("segment_number", "segment_id", "element", "claim_id", "line_id", "message")}
            for row in f.to_pylist()]  # fmt: skip


# name text where a code belongs: (old bytes, new bytes, table, column, row,
# segment number, segment id, element, the bad value)
CASES = {
    "clp08_name": (b"PCN1001*11*1~", b"PCN1001*BURCK*1~", "claims", "facility_type", 0, 12, "CLP", 8, "BURCK"),
    "clp09_name": (b"PCN1002*11*1~", b"PCN1002*11*LIZ~", "claims", "frequency_code", 1, 29, "CLP", 9, "LIZ"),
    "clp02": (b"CLP*ENC-1002*1*", b"CLP*ENC-1002*DOE*", "claims", "status_code", 1, 29, "CLP", 2, "DOE"),
    "clp06": (b"*50*12*PCN1001", b"*50*JANE*PCN1001", "claims", "claim_filing_indicator", 0, 12, "CLP", 6, "JANE"),
    "cas_group": (b"CAS*CO*45*20~", b"CAS*ROE*45*20~", "adjustments", "group_code", 5, 33, "CAS", 1, "ROE"),
    "carc": (b"CAS*CO*45*40~", b"CAS*CO*MEM1001*40~", "adjustments", "carc", 0, 19, "CAS", None, "MEM1001"),
    "carc_short": (b"CAS*CO*45*40~", b"CAS*CO*ZQ9*40~", "adjustments", "carc", 0, 19, "CAS", None, "ZQ9"),
    "svc_qualifier": (b"SVC*HC:36415", b"SVC*JO:36415", "service_lines", "procedure_qualifier", 1, 23, "SVC", 1, "JO"),
    "procedure": (b"SVC*HC:36415", b"SVC*HC:DOEJ", "service_lines", "procedure_code", 1, 23, "SVC", 1, "DOEJ"),
    "modifier": (b"HC:99214:25*", b"HC:99214:RICH*", "service_lines", "modifiers", 0, 17, "SVC", 1, "RICH"),
    "revenue": (b"SVC*HC:36415*100*30**1~", b"SVC*HC:36415*100*30*ROE*1~", "service_lines", "revenue_code", 1, 23, "SVC", 4, "ROE"),
    "rarc": (b"LQ*HE*N130~", b"LQ*HE*ZQ9~", "remarks", "code", 0, 28, "LQ", 2, "ZQ9"),
    "remark_qualifier": (b"LQ*HE*N130~", b"LQ*JANE*N130~", "remarks", "qualifier", 0, 28, "LQ", 1, "JANE"),
    "payment_method": (b"BPR*C*230*C*ACH*", b"BPR*C*230*C*DOE*", "transactions", "payment_method", 0, 4, "BPR", 4, "DOE"),
    "payer_qualifier": (b"ACME HEALTH PLAN*XV*ACME01", b"ACME HEALTH PLAN*N3*1 PLAN WAY", "transactions", "payer_id_qualifier", 0, None, "N1", 3, "1 PLAN WAY"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_code_is_null_with_a_finding_that_withholds_it(case):
    old, new, table, column, row, seg, sid, elem, value = CASES[case]
    data = damaged(old, new)
    r = read_835(data)
    good = read_835(BASE)
    assert getattr(r, table)[column][row].as_py() is None
    if column != "revenue_code":  # base.835 has no SVC04
        assert getattr(good, table)[column][row].as_py() is not None
    found = invalid(r)
    # a procedure code is read with its qualifier: without a valid one it is withheld too
    n = 2 if case == "svc_qualifier" else 1
    where = [(f["segment_number"], f["segment_id"], f["element"]) for f in found]
    assert where == [(seg, sid, elem)] * n
    assert f"{column} is null" in found[0]["message"]
    # the value is nowhere: not in a finding, not in any string cell
    for name, t in r.tables.items():
        for col in t.column_names:
            if pa.types.is_string(t.schema.field(col).type):
                assert not any(value in (v or "") for v in t[col].to_pylist()), (name, col)
    # everything else is read as before
    assert r.claims.num_rows == good.claims.num_rows == 2
    assert r.claims["paid_cents"].to_pylist() == [15000, 8000]
    # strict=True refuses the file, and does not quote the value either
    with pytest.raises(X12Error, match="invalid_code") as info:
        read_835(data, strict=True)
    assert value not in str(info.value)
    assert (info.value.segment_number, info.value.segment_id) == (seg, sid)


def test_payer_id_is_dropped_with_a_bad_qualifier_and_ref_2u_still_counts():
    data = damaged(
        b"ACME HEALTH PLAN*XV*ACME01~\nN3*1 PLAN WAY~",
        b"ACME HEALTH PLAN*SPRINGFIELD*62701~\nREF*2U*ACME02~",
    )
    r = read_835(data)
    tx = r.transactions.to_pylist()[0]
    assert (tx["payer_id_qualifier"], tx["payer_id"]) == (None, "ACME02")
    assert "62701" not in str(r.findings["message"].to_pylist())


@pytest.mark.parametrize(
    "data, hidden",
    [
        (damaged(b"NM1*IL*1*DOE*JOHN", b"BURCK*IL*1*DOE*JOHN"), "BURCK"),
        (damaged(b"NM1*IL*1*DOE*JOHN", b"LIZ*IL*1*DOE*JOHN"), "LIZ"),
        (damaged(b"GE*1*101~", b"GE*1*LIZ~"), "LIZ"),
        (damaged(b"SE*33*0001~", b"SE*33*LIZ~"), "LIZ"),
        (damaged(b"SE*33*0001~", b"SE*DOUGH*0001~"), "DOUGH"),
        (damaged(b"CLP*ENC-1001*1*300*150", b"CLP*ENC-1001*1*300*Dough"), "Dough"),
        (damaged(b"CAS*PR*2*20*1*3*20", b"CAS*PR*2*20*JANE*3*20"), "JANE"),
        (damaged(b"ST*835*0001*005010X221A1~", b"ST*ROE*0001*005010X221A1~"), "ROE"),
        (damaged(b"GE*1*101~", b"GE*RICH*101~"), "RICH"),
        (damaged(b"IEA*1*000000101~", b"IEA*ROE*000000101~"), "ROE"),
        (damaged(b"AMT*B6*160~", b"AMT*B6*160.X05~"), "160.X05"),
        (BASE[: BASE.index(b"SVC*HC:99213") + 6], "0001"),
    ],
)
def test_x12error_quotes_no_unvalidated_value(data, hidden):
    # strict=True: the damage is an X12Error (by default, damage inside a claim may
    # instead cost that claim: then no finding or cell may hold the value either)
    with pytest.raises(X12Error) as info:
        read_835(data, strict=True)
    e = info.value
    assert hidden not in str(e) and hidden not in repr(e) and hidden != e.segment_id
    assert e.segment_number is not None and e.file == "<bytes>"
    try:
        r = read_835(data)
    except X12Error as e:
        assert hidden not in str(e) and hidden != e.segment_id
        return
    for name, t in r.tables.items():
        for col in t.column_names:
            if pa.types.is_string(t.schema.field(col).type):
                assert not any(hidden in (v or "") for v in t[col].to_pylist()), (name, col)


def test_validated_values_are_still_quoted():
    with pytest.raises(X12Error, match="SE01 says '31' segments"):
        read_835(damaged(b"SE*33*0001", b"SE*31*0001"), strict=True)
    with pytest.raises(X12Error, match="transaction set '837' is not an 835"):
        read_835(damaged(b"ST*835*0001*005010X221A1~", b"ST*837*0001*005010X221A1~"))
    with pytest.raises(X12Error, match="'160.005' has fractions of a cent"):
        read_835(damaged(b"AMT*B6*160~", b"AMT*B6*160.005~"), strict=True)


def test_findings_quote_no_invalid_date_or_malformed_segment():
    r = read_835(damaged(b"DTM*472*20250103~", b"DTM*472*YPB123456789001~"))
    f = r.findings.filter(pc.equal(r.findings["code"], "invalid_date")).to_pylist()
    assert [(x["segment_number"], x["segment_id"], x["element"]) for x in f] == [(32, "DTM", 2)]
    assert f[0]["message"] == "DTM02: not a valid CCYYMMDD date; read as null"
    r = read_835(damaged(b"SVC*HC:36415*100*30**1~", b"SVC*HC:36415*100*30**1*HC:1*2*JANE*DOE~"))
    msgs = r.findings["message"].to_pylist()
    assert any(m.startswith("SVC") and "malformed" in m for m in msgs)
    assert not any("JANE" in m or "DOE" in m for m in msgs)


# ----------------------------------------------------------------------------- posting
@pytest.fixture(scope="module")
def case():
    full = lk.synth.generate(80, seed=14)
    return split(full)


def test_posting_flags_a_remit_with_a_withheld_code(case):
    base, r = case
    ad = r.adjustments
    bad_claim = int(ad["claim_id"][0].as_py())
    carc = ad["carc"].to_pylist()
    carc[0] = None  # what the reader leaves for a CARC that is not one
    damaged_r = Remittances(**{**r.tables, "adjustments": with_columns(ad, carc=carc)})
    status = r.claims["status_code"].to_pylist()
    other = next(i for i in range(r.claims.num_rows) if i != bad_claim and status[i] == "1")
    status[other] = None
    damaged_r = Remittances(
        **{**damaged_r.tables, "claims": with_columns(r.claims, status_code=status)}
    )
    result = post(base, damaged_r)
    d = result.decisions.to_pylist()
    by_claim = {row["claim_id"]: row for row in d}
    for c in (bad_claim, other):
        assert (by_claim[c]["decision"], by_claim[c]["reason_code"]) == ("flagged", "invalid_code")
    clean = post(base, r).decisions.to_pylist()
    # every other claim is decided exactly as without the damage
    assert [
        (x["claim_id"], x["reason_code"]) for x in d if x["claim_id"] not in (bad_claim, other)
    ] == [
        (x["claim_id"], x["reason_code"]) for x in clean if x["claim_id"] not in (bad_claim, other)
    ]
    n_entries_bad = sum(x["n_entries"] for x in d)
    n_entries_clean = sum(x["n_entries"] for x in clean)
    assert n_entries_bad == n_entries_clean - sum(
        x["n_entries"] for x in clean if x["claim_id"] in (bad_claim, other)
    )
    remit = by_claim[bad_claim]["remit_id"]
    with pytest.raises(LedgerError, match=r"cannot post \(invalid_code\)"):
        post_flagged(base, damaged_r, remit, actor="ann", note="looked at it")


def test_store_keeps_no_shifted_name_in_remit_claims(tmp_path, case):
    base, _ = case
    data = damaged(b"PCN1001*11*1~", b"PCN1001*BURCK*JANE~")
    r = read_835(data)
    store = lk.LedgerStore.create(tmp_path / "s", base, actor="setup", note="x")
    store.post(r, actor="bot", note="damaged")
    from deltalake import DeltaTable

    claims = DeltaTable(tmp_path / "s" / "remit_claims").to_pyarrow_table()
    assert claims.num_rows == 2
    assert claims["facility_type"].to_pylist().count(None) == 1
    assert claims["frequency_code"].to_pylist().count(None) == 1
    for t in ("remit_claims", "decisions"):
        table = DeltaTable(tmp_path / "s" / t).to_pyarrow_table()
        text = str(table.to_pylist())
        assert "BURCK" not in text and "JANE" not in text


def test_ledger_validation_messages_quote_no_value():
    from ledgerkit.core.validate import check_entries

    full = lk.synth.generate(5, seed=2)
    e = full.entries
    i = e.column_names.index("group_code")
    bad = pa.array(["DOE"] * e.num_rows)
    e2 = e.set_column(i, pa.field("group_code", pa.string()), bad)
    with pytest.raises(LedgerError) as info:
        check_entries(e2)
    assert "DOE" not in str(info.value) and "group_code" in str(info.value)
    assert "entries row 0" in str(info.value)


def test_write_835_refuses_withheld_required_codes(tmp_path):
    from ledgerkit.x12 import write_835

    r = read_835(damaged(b"CAS*CO*45*40~", b"CAS*CO*ZQ9*40~"))
    with pytest.raises(ValueError, match=r"adjustments.carc row 0 is null .*invalid_code"):
        write_835(r, tmp_path / "out.835")
    assert not (tmp_path / "out.835").exists()
    # a withheld optional code (CLP08) is simply not written
    r = read_835(damaged(b"PCN1001*11*1~", b"PCN1001*BURCK*1~"))
    again = read_835(write_835(r, tmp_path / "ok.835"))
    assert again.claims["facility_type"].to_pylist() == [None, "11"]
    assert again.claims["paid_cents"].to_pylist() == [15000, 8000]


def test_a_bad_carc_on_a_claim_level_cas_names_the_claim_and_no_line():
    # the finding's line must be null like the row's line_id, not line 0 of the claim
    clp = b"CLP*ENC-1001*1*300*150*50*12*PCN1001*11*1~"
    r = read_835(damaged(clp, clp + b"CAS*OA*ZQ9*0~"))
    found = [f for f in invalid(r) if f["segment_id"] == "CAS"]
    assert [(f["segment_number"], f["claim_id"], f["line_id"]) for f in found] == [(13, 0, None)]
    claim_level = r.adjustments.filter(pc.is_null(r.adjustments["line_id"]))
    assert claim_level.select(["claim_id", "group_code", "carc"]).to_pylist() == [
        {"claim_id": 0, "group_code": "OA", "carc": None}
    ]
    assert "ZQ9" not in str(r.findings.to_pylist())
