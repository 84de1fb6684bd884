"""Appeal outcomes, ``ledgerkit.appeal_outcomes``: each appeal or resubmission and
the money that answered it (issue #16).

An *attempt* is an ``appeal`` event, or a ``status`` event setting
``resubmitted``, on a work item (an encounter, optionally narrowed to a line and
a CARC; see :func:`ledgerkit.work_items`). Its *window* runs from the attempt
to the next attempt on the same item (open for the latest). Within it:

linked payments
    the payers' payment entries (``payer_seq`` 1-3, ``kind`` payment, including
    negations, so a reversal and repost counts the difference) on the item's
    line (every line of the encounter for an encounter-level item) posted in
    the window. Their ids and remits are the explicit link
    (``entry_ids``, ``remit_refs``); ``paid_cents`` is their sum.
outcome
    a person's ``outcome`` event in the window (on the item or an item covering
    it; the latest wins) decides: ``outcome_source`` ``person``, its cents.
    Otherwise, when the payments are linked and ``paid_cents`` > 0, the
    payments decide (``payments``): ``overturned`` when the line's payer
    balance is now 0 or less and the attempt is the item's latest, else
    ``partial``, recovering ``paid_cents``. No outcome yet: null (pending).
    ``decided_at``: the person's event, or the latest linked payment.
linked
    ``False`` after an ``unlink`` event in the window with no ``link`` after it
    (a person says the payments answered something else): payments are then
    listed but recover nothing.

Example: a line denied $120.00 is appealed (level 1) on 3 March; the payer's
835 of 2 April pays $80.00 with CO-45 $40.00. The attempt is overturned,
source ``payments``, recovered 8000 cents, decided 2 April, linked to that
payment entry.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.analytics.derived import per_work
from ledgerkit.analytics.linked_payments import Payments
from ledgerkit.analytics.work_items import _events
from ledgerkit.core.arrow import encode, numpy_array
from ledgerkit.core.schema import TIMESTAMP

__all__ = ["appeal_outcomes", "OUTCOME_COLUMNS"]

OUTCOME_COLUMNS = (
    "encounter_id", "line", "carc", "attempt", "kind", "appeal_level", "filed_at",
    "window_end", "linked", "paid_cents", "entry_ids", "remit_refs", "outcome",
    "outcome_source", "recovered_cents", "decided_at",
)  # fmt: skip
_NEVER = np.iinfo(np.int64).max


def appeal_outcomes(store_or_events, as_of=None, *, ledger=None) -> pa.Table:
    """Every appeal and resubmission with the payments linked to it (module notes).

    Parameters
    ----------
    store_or_events : LedgerStore, pyarrow.Table or list of dict
        A store, or work events as the store keeps them.
    as_of : date, datetime, str or int, optional
        Events and entries up to this time (an integer: a store version).
    ledger : Ledger, optional
        Where the payments are (a store's own ledger by default). Without one,
        only people's outcomes count.

    Returns
    -------
    pyarrow.Table
        One row per attempt, in time order: :data:`OUTCOME_COLUMNS`
        (``attempt`` counts from 1 per item; ``kind`` is ``appeal`` or
        ``resubmission``; ``window_end`` is null for an item's latest).

    Examples
    --------
    >>> import datetime as dt
    >>> t = lambda d: dt.datetime(2026, 11, d, tzinfo=dt.UTC)
    >>> events = [
    ...     {"at": t(3), "encounter_id": "E1", "line": 1, "kind": "appeal",
    ...      "appeal_level": "1", "appeal_method": "fax", "actor": "ana"},
    ...     {"at": t(9), "encounter_id": "E1", "kind": "outcome", "outcome": "upheld",
    ...      "outcome_cents": 0, "actor": "ana"}]
    >>> appeal_outcomes(events).select(["attempt", "outcome", "recovered_cents"]).to_pylist()
    [{'attempt': 1, 'outcome': 'upheld', 'recovered_cents': 0}]
    """
    if as_of is None:  # kept per (ledger, events table): the metrics ask again and again
        build = lambda: _appeal_outcomes(store_or_events, None, ledger)  # noqa: E731
        return per_work(ledger, store_or_events, "appeal_outcomes", build)
    return _appeal_outcomes(store_or_events, as_of, ledger)


def _appeal_outcomes(store_or_events, as_of, ledger) -> pa.Table:
    events, cutoff, ledger = _events(store_or_events, as_of, ledger)
    at = numpy_array(events["at"].cast(pa.int64()), fill=0, dtype=np.int64)
    if cutoff is not None:
        keep = at <= cutoff
        events, at = events.filter(pa.array(keep)), at[keep]
    order = np.argsort(at, kind="stable")  # time order; recorded order breaks ties
    events, at = events.take(pa.array(order)), at[order]
    n = events.num_rows
    kind = events["kind"]

    def is_(name, column=kind):
        return numpy_array(pc.fill_null(pc.equal(column, name), False))

    attempt = is_("appeal") | (is_("status") & is_("resubmitted", events["status"]))
    keys = _Keys(events)
    att = np.flatnonzero(attempt)
    # the next attempt on the same item ends each window (n: open)
    own = keys.exact[att]
    by_item = np.lexsort((att, own))
    nxt = np.full(len(att), n, np.int64)
    same = own[by_item][1:] == own[by_item][:-1]
    nxt[by_item[:-1][same]] = att[by_item[1:][same]]
    end_at = np.where(nxt < n, at[np.minimum(nxt, max(n - 1, 0))], _NEVER)
    # a person's latest outcome, and latest link/unlink, in the window on a covering item
    person = keys.latest_in(is_("outcome"), att, att, nxt)
    switch = keys.latest_in(is_("link") | is_("unlink"), att, att, nxt)
    linked = (switch < 0) | is_("link")[np.maximum(switch, 0)]
    money = Payments(ledger, events["encounter_id"].take(pa.array(att)))
    line = events["line"].take(pa.array(att))
    paid, paid_at, ids, refs = money.windows(line, at[att], end_at)
    latest = nxt == n
    cleared = latest & money.cleared(line)
    by_person = person >= 0
    by_money = ~by_person & linked & (paid > 0)
    outcome = pc.if_else(
        pa.array(by_person),
        events["outcome"].take(pa.array(np.maximum(person, 0))),
        pc.if_else(pa.array(by_money), pc.if_else(pa.array(cleared), "overturned", "partial"),
                   pa.scalar(None, pa.string())),
    )  # fmt: skip
    person_cents = numpy_array(
        pc.fill_null(events["outcome_cents"].take(pa.array(np.maximum(person, 0))), 0),
        dtype=np.int64,
    )
    cents = np.where(by_person, person_cents, np.where(by_money, paid, 0))
    decided = np.where(by_person, at[np.maximum(person, 0)], paid_at)
    source = pc.if_else(
        pa.array(by_person), "person",
        pc.if_else(pa.array(by_money), "payments", pa.scalar(None, pa.string())),
    )  # fmt: skip
    rank = np.empty(len(att), np.int64)  # attempt number per item
    sorted_own = own[by_item]
    starts = np.r_[0, np.flatnonzero(sorted_own[1:] != sorted_own[:-1]) + 1]
    run = np.arange(len(att)) - np.repeat(starts, np.diff(np.r_[starts, len(att)]))
    rank[by_item] = run + 1
    take = pa.array(att)
    cols = {
        "encounter_id": events["encounter_id"].take(take),
        "line": line,
        "carc": events["carc"].take(take),
        "attempt": pa.array(rank.astype(np.int32)),
        "kind": pc.if_else(pa.array(is_("appeal")[att]), "appeal", "resubmission"),
        "appeal_level": events["appeal_level"].take(take),
        "filed_at": pa.array(at[att]).cast(TIMESTAMP),
        "window_end": pa.array(end_at, mask=~(nxt < n)).cast(TIMESTAMP),
        "linked": pa.array(linked),
        "paid_cents": pa.array(paid),
        "entry_ids": ids,
        "remit_refs": refs,
        "outcome": outcome,
        "outcome_source": source,
        "recovered_cents": pa.array(cents),
        "decided_at": pa.array(decided, mask=~(by_person | by_money)).cast(TIMESTAMP),
    }
    return pa.table({k: _plain(v) for k, v in cols.items()})


def _plain(column) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


class _Keys:
    """Integer codes of each event's item and of the items covering it.

    An event on ``(e, line, carc)`` covers every item of ``e`` whose line and
    CARC equal its own where it names one; the items covering ``(e, l, c)`` are
    ``(e, l, c)``, ``(e, l, -)``, ``(e, -, c)`` and ``(e, -, -)``.
    """

    def __init__(self, events: pa.Table):
        enc, _ = encode(events["encounter_id"])
        line = numpy_array(events["line"], fill=-1, dtype=np.int64)
        carc, _ = encode(events["carc"])
        self.enc, self.line, self.carc = enc.astype(np.int64), line, carc.astype(np.int64)
        self.n_line = int(line.max()) + 2 if len(line) else 1
        self.n_carc = int(self.carc.max()) + 2 if len(line) else 1
        self.exact = self.code(self.enc, self.line, self.carc)

    def code(self, enc, line, carc) -> np.ndarray:
        return (enc * self.n_line + (line + 1)) * self.n_carc + (carc + 1)

    def latest_in(self, mask, rows, lo, hi) -> np.ndarray:
        """Per query row, the latest position p with ``mask[p]``, ``lo < p < hi`` and an
        item covering the row's (-1: none)."""
        events = np.flatnonzero(mask)
        out = np.full(len(rows), -1, np.int64)
        if not len(events) or not len(rows):
            return out
        n = len(mask) + 1
        composite = np.sort(self.exact[events] * n + events)
        e, ln, c = self.enc[rows], self.line[rows], self.carc[rows]
        for line, carc in ((ln, c), (ln, -1), (-1, c), (-1, -1)):
            key = self.code(e, line if np.ndim(line) else np.full(len(e), line),
                            carc if np.ndim(carc) else np.full(len(e), carc))  # fmt: skip
            i = np.searchsorted(composite, key * n + hi, side="left") - 1
            ok = i >= 0
            found = composite[np.maximum(i, 0)]
            ok &= (found // n == key) & (found % n > lo)
            out = np.where(ok, np.maximum(out, found % n), out)
        return out
