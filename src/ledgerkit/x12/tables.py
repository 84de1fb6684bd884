"""Building the tables of :class:`Remittances` from columns, in their schemas.

Shared by ``read_835`` and by everything else that makes remittances without
reading a file (``ledgerkit.synth``, the store): schema order and null columns,
the derived columns of claims and lines, and the findings table.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit._kernels.x12.layout import NULL  # an absent value in an int64 column
from ledgerkit.x12.remittances import derived_columns, schema

__all__ = [
    "NullArrays",
    "findings_table",
    "arrow_ints",
    "table_from_columns",
    "validity_bitmap",
    "with_derived_columns",
]


def validity_bitmap(valid: np.ndarray):
    """(Arrow validity buffer, null count) of a boolean array; no buffer without nulls."""
    n_null = int(len(valid) - np.count_nonzero(valid))
    if n_null == 0:
        return None, 0
    return pa.py_buffer(np.packbits(valid, bitorder="little")), n_null


class NullArrays(dict):
    """All-null arrays by (length, type), shared by the columns of one build."""

    def __call__(self, n: int, typ) -> pa.Array:
        a = self.get((n, typ))
        if a is None:
            a = self[(n, typ)] = pa.nulls(n, typ)
        return a


def arrow_ints(values: np.ndarray, typ=pa.int64()) -> pa.Array:
    """Kernel ints (``NULL`` = absent) as a new Arrow array of ``typ`` (nulls where absent).

    Examples
    --------
    >>> arrow_ints(np.array([5, NULL])).to_pylist()
    [5, None]
    """
    bitmap, n_null = validity_bitmap(values != NULL)
    if n_null == len(values) and n_null:
        return pa.nulls(n_null, typ)
    np_type = {pa.int64(): np.int64, pa.int32(): np.int32, pa.date32(): np.int32}[typ]
    data = (
        values.astype(np_type)
        if n_null == 0
        else np.where(values == NULL, 0, values).astype(np_type, copy=False)
    )
    return pa.Array.from_buffers(typ, len(values), [bitmap, pa.py_buffer(data)], null_count=n_null)


def table_from_columns(name: str, cols: dict, nulls: NullArrays | None = None) -> pa.Table:
    """Table ``name`` of the Remittances schema from ``cols`` (by column name).

    Columns not in ``cols`` are null; the length is that of the first column
    given (0 without any).

    Examples
    --------
    >>> t = table_from_columns("remarks", {"claim_id": pa.array([0], pa.int32())})
    >>> t.num_rows, t.column("code").null_count
    (1, 1)
    """
    sch = schema(name)
    n = len(next(iter(cols.values()))) if cols else 0
    nulls = NullArrays() if nulls is None else nulls
    arrays = []
    for f in sch:
        a = cols.get(f.name)
        if a is None:
            a = nulls(n, f.type)
        arrays.append(a)
    return pa.Table.from_arrays(arrays, schema=sch)


def with_derived_columns(claims: pa.Table, line_cols: dict, adjustments: pa.Table):
    """Claims and service lines with their computed columns filled in.

    ``claims`` is a claims table, ``line_cols`` the columns of its service
    lines; ``patient_responsibility_cents`` and ``allowed_cents`` (claims) and
    ``allowed_cents`` (lines) are computed from them and ``adjustments`` (see
    :func:`ledgerkit.x12.remittances.derived_columns`). Returns
    ``(claims, lines)``.
    """
    lines = table_from_columns("service_lines", line_cols)
    d = derived_columns(claims, lines, adjustments)
    ci = claims.schema.get_field_index("patient_responsibility_cents")
    claims = claims.set_column(ci, claims.schema.field(ci), pa.array(d["claim_pr"]))
    ci = claims.schema.get_field_index("allowed_cents")
    claims = claims.set_column(ci, claims.schema.field(ci), pa.array(d["claim_allowed"]))
    li = lines.schema.get_field_index("allowed_cents")
    lines = lines.set_column(li, lines.schema.field(li), arrow_ints(d["line_allowed"]))
    return claims, lines


def findings_table(file: str, rows: list) -> pa.Table:
    """The findings table of ``file`` from rows of (segment, segment id, element, code,
    transaction, claim, line, difference, message); negative ids become null."""
    if not rows:
        return schema("findings").empty_table()
    cols = list(zip(*rows, strict=True))
    seg, sid, elem, code, tx, cl, li, diff, msg = cols

    def opt(v):
        return None if v is None or v < 0 else v

    return pa.Table.from_arrays(
        [
            pa.array([file] * len(rows), pa.string()),
            pa.array(list(seg), pa.int64()),
            pa.array(list(sid), pa.string()),
            pa.array([opt(e) for e in elem], pa.int32()),
            pa.array(list(code), pa.string()),
            pa.array([opt(v) for v in tx], pa.int32()),
            pa.array([opt(v) for v in cl], pa.int32()),
            pa.array([opt(v) for v in li], pa.int32()),
            pa.array(list(diff), pa.int64()),
            pa.array(list(msg), pa.string()),
        ],
        schema=schema("findings"),
    )
