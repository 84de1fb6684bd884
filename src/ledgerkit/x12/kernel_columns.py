"""Kernel output (offset and value arrays over a file's bytes) into Arrow arrays.

Shared by the 835 and 837 readers (``read``, ``read_claims``): string columns
gathered in one pass per table, number rows as Arrow arrays without a copy,
and the salted person keys (the same pseudonym for the same person and salt
in both readers).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa

from ledgerkit._kernels.x12 import (
    float_validity_nb,
    gather_strings_nb,
    gather_table_nb,
    person_keys_nb,
    span_offsets_nb,
    table_offsets_nb,
    validity_nb,
)
from ledgerkit._kernels.x12 import layout as k
from ledgerkit.x12.tables import NullArrays, validity_bitmap

__all__ = ["string_columns", "number_column", "person_keys", "whole_block"]

NULL = k.NULL


def _large_strings(buf, s, e) -> pa.Array:  # pragma: no cover - a >2 GB column of one file
    n = len(s)
    offsets = np.empty(n + 1, np.int64)
    valid = np.empty(n, np.bool_)
    total = span_offsets_nb(s, e, offsets, valid)
    data = np.empty(max(total, 1), np.uint8)
    gather_strings_nb(buf, s, e, offsets, data)
    bitmap, n_null = validity_bitmap(valid)
    arr = pa.Array.from_buffers(
        pa.large_string(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)], n_null
    )
    return arr.cast(pa.string())


def whole_block(a: np.ndarray) -> np.ndarray:
    """The C-contiguous block a row-sliced kernel array (``arr[:, :n]``) views, else a copy.

    Kernels get the whole block and ``n``: slices of different lengths would
    each need their own compiled variant (contiguous or not).
    """
    b = a.base
    if (
        isinstance(b, np.ndarray)
        and b.ndim == 2
        and b.flags.c_contiguous
        and b.shape[0] == a.shape[0]
        and b.dtype == a.dtype
        and a.ctypes.data == b.ctypes.data
    ):
        return b
    return np.ascontiguousarray(a)


def string_columns(
    buf, spans, fields, nulls: NullArrays, present=None, seps=None, sep_rows=None
) -> dict:
    """String fields of one kernel span array as Arrow arrays, by field.

    One pass over the file per table (see ``gather_table_nb``); the columns'
    bytes share one buffer, and so do their offsets and bitmaps. ``seps`` (an
    int array of the kernel with one column per row) gives per-row bytes to
    write as ':' for the fields whose ``sep_rows`` entry (a row of ``seps``)
    is >= 0. All-null columns are shared null arrays; fields the parser never
    wrote (``present[f] == 0``, when given) are not even read.
    """
    n = spans.shape[1]
    fields = list(fields)
    if n == 0:
        return {f: nulls(0, pa.string()) for f in fields}
    out = {}
    if present is not None:
        out = {f: nulls(n, pa.string()) for f in fields if present[f] == 0}
    if seps is not None:
        sep_rows = [r for f, r in zip(fields, sep_rows, strict=True) if f not in out]
    fields = np.array([f for f in fields if f not in out], np.int64)
    nf = len(fields)
    if nf == 0:
        return out
    whole = whole_block(spans)
    offsets = np.empty((nf, n + 1), np.int32)
    bits = np.zeros((nf, (n + 7) // 8), np.uint8)
    n_null = np.empty(nf, np.int64)
    totals = np.empty(nf, np.int64)
    rows = np.empty(nf, np.int64)
    table_offsets_nb(whole, n, fields, offsets, bits, n_null, totals, rows)
    if totals.max(initial=0) >= 2**31 - 1:  # pragma: no cover - a >2 GB column of one file
        return {int(f): _large_strings(buf, spans[2 * f], spans[2 * f + 1]) for f in fields}
    # 8 spare bytes after each field: the kernel copies 8 bytes at a time
    bases = np.zeros(nf, np.int64)
    np.cumsum(totals[:-1] + 8, out=bases[1:])
    data = np.empty(int(totals.sum()) + 8 * nf, np.uint8)
    if seps is None:
        seps = np.zeros((1, 1), whole.dtype)
        sep_rows = np.full(nf, -1, np.int64)
    else:
        seps = whole_block(seps)
    # only the fields that hold a value are gathered: an all-null field would still cost
    # a look at its spans on every row (lines: 25 -> 10 ms on a 50 MB file)
    held = rows >= 0
    gather_table_nb(
        buf, whole, n, fields[held], rows[held], bases[held], seps,
        np.asarray(sep_rows, np.int64)[held], offsets, data,
    )  # fmt: skip
    for j in range(nf):
        r, nn = int(rows[j]), int(n_null[j])
        if r < 0:
            out[int(fields[j])] = nulls(n, pa.string())
            continue
        b0 = int(bases[j])
        bitmap = pa.py_buffer(bits[r]) if nn else None
        part = data[b0 : b0 + max(int(totals[j]), 1)]
        out[int(fields[j])] = pa.Array.from_buffers(
            pa.string(), n, [bitmap, pa.py_buffer(offsets[r]), pa.py_buffer(part)],
            null_count=nn,
        )  # fmt: skip
    return out


def number_column(values: np.ndarray, typ, nulls: NullArrays, present: int = -1) -> pa.Array:
    """A row of a kernel number array as an Arrow array of ``typ``, without a copy.

    Absent values (see the layouts in ``_kernels/x12/layout.py``: NULL in int64 rows,
    NULL32 in int32 rows, 0 in date rows, +0.0 in float rows) become nulls, with
    0 written under them; dates lose their bias. The array keeps the kernel's
    block alive: the blocks hold only the table's columns and a few small rows.
    ``present`` (the kernel's count of values written, -1 unknown): 0 means the
    row was never written, and it is not even read.
    """
    n = len(values)
    if present == 0 and n:
        return nulls(n, typ)
    bits = np.empty((n + 7) // 8, np.uint8)
    if values.dtype.kind == "f":
        n_null = float_validity_nb(values.view(np.int64), bits)
    elif typ == pa.date32():
        n_null = validity_nb(values, 0, k.DATE_BIAS, bits)
    else:
        n_null = validity_nb(values, NULL if typ == pa.int64() else k.NULL32, 0, bits)
    if n_null == n and n:
        return nulls(n, typ)
    np_type = {pa.int64(): np.int64, pa.float64(): np.float64}.get(typ, np.int32)
    if values.dtype != np_type:  # pragma: no cover - a file of 2 GB or more
        values = values.astype(np_type)
    bitmap = pa.py_buffer(bits) if n_null else None
    return pa.Array.from_buffers(typ, n, [bitmap, pa.py_buffer(values)], null_count=n_null)


def _salt_keys(salt) -> np.ndarray:
    if isinstance(salt, str):
        salt = salt.encode()
    digest = hashlib.blake2b(bytes(salt), digest_size=32, person=b"ledgerkit-x12").digest()
    return np.frombuffer(digest, dtype="<u8").copy()


def person_keys(buf: np.ndarray, spans: np.ndarray, salt, first: int = 0) -> pa.Array:
    """Pseudonyms ("LK" + 24 hex digits) of the people in ``spans`` (see the kernel).

    The person's five fields are span fields ``first .. first + 4`` of ``spans``.
    ``salt=None`` gives null keys, except for ids that are already keys.
    """
    n = spans.shape[1]
    out = np.zeros(26 * n, np.uint8)
    bits = np.zeros((n + 7) // 8, np.uint8)
    keys = _salt_keys(salt) if salt is not None else np.zeros(4, np.uint64)
    n_null = person_keys_nb(
        buf, whole_block(spans), 2 * first, 5, 4, keys, salt is not None, out, bits
    )
    if n_null == n and n:
        return pa.nulls(n, pa.string())
    offsets = np.arange(0, 26 * (n + 1), 26, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(),
        n,
        [pa.py_buffer(bits) if n_null else None, pa.py_buffer(offsets),
         pa.py_buffer(out)],
        null_count=n_null,
    )  # fmt: skip
