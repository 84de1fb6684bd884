"""The denial lifecycle on a synthetic ledger: work events and the money that follows
(issue #16), with the rates that drove it, so tests can recover them.

``lifecycle(ledger, seed)`` works the *open denied lines* of a ledger: lines a
primary payer denied (a live CO/PI/OA denial adjustment, as the ledger's CARC
policy reads it) that nothing has touched since (no payment, write-off, push
to PR or later remit). For each, in the payer's and category's own terms:

worked?
    a share of the open denials is worked, by denial category
    (:data:`WORK_SHARE`); the rest stay open, untouched.
how
    denials of the categories a corrected claim usually fixes
    (:data:`RESUBMIT_CATEGORIES`) are corrected and resubmitted (a ``status``
    ``resubmitted`` event), the others appealed at level 1, then (when
    upheld) level 2 with probability :data:`NEXT_LEVEL`, then external the
    same way.
won?
    level 1 and resubmissions win with the planted rate of the payer x category
    (:data:`CATEGORY_RATE` x the payer's factor, :data:`PAYER_FACTOR`, within
    [0.02, 0.95]); level 2 with :data:`LEVEL_FACTOR` times it, external the same.
    A fifth of the wins are partial (the payer pays half its share and denies
    the rest again).
money
    a win is the payer's reprocessing: its denial adjustments negated (a
    reversal, ``source`` remit), then a payment of the allowed amount less
    coinsurance, CO-45 for the rest of the charge and PR-2 coinsurance (20%
    Medicare, 10% commercial). An upheld last attempt is written off half of
    the time (``CO-A2``, with a ``written_off`` status).
take-backs
    a share (:data:`TAKE_BACK_SHARE`) of the primary payers' earlier payments
    are recouped 60-240 days later: negated with no repost.
lags
    work starts 2-20 days after the denial (assign, ``in_progress``); the
    first attempt is filed 10-60 days after the denial, each decision comes
    15-90 days after its attempt, a next level 5-30 days after an upheld one.

Nothing dated after ``until`` (default: now) happens. The result composes with
a store: ``store.append(lc.ledger, ...)`` then
``store.record_work(lc.work_rows(), actor=..., note=...)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._kernels import codes as C
from ledgerkit.core.arrow import EPOCH, US_PER_DAY, codes_in, int_array, numpy_array, valid_array
from ledgerkit.core.catalog import CATEGORIES, CarcCatalog
from ledgerkit.core.keys import entry_buckets, kind_codes
from ledgerkit.core.schema import KINDS, TIMESTAMP
from ledgerkit.core.work_events import WORK_EVENTS_SCHEMA

__all__ = [
    "lifecycle",
    "Lifecycle",
    "WORK_SHARE",
    "CATEGORY_RATE",
    "PAYER_FACTOR",
    "LEVEL_FACTOR",
    "NEXT_LEVEL",
    "PARTIAL_SHARE",
    "RESUBMIT_CATEGORIES",
    "TAKE_BACK_SHARE",
]

# Share of open denials worked, by category.
WORK_SHARE = {
    "eligibility_cob": 0.5, "prior_authorization": 0.8, "coding": 0.85,
    "medical_necessity": 0.75, "timely_filing": 0.4, "duplicate": 0.3, "bundling": 0.6,
    "other": 0.6,
}  # fmt: skip
# Planted first-attempt win rate by category, times the payer's factor.
CATEGORY_RATE = {
    "eligibility_cob": 0.55, "prior_authorization": 0.45, "coding": 0.7,
    "medical_necessity": 0.4, "timely_filing": 0.15, "duplicate": 0.2, "bundling": 0.5,
    "other": 0.5,
}  # fmt: skip
PAYER_FACTOR = {
    "MCR01": 1.2, "MCD01": 0.7, "MA001": 0.8, "BCBS1": 1.1, "AET01": 1.0, "UHC01": 0.9,
    "WC001": 0.6, "SUPP1": 1.0,
}  # fmt: skip
LEVEL_FACTOR = {"1": 1.0, "2": 0.6, "external": 0.5}
NEXT_LEVEL = 0.5  # an upheld appeal goes to the next level
PARTIAL_SHARE = 0.2
RESUBMIT_CATEGORIES = ("coding", "eligibility_cob", "bundling")
TAKE_BACK_SHARE = 0.005
WRITE_OFF_SHARE = 0.5
OWNERS = ("ana", "bo", "cy", "dee")
_COINSURANCE = {"medicare": 0.2, "medicare_advantage": 0.2, "commercial": 0.1}
_ALLOWED_RATIO = 0.6  # of the charge, for payers without a known contract


@dataclass
class Lifecycle:
    """What :func:`lifecycle` made.

    ``ledger``: the input ledger with the lifecycle's entries appended (its
    first rows are the input's); ``entries``: those entries; ``events``: the
    work events as the store keeps them (``event_id``, ``actor``); ``planted``:
    one row per payer x category worked, with ``work_share``,
    ``resubmit`` (worked by resubmission), ``level_1_rate`` (and
    ``level_2_rate``, ``external_rate``) and ``overturn_rate``, the chance a
    worked denial is paid in the end (``level_1 + (1 - level_1) * NEXT_LEVEL *
    (level_2 + (1 - level_2) * NEXT_LEVEL * external)``; level 1 alone for a
    resubmission).
    """

    ledger: object
    entries: pa.Table
    events: pa.Table
    planted: pa.Table

    def work_rows(self) -> pa.Table:
        """The events without ``event_id`` and ``actor``, as ``record_work`` takes them."""
        return self.events.drop_columns(["event_id", "actor"])


def lifecycle(ledger, seed: int = 0, *, until=None, catalog=None) -> Lifecycle:
    """Appeals, resubmissions, outcomes and take-backs on a ledger's open denials.

    Parameters
    ----------
    ledger : Ledger
        Typically ``synth.generate(...)``; any ledger works (module notes).
    seed : int
        Same ledger and seed, same lifecycle.
    until : date or datetime, optional
        Nothing later happens (default: now).
    catalog : CarcCatalog, optional
        Categories and next actions of the CARCs (default catalogue).

    Returns
    -------
    Lifecycle

    Examples
    --------
    >>> import ledgerkit as lk
    >>> lc = lk.synth.lifecycle(lk.synth.generate(2000, seed=1), seed=1)
    >>> sorted(set(lc.events["kind"].to_pylist()))
    ['appeal', 'assign', 'outcome', 'status']
    >>> lc.ledger.entries.num_rows > 0 and lc.entries.num_rows > 0
    True
    """
    catalog = catalog or CarcCatalog.default()
    rng = np.random.default_rng([seed, 16])
    until = dt.datetime.now(dt.UTC) if until is None else until
    if isinstance(until, dt.datetime):
        until_day = (until.date() - EPOCH).days - 1  # whole days before it
    else:
        until_day = (until - EPOCH).days
    new, events, planted = _work(ledger, _open_denials(ledger, catalog), rng, until_day)
    # the work's own state is gone before the append, the peak at 10M procedures
    out = ledger.append(new, allow_credit=True) if new.num_rows else ledger
    return Lifecycle(out, out.entries.slice(ledger.entries.num_rows), events, planted)


def _work(ledger, d: dict, rng, until_day: int) -> tuple:
    """The work on the open denials ``d``: (new entries, work events, planted rates)."""
    n = len(d["proc_row"])
    payers = ledger.payers
    pid = payers["payer_id"].to_pylist()
    pclass = dict(zip(pid, payers["payer_class"].cast(pa.string()).to_pylist(), strict=True))
    cat = np.array([CATEGORIES[c] for c in d["category"]], object)
    share = np.array([WORK_SHARE.get(c, 0.5) for c in cat])
    factor = np.array([PAYER_FACTOR.get(p, 1.0) for p in d["payer"]])
    base = np.array([CATEGORY_RATE.get(c, 0.5) for c in cat])
    rate1 = np.clip(base * factor, 0.02, 0.95)
    resubmit = np.isin(cat, RESUBMIT_CATEGORIES)

    worked = rng.random(n) < share
    start = d["day"] + rng.integers(2, 21, n)
    owner = rng.integers(0, len(OWNERS), n)
    ev = _EventColumns()
    entries = _EntryColumns()
    ok = worked & (start <= until_day)
    ev.add(d, ok, start, "assign", owner, owner=np.array(OWNERS, object)[owner])
    ev.add(d, ok, start, "status", owner, status="in_progress")
    filed = d["day"] + rng.integers(10, 61, n)
    levels = ("1", "2", "external")
    active = ok & (filed <= until_day) & (filed > start)
    for k, level in enumerate(levels):
        if k == 0:
            ev.add(d, active & resubmit, filed, "status", owner, status="resubmitted")
            ev.add(d, active & ~resubmit, filed, "appeal", owner, appeal_level=level,
                   appeal_method="portal", appeal_filed=filed)  # fmt: skip
        else:
            method = "mail" if level == "2" else "fax"
            ev.add(d, active, filed, "appeal", owner, appeal_level=level,
                   appeal_method=method, appeal_filed=filed)  # fmt: skip
        decided = filed + rng.integers(15, 91, n)
        win = rng.random(n) < np.clip(rate1 * LEVEL_FACTOR[level], 0.0, 0.95)
        partial = rng.random(n) < PARTIAL_SHARE
        now = active & (decided <= until_day)
        won = now & win
        entries.reprocess(d, won, decided, partial, pclass)
        lost = now & ~win
        ev.add(d, lost, decided, "outcome", owner, outcome="upheld", outcome_cents=0)
        again = lost & ~resubmit & (rng.random(n) < NEXT_LEVEL) & (k < 2)
        next_filed = decided + rng.integers(5, 31, n)
        final = lost & ~again
        wo_day = decided + rng.integers(10, 41, n)
        wo = final & (rng.random(n) < WRITE_OFF_SHARE) & (wo_day <= until_day)
        entries.write_off(d, wo, wo_day)
        ev.add(d, wo, wo_day, "status", owner, status="written_off")
        active, filed = again & (next_filed <= until_day), next_filed
    entries.take_backs(ledger, rng, until_day)
    new = entries.table()
    del entries
    return new, ev.table(rng), _planted(d, cat, share, rate1, resubmit)


def _open_denials(ledger, catalog) -> dict:
    """Per open denied line (module notes): entries row of its largest denial and
    its other denials, day, payer, charge, CARC category and next action."""
    e = ledger.entries
    kind = kind_codes(e)
    bucket = entry_buckets(e, ledger.policy)
    seq = int_array(e["payer_seq"], np.int8)
    amount = numpy_array(e["amount_cents"], dtype=np.int64)
    live = _live(e)
    proc = ledger.keys.entry_proc
    n_proc = ledger.keys.n_procedures
    # per-entry arrays stay narrow and strings stay in Arrow: at 10M procedures (48M
    # entries) a Python list of the group codes alone took gigabytes (issue #19 item 6)
    not_pr = codes_in(e["group_code"], pa.array(["PR"])) != 0  # null group: not PR
    denial = (kind == KINDS.index("adjustment")) & (bucket == C.DENIED) & (seq == 1) & live
    denial &= not_pr
    zero_pay = (kind == KINDS.index("payment")) & (seq == 1) & (amount == 0) & live
    del not_pr, bucket, live, seq
    charge = kind == KINDS.index("charge")
    del kind
    other = ~(denial | charge | zero_pay)
    del zero_pay
    n_other = np.bincount(proc[other], minlength=n_proc)
    del other
    n_denial = np.bincount(proc[denial], minlength=n_proc)
    charge_cents = np.bincount(proc[charge], weights=amount[charge], minlength=n_proc)
    del charge
    rows = np.flatnonzero(denial & (n_other[proc] == 0) & (n_denial[proc] >= 1))
    del denial, n_other, n_denial
    # the largest denial of each line names it
    order = np.lexsort((-amount[rows], proc[rows]))
    rows = rows[order]
    first = np.ones(len(rows), bool)
    first[1:] = proc[rows][1:] != proc[rows][:-1]
    top = rows[first]
    carc = _strings(e["carc"], top)
    fields = catalog.codes_for(carc)
    posted = _taken(e["posted_at"].cast(pa.int64()), top)
    return {
        "proc_row": top,
        "proc": proc[top].astype(np.int64),
        "denials": rows,  # every live denial row of these lines, grouped by line
        "denial_proc": proc[rows].astype(np.int64),
        "encounter_id": _strings(e["encounter_id"], top),
        "line": _taken(e["line"], top),
        "carc": carc,
        "payer": _strings(e["payer_id"], top),
        "day": posted // US_PER_DAY,
        "charge": charge_cents[proc[top]].astype(np.int64),
        "category": fields["category"],
        "action": fields["next_action"],
        "entries": e,
        "denied_cents": np.bincount(proc[rows], weights=amount[rows], minlength=n_proc)[
            proc[top]
        ].astype(np.int64),
    }


def _live(e: pa.Table) -> np.ndarray:
    """Per entries row: neither negated nor a negation."""
    ids = e["entry_id"].combine_chunks()
    negated = numpy_array(pc.is_in(ids, value_set=pc.drop_null(e["negates"]).combine_chunks()))
    return ~negated & ~valid_array(e["negates"])


def _strings(column: pa.ChunkedArray, rows: np.ndarray) -> list:
    """``column``'s values at ``rows`` as Python strings (taken first, then cast: the
    whole column is never cast)."""
    return column.take(pa.array(rows, pa.int64())).cast(pa.string()).to_pylist()


def _taken(column: pa.ChunkedArray, rows: np.ndarray) -> np.ndarray:
    """``column``'s integer values at ``rows``, int64 (no copy of the whole column)."""
    return numpy_array(column.take(pa.array(rows, pa.int64())), dtype=np.int64)


