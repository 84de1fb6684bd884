"""Denial metrics of what happened after a first-response denial: overturns and days to
resolution.

``ledgerkit.metrics`` documents the dimensions (``by=``), the row order and the
words used here (claim, first response, denied on the first response).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit.analytics.facts import (
    NO_DAY,
    Grouping,
    group_quantiles,
    grouped,
    parse_by,
    ratio,
    units,
)
from ledgerkit.analytics.first_response import submitted_lines

__all__ = ["overturn_rate", "days_to_resolution"]


def denied_lines(ledger, by, policy, catalog):
    """The dimensions, the facts, the grouping of lines denied on the first response
    (every other line masked out) and the denied mask."""
    by = parse_by(by)
    dims, f, proc, submitted = submitted_lines(ledger, policy, catalog)
    denied = submitted & (f.first_denied > 0)
    cols = dims.columns(by, proc=proc, reason=f.first_reason)
    return dims, f, Grouping(cols, mask=denied), denied


def overturn_rate(ledger, by="payer", *, policy=None, catalog=None) -> pa.Table:
    """Claims (and dollars) denied on the first response and later paid.

    A denied line is recovered by the denying (primary) payer's net payments
    posted after the first-response day (negations included, so a reversed
    and re-posted payment counts once), capped at the line's first-response
    denied amount. A secondary payer paying the primary's patient share is
    not a recovery. A claim is overturned when any of its denied lines
    recovered something.

    Returns
    -------
    pyarrow.Table
        ``by`` columns, ``denied_claims``, ``overturned_claims``,
        ``overturn_rate``, ``denied_cents``, ``recovered_cents`` and
        ``recovery_rate = recovered_cents / denied_cents``.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit import metrics
    >>> t = metrics.overturn_rate(lk.synth.generate(300, seed=5), by=None)
    >>> t.column_names[:3]
    ['denied_claims', 'overturned_claims', 'overturn_rate']
    """
    dims, f, g, denied = denied_lines(ledger, by, policy, catalog)
    recovered = np.clip(f.later_paid, 0, np.maximum(f.first_denied, 0))
    rep, any_, _, _ = units(f.proc_enc, g.key, flag_any=recovered > 0)
    sums, counts = g.sums(
        {
            "denied_claims": rep,
            "overturned_claims": rep & any_,
            "denied_cents": np.where(denied, f.first_denied, 0),
            "recovered_cents": np.where(denied, recovered, 0),
        }
    )
    present = np.flatnonzero(counts > 0)
    s = {k: v[present] for k, v in sums.items()}
    return grouped(
        g,
        present,
        {
            "denied_claims": s["denied_claims"],
            "overturned_claims": s["overturned_claims"],
            "overturn_rate": ratio(s["overturned_claims"], s["denied_claims"]),
            "denied_cents": s["denied_cents"],
            "recovered_cents": s["recovered_cents"],
            "recovery_rate": ratio(s["recovered_cents"], s["denied_cents"]),
        },
    )


def days_to_resolution(ledger, by="payer", *, policy=None, catalog=None) -> pa.Table:
    """Days from the first denial to resolution, for claims denied on the first response.

    Endpoint: a denied line is resolved when no payer balance is left on it
    (``payer_balance == 0``: paid, written off, or moved to the patient); its
    resolution day is the posting day of the last payer payment or
    adjustment, write-off or transfer to PR posted after the first response
    (the first-response day itself when nothing was posted later). A claim
    (within a group) is resolved when all its denied lines are; its days are
    the latest line's resolution day minus the first-response day. Claims not
    yet resolved count in ``open_claims`` and not in the day statistics.

    Returns
    -------
    pyarrow.Table
        ``by`` columns, ``denied_claims``, ``resolved_claims``,
        ``open_claims``, ``mean_days``, ``median_days`` and ``p90_days``.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit import metrics
    >>> t = metrics.days_to_resolution(lk.synth.generate(300, seed=5), by=None)
    >>> row = t.to_pylist()[0]
    >>> row["resolved_claims"] + row["open_claims"] == row["denied_claims"]
    True
    """
    dims, f, g, denied = denied_lines(ledger, by, policy, catalog)
    first = f.enc_first_day[f.proc_enc, 1]
    resolved = f.figures["payer_balance"] == 0
    end = np.where(f.last_day != NO_DAY, f.last_day, first).astype(np.int32)
    rep, _, all_, end_day = units(f.proc_enc, g.key, flag_all=resolved, day=end)
    days = np.where(rep & all_, end_day.astype(np.int64) - first, 0)
    sums, counts = g.sums({"denied_claims": rep, "resolved_claims": rep & all_, "days": days})
    present = np.flatnonzero(counts > 0)
    s = {k: v[present] for k, v in sums.items()}
    key = np.where(rep & all_, g.key, -1)
    median, p90 = group_quantiles(key, days, present, (0.5, 0.9))
    return grouped(
        g,
        present,
        {
            "denied_claims": s["denied_claims"],
            "resolved_claims": s["resolved_claims"],
            "open_claims": s["denied_claims"] - s["resolved_claims"],
            "mean_days": ratio(s["days"], s["resolved_claims"]),
            "median_days": pa.array(median, mask=np.isnan(median)),
            "p90_days": pa.array(p90, mask=np.isnan(p90)),
        },
    )
