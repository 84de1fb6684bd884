"""835 structure (issue #14 F1): ASCII delimiters, UTF-8 output, damage costs one claim,
line-break layouts. Fixtures: damaged_claims.835 and linebreak_before_terminator.835."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerkit.x12 import X12Error, read_835
from ledgerkit.x12 import tokenize as tokenize_module
from ledgerkit.x12.remittances import TABLE_NAMES

PUBLIC = Path(__file__).parents[2] / "shared" / "data" / "x12-public"
FIXTURES = Path(__file__).parent / "data" / "x12"
BASE = (FIXTURES / "base.835").read_bytes()
DAMAGED = (FIXTURES / "damaged_claims.835").read_bytes()
LINEBREAK = (FIXTURES / "linebreak_before_terminator.835").read_bytes()


def tables(r) -> dict:
    return {t: getattr(r, t) for t in TABLE_NAMES}


def assert_valid_utf8(r):
    """Every table validates in full (Arrow checks every string is UTF-8)."""
    for name, table in tables(r).items():
        table.validate(full=True)
        for col in table.columns:
            if pa.types.is_string(col.type):
                col.to_pylist()  # decodes every value
        assert table.num_rows >= 0, name


def rows(table: pa.Table, cols: list[str]) -> list[tuple]:
    return [tuple(r[c] for c in cols) for r in table.to_pylist()]


# ----------------------------------------------------------------------------- delimiters
ISA = BASE.split(b"\n", 1)[0]
assert len(ISA) == 106 and ISA[3:4] == b"*" and ISA[104:106] == b":~"


def with_isa_byte(offset: int, new: bytes) -> bytes:
    """base.835 with byte ``offset`` (0-based) of its ISA replaced by ``new``."""
    return BASE[:offset] + new + BASE[offset + 1 :]


# (what, 0-based ISA offset, element named, ISA byte named, byte value reported)
DELIMITER_CASES = {
    "element_e9": (3, b"\xe9", None, 4, 0xE9),
    "element_e_acute": (3, "é".encode(), None, 4, 0xC3),
    "element_euro": (3, "€".encode(), None, 4, 0xE2),
    "repetition_e9": (82, b"\xe9", 11, 83, 0xE9),
    "component_e9": (104, b"\xe9", 16, 105, 0xE9),
    "component_e_acute": (104, "é".encode(), 16, 105, 0xC3),
    "terminator_e9": (105, b"\xe9", None, 106, 0xE9),
    "terminator_euro": (105, "€".encode(), None, 106, 0xE2),
}


@pytest.mark.parametrize("case", sorted(DELIMITER_CASES))
def test_non_ascii_delimiter_is_an_error_naming_the_isa_byte(case):
    offset, new, element, byte, value = DELIMITER_CASES[case]
    data = with_isa_byte(offset, new)
    if offset in (3, 105):  # the separator or terminator used throughout the file
        data = BASE.replace(BASE[offset : offset + 1], new)
    for strict in (False, True):
        with pytest.raises(X12Error, match="X12 delimiters are single ASCII bytes") as info:
            read_835(data, strict=strict)
        err = info.value
        assert (err.segment_number, err.segment_id, err.element) == (1, "ISA", element)
        assert f"byte {byte} of the ISA, is 0x{value:02X}" in str(err)


def test_non_ascii_delimiter_in_a_later_interchange():
    data = (FIXTURES / "two_interchanges.835").read_bytes()
    second = data.index(b"ISA", 10)
    assert data[second + 3 : second + 4] == b"|"
    bad = data[:second] + data[second:].replace(b"|", b"\xe9")
    with pytest.raises(X12Error, match=r"byte 4 of the ISA, is 0xC3") as info:
        read_835(bad)  # 0xE9 is not UTF-8: read as Latin-1 "é", two bytes (C3 A9)
    assert info.value.segment_id == "ISA"
    assert info.value.segment_number == data[:second].count(b"~") + 1


def test_non_ascii_separator_without_envelope():
    data = (FIXTURES / "no_envelope.835").read_bytes()
    assert data.startswith(b"ST*")
    with pytest.raises(X12Error, match="not a single ASCII byte") as info:
        read_835(data.replace(b"*", "é".encode()))
    assert (info.value.segment_number, info.value.segment_id) == (1, "ST")


# ----------------------------------------------------------------------------- UTF-8
def test_text_bytes_kept_as_utf8_or_read_as_latin1_per_byte():
    data = BASE.replace(b"ACME HEALTH PLAN", "ACMÉ SANTÉ".encode()).replace(
        b"SAMPLE CLINIC", b"KLINIK M\xdcLLER"
    )
    r = read_835(data)
    assert r.transactions.column("payer_name").to_pylist() == ["ACMÉ SANTÉ"]
    assert r.transactions.column("payee_name").to_pylist() == ["KLINIK MÜLLER"]
    assert_valid_utf8(r)


def test_high_byte_in_an_amount_costs_the_claim():
    data = BASE.replace(b"CLP*ENC-1002*1*100*80", b"CLP*ENC-1002*1*100*8\xe9")
    r = read_835(data)
    assert r.claims.column("encounter_id").to_pylist() == ["ENC-1001"]
    assert rows(r.findings, ["code", "segment_number", "segment_id", "element"])[:1] == [
        ("unbalanced_transaction", 4, "BPR", 2)
    ]
    assert ("claim_skipped", 29, "CLP", 4) in rows(
        r.findings, ["code", "segment_number", "segment_id", "element"]
    )
    with pytest.raises(X12Error, match=r"segment 29 \(CLP\), element CLP04: .* not a number"):
        read_835(data, strict=True)


def test_multibyte_character_after_a_qualifier_is_not_a_component_separator():
    # "HCé99214" has no ISA16 ':' - the reader looks for another separator at byte 3,
    # which here is the first byte of "é": never split a character
    data = BASE.replace(b"SVC*HC:99214:25*", "SVC*HCé99214*".encode())
    r = read_835(data)
    # read as one qualifier "HCé99214", which is no qualifier: withheld (issue #14 F2)
    assert r.service_lines.column("procedure_qualifier")[0].as_py() is None
    assert ("invalid_code", 17, "SVC", 1) in rows(
        r.findings, ["code", "segment_number", "segment_id", "element"]
    )
    assert_valid_utf8(r)


def every_file() -> list[Path]:
    files = sorted(FIXTURES.glob("*.835"))
    if PUBLIC.is_dir():
        files += sorted(p for p in PUBLIC.iterdir() if p.is_file() and p.suffix != ".md")
    return files


@pytest.mark.parametrize("path", every_file(), ids=lambda p: p.name)
def test_every_output_of_every_file_is_valid_utf8(path):
    assert_valid_utf8(read_835(path, keep_identifiers=True, salt="s"))


SEEDS = [BASE, DAMAGED, LINEBREAK, (FIXTURES / "plb.835").read_bytes()]
HIGH = st.integers(0x80, 0xFF).map(lambda b: bytes([b]))
MULTI = st.sampled_from(["é", "€", "Ü", "𝄞"]).map(str.encode)


def element_positions(data: bytes) -> list[int]:
    """Offsets of bytes inside element values (letters and digits after the ISA)."""
    return [i for i in range(107, len(data)) if chr(data[i]).isalnum()]


@settings(max_examples=120)
@given(
    seed=st.sampled_from(range(len(SEEDS))),
    edits=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.one_of(HIGH, MULTI), st.booleans()),
        min_size=1,
        max_size=8,
    ),
)
def test_high_bytes_inside_elements_give_valid_utf8_or_an_error(seed, edits):
    data = SEEDS[seed]
    for where, new, replace in edits:
        positions = element_positions(data)
        i = positions[int(where * len(positions))]
        data = data[:i] + new + data[i + int(replace) :]
    for strict in (False, True):
        try:
            r = read_835(data, keep_identifiers=True, strict=strict)
        except X12Error:
            continue
        assert_valid_utf8(r)


@settings(max_examples=60)
@given(
    seed=st.sampled_from(range(len(SEEDS))),
    delimiter=st.sampled_from([b"*", b":", b"~"]),
    new=st.one_of(HIGH, MULTI),
)
def test_delimiter_swapped_for_non_ascii_is_refused(seed, delimiter, new):
    data = SEEDS[seed]
    # the line-break layout's "~" leads segments (its ISA terminator is the line
    # break): without it the next segment id is wrong, a different error
    other = SEEDS[seed] is LINEBREAK and delimiter == b"~"
    with pytest.raises(X12Error, match="not a segment id" if other else "ASCII"):
        read_835(data.replace(delimiter, new))


# ----------------------------------------------------------------------------- damage
CLAIM_COLS = ["claim_id", "transaction_id", "encounter_id", "status_code", "charge_cents"]
CLAIM_COLS += ["paid_cents", "patient_responsibility_cents", "statement_from", "patient_last_name"]
D = dt.date


def test_damaged_claims_fixture_claim_by_claim():
    r = read_835(FIXTURES / "damaged_claims.835", keep_identifiers=True)
    # RC-3002 (CLP segment 16, a CAS amount '1O0' at segment 27) and the trailing
    # RC-3005 (CLP*RC-3005*22 at segment 36) are left out; the second transaction,
    # after a wrong SE count, is read
    assert rows(r.claims, CLAIM_COLS) == [
        (0, 0, "RC-3001", "1", 20000, 15000, 1000, D(2025, 2, 20), "ALPHA"),
        (1, 0, "RC-3003", "1", 9000, 7500, 0, None, None),
        (2, 0, "RC-3004", "2", 30000, 15000, 0, None, None),
        (3, 1, "RC-3006", "1", 8000, 6000, 2000, None, None),
    ]
    # RC-3003 took RC-3002's rows: it inherits none of its values (patient, dates,
    # modifiers, service date, allowed, remarks)
    line_cols = ["line_id", "claim_id", "procedure_code", "modifiers", "charge_cents"]
    line_cols += ["paid_cents", "service_date", "reported_allowed_cents", "allowed_cents"]
    assert rows(r.service_lines, line_cols) == [
        (0, 0, "99213", None, 20000, 15000, D(2025, 2, 20), None, 16000),
        (1, 1, "36415", None, 9000, 7500, None, None, 7500),
        (2, 2, "99204", "25", 30000, 15000, D(2025, 2, 23), None, 15000),
        (3, 3, "99212", None, 8000, 6000, None, None, 8000),
    ]
    assert rows(r.adjustments, ["claim_id", "line_id", "group_code", "carc", "amount_cents"]) == [
        (0, 0, "CO", "45", 4000),
        (0, 0, "PR", "3", 1000),
        (1, 1, "CO", "45", 1500),
        (2, 2, "OA", "23", 15000),
        (3, 3, "PR", "1", 2000),
    ]
    assert r.remarks.num_rows == 0  # RC-3002's MOA went with it
    finding_cols = ["segment_number", "segment_id", "element", "code", "transaction_id"]
    finding_cols += ["claim_id", "difference_cents"]
    assert rows(r.findings, finding_cols) == [
        (4, "BPR", 2, "unbalanced_transaction", 0, None, 18000),  # RC-3002's 180.00
        (27, "CAS", 3, "claim_skipped", 0, None, None),
        (36, "CLP", 3, "claim_skipped", 0, None, None),
        (46, "SE", 1, "se_count", 1, None, None),
    ]
    messages = r.findings.column("message").to_pylist()
    assert "the claim whose CLP is segment 16 was left out" in messages[1]
    assert "the claim whose CLP is segment 36 was left out" in messages[2]
    for m in messages:  # no identifying value is quoted
        assert not any(v in m for v in ("RC-30", "BRAVO", "BS0000", "1O0"))
    # the money: BPR02 555.00 = 150 + 180 (left out) + 75 + 150
    assert pc.sum(r.claims.column("paid_cents")).as_py() == 15000 + 7500 + 15000 + 6000
    assert_valid_utf8(r)


def test_damaged_claims_fixture_strict_is_an_error():
    with pytest.raises(X12Error, match=r"segment 27 \(CAS\), element CAS03: the value is not"):
        read_835(FIXTURES / "damaged_claims.835", strict=True)
    fixed = DAMAGED.replace(b"*1O0~", b"*100~")
    with pytest.raises(X12Error, match=r"segment 36 \(CLP\), element CLP03: a required"):
        read_835(fixed, strict=True)
    fixed = fixed.replace(b"CLP*RC-3005*22~\n", b"").replace(b"SE*35*0301", b"SE*34*0301")
    with pytest.raises(X12Error, match=r"segment 45 \(SE\), element SE01: SE01 says '99'"):
        read_835(fixed, strict=True)
    r = read_835(fixed.replace(b"SE*99*0302", b"SE*9*0302"), strict=True)
    assert r.claims.column("encounter_id").to_pylist() == [f"RC-300{i}" for i in (1, 2, 3, 4, 6)]
    assert r.findings.num_rows == 0


@pytest.mark.parametrize(
    ("damage", "segment_id", "element"),
    [
        (b"CAS*CO*45*100~", None, None),  # unchanged: the reference
        (b"CAS*CO*45*100" + b"*1" * 70 + b"~", "CAS", 64),  # too many elements
        (b"cas co 45~", None, None),  # not a segment id
        (b"ZZZ*1~", None, None),  # not a segment of the 835 (id withheld)
        (b"N1*PE*X~", "N1", None),  # a header segment inside a claim
        (b"SVC*HC:93000*150*5.001**1~", "SVC", 3),  # fractions of a cent
    ],
)
def test_any_damage_inside_a_claim_costs_only_that_claim(damage, segment_id, element):
    data = DAMAGED.replace(b"CAS*CO*45*1O0~", damage)
    r = read_835(data)
    skipped = r.findings.filter(pc.equal(r.findings["code"], "claim_skipped"))
    skipped = rows(skipped, ["segment_number", "segment_id", "element"])
    if damage.startswith(b"CAS*CO*45*100~"):
        assert skipped == [(36, "CLP", 3)]
        assert len(r.claims) == 5
        return
    assert skipped == [(27, segment_id, element), (36, "CLP", 3)]
    assert r.claims.column("encounter_id").to_pylist() == [f"RC-300{i}" for i in (1, 3, 4, 6)]
    assert r.service_lines.num_rows == 4 and r.adjustments.num_rows == 5


def test_damage_outside_a_claim_is_still_an_error():
    data = DAMAGED.replace(b"BPR*I*555*", b"BPR*I*5X5*")
    with pytest.raises(X12Error, match=r"segment 4 \(BPR\), element BPR02"):
        read_835(data)
    with pytest.raises(X12Error, match="ends inside a transaction set"):
        read_835(DAMAGED[: DAMAGED.index(b"SE*35")])  # truncated


def test_first_claim_damaged_without_lx():
    data = DAMAGED.replace(b"LX*1~\n", b"").replace(b"SE*35*", b"SE*34*")
    data = data.replace(b"CLP*RC-3001*1*200*150*", b"CLP*RC-3001*1*200*1.5.0*")
    r = read_835(data)
    assert r.claims.column("encounter_id").to_pylist() == [f"RC-300{i}" for i in (3, 4, 6)]
    assert rows(r.findings, ["segment_number", "code"])[:3] == [
        (4, "unbalanced_transaction"), (8, "claim_skipped"), (26, "claim_skipped"),
    ]  # fmt: skip


def test_many_damaged_claims_grow_the_findings():
    claim = b"CLP*X*1*10*10~SVC*HC:1*10*10**1~CAS*CO*45*0.001~"
    body = claim * 300 + b"CLP*Y*1*10*10~"
    data = b"ST*835*1~BPR*I*10*C*CHK************20250101~" + body + b"SE*904*1~"
    r = read_835(data)
    assert r.claims.column("encounter_id").to_pylist() == ["Y"]
    assert r.findings.column("code").to_pylist().count("claim_skipped") == 300
    assert r.service_lines.num_rows == 0 and r.adjustments.num_rows == 0


# ----------------------------------------------------------------------------- layouts
CLAIMS_LB = [
    ("HFP-2001", "1", 25000, 19000, 2000, 21000),
    ("HFP-2002", "4", 12000, 0, 0, 0),
    ("HFP-2003", "1", 30000, 23750, 3250, 27000),
]


def layouts() -> dict[str, bytes]:
    """The fixture in every layout: the same segments, different bytes between them."""
    segments = [s.strip(b"~\r\n") for s in LINEBREAK.split(b"\n")]
    segments = [s for s in segments if s]
    assert len(segments) == 34 and segments[0].startswith(b"ISA")
    return {
        "lf_then_terminator": LINEBREAK,  # the fixture itself, ends with a lone "~"
        "crlf_then_terminator": LINEBREAK.replace(b"\n", b"\r\n"),
        "lf_then_terminator_no_last": LINEBREAK[: -len(b"~\n")],
        "terminator_then_lf": b"~\n".join(segments) + b"~\n",
        "terminator_then_crlf": b"~\r\n".join(segments) + b"~\r\n",
        "terminator_only": b"~".join(segments) + b"~",
    }


@pytest.mark.parametrize("layout", sorted(layouts()))
def test_linebreak_layouts_read_claim_by_claim(layout):
    r = read_835(layouts()[layout])
    cols = ["encounter_id", "status_code", "charge_cents", "paid_cents"]
    cols += ["patient_responsibility_cents", "allowed_cents"]
    assert rows(r.claims, cols) == CLAIMS_LB
    line_cols = ["claim_id", "procedure_code", "modifiers", "charge_cents", "paid_cents"]
    line_cols += ["units", "service_date", "reported_allowed_cents"]
    assert rows(r.service_lines, line_cols) == [
        (0, "99214", "25", 18000, 14000, 1.0, D(2025, 2, 10), 15500),
        (0, "81002", None, 7000, 5000, 1.0, D(2025, 2, 10), None),
        (1, "97110", "GP:59", 12000, 0, 2.0, D(2025, 2, 12), None),
        (2, "99203", None, 30000, 23750, 1.0, D(2025, 2, 14), 27000),
    ]
    assert rows(r.adjustments, ["claim_id", "line_id", "group_code", "carc", "amount_cents"]) == [
        (0, 0, "CO", "45", 2500), (0, 0, "PR", "2", 1500), (0, 1, "CO", "45", 1500),
        (0, 1, "PR", "3", 500), (1, 2, "CO", "50", 12000), (2, 3, "CO", "45", 3000),
        (2, 3, "PR", "1", 3250),
    ]  # fmt: skip
    assert rows(r.remarks, ["claim_id", "line_id", "source", "code"]) == [(1, 2, "LQ", "N115")]
    assert rows(r.provider_adjustments, ["reason_code", "reference", "amount_cents"]) == [
        ("WO", "NW1999", 1500)
    ]
    t = r.transactions.to_pylist()[0]
    assert (t["isa_control"], t["gs_control"], t["st_control"], t["payment_cents"]) == (
        "000000201", "201", "0201", 41250,
    )  # fmt: skip
    assert (t["payer_name"], t["version"], t["payment_date"]) == (
        "NORTHWIND MUTUAL", "005010X221A1", D(2025, 3, 1),
    )  # fmt: skip
    assert r.findings.num_rows == 0  # balanced, counts right: nothing odd
    assert_valid_utf8(r)


def test_linebreak_before_terminator_without_envelope():
    body = LINEBREAK[LINEBREAK.index(b"ST*835") : LINEBREAK.index(b"~GE*")]
    r = read_835(body)
    assert rows(r.claims, ["encounter_id", "paid_cents"]) == [(c[0], c[3]) for c in CLAIMS_LB]
    assert r.findings.column("code").to_pylist() == ["no_envelope"]


def test_linebreak_layout_estimated_from_samples(monkeypatch):
    # a large file's rows are estimated from slices: the lead "~" must be skipped there too
    start, end = LINEBREAK.index(b"~LX*1"), LINEBREAK.index(b"~PLB")
    many = LINEBREAK[:start] + LINEBREAK[start:end] * 200 + LINEBREAK[end:]
    many = many.replace(b"~SE*30*", b"~SE*%d*" % (30 + 199 * 22))
    calls = []
    real = tokenize_module._run

    def counting_run(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(tokenize_module, "SAMPLED_ABOVE", 0)
    monkeypatch.setattr(tokenize_module, "_run", counting_run)
    r = read_835(many)
    assert r.claims.column("encounter_id").to_pylist() == [c[0] for c in CLAIMS_LB] * 200
    assert r.service_lines.num_rows == 800 and r.adjustments.num_rows == 1400
    assert r.findings.column("code").to_pylist() == ["unbalanced_transaction"]  # one BPR
    assert len(calls) == 1  # the estimate was large enough: one parse


def test_cli_post_says_which_claims_were_left_out():
    from ledgerkit.cli.store_commands import left_out

    lines = left_out(read_835(FIXTURES / "damaged_claims.835").findings)
    assert lines[0] == "2 damaged claims left out, not posted (their money is in no figure):"
    assert [line.split(": ")[1] for line in lines[1:]] == ["segment 27", "segment 36"]
    assert left_out(read_835(BASE).findings) == []


# ----------------------------------------------------------------------------- property
CLEAN = (
    DAMAGED.replace(b"*1O0~", b"*100~")
    .replace(b"CLP*RC-3005*22~\n", b"")
    .replace(b"SE*35*0301", b"SE*34*0301")
    .replace(b"SE*99*0302", b"SE*9*0302")
)
CLEAN_SEGMENTS = CLEAN.split(b"~\n")[:-1]
CLAIM_OF_SEGMENT = {}  # segment index -> encounter id of the claim it belongs to
_current = None
for _i, _seg in enumerate(CLEAN_SEGMENTS):
    if _seg.startswith(b"CLP*"):
        _current = _seg.split(b"*")[1].decode()
    elif _seg[:2] in (b"SE", b"LX"):
        _current = None
    if _current is not None:
        CLAIM_OF_SEGMENT[_i] = _current
GENERIC_DAMAGE = [
    lambda s: s + b"*1" * 70,  # too many elements
    lambda s: b"?" + s[1:],  # not a segment id
    lambda s: b"ZZZ*1",  # not a segment of the 835
    lambda s: b"N1*PR*X",  # a header segment inside the claim
]
CLP_DAMAGE = [
    lambda e: e[:3] + [b""] + e[4:],  # CLP03 empty
    lambda e: e[:4] + [b"12,50"] + e[5:],  # CLP04 not a number
    lambda e: e[:2] + [b""] + e[3:],  # CLP02 empty
]


def by_claim(r) -> dict:
    """Each claim's claim row, lines and adjustments, keyed by encounter id (no row ids)."""
    enc = r.claims.column("encounter_id").to_pylist()
    out = {
        e: [r.claims.drop_columns(["claim_id"]).slice(i, 1).to_pylist()] for i, e in enumerate(enc)
    }
    for name in ("service_lines", "adjustments"):
        t = getattr(r, name)
        for row in t.drop_columns(["line_id"]).to_pylist():
            out[enc[row.pop("claim_id")]].append(row)
    return out


@settings(max_examples=80)
@given(index=st.sampled_from(sorted(CLAIM_OF_SEGMENT)), damage=st.integers(0, 6))
def test_one_damaged_segment_costs_exactly_its_claim(index, damage):
    segments = list(CLEAN_SEGMENTS)
    seg = segments[index]
    if seg.startswith(b"CLP*"):
        elements = seg.split(b"*")
        segments[index] = b"*".join(CLP_DAMAGE[damage % len(CLP_DAMAGE)](elements))
    else:
        segments[index] = GENERIC_DAMAGE[damage % len(GENERIC_DAMAGE)](seg)
    r = read_835(b"~\n".join(segments) + b"~\n")
    lost = CLAIM_OF_SEGMENT[index]
    clean = by_claim(read_835(CLEAN))
    del clean[lost]
    assert by_claim(r) == clean
    skipped = r.findings.filter(pc.equal(r.findings["code"], "claim_skipped"))
    assert skipped["segment_number"].to_pylist() == [index + 1]
    with pytest.raises(X12Error, match=f"segment {index + 1} "):
        read_835(b"~\n".join(segments) + b"~\n", strict=True)
