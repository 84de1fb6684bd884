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

from ledgerkit.analytics.balances import balances
from ledgerkit.analytics.work_items import _events
from ledgerkit.core.arrow import numpy_array
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
    events, cutoff, ledger = _events(store_or_events, as_of, ledger)
    at = numpy_array(events["at"].cast(pa.int64()), fill=0, dtype=np.int64)
    if cutoff is not None:
        keep = at <= cutoff
        events, at = events.filter(pa.array(keep)), at[keep]
    order = np.argsort(at, kind="stable")
    events, at = events.take(pa.array(order)), at[order]
    rows = events.select(
        ["encounter_id", "line", "carc", "kind", "status", "appeal_level", "outcome",
         "outcome_cents"]
    ).to_pylist()  # fmt: skip
    by_enc: dict = {}
    for i, r in enumerate(rows):
        by_enc.setdefault(r["encounter_id"], []).append(i)
    attempts = [
        i for i, r in enumerate(rows)
        if r["kind"] == "appeal" or (r["kind"] == "status" and r["status"] == "resubmitted")
    ]  # fmt: skip
    money = _Payments(ledger, {rows[i]["encounter_id"] for i in attempts})
    out = {name: [] for name in OUTCOME_COLUMNS}
    count: dict = {}
    following: dict = {}  # attempt -> the next attempt on the same item
    seen: dict = {}
    for i in reversed(attempts):
        key = (rows[i]["encounter_id"], rows[i]["line"], rows[i]["carc"])
        following[i] = seen.get(key)
        seen[key] = i
    for i in attempts:
        r = rows[i]
        key = (r["encounter_id"], r["line"], r["carc"])
        nxt = following[i]
        end = at[nxt] if nxt is not None else _NEVER
        later = nxt is not None
        inside = [
            j for j in by_enc[r["encounter_id"]]
            if j > i and (nxt is None or j < nxt)
            and rows[j]["line"] in (None, r["line"]) and rows[j]["carc"] in (None, r["carc"])
        ]  # fmt: skip
        switches = [j for j in inside if rows[j]["kind"] in ("link", "unlink")]
        linked = not switches or rows[switches[-1]]["kind"] == "link"
        ids, refs, paid, paid_at = money.window(r["encounter_id"], r["line"], at[i], end)
        person = [j for j in inside if rows[j]["kind"] == "outcome"]
        if person:
            j = person[-1]
            outcome, source = rows[j]["outcome"], "person"
            cents, decided = int(rows[j]["outcome_cents"] or 0), at[j]
        elif linked and paid > 0:
            cleared = not later and money.cleared(r["encounter_id"], r["line"])
            outcome, source = ("overturned" if cleared else "partial"), "payments"
            cents, decided = paid, paid_at
        else:
            outcome = source = decided = None
            cents = 0
        count[key] = count.get(key, 0) + 1
        values = (
            r["encounter_id"], r["line"], r["carc"], count[key],
            "appeal" if r["kind"] == "appeal" else "resubmission", r["appeal_level"], at[i],
            None if end == _NEVER else end, linked, paid, ids, refs, outcome, source, cents,
            decided,
        )  # fmt: skip
        for name, value in zip(OUTCOME_COLUMNS, values, strict=True):
            out[name].append(value)
    types = {
        "line": pa.int32(), "attempt": pa.int32(), "filed_at": pa.int64(),
        "window_end": pa.int64(), "paid_cents": pa.int64(), "recovered_cents": pa.int64(),
        "decided_at": pa.int64(), "entry_ids": pa.list_(pa.int64()),
        "remit_refs": pa.list_(pa.string()), "linked": pa.bool_(),
    }  # fmt: skip
    cols = {k: pa.array(v, types.get(k, pa.string())) for k, v in out.items()}
    for name in ("filed_at", "window_end", "decided_at"):
        cols[name] = cols[name].cast(TIMESTAMP)
    return pa.table(cols)


class _Payments:
    """The payers' payment entries of some encounters, and their lines' payer balances."""

    def __init__(self, ledger, encounters: set):
        self.rows: dict = {}
        self.owed: dict = {}
        if ledger is None or not encounters:
            return
        wanted = pa.array(sorted(encounters), pa.string())
        e = ledger.entries
        pick = pc.and_(
            pc.and_(
                pc.equal(e["kind"].cast(pa.string()), "payment"), pc.greater(e["payer_seq"], 0)
            ),
            pc.is_in(e["encounter_id"].cast(pa.string()), value_set=wanted),
        )
        e = e.filter(pick)
        self.line = numpy_array(e["line"], dtype=np.int64)
        self.at = numpy_array(e["posted_at"].cast(pa.int64()), dtype=np.int64)
        self.cents = numpy_array(e["amount_cents"], dtype=np.int64)
        self.ids = numpy_array(e["entry_id"], dtype=np.int64)
        self.refs = e["remit_ref"].cast(pa.string()).to_pylist()
        for r, x in enumerate(e["encounter_id"].cast(pa.string()).to_pylist()):
            self.rows.setdefault(x, []).append(r)
        procs = balances(ledger)
        enc = procs["encounter_id"].cast(pa.string())
        keep = pc.is_in(enc, value_set=wanted)
        mine = procs.filter(keep)
        for x, ln, bal in zip(enc.filter(keep).to_pylist(), mine["line"].to_pylist(),
                              mine["payer_balance"].to_pylist(), strict=True):  # fmt: skip
            self.owed[(x, ln)] = bal
            self.owed[(x, None)] = self.owed.get((x, None), 0) + bal

    def window(self, enc, line, start: int, end: int):
        """(entry ids, remit refs, net cents, latest time) of payments in (start, end]."""
        rows = np.array(self.rows.get(enc, []), np.int64)
        if not len(rows):
            return [], [], 0, None
        hit = rows[(self.at[rows] > start) & (self.at[rows] <= end)]
        if line is not None:
            hit = hit[self.line[hit] == line]
        if not len(hit):
            return [], [], 0, None
        refs = [self.refs[h] for h in hit]
        return self.ids[hit].tolist(), refs, int(self.cents[hit].sum()), int(self.at[hit].max())

    def cleared(self, enc, line) -> bool:
        return self.owed.get((enc, line), 1) <= 0
