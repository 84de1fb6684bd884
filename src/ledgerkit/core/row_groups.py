"""Columns of a ledger read in parts: one Parquet row group at a time.

``Ledger.column`` reads a whole column of a table still in its Parquet folder: one
buffer of every row (at 10M procedures the entries' ``posted_at`` is ~390 MB), touched
once, converted and dropped. Callers that reduce a column to a smaller array of their
own (a day number, a validity flag, a dictionary code) read it here instead, a row group
at a time, so that only a row group's worth of Arrow memory is ever fresh (Arrow's pool
hands the same pages to the next row group). A column the ledger holds already (a table
in memory, or a column ``Ledger.from_parquet`` read for its checks: ``held_column``) is
never read again.

This module is not part of what the keys sidecar depends on (``sidecar._CODE``): it
reads columns, it computes no keys and decides no validity beyond ``conform``.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ledgerkit.core.arrow import _computable, _smallest_code_type, numpy_array, valid_array
from ledgerkit.core.compute import pc
from ledgerkit.core.schema import arrow_schema
from ledgerkit.core.validate import conform
from ledgerkit.errors import LedgerError

__all__ = [
    "in_memory",
    "read_in_parts",
    "dictionary_codes_of_parts",
    "column_array",
    "held_column",
    "valid_flags",
]


def in_memory(ledger, table: str) -> bool:
    """True when ``table`` of ``ledger`` is held in memory (not still in its file)."""
    return isinstance(ledger._tables[table], pa.Table)


def held_column(ledger, table: str, column: str) -> pa.ChunkedArray | None:
    """``column`` of ``table`` when the ledger holds it already (its table in memory, or
    read with the columns ``Ledger.from_parquet`` checks), conformed; else None (it is
    still only in the file).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> held_column(lk.synth.generate(3, seed=1), "entries", "negates").null_count
    20
    """
    held = ledger._tables[table]
    if isinstance(held, pa.Table):
        return held[column]
    read = getattr(held, "read", None)  # a PartTable: the columns read at opening
    if read is not None and column in read.column_names:
        return held.column(column)
    return None


def read_in_parts(ledger, table: str, columns: list[str], *, ahead: int = 2) -> Iterator[pa.Table]:
    """``columns`` of ``table`` as consecutive tables of rows, conformed like the whole
    table: the held table itself when it is in memory, else one table per Parquet row
    group, ``ahead`` row groups decoded at once by as many threads (a row group's
    columns decode on one thread each, so one wide column keeps one core busy).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(3, seed=1)
    >>> sum(part.num_rows for part in read_in_parts(ledger, "entries", ["posted_at"]))
    20
    """
    held = ledger._tables[table]
    if isinstance(held, pa.Table):
        yield held.select(columns)
        return
    path = held.folder / f"{held.name}.parquet"
    ahead = max(ahead, 1)  # 0 would read nothing

    def read(group: int) -> pa.Table:
        parquet = pq.ParquetFile(path, memory_map=True)  # one per read: no shared reader
        return parquet.read_row_group(
            group, columns=columns, use_threads=False, use_pandas_metadata=False
        )

    try:
        meta = pq.ParquetFile(path, memory_map=True).metadata
        if meta.num_rows != held.num_rows:
            raise LedgerError(f"{path}: changed since the ledger was opened")
        groups = iter(range(meta.num_row_groups))
        with ThreadPoolExecutor(ahead) as pool:
            pending = deque(pool.submit(read, g) for g in itertools.islice(groups, ahead))
            while pending:
                part = pending.popleft().result()
                following = next(groups, None)
                if following is not None:
                    pending.append(pool.submit(read, following))
                yield conform(part, held.name, columns)
    except (OSError, pa.ArrowException) as exc:
        raise LedgerError(f"{path}: cannot be read any more ({exc})") from None


def valid_flags(ledger, table: str, column: str) -> np.ndarray:
    """True where ``column`` of ``table`` is not null, in row order: one bool array from
    the validity bitmaps of the column held already (:func:`held_column`), else filled
    a row group at a time (the values decoded a row group at a time and dropped).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(3, seed=1)
    >>> int(valid_flags(ledger, "entries", "negates").sum())
    0
    """
    held = held_column(ledger, table, column)
    if held is not None:
        return valid_array(held)
    out = np.empty(ledger._tables[table].num_rows, np.bool_)
    start = 0
    for part in read_in_parts(ledger, table, [column]):
        m = part.num_rows
        out[start : start + m] = valid_array(part[column])
        start += m
    return out


def column_array(ledger, table: str, column: str, dtype=None) -> np.ndarray:
    """A number column of ``table`` as one numpy array, in row order.

    A column still only in its Parquet file is read a row group at a time into the one
    array (a whole-column read held an Arrow buffer of every row besides the array); a
    column held already (:func:`held_column`) is converted as ``core.arrow.numpy_array``
    does (zero-copy for one chunk).

    Parameters
    ----------
    ledger : Ledger
    table, column : str
        A column of integers (or floats).
    dtype : numpy dtype, optional
        The array's type (default: the column's own).

    Raises
    ------
    LedgerError
        The column holds nulls or is not numbers (naming the table and column), or
        the file changed since the ledger was opened.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(3, seed=1)
    >>> column_array(ledger, "procedures", "line").tolist()
    [1, 2, 1, 2, 1]
    """
    held = ledger._tables[table]
    schema = held.schema if isinstance(held, pa.Table) else arrow_schema(table)
    if column not in schema.names:
        raise LedgerError(f"{table} has no column {column!r}")
    typ = schema.field(column).type
    if not (pa.types.is_integer(typ) or pa.types.is_floating(typ)):
        raise LedgerError(f"{table}.{column}: {typ} is not a number column")
    values = held_column(ledger, table, column)
    if values is not None:
        _refuse_nulls(values, table, column, 0)
        return numpy_array(values) if dtype is None else numpy_array(values, dtype=dtype)
    out = np.empty(held.num_rows, typ.to_pandas_dtype() if dtype is None else dtype)
    start = 0
    for part in read_in_parts(ledger, table, [column]):
        values = part[column]
        _refuse_nulls(values, table, column, start)
        for chunk in values.chunks:
            out[start : start + len(chunk)] = numpy_array(chunk)
            start += len(chunk)
    return out


def _refuse_nulls(values: pa.ChunkedArray, table: str, column: str, first_row: int) -> None:
    if values.null_count:
        row = first_row + int(np.argmin(valid_array(values)))
        raise LedgerError(f"{table} row {row}, column {column!r}: null where a number is needed")


def dictionary_codes_of_parts(chunks, n: int) -> tuple[np.ndarray, list]:
    """``core.arrow.dictionary_codes(column, smallest=True)`` of a column given as its
    ``chunks`` (``n`` rows in all), which may be read one at a time and dropped.

    The values are in order of first appearance across the chunks' dictionaries (as
    ``unify_dictionaries`` orders them; a plain chunk is dictionary-encoded first), the
    codes int8, int16 or int32 (the narrowest for that many values), -1 for null.

    Examples
    --------
    >>> import pyarrow as pa
    >>> parts = [pa.array(["b", None, "a"]).dictionary_encode(), pa.array(["a", "c"])]
    >>> codes, values = dictionary_codes_of_parts(parts, 5)
    >>> codes.tolist(), values
    ([0, -1, 1, 1, 2], ['b', 'a', 'c'])
    """
    values: list = []
    position: dict = {}
    out = np.empty(n, _smallest_code_type(0))
    start = 0
    for chunk in chunks:
        computable = _computable(pa.chunked_array([chunk], chunk.type))
        if computable.type != chunk.type:  # string views: read as strings
            chunk = computable.combine_chunks()
        if not pa.types.is_dictionary(chunk.type):
            chunk = pc.dictionary_encode(chunk)
        dictionary = chunk.dictionary.to_pylist()
        lookup = np.empty(len(dictionary) + 1, np.int64)
        for k, value in enumerate(dictionary):
            code = position.get(value)
            if code is None:
                code = position[value] = len(values)
                values.append(value)
            lookup[k] = code
        lookup[-1] = -1  # null rows
        wanted = _smallest_code_type(len(values))
        if np.dtype(wanted).itemsize > out.dtype.itemsize:
            out = out.astype(wanted)  # more values than the narrow type holds: widen
        m = len(chunk)
        indices = pc.fill_null(chunk.indices, len(dictionary)).to_numpy(zero_copy_only=False)
        out[start : start + m] = lookup[indices]
        start += m
    if start != n:
        raise ValueError(f"dictionary_codes_of_parts: {start} rows in the parts, {n} expected")
    return out, values
