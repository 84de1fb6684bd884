"""Tables made fit for CSV: list columns joined, dictionaries decoded.

CSV has no lists, so ``lk.root_causes``' ``monthly_cents`` (one figure per
month) becomes ``"0;0;57000"``: the same cents, in order, ``;``-separated.
Parquet keeps lists as they are.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["flatten", "write_table", "LIST_SEPARATOR"]

LIST_SEPARATOR = ";"


def _joined(col: pa.ChunkedArray) -> pa.Array:
    values = col.to_pylist()
    return pa.array(
        [
            None if v is None else LIST_SEPARATOR.join("" if x is None else str(x) for x in v)
            for v in values
        ],
        pa.string(),
    )


def flatten(table: pa.Table) -> pa.Table:
    """``table`` with every list column joined into text and dictionaries decoded.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"carc": ["16"], "monthly_cents": [[0, 57000, 19000]]})
    >>> flatten(t).to_pylist()
    [{'carc': '16', 'monthly_cents': '0;57000;19000'}]
    """
    for i, field in enumerate(table.schema):
        t = field.type
        if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
            table = table.set_column(i, field.name, _joined(table[field.name]))
        elif pa.types.is_dictionary(t):
            table = table.set_column(i, field.name, pc.cast(table[field.name], t.value_type))
    return table


def write_table(table: pa.Table, path) -> Path:
    """Write ``table`` as CSV (lists flattened) or Parquet, by the file's suffix.

    Examples
    --------
    >>> import tempfile, pyarrow as pa
    >>> t = pa.table({"monthly_cents": [[1, 2]]})
    >>> write_table(t, Path(tempfile.mkdtemp()) / "t.csv").read_text().splitlines()
    ['"monthly_cents"', '"1;2"']
    """
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        pacsv.write_csv(flatten(table), path)
    elif suffix == ".parquet":
        pq.write_table(table, path)
    else:
        raise ValueError(f"{path.name}: write .csv or .parquet, not {suffix or 'no suffix'!r}")
    return path
