"""Appeal attempts as arrays: the ground the lifecycle metrics stand on.

Every attempt (a row of :func:`ledgerkit.appeal_outcomes`) with its grouped
procedure, denial reason, item and level, kept per (ledger, work events table);
the items (encounter, optionally line and CARC) they belong to, the lines those
items name and the days ``status`` events closed them. ``analytics.lifecycle_metrics``
defines the words (appealed denial, overturned, dimensions).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.analytics.appeal_outcomes import appeal_outcomes
from ledgerkit.analytics.derived import per_work
from ledgerkit.analytics.facts import Dims, Grouping, parse_by
from ledgerkit.analytics.work_items import _events, work_items
from ledgerkit.core.arrow import US_PER_DAY, codes_in, encode, numpy_array

__all__ = [
    "LEVELS",
    "Attempts",
    "attempts",
    "attempt_grouping",
    "by_with_owner",
    "closing_days",
    "item_lines",
    "work_inputs",
]

LEVELS = ("1", "2", "external", "resubmission")
_WON = ("overturned", "partial")


def work_inputs(ledger, work):
    """(ledger, work events): a LedgerStore gives both, else ``work`` must be given."""
    if hasattr(ledger, "work_events"):
        work = ledger if work is None else work
        ledger = ledger.ledger()
    if work is None:
        raise ValueError("give work events (work=) or a LedgerStore: outcomes come from them")
    return ledger, work


def attempts(ledger, work, policy, catalog) -> Attempts:
    """The attempts of ``work`` on ``ledger``, kept per events table (``per_work``)."""
    if catalog is not None:
        return Attempts(ledger, work, policy, catalog)
    build = lambda: Attempts(ledger, work, policy, None)  # noqa: E731
    return per_work(ledger, work, "attempts", build, policy)


class Attempts:
    """Every attempt (appeal_outcomes row) with its line, reason and item, as arrays."""

    def __init__(self, ledger, work, policy, catalog):
        self.table = t = appeal_outcomes(work, ledger=ledger)
        self.work = work
        self.dims = dims = Dims(ledger, catalog, policy)
        f = dims.facts
        keys = ledger.keys
        enc = codes_in(t["encounter_id"], ledger.encounters["encounter_id"].cast(pa.string())
                       .combine_chunks())  # fmt: skip
        line = numpy_array(t["line"], fill=-1, dtype=np.int64)
        denied_line = np.where(
            keys.enc_n_payers[f.proc_enc] >= 1, np.maximum(f.first_denied, 0), 0
        )
        proc, denied = item_lines(keys, f.proc_enc, denied_line, enc, line)
        known = proc >= 0
        carc = t["carc"]
        reason = np.where(known, f.first_reason[np.maximum(proc, 0)], -1).astype(np.int64)
        if len(f.carc_values):
            named = codes_in(carc, pa.array([str(v) for v in f.carc_values], pa.string()))
            reason = np.where(numpy_array(pc.is_valid(carc)) & (named >= 0), named, reason)
        self.proc, self.reason, self.denied, self.known = proc, reason, denied, known
        self.enc = enc
        item_key = pc.binary_join_element_wise(
            t["encounter_id"], pc.fill_null(t["line"].cast(pa.string()), ""),
            pc.fill_null(carc, ""), "\x1f",
        )  # fmt: skip
        self.item = encode(item_key)[0].astype(np.int64)
        self.won = numpy_array(pc.fill_null(pc.is_in(t["outcome"], pa.array(_WON)), False))
        self.recovered = numpy_array(t["recovered_cents"], dtype=np.int64)
        level = pc.if_else(pc.equal(t["kind"], "appeal"), t["appeal_level"], "resubmission")
        self.level = codes_in(level, pa.array(LEVELS, pa.string()))  # -1: another level
        self.filed_day = numpy_array(t["filed_at"].cast(pa.int64()), dtype=np.int64) // US_PER_DAY
        decided = t["decided_at"].cast(pa.int64())
        self.decided_day = numpy_array(decided, fill=-1, dtype=np.int64)
        self.decided_day = np.where(self.decided_day >= 0, self.decided_day // US_PER_DAY, -1)

    def items(self):
        """Per item: its first attempt (representative), any win, recovered cents
        (capped), denied cents and the day of its first winning decision."""
        n_items = int(self.item.max()) + 1 if len(self.item) else 0
        first = np.full(n_items, len(self.item), np.int64)
        np.minimum.at(first, self.item, np.arange(len(self.item)))
        won = np.zeros(n_items, bool)
        np.logical_or.at(won, self.item, self.won)
        rec = np.zeros(n_items, np.int64)
        np.add.at(rec, self.item, np.where(self.won, self.recovered, 0))
        denied = self.denied[first]
        win_day = np.full(n_items, np.iinfo(np.int64).max, np.int64)
        hit = self.won & (self.decided_day >= 0)
        np.minimum.at(win_day, self.item[hit], self.decided_day[hit])
        return first, won, np.minimum(rec, denied), denied, win_day

    def columns(self, by, rows):
        proc = np.maximum(self.proc[rows], 0)
        plain = tuple(d for d in by if d != "owner")
        cols = self.dims.columns(plain, proc=proc, reason=self.reason[rows])
        if "owner" in by:
            cols.insert(by.index("owner"), ("owner", *self.owners(rows)))
        return cols

    def owners(self, rows):
        """(codes, labels) of the current owner of each attempt's item (null: none)."""
        items = work_items(self.work)
        key = {(e, ln, c): o for e, ln, c, o in zip(
            items["encounter_id"].to_pylist(), items["line"].to_pylist(),
            items["carc"].to_pylist(), items["owner"].to_pylist(), strict=True)}  # fmt: skip
        t = self.table
        enc, line, carc = (t[n].to_pylist() for n in ("encounter_id", "line", "carc"))
        owner = [key.get((enc[i], line[i], carc[i])) for i in rows]
        labels = sorted({o for o in owner if o is not None}) + [None]
        index = {v: i for i, v in enumerate(labels)}
        return np.array([index[o] for o in owner], np.int32), labels


