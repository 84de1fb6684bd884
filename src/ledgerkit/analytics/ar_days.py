"""Days in A/R, ``ledgerkit.metrics.days_in_ar``: how many days of charges are
still owed, month by month (issue #16).

The standard revenue-cycle definition (the one HFMA's MAP Keys use): the
receivable balance at a date divided by the average daily charges before it,

    days in A/R (D) = open A/R at D / (charges in the 90 days up to D / 90)

open A/R at D
    the balance (charge - payments - patient payments - contractual
    adjustments - write-offs; DOMAIN.md, Buckets) of the encounters with a
    service date on or before D, from the entries posted on or before D.
charges
    charge entries posted in the ``window_days`` (90) days ending on D.

D is the last day of each month from the first charge's month to the last
posting day (the last month ends on the last posting day). Grouped by an
encounter dimension (the claim's primary payer by default: its open balance
over its own charges), the rows are per month and group.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit._kernels import codes as C
from ledgerkit.analytics.facts import (
    REASON_DIMS,
    Dims,
    Grouping,
    group_sums,
    parse_by,
    today_day,
)
from ledgerkit.analytics.ledger_entries import balance_effect, entry_procs
from ledgerkit.core.arrow import dates_of, day_numbers

__all__ = ["days_in_ar"]


def days_in_ar(ledger, by="payer", *, window_days: int = 90, policy=None, catalog=None):
    """Days in A/R per month (and per ``by`` group): open A/R / average daily charges.

    Parameters
    ----------
    ledger : Ledger
    by : str or sequence of str, optional
        Encounter or procedure dimensions (payer, payer_class, provider,
        location, site, place_of_service, cpt); ``None``: the whole practice.
        ``month`` is always there (the month of the as-of date).
    window_days : int
        Days of charges averaged (90).

    Returns
    -------
    pyarrow.Table
        ``month``, ``as_of`` (the date D), the ``by`` columns, ``ar_cents``,
        ``charges_cents`` (in the window), ``avg_daily_charges_cents``
        (float) and ``days_in_ar`` (null without charges in the window); one
        row per month and group with a balance or charges.

    Examples
    --------
    One $300.00 charge posted 1 March, paid $100.00 on 20 March: at 31 March
    the open A/R is $200.00; the 90-day charges are $300.00, $3.33 a day,
    so days in A/R = 20000 / (30000 / 90) = 60.0.
    """
    by = parse_by(by)
    if "month" in by or any(d in REASON_DIMS for d in by):
        raise ValueError("days_in_ar: by takes encounter or procedure dimensions; month is given")
    if window_days <= 0:
        raise ValueError(f"window_days must be > 0, got {window_days!r}")
    dims = Dims(ledger, catalog, policy)
    f = dims.facts
    effect = balance_effect(f, ledger)
    proc = entry_procs(ledger)
    service = day_numbers(ledger.encounters["service_date"]).astype(np.int64)[f.proc_enc[proc]]
    day = np.maximum(f.entry_day.astype(np.int64), service)  # counts once both have happened
    charge = C.bucket_of(f.codes) == C.CHARGE
    last = today_day(ledger, None)
    if not charge.any():
        return _empty(by)
    first = int(day[charge].min())
    ends = _month_ends(first, last)
    cols = dims.columns(by, proc=proc) if by else []
    g = Grouping(cols) if cols else None
    key = g.key if g else np.zeros(len(day), np.int64)
    n_groups = g.n_groups if g else 1
    n_m = len(ends)
    # A/R: each entry counts from the first month end on or after its day
    month = np.searchsorted(ends, day, side="left")
    inside = month < n_m
    cell = np.where(inside, month * n_groups + key, -1)
    ar = group_sums(cell, {"ar": effect}, n_m * n_groups)[0]["ar"].reshape(n_m, n_groups)
    ar = np.cumsum(ar, axis=0)  # int64 cents, exact
    charges = np.zeros((n_m, n_groups), np.int64)
    c_day, c_key, c_amt = f.entry_day[charge].astype(np.int64), key[charge], effect[charge]
    for m, end in enumerate(ends):
        sel = (c_day > end - window_days) & (c_day <= end)
        charges[m] = group_sums(np.where(sel, c_key, -1), {"c": c_amt}, n_groups)[0]["c"]
    mi, gi = np.nonzero((ar != 0) | (charges != 0))
    avg = charges[mi, gi] / window_days
    out = {
        "month": pa.array(
            [str(np.datetime64(int(ends[m]), "D").astype("datetime64[M]")) for m in mi],
            pa.string(),
        ),  # fmt: skip
        "as_of": dates_of(ends[mi]),
    }
    if g:
        out.update(g.labels(gi))
    out.update(
        ar_cents=pa.array(ar[mi, gi]),
        charges_cents=pa.array(charges[mi, gi]),
        avg_daily_charges_cents=pa.array(avg),
        days_in_ar=pa.array(ar[mi, gi] / np.where(avg > 0, avg, 1.0), mask=avg <= 0),
    )
    return pa.table(out)


def _month_ends(first: int, last: int) -> np.ndarray:
    """Last day of every month from ``first``'s to ``last``'s (the last: ``last``)."""
    months = np.arange(
        np.datetime64(first, "D").astype("datetime64[M]"),
        np.datetime64(last, "D").astype("datetime64[M]") + 1,
    )
    ends = ((months + 1).astype("datetime64[D]") - 1).astype(np.int64)
    ends[-1] = min(ends[-1], last)
    return ends


def _empty(by) -> pa.Table:
    cols = {"month": pa.array([], pa.string()), "as_of": pa.array([], pa.date32())}
    cols.update({d: pa.array([], pa.string()) for d in by})
    cols.update(ar_cents=pa.array([], pa.int64()), charges_cents=pa.array([], pa.int64()),
                avg_daily_charges_cents=pa.array([], pa.float64()),
                days_in_ar=pa.array([], pa.float64()))  # fmt: skip
    return pa.table(cols)
