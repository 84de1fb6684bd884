# ruff: noqa: E501
"""write_835's column-wise writer against the slow reference writer, byte for byte.

``tests/reference_write_835.py`` is the Python writer as it was before it was
vectorised (one step per segment); ``format_835`` must give exactly its bytes, or
exactly its error, on synthetic ledgers, the sample and public 835 files and
arbitrary (unbalanced, sparse, unsorted, chunked) tables drawn by hypothesis.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_write_835 import format_835_ref

import ledgerkit as lk
from ledgerkit._kernels.x12.emit import date_text, money_text
from ledgerkit.synth.remits import remittances_from_ledger
from ledgerkit.x12 import Remittances, read_835, write_835
from ledgerkit.x12 import write as write_module
from ledgerkit.x12.remittances import IDENTIFIER_COLUMNS, schema
from ledgerkit.x12.tables import findings_table
from ledgerkit.x12.write import _date, _money, format_835

ROOT = Path(__file__).parents[1]
SAMPLES = sorted((ROOT / "data/samples/835").glob("*.835"))
PUBLIC = sorted(p for p in (ROOT / "../shared/data/x12-public").glob("*") if p.is_file()
                and p.suffix != ".md")  # fmt: skip
OPTIONS = [
    {},
    {"newline": False},
    {"element_separator": "|", "component_separator": ">", "segment_terminator": "\n"},
    {"element_separator": "+", "component_separator": "^", "repetition_separator": "!"},
]


def outcome(fn, r, options):
    """The bytes written, or the type and message of the error raised."""
    try:
        return fn(r, **options)
    except (ValueError, TypeError, KeyError) as e:
        return type(e).__name__, str(e)


def assert_same(r, **options):
    fast = outcome(format_835, r, options)
    assert fast == outcome(format_835_ref, r, options)
    return fast


# ------------------------------------------------------------------ money and dates
EDGE_CENTS = [0, 1, -1, 5, 9, 10, -10, 11, 50, 99, 100, -100, 101, 110, 120, 199, 1000, 1005,
              12345, -12345, 10**9, -(10**9) - 7, 10**15 + 30, -(2**62), 2**63 - 1]  # fmt: skip


def _kernel_text(writer, value) -> str:
    out = np.zeros(40, np.uint8)
    return bytes(out[: writer(out, 0, value)]).decode()


@pytest.mark.parametrize("cents", EDGE_CENTS)
def test_money_text_edges(cents):
    assert _kernel_text(money_text, cents) == _money(cents)


def test_money_text_examples():
    assert [_kernel_text(money_text, c) for c in (0, -150, 1200, 5, 105, 110)] == [
        "0", "-1.5", "12", "0.05", "1.05", "1.1",
    ]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(cents=st.integers(-(2**63) + 1, 2**63 - 1))
def test_money_text_matches_python(cents):
    assert _kernel_text(money_text, cents) == _money(cents)


@settings(max_examples=200, deadline=None)
@given(day=st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)))
def test_date_text_matches_python(day):
    days = (day - dt.date(1970, 1, 1)).days
    assert _kernel_text(date_text, days) == _date(day)


def test_short_output_counts_without_writing_past_its_end():
    buffer = np.zeros(12, np.uint8)
    assert money_text(buffer[:3], 0, -123456) == len("-1234.56")
    assert not buffer[3:].any()
    assert date_text(buffer[:3], 0, 0) == len("19700101") and not buffer[3:].any()


# ------------------------------------------------------------------ synthetic and real files
@pytest.mark.parametrize("options", OPTIONS)
def test_synth_same_bytes(options):
    r = remittances_from_ledger(lk.synth.generate(600, seed=11))
    text = assert_same(r, **options)
    assert isinstance(text, bytes) and text.count(b"CLP") == r.claims.num_rows


def test_synth_written_file_reads_back(tmp_path):
    r = remittances_from_ledger(lk.synth.generate(400, seed=3))
    path = write_835(r, tmp_path / "out.835")
    assert path.read_bytes() == format_835_ref(r)
    back = read_835(path)
    assert back.findings.num_rows == 0 and back.equals(r)
    assert (
        back.claims.column("paid_cents").to_pylist() == r.claims.column("paid_cents").to_pylist()
    )


@pytest.mark.parametrize("path", SAMPLES + PUBLIC, ids=lambda p: p.name)
def test_files_same_bytes(path):
    r = read_835(path, keep_identifiers=True)
    for options in OPTIONS[:2]:
        assert_same(r, **options)


def test_samples_have_every_kind_of_segment():
    """The files above exercise what synth does not write (MIA/MOA, PLB, names); the
    arbitrary tables below the rest (subscribers, SVC06, every null)."""
    rs = [read_835(p, keep_identifiers=True) for p in SAMPLES + PUBLIC]
    text = b"".join(format_835(r) for r in rs)
    for seg in (b"~MIA*", b"~MOA*", b"~PLB*", b"~NM1*QC*1*", b"~LQ*", b"~REF*6R*",
                b"~AMT*B6*", b"~TRN*", b"~DTM*405*"):  # fmt: skip
        assert seg in text.replace(b"\n", b""), seg


def test_short_guess_writes_again(monkeypatch):
    real = write_module.kernel_arguments
    monkeypatch.setattr(write_module, "kernel_arguments", lambda r, c: (real(r, c)[0], 1))
    r = remittances_from_ledger(lk.synth.generate(50, seed=5))
    assert format_835(r) == format_835_ref(r)


def test_empty_remittances():
    r = Remittances(*(Remittances.empty_table(n) for n in (
        "transactions", "claims", "service_lines", "adjustments", "remarks",
        "provider_adjustments", "findings")))  # fmt: skip
    assert format_835(r) == format_835_ref(r) == b""


# ------------------------------------------------------------------ arbitrary tables
text_chars = "ABCXYZ0189 .-'éß"
text = st.one_of(st.none(), st.just(""), st.text(text_chars, min_size=1, max_size=6))
req_text = st.text("ABC0123", min_size=1, max_size=5)
cents = st.one_of(st.sampled_from(EDGE_CENTS[:-2]), st.integers(-(10**12), 10**12))
opt_cents = st.one_of(st.none(), cents)
day = st.one_of(st.none(), st.dates(dt.date(1899, 1, 1), dt.date(2099, 12, 31)))
qty = st.one_of(st.none(), st.sampled_from([0.0, -0.0, 1.0, 1.5, 1 / 3, 1e-7, 1e20, -2.25,
                                            float("nan"), float("inf")]))  # fmt: skip


def _table(name: str, rows: list[dict], drop=()) -> pa.Table:
    sch = schema(name)
    table = pa.Table.from_arrays(
        [pa.array([row.get(f.name) for row in rows], f.type) for f in sch], schema=sch
    )
    table = table.drop_columns(list(drop))
    if table.num_rows > 2:  # two chunks, the second sliced: offsets must be honoured
        k = table.num_rows // 2
        table = pa.concat_tables([table.slice(0, k), table.slice(k)])
    return table


@st.composite
def wild_remittances(draw):
    """Unbalanced, sparse remittances in any table order, valid enough to be written."""
    ntx = draw(st.integers(1, 4))
    keys = st.sampled_from([None, "1", "000000002", "12345678901", "AB"])
    tx = [dict(
        transaction_id=t, file="f", isa_control=draw(keys), isa_sender=draw(st.sampled_from(
            [None, "PAYER", "A-VERY-LONG-SENDER-ID"])), isa_receiver=draw(text),
        gs_sender=draw(text), gs_receiver=draw(text), gs_control=draw(keys),
        gs_date=draw(day), version=draw(st.sampled_from([None, "", "005010X221A1",
                                                         "004010X091A1"])),
        st_control=draw(req_text), payer_id=draw(text), payer_id_qualifier=draw(text),
        payer_name=draw(text), payee_name=draw(text), payee_id_qualifier=draw(text),
        payee_id=draw(text), handling_code=draw(text), payment_cents=draw(opt_cents),
        credit_debit=draw(text), payment_method=draw(text), payment_date=draw(day),
        trace_number=draw(text), trace_originator=draw(text), production_date=draw(day),
    ) for t in range(ntx)]  # fmt: skip
    ncl = draw(st.integers(0, 6))
    claim_ids = draw(st.permutations(range(ncl)))
    cl = []
    for c in claim_ids:
        row = dict(
            claim_id=c, transaction_id=draw(st.integers(0, ntx)), encounter_id=draw(req_text),
            status_code=draw(req_text), charge_cents=draw(cents), paid_cents=draw(cents),
            reported_patient_responsibility_cents=draw(opt_cents),
            statement_from=draw(day), statement_to=draw(day), received_date=draw(day),
        )  # fmt: skip
        for col in ("claim_filing_indicator", "payer_claim_control_number", "facility_type",
                    "frequency_code", "rendering_provider_id", "patient_key", "subscriber_key",
                    *IDENTIFIER_COLUMNS):  # fmt: skip
            row[col] = draw(text)
        cl.append(row)
    nli = draw(st.integers(0, 8)) if ncl else 0
    line_ids = draw(st.permutations(range(100, 100 + nli)))
    li = []
    for i in line_ids:
        row = dict(line_id=i, claim_id=draw(st.sampled_from(claim_ids + [999])), line_number=1,
                   charge_cents=draw(opt_cents), paid_cents=draw(opt_cents),
                   units=draw(qty), original_units=draw(qty), service_date=draw(day),
                   service_start=draw(day), service_end=draw(day),
                   reported_allowed_cents=draw(opt_cents))  # fmt: skip
        for col in ("procedure_qualifier", "procedure_code", "revenue_code",
                    "original_procedure_qualifier", "original_procedure_code",
                    "line_control_number"):  # fmt: skip
            row[col] = draw(text)
        for col in ("modifiers", "original_modifiers"):
            row[col] = draw(st.one_of(st.none(), st.just(""), st.just("25:"),
                                      st.lists(st.sampled_from(["25", "59", "", "GT"]), min_size=1,
                                               max_size=4).map(":".join)))  # fmt: skip
        li.append(row)
    ad, rm = [], []
    parents = [(c, None) for c in claim_ids] + [(row["claim_id"], row["line_id"]) for row in li]
    if parents:
        for _ in range(draw(st.integers(0, 16))):
            c, ln = draw(st.sampled_from(parents))
            ad.append(dict(claim_id=c, line_id=ln, group_code=draw(st.sampled_from(["CO", "PR"])),
                           carc=draw(req_text), amount_cents=draw(cents), quantity=draw(qty)))  # fmt: skip
        for _ in range(draw(st.integers(0, 16))):
            c, ln = draw(st.sampled_from(parents))
            rm.append(dict(claim_id=c, line_id=ln, source=draw(st.sampled_from(
                ["MIA", "MOA", "LQ"])), qualifier=draw(st.sampled_from([None, "", "HE", "RX"])),
                code=draw(st.one_of(st.just(""), req_text))))  # fmt: skip
    pl = [dict(transaction_id=draw(st.integers(0, ntx - 1)),
               provider_id=draw(st.sampled_from(["P1", "P2"])),
               fiscal_period_date=draw(st.sampled_from([None, dt.date(2025, 12, 31)])),
               reason_code=draw(req_text),
               reference=draw(st.sampled_from([None, "", "A:B", "REF1", ":X"])),
               amount_cents=draw(cents)) for _ in range(draw(st.integers(0, 9)))]  # fmt: skip
    drop = IDENTIFIER_COLUMNS if draw(st.booleans()) else ()
    return Remittances(
        _table("transactions", tx), _table("claims", cl, drop), _table("service_lines", li),
        _table("adjustments", ad), _table("remarks", rm), _table("provider_adjustments", pl),
        findings_table("<bytes>", []),
    )  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(r=wild_remittances(), options=st.sampled_from(OPTIONS))
def test_arbitrary_tables_same_bytes(r, options):
    assert isinstance(assert_same(r, **options), bytes)


# ------------------------------------------------------------------ bad input
def _synth():
    return remittances_from_ledger(lk.synth.generate(60, seed=2))


def _with(table: pa.Table, column: str, row: int, value) -> pa.Table:
    values = table.column(column).to_pylist()
    values[row] = value
    i = table.schema.get_field_index(column)
    return table.set_column(i, table.schema.field(i), pa.array(values, table.schema.field(i).type))


@pytest.mark.parametrize(
    "table, column, value, match",
    [
        ("claims", "payer_claim_control_number", "A*B", r"claims.payer_claim_control_number row 3 contains a delimiter"),
        ("service_lines", "modifiers", "25~", r"service_lines.modifiers row 3 contains a delimiter"),
        ("claims", "status_code", None, r"claims.status_code row 3 is null"),
        ("adjustments", "carc", None, r"adjustments.carc row 3 is null"),
    ],
)  # fmt: skip
def test_bad_values_same_error(table, column, value, match):
    r = _synth()
    setattr(r, table, _with(getattr(r, table), column, 3, value))
    fast = outcome(format_835, r, {})
    assert fast == outcome(format_835_ref, r, {})
    with pytest.raises(ValueError, match=match):
        format_835(r)


@pytest.mark.parametrize("options", [{"element_separator": "**"}, {"component_separator": "A"},
                                     {"segment_terminator": "*"}, {"element_separator": "§"}])  # fmt: skip
def test_bad_separators(options):
    with pytest.raises(ValueError, match="separators must be four different single"):
        format_835(_synth(), **options)


def test_errors_name_the_place_never_the_value(tmp_path):
    r = _synth()
    secret = r.claims.column("encounter_id")[5].as_py()
    r.claims = _with(r.claims, "encounter_id", 5, secret + "*")
    with pytest.raises(ValueError, match=r"claims.encounter_id row 5") as e:
        write_835(r, tmp_path / "x.835")
    assert secret not in str(e.value)
    assert not (tmp_path / "x.835").exists()  # nothing half-written


@pytest.mark.parametrize(
    "table, row, match",
    [
        ("adjustments", dict(claim_id=10**6, group_code="CO", carc="45", amount_cents=1),
         r"adjustments.claim_id row \d+ names no row of claims"),
        ("adjustments", dict(claim_id=0, line_id=10**6, group_code="CO", carc="45", amount_cents=1),
         r"adjustments.line_id row \d+ names no row of service_lines"),
        ("remarks", dict(claim_id=0, line_id=10**6, source="LQ", code="N1"),
         r"remarks.line_id row \d+ names no row of service_lines"),
        ("provider_adjustments", dict(transaction_id=-1, provider_id="P", reason_code="WO",
                                      amount_cents=1),
         r"provider_adjustments.transaction_id row 0 names no transaction"),
    ],
)  # fmt: skip
def test_dangling_ids_refused(table, row, match, tmp_path):
    r = _synth()
    setattr(r, table, pa.concat_tables([getattr(r, table), _table(table, [row])]))
    with pytest.raises(ValueError, match=match):
        write_835(r, tmp_path / "x.835")
    assert not (tmp_path / "x.835").exists()


@pytest.mark.parametrize(
    "table, column, value, match",
    [
        ("claims", "claim_id", 0, r"claims row 3 repeats an id"),
        ("claims", "paid_cents", None, r"claims.paid_cents row 3 is null; an 835 needs a value"),
        ("adjustments", "amount_cents", None, r"adjustments.amount_cents row 3 is null"),
        ("transactions", "st_control", None, r"transactions.st_control row 3 is null"),
    ],
)  # fmt: skip
def test_missing_values_refused(table, column, value, match, tmp_path):
    r = _synth()
    setattr(r, table, _with(getattr(r, table), column, 3, value))
    with pytest.raises(ValueError, match=match):
        write_835(r, tmp_path / "x.835")
    assert not (tmp_path / "x.835").exists()