class _EventColumns:
    def __init__(self):
        self.parts = []

    def add(self, d, mask, day, kind, who, **fields):
        sel = np.flatnonzero(mask)
        if not len(sel):
            return
        part = {
            "at": day[sel] * US_PER_DAY + 15 * 3_600_000_000 + len(self.parts),
            "encounter_id": [d["encounter_id"][i] for i in sel],
            "line": d["line"][sel].astype(np.int32),
            "carc": [d["carc"][i] for i in sel],
            "kind": [kind] * len(sel),
            "actor": [OWNERS[o] for o in who[sel]],
        }
        for name, value in fields.items():
            part[name] = value[sel] if isinstance(value, np.ndarray) else [value] * len(sel)
        self.parts.append(part)

    def table(self, rng) -> pa.Table:
        schema = WORK_EVENTS_SCHEMA
        tables = []
        for part in self.parts:
            n = len(part["kind"])
            cols = []
            for f in schema:
                if f.name == "event_id":
                    cols.append(pa.array([f"{x:032x}" for x in rng.integers(0, 2**62, n)]))
                elif f.name == "at":
                    cols.append(pa.array(part["at"]).cast(TIMESTAMP))
                elif f.name in ("follow_up", "appeal_filed") and f.name in part:
                    cols.append(pa.array(part[f.name].astype("datetime64[D]"), pa.date32()))
                elif f.name in part:
                    cols.append(pa.array(part[f.name], f.type))
                else:
                    cols.append(pa.nulls(n, f.type))
            tables.append(pa.Table.from_arrays(cols, schema=schema))
        if not tables:
            return schema.empty_table()
        out = pa.concat_tables(tables)
        return out.take(pc.sort_indices(out, [("at", "ascending")]))


