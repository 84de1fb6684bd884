"""The Arrow boundary (core/arrow) against plain Python: codes_in, codes, strings of
every Arrow flavour, numbers with offsets and chunks, string buffers, day numbers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerkit.core.arrow import (
    EPOCH,
    US_PER_DAY,
    bool_array,
    codes_in,
    day_number,
    dictionary_codes,
    encode,
    numpy_array,
    plain,
    string_buffers,
    utc_timestamp,
    valid_array,
)

NAMES = [f"E{i:03d}" for i in range(12)]


def reference(chunks, value_set):
    where = {v: i for i, v in enumerate(value_set)}
    return [where.get(v, -1) if v is not None else -1 for chunk in chunks for v in chunk]


@st.composite
def columns(draw):
    """A value set, and chunks mixing aligned runs (as a grouped ledger is written),
    runs that continue across a chunk boundary, unknown values, nulls and shuffles."""
    value_set = draw(st.lists(st.sampled_from(NAMES), unique=True, min_size=1))
    runs = [v for v in value_set for _ in range(draw(st.integers(1, 3)))]
    chunks = []
    while runs:
        k = draw(st.integers(1, len(runs)))
        chunks.append(runs[:k])
        runs = runs[k:]
    for _ in range(draw(st.integers(0, 3))):
        extra = st.one_of(st.sampled_from(NAMES), st.none(), st.just("unknown"))
        chunks.insert(draw(st.integers(0, len(chunks))), draw(st.lists(extra, min_size=1)))
    return chunks, value_set


@given(columns(), st.booleans())
def test_codes_in_equals_a_dictionary_lookup(case, as_dictionary):
    chunks, value_set = case
    arrays = [pa.array(c, pa.string()) for c in chunks]
    if as_dictionary:
        arrays = [a.dictionary_encode() for a in arrays]
    got = codes_in(pa.chunked_array(arrays), pa.array(value_set, pa.string()))
    assert got.tolist() == reference(chunks, value_set)


def test_codes_in_of_nothing():
    empty = pa.chunked_array([], pa.string())
    assert codes_in(empty, pa.array(["a"])).tolist() == []


# --------------------------------------------------------------------- flavours
def _dictionary(index_type, value_type=pa.string()):
    def make(array):
        encoded = array.dictionary_encode()
        return pa.DictionaryArray.from_arrays(
            encoded.indices.cast(index_type), encoded.dictionary.cast(value_type)
        )

    return make


FLAVOURS = {
    "string": lambda a: a,
    "large_string": lambda a: a.cast(pa.large_string()),
    "string_view": lambda a: a.cast(pa.string_view()),
    "dictionary<int8>": _dictionary(pa.int8()),
    "dictionary<int16>": _dictionary(pa.int16()),
    "dictionary<int32>": _dictionary(pa.int32()),
    "dictionary<int64>": _dictionary(pa.int64()),
    "dictionary<uint32, string_view>": _dictionary(pa.uint32(), pa.string_view()),
    "dictionary<int16, large_string>": _dictionary(pa.int16(), pa.large_string()),
}
STRINGS = st.one_of(st.none(), st.sampled_from(NAMES), st.text(max_size=3))


@st.composite
def string_columns(draw):
    """Chunks of strings (sliced, so offsets are not 0) in one of every Arrow flavour."""
    flavour = draw(st.sampled_from(sorted(FLAVOURS)))
    chunks, arrays = [], []
    for _ in range(draw(st.integers(0, 3))):
        values = draw(st.lists(STRINGS, max_size=8))
        skip = draw(st.integers(0, len(values)))
        arrays.append(FLAVOURS[flavour](pa.array(values, pa.string())).slice(skip))
        chunks.append(values[skip:])
    typ = FLAVOURS[flavour](pa.array([], pa.string())).type
    return [v for c in chunks for v in c], pa.chunked_array(arrays, typ), flavour


def first_seen(values):
    """Codes in order of first appearance (null -1) and the distinct values."""
    seen = {}
    codes = [-1 if v is None else seen.setdefault(v, len(seen)) for v in values]
    return codes, list(seen)


@given(string_columns())
def test_plain_reads_every_flavour_as_string(case):
    values, column, _ = case
    out = plain(column)
    assert out.type == pa.string()
    assert out.to_pylist() == values


@given(string_columns(), st.lists(st.sampled_from(NAMES), unique=True))
def test_codes_in_any_flavour_equals_a_dictionary_lookup(case, value_set):
    values, column, _ = case
    got = codes_in(column, pa.array(value_set, pa.string()))
    assert got.tolist() == reference([values], value_set)


@given(string_columns())
def test_dictionary_codes_decode_to_the_column(case):
    values, column, flavour = case
    codes, distinct = dictionary_codes(column)
    assert codes.dtype == np.int32
    assert [None if c < 0 else distinct[c] for c in codes.tolist()] == values
    assert len(set(distinct)) == len(distinct)
    if not flavour.startswith("dictionary"):
        assert (codes.tolist(), distinct) == first_seen(values)


@given(string_columns())
def test_encode_with_a_code_for_null(case):
    values, column, _ = case
    codes, distinct = encode(column, null_code=None)
    distinct = distinct.to_pylist()
    assert [distinct[c] for c in codes.tolist()] == values
    seen = list(dict.fromkeys(values))  # null included, in order of first appearance
    assert distinct == seen


def test_a_dictionary_of_nulls_reads_as_nulls():
    column = pa.chunked_array(
        [pa.DictionaryArray.from_arrays(pa.nulls(3, pa.int8()), pa.nulls(0))]
    )
    assert plain(column).to_pylist() == [None] * 3
    assert codes_in(column, pa.array(["a"])).tolist() == [-1] * 3
    codes, values = dictionary_codes(column)
    assert codes.tolist() == [-1] * 3 and values == []


# --------------------------------------------------------------------- numbers
INTS = st.one_of(st.none(), st.integers(-(2**62), 2**62))


@st.composite
def int_columns(draw):
    chunks, arrays = [], []
    for _ in range(draw(st.integers(0, 3))):
        values = draw(st.lists(INTS, max_size=8))
        skip = draw(st.integers(0, len(values)))
        arrays.append(pa.array(values, pa.int64()).slice(skip))
        chunks.append(values[skip:])
    return [v for c in chunks for v in c], pa.chunked_array(arrays, pa.int64())


@given(int_columns(), st.booleans())
def test_numbers_with_nulls_filled(case, combined):
    values, column = case
    if combined:
        column = column.combine_chunks()
    got = numpy_array(column, fill=-7)
    assert got.tolist() == [-7 if v is None else v for v in values]
    assert valid_array(column).tolist() == [v is not None for v in values]
    if not column.null_count:
        assert numpy_array(column, dtype=np.int32).dtype == np.int32


@given(st.lists(st.one_of(st.none(), st.booleans()), max_size=12), st.integers(0, 4))
def test_booleans_read_null_as_false(values, skip):
    mask = pa.array(values, pa.bool_()).slice(skip)
    assert bool_array(mask).tolist() == [bool(v) for v in values[skip:]]


@given(st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=8), st.integers(0, 4))
def test_string_buffers_hold_each_string(values, skip):
    for typ in (pa.string(), pa.large_string(), pa.string_view()):
        chunk = pa.array(values, pa.string()).cast(typ).slice(skip)
        offsets, data = string_buffers(chunk)
        assert offsets.dtype == np.int64 and len(offsets) == len(chunk) + 1
        got = [bytes(data[offsets[i] : offsets[i + 1]]).decode() for i in range(len(chunk))]
        assert got == [v or "" for v in values[skip:]]


# --------------------------------------------------------------------- dates
@given(st.dates(dt.date(1900, 1, 1), dt.date(2200, 12, 31)))
def test_day_numbers(day):
    want = day.toordinal() - dt.date(1970, 1, 1).toordinal()
    assert day_number(day) == want
    assert day_number(day.isoformat()) == want
    assert day_number(dt.datetime.combine(day, dt.time(23, 59))) == want
    assert day_number(day.isoformat() + "T10:00:00") == want
    stamp = pa.scalar(dt.datetime.combine(day, dt.time(12)), pa.timestamp("us"))
    assert stamp.cast(pa.int64()).as_py() // US_PER_DAY == want
    assert EPOCH + dt.timedelta(days=want) == day


def test_day_number_refuses_what_is_not_a_date():
    with pytest.raises(TypeError, match="today must be a date"):
        day_number(20240101, "today")


def test_utc_timestamp():
    assert utc_timestamp("2025-03-01T10:00") == dt.datetime(2025, 3, 1, 10, tzinfo=dt.UTC)
    end = utc_timestamp(dt.date(2025, 3, 1))
    assert end == dt.datetime(2025, 3, 1, 23, 59, 59, 999999, tzinfo=dt.UTC)
    aware = dt.datetime(2025, 3, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert utc_timestamp(aware) is aware
