"""What the X12 readers read: bytes, a file, a folder's files or a list of them, one by one.

``read_835`` and ``read_837`` take the same sources and treat a bad file the
same way (``on_error="raise"`` stops, ``"skip"`` lists it and goes on); they
differ only in the file suffixes a folder is searched for.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ledgerkit.x12.errors import X12Error

__all__ = ["source_files", "read_sources"]


def source_files(source, suffixes: tuple[str, ...]) -> list:
    """The files of ``source`` in reading order (bytes stay bytes).

    A folder gives its files whose suffix (lower case) is in ``suffixes``,
    sorted by name, hidden files left out; a list is read item by item.

    Examples
    --------
    >>> source_files(b"ST*835*1~", (".835",))
    [b'ST*835*1~']
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return [source]
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            return sorted(
                f
                for f in path.iterdir()
                if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in suffixes
            )
        return [path]
    if isinstance(source, (list, tuple)):
        out = []
        for s in source:
            out.extend(source_files(s, suffixes))
        return out
    raise TypeError(
        f"source must be a path, a folder, a list of paths or bytes, not {type(source).__name__}"
    )


def read_sources(
    source, suffixes: tuple[str, ...], read_one: Callable, on_error: str
) -> tuple[list, list[tuple[str, str]]]:
    """``read_one(bytes as uint8 array, name)`` of every file of ``source``.

    Returns the results and the skipped files ``(name, error)``: with
    ``on_error="skip"`` a file raising :class:`X12Error` is skipped, with
    ``"raise"`` the error propagates.

    Raises
    ------
    ValueError
        ``on_error`` is not ``"raise"`` or ``"skip"``.
    FileNotFoundError
        A path that is not a file.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
    parts, skipped = [], []
    for f in source_files(source, suffixes):
        if isinstance(f, (bytes, bytearray, memoryview)):
            name, buf = "<bytes>", np.frombuffer(bytes(f), np.uint8)
        else:
            name = str(f)
            if not Path(f).is_file():
                raise FileNotFoundError(f"{name}: no such file")
            buf = np.fromfile(f, dtype=np.uint8)
        try:
            parts.append(read_one(buf, name))
        except X12Error as e:
            if on_error == "raise":
                raise
            skipped.append((name, str(e)))
    return parts, skipped
