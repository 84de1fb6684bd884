"""Root causes: the recurring denial patterns, ranked by dollars, with their trend.

A pattern is a combination of ``by`` values (default payer x CARC x CPT x
provider) over every live denial adjustment posted by a payer (the rows of
:func:`ledgerkit.metrics.denial_dollars`). Each pattern gets its monthly
denied dollars (by the month the denial was posted), the last and previous
month, the month-over-month change and the least-squares slope over the last
``window`` months; it is ``growing`` when that slope is positive.

The series runs from the month of the first denial to the ledger's end (its
last posting day, or ``as_of``), months without denials included as 0: a
pattern that stopped is shown stopping, not frozen at its last denial.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit.analytics.facts import (
    Dims,
    Grouping,
    parse_by,
    proc_of_entries,
    ratio,
    today_day,
    units,
)

__all__ = ["root_causes"]


def root_causes(
    ledger,
    by=("payer", "carc", "cpt", "provider"),
    *,
    top: int | None = 20,
    window: int = 3,
    complete_months: bool = True,
    as_of=None,
    policy=None,
    catalog=None,
) -> pa.Table:
    """The top denial patterns by dollars, with monthly series and trend.

    Parameters
    ----------
    ledger : Ledger
    by : sequence of str
        Pattern dimensions (``month`` is not allowed: it is the trend axis).
    top : int or None
        Keep the ``top`` patterns by dollars (None: all).
    window : int
        Months in the trend slope (>= 2).
    complete_months : bool
        Drop the last month of the series when the ledger's end is not that
        month's last day (a partial month would look like a drop).
    as_of : date, optional
        The ledger's end: the series runs to its month. Defaults to the last
        day anything was posted; denials posted after ``as_of`` are left out.

    Returns
    -------
    pyarrow.Table
        ``rank``, the ``by`` columns, ``category`` (of the CARC, when ``carc``
        is a pattern dimension), ``denials``, ``claims``, ``denied_cents``,
        ``share`` (of all denied dollars), ``monthly_cents`` (list, one value
        per month from ``first_month``), ``first_month``,
        ``last_month_cents``, ``prev_month_cents``, ``mom_change_cents``,
        ``slope_cents_per_month`` and ``growing``.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit.rootcause import root_causes
    >>> t = root_causes(lk.synth.generate(500, seed=4), top=5)
    >>> t.num_rows <= 5 and t["denied_cents"].to_pylist() == sorted(
    ...     t["denied_cents"].to_pylist(), reverse=True)
    True

    Denials of $100, $200 and $300 in January to March and none in April and
    May (ledger to May 31) give ``monthly_cents`` ``[10000, 20000, 30000, 0,
    0]``: declining, ``growing`` False.
    """
    by = parse_by(by)
    if "month" in by:
        raise ValueError("root_causes: 'month' is the trend axis; leave it out of by=")
    if not by:
        raise ValueError("root_causes: by= needs at least one dimension")
    if window < 2:
        raise ValueError(f"window must be >= 2, got {window!r}")
    dims = Dims(ledger, catalog, policy)
    f = dims.facts
    end_day = today_day(ledger, as_of)
    rows = f.payer_denial_rows()
    if as_of is not None:
        rows = rows[f.entry_day[rows] <= end_day]
    proc = proc_of_entries(ledger, rows)
    reason = f.entry_carc[rows]
    cols = dims.columns(by, proc=proc, reason=reason, payer=f.entry_payer[rows])
    g = Grouping(cols)
    amounts = ledger.keys.amounts[rows]
    rep, _, _, _ = units(f.proc_enc[proc], g.key)
    sums, counts = g.sums({"claims": rep, "denied_cents": amounts})
    present = np.flatnonzero(counts > 0)
    dollars = sums["denied_cents"][present]
    order = np.lexsort((present, -dollars))
    if top is not None:
        order = order[:top]
    chosen = present[order]

    # Monthly series of the chosen patterns: first denial month to the end month.
    month_codes, n_months, first_label = _months(f.entry_day[rows], end_day, complete_months)
    slot = np.full(max(g.n_groups, 1), -1, np.int64)
    slot[chosen] = np.arange(len(chosen))
    ok = (slot[g.key] >= 0) & (month_codes < n_months) if len(rows) else np.zeros(0, bool)
    series = np.zeros((len(chosen), max(n_months, 0)), np.int64)
    np.add.at(series, (slot[g.key[ok]], month_codes[ok]), amounts[ok])
    last = series[:, -1] if n_months >= 1 else np.zeros(len(chosen), np.int64)
    prev = series[:, -2] if n_months >= 2 else np.zeros(len(chosen), np.int64)
    slope = _slopes(series[:, -window:]) if n_months >= 2 else np.zeros(len(chosen))

    out = {"rank": pa.array(np.arange(1, len(chosen) + 1), pa.int64())}
    out.update(g.labels(chosen))
    if "carc" in by and "category" not in by:
        cat = dims.catalog
        out["category"] = pa.array(
            [cat.category_of(v) if v is not None else None for v in out["carc"].to_pylist()],
            pa.string(),
        )
    total = int(sums["denied_cents"].sum())
    out["denials"] = pa.array(counts[chosen])
    out["claims"] = pa.array(sums["claims"][chosen])
    out["denied_cents"] = pa.array(sums["denied_cents"][chosen])
    out["share"] = ratio(sums["denied_cents"][chosen], np.full(len(chosen), total))
    out["monthly_cents"] = pa.array(list(series), pa.list_(pa.int64()))
    out["first_month"] = pa.array([first_label if n_months else None] * len(chosen), pa.string())
    out["last_month_cents"] = pa.array(last)
    out["prev_month_cents"] = pa.array(prev)
    out["mom_change_cents"] = pa.array(last - prev)
    out["slope_cents_per_month"] = pa.array(slope)
    out["growing"] = pa.array(slope > 0)
    return pa.table(out)


def _months(days: np.ndarray, end_day: int, complete_months: bool):
    """Month codes of ``days`` (0 = the first one's month), the number of months
    from there to ``end_day``'s month (less the end month when incomplete and
    ``complete_months``), and the first month's label."""
    if len(days) == 0:
        return np.zeros(0, np.int32), 0, None
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    first = int(months.min())
    end = np.datetime64(int(end_day), "D")
    end_month = int(end.astype("datetime64[M]").astype(np.int64))
    n_months = end_month - first + 1
    if complete_months and (end + np.timedelta64(1, "D")).astype("datetime64[M]") == end.astype(
        "datetime64[M]"
    ):
        n_months -= 1
    return (months - first).astype(np.int32), max(n_months, 0), str(np.datetime64(first, "M"))


def _slopes(y: np.ndarray) -> np.ndarray:
    """Least-squares slope of each row of ``y`` against 0..n-1."""
    n = y.shape[1]
    x = np.arange(n, dtype=np.float64)
    xc = x - x.mean()
    denom = float((xc**2).sum())
    if denom == 0:
        return np.zeros(y.shape[0])
    return (y.astype(np.float64) - y.mean(axis=1, keepdims=True)) @ xc / denom
