"""Dimensions and group-bys of the denial analytics, over the derived denial facts.

Everything is computed over ``ledger.keys`` positions (grouped procedures,
grouped entries); strings are only touched through their dictionaries. The
facts themselves (:class:`Facts`) live in the derived-data layer
(``analytics.derived``), as does the cache of the dimension codes. The
dimensions (``by=``, what each means on a row) are in ``analytics.dimensions``,
the group-bys over them in ``analytics.grouping``; this module keeps the two
helpers that place entries and days, and every name the metrics import from it.
"""

from __future__ import annotations

import numpy as np

from ledgerkit._kernels.denials import NO_DAY  # noqa: F401 (re-exported)
from ledgerkit.analytics.dimensions import DIMENSIONS, REASON_DIMS, Dims, parse_by
from ledgerkit.analytics.entry_columns import latest_posting_day
from ledgerkit.analytics.grouping import (  # noqa: F401 (re-exported)
    DENSE_LIMIT,
    Grouping,
    _sorted_group_quantiles,
    group_of_codes,
    group_quantiles,
    group_sums,
    grouped,
    ratio,
    units,
)
from ledgerkit.core.arrow import day_number

__all__ = [
    "DIMENSIONS",
    "REASON_DIMS",
    "Dims",
    "grouped",
    "parse_by",
    "proc_of_entries",
]


def proc_of_entries(ledger, rows: np.ndarray) -> np.ndarray:
    """Grouped procedure of grouped entry positions ``rows``."""
    starts = ledger.keys.proc_entry_start
    return np.searchsorted(starts, rows, side="right").astype(np.int64) - 1


def today_day(ledger, today) -> int:
    """``today`` as days since 1970 (default: the last posting day of the ledger)."""
    import datetime as dt

    if today is None:
        # one column, a row group at a time: a Parquet folder's entries stay unread
        latest = latest_posting_day(ledger)
        return day_number(dt.date.today()) if latest is None else latest
    return day_number(today, "today")
