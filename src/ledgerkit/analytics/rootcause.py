"""Root causes: the recurring denial patterns, ranked by dollars, with their trend.

A pattern is a combination of ``by`` values (default payer x CARC x CPT x
provider) over every live denial adjustment posted by a payer (the rows of
:func:`ledgerkit.metrics.denial_dollars`). Each pattern gets its monthly
denied dollars (by the month the denial was posted), the last and previous
month, the month-over-month change and the least-squares slope over the last
``window`` months; it is ``growing`` when that slope is positive.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit.analytics.facts import Dims, Grouping, parse_by, proc_of_entries, ratio, units

__all__ = ["root_causes"]


def root_causes(
    ledger,
    by=("payer", "carc", "cpt", "provider"),
    *,
    top: int | None = 20,
    window: int = 3,
    complete_months: bool = True,
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
        Drop the last posting month when the ledger's last posting day is not
        that month's last day (a partial month would look like a drop).

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
    rows = f.payer_denial_rows()
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

    # Monthly series of the chosen patterns.
    month_codes, month_labels = dims.month_of_days(f.entry_day[rows])
    n_months = len(month_labels) - 1
    if complete_months and n_months and len(rows):
        last_day = int(f.entry_day[rows].max())
        nxt = np.datetime64(last_day, "D") + np.timedelta64(1, "D")
        if nxt.astype("datetime64[M]") == np.datetime64(last_day, "D").astype("datetime64[M]"):
            n_months -= 1
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
    out["first_month"] = pa.array(
        [month_labels[0] if n_months else None] * len(chosen), pa.string()
    )
    out["last_month_cents"] = pa.array(last)
    out["prev_month_cents"] = pa.array(prev)
    out["mom_change_cents"] = pa.array(last - prev)
    out["slope_cents_per_month"] = pa.array(slope)
    out["growing"] = pa.array(slope > 0)
    return pa.table(out)


def _slopes(y: np.ndarray) -> np.ndarray:
    """Least-squares slope of each row of ``y`` against 0..n-1."""
    n = y.shape[1]
    x = np.arange(n, dtype=np.float64)
    xc = x - x.mean()
    denom = float((xc**2).sum())
    if denom == 0:
        return np.zeros(y.shape[0])
    return (y.astype(np.float64) - y.mean(axis=1, keepdims=True)) @ xc / denom
