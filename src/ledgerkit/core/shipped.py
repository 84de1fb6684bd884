"""Reading the CSV tables shipped inside the package (``ledgerkit/core/data``)."""

from __future__ import annotations

from importlib import resources

import pyarrow as pa


def read_shipped_csv(name: str, column_types: dict[str, pa.DataType]) -> pa.Table:
    """The shipped table ``ledgerkit/core/data/<name>``, read by Arrow from its path.

    Arrow is given the file's path, never a Python file object: reading a Python
    file leaves Python-owned buffers in Arrow's I/O threads, and when one of them is
    released after the interpreter began to exit, the process aborts
    ("terminate called without an active exception").

    Examples
    --------
    >>> read_shipped_csv("carc_policy.csv", {"carc": pa.string()}).column_names[:2]
    ['group_code', 'carc']
    """
    import pyarrow.csv as pacsv

    shipped = resources.files("ledgerkit.core").joinpath("data", name)
    with resources.as_file(shipped) as path:
        return pacsv.read_csv(
            str(path), convert_options=pacsv.ConvertOptions(column_types=column_types)
        )
