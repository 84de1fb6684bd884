"""``pyarrow.compute``, imported on its first use rather than with ``ledgerkit.core``.

Importing ``pyarrow.compute`` wraps every Arrow compute function in Python (about 0.05 s
of a 0.9 s cold ``classify`` of a 1M-procedure Parquet folder), and reading a folder
with its keys sidecar and classifying it calls none of them. The modules of ``core``
take :data:`pc` from here: the same functions, looked up in ``pyarrow.compute`` the
first time each is used.

Examples
--------
>>> import pyarrow as pa
>>> from ledgerkit.core.compute import pc
>>> pc.sum(pa.array([1, 2, 3])).as_py()
6
"""

from __future__ import annotations

__all__ = ["pc"]


class _OnFirstUse:
    """Stands for ``pyarrow.compute``: the first look-up of a name imports it."""

    def __getattr__(self, name: str):
        import pyarrow.compute

        value = getattr(pyarrow.compute, name)
        setattr(self, name, value)  # later look-ups skip __getattr__
        return value

    def __repr__(self) -> str:
        return "<pyarrow.compute, imported on first use>"


pc = _OnFirstUse()
