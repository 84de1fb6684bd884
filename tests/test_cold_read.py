"""Reading a Parquet ledger folder without a keys sidecar (issue #19, cold path).

``Ledger.from_parquet`` on four plain Parquet files reads the columns the checks and
keys need (encounter ids dictionary-coded, per row group), takes the other columns'
types and nulls from the footers and reads them on first use; the entry row checks are
one kernel pass. The ledger equals ``Ledger.from_arrow`` of the whole tables, errors
name the same row and column, nothing imports pandas on the way.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledgers import random_ledgers
from test_parquet_sidecar import TABLES, _assert_same, _shuffled

import ledgerkit as lk
from ledgerkit import LedgerError
from ledgerkit._kernels import validate as K
from ledgerkit.core.arrow import numpy_array, strings_at, valid_array
from ledgerkit.core.parquet_read import PartTable
from ledgerkit.store.ledger_store import _read_rows


def _plain_folder(ledger, folder, row_group_size=None, **write):
    """The four tables as plain Parquet (no sidecar), small row groups if asked."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        table = write.pop(name, None) or getattr(ledger, name)
        pq.write_table(table, folder / f"{name}.parquet", row_group_size=row_group_size)
    return folder


def _whole(folder):
    return lk.Ledger.from_arrow(**{n: pq.read_table(folder / f"{n}.parquet") for n in TABLES})


# ------------------------------------------------------------------ same ledger
@settings(max_examples=20)
@given(random_ledgers(), st.booleans(), st.sampled_from([None, 3, 17]))
def test_plain_folder_reads_as_from_arrow(tmp_path_factory, ledger, shuffle, row_group):
    if shuffle:
        ledger = _shuffled(ledger, 3)
    folder = _plain_folder(ledger, tmp_path_factory.mktemp("p"), row_group)
    _assert_same(lk.Ledger.from_parquet(folder), _whole(folder))


def test_synthetic_ledger_in_many_row_groups(tmp_path):
    ledger = lk.synth.generate(400, seed=5)
    ledger = ledger.negate(ledger.entries["entry_id"].to_pylist()[-4:], actor="t", note="x")
    folder = _plain_folder(ledger, tmp_path / "p", row_group_size=500)
    assert pq.ParquetFile(folder / "entries.parquet").metadata.num_row_groups > 3
    back = lk.Ledger.from_parquet(folder)
    _assert_same(back, _whole(folder))  # (dictionaries per row group, as pyarrow reads)
    assert lk.classify(back).equals(lk.classify(ledger))


def test_columns_no_check_reads_are_read_on_first_use(tmp_path):
    ledger = lk.synth.generate(200, seed=2)
    folder = _plain_folder(ledger, tmp_path / "p")
    back = lk.Ledger.from_parquet(folder)
    lk.classify(back)
    part = back._tables["entries"]
    assert isinstance(part, PartTable)
    assert {"posted_at", "note", "rarc", "remit_ref", "actor"}.isdisjoint(part.read.column_names)
    assert isinstance(back._tables["procedures"], PartTable)
    assert back.entries.equals(ledger.entries)  # the rest read and conformed now
    assert back.procedures.equals(ledger.procedures)


# ------------------------------------------------------------------ refusals
def _with(table, column, array):
    i = table.schema.get_field_index(column)
    return table.set_column(i, pa.field(column, array.type), array)


def test_a_null_in_an_unread_required_column_is_refused_on_opening(tmp_path):
    ledger = lk.synth.generate(50, seed=1)
    posted = ledger.entries["posted_at"].to_pylist()
    posted[7] = None
    entries = _with(ledger.entries, "posted_at", pa.array(posted, pa.timestamp("us", "UTC")))
    folder = _plain_folder(ledger, tmp_path / "p", entries=entries)
    with pytest.raises(LedgerError, match=r"entries row 7, column 'posted_at': null in a req"):
        lk.Ledger.from_parquet(folder)


@pytest.mark.parametrize("statistics", [True, False])
def test_a_required_column_is_checked_without_footer_statistics(tmp_path, statistics):
    ledger = lk.synth.generate(50, seed=1)
    charge = ledger.procedures["charge_cents"].to_pylist()
    charge[3] = None
    procedures = _with(ledger.procedures, "charge_cents", pa.array(charge, pa.int64()))
    folder = tmp_path / "p"
    _plain_folder(ledger, folder)
    pq.write_table(procedures, folder / "procedures.parquet", write_statistics=statistics)
    with pytest.raises(LedgerError, match=r"procedures row 3, column 'charge_cents': null"):
        lk.Ledger.from_parquet(folder)


