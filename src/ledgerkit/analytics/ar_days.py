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

import numba
import numpy as np
import pyarrow as pa

from ledgerkit._kernels.ar_days import NO_DAY as NO_CHARGE
from ledgerkit._kernels.ar_days import ar_cells_nb, first_charge_day_nb
from ledgerkit.analytics.facts import (
    REASON_DIMS,
    Dims,
    Grouping,
    parse_by,
    today_day,
)
from ledgerkit.analytics.ledger_entries import BALANCE_SIGN
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
    keys = ledger.keys
    service = day_numbers(ledger.encounters["service_date"]).astype(np.int32)
    day = np.ascontiguousarray(f.entry_day, np.int32)
    firsts = np.empty(numba.get_num_threads(), np.int32)
    args = (f.codes, day, service, keys.enc_proc_start, keys.proc_entry_start)
    first_charge_day_nb(*args, firsts)
    if not len(firsts) or int(firsts.min()) == NO_CHARGE:
        return _empty(by)
    first = int(firsts.min())
    last = today_day(ledger, None)
    ends = _month_ends(first, last)
    all_procs = np.arange(keys.n_procedures, dtype=np.int64)
    cols = dims.columns(by, proc=all_procs) if by else []
    g = Grouping(cols) if cols else None
    proc_key = g.key if g else np.zeros(keys.n_procedures, np.int64)
    n_groups = g.n_groups if g else 1
    n_m = len(ends)
    # charges per posting day from the first window's start to the last month end
    day_lo = int(ends[0]) - window_days + 1
    n_days = int(ends[-1]) - day_lo + 1
    n_threads = numba.get_num_threads()
    ar_cells = np.zeros((n_threads, n_m, n_groups), np.int64)
    day_charges = np.zeros((n_threads, n_days, n_groups), np.int64)
    ar_cells_nb(
        f.codes, keys.amounts, day, service, keys.enc_proc_start, keys.proc_entry_start,
        np.ascontiguousarray(proc_key, np.int64), ends.astype(np.int64), BALANCE_SIGN,
        day_lo, ar_cells, day_charges,
    )  # fmt: skip
    ar = np.cumsum(ar_cells.sum(axis=0), axis=0)  # int64 cents, exact
    # charges in (end - window, end]: differences of the running sum over days
    running = np.concatenate([np.zeros((1, n_groups), np.int64),
                              np.cumsum(day_charges.sum(axis=0), axis=0)])  # fmt: skip
    hi = ends - day_lo + 1
    charges = running[hi] - running[np.maximum(hi - window_days, 0)]
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
