"""Metrics from real appeal outcomes (issue #16): overturn and recovery, win rate by
appeal level, days to resolution and the likelihood of recovery.

They read a ledger and its work events (a :class:`~ledgerkit.store.LedgerStore`
gives both) through :func:`ledgerkit.appeal_outcomes`. Words used below:

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
    ``by=`` takes the analytics dimensions (:data:`ledgerkit.analytics.facts.DIMENSIONS`:
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

from ledgerkit.analytics.appeal_outcomes import appeal_outcomes
from ledgerkit.analytics.derived import per_work
from ledgerkit.analytics.facts import (
    NO_DAY,
    Dims,
    Grouping,
    group_quantiles,
    grouped,
    parse_by,
    ratio,
)
from ledgerkit.analytics.work_items import _events, work_items
from ledgerkit.core.arrow import US_PER_DAY, codes_in, encode, numpy_array
from ledgerkit.core.catalog import CATEGORIES

__all__ = [
    "appeal_overturn_rate",
    "appeal_win_rate",
    "appeal_days_to_resolution",
    "recovery_likelihood",
    "likelihood_of",
    "LEVELS",
]

LEVELS = ("1", "2", "external", "resubmission")
_WON = ("overturned", "partial")


def _inputs(ledger, work):
    if hasattr(ledger, "work_events"):
        work = ledger if work is None else work
        ledger = ledger.ledger()
    if work is None:
        raise ValueError("give work events (work=) or a LedgerStore: outcomes come from them")
    return ledger, work


def _attempts(ledger, work, policy, catalog) -> _Attempts:
    """The attempts of ``work`` on ``ledger``, kept per events table (``per_work``)."""
    if catalog is not None:
        return _Attempts(ledger, work, policy, catalog)
    build = lambda: _Attempts(ledger, work, policy, None)  # noqa: E731
    return per_work(ledger, work, "attempts", build, policy)


class _Attempts:
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
        proc, denied = _item_lines(keys, f.proc_enc, denied_line, enc, line)
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
    ledger, work = _inputs(ledger, work)
    by = _parse(by)
    a = _attempts(ledger, work, policy, catalog)
    first, won, recovered, denied, _ = a.items()
    g = _grouping(a, by, first)
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
    ledger, work = _inputs(ledger, work)
    by = _parse(by)
    a = _attempts(ledger, work, policy, catalog)
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
    ledger, work = _inputs(ledger, work)
    by = _parse(by)
    a = _attempts(ledger, work, policy, catalog)
    first, _, _, _, win_day = a.items()
    close_day = _closing_days(work, a, first)
    end = np.minimum(win_day, close_day)
    f = a.dims.facts
    enc = np.maximum(a.enc[first], 0)
    start = f.enc_first_day[enc, 1].astype(np.int64)
    resolved = (end < np.iinfo(np.int64).max) & (start != NO_DAY) & (a.enc[first] >= 0)
    days = np.where(resolved, end - start, 0)
    g = _grouping(a, by, first)
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


def recovery_likelihood(ledger, work=None, *, prior_weight=10.0, policy=None, catalog=None):
    """The likelihood that appealing a denial recovers money, by payer x category x CARC.

    From appealed denials (module notes): ``n`` appealed and ``k`` overturned
    per cell. Each level is smoothed toward the one above it with
    ``m = prior_weight`` pseudo-denials at the level above's rate::

        p_all      = K / N                                  (every appealed denial)
        p_category = (k_cat + m * p_all) / (n_cat + m)
        p_prior    = (k_payer_cat + m * p_category) / (n_payer_cat + m)
        likelihood = (k + m * p_prior) / (n + m)

    so a cell with few appeals leans on its payer's record for the category,
    and that on the category's. ``payer_id`` is the claim's primary payer.

    Returns
    -------
    pyarrow.Table
        ``payer_id``, ``category``, ``carc``, ``appealed`` (n, the sample
        size), ``overturned`` (k), ``prior`` (p_prior) and ``likelihood``,
        one row per cell with at least one appeal.

    Examples
    --------
    Payer P, category coding: CARC 16 appealed 3 times, won 3; CARC 11
    appealed once, lost. With m = 1: p_all = 3/4, p_category = (3 + .75)/5 =
    0.75, p_prior = 0.75, likelihood(16) = (3 + .75)/4 = 0.9375 and
    likelihood(11) = (0 + .75)/2 = 0.375.
    """
    ledger, work = _inputs(ledger, work)
    a = _attempts(ledger, work, policy, catalog)
    first, won, _, _, _ = a.items()
    cols = a.columns(("payer", "category", "carc"), first)
    g = Grouping(cols)
    sums, counts = g.sums({"n": np.ones(len(first), np.int64), "k": won.astype(np.int64)})
    present = np.flatnonzero(counts > 0)
    payer_code, cat_code, _ = g.decode(present)
    n, k = sums["n"][present].astype(float), sums["k"][present].astype(float)
    m = float(prior_weight)
    p_all = k.sum() / n.sum() if n.sum() else 0.0
    n_cat = np.bincount(cat_code, weights=n, minlength=len(CATEGORIES) + 1)
    k_cat = np.bincount(cat_code, weights=k, minlength=len(CATEGORIES) + 1)
    p_cat = (k_cat + m * p_all) / (n_cat + m)
    pc_key = payer_code * (len(CATEGORIES) + 1) + cat_code
    uniq, inv = np.unique(pc_key, return_inverse=True)
    n_pc = np.bincount(inv, weights=n)
    k_pc = np.bincount(inv, weights=k)
    prior = ((k_pc + m * p_cat[uniq % (len(CATEGORIES) + 1)]) / (n_pc + m))[inv]
    labels = g.labels(present)
    return pa.table({
        "payer_id": labels["payer"], "category": labels["category"], "carc": labels["carc"],
        "appealed": pa.array(n.astype(np.int64)), "overturned": pa.array(k.astype(np.int64)),
        "prior": pa.array(prior), "likelihood": pa.array((k + m * prior) / (n + m)),
    })  # fmt: skip


def _parse(by) -> tuple:
    """``by`` with ``owner`` (the item's current owner) besides the analytics dimensions."""
    names = (by,) if isinstance(by, str) else tuple(by or ())
    parse_by([d for d in names if d != "owner"])
    if names.count("owner") > 1:
        raise ValueError(f"by: a dimension appears twice in {names}")
    return names


def _grouping(a: _Attempts, by, rows) -> Grouping:
    if not by:
        g = Grouping([], mask=np.ones(len(rows), bool))
        g.key = np.zeros(len(rows), np.int64)
        g.n_groups = 1
        return g
    return Grouping(a.columns(by, rows))


def _item_lines(keys, proc_enc, denied_line, enc, line):
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


def _closing_days(work, a: _Attempts, first) -> np.ndarray:
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


def likelihood_of(table: pa.Table, payers, categories, carcs, *, prior_weight=10.0):
    """Look up :func:`recovery_likelihood` for rows of (payer, category, CARC).

    A cell without appeals falls back to its payer x category rate (smoothed
    toward the category), then to the category's, then to the overall rate:
    the same smoothing with ``n = k = 0``. Returns ``(likelihood, n, k)``
    arrays (n, k: the cell's appealed and overturned counts, 0 without one).
    """
    m = float(prior_weight)
    rows = table.to_pylist()
    n_all = sum(r["appealed"] for r in rows)
    p_all = sum(r["overturned"] for r in rows) / n_all if n_all else 0.0
    cat: dict = {}
    pay_cat: dict = {}
    cell: dict = {}
    for r in rows:
        c = cat.setdefault(r["category"], [0, 0])
        c[0] += r["appealed"]
        c[1] += r["overturned"]
        pay_cat[(r["payer_id"], r["category"])] = r["prior"]
        cell[(r["payer_id"], r["category"], r["carc"])] = r
    p_cat = {k: (v[1] + m * p_all) / (v[0] + m) for k, v in cat.items()}
    # each distinct (payer, category, CARC) once, then spread to the rows
    parts = [_coded(values) for values in (payers, categories, carcs)]
    composite = np.zeros(len(parts[0][0]), np.int64)
    for codes, labels in parts:
        composite = composite * (len(labels) + 1) + (codes + 1)
    distinct, inverse = np.unique(composite, return_inverse=True)
    out, n, k = [], [], []
    for value in distinct.tolist():
        key = []
        for codes, labels in reversed(parts):
            value, code = divmod(value, len(labels) + 1)
            key.append(labels[code - 1] if code else None)
        p, c, code = key[::-1]
        r = cell.get((p, c, code))
        if r is not None:
            out.append(r["likelihood"])
            n.append(r["appealed"])
            k.append(r["overturned"])
            continue
        out.append(pay_cat.get((p, c), p_cat.get(c, p_all)))
        n.append(0)
        k.append(0)
    inverse = inverse.reshape(-1)
    return (np.array(out, float)[inverse], np.array(n, np.int64)[inverse],
            np.array(k, np.int64)[inverse])  # fmt: skip


def _coded(values) -> tuple[np.ndarray, list]:
    """Dense codes (-1: null) and labels of a sequence or Arrow array of strings."""
    if not isinstance(values, pa.Array | pa.ChunkedArray):
        values = pa.array(list(values), pa.string())
    codes, labels = encode(values)
    return codes.astype(np.int64), labels.to_pylist()
