"""Metrics from real appeal outcomes (issue #16): overturn and recovery, win rate by
appeal level, days to resolution and the likelihood of recovery.

They read a ledger and its work events (a :class:`~ledgerkit.store.LedgerStore`
gives both) through :func:`ledgerkit.appeal_outcomes`, as the attempts of
``analytics.appeal_attempts``; the likelihood of recovery (and its look-up for
rows) is in ``analytics.appeal_likelihood``, re-exported here. Words used below:

appealed denial
    a work item (encounter, optionally line and CARC) with at least one
    appeal or resubmission; its *denied cents* are what the primary payer
    denied on its first response on the item's line (on every line of the
    encounter for an encounter-level item).
overturned
    an appealed denial with an attempt whose outcome is ``overturned`` or
    ``partial`` (paid in part or whole); its *recovered cents* are the sum of
    its attempts' recovered cents, capped at its denied cents.
dimensions
    ``by=`` takes the analytics dimensions (:data:`ledgerkit.analytics.dimensions.DIMENSIONS`:
    month, payer, payer_class, provider, location, site, place_of_service,
    cpt, carc, category, type), read on the item's line (for an encounter-level
    item, its line with the largest first-response denial): ``carc`` is the
    item's CARC when it names one, else that line's first-response denial
    reason; ``category`` and ``type`` come from the CARC catalogue. ``owner``
    is the item's current owner (:func:`ledgerkit.work_items`; null: none).

Money is int64 cents; rates are float64, null when nothing is in the denominator.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.analytics.appeal_attempts import (
    LEVELS,
    attempt_grouping,
    attempts,
    by_with_owner,
    closing_days,
    work_inputs,
)
from ledgerkit.analytics.appeal_likelihood import likelihood_of, recovery_likelihood
from ledgerkit.analytics.facts import NO_DAY, Grouping, group_quantiles, grouped, ratio
from ledgerkit.core.arrow import numpy_array

__all__ = [
    "appeal_overturn_rate",
    "appeal_win_rate",
    "appeal_days_to_resolution",
    "recovery_likelihood",
    "likelihood_of",
    "LEVELS",
]


def appeal_overturn_rate(ledger, work=None, by="payer", *, policy=None, catalog=None):
    """Appealed (or resubmitted) denials later paid, and the cents recovered.

    ``overturn_rate = overturned / appealed``; ``recovery_rate = recovered_cents
    / denied_cents`` over appealed denials (module notes).

    Parameters
    ----------
    ledger : Ledger or LedgerStore
    work : LedgerStore, pyarrow.Table or list of dict, optional
        The work events (a store's own by default).
    by : str or sequence of str, optional
        Dimensions (module notes); ``None`` = one row.

    Returns
    -------
    pyarrow.Table
        ``by`` columns, ``appealed``, ``overturned``, ``overturn_rate``,
        ``denied_cents``, ``recovered_cents``, ``recovery_rate``.

    Examples
    --------
    Line 1 of E1 denied $120.00 (CO-50) is appealed; the payer pays $80.00
    after it. Line 1 of E2 denied $50.00 is appealed and upheld. By payer:
    appealed 2, overturned 1, rate 0.5, denied 17000, recovered 8000,
    recovery rate 8000 / 17000 = 0.47.
    """
    ledger, work = work_inputs(ledger, work)
    by = by_with_owner(by)
    a = attempts(ledger, work, policy, catalog)
    first, won, recovered, denied, _ = a.items()
    g = attempt_grouping(a, by, first)
    sums, counts = g.sums({
        "appealed": np.ones(len(first), np.int64), "overturned": won.astype(np.int64),
        "denied_cents": denied, "recovered_cents": recovered,
    })  # fmt: skip
    present = np.flatnonzero(counts > 0)
    s = {k: v[present] for k, v in sums.items()}
    return grouped(g, present, {
        "appealed": s["appealed"], "overturned": s["overturned"],
        "overturn_rate": ratio(s["overturned"], s["appealed"]),
        "denied_cents": s["denied_cents"], "recovered_cents": s["recovered_cents"],
        "recovery_rate": ratio(s["recovered_cents"], s["denied_cents"]),
    })  # fmt: skip


def appeal_win_rate(ledger, work=None, by=None, *, policy=None, catalog=None):
    """Appeals won per level: level 1, level 2, external, and resubmissions.

    An attempt is *won* when its outcome is ``overturned`` or ``partial``
    (:func:`ledgerkit.appeal_outcomes`); *decided* when it has an outcome at
    all (pending attempts are filed, not decided). ``win_rate = won / filed``
    and ``decided_win_rate = won / decided``.

    Returns
    -------
    pyarrow.Table
        ``level`` (in :data:`LEVELS` order), the ``by`` columns, ``filed``,
        ``decided``, ``won``, ``win_rate``, ``decided_win_rate`` and
        ``recovered_cents`` (of won attempts).

    Examples
    --------
    A line appealed at level 1 (upheld), then level 2 (paid $80.00): level 1
    filed 1, won 0; level 2 filed 1, won 1, recovered 8000.
    """
    ledger, work = work_inputs(ledger, work)
    by = by_with_owner(by)
    a = attempts(ledger, work, policy, catalog)
    rows = np.arange(len(a.level))
    level = np.maximum(a.level, 0).astype(np.int32)  # an unknown level counts as level 1
    cols = [("level", level, list(LEVELS))] + list(a.columns(by, rows))
    g = Grouping(cols)
    decided = numpy_array(pc.is_valid(a.table["outcome"]))
    sums, counts = g.sums({
        "filed": np.ones(len(rows), np.int64), "decided": decided.astype(np.int64),
        "won": a.won.astype(np.int64), "recovered_cents": np.where(a.won, a.recovered, 0),
    })  # fmt: skip
    present = np.flatnonzero(counts > 0)
    s = {k: v[present] for k, v in sums.items()}
    return grouped(g, present, {
        "filed": s["filed"], "decided": s["decided"], "won": s["won"],
        "win_rate": ratio(s["won"], s["filed"]),
        "decided_win_rate": ratio(s["won"], s["decided"]),
        "recovered_cents": s["recovered_cents"],
    })  # fmt: skip


def appeal_days_to_resolution(ledger, work=None, by="payer", *, policy=None, catalog=None):
    """Days from the first denial to resolution, for appealed denials.

    Start: the day of the primary payer's first response on the item's
    encounter (its first remit, which carried the denial). End: the earliest of
    the day its first winning attempt was decided (the linked payment, or a
    person's overturned/partial outcome) and the day a ``status`` event
    resolved or wrote it off (on the item, or on an item covering it). Items
    with neither are open: counted in ``open``, not in the day figures.

    Returns
    -------
    pyarrow.Table
        ``by`` columns, ``appealed``, ``resolved``, ``open``, ``mean_days``,
        ``median_days``, ``p90_days``.

    Examples
    --------
    Denied on 1 March, appealed 10 March, paid 15 April: resolved in 45 days.
    Denied 1 March, appealed, upheld and written off on 1 June: 92 days.
    """
    ledger, work = work_inputs(ledger, work)
    by = by_with_owner(by)
    a = attempts(ledger, work, policy, catalog)
    first, _, _, _, win_day = a.items()
    close_day = closing_days(work, a, first)
    end = np.minimum(win_day, close_day)
    f = a.dims.facts
    enc = np.maximum(a.enc[first], 0)
    start = f.enc_first_day[enc, 1].astype(np.int64)
    resolved = (end < np.iinfo(np.int64).max) & (start != NO_DAY) & (a.enc[first] >= 0)
    days = np.where(resolved, end - start, 0)
    g = attempt_grouping(a, by, first)
    sums, counts = g.sums({"appealed": np.ones(len(first), np.int64),
                           "resolved": resolved.astype(np.int64), "days": days})  # fmt: skip
    present = np.flatnonzero(counts > 0)
    s = {k: v[present] for k, v in sums.items()}
    key = np.where(resolved, g.key, -1)
    median, p90 = group_quantiles(key, days, present, (0.5, 0.9))
    return grouped(g, present, {
        "appealed": s["appealed"], "resolved": s["resolved"],
        "open": s["appealed"] - s["resolved"], "mean_days": ratio(s["days"], s["resolved"]),
        "median_days": pa.array(median, mask=np.isnan(median)),
        "p90_days": pa.array(p90, mask=np.isnan(p90)),
    })  # fmt: skip
