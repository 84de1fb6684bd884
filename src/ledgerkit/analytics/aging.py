"""A/R aging of open amounts, in 30-day buckets from the service date.

``ledgerkit.metrics`` documents the dimensions (``by=``) and the row order.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit.analytics.facts import Grouping, grouped, parse_by, today_day, units
from ledgerkit.analytics.first_response import submitted_lines
from ledgerkit.core.arrow import day_numbers

__all__ = ["AGING_BUCKETS", "aging"]

AGING_BUCKETS = (
    ("days_0_30", 0, 30),
    ("days_31_60", 31, 60),
    ("days_61_90", 61, 90),
    ("days_91_120", 91, 120),
    ("days_over_120", 121, None),
)


def aging(
    ledger, by="payer", *, today=None, amount="balance", policy=None, catalog=None
) -> pa.Table:
    """A/R aging of open amounts: 0-30, 31-60, 61-90, 91-120 and over 120 days.

    Age = ``today`` - the encounter's service date, in days (future dates
    count as 0). Every line with a non-zero ``amount`` is open.

    Parameters
    ----------
    today : date or str, optional
        Default: the last posting day in the ledger.
    amount : {"balance", "payer_balance", "open_pr"}
        Which open amount to age: the whole balance, what payers still owe,
        or what the patient owes.

    Returns
    -------
    pyarrow.Table
        ``by`` columns, ``claims`` (encounters with an open amount),
        ``total_cents`` and one cents column per bucket (:data:`AGING_BUCKETS`).
        ``carc`` / ``category`` are the line's largest current denial (null
        when none).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit import metrics
    >>> t = metrics.aging(lk.synth.generate(300, seed=5), by=None, today="2026-02-01")
    >>> t.column_names[-2:]
    ['days_91_120', 'days_over_120']
    """
    if amount not in ("balance", "payer_balance", "open_pr"):
        raise ValueError(f"amount must be 'balance', 'payer_balance' or 'open_pr', got {amount!r}")
    by = parse_by(by)
    dims, f, proc, _ = submitted_lines(ledger, policy, catalog)
    value = f.figures[amount]
    mask = value != 0
    service = day_numbers(ledger.encounters["service_date"])[f.proc_enc]
    age = np.maximum(today_day(ledger, today) - service.astype(np.int64), 0)
    cols = dims.columns(by, proc=proc, reason=f.top_reason)
    g = Grouping(cols, mask=mask)
    rep, _, _, _ = units(f.proc_enc, g.key)
    values = {"claims": rep, "total_cents": np.where(mask, value, 0)}
    for name, lo, hi in AGING_BUCKETS:
        inside = (age >= lo) & (age <= hi) if hi is not None else age >= lo
        values[name] = np.where(mask & inside, value, 0)
    sums, counts = g.sums(values)
    present = np.flatnonzero(counts > 0)
    return grouped(g, present, {k: v[present] for k, v in sums.items()})
