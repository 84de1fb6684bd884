"""Every way a ledger arrives (polars, pandas, DuckDB, any Arrow string flavour)
reads as the same ledger and classifies the same."""

from __future__ import annotations

import duckdb
import polars as pl
import pyarrow as pa
import pytest

import ledgerkit as lk
from ledgerkit.scale.partitioning import partition_of

TABLES = ("encounters", "procedures", "entries", "payers")


@pytest.fixture(scope="module")
def ledger():
    return lk.synth.generate(150, seed=7)


@pytest.fixture(scope="module")
def classes(ledger):
    return lk.classify(ledger)


def tables_of(ledger) -> dict[str, pa.Table]:
    return {name: getattr(ledger, name) for name in TABLES}


def assert_same_ledger(tables, ledger, classes):
    again = lk.Ledger.from_arrow(**tables)
    for name in TABLES:
        got, want = getattr(again, name), getattr(ledger, name)
        assert got.schema.equals(want.schema), name
        assert got.to_pylist() == want.to_pylist(), name
    assert lk.classify(again).equals(classes)


def test_a_polars_frame(ledger, classes):
    frames = {k: pl.from_arrow(t) for k, t in tables_of(ledger).items()}
    assert_same_ledger(frames, ledger, classes)


def test_a_pandas_round_trip(ledger, classes):
    tables = {
        k: pa.Table.from_pandas(t.to_pandas(), preserve_index=False)
        for k, t in tables_of(ledger).items()
    }
    assert_same_ledger(tables, ledger, classes)


def test_a_pandas_frame(ledger, classes):
    frames = {k: t.to_pandas() for k, t in tables_of(ledger).items()}
    assert_same_ledger(frames, ledger, classes)


def test_a_duckdb_relation(ledger, classes):
    con = duckdb.connect()
    relations = {}
    for k, t in tables_of(ledger).items():
        con.register(f"{k}_view", t)
        relations[k] = con.sql(f"select * from {k}_view")
    assert_same_ledger(relations, ledger, classes)


def _recast(table: pa.Table, flavour) -> pa.Table:
    """Every string column of ``table`` re-typed as ``flavour`` (a function of a column)."""
    columns = []
    for name in table.column_names:
        column = table[name].combine_chunks()
        typ = column.type
        if pa.types.is_dictionary(typ):
            column = column.dictionary_decode()
            typ = column.type
        columns.append(flavour(column) if pa.types.is_string(typ) else table[name])
    return pa.table(dict(zip(table.column_names, columns, strict=True)))


def _dictionary(index_type):
    def encode(column):
        encoded = column.dictionary_encode()
        return encoded.cast(pa.dictionary(index_type, pa.string()))

    return encode


FLAVOURS = {
    "large_string": lambda c: c.cast(pa.large_string()),
    "string_view": lambda c: c.cast(pa.string_view()),
    "dictionary<int8>": _dictionary(pa.int8()),
    "dictionary<int16>": _dictionary(pa.int16()),
    "dictionary<int64>": _dictionary(pa.int64()),
    "dictionary<uint32, string_view>": lambda c: pa.DictionaryArray.from_arrays(
        c.dictionary_encode().indices.cast(pa.uint32()),
        c.dictionary_encode().dictionary.cast(pa.string_view()),
    ),
}


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
def test_every_string_flavour(ledger, classes, flavour):
    # int8 dictionaries cannot index the many encounter ids: those stay plain.
    def fits(column):
        small = flavour == "dictionary<int8>" and len(column.unique()) > 127
        return column if small else FLAVOURS[flavour](column)

    tables = {k: _recast(t, fits) for k, t in tables_of(ledger).items()}
    assert_same_ledger(tables, ledger, classes)


def test_an_all_null_dictionary_column(ledger, classes):
    entries = ledger.entries
    i = entries.column_names.index("rarc")
    if entries["rarc"].null_count != len(entries):
        pytest.skip("the synthetic ledger has RARCs")
    nulls = pa.DictionaryArray.from_arrays(pa.nulls(len(entries), pa.int8()), pa.nulls(0))
    tables = tables_of(ledger) | {"entries": entries.set_column(i, "rarc", nulls)}
    assert_same_ledger(tables, ledger, classes)


def test_a_whole_float_column_is_an_integer_but_money_in_floats_is_refused(ledger):
    entries = ledger.entries
    i = entries.column_names.index("amount_cents")
    floats = entries.set_column(i, "amount_cents", entries["amount_cents"].cast(pa.float64()))
    with pytest.raises(lk.LedgerError, match="int64 cents"):
        lk.Ledger.from_arrow(**(tables_of(ledger) | {"entries": floats}))
    j = entries.column_names.index("line")
    halves = pa.array([0.5] * len(entries))
    with pytest.raises(lk.LedgerError, match="must be an integer"):
        lk.Ledger.from_arrow(
            **(tables_of(ledger) | {"entries": entries.set_column(j, "line", halves)})
        )


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
def test_partitions_of_every_string_flavour(ledger, flavour):
    ids = ledger.encounters["encounter_id"].combine_chunks()[:100]  # an int8 dictionary's worth
    want = partition_of(ids, 7).tolist()
    assert partition_of(FLAVOURS[flavour](ids), 7).tolist() == want


# --- issue #18: what other tools hand over (a pandas round trip of a column with no
# RARC at all, DuckDB's Arrow results) ---
def _without_rarcs(ledger) -> dict[str, pa.Table]:
    entries = ledger.entries
    i = entries.column_names.index("rarc")
    nulls = pa.nulls(len(entries), entries.schema.field("rarc").type)
    return tables_of(ledger) | {"entries": entries.set_column(i, "rarc", nulls)}


def test_a_pandas_round_trip_of_an_all_null_rarc_column(ledger):
    tables = _without_rarcs(ledger)
    want = lk.Ledger.from_arrow(**tables)
    round_trip = {
        k: pa.Table.from_pandas(t.to_pandas(), preserve_index=False) for k, t in tables.items()
    }
    # what pandas gives back for a categorical with no value: a dictionary of nulls
    assert round_trip["entries"].schema.field("rarc").type == pa.dictionary(pa.int8(), pa.null())
    assert_same_ledger(round_trip, want, lk.classify(want))
    assert_same_ledger({k: t.to_pandas() for k, t in tables.items()}, want, lk.classify(want))


@pytest.mark.parametrize("method", ["arrow", "to_arrow_table"])
def test_duckdb_arrow_results(ledger, classes, method):
    results = {}
    for k, t in tables_of(ledger).items():
        con = duckdb.connect()  # one connection per result: a reader keeps its query open
        con.register("t", t)
        results[k] = getattr(con.sql("select * from t"), method)()
    if method == "arrow":  # duckdb >= 1.4 hands over a RecordBatchReader
        assert isinstance(results["entries"], pa.RecordBatchReader | pa.Table)
    assert_same_ledger(results, ledger, classes)
