"""The Arrow boundary: Arrow columns in, numpy arrays out, offsets honoured.

Every conversion from Arrow to numpy goes through here, so the rules are kept
in one place: combine chunks (``to_numpy`` honours each chunk's offset), never
turn a nullable int column into float, dictionary-encode strings into dense
integer codes against a known value set.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["int_array", "codes_in", "dictionary_codes", "as_table"]


def int_array(column: pa.ChunkedArray | pa.Array, dtype=np.int64) -> np.ndarray:
    """A non-null integer column as a numpy array (zero-copy for one chunk).

    Raises ``ValueError`` when the column holds nulls: callers validate first.
    """
    if isinstance(column, pa.ChunkedArray):
        if column.null_count:
            raise ValueError("column has nulls")
        if column.num_chunks == 1:
            out = column.chunk(0).to_numpy(zero_copy_only=False)
        elif column.num_chunks == 0:
            out = np.empty(0, dtype=column.type.to_pandas_dtype())
        else:
            out = np.concatenate([c.to_numpy(zero_copy_only=False) for c in column.chunks])
    else:
        if column.null_count:
            raise ValueError("column has nulls")
        out = column.to_numpy(zero_copy_only=False)
    return out.astype(dtype, copy=False)


def codes_in(column: pa.ChunkedArray, value_set: pa.Array) -> np.ndarray:
    """Positions of each value of ``column`` in ``value_set`` (int64, -1 when absent).

    Works on plain and dictionary-encoded string columns. ``pc.index_in``
    hashes the whole value set on every call, so this makes exactly one call
    for the whole column: over the distinct dictionary values, or over the
    heads of runs of equal adjacent values (ledger tables are usually grouped
    by encounter, so 10+ entries in a row share an encounter id).
    """
    value_set = _plain(value_set)
    if isinstance(column, pa.Array):
        column = pa.chunked_array([column])
    if column.num_chunks == 0 or len(column) == 0:
        return np.empty(0, np.int64)
    if pa.types.is_dictionary(column.type):
        unified = column.unify_dictionaries()
        dictionary = unified.chunk(0).dictionary
        dict_pos = pc.index_in(dictionary, value_set=value_set).fill_null(-1)
        dict_pos = np.append(dict_pos.to_numpy(zero_copy_only=False).astype(np.int64), -1)
        idx = np.concatenate(
            [c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in unified.chunks]
        ).astype(np.int64)
        return dict_pos[idx]  # a null index (-1) picks the appended -1
    chunks, heads = [], []
    start = 0
    for chunk in column.chunks:
        n = len(chunk)
        if n == 0:
            continue
        h = np.zeros(1, np.int64)
        if n > 1:
            differs = pc.not_equal(chunk.slice(1), chunk.slice(0, n - 1)).fill_null(True)
            h = np.concatenate([h, np.flatnonzero(differs.to_numpy(zero_copy_only=False)) + 1])
        chunks.append(chunk.take(pa.array(h)))
        heads.append(h + start)
        start += n
    heads = np.concatenate(heads)
    head_values = pa.chunked_array(chunks).combine_chunks()
    if len(head_values) == len(value_set) and pc.all(pc.equal(head_values, value_set)).as_py():
        # Grouped like the value set (the usual ledger layout): no hashing at all.
        return np.repeat(np.arange(len(heads), dtype=np.int64), np.diff(np.append(heads, start)))
    head_pos = pc.index_in(head_values, value_set=value_set).fill_null(-1)
    head_pos = head_pos.to_numpy(zero_copy_only=False).astype(np.int64)
    return np.repeat(head_pos, np.diff(np.append(heads, start)))


def dictionary_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list]:
    """Dense int32 codes and the list of distinct values (nulls get code -1)."""
    unified = column.unify_dictionaries() if pa.types.is_dictionary(column.type) else None
    if unified is not None and unified.num_chunks:
        values = unified.chunk(0).dictionary.to_pylist()
        codes = np.concatenate(
            [c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in unified.chunks]
        ).astype(np.int32)
        return codes, values
    encoded = pc.dictionary_encode(column).combine_chunks()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
    return codes, encoded.dictionary.to_pylist()


def as_table(data) -> pa.Table:
    """Accept a pyarrow Table, RecordBatch, dict of columns, list of row dicts or a frame."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, dict):
        return pa.table(data)
    if isinstance(data, list) and all(isinstance(row, dict) for row in data):
        return pa.Table.from_pylist(data)
    if hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    if hasattr(data, "to_arrow"):
        return data.to_arrow()
    raise TypeError(
        f"expected a pyarrow.Table (or a dict of columns / a DataFrame), got {type(data).__name__}"
    )


def _plain(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return arr
