"""The entries' columns the derived data reads, in row order, as numpy arrays.

A table still in its Parquet file is read a row group at a time into arrays allocated
once (``core.row_groups``): at 10M procedures a whole-column read of ``posted_at`` or
``negates`` allocated ~390 MB of Arrow buffers that were touched once and dropped. A
table held in memory is converted as it is. Internal to ``analytics``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._kernels.entry_codes import floor_days_nb
from ledgerkit.core.arrow import US_PER_DAY, timestamp_chunks, valid_array
from ledgerkit.core.row_groups import dictionary_codes_of_parts, held_column, read_in_parts

__all__ = ["days_of", "days_and_negations", "entry_payer_codes", "latest_posting_day"]


def days_of(posted_at: pa.ChunkedArray) -> np.ndarray:
    """int32 day numbers (days since 1970-01-01) of a timestamp column."""
    return days_into(posted_at, np.empty(len(posted_at), np.int32))


def days_into(posted_at: pa.ChunkedArray, out: np.ndarray) -> np.ndarray:
    """Write the day numbers of ``posted_at`` into ``out``: one parallel pass per chunk
    (numpy's int64 floor division took three)."""
    start = 0
    for us in timestamp_chunks(posted_at):
        floor_days_nb(us, US_PER_DAY, out[start : start + len(us)])
        start += len(us)
    return out


def days_and_negations(
    ledger, *, day: np.ndarray | None = None, negation: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Row-order posting day (int32) of every entry and, with ``negation``, its
    negation flag (``negates`` not null).

    A column the ledger holds already (``row_groups.held_column``: ``from_parquet``
    reads ``negates`` for its checks) is converted as it is; the others are read in one
    pass over the entries' row groups. ``day`` given (read before) is returned as is.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> day, negation = days_and_negations(lk.synth.generate(3, seed=1))
    >>> day.dtype.name, len(day), int(negation.sum())
    ('int32', 20, 0)
    """
    if day is None:
        posted_at = held_column(ledger, "entries", "posted_at")
        if posted_at is not None:
            day = days_of(posted_at)
    flags = None
    if negation:
        negates = held_column(ledger, "entries", "negates")
        if negates is not None:
            flags = valid_array(negates)
    read_day, read_flags = day is None, negation and flags is None
    names = (["negates"] if read_flags else []) + (["posted_at"] if read_day else [])
    if not names:
        return day, flags
    n = len(ledger.keys.entry_kind)
    if read_day:
        day = np.empty(n, np.int32)
    if read_flags:
        flags = np.empty(n, np.bool_)
    start = 0
    for part in read_in_parts(ledger, "entries", names):
        m = part.num_rows
        if read_day:
            days_into(part["posted_at"], day[start : start + m])
        if read_flags:
            flags[start : start + m] = valid_array(part["negates"])
        start += m
    return day, flags


def entry_payer_codes(ledger) -> tuple[np.ndarray, list]:
    """(payer code of every entry in row order, payer values): the entries' payer_id
    read a row group at a time, coded as ``dictionary_codes(..., smallest=True)``."""
    n = len(ledger.keys.entry_kind)
    chunks = (
        chunk
        for part in read_in_parts(ledger, "entries", ["payer_id"])
        for chunk in part["payer_id"].chunks
    )
    return dictionary_codes_of_parts(chunks, n)


def latest_posting_day(ledger) -> int | None:
    """Day number of the latest ``posted_at`` of the entries (None without entries),
    the column read a row group at a time.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(3, seed=1)
    >>> latest_posting_day(ledger) == int(days_and_negations(ledger)[0].max())
    True
    """
    latest = None
    for part in read_in_parts(ledger, "entries", ["posted_at"]):
        us = pc.max(part["posted_at"].cast(pa.int64())).as_py()
        if us is not None and (latest is None or us > latest):
            latest = us
    return None if latest is None else int(latest // US_PER_DAY)