def by_with_owner(by) -> tuple:
    """``by`` with ``owner`` (the item's current owner) besides the analytics dimensions."""
    names = (by,) if isinstance(by, str) else tuple(by or ())
    parse_by([d for d in names if d != "owner"])
    if names.count("owner") > 1:
        raise ValueError(f"by: a dimension appears twice in {names}")
    return names


def attempt_grouping(a: Attempts, by, rows) -> Grouping:
    """The grouping of attempts ``rows`` by ``by`` (no ``by``: every row in one group)."""
    if not by:
        return Grouping([], mask=np.ones(len(rows), np.bool_))
    return Grouping(a.columns(by, rows))


def item_lines(keys, proc_enc, denied_line, enc, line):
    """Per item (encounter row, line or -1): its grouped procedure (for an encounter,
    the line with the largest first-response denial) and its denied cents (every
    line's, for an encounter); -1 and 0 where the ledger has no such line."""
    n_line = int(keys.proc_line.max()) + 2 if len(keys.proc_line) else 2
    code = proc_enc.astype(np.int64) * n_line + keys.proc_line  # ascending: grouped order
    known = enc >= 0
    want = np.where(known, enc * n_line + np.maximum(line, 0), -1)
    at = np.minimum(np.searchsorted(code, want), max(len(code) - 1, 0))
    found = known & (line >= 0) & (len(code) > 0)
    if len(code):
        found &= code[at] == want
    proc = np.where(found, at, -1)
    denied = np.where(found, denied_line[np.maximum(proc, 0)], 0)
    # encounter-level items: the largest denial names the line (the first on ties),
    # every line's counts
    starts = keys.enc_proc_start
    lead = np.full(keys.n_encounters, -1, np.int64)
    has = np.flatnonzero(np.diff(starts) > 0)
    if len(has):
        top = np.maximum.reduceat(denied_line, starts[has])
        best = np.zeros(keys.n_encounters, denied_line.dtype)
        best[has] = top
        pos = np.flatnonzero(denied_line == best[proc_enc])
        e = proc_enc[pos]
        firsts = pos[np.concatenate([[True], e[1:] != e[:-1]])]
        lead[proc_enc[firsts]] = firsts
    running = np.concatenate([[0], np.cumsum(denied_line)])
    total = running[starts[1:]] - running[starts[:-1]]
    whole = known & (line < 0)
    proc = np.where(whole, lead[np.maximum(enc, 0)], proc)
    denied = np.where(whole, total[np.maximum(enc, 0)], denied)
    return proc.astype(np.int64), denied.astype(np.int64)


def closing_days(work, a: Attempts, first) -> np.ndarray:
    """Per item, the day of the first ``status`` event that resolved or wrote it off."""
    events, _, _ = _events(work, None, None)
    closing = events.filter(
        pc.and_(pc.equal(events["kind"], "status"),
                pc.is_in(events["status"], pa.array(["resolved", "written_off"])))
    )  # fmt: skip
    days = numpy_array(closing["at"].cast(pa.int64()), dtype=np.int64) // US_PER_DAY
    items = a.table.take(pa.array(first))
    m = closing.num_rows
    enc, _ = encode(pa.concat_arrays([_plain(closing["encounter_id"]),
                                      _plain(items["encounter_id"])]))  # fmt: skip
    carc, _ = encode(pa.concat_arrays([_plain(closing["carc"]), _plain(items["carc"])]))
    line = np.concatenate([numpy_array(closing["line"], fill=-1, dtype=np.int64),
                           numpy_array(items["line"], fill=-1, dtype=np.int64)])  # fmt: skip
    n_line = int(line.max()) + 2 if len(line) else 1
    n_carc = int(carc.max()) + 2 if len(carc) else 1

    def code(e, ln, c):
        return (e.astype(np.int64) * n_line + (ln + 1)) * n_carc + (c.astype(np.int64) + 1)

    out = np.full(len(first), np.iinfo(np.int64).max, np.int64)
    if not m:
        return out
    keys, inv = np.unique(code(enc[:m], line[:m], carc[:m]), return_inverse=True)
    earliest = np.full(len(keys), np.iinfo(np.int64).max, np.int64)
    np.minimum.at(earliest, inv, days)
    e, ln, c = enc[m:], line[m:], carc[m:]
    none = np.full(len(e), -1)
    for q in (code(e, ln, c), code(e, ln, none), code(e, none, c), code(e, none, none)):
        i = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
        out = np.where(keys[i] == q, np.minimum(out, earliest[i]), out)
    return out


def _plain(column) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