def test_a_column_stored_as_another_type_is_conformed_on_opening(tmp_path):
    ledger = lk.synth.generate(50, seed=1)
    ns = ledger.entries["posted_at"].cast(pa.timestamp("ns", "UTC"))
    folder = _plain_folder(ledger, tmp_path / "ok", entries=_with(ledger.entries, "posted_at", ns))
    assert lk.Ledger.from_parquet(folder).entries.equals(ledger.entries)
    text = pc.cast(ledger.entries["rarc"], pa.string()).fill_null("x")
    money = pc.cast(ledger.procedures["charge_cents"], pa.float64())
    bad = {"procedures": _with(ledger.procedures, "charge_cents", money),
           "entries": _with(ledger.entries, "rarc", text)}  # fmt: skip
    folder = _plain_folder(ledger, tmp_path / "bad", **bad)
    with pytest.raises(LedgerError, match="column 'charge_cents': type double must be an int"):
        lk.Ledger.from_parquet(folder)


def test_encounter_ids_stored_as_numbers_are_refused(tmp_path):
    ledger = lk.synth.generate(20, seed=1)
    n = ledger.entries.num_rows
    entries = _with(ledger.entries, "encounter_id", pa.array(np.arange(n)))
    folder = _plain_folder(ledger, tmp_path / "p", entries=entries)
    with pytest.raises(LedgerError, match="entries, column 'encounter_id': type int64 must be"):
        lk.Ledger.from_parquet(folder)


@pytest.mark.parametrize(
    ("column", "row", "value", "message"),
    [
        ("kind", 5, "refund", "entries row 5, column 'kind': the value is not one of"),
        ("source", 2, "fax", "entries row 2, column 'source': the value is not one of"),
        ("payer_seq", 9, 4, "entries row 9, column 'payer_seq': 4 is not 0"),
        ("amount_cents", 4, 2**60, "entries row 4, column 'amount_cents': 1152921504606846976"),
        ("entry_id", 6, 1, "entries row 6, column 'entry_id': duplicate entry id 1"),
    ],
)
def test_errors_name_the_row_and_column_as_from_arrow(tmp_path, column, row, value, message):
    ledger = lk.synth.generate(30, seed=1)
    values = (
        ledger.entries[column]
        .cast(pa.string() if column in ("kind", "source") else ledger.entries[column].type)
        .to_pylist()
    )
    values[row] = value
    typ = pa.string() if column in ("kind", "source") else ledger.entries[column].type
    entries = _with(ledger.entries, column, pa.array(values, typ))
    folder = _plain_folder(ledger, tmp_path / "p", entries=entries)
    with pytest.raises(LedgerError, match=message):
        lk.Ledger.from_parquet(folder)
    with pytest.raises(LedgerError, match=message):
        lk.Ledger.from_arrow(ledger.encounters, ledger.procedures, entries, ledger.payers)


# ------------------------------------------------------------------ the kernel
def reference_checks(kind, source, group, seq, carc_ok, payer_ok, amounts, negation, ids,
                     adjustment, charge, limit):  # fmt: skip
    """The first failing row of each check, one plain loop per check."""
    rules = [
        lambda i: kind[i] < 0,
        lambda i: source[i] < 0,
        lambda i: group[i] == K.UNKNOWN,
        lambda i: not 0 <= seq[i] <= 3,
        lambda i: kind[i] == adjustment and group[i] == K.NULL,
        lambda i: kind[i] == adjustment and not carc_ok[i],
        lambda i: seq[i] > 0 and not payer_ok[i],
        lambda i: i > 0 and ids[i] <= ids[i - 1],
        lambda i: abs(int(amounts[i])) > limit,
        lambda i: kind[i] == charge and amounts[i] < 0 and not negation[i],
    ]
    return [next((i for i in range(len(kind)) if rule(i)), -1) for rule in rules]


@st.composite
def check_inputs(draw):
    n = draw(st.integers(0, 40))
    small = st.integers(-2, 5)
    ints = st.lists(small, min_size=n, max_size=n)
    bools = st.lists(st.booleans(), min_size=n, max_size=n)
    amounts = st.lists(st.integers(-(2**54), 2**54) | st.integers(-5, 5), min_size=n, max_size=n)
    ids = st.lists(st.integers(0, 60), min_size=n, max_size=n)
    if draw(st.booleans()):
        ids = st.just(sorted(set(range(0, 3 * n, 3)))[:n])
    return (
        np.array(draw(ints), np.int8), np.array(draw(ints), np.int8),
        np.array(draw(ints), np.int8), np.array(draw(ints), np.int8),
        np.array(draw(bools)), np.array(draw(bools)), np.array(draw(amounts), np.int64),
        np.array(draw(bools)), np.array(draw(ids), np.int64),
    )  # fmt: skip