class _EntryColumns:
    def __init__(self):
        self.rows = {k: [] for k in (
            "encounter_id", "line", "payer_seq", "kind", "group_code", "carc", "amount_cents",
            "posted_at", "negates", "source", "remit_ref", "actor", "note")}  # fmt: skip

    def _add(self, enc, line, seq, kind, group, carc, amount, day, negates, source, ref,
             actor=None, note=None, minute=0):  # fmt: skip
        n = len(enc)
        if not n:
            return
        r = self.rows
        r["encounter_id"] += list(enc)
        r["line"] += list(np.asarray(line, np.int64))
        r["payer_seq"] += [seq] * n
        r["kind"] += [kind] * n
        r["group_code"] += list(group) if isinstance(group, list) else [group] * n
        r["carc"] += list(carc) if isinstance(carc, list) else [carc] * n
        r["amount_cents"] += list(np.asarray(amount, np.int64))
        r["posted_at"] += list(np.asarray(day, np.int64) * US_PER_DAY + 16 * 3_600_000_000
                               + minute * 60_000_000)  # fmt: skip
        r["negates"] += list(negates) if negates is not None else [None] * n
        r["source"] += [source] * n
        r["remit_ref"] += [ref(x) for x in np.asarray(day)] if ref else [None] * n
        r["actor"] += [actor] * n
        r["note"] += [note] * n

    def reprocess(self, d, won, day, partial, pclass) -> None:
        """The payer's reversal of its denial and its new decision, on ``won`` lines."""
        sel = np.flatnonzero(won)
        if not len(sel):
            return
        e = d["entries"]
        ref = lambda x: f"ERA-{x}-1"  # noqa: E731
        # negate every live denial of the line
        lines = np.isin(d["denial_proc"], d["proc"][sel])
        rows = d["denials"][lines]
        proc_of = {p: i for i, p in enumerate(d["proc"])}
        row_day = np.array([day[proc_of[p]] for p in d["denial_proc"][lines]], np.int64)
        self._add(
            _strings(e["encounter_id"], rows),
            _taken(e["line"], rows), 1, "adjustment",
            _strings(e["group_code"], rows),
            _strings(e["carc"], rows),
            -_taken(e["amount_cents"], rows), row_day,
            _taken(e["entry_id"], rows).tolist(), "remit", ref,
        )  # fmt: skip
        charge = d["charge"][sel]
        allowed = np.round(charge * _ALLOWED_RATIO).astype(np.int64)
        coins_rate = np.array([_COINSURANCE.get(pclass.get(d["payer"][i]), 0.0) for i in sel])
        coins = np.round(allowed * coins_rate).astype(np.int64)
        pay = allowed - coins
        part = partial[sel]
        paid = np.where(part, pay // 2, pay)
        enc = [d["encounter_id"][i] for i in sel]
        line = d["line"][sel]
        self._add(enc, line, 1, "payment", None, None, paid, day[sel], None, "remit", ref,
                  minute=1)  # fmt: skip
        self._add(enc, line, 1, "adjustment", "CO", "45", charge - allowed, day[sel], None,
                  "remit", ref, minute=1)  # fmt: skip
        has = coins > 0
        self._add([x for x, h in zip(enc, has, strict=True) if h], line[has], 1, "adjustment",
                  "PR", "2", coins[has], day[sel][has], None, "remit", ref, minute=1)  # fmt: skip
        again = part & (pay - paid > 0)
        self._add([x for x, h in zip(enc, again, strict=True) if h], line[again], 1,
                  "adjustment", "CO", [d["carc"][i] for i in sel[again]],
                  (pay - paid)[again], day[sel][again], None, "remit", ref, minute=1)  # fmt: skip

    def write_off(self, d, mask, day) -> None:
        sel = np.flatnonzero(mask)
        self._add([d["encounter_id"][i] for i in sel], d["line"][sel], 1, "write_off", "CO",
                  "A2", d["charge"][sel], day[sel], None, "manual", None,
                  actor="billing team", note="appeals upheld: written off")  # fmt: skip

    def take_backs(self, ledger, rng, until_day) -> None:
        """Negate a share of the primary payers' live remit payments, 60-240 days on."""
        e = ledger.entries
        pay = kind_codes(e) == KINDS.index("payment")
        pay &= int_array(e["payer_seq"], np.int8) == 1
        pay &= numpy_array(e["amount_cents"], dtype=np.int64) > 0
        pay &= _live(e)
        pay &= codes_in(e["source"], pa.array(["remit"])) == 0
        rows = np.flatnonzero(pay)
        del pay
        day = _taken(e["posted_at"].cast(pa.int64()), rows) // US_PER_DAY
        day = day + rng.integers(60, 241, len(rows))
        keep = (rng.random(len(rows)) < TAKE_BACK_SHARE) & (day <= until_day)
        rows, day = rows[keep], day[keep]
        self._add(
            _strings(e["encounter_id"], rows),
            _taken(e["line"], rows), 1, "payment", None, None,
            -_taken(e["amount_cents"], rows), day, _taken(e["entry_id"], rows).tolist(),
            "remit", lambda x: f"RECOUP-{x}",
        )  # fmt: skip

    def table(self) -> pa.Table:
        r = self.rows
        return pa.table(
            {
                "encounter_id": pa.array(r["encounter_id"], pa.string()),
                "line": pa.array(r["line"], pa.int32()),
                "payer_seq": pa.array(r["payer_seq"], pa.int8()),
                "kind": pa.array(r["kind"], pa.string()),
                "group_code": pa.array(r["group_code"], pa.string()),
                "carc": pa.array(r["carc"], pa.string()),
                "amount_cents": pa.array(r["amount_cents"], pa.int64()),
                "posted_at": pa.array(r["posted_at"], pa.int64()).cast(TIMESTAMP),
                "negates": pa.array(r["negates"], pa.int64()),
                "source": pa.array(r["source"], pa.string()),
                "remit_ref": pa.array(r["remit_ref"], pa.string()),
                "actor": pa.array(r["actor"], pa.string()),
                "note": pa.array(r["note"], pa.string()),
            }
        )


def _planted(d, cat, share, rate1, resubmit) -> pa.Table:
    seen: dict = {}
    for i, key in enumerate(zip(d["payer"], cat, strict=True)):
        seen.setdefault(key, i)
    rows = []
    for (payer, category), i in sorted(seen.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        r1 = float(rate1[i])
        r2 = min(r1 * LEVEL_FACTOR["2"], 0.95)
        r3 = min(r1 * LEVEL_FACTOR["external"], 0.95)
        overall = (
            r1 if resubmit[i] else r1 + (1 - r1) * NEXT_LEVEL * (r2 + (1 - r2) * NEXT_LEVEL * r3)
        )
        rows.append({
            "payer_id": payer, "category": category, "work_share": float(share[i]),
            "resubmit": bool(resubmit[i]), "level_1_rate": r1, "level_2_rate": r2,
            "external_rate": r3, "overturn_rate": overall,
        })  # fmt: skip
    return (
        pa.Table.from_pylist(rows) if rows else pa.table({"payer_id": pa.array([], pa.string())})
    )
