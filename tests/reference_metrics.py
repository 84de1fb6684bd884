"""Slow, obviously correct twins of ``ledgerkit.metrics``, in plain Python over row dicts.

Each function reads its metric's docstring (and the dimension meanings in
``ledgerkit.analytics.facts``) literally and returns the rows the metric should
return, in its row order. Procedure figures come from ``reference.balances_ref``;
only the CARC policy and catalogue (data) are shared with ledgerkit.

Row order: groups are listed in the order of their labels, one dimension after
the other; each dimension orders its labels as the metrics do (a documented
convention of ``grouped`` results): months chronologically, payer classes
alphabetically, categories in ``CATEGORIES`` order, other labels in the order
the column's dictionary lists them (first appearance for plain strings), and
null last.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from fractions import Fraction

from reference import _bucket, balances_ref, live_ids

from ledgerkit.core.catalog import CATEGORIES, CarcCatalog

DIMENSIONS = ("month", "payer", "payer_class", "provider", "location", "cpt", "carc", "category")
REASON_DIMS = ("carc", "category")
AGING_BUCKETS = (
    ("days_0_30", 0, 30),
    ("days_31_60", 31, 60),
    ("days_61_90", 61, 90),
    ("days_91_120", 91, 120),
    ("days_over_120", 121, None),
)


@functools.cache
def _default_catalog() -> CarcCatalog:
    return CarcCatalog.default()  # read once: it costs a CSV read


def rate(num: int, den: int) -> float | None:
    """num / den (Python's correctly rounded int division); None when den is 0."""
    return None if den == 0 else num / den


def quantile(values: list[int], q: Fraction) -> float | None:
    """Linear-interpolated quantile (numpy's default) computed exactly, then rounded."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = int(pos)  # floor: pos >= 0
    hi = min(lo + 1, len(s) - 1)
    return float(s[lo] + (pos - lo) * (s[hi] - s[lo]))


def posting_day(entry: dict) -> dt.date:
    """The UTC calendar day an entry was posted."""
    return entry["posted_at"].astimezone(dt.UTC).date()


def _is_remit(entry: dict) -> bool:
    """A payer's payment or adjustment (what a remit posts)."""
    return entry["kind"] in ("payment", "adjustment") and entry["payer_seq"] >= 1


# ---------------------------------------------------------------- line facts
def line_facts(ledger, policy=None, catalog=None) -> list[dict]:
    """One dict per procedure (in balances_ref order): figures, denial facts, dimensions.

    Denial facts (see ``ledgerkit.metrics`` module docstring):

    first_day      first posting day of a primary (payer_seq 1) payment or
                   adjustment on the encounter, negations excluded (None: none)
    first_denied   sum of the primary's denied adjustments posted on first_day
                   on this line, negations excluded (negated ones included:
                   a later reversal does not change what the response said)
    first_reason   CARC of the largest of those (first posted on ties)
    later_paid     the primary's payments posted after first_day (negations
                   included, so they are net)
    last_day       last day after first_day of a payer payment, adjustment,
                   write-off or transfer to PR (None: nothing later)
    top_carc       CARC of the last adjudicating payer's largest live denial
    """
    policy = policy or ledger.policy
    catalog = catalog or _default_catalog()
    entries = ledger.entries.to_pylist()
    encounters = {e["encounter_id"]: e for e in ledger.encounters.to_pylist()}
    procedures = {(p["encounter_id"], p["line"]): p for p in ledger.procedures.to_pylist()}
    classes = {p["payer_id"]: p["payer_class"] for p in ledger.payers.to_pylist()}
    by_enc = defaultdict(list)
    by_line = defaultdict(list)
    for e in entries:
        by_enc[e["encounter_id"]].append(e)
        by_line[(e["encounter_id"], e["line"])].append(e)

    first_day = {}
    for eid, rows in by_enc.items():
        days = [
            posting_day(e)
            for e in rows
            if e["payer_seq"] == 1 and _is_remit(e) and e["negates"] is None
        ]
        first_day[eid] = min(days, default=None)

    out = []
    for fig in balances_ref(ledger, "procedure"):
        eid, line = fig["encounter_id"], fig["line"]
        enc = encounters[eid]
        proc = procedures[(eid, line)]
        d1 = first_day.get(eid)
        first_denied, first_reason, best, later_paid, last_day = 0, None, None, 0, None
        if d1 is not None:
            for e in by_line[(eid, line)]:
                day = posting_day(e)
                denied = e["kind"] == "adjustment" and _bucket(e, policy) == "denied"
                if e["payer_seq"] == 1 and denied and day == d1 and e["negates"] is None:
                    first_denied += e["amount_cents"]
                    if best is None or e["amount_cents"] > best:
                        best, first_reason = e["amount_cents"], e["carc"]
                if day > d1:
                    if e["payer_seq"] == 1 and e["kind"] == "payment":
                        later_paid += e["amount_cents"]
                    payer_event = e["kind"] in ("payment", "adjustment", "write_off")
                    payer_event = payer_event or e["kind"] == "transfer_to_pr"
                    if e["payer_seq"] >= 1 and payer_event:
                        last_day = day if last_day is None else max(last_day, day)
        top = fig["top"]
        payer = enc["payer1_id"]
        out.append(
            {
                **fig,
                "submitted": payer is not None,
                "first_day": d1,
                "first_denied": first_denied,
                "first_reason": first_reason,
                "later_paid": later_paid,
                "last_day": last_day,
                "top_carc": top["carc"] if top is not None else None,
                "service_date": enc["service_date"],
                "dims": {
                    "month": enc["service_date"].strftime("%Y-%m"),
                    "payer": payer,
                    "payer_class": _class_of(classes, payer),
                    "provider": enc["provider_id"],
                    "location": enc["location_id"],
                    "cpt": proc["cpt"],
                },
            }
        )
    return out


def _class_of(classes: dict, payer):
    if payer is None:
        return None
    return classes.get(payer, "other")


def _reason_dims(carc, catalog) -> dict:
    if carc is None:
        return {"carc": None, "category": None}
    return {"carc": carc, "category": catalog.category_of(carc)}


def _avoidable(carc, catalog) -> bool:
    if carc is None:
        return False
    return catalog.lookup([carc]).column("avoidable")[0].as_py()


# ---------------------------------------------------------------- row order
def _first_appearance(column) -> list:
    col = column.combine_chunks()
    if hasattr(col, "dictionary"):
        return col.dictionary.to_pylist()
    seen = []
    for v in col.to_pylist():
        if v is not None and v not in seen:
            seen.append(v)
    return seen


def label_orders(ledger, entry_payer: bool = False) -> dict:
    """Per dimension: label -> rank, null last (see the module docstring)."""
    enc = ledger.encounters
    classes = {p["payer_class"] for p in ledger.payers.to_pylist()} | {"other"}
    lists = {
        "payer": _first_appearance(
            ledger.entries["payer_id"] if entry_payer else enc["payer1_id"]
        ),
        "payer_class": sorted(c for c in classes if c is not None),
        "provider": _first_appearance(enc["provider_id"]),
        "location": _first_appearance(enc["location_id"]),
        "cpt": _first_appearance(ledger.procedures["cpt"]),
        "carc": _first_appearance(ledger.entries["carc"]),
        "category": list(CATEGORIES),
    }
    orders = {name: {v: i for i, v in enumerate(values)} for name, values in lists.items()}
    return orders


def _sort_key(by, orders):
    def key(row):
        out = []
        for name in by:
            v = row[name]
            if v is None:
                out.append((1, 0))
            elif name == "month":
                out.append((0, v))
            else:
                out.append((0, orders[name][v]))
        return out

    return key


def _table(by, groups: dict, columns, orders) -> list[dict]:
    """Rows ``by`` labels + ``columns(group)`` for each group, in the metrics' order."""
    rows = []
    for labels, g in groups.items():
        row = dict(zip(by, labels, strict=True))
        row.update(columns(g))
        rows.append(row)
    return sorted(rows, key=_sort_key(by, orders))


def _key(by, dims) -> tuple:
    return tuple(dims[name] for name in by)


def _as_tuple(by) -> tuple:
    if by is None:
        return ()
    return (by,) if isinstance(by, str) else tuple(by)


# ---------------------------------------------------------------- metrics
def _first_response_ref(ledger, by, policy, catalog):
    """Groups of :func:`initial_denial_rate` / :func:`avoidable_denial_rate`.

    Each group: sets of claims and responded claims and the charge over its
    submitted lines (without reason dimensions: the group's own lines; with
    them: the lines of the same non-reason labels), and the denied claims and
    cents of its denied lines (avoidable ones as well).
    """
    catalog = catalog or _default_catalog()
    by = _as_tuple(by)
    base_by = tuple(d for d in by if d not in REASON_DIMS)
    lines = [r for r in line_facts(ledger, policy, catalog) if r["submitted"]]

    def fresh():
        return {
            "claims": set(),
            "responded": set(),
            "charge_cents": 0,
            "denied_claims": set(),
            "denied_cents": 0,
            "avoidable_claims": set(),
            "avoidable_cents": 0,
        }

    base = defaultdict(fresh)
    for r in lines:
        g = base[_key(base_by, r["dims"])]
        g["claims"].add(r["encounter_id"])
        if r["first_day"] is not None:
            g["responded"].add(r["encounter_id"])
        g["charge_cents"] += r["charge"]
    groups = base if base_by == by else defaultdict(fresh)
    for r in lines:
        if r["first_denied"] <= 0:
            continue
        dims = {**r["dims"], **_reason_dims(r["first_reason"], catalog)}
        g = groups[_key(by, dims)]
        if base_by != by:
            denominators = base[_key(base_by, dims)]
            for name in ("claims", "responded", "charge_cents"):
                g[name] = denominators[name]
        g["denied_claims"].add(r["encounter_id"])
        g["denied_cents"] += r["first_denied"]
        if _avoidable(r["first_reason"], catalog):
            g["avoidable_claims"].add(r["encounter_id"])
            g["avoidable_cents"] += r["first_denied"]
    return by, groups


def initial_denial_rate_ref(ledger, by="month", *, policy=None, catalog=None) -> list[dict]:
    by, groups = _first_response_ref(ledger, by, policy, catalog)

    def columns(g):
        claims, denied = len(g["claims"]), len(g["denied_claims"])
        return {
            "claims": claims,
            "responded": len(g["responded"]),
            "denied_claims": denied,
            "denial_rate": rate(denied, claims),
            "charge_cents": g["charge_cents"],
            "denied_cents": g["denied_cents"],
            "dollar_denial_rate": rate(g["denied_cents"], g["charge_cents"]),
        }

    return _table(by, groups, columns, label_orders(ledger))


def avoidable_denial_rate_ref(ledger, by="month", *, policy=None, catalog=None) -> list[dict]:
    by, groups = _first_response_ref(ledger, by, policy, catalog)

    def columns(g):
        claims, denied = len(g["claims"]), len(g["denied_claims"])
        avoidable = len(g["avoidable_claims"])
        return {
            "claims": claims,
            "denied_claims": denied,
            "avoidable_claims": avoidable,
            "avoidable_rate": rate(avoidable, claims),
            "avoidable_share": rate(avoidable, denied),
            "charge_cents": g["charge_cents"],
            "denied_cents": g["denied_cents"],
            "avoidable_cents": g["avoidable_cents"],
            "dollar_avoidable_rate": rate(g["avoidable_cents"], g["charge_cents"]),
        }

    return _table(by, groups, columns, label_orders(ledger))


def denial_dollars_ref(ledger, by=("payer", "carc"), *, policy=None, catalog=None):
    """Every live denied adjustment of a payer (payer_seq >= 1), grouped.

    ``payer`` / ``payer_class`` are those of the posting payer, ``carc`` the
    entry's own CARC; the other dimensions those of the entry's procedure.
    """
    policy = policy or ledger.policy
    catalog = catalog or _default_catalog()
    by = _as_tuple(by)
    entries = ledger.entries.to_pylist()
    live = live_ids(entries)
    line_dims = {(r["encounter_id"], r["line"]): r["dims"] for r in line_facts(ledger, policy)}
    classes = {p["payer_id"]: p["payer_class"] for p in ledger.payers.to_pylist()}
    groups = defaultdict(lambda: {"denials": 0, "claims": set(), "denied_cents": 0})
    for e in entries:
        if e["kind"] != "adjustment" or e["payer_seq"] < 1 or e["entry_id"] not in live:
            continue
        if _bucket(e, policy) != "denied":
            continue
        dims = {
            **line_dims[(e["encounter_id"], e["line"])],
            "payer": e["payer_id"],
            "payer_class": _class_of(classes, e["payer_id"]),
            **_reason_dims(e["carc"], catalog),
        }
        g = groups[_key(by, dims)]
        g["denials"] += 1
        g["claims"].add(e["encounter_id"])
        g["denied_cents"] += e["amount_cents"]

    def columns(g):
        return {
            "denials": g["denials"],
            "claims": len(g["claims"]),
            "denied_cents": g["denied_cents"],
        }

    return _table(by, groups, columns, label_orders(ledger, entry_payer=True))


def _denied_line_groups(ledger, by, policy, catalog):
    """Submitted lines denied on the first response, grouped (reason = first_reason)."""
    catalog = catalog or _default_catalog()
    by = _as_tuple(by)
    groups = defaultdict(list)
    for r in line_facts(ledger, policy, catalog):
        if r["submitted"] and r["first_denied"] > 0:
            dims = {**r["dims"], **_reason_dims(r["first_reason"], catalog)}
            groups[_key(by, dims)].append(r)
    return by, groups


def _claims(lines: list[dict]) -> dict:
    """encounter id -> its lines, for the lines of one group."""
    out = defaultdict(list)
    for r in lines:
        out[r["encounter_id"]].append(r)
    return out


def overturn_rate_ref(ledger, by="payer", *, policy=None, catalog=None) -> list[dict]:
    by, groups = _denied_line_groups(ledger, by, policy, catalog)

    def recovered(r):
        # the primary's later net payments, capped at what it denied first
        return min(max(r["later_paid"], 0), r["first_denied"])

    def columns(lines):
        claims = _claims(lines)
        overturned = sum(any(recovered(r) > 0 for r in c) for c in claims.values())
        denied_cents = sum(r["first_denied"] for r in lines)
        recovered_cents = sum(recovered(r) for r in lines)
        return {
            "denied_claims": len(claims),
            "overturned_claims": overturned,
            "overturn_rate": rate(overturned, len(claims)),
            "denied_cents": denied_cents,
            "recovered_cents": recovered_cents,
            "recovery_rate": rate(recovered_cents, denied_cents),
        }

    return _table(by, groups, columns, label_orders(ledger))


def days_to_resolution_ref(ledger, by="payer", *, policy=None, catalog=None) -> list[dict]:
    by, groups = _denied_line_groups(ledger, by, policy, catalog)

    def columns(lines):
        claims = _claims(lines)
        days = []
        for c in claims.values():
            if all(r["payer_balance"] == 0 for r in c):
                first = c[0]["first_day"]
                end = max(r["last_day"] or r["first_day"] for r in c)
                days.append((end - first).days)
        return {
            "denied_claims": len(claims),
            "resolved_claims": len(days),
            "open_claims": len(claims) - len(days),
            "mean_days": rate(sum(days), len(days)),
            "median_days": quantile(days, Fraction(1, 2)),
            "p90_days": quantile(days, Fraction(9, 10)),
        }

    return _table(by, groups, columns, label_orders(ledger))


def _current_groups(ledger, by, policy, catalog, value):
    """Every line (self-pay too) with ``value(line) != 0``, grouped (reason = top_carc)."""
    catalog = catalog or _default_catalog()
    by = _as_tuple(by)
    groups = defaultdict(list)
    for r in line_facts(ledger, policy, catalog):
        if value(r) != 0:
            dims = {**r["dims"], **_reason_dims(r["top_carc"], catalog)}
            groups[_key(by, dims)].append(r)
    return by, groups


def open_denial_dollars_ref(ledger, by="payer", *, policy=None, catalog=None) -> list[dict]:
    def open_denied(r):
        return max(min(r["denied"], r["payer_balance"]), 0)

    by, groups = _current_groups(ledger, by, policy, catalog, open_denied)

    def columns(lines):
        return {
            "claims": len(_claims(lines)),
            "lines": len(lines),
            "open_denied_cents": sum(open_denied(r) for r in lines),
        }

    return _table(by, groups, columns, label_orders(ledger))


def aging_ref(
    ledger, by="payer", *, today=None, amount="balance", policy=None, catalog=None
) -> list[dict]:
    if today is None:
        days = [posting_day(e) for e in ledger.entries.to_pylist()]
        today = max(days) if days else dt.date.today()
    elif isinstance(today, str):
        today = dt.date.fromisoformat(today)
    by, groups = _current_groups(ledger, by, policy, catalog, lambda r: r[amount])

    def columns(lines):
        row = {"claims": len(_claims(lines)), "total_cents": sum(r[amount] for r in lines)}
        for name, lo, hi in AGING_BUCKETS:
            row[name] = 0
        for r in lines:
            age = max((today - r["service_date"]).days, 0)
            for name, lo, hi in AGING_BUCKETS:
                if lo <= age and (hi is None or age <= hi):
                    row[name] += r[amount]
        return row

    return _table(by, groups, columns, label_orders(ledger))