@settings(max_examples=200)
@given(check_inputs())
def test_entry_checks_kernel_matches_reference(arrays):
    first_bad = np.empty(K.N_CHECKS, np.int64)
    K.entry_checks_nb(*arrays, 2, 0, 2**53, first_bad)
    assert first_bad.tolist() == reference_checks(*arrays, 2, 0, 2**53)


# ------------------------------------------------------------------ helpers
@st.composite
def chunked_numbers(draw):
    typ = draw(st.sampled_from([pa.int8(), pa.int32(), pa.int64(), pa.float64(), pa.bool_()]))
    values = st.booleans() if typ == pa.bool_() else st.integers(-100, 100)
    chunks = draw(st.lists(st.lists(st.none() | values, max_size=12), max_size=4))
    arrays = [pa.array(c, typ) for c in chunks]
    arrays = [a.slice(draw(st.integers(0, len(a)))) for a in arrays]  # offsets
    return pa.chunked_array(arrays, typ)


@given(chunked_numbers())
def test_numbers_from_buffers_equal_arrow(column):
    fill = False if column.type == pa.bool_() else 7
    want = pc.fill_null(column, fill).to_numpy() if len(column) else None
    got = numpy_array(column, fill=fill)
    if want is not None:
        np.testing.assert_array_equal(got, want)
    assert len(got) == len(column)
    assert valid_array(column).tolist() == column.is_valid().to_pylist()


def test_strings_at_takes_across_chunk_dictionaries():
    chunks = [pa.array(["a", "b", "a"]).dictionary_encode(), pa.array(["c", None, "b"])]
    column = pa.chunked_array([chunks[0], chunks[1].dictionary_encode()])
    got = strings_at(column, np.array([4, 0, 3, 1, 5]))
    assert got.to_pylist() == [None, "a", "c", "b", "b"]


def test_store_rows_come_in_commit_order_when_row_groups_do_not(tmp_path):
    """A Delta writer may write a file's row groups out of order: they are put back in
    order whole, and the rows within each are kept."""
    schema = pa.schema([("_version", pa.int64()), ("_row", pa.int64()), ("x", pa.int64())])
    path = tmp_path / "part.parquet"
    with pq.ParquetWriter(path, schema) as writer:
        for start in (6, 0, 3):
            rows = np.arange(start, start + 3)
            writer.write_table(pa.table([np.zeros(3, np.int64), rows, rows * 10], schema=schema))
    out = _read_rows([str(path)], schema)
    assert out.column_names == ["x"]
    assert out["x"].to_pylist() == [0, 10, 20, 30, 40, 50, 60, 70, 80]


