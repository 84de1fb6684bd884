"""Work items, ``ledgerkit.work_items``: the current state of every denial being
worked, folded from its work events (issue #16).

An *item* is what an event names: an encounter, optionally narrowed to a line
and a CARC (``(encounter_id, line, carc)``, nulls included). An event applies
to its item and to every narrower item of the encounter it covers (assigning an
encounter assigns each of its line items, until one gets an owner of its own).
An item's state is a fold over the events that apply to it in time order
(``at``, then the order they were recorded):

status
    ``new`` until an event sets it: a ``status`` event sets its status, an
    ``appeal`` sets ``appealed`` and an ``overturned`` outcome sets
    ``resolved`` (an upheld or partial outcome leaves the status to a person:
    a further appeal or a write-off). The latest such event wins.
owner, follow_up
    the latest ``assign`` / ``follow_up`` event's value.
appeal_level, appeal_method, appeal_filed, appeals
    the latest appeal's fields; ``appeals`` counts them.
outcome, recovered_cents, outcome_source, paid_after_appeal_cents
    the latest outcome (a later one corrects an earlier one); 0 cents without.
    With a ledger (a store has one), payments tie outcomes to money:
    ``paid_after_appeal_cents`` is what payers paid on the item's line (every
    line, for an encounter-level item) in entries posted after its latest
    appeal or ``resubmitted`` status, net of reversals (a reversal and repost
    counts the difference). When that is > 0 and no person has recorded an
    outcome since that appeal, the outcome comes from the payments
    (``outcome_source`` ``payments``; ``person`` otherwise): ``overturned``
    when the line's payer balance is 0 or less (then the status is
    ``resolved``, unless a person set a status after the last such payment),
    ``partial`` otherwise, with those cents recovered. A person overrides the
    link by recording an outcome after the appeal, or an ``unlink`` event after
    it (payments are then not its outcome, until a later ``link``);
    :func:`ledgerkit.appeal_outcomes` lists the linked payment entries.
opened_at, last_event_at, last_event, last_actor, events, closed
    first and latest event, its kind and who recorded it, the number of
    events, and whether the status is resolved or written off.

``as_of`` folds only the events that had happened by then (``at <= as_of``);
with a store, an integer ``as_of`` is a store version instead (the events
*recorded* by that version).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.analytics.derived import per_work
from ledgerkit.analytics.linked_payments import Payments
from ledgerkit.core.arrow import (
    as_date,
    codes_in,
    encode,
    numpy_array,
    utc_timestamp,
    valid_array,
)
from ledgerkit.core.schema import TIMESTAMP
from ledgerkit.core.work_events import CLOSED_STATUSES, KINDS, STATUSES, events_table

__all__ = ["work_items", "WORK_COLUMNS", "join_work", "filter_work"]

ITEM_KEY = ("encounter_id", "line", "carc")
# The columns the worklist takes from an encounter's work item.
WORK_COLUMNS = (
    "owner", "status", "follow_up", "last_event", "last_event_at", "last_actor",
    "appeal_level", "outcome", "outcome_source", "recovered_cents",
)  # fmt: skip


def work_items(store_or_events, as_of=None, *, ledger=None) -> pa.Table:
    """The state of every work item, folded from its events, as of any time.

    Parameters
    ----------
    store_or_events : LedgerStore, pyarrow.Table or list of dict
        A store (its :meth:`~ledgerkit.store.LedgerStore.work_events`) or work
        event rows as the store keeps them, in the order they were recorded.
    as_of : date, datetime, str or int, optional
        Fold only events with ``at`` at or before this time (a date means the
        end of that day). An integer is a store version (a store only).
    ledger : Ledger, optional
        Links payments to appeals (module notes); a store's own ledger by
        default (as of the same version or time).

    Returns
    -------
    pyarrow.Table
        One row per item, in order of its first event: ``encounter_id``,
        ``line``, ``carc``, ``status``, ``owner``, ``follow_up``,
        ``appeal_level``, ``appeal_method``, ``appeal_filed``, ``appeals``,
        ``outcome``, ``recovered_cents``, ``outcome_source``,
        ``paid_after_appeal_cents``, ``opened_at``, ``last_event_at``,
        ``last_event``, ``last_actor``, ``events``, ``closed`` (module notes).

    Examples
    --------
    >>> import datetime as dt
    >>> t = lambda d: dt.datetime(2026, 11, d, tzinfo=dt.UTC)
    >>> events = [
    ...     {"at": t(2), "encounter_id": "E1", "kind": "assign", "owner": "ana", "actor": "ana"},
    ...     {"at": t(3), "encounter_id": "E1", "kind": "appeal", "appeal_level": "1",
    ...      "appeal_method": "fax", "actor": "ana"},
    ...     {"at": t(9), "encounter_id": "E1", "kind": "outcome", "outcome": "overturned",
    ...      "outcome_cents": 4500, "actor": "ana"}]
    >>> now = work_items(events)
    >>> now["status"].to_pylist(), now["recovered_cents"].to_pylist()
    (['resolved'], [4500])
    >>> work_items(events, as_of=t(5))["status"].to_pylist()
    ['appealed']
    """
    if as_of is None:  # kept per (ledger, events table): the metrics ask again and again
        build = lambda: _work_items(store_or_events, None, ledger)  # noqa: E731
        return per_work(ledger, store_or_events, "work_items", build)
    return _work_items(store_or_events, as_of, ledger)


def _work_items(store_or_events, as_of, ledger) -> pa.Table:
    events, cutoff, ledger = _events(store_or_events, as_of, ledger)
    at = numpy_array(events["at"].cast(pa.int64()), fill=0, dtype=np.int64)
    if cutoff is not None:
        keep = at <= cutoff
        events, at = events.filter(pa.array(keep)), at[keep]
    order = np.argsort(at, kind="stable")  # time order; recorded order breaks ties
    events = events.take(pa.array(order))
    n = events.num_rows
    key = pc.binary_join_element_wise(
        events["encounter_id"],
        pc.fill_null(events["line"].cast(pa.string()), ""),
        pc.fill_null(events["carc"], ""),
        "\x1f",
    )
    own, _ = encode(key)  # each event's own item, coded in order of first appearance
    own = own.astype(np.int64)
    n_items = int(own.max()) + 1 if n else 0
    own_first = np.full(n_items, n, np.int64)
    np.minimum.at(own_first, own, np.arange(n))
    keys = {name: take(events[name], own_first) for name in ITEM_KEY}
    # (event, item) pairs: an event applies to its own item and to every narrower one
    pos, item = _applies(own, keys)
    kind = events["kind"]

    def last(mask) -> np.ndarray:
        """Per item, the position of its latest event where ``mask`` holds (-1: none)."""
        out = np.full(n_items, -1, np.int64)
        hit = mask[pos]
        np.maximum.at(out, item[hit], pos[hit])
        return out

    def is_kind(name: str) -> np.ndarray:
        return numpy_array(pc.fill_null(pc.equal(kind, name), False))

    overturned = numpy_array(pc.fill_null(pc.equal(events["outcome"], "overturned"), False))
    status_of_event = pc.if_else(
        pa.array(is_kind("appeal")),
        "appealed",
        pc.if_else(pa.array(is_kind("outcome") & overturned), "resolved", events["status"]),
    )
    sets_status = is_kind("status") | is_kind("appeal") | (is_kind("outcome") & overturned)
    status = pc.fill_null(take(status_of_event, last(sets_status)), "new")
    appeal = last(is_kind("appeal"))
    outcome = last(is_kind("outcome"))
    resubmitted = is_kind("status") & numpy_array(
        pc.fill_null(pc.equal(events["status"], "resubmitted"), False)
    )
    anchor = np.maximum(appeal, last(resubmitted))  # the latest appeal or resubmission
    # a person's unlink since the anchor (and no link after it) stops the payment link
    unlink = last(is_kind("unlink"))
    unlinked = (unlink > anchor) & (unlink > last(is_kind("link")))
    at_of = np.append(at[order], np.iinfo(np.int64).min)  # position -1: long ago
    recovered = pc.fill_null(take(events["outcome_cents"], outcome), 0)
    source = pc.if_else(pa.array(outcome >= 0), "person", pa.scalar(None, pa.string()))
    outcome_col = take(events["outcome"], outcome)
    paid = np.zeros(n_items, np.int64)
    if ledger is not None:
        paid, paid_at, cleared = _paid_after(
            ledger, keys, np.where(anchor >= 0, at_of[anchor], -1)
        )
        linked = (anchor >= 0) & (outcome < anchor) & (paid > 0) & ~unlinked
        full = linked & cleared
        recovered = pc.if_else(pa.array(linked), pa.array(paid), recovered)
        source = pc.if_else(pa.array(linked), "payments", source)
        outcome_col = pc.if_else(
            pa.array(linked),
            pc.if_else(pa.array(full), "overturned", "partial"),
            outcome_col,
        )
        paid_resolves = full & (at_of[last(sets_status)] < paid_at)
        status = pc.if_else(pa.array(paid_resolves), "resolved", status)
    latest = last(np.ones(n, bool))
    first = np.full(n_items, n, np.int64)
    np.minimum.at(first, item, pos)
    cols = dict(keys)
    cols.update(
        status=status,
        owner=take(events["owner"], last(is_kind("assign"))),
        follow_up=take(events["follow_up"], last(is_kind("follow_up"))),
        appeal_level=take(events["appeal_level"], appeal),
        appeal_method=take(events["appeal_method"], appeal),
        appeal_filed=take(events["appeal_filed"], appeal),
        appeals=pa.array(np.bincount(item[is_kind("appeal")[pos]], minlength=n_items)),
        outcome=outcome_col,
        recovered_cents=recovered,
        outcome_source=source,
        paid_after_appeal_cents=pa.array(paid),
        opened_at=take(events["at"], first),
        last_event_at=take(events["at"], latest),
        last_event=take(kind, latest),
        last_actor=take(events["actor"], latest),
        events=pa.array(np.bincount(item, minlength=n_items)),
        closed=pc.is_in(status, value_set=pa.array(CLOSED_STATUSES)),
    )
    return pa.table({k: _chunk(v) for k, v in cols.items()})


def take(column, positions: np.ndarray):
    """``column[positions]``, null where a position is -1."""
    return column.take(pa.array(positions, mask=positions < 0))


def _applies(own: np.ndarray, keys: dict) -> tuple[np.ndarray, np.ndarray]:
    """(event position, item) of every event and item it applies to, in event order:
    an event on ``(e, line, carc)`` applies to each item of ``e`` whose line and
    CARC equal its own where it names one (so an encounter's owner is every
    line's owner until a line gets its own)."""
    enc = encode(keys["encounter_id"])[0].astype(np.int64)
    line = numpy_array(keys["line"], fill=-1, dtype=np.int64)  # -1: no line named
    carc = encode(keys["carc"])[0].astype(np.int64)  # -1: no CARC named
    # every (item, item of the same encounter) pair, items of an encounter in order
    by_enc = np.argsort(enc, kind="stable")
    sorted_enc = enc[by_enc]
    first = np.searchsorted(sorted_enc, enc, side="left")
    size = np.searchsorted(sorted_enc, enc, side="right") - first
    i = np.repeat(np.arange(len(enc)), size)
    within = np.arange(len(i)) - np.repeat(np.cumsum(size) - size, size)
    j = by_enc[np.repeat(first, size) + within]
    covers = ((line[i] < 0) | (line[i] == line[j])) & ((carc[i] < 0) | (carc[i] == carc[j]))
    counts = np.bincount(i[covers], minlength=len(enc)).astype(np.int64)
    flat = j[covers].astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(counts) else counts
    per_event = counts[own]
    pos = np.repeat(np.arange(len(own)), per_event)
    within = np.arange(len(pos)) - np.repeat(np.cumsum(per_event) - per_event, per_event)
    return pos, flat[starts[own][pos] + within] if len(pos) else pos


def _chunk(column) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _events(store_or_events, as_of, ledger) -> tuple[pa.Table, int | None, object]:
    """The events to fold, the cutoff (microseconds since the epoch, UTC) or None, and
    the ledger as of the same time (or None)."""
    if hasattr(store_or_events, "work_events"):
        store = store_or_events
        if isinstance(as_of, int | np.integer):
            ledger = store.ledger(int(as_of)) if ledger is None else ledger
            return events_table(store.work_events(int(as_of))), None, ledger
        events = events_table(store.work_events())
        ledger = store.ledger() if ledger is None else ledger
    elif isinstance(store_or_events, pa.Table | list):
        events = store_or_events
        if isinstance(events, list):  # rows as dicts: every field, whichever rows have it
            events = pa.Table.from_pylist(events, schema=events_table(pa.table({})).schema)
        events = events_table(events)
        if isinstance(as_of, int | np.integer):
            raise TypeError("work_items: an integer as_of (a store version) needs a store")
        for name in ("at", "encounter_id", "kind", "actor"):
            if events[name].null_count:
                raise ValueError(f"work_items: events need '{name}' on every row")
        unknown = pc.invert(pc.is_in(events["kind"], value_set=pa.array(KINDS)))
        if pc.any(unknown).as_py():
            raise ValueError(f"work_items: an event's kind is not one of {', '.join(KINDS)}")
    else:
        raise TypeError("work_items: give a LedgerStore, or work events as a table or dicts")
    if as_of is None:
        return events, None, ledger
    cutoff = pa.scalar(utc_timestamp(as_of), TIMESTAMP).cast(pa.int64()).as_py()
    return events, cutoff, None if ledger is None else ledger.as_of(as_of)


def _paid_after(ledger, keys: dict, since: np.ndarray):
    """Per item: payers' net payments on its line (its encounter's lines when it names
    none) posted after ``since`` (microseconds; -1: no appeal, nothing linked), the
    time of the latest, and whether its payer balance is now 0 or less."""
    n = len(since)
    anchored = since >= 0
    if not anchored.any():
        return np.zeros(n, np.int64), np.full(n, np.iinfo(np.int64).min, np.int64), anchored
    money = Payments(ledger, keys["encounter_id"])
    never = np.full(n, np.iinfo(np.int64).max, np.int64)
    paid, paid_at, _, _ = money.windows(keys["line"], since, never)
    paid = np.where(anchored, paid, 0)
    paid_at = np.where(anchored & (paid_at >= 0), paid_at, np.iinfo(np.int64).min)
    return paid, paid_at, anchored & money.cleared(keys["line"])


def join_work(worklist: pa.Table, items: pa.Table) -> pa.Table:
    """Add the :data:`WORK_COLUMNS` of each worklist row's work item.

    A row (one encounter, explained by a line and a CARC) takes the item that
    covers it most closely: its line and CARC, its line, its CARC, then the
    encounter. Work on other lines only (seen in :func:`work_items`) does not
    mark the row: its status there says nothing about the line the row is
    about. Rows without one are ``new``, unowned, with no follow-up.
    """
    rows = _covering_items(worklist, items)
    idx = pa.array(rows, mask=rows < 0)
    out = worklist
    for name in WORK_COLUMNS:
        col = items[name].take(idx)
        if name == "status":
            col = pc.fill_null(col, "new")
        elif name == "recovered_cents":
            col = pc.fill_null(col, 0)
        out = out.append_column(name, col)
    return out


def _covering_items(worklist: pa.Table, items: pa.Table) -> np.ndarray:
    """Per worklist row, the item covering it most closely (-1: none), as
    :func:`join_work` says; items coded by their encounter, line and CARC codes."""
    n = worklist.num_rows
    if not items.num_rows or not n:
        return np.full(n, -1, np.int64)
    worked = pc.unique(_chunk(items["encounter_id"]).cast(pa.string()))
    item_enc = codes_in(items["encounter_id"], worked).astype(np.int64)
    row_enc = codes_in(worklist["encounter_id"], worked).astype(np.int64)
    item_line = numpy_array(items["line"], fill=-1, dtype=np.int64)
    row_line = numpy_array(worklist["line"], fill=-1, dtype=np.int64)
    carcs = pc.unique(_chunk(items["carc"]).drop_null().cast(pa.string()))
    item_carc = codes_in(items["carc"], carcs).astype(np.int64)  # -1: no CARC named
    row_carc = codes_in(worklist["carc"], carcs).astype(np.int64)
    row_carc = np.where(valid_array(worklist["carc"]) & (row_carc < 0), -2, row_carc)
    n_line = int(max(item_line.max(), row_line.max())) + 2
    n_carc = len(carcs) + 2

    def code(enc, line, carc):
        return (enc * n_line + (line + 1)) * n_carc + (carc + 2)

    item_code = code(item_enc, item_line, item_carc)
    order = np.argsort(item_code, kind="stable")
    ordered = item_code[order]
    out = np.full(n, -1, np.int64)
    none = np.full(n, -1, np.int64)
    for line, carc in ((row_line, row_carc), (row_line, none), (none, row_carc), (none, none)):
        q = code(row_enc, line, carc)
        at = np.minimum(np.searchsorted(ordered, q), len(ordered) - 1)
        hit = (out < 0) & (row_enc >= 0) & (ordered[at] == q)
        out[hit] = order[at[hit]]
    return out


def filter_work(worklist: pa.Table, *, owner=None, status=None, due_by=None) -> pa.Table:
    """Keep the worklist rows of these owners, these statuses, and open items with
    a follow-up due on or before ``due_by`` (a date)."""
    keep = pa.array(np.ones(worklist.num_rows, bool))
    if owner is not None:
        owners = [owner] if isinstance(owner, str) else list(owner)
        keep = pc.and_(
            keep, pc.fill_null(pc.is_in(worklist["owner"], pa.array(owners, pa.string())), False)
        )
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        unknown = [s for s in statuses if s not in STATUSES]
        if unknown:
            raise ValueError(f"status: use one of {', '.join(STATUSES)}")
        keep = pc.and_(keep, pc.is_in(worklist["status"], pa.array(statuses, pa.string())))
    if due_by is not None:
        day = pa.scalar(as_date(due_by, "due_by"), pa.date32())
        due = pc.fill_null(pc.less_equal(worklist["follow_up"], day), False)
        open_ = pc.invert(pc.is_in(worklist["status"], pa.array(CLOSED_STATUSES)))
        keep = pc.and_(keep, pc.and_(due, open_))
    return worklist.filter(keep)
