"""The denial worklist, ``ledgerkit.worklist``: what to work first, and why.

See DOMAIN.md, "Denial management". (The module is not named ``worklist`` so
that importing it never hides the ``ledgerkit.worklist`` function.)

Rows are the not-balanced encounters classed DENIAL, PARTIAL_DENIAL or
UNRESOLVED that still have something at stake (below). A denial's work ends
(DOMAIN.md, Settled question 1) when a negation takes it back, or when
write-offs, pushes to PR and payments leave no payer balance on it: a write-off
or payment that brings the balance to 0 makes the encounter balanced; a push to
PR moves what is left to the patient (stage ``patient``, $0 at stake). For each:

at stake
    the encounter's open denied dollars: per line ``min(denied,
    payer_balance)`` floored at 0, summed (``denied`` counts every payer's
    live denials); when that is 0 the payer balance instead.
denying payer, reason
    the payer that posted the denial the classification names (which may be
    an earlier payer than the last to adjudicate: a primary's denial stays
    open when a secondary pays its share), and that denial's CARC/group/line.
next action
    the catalogue's usual next action for that group code and CARC: the
    group decides who is liable, so only a PR adjustment says
    ``bill_patient`` (CO-96 is the provider's to write off or appeal).
deadline
    ``correct_resubmit``: the timely-filing limit, service date +
    ``timely_filing_days``; otherwise the appeal window, the denying payer's
    first remit date + ``appeal_days`` (payer reference data; defaults for
    unknown payers). ``days_left = deadline - today`` (negative: expired).
likelihood
    with work events that hold appeals or resubmissions (a store, or
    ``work``): the likelihood that appealing recovers money, from real
    appeal outcomes for the row's payer x category x CARC
    (:func:`ledgerkit.metrics.recovery_likelihood`: smoothed toward the
    payer's rate for the category, that toward the category's, that toward
    the overall rate; a cell without appeals takes the first it has);
    ``history_denied`` / ``history_overturned`` are then the cell's appealed
    and overturned denials. Without such events: the smoothed historical
    overturn rate of that payer x CARC over every claim denied on a primary's
    first response in the ledger (see :func:`ledgerkit.metrics.overturn_rate`)::

        p = (k + m * p_category) / (n + m)

    with ``n`` denied lines and ``k`` recovered lines for payer x CARC, ``m``
    = ``prior_weight`` and ``p_category`` the category's rate (itself
    smoothed toward the overall rate the same way).
work (given a store or work events)
    ``owner``, ``status``, ``follow_up``, ``last_event``, ``last_event_at``,
    ``last_actor``, ``appeal_level``, ``outcome``, ``outcome_source`` and
    ``recovered_cents`` (payments after an appeal linked to it) of the
    work item covering the row (:func:`ledgerkit.work_items`; the item naming
    the row's line and CARC first, then its line, its CARC, the encounter),
    and the filters ``owner``, ``status``, ``due_by`` and ``due_within_days``
    ("my items due this week": ``owner="ana", due_within_days=7``, open items
    whose follow-up is at most 7 days after ``today``, overdue ones included).
    ``rank`` stays the row's rank in the whole worklist. The work columns are
    the items' current state (``lk.work_items(store, as_of=...)`` for an
    earlier one), whatever ``today`` is.
underpaid rows (given ``contracts``)
    encounters with lines paid below contract beyond the tolerances
    (:func:`ledgerkit.underpaid_lines`) join as rows of their own with
    ``reason`` ``"underpaid"`` (every other row: ``"denial"``): at stake their
    recoverable cents, CO-45 on the line with the largest shortfall, next
    action ``appeal``, deadline the primary's first remit date + its
    ``appeal_days`` (details in ``ledgerkit.analytics.work_rows``). An
    encounter can have both a denial row and an underpaid row.
priority
    ``w_value * value + w_deadline * urgency + w_likelihood * likelihood``
    where ``value = log1p(at stake $) / log1p(largest at stake $)``,
    ``urgency = 1 - min(days_left, horizon) / horizon`` (0 when expired) and
    weights default to 0.4 / 0.3 / 0.3. All three parts are columns.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.analytics.classify import WORKLIST_CLASSES, classify
from ledgerkit.analytics.facts import NO_DAY, Dims, group_sums, today_day
from ledgerkit.analytics.lifecycle_metrics import likelihood_of, recovery_likelihood
from ledgerkit.analytics.work_items import filter_work, join_work, work_items
from ledgerkit.analytics.work_rows import WorkRows, ranked_table, underpaid_rows
from ledgerkit.core.arrow import bool_array, codes_in, day_numbers, numpy_array
from ledgerkit.core.catalog import ACTIONS, CATEGORIES
from ledgerkit.core.ledger import DEFAULT_APPEAL_DAYS, DEFAULT_TIMELY_FILING_DAYS

__all__ = ["worklist", "DEFAULT_WEIGHTS", "overturn_history"]

DEFAULT_WEIGHTS = {"value": 0.4, "deadline": 0.3, "likelihood": 0.3}
_EPOCH = dt.date(1970, 1, 1)  # day numbers count from it


def overturn_history(ledger, *, prior_weight: float = 10.0, policy=None, catalog=None):
    """Smoothed overturn rate per payer x CARC (payer index x carc code matrices).

    Returns ``(p, n, k, payer_ids, carc_values)``: ``p[i, c]`` the smoothed
    rate, ``n``/``k`` denied and recovered line counts, indexed by payer
    (``ledger.payers`` row; last row = unknown) and CARC dictionary code
    (last column = none).
    """
    dims = Dims(ledger, catalog, policy)
    f = dims.facts
    payer_ids = ledger.payers["payer_id"].to_pylist()
    n_pay = len(payer_ids) + 1
    n_carc = len(f.carc_values) + 1
    enc_payer = codes_in(ledger.encounters["payer1_id"], pa.array(payer_ids, pa.string()))
    enc_payer = np.where(enc_payer >= 0, enc_payer, n_pay - 1)
    denied = (f.first_denied > 0) & (ledger.keys.enc_n_payers[f.proc_enc] >= 1)
    recovered = np.clip(f.later_paid, 0, np.maximum(f.first_denied, 0)) > 0
    lines = np.flatnonzero(denied)
    carc = np.where(f.first_reason[lines] >= 0, f.first_reason[lines], n_carc - 1)
    cell = enc_payer[f.proc_enc[lines]] * n_carc + carc
    n = np.bincount(cell, minlength=n_pay * n_carc).reshape(n_pay, n_carc)
    k = np.bincount(cell[recovered[lines]], minlength=n_pay * n_carc).reshape(n_pay, n_carc)
    category = np.append(dims.reason_maps()["category"], CATEGORIES.index("other"))
    total_n, total_k = n.sum(), k.sum()
    p_all = total_k / total_n if total_n else 0.0
    n_cat = np.bincount(category, weights=n.sum(axis=0), minlength=len(CATEGORIES))
    k_cat = np.bincount(category, weights=k.sum(axis=0), minlength=len(CATEGORIES))
    p_cat = (k_cat + prior_weight * p_all) / (n_cat + prior_weight)
    prior = p_cat[category][None, :]
    p = (k + prior_weight * prior) / (n + prior_weight)
    return p, n, k, payer_ids, list(f.carc_values)


def worklist(
    ledger,
    today=None,
    *,
    weights: dict | None = None,
    horizon_days: int = 90,
    prior_weight: float = 10.0,
    policy=None,
    catalog=None,
    work=None,
    owner=None,
    status=None,
    due_by=None,
    due_within_days: int | None = None,
    contracts=None,
    tolerance_cents: int | None = None,
    tolerance_percent: float | None = None,
) -> pa.Table:
    """The prioritised denial worklist, one explainable row per encounter.

    Parameters
    ----------
    ledger : Ledger or LedgerStore
        A store gives its latest ledger and its work events (``work``).
    today : date or str, optional
        Default: the last posting day in the ledger.
    weights : dict, optional
        ``{"value": .., "deadline": .., "likelihood": ..}``; missing keys keep
        :data:`DEFAULT_WEIGHTS`.
    horizon_days : int
        Deadlines further than this are not urgent (urgency 0 at the horizon).
    prior_weight : float
        ``m`` in the likelihood smoothing (pseudo-claims at the category rate).
    work : LedgerStore or pyarrow.Table, optional
        Work events (or a store holding them): adds the work columns.
    owner, status : str or list of str, optional
        Keep the rows of these owners / statuses (``new``: nothing recorded).
    due_by : date or str, optional
        Keep the open rows (not resolved or written off) whose follow-up date
        is on or before this day.
    due_within_days : int, optional
        The same with ``due_by = today + due_within_days`` ("due this week":
        7; overdue follow-ups included). Not with ``due_by``.
    contracts : Contracts, optional
        Loaded contracts (``ledgerkit.contracts.load``): underpaid lines
        (:func:`ledgerkit.underpaid_lines`) join the worklist, one row per
        encounter with ``reason`` ``"underpaid"`` (module notes, "underpaid
        rows"); the other rows get ``reason`` ``"denial"``.
    tolerance_cents, tolerance_percent : int, float, optional
        With ``contracts``: the underpayment tolerances (default those of
        :func:`ledgerkit.underpaid_lines`).

    Returns
    -------
    pyarrow.Table
        ``rank``, ``encounter_id``, ``class``, ``payer_id``, ``payer_seq``,
        ``line``, ``group_code``, ``carc``, ``category``, ``next_action``,
        ``at_stake_cents``, ``payer_balance_cents``, ``service_date``,
        ``denial_date``, ``deadline_kind``, ``deadline``, ``days_left``,
        ``expired``, ``history_denied``, ``history_overturned``,
        ``likelihood``, ``value_score``, ``urgency_score``, ``priority`` and
        ``why`` (the row in words); with ``contracts``, ``reason`` after
        ``class``; with ``work``, the work columns (module notes). Sorted by
        priority (high first), then at-stake dollars, days left and ledger order.

    Raises
    ------
    ValueError
        An unknown weight name or a negative weight, an unknown status, a
        filter without ``work``, both ``due_by`` and ``due_within_days``, or a
        negative ``due_within_days``.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> wl = lk.worklist(lk.synth.generate(300, seed=5))
    >>> wl["priority"].to_pylist() == sorted(wl["priority"].to_pylist(), reverse=True)
    True
    """
    if work is None and hasattr(ledger, "work_events"):
        work = ledger
    if hasattr(ledger, "work_events"):
        ledger = ledger.ledger()
    if work is None and (owner, status, due_by, due_within_days) != (None,) * 4:
        raise ValueError(
            "owner, status, due_by and due_within_days filter on work items: give work=store"
        )
    if due_within_days is not None:
        if due_by is not None:
            raise ValueError("give due_by or due_within_days, not both")
        if isinstance(due_within_days, bool) or not isinstance(due_within_days, int | np.integer):
            raise ValueError(
                f"due_within_days must be a whole number of days, got {due_within_days!r}"
            )
        if due_within_days < 0:
            raise ValueError(f"due_within_days must be >= 0, got {due_within_days!r}")
    w = dict(DEFAULT_WEIGHTS)
    for name, value in (weights or {}).items():
        if name not in DEFAULT_WEIGHTS:
            raise ValueError(f"weights: unknown weight {name!r}; use {tuple(DEFAULT_WEIGHTS)}")
        if value < 0:
            raise ValueError(f"weights: {name!r} must be >= 0, got {value!r}")
        w[name] = float(value)
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be > 0, got {horizon_days!r}")
    dims = Dims(ledger, catalog, policy)
    f = dims.facts
    table = classify(ledger, policy=policy)
    cls = table["class"].cast(pa.string())
    todo = pc.and_(
        pc.invert(table["balanced"]), pc.is_in(cls, value_set=pa.array(WORKLIST_CLASSES))
    )
    enc = np.flatnonzero(bool_array(todo))
    n_enc = ledger.keys.n_encounters

    # At stake: open denied dollars per encounter (payer balance when none).
    open_line = np.maximum(np.minimum(f.figures["denied"], f.figures["payer_balance"]), 0)
    sums, _ = group_sums(f.proc_enc, {"open": open_line}, n_enc)
    payer_balance = numpy_array(table["payer_balance"])[enc]
    at_stake = sums["open"][enc]
    at_stake = np.where(at_stake > 0, at_stake, np.maximum(payer_balance, 0))
    # Nothing at stake, nothing to work: a push to PR (or a payment) that leaves
    # no payer balance ends a denial's work even though the patient still owes.
    keep = at_stake > 0
    enc, payer_balance, at_stake = enc[keep], payer_balance[keep], at_stake[keep]

    # Denying payer and its reference data.
    seq = numpy_array(table["explain_payer_seq"], fill=0)[enc].astype(np.int64)
    seq = np.where(seq > 0, seq, np.maximum(numpy_array(table["last_payer_seq"])[enc], 1))
    payers = ledger.payers
    payer_ids = payers["payer_id"].to_pylist()
    pay_idx = np.full(len(enc), len(payer_ids), np.int64)
    payer_col = pa.nulls(len(enc), pa.string())
    for k in (1, 2, 3):
        ids = ledger.encounters[f"payer{k}_id"].cast(pa.string()).take(pa.array(enc))
        codes = codes_in(ids, pa.array(payer_ids, pa.string()))
        sel = seq == k
        pay_idx = np.where(sel & (codes >= 0), codes, pay_idx)
        payer_col = pc.if_else(pa.array(sel), ids.combine_chunks(), payer_col)
    tf_days = np.append(
        numpy_array(payers["timely_filing_days"], dtype=np.int64), DEFAULT_TIMELY_FILING_DAYS
    )[pay_idx]
    appeal_days = np.append(
        numpy_array(payers["appeal_days"], dtype=np.int64), DEFAULT_APPEAL_DAYS
    )[pay_idx]

    # Reason, category, action.
    # classify may give explanation columns as dictionaries; the worklist keeps strings.
    carc_str = table["explain_carc"].take(pa.array(enc)).cast(pa.string())
    carc_values = f.carc_values
    carc_code = (
        codes_in(
            pa.chunked_array([carc_str.combine_chunks()]),
            pa.array([str(v) for v in carc_values], pa.string()),
        )
        if len(carc_values)
        else np.full(len(enc), -1)
    )
    fields = dims.reason_maps()
    known_cat = np.append(fields["category"], CATEGORIES.index("other"))
    cidx = np.where(carc_code >= 0, carc_code, len(carc_values))
    category = known_cat[cidx]
    group_str = table["explain_group"].take(pa.array(enc)).cast(pa.string())
    action = _next_actions(dims.catalog, carc_str, group_str)

    # Deadlines.
    today_d = today_day(ledger, today)
    service = day_numbers(ledger.encounters["service_date"]).astype(np.int64)[enc]
    first = f.enc_first_day[enc, seq].astype(np.int64)
    denial_day = np.where(first != NO_DAY, first, service)
    resubmit = action == ACTIONS.index("correct_resubmit")
    deadline = np.where(resubmit, service + tf_days, denial_day + appeal_days)
    days_left = deadline - today_d

    # Likelihood: from appeal outcomes when there is work, else from the ledger.
    outcomes, history = None, None
    if work is not None:
        outcomes = recovery_likelihood(
            ledger, work, prior_weight=prior_weight, policy=policy, catalog=catalog
        )
    if outcomes is not None and outcomes.num_rows:
        likelihood, n_hist, k_hist = likelihood_of(
            outcomes,
            payer_col,
            pa.array(list(CATEGORIES), pa.string()).take(
                pa.array(np.where(category < 0, category + len(CATEGORIES), category))
            ),
            carc_str,
            prior_weight=prior_weight,
        )
    else:
        p, hist_n, hist_k, _, _ = overturn_history(
            ledger, prior_weight=prior_weight, policy=policy, catalog=catalog
        )
        history = (p, hist_n, hist_k)
        likelihood = p[pay_idx, cidx]
        n_hist = hist_n[pay_idx, cidx]
        k_hist = hist_k[pay_idx, cidx]

    rows = WorkRows(
        enc=enc,
        cls=cls.take(pa.array(enc)),
        payer=payer_col,
        seq=seq,
        line=table["explain_line"].take(pa.array(enc)),
        group=table["explain_group"].take(pa.array(enc)).cast(pa.string()),
        carc=carc_str,
        category=category,
        action=action,
        at_stake=at_stake,
        payer_balance=payer_balance,
        service=service,
        denial_day=denial_day,
        resubmit=resubmit,
        deadline=deadline,
        days_left=days_left,
        n_hist=n_hist,
        k_hist=k_hist,
        likelihood=likelihood,
    )
    if contracts is not None:
        if not hasattr(contracts, "underpaid_lines"):
            raise TypeError("contracts: load them first with ledgerkit.contracts.load")
        if history is None:  # underpaid rows rank by the ledger's history of overturns
            history = overturn_history(
                ledger, prior_weight=prior_weight, policy=policy, catalog=catalog
            )[:3]
        tolerances = {
            k: v
            for k, v in (
                ("tolerance_cents", tolerance_cents),
                ("tolerance_percent", tolerance_percent),
            )
            if v is not None
        }
        lines = contracts.underpaid_lines(ledger, policy=policy, **tolerances)
        more = underpaid_rows(
            ledger,
            lines,
            classes=cls,
            payer_balance=numpy_array(table["payer_balance"]),
            today=today_d,
            history=history,
            carc_values=f.carc_values,
            policy=policy,
        )
        rows = rows.concat(more)
    table = ranked_table(rows, ledger, w, horizon_days, with_reason=contracts is not None)
    if work is None:
        return table
    table = join_work(table, work_items(work, ledger=ledger))
    if due_within_days is not None:
        due_by = _EPOCH + dt.timedelta(days=int(today_d) + int(due_within_days))
    return filter_work(table, owner=owner, status=status, due_by=due_by)


def _next_actions(catalog, carcs: pa.ChunkedArray, groups: pa.ChunkedArray) -> np.ndarray:
    """ACTIONS index per row from the catalogue's (group code, CARC) rows."""
    g_values = [v for v in pc.unique(groups).to_pylist() if v is not None]
    c_values = [v for v in pc.unique(carcs).to_pylist() if v is not None]
    g = codes_in(groups, pa.array(g_values, pa.string()))
    c = codes_in(carcs, pa.array(c_values, pa.string()))
    n_c = len(c_values) + 1  # last: no CARC
    grid = [(gv, cv) for gv in [*g_values, None] for cv in [*c_values, None]]
    names = catalog.next_actions([cv for _, cv in grid], [gv for gv, _ in grid])
    table = np.array([ACTIONS.index(a) for a in names], np.int64)
    g = np.where(g >= 0, g, len(g_values))
    c = np.where(c >= 0, c, len(c_values))
    return table[g * n_c + c]