def test_a_cold_read_imports_no_pandas(tmp_path):
    ledger = lk.synth.generate(100, seed=1)
    plain = _plain_folder(ledger, tmp_path / "plain")
    with_keys = ledger.to_parquet(tmp_path / "keys")
    code = (
        "import sys, ledgerkit as lk\n"
        f"for f in ({str(plain)!r}, {str(with_keys)!r}):\n"
        "    lk.classify(lk.Ledger.from_parquet(f))\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == "False"


# ------------------------------------------------------------------ with the sidecar
def test_classify_from_a_folder_reads_only_the_encounter_ids(tmp_path):
    ledger = lk.synth.generate(100, seed=1)
    for folder in (ledger.to_parquet(tmp_path / "keys"), _plain_folder(ledger, tmp_path / "p")):
        back = lk.Ledger.from_parquet(folder)
        assert lk.classify(back).equals(lk.classify(ledger))
        assert not isinstance(back._tables["encounters"], pa.Table)  # still unread
        assert back.column("encounters", "encounter_id").equals(ledger.encounters["encounter_id"])


def test_stored_packed_codes_serve_only_a_policy_that_buckets_alike(tmp_path):
    ledger = lk.synth.generate(300, seed=3)
    folder = ledger.to_parquet(tmp_path / "keys")
    back = lk.Ledger.from_parquet(folder)
    assert back.keys._stored_codes is not None
    stored = back.keys._stored_codes[1]
    np.testing.assert_array_equal(back.packed_codes(), ledger.packed_codes())
    assert back.packed_codes() is stored  # not recomputed
    same = lk.CarcPolicy.default()  # another object, the same buckets
    assert back.packed_codes(same) is stored
    other = same.override("CO", "45", "denied")
    assert back.packed_codes(other) is not stored
    np.testing.assert_array_equal(back.packed_codes(other), ledger.packed_codes(other))
    assert lk.classify(back, policy=other).equals(lk.classify(ledger, policy=other))


# ------------------------------------------------------------------ an independent writer
def _as_another_tool_writes(ledger, folder, row_group_size=None):
    """The four tables as a tool other than ledgerkit writes them: dictionary columns as
    plain strings, no Arrow schema kept in the files, entries in any order."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        table = getattr(ledger, name)
        columns = [
            table[f.name].cast(f.type.value_type) if pa.types.is_dictionary(f.type)
            else table[f.name]
            for f in table.schema
        ]  # fmt: skip
        plain_table = pa.table(columns, names=table.column_names)
        pq.write_table(plain_table, folder / f"{name}.parquet", row_group_size=row_group_size,
                       store_schema=False)  # fmt: skip
    return folder


def _decoded(table):
    """``table`` with its dictionary columns decoded (row groups keep dictionaries each)."""
    return pa.table(
        [pc.cast(table[f.name], f.type.value_type) if pa.types.is_dictionary(f.type)
         else table[f.name] for f in table.schema],
        names=table.column_names,
    )  # fmt: skip


def _assert_same_answers(got, want):
    for name in TABLES:
        assert getattr(got, name).schema == getattr(want, name).schema, name
        assert _decoded(getattr(got, name)).equals(_decoded(getattr(want, name))), name
    assert lk.classify(got).equals(lk.classify(want))
    for level in ("procedure", "payer", "encounter"):
        assert lk.balances(got, level=level).equals(lk.balances(want, level=level))


@pytest.mark.parametrize("row_group", [None, 7, 64])
def test_a_folder_of_plain_strings_answers_as_the_ledger(tmp_path, row_group):
    ledger = lk.synth.generate(150, seed=3)
    ledger = ledger.negate(ledger.entries["entry_id"].to_pylist()[-3:], actor="t", note="x")
    ledger = _shuffled(ledger, 2)
    folder = _as_another_tool_writes(ledger, tmp_path / "p", row_group)
    stored = pq.ParquetFile(folder / "entries.parquet").schema_arrow
    assert stored.field("kind").type == pa.string()
    back = lk.Ledger.from_parquet(folder)
    assert back.keys.entry_order is not None  # shuffled entries: grouped by the keys
    part = back._tables["entries"]
    assert {"posted_at", "note", "remit_ref", "actor"}.isdisjoint(part.read.column_names)
    _assert_same_answers(back, ledger)


@settings(max_examples=15)
@given(random_ledgers(), st.sampled_from([None, 2, 5]))
def test_random_ledgers_of_plain_strings_read_as_from_arrow(tmp_path_factory, ledger, group):
    folder = _as_another_tool_writes(_shuffled(ledger, 5), tmp_path_factory.mktemp("s"), group)
    back = lk.Ledger.from_parquet(folder)
    want = lk.Ledger.from_arrow(**{n: pq.read_table(folder / f"{n}.parquet") for n in TABLES})
    _assert_same_answers(back, want)
    for name in ("entry_proc", "proc_entry_start", "entry_seq", "amounts", "entry_live"):
        np.testing.assert_array_equal(getattr(back.keys, name), getattr(want.keys, name))


def test_plain_strings_that_break_a_rule_are_refused_on_opening(tmp_path):
    ledger = lk.synth.generate(200, seed=4)
    folder = _as_another_tool_writes(ledger, tmp_path / "nulls", row_group_size=25)
    cpt = pc.cast(ledger.procedures["cpt"], pa.string()).to_pylist()
    cpt[30] = None  # a required code column, read later: its null is found on opening
    procedures = _decoded(_with(ledger.procedures, "cpt", pa.array(cpt, pa.string())))
    pq.write_table(procedures, folder / "procedures.parquet", row_group_size=25)
    with pytest.raises(LedgerError, match=r"procedures row 30, column 'cpt': null in a req"):
        lk.Ledger.from_parquet(folder)
    # more places of service than its int8 codes hold: refused, no value quoted
    folder = _as_another_tool_writes(ledger, tmp_path / "many", row_group_size=25)
    n = ledger.encounters.num_rows
    secret = [f"POS-SECRET-{i}" for i in range(n)]
    encounters = _decoded(_with(ledger.encounters, "place_of_service", pa.array(secret)))
    pq.write_table(encounters, folder / "encounters.parquet", row_group_size=100,
                   store_schema=False)  # fmt: skip
    assert n > 127  # (each row group's dictionary fits: the whole column does not)
    with pytest.raises(LedgerError, match="encounters, column 'place_of_service'") as err:
        lk.Ledger.from_parquet(folder)
    assert "SECRET" not in str(err.value)
