"""The Arrow boundary: Arrow columns in, numpy arrays out, offsets honoured.

Every conversion from Arrow to numpy goes through here, so the rules are kept
in one place: combine chunks (``to_numpy`` honours each chunk's offset), never
turn a nullable int column into float (callers say what a null becomes),
read strings of every Arrow flavour (``string``, ``large_string``,
``string_view``, dictionaries with any index type, a dictionary of nulls) the
same way, dictionary-encode strings into dense integer codes, and count days
from one epoch.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from ledgerkit.core.compute import pc
from ledgerkit.errors import LedgerError

__all__ = [
    "EPOCH",
    "US_PER_DAY",
    "arrow_array",
    "arrow_strings",
    "as_date",
    "as_table",
    "bool_array",
    "codes_in",
    "dates_of",
    "day_number",
    "day_numbers",
    "dictionary_codes",
    "encode",
    "int_array",
    "is_string_like",
    "numpy_array",
    "plain",
    "string_buffers",
    "strings_at",
    "dictionary_indices",
    "timestamp_chunks",
    "utc_timestamp",
    "valid_array",
]

EPOCH = dt.date(1970, 1, 1)
"""Day 0 of every day number (Arrow's ``date32`` counts from here too)."""

US_PER_DAY = 86_400_000_000
"""Microseconds in a day: a ``timestamp[us]`` divided by this is its day number."""


# --------------------------------------------------------------------- numbers
def numpy_array(column, *, fill=None, dtype=None) -> np.ndarray:
    """A number or boolean column (Array or ChunkedArray) as a numpy array.

    Parameters
    ----------
    column : pyarrow.Array or pyarrow.ChunkedArray
        Integers, floats, booleans or dates (dates read as their day numbers'
        numpy ``datetime64``, as Arrow gives them).
    fill : scalar, optional
        What a null becomes. Without it a column with nulls reads the way
        Arrow reads it (integers become floats with NaN): pass ``fill`` for
        nullable integer columns.
    dtype : numpy dtype, optional
        Return a writable copy of that dtype (as ``ndarray.astype`` does).

    Returns
    -------
    numpy.ndarray
        Without ``dtype``, zero-copy (read-only) for a null-free chunk of numbers.
    """
    if isinstance(column, pa.ChunkedArray):
        if column.num_chunks == 1:
            out = _chunk_numpy(column.chunk(0), fill)
        elif column.num_chunks == 0:
            out = _chunk_numpy(pa.nulls(0, column.type), fill)
        else:
            out = np.concatenate([_chunk_numpy(c, fill) for c in column.chunks])
    else:
        out = _chunk_numpy(column, fill)
    return out if dtype is None else out.astype(dtype)


def _chunk_numpy(chunk: pa.Array, fill=None) -> np.ndarray:
    """One chunk as numpy; numbers and booleans straight from the buffers (pyarrow's
    ``to_numpy`` and ``fill_null`` import pandas on their first call: 0.2-0.5 s of a
    fresh process's first answer)."""
    typ, n = chunk.type, len(chunk)
    number = pa.types.is_integer(typ) or pa.types.is_floating(typ)
    boolean = pa.types.is_boolean(typ)
    if (number or boolean) and (chunk.null_count == 0 or fill is not None):
        if n == 0:
            return np.empty(0, bool if boolean else _NUMPY_TYPES[typ])
        if number:
            data = np.frombuffer(chunk.buffers()[1], _NUMPY_TYPES[typ])
            data = data[chunk.offset : chunk.offset + n]
        else:
            data = _bits(chunk.buffers()[1], chunk.offset, n)
        if chunk.null_count:
            data = np.where(_bits(chunk.buffers()[0], chunk.offset, n), data, fill)
        return data
    if fill is not None and chunk.null_count:
        chunk = pc.fill_null(chunk, fill)
    return chunk.to_numpy(zero_copy_only=False)


def _bits(buffer, offset: int, n: int) -> np.ndarray:
    """``n`` bits of an Arrow bitmap from bit ``offset`` as a numpy bool array."""
    if n == 0:
        return np.zeros(0, bool)
    first, skip = divmod(offset, 8)
    raw = np.frombuffer(buffer, np.uint8, count=(skip + n + 7) // 8, offset=first)
    return np.unpackbits(raw, count=skip + n, bitorder="little")[skip:].view(bool)


def bool_array(mask) -> np.ndarray:
    """A boolean Arrow column (or a numpy array, passed through) as numpy; null is False."""
    if isinstance(mask, np.ndarray):
        return mask
    return numpy_array(mask, fill=False)


def valid_array(column) -> np.ndarray:
    """True where ``column`` is not null, as a numpy bool array (from the validity
    bitmaps)."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = []
    for c in chunks:
        if c.null_count == 0:
            parts.append(np.ones(len(c), bool))
        elif c.null_count == len(c) or c.buffers()[0] is None:  # e.g. a null-type column
            parts.append(numpy_array(c.is_valid()))
        else:
            parts.append(_bits(c.buffers()[0], c.offset, len(c)))
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.zeros(0, bool)


def int_array(column: pa.ChunkedArray | pa.Array, dtype=np.int64) -> np.ndarray:
    """A non-null integer column as a numpy array (zero-copy for one chunk).

    Raises ``ValueError`` when the column holds nulls: callers validate first.
    """
    if column.null_count:
        raise ValueError("column has nulls")
    return numpy_array(column).astype(dtype, copy=False)


_NUMPY_TYPES = {
    pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32, pa.int64(): np.int64,
    pa.uint8(): np.uint8, pa.uint16(): np.uint16, pa.uint32(): np.uint32,
    pa.uint64(): np.uint64, pa.float32(): np.float32, pa.float64(): np.float64,
    pa.float16(): np.float16,
}  # fmt: skip

_ARROW_TYPES = {
    np.dtype(t): a
    for t, a in (
        (np.int8, pa.int8()), (np.int16, pa.int16()), (np.int32, pa.int32()),
        (np.int64, pa.int64()), (np.uint8, pa.uint8()), (np.float64, pa.float64()),
    )
}  # fmt: skip


def arrow_array(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """A numpy number or bool array as an Arrow array, null where ``mask`` is True.

    The same as ``pa.array(values, mask=mask)`` without its first-call import of pandas
    (about 0.15 s, a fifth of a fresh process's first ``classify``). Numbers are shared
    zero-copy when contiguous.

    Examples
    --------
    >>> arrow_array(np.array([1, 2, 3]), mask=np.array([False, True, False])).to_pylist()
    [1, None, 3]
    """
    values = np.ascontiguousarray(values)
    n = len(values)
    validity = None
    if mask is not None and mask.any():
        validity = pa.py_buffer(np.packbits(~np.asarray(mask, bool), bitorder="little"))
    if values.dtype == np.bool_:
        data = pa.py_buffer(np.packbits(values, bitorder="little"))
        return pa.Array.from_buffers(pa.bool_(), n, [validity, data])
    return pa.Array.from_buffers(_ARROW_TYPES[values.dtype], n, [validity, pa.py_buffer(values)])


def arrow_strings(values) -> pa.Array:
    """A short sequence of ``str`` as an Arrow ``string`` array (no pandas import)."""
    encoded = [v.encode() for v in values]
    offsets = np.zeros(len(encoded) + 1, np.int32)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    data = pa.py_buffer(b"".join(encoded))
    return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets), data])


def dictionary_indices(chunk: pa.DictionaryArray, null: int) -> np.ndarray:
    """The indices of one dictionary chunk as numpy, ``null`` where the row is null
    (read from the buffers: no filled copy of the column on the Arrow side)."""
    indices = chunk.indices
    n = len(indices)
    dtype = _NUMPY_TYPES[indices.type]
    out = np.frombuffer(indices.buffers()[1], dtype)[indices.offset : indices.offset + n]
    if indices.null_count:
        bits = np.unpackbits(np.frombuffer(indices.buffers()[0], np.uint8), bitorder="little")
        out = np.where(bits[indices.offset : indices.offset + n].astype(bool), out, null)
    return out


def strings_at(column, rows: np.ndarray) -> pa.Array:
    """The values of ``column`` (strings, dictionary-coded or not) at ``rows``, as
    ``string``: taken chunk by chunk, so chunks with dictionaries of their own (Parquet's
    row groups) are not unified first."""
    if isinstance(column, pa.Array):
        column = pa.chunked_array([column])
    rows = np.asarray(rows, np.int64)
    order = np.argsort(rows, kind="stable")
    parts, start = [], 0
    for chunk in column.chunks:
        end = start + len(chunk)
        lo, hi = np.searchsorted(rows[order], [start, end])
        if hi > lo:
            parts.append(plain(chunk.take(arrow_array(rows[order][lo:hi] - start))))
        start = end
    taken = pa.concat_arrays(parts) if parts else arrow_strings([])
    return taken.take(arrow_array(np.argsort(order, kind="stable")))


def codes_in(column: pa.ChunkedArray, value_set: pa.Array) -> np.ndarray:
    """Positions of each value of ``column`` in ``value_set`` (int64, -1 when absent).

    Works on plain and dictionary-encoded string columns. ``pc.index_in``
    hashes the whole value set on every call, so this makes at most one call
    for the whole column: over the distinct dictionary values, or over the
    heads of runs of equal adjacent values (ledger tables are usually grouped
    by encounter, so 10+ entries in a row share an encounter id). A chunk whose
    run heads are the value set's next values in order (a ledger written
    grouped, then appended to) needs no hashing at all.
    """
    value_set = plain(value_set)
    if isinstance(column, pa.Array):
        column = pa.chunked_array([column])
    column = _computable(column)
    if column.num_chunks == 0 or len(column) == 0:
        return np.empty(0, np.int64)
    if pa.types.is_dictionary(column.type):
        chunks = [c for c in column.chunks if len(c)]
        if sum(len(c.dictionary) for c in chunks) <= len(column):
            # A dictionary per chunk (Parquet's per row group, read with read_dictionary):
            # the dictionaries of a grouped table are runs of the value set in order, so
            # looking them up chained, as a column of their own, hashes nothing.
            dicts = pa.chunked_array([c.dictionary for c in chunks], column.type.value_type)
            dict_pos = codes_in(dicts, value_set)
            out, at, d = np.empty(len(column), np.int64), 0, 0
            for c in chunks:
                lut = np.append(dict_pos[d : d + len(c.dictionary)], -1)  # null: last
                out[at : at + len(c)] = lut.take(dictionary_indices(c, len(lut) - 1), mode="clip")
                at, d = at + len(c), d + len(c.dictionary)
            return out
        unified = column.unify_dictionaries()
        dictionary = unified.chunk(0).dictionary
        dict_pos = pc.index_in(dictionary, value_set=value_set).fill_null(-1)
        dict_pos = np.append(numpy_array(dict_pos, dtype=np.int64), -1)
        idx = np.concatenate(
            [c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in unified.chunks]
        ).astype(np.int64)
        return dict_pos[idx]  # a null index (-1) picks the appended -1
    out = np.empty(len(column), np.int64)
    to_hash = []  # (offset in out, run lengths, run heads) of chunks not aligned
    offset = 0
    expect = 0  # where the previous aligned chunk's runs ended in value_set
    for chunk in column.chunks:
        n = len(chunk)
        if n == 0:
            continue
        heads = np.zeros(1, np.int64)
        if n > 1:
            differs = numpy_array(pc.not_equal(chunk.slice(1), chunk.slice(0, n - 1)), fill=True)
            heads = np.append(heads, np.flatnonzero(differs) + 1)
        lengths = np.diff(np.append(heads, n))
        head_values = chunk.take(arrow_array(heads))
        at = _aligned_at(head_values, value_set, (expect, expect - 1))
        if at is None:
            to_hash.append((offset, lengths, head_values))
        else:
            out[offset : offset + n] = np.repeat(np.arange(at, at + len(heads)), lengths)
            expect = at + len(heads)
        offset += n
    if to_hash:
        heads = pa.concat_arrays([h for _, _, h in to_hash])
        pos = numpy_array(pc.index_in(heads, value_set=value_set), fill=-1, dtype=np.int64)
        i = 0
        for at, lengths, h in to_hash:
            out[at : at + int(lengths.sum())] = np.repeat(pos[i : i + len(h)], lengths)
            i += len(h)
    return out


def _aligned_at(heads: pa.Array, value_set: pa.Array, starts) -> int | None:
    """The start ``s`` (of ``starts``) with ``heads == value_set[s:s + len(heads)]``."""
    k = len(heads)
    if heads.null_count:
        return None
    for s in starts:
        if s < 0 or s + k > len(value_set) or heads[0] != value_set[s]:
            continue
        if pc.all(pc.equal(heads, value_set.slice(s, k))).as_py():
            return s
    return None


def encode(column, *, null_code: int | None = -1) -> tuple[np.ndarray, pa.Array]:
    """Dense int32 codes of a column and the distinct values they index.

    Parameters
    ----------
    column : pyarrow.Array or pyarrow.ChunkedArray
        Any hashable type. A dictionary column keeps its (unified) dictionary's
        order, which may hold values no row uses; any other column is coded in
        order of first appearance.
    null_code : int or None
        The code of a null row (default -1). ``None`` gives null a code of its
        own, in order of first appearance, with a null among the values.

    Returns
    -------
    codes : numpy.ndarray of int32
    values : pyarrow.Array
    """
    if isinstance(column, pa.Array):
        column = pa.chunked_array([column])
    column = _computable(column)
    if pa.types.is_dictionary(column.type) and null_code is not None:
        unified = column.unify_dictionaries()
        if unified.num_chunks:
            return _dictionary_indices(unified, null_code), unified.chunk(0).dictionary
    if null_code is None:
        column = plain(column)
        encoded = pc.dictionary_encode(column, null_encoding="encode")
    else:
        encoded = pc.dictionary_encode(column).combine_chunks()
    codes = numpy_array(encoded.indices, fill=null_code, dtype=np.int32)
    return codes, encoded.dictionary


def _dictionary_indices(column: pa.ChunkedArray, null_code: int, dtype=np.int32) -> np.ndarray:
    """The indices of a (unified) dictionary column, ``null_code`` where null, written
    chunk by chunk into one ``dtype`` array (no fill_null copy, no concatenation)."""
    out = np.empty(len(column), dtype)
    start = 0
    for chunk in column.chunks:
        indices = chunk.indices
        m = len(indices)
        if not m:
            continue
        segment = out[start : start + m]
        start += m
        validity, data = indices.buffers()[:2]
        lo = indices.offset
        dtype = np.dtype(indices.type.to_pandas_dtype())
        segment[:] = np.frombuffer(data, dtype, count=lo + m)[lo:]
        if indices.null_count:
            bits = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")
            segment[bits[lo : lo + m] == 0] = null_code
    return out


def dictionary_codes(column, *, smallest: bool = False) -> tuple[np.ndarray, list]:
    """Dense int32 codes and the list of distinct values (nulls get code -1).

    ``smallest``: the codes as int8, int16 or int32, the narrowest that holds every
    value's code (fewer than 127, 32,767 values); for per-entry codes kept in memory.
    """
    if smallest:
        column = pa.chunked_array([column]) if isinstance(column, pa.Array) else column
        column = _computable(column)
        if pa.types.is_dictionary(column.type):
            unified = column.unify_dictionaries()
            if unified.num_chunks:
                values = unified.chunk(0).dictionary
                dtype = _smallest_code_type(len(values))
                return _dictionary_indices(unified, -1, dtype), values.to_pylist()
        codes, values = encode(column)
        return codes.astype(_smallest_code_type(len(values)), copy=False), values.to_pylist()
    codes, values = encode(column)
    return codes, values.to_pylist()


def _smallest_code_type(n_values: int):
    if n_values < 127:
        return np.int8
    return np.int16 if n_values < 32_767 else np.int32


def as_table(data) -> pa.Table:
    """Accept a pyarrow Table, RecordBatch, dict of columns, list of row dicts or a frame."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, dict):
        return pa.table(data)
    if isinstance(data, list) and all(isinstance(row, dict) for row in data):
        # every row's keys, not only the first row's (pa.Table.from_pylist would drop a
        # column the first row lacks); a row without a key gets a null there
        names = list(dict.fromkeys(name for row in data for name in row))
        return pa.table({name: [row.get(name) for row in data] for name in names})
    if hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    if hasattr(data, "to_arrow"):
        return data.to_arrow()
    raise TypeError(
        f"expected a pyarrow.Table (or a dict of columns / a DataFrame), got {type(data).__name__}"
    )


# --------------------------------------------------------------------- strings
def _computable(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """``column`` with the string flavours Arrow's kernels cannot take or look up
    (``string_view``, dictionaries of views or of nulls) read as ``string``, chunk by chunk."""
    typ = column.type
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
        if not (pa.types.is_string_view(typ) or pa.types.is_null(typ)):
            return column
    elif not pa.types.is_string_view(typ):
        return column
    chunks = [plain(chunk) for chunk in column.chunks]
    return pa.chunked_array([c.cast(pa.string()) for c in chunks], pa.string())


def is_string_like(typ: pa.DataType) -> bool:
    """True for every Arrow string flavour, dictionary-encoded or not (or all null)."""
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    return (
        pa.types.is_string(typ)
        or pa.types.is_large_string(typ)
        or pa.types.is_string_view(typ)
        or pa.types.is_null(typ)
    )


def string_buffers(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The int64 offsets (``len + 1``) and UTF-8 bytes of one string chunk, for kernels.

    The bytes are zero-copy; offsets index into them (the chunk's own offset
    applied). Other string flavours are read as ``string`` first.
    """
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = plain(column)
    width = np.int64 if pa.types.is_large_string(column.type) else np.int32
    n = len(column)
    if n == 0:
        return np.zeros(1, np.int64), np.zeros(1, np.uint8)
    _, offsets_buf, data_buf = column.buffers()[:3]
    offsets = np.frombuffer(offsets_buf, width)[column.offset : column.offset + n + 1]
    data = np.frombuffer(data_buf, np.uint8) if data_buf is not None else np.zeros(1, np.uint8)
    return offsets.astype(np.int64), data


def string_views(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """:func:`string_buffers` without the copy: the offsets in the array's own width
    (int32, or int64 for ``large_string``), both zero-copy views, for kernels that
    read either width.

    Examples
    --------
    >>> offsets, data = string_views(pa.array(["ab", "c"]).slice(1))
    >>> offsets.tolist(), bytes(data[offsets[0] : offsets[1]])
    ([2, 3], b'c')
    """
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = plain(column)
    if len(column) == 0:
        return string_buffers(column)
    width = np.int64 if pa.types.is_large_string(column.type) else np.int32
    _, offsets_buf, data_buf = column.buffers()[:3]
    offsets = np.frombuffer(offsets_buf, width)[column.offset : column.offset + len(column) + 1]
    data = np.frombuffer(data_buf, np.uint8) if data_buf is not None else np.zeros(1, np.uint8)
    return offsets, data


def plain(column) -> pa.Array:
    """One chunk, dictionary decoded, strings of any flavour as ``string``.

    Every other type comes back as it is (one chunk). A dictionary of nulls
    (pandas' all-null categorical) decodes to a ``null`` array.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        if pa.types.is_string_view(column.type.value_type):  # Arrow cannot take from views
            column = pa.DictionaryArray.from_arrays(
                column.indices, column.dictionary.cast(pa.string())
            )
        column = column.dictionary_decode()
    if pa.types.is_large_string(column.type) or pa.types.is_string_view(column.type):
        column = column.cast(pa.string())
    return column


# --------------------------------------------------------------------- dates
def as_date(value, name: str = "as_of") -> dt.date:
    """A date, a datetime (its date) or an ISO string (its first 10 characters) as a date.

    ``name`` is the argument's name in the error for anything else: a
    :class:`LedgerError` for a string that is not an ISO date, a ``TypeError``
    for another type.

    Examples
    --------
    >>> as_date("2025-06-30T10:00")
    datetime.date(2025, 6, 30)
    >>> as_date("30/06/2025")
    Traceback (most recent call last):
    ...
    ledgerkit.errors.LedgerError: as_of: '30/06/2025' is not a date in ISO format; write \
year-month-day, e.g. '2025-06-30'
    """
    if isinstance(value, str):
        value = _iso(dt.date.fromisoformat, value[:10], value, name)
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        raise TypeError(f"{name} must be a date, datetime or ISO string, got {value!r}")
    return value


def day_number(value, name: str = "as_of") -> int:
    """Days since :data:`EPOCH` of a date, datetime or ISO string (see :func:`as_date`).

    Examples
    --------
    >>> day_number("1970-01-31"), day_number(dt.datetime(1970, 1, 2, 23, 59))
    (30, 1)
    """
    return (as_date(value, name) - EPOCH).days


def day_numbers(column, dtype=np.int32) -> np.ndarray:
    """Days since :data:`EPOCH` of a non-null ``date32`` or ``timestamp`` column.

    A timestamp's day is its UTC calendar day (floor division, so instants
    before 1970 fall on the right day too).
    """
    if pa.types.is_timestamp(column.type):
        if column.type.unit != "us":
            column = column.cast(pa.timestamp("us", column.type.tz))
        days = int_array(column.cast(pa.int64()), np.int64) // US_PER_DAY
        return days.astype(dtype, copy=False)
    return int_array(column.cast(pa.int32()), dtype)


def timestamp_chunks(column) -> list[np.ndarray]:
    """The int64 microseconds since the epoch of a non-null ``timestamp`` column, one
    numpy array per chunk (zero-copy for ``timestamp[us]``), for kernels that read
    them chunk by chunk instead of one concatenated copy."""
    if isinstance(column, pa.Array):
        column = pa.chunked_array([column])
    if column.null_count:
        raise ValueError("timestamp column has nulls")
    if column.type.unit != "us":
        column = column.cast(pa.timestamp("us", column.type.tz))
    column = column.cast(pa.int64())
    return [c.to_numpy(zero_copy_only=False) for c in column.chunks if len(c)]


def dates_of(days, mask=None) -> pa.Array:
    """A ``date32`` array of day numbers since :data:`EPOCH` (null where ``mask``)."""
    return pa.array(np.asarray(days, np.int32), pa.date32(), mask=mask)


def utc_timestamp(timestamp, name: str = "as_of") -> dt.datetime:
    """A point in time as an aware UTC datetime, for comparing with ``posted_at``.

    Parameters
    ----------
    timestamp : datetime, date or str
        A ``date`` means the end of that day; an ISO string is read by
        ``datetime.fromisoformat`` (so ``"2025-03-01"`` is midnight); a naive
        datetime is taken as UTC.
    name : str
        The argument's name in the :class:`LedgerError` for a string that is
        not an ISO date or date-time.

    Returns
    -------
    datetime.datetime
        Timezone-aware.

    Examples
    --------
    >>> utc_timestamp(dt.date(2025, 3, 1))
    datetime.datetime(2025, 3, 1, 23, 59, 59, 999999, tzinfo=datetime.timezone.utc)
    >>> utc_timestamp("2025-03-01")
    datetime.datetime(2025, 3, 1, 0, 0, tzinfo=datetime.timezone.utc)
    """
    if isinstance(timestamp, str):
        timestamp = _iso(dt.datetime.fromisoformat, timestamp, timestamp, name)
    if isinstance(timestamp, dt.date) and not isinstance(timestamp, dt.datetime):
        timestamp = dt.datetime.combine(timestamp, dt.time.max)
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=dt.UTC)
    return timestamp


def _iso(parse, text: str, given: str, name: str):
    """``parse(text)``, or a LedgerError saying which format a date string must have."""
    try:
        return parse(text)
    except ValueError:
        raise LedgerError(
            f"{name}: {given!r} is not a date in ISO format; write year-month-day, "
            "e.g. '2025-06-30'"
        ) from None
