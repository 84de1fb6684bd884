"""Denial metrics: each a function returning an Arrow table, grouped by ``by=``.

``by`` takes any of ``month, payer, payer_class, provider, location, site,
place_of_service, cpt, carc, category, type`` (a name or a sequence; ``None``
= one total row; ``type`` is the denial type of the reason's CARC: technical,
clinical or administrative).

The lifecycle metrics (:data:`LIFECYCLE_METRIC_NAMES`) live in their own
modules and are reachable here: from work events, ``appeal_overturn_rate``,
``appeal_win_rate``, ``appeal_days_to_resolution``, ``recovery_likelihood``
(``analytics.lifecycle_metrics``); from the ledger, ``days_in_ar``
(``analytics.ar_days``), ``first_pass_resolution_rate``
(``analytics.first_pass``) and ``take_backs`` (``analytics.take_backs``). The
meaning of each dimension is fixed in ``ledgerkit.analytics.facts``: month =
service month of the claim; payer = the claim's primary payer (the posting
payer for :func:`denial_dollars`); carc / category = the denial reason of the
line (the CARC of its largest denial) and its
:class:`~ledgerkit.core.catalog.CarcCatalog` category. Rows come in label
order, dimension after dimension: months in time order, payer classes
alphabetically, categories as in ``CATEGORIES``, other labels in the order of
their column's dictionary (first appearance for plain strings), null last.

Words used below:

claim
    an encounter billed to a primary payer (payer_seq 1). Self-pay
    encounters are not claims. When ``cpt`` is in ``by``, a claim counts once
    under each CPT it contains (its lines with that code).
first response
    the primary payer's payments and adjustments posted on the first day it
    posted a payment or adjustment for the claim (negations excluded; a later
    reversal does not change what the first response said).
denied on the first response
    a line whose first-response denials (CARCs the CARC policy maps to
    ``denied``, e.g. CO-50, CO-97, PI-59) add up to a positive amount; a
    claim is denied when any of its lines is. Partial (line) denials count.

All money is int64 cents; rates are float64 (null when the denominator is 0).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit.analytics.ar_days import days_in_ar  # noqa: F401
from ledgerkit.analytics.facts import (
    NO_DAY,
    REASON_DIMS,
    Dims,
    Grouping,
    group_of_codes,
    group_quantiles,
    grouped,
    parse_by,
    proc_of_entries,
    ratio,
    today_day,
    units,
)
from ledgerkit.analytics.first_pass import first_pass_resolution_rate  # noqa: F401
from ledgerkit.analytics.lifecycle_metrics import (  # noqa: F401
    appeal_days_to_resolution,
    appeal_overturn_rate,
    appeal_win_rate,
    recovery_likelihood,
)
from ledgerkit.analytics.take_backs import take_backs  # noqa: F401

METRIC_NAMES = (
    "initial_denial_rate",
    "avoidable_denial_rate",
    "denial_dollars",
    "overturn_rate",
    "days_to_resolution",
    "open_denial_dollars",
    "aging",
)
# Metrics of the denial lifecycle (issue #16), each in its own module.
LIFECYCLE_METRIC_NAMES = (
    "appeal_overturn_rate",
    "appeal_win_rate",
    "appeal_days_to_resolution",
    "recovery_likelihood",
    "days_in_ar",
    "first_pass_resolution_rate",
    "take_backs",
)
__all__ = [
    *METRIC_NAMES, *LIFECYCLE_METRIC_NAMES, "AGING_BUCKETS", "METRIC_NAMES",
    "LIFECYCLE_METRIC_NAMES",
]  # fmt: skip

AGING_BUCKETS = (
    ("days_0_30", 0, 30),
    ("days_31_60", 31, 60),
    ("days_61_90", 61, 90),
    ("days_91_120", 91, 120),
    ("days_over_120", 121, None),
)


def _lines(ledger, by, policy, catalog):
    dims = Dims(ledger, catalog, policy)
    f = dims.facts
    n_proc = len(f.proc_enc)
    proc = np.arange(n_proc, dtype=np.int64)
    submitted = ledger.keys.enc_n_payers[f.proc_enc] >= 1
    return dims, f, proc, submitted


def _first_response(ledger, by, policy, catalog, flags: dict[str, np.ndarray] | None = None):
    """Claims, responses and first-response denials per group.

    ``flags`` adds, for each name, ``<name>_claims`` and ``<name>_cents``
    counted over denied lines where the flag is set.
    """
    by = parse_by(by)
    dims, f, proc, submitted = _lines(ledger, by, policy, catalog)
    enc = f.proc_enc
    responded = f.enc_first_day[enc, 1] != NO_DAY
    denied = submitted & (f.first_denied > 0)
    charge = f.figures["charge"]
    flags = {"denied": denied, **{k: v & denied for k, v in (flags or {}).items()}}
    base_by = tuple(d for d in by if d not in REASON_DIMS)
    base_cols = dims.columns(base_by, proc=proc)
    g0 = Grouping(base_cols, mask=submitted)
    rep0, resp0, _, _ = units(enc, g0.key, flag_any=responded)
    if len(base_by) == len(by):
        # Unit = (claim, group): counts come from one unit pass per flag.
        values = {"claims": rep0, "responded": rep0 & resp0, "charge_cents": charge}
        for name, mask in flags.items():
            rep, any_, _, _ = units(enc, g0.key, flag_any=mask)
            values[f"{name}_claims"] = rep & any_
            values[f"{name}_cents"] = np.where(mask, f.first_denied, 0)
        sums, counts = g0.sums(values)
        present = np.flatnonzero(sums["claims"] > 0)
        return g0, present, {k: v[present] for k, v in sums.items()}
    # Reason dimensions: numerators per (group, reason), denominators per group.
    cols = dims.columns(by, proc=proc, reason=f.first_reason)
    g1 = Grouping(cols, mask=denied)
    values = {}
    for name, mask in flags.items():
        rep, any_, _, _ = units(enc, g1.key, flag_any=mask)
        values[f"{name}_claims"] = rep & any_
        values[f"{name}_cents"] = np.where(mask, f.first_denied, 0)
    sums1, counts1 = g1.sums(values)
    present = np.flatnonzero(counts1 > 0)
    sums0, _ = g0.sums({"claims": rep0, "responded": rep0 & resp0, "charge_cents": charge})
    codes1 = g1.decode(present)
    base_idx = [by.index(d) for d in base_by]
    g0_of = (
        group_of_codes(g0, [codes1[i] for i in base_idx])
        if base_by
        else np.zeros(len(present), np.int64)
    )
    out = {k: v[g0_of] for k, v in sums0.items()}
    out.update({k: v[present] for k, v in sums1.items()})
    return g1, present, out


def initial_denial_rate(ledger, by="month", *, policy=None, catalog=None) -> pa.Table:
    """Claims denied on the primary payer's first response / claims submitted.

    Parameters
    ----------
    ledger : Ledger
    by : str or sequence of str, optional
        Dimensions (see the module docstring); default ``"month"``.
    policy : CarcPolicy, optional
        Which CARCs are denials (default ``ledger.policy``).
    catalog : CarcCatalog, optional
        For ``category`` (default :meth:`CarcCatalog.default`).

    Returns
    -------
    pyarrow.Table
        The ``by`` columns, then ``claims`` (submitted: billed to a primary
        payer), ``responded`` (claims with a first response so far),
        ``denied_claims``, ``denial_rate = denied_claims / claims``,
        ``charge_cents`` (billed), ``denied_cents`` (denied on the first
        response) and ``dollar_denial_rate = denied_cents / charge_cents``.
        With ``carc`` or ``category`` in ``by``, the numerators count claims
        denied for that reason (the CARC of each line's largest first-response
        denial) and the denominators are those of the other dimensions.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit import metrics
    >>> table = metrics.initial_denial_rate(lk.synth.generate(300, seed=5), by="payer")
    >>> table.column_names[:4]
    ['payer', 'claims', 'responded', 'denied_claims']
    """
    g, present, s = _first_response(ledger, by, policy, catalog)
    return grouped(
        g,
        present,
        {
            "claims": s["claims"],
            "responded": s["responded"],
            "denied_claims": s["denied_claims"],
            "denial_rate": ratio(s["denied_claims"], s["claims"]),
            "charge_cents": s["charge_cents"],
            "denied_cents": s["denied_cents"],
            "dollar_denial_rate": ratio(s["denied_cents"], s["charge_cents"]),
        },
    )


def avoidable_denial_rate(ledger, by="month", *, policy=None, catalog=None) -> pa.Table:
    """Claims denied on the first response for an avoidable reason / claims submitted.

    A line's denial is avoidable when the catalogue marks the CARC of its
    largest first-response denial avoidable (front-end fixable: eligibility,
    authorization, coding, missing data...).

    Returns
    -------
    pyarrow.Table
        ``by`` columns, ``claims``, ``denied_claims``, ``avoidable_claims``,
        ``avoidable_rate = avoidable_claims / claims``, ``avoidable_share =
        avoidable_claims / denied_claims``, ``charge_cents``, ``denied_cents``,
        ``avoidable_cents`` and ``dollar_avoidable_rate = avoidable_cents /
        charge_cents``.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit import metrics
    >>> t = metrics.avoidable_denial_rate(lk.synth.generate(300, seed=5), by=None)
    >>> t.num_rows, t["avoidable_claims"][0].as_py() <= t["denied_claims"][0].as_py()
    (1, True)
    """
    dims = Dims(ledger, catalog, policy)
    f = dims.facts
    avoidable_of = dims.reason_maps()["avoidable"]
    reason = f.first_reason
    avoidable = np.zeros(len(reason), np.bool_)
    if len(avoidable_of):
        avoidable = (reason >= 0) & avoidable_of[np.maximum(reason, 0)]
    g, present, s = _first_response(ledger, by, policy, catalog, {"avoidable": avoidable})
    return grouped(
        g,
        present,
        {
            "claims": s["claims"],
            "denied_claims": s["denied_claims"],
            "avoidable_claims": s["avoidable_claims"],
            "avoidable_rate": ratio(s["avoidable_claims"], s["claims"]),
            "avoidable_share": ratio(s["avoidable_claims"], s["denied_claims"]),
            "charge_cents": s["charge_cents"],
            "denied_cents": s["denied_cents"],
            "avoidable_cents": s["avoidable_cents"],
            "dollar_avoidable_rate": ratio(s["avoidable_cents"], s["charge_cents"]),
        },
    )


def denial_dollars(ledger, by=("payer", "carc"), *, policy=None, catalog=None) -> pa.Table:
    """Denied dollars: every live denial adjustment posted by a payer, summed.

    Counts all payers' denials (first response or later), not negated and
    not negations; ``payer`` is the payer that posted the denial and
    ``carc`` the denial's own CARC.

    Returns
    -------
    pyarrow.Table
        ``by`` columns, ``denials`` (adjustment rows), ``claims`` (distinct
        encounters) and ``denied_cents``; rows in label order (see above).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit import metrics
    >>> t = metrics.denial_dollars(lk.synth.generate(300, seed=5), by="category")
    >>> t.column_names
    ['category', 'denials', 'claims', 'denied_cents']
    """
    by = parse_by(by)
    dims = Dims(ledger, catalog, policy)
    f = dims.facts
    rows = f.payer_denial_rows()
    proc = proc_of_entries(ledger, rows)
    cols = dims.columns(by, proc=proc, reason=f.entry_carc[rows], payer=f.entry_payer[rows])
    g = Grouping(cols, mask=None) if cols else Grouping([], mask=np.ones(len(rows), bool))
    if not cols:
        g.key = np.zeros(len(rows), np.int64)
        g.n_groups = 1
    rep, _, _, _ = units(f.proc_enc[proc], g.key)
    sums, counts = g.sums({"claims": rep, "denied_cents": ledger.keys.amounts[rows]})
    present = np.flatnonzero(counts > 0)
    return grouped(
        g,
        present,
        {
            "denials": counts[present],
            "claims": sums["claims"][present],
            "denied_cents": sums["denied_cents"][present],
        },
    )


def _denied_lines(ledger, by, policy, catalog):
    by = parse_by(by)
    dims, f, proc, submitted = _lines(ledger, by, policy, catalog)
    denied = submitted & (f.first_denied > 0)
    cols = dims.columns(by, proc=proc, reason=f.first_reason)
    g = Grouping(cols, mask=denied) if cols else _single(denied)
    return dims, f, g, denied


def _single(mask):
    g = Grouping([], mask=mask)
    g.key = np.where(mask, 0, -1).astype(np.int64)
    g.n_groups = 1
    return g


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
    dims, f, g, denied = _denied_lines(ledger, by, policy, catalog)
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
    dims, f, g, denied = _denied_lines(ledger, by, policy, catalog)
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


def open_denial_dollars(ledger, by="payer", *, policy=None, catalog=None) -> pa.Table:
    """Denied dollars still open: denied and not yet paid, written off or moved to PR.

    Per line: ``min(denied, payer_balance)`` (floored at 0), where ``denied``
    is the last adjudicating payer's denial and ``payer_balance`` what payers
    still owe (see :func:`ledgerkit.balances`). ``carc`` is the line's
    largest current denial.

    Returns
    -------
    pyarrow.Table
        ``by`` columns, ``claims``, ``lines`` and ``open_denied_cents``.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit import metrics
    >>> t = metrics.open_denial_dollars(lk.synth.generate(300, seed=5), by="category")
    >>> t.column_names
    ['category', 'claims', 'lines', 'open_denied_cents']
    """
    by = parse_by(by)
    dims, f, proc, _ = _lines(ledger, by, policy, catalog)
    open_ = np.maximum(np.minimum(f.figures["denied"], f.figures["payer_balance"]), 0)
    mask = open_ > 0
    cols = dims.columns(by, proc=proc, reason=f.top_reason)
    g = Grouping(cols, mask=mask) if cols else _single(mask)
    rep, _, _, _ = units(f.proc_enc, g.key)
    sums, counts = g.sums({"claims": rep, "open_denied_cents": np.where(mask, open_, 0)})
    present = np.flatnonzero(counts > 0)
    return grouped(
        g,
        present,
        {
            "claims": sums["claims"][present],
            "lines": counts[present],
            "open_denied_cents": sums["open_denied_cents"][present],
        },
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
    dims, f, proc, _ = _lines(ledger, by, policy, catalog)
    value = f.figures[amount]
    mask = value != 0
    from ledgerkit.core.arrow import day_numbers

    service = day_numbers(ledger.encounters["service_date"])[f.proc_enc]
    age = np.maximum(today_day(ledger, today) - service.astype(np.int64), 0)
    cols = dims.columns(by, proc=proc, reason=f.top_reason)
    g = Grouping(cols, mask=mask) if cols else _single(mask)
    rep, _, _, _ = units(f.proc_enc, g.key)
    values = {"claims": rep, "total_cents": np.where(mask, value, 0)}
    for name, lo, hi in AGING_BUCKETS:
        inside = (age >= lo) & (age <= hi) if hi is not None else age >= lo
        values[name] = np.where(mask & inside, value, 0)
    sums, counts = g.sums(values)
    present = np.flatnonzero(counts > 0)
    return grouped(g, present, {k: v[present] for k, v in sums.items()})
