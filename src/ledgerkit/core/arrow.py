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
    hashes the whole value set on every call, so this makes at most one call
    for the whole column: over the distinct dictionary values, or over the
    heads of runs of equal adjacent values (ledger tables are usually grouped
    by encounter, so 10+ entries in a row share an encounter id). A chunk whose
    run heads are the value set's next values in order (a ledger written
    grouped, then appended to) needs no hashing at all.
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
            differs = pc.not_equal(chunk.slice(1), chunk.slice(0, n - 1)).fill_null(True)
            heads = np.append(heads, np.flatnonzero(differs.to_numpy(zero_copy_only=False)) + 1)
        lengths = np.diff(np.append(heads, n))
        head_values = chunk.take(pa.array(heads))
        at = _aligned_at(head_values, value_set, (expect, expect - 1))
        if at is None:
            to_hash.append((offset, lengths, head_values))
        else:
            out[offset : offset + n] = np.repeat(np.arange(at, at + len(heads)), lengths)
            expect = at + len(heads)
        offset += n
    if to_hash:
        heads = pa.concat_arrays([h for _, _, h in to_hash])
        pos = pc.index_in(heads, value_set=value_set).fill_null(-1)
        pos = pos.to_numpy(zero_copy_only=False).astype(np.int64)
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
