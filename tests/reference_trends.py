"""Slow, obviously correct twins of ``lk.root_causes`` and ``lk.payer_behaviour``.

Plain Python over row dicts, reading each docstring literally; figures come
from ``reference.balances_ref`` and first responses from
``reference_metrics.line_facts``. Money stays in integer cents, medians and
slopes are computed exactly (``Fraction``) and only rounded at the end.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from fractions import Fraction

from reference import _bucket, live_ids
from reference_metrics import (
    _as_tuple,
    _class_of,
    _default_catalog,
    _key,
    _reason_dims,
    _sort_key,
    label_orders,
    line_facts,
    posting_day,
    quantile,
    rate,
)


# ---------------------------------------------------------------- root causes
def _month(day: dt.date) -> str:
    return day.strftime("%Y-%m")


def _months_between(first: dt.date, last: dt.date) -> list[str]:
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def slope(ys: list[int]) -> Fraction:
    """Least-squares slope of ys against 0..n-1, exactly (0 for fewer than 2 points)."""
    n = len(ys)
    if n < 2:
        return Fraction(0)
    x_mean = Fraction(n - 1, 2)
    y_mean = Fraction(sum(ys), n)
    num = sum((x - x_mean) * (y - y_mean) for x, y in enumerate(ys))
    den = sum((x - x_mean) ** 2 for x in range(n))
    return num / den


def root_causes_ref(
    ledger,
    by=("payer", "carc", "cpt", "provider"),
    *,
    top=20,
    window=3,
    complete_months=True,
    as_of=None,
    policy=None,
    catalog=None,
) -> list[dict]:
    """Patterns of live payer denials (the rows of denial_dollars), largest first.

    Ties in dollars keep the label order of the ``by`` columns. ``slope`` is
    exact here (a Fraction); compare the float with a tolerance.
    """
    policy = policy or ledger.policy
    catalog = catalog or _default_catalog()
    by = _as_tuple(by)
    entries = ledger.entries.to_pylist()
    live = live_ids(entries)
    line_dims = {(r["encounter_id"], r["line"]): r["dims"] for r in line_facts(ledger, policy)}
    classes = {p["payer_id"]: p["payer_class"] for p in ledger.payers.to_pylist()}
    denials = []
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
        denials.append((_key(by, dims), e))
    total = sum(e["amount_cents"] for _, e in denials)

    # Months of the series: the first denial's posting month to the ledger's
    # end (its last posting day of any entry, or as_of), empty months as 0;
    # the end month is dropped when the end day does not close it.
    if as_of is not None:
        end = as_of
        denials = [(k, e) for k, e in denials if posting_day(e) <= end]
        total = sum(e["amount_cents"] for _, e in denials)
    else:
        end = max((posting_day(e) for e in entries), default=None)
    days = [posting_day(e) for _, e in denials]
    months = _months_between(min(days), end) if days else []
    if complete_months and months and (end + dt.timedelta(days=1)).month == end.month:
        months = months[:-1]

    groups = {}
    for key, e in denials:
        g = groups.setdefault(
            key, {"denials": 0, "claims": set(), "denied_cents": 0, "monthly": [0] * len(months)}
        )
        g["denials"] += 1
        g["claims"].add(e["encounter_id"])
        g["denied_cents"] += e["amount_cents"]
        m = _month(posting_day(e))
        if m in months:
            g["monthly"][months.index(m)] += e["amount_cents"]
    labelled = [dict(zip(by, key, strict=True)) | {"g": g} for key, g in groups.items()]
    labelled.sort(key=_sort_key(by, label_orders(ledger, entry_payer=True)))
    labelled.sort(key=lambda r: -r["g"]["denied_cents"])  # stable: ties keep label order
    if top is not None:
        labelled = labelled[:top]
    out = []
    for rank, r in enumerate(labelled, 1):
        g = r.pop("g")
        row = {"rank": rank, **r}
        if "carc" in by and "category" not in by:
            row["category"] = catalog.category_of(r["carc"]) if r["carc"] is not None else None
        series = g["monthly"]
        last = series[-1] if len(series) >= 1 else 0
        prev = series[-2] if len(series) >= 2 else 0
        s = slope(series[-window:]) if len(series) >= 2 else Fraction(0)
        row.update(
            denials=g["denials"],
            claims=len(g["claims"]),
            denied_cents=g["denied_cents"],
            share=rate(g["denied_cents"], total),
            monthly_cents=series,
            first_month=months[0] if months else None,
            last_month_cents=last,
            prev_month_cents=prev,
            mom_change_cents=last - prev,
            slope_cents_per_month=s,
            growing=s > 0,
        )
        out.append(row)
    return out


# ---------------------------------------------------------------- payer behaviour
def remit_lag_ref(ledger, *, policy=None) -> list[dict]:
    """Per payer of the payers table (in its order): days from service to its
    first remit on each claim it adjudicated (as payer_seq 1, 2 or 3)."""
    entries = ledger.entries.to_pylist()
    first = {}  # (encounter, payer_seq) -> first remit day, negations excluded
    for e in entries:
        if e["kind"] in ("payment", "adjustment") and e["payer_seq"] >= 1:
            if e["negates"] is None:
                k = (e["encounter_id"], e["payer_seq"])
                first[k] = min(first.get(k, posting_day(e)), posting_day(e))
    lags = defaultdict(list)
    for enc in ledger.encounters.to_pylist():
        for k in (1, 2, 3):
            payer = enc[f"payer{k}_id"]
            if payer is not None and (enc["encounter_id"], k) in first:
                lags[payer].append((first[(enc["encounter_id"], k)] - enc["service_date"]).days)
    out = []
    for payer in ledger.payers["payer_id"].to_pylist():
        days = lags.get(payer)
        if not days:
            continue
        row = {"payer_id": payer, "remits": len(days), "mean_days": rate(sum(days), len(days))}
        for name, q in (
            ("p10", Fraction(1, 10)),
            ("p25", Fraction(1, 4)),
            ("median", Fraction(1, 2)),
            ("p75", Fraction(3, 4)),
            ("p90", Fraction(9, 10)),
            ("max", Fraction(1)),
        ):
            row[f"{name}_days"] = quantile(days, q)
        out.append(row)
    return out


def _adjudicated_lines(ledger, policy):
    """Lines the primary responded to with allowed > 0 (allowed over every payer)."""
    units = {(p["encounter_id"], p["line"]): p["units"] for p in ledger.procedures.to_pylist()}
    out = []
    for r in line_facts(ledger, policy):
        if r["first_day"] is not None and r["allowed"] > 0:
            out.append({**r, "units": max(units[(r["encounter_id"], r["line"])], 1)})
    return out


def _expected_per_unit(ledger, lines, fee_schedule):
    """(payer, cpt) -> expected allowed per unit (Fraction), or absent."""
    if fee_schedule is None:
        per_unit = defaultdict(list)
        for r in lines:
            per_unit[(r["dims"]["payer"], r["dims"]["cpt"])].append(
                Fraction(r["allowed"], r["units"])
            )
        return {k: _exact_median(v) for k, v in per_unit.items()}
    expected = {}
    rows = fee_schedule.to_pylist()
    payers = {r["dims"]["payer"] for r in lines}
    for row in rows:  # a row for any payer first ...
        if row["payer_id"] is None:
            for payer in payers:
                expected[(payer, row["cpt"])] = Fraction(row["allowed_cents"])
    for row in rows:  # ... then a payer's own row wins
        if row["payer_id"] is not None:
            expected[(row["payer_id"], row["cpt"])] = Fraction(row["allowed_cents"])
    return expected


def _exact_median(values: list[Fraction]) -> Fraction:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def _round_half_even(x: Fraction) -> int:
    return round(x)  # Fraction.__round__ rounds half to even, as np.round does


def _underpaid(r, expected, tolerance):
    """(expected cents for the line, shortfall) when the line is underpaid, else None."""
    per_unit = expected.get((r["dims"]["payer"], r["dims"]["cpt"]))
    if per_unit is None:
        return None
    total = per_unit * r["units"]
    if not r["allowed"] < total * (1 - Fraction(tolerance)):
        return None
    return _round_half_even(total), max(_round_half_even(total) - r["allowed"], 0)


def allowed_by_cpt_ref(ledger, *, fee_schedule=None, tolerance=0.05, policy=None):
    """Per (primary payer, CPT) of adjudicated lines; expected values exact (Fractions)."""
    lines = _adjudicated_lines(ledger, policy)
    expected = _expected_per_unit(ledger, lines, fee_schedule)
    groups = defaultdict(list)
    for r in lines:
        groups[(r["dims"]["payer"], r["dims"]["cpt"])].append(r)
    out = []
    for (payer, cpt), rs in groups.items():
        under = [u for u in (_underpaid(r, expected, tolerance) for r in rs) if u is not None]
        out.append(
            {
                "payer": payer,
                "cpt": cpt,
                "lines": len(rs),
                "mean_allowed_per_unit": rate(
                    sum(r["allowed"] for r in rs), sum(r["units"] for r in rs)
                ),
                "expected_per_unit": expected.get((payer, cpt)),
                "underpaid_lines": len(under),
                "shortfall_cents": sum(s for _, s in under),
            }
        )
    return sorted(out, key=_sort_key(("payer", "cpt"), label_orders(ledger)))


def underpayments_ref(ledger, *, fee_schedule=None, tolerance=0.05, policy=None):
    """Underpaid lines, largest shortfall first (ties: ledger order of the lines)."""
    lines = _adjudicated_lines(ledger, policy)
    expected = _expected_per_unit(ledger, lines, fee_schedule)
    out = []
    for r in lines:  # line_facts lists lines in the kernels' (ledger) order
        u = _underpaid(r, expected, tolerance)
        if u is not None:
            out.append(
                {
                    "encounter_id": r["encounter_id"],
                    "line": r["line"],
                    "payer": r["dims"]["payer"],
                    "cpt": r["dims"]["cpt"],
                    "units": r["units"],
                    "allowed_cents": r["allowed"],
                    "expected_cents": u[0],
                    "shortfall_cents": u[1],
                }
            )
    return sorted(out, key=lambda row: -row["shortfall_cents"])  # stable


# ---------------------------------------------------------------- worklist
def _history_ref(ledger, catalog, prior_weight):
    """Smoothed overturn rate per (primary payer, first-response CARC).

    Payers missing from ``ledger.payers`` share one cell (None), as do lines
    without a CARC. Returns (p, n, k) dicts keyed by (payer, carc).
    """
    known = set(ledger.payers["payer_id"].to_pylist())
    n, k = defaultdict(int), defaultdict(int)
    for r in line_facts(ledger, catalog=catalog):
        if r["submitted"] and r["first_denied"] > 0:
            payer = r["dims"]["payer"] if r["dims"]["payer"] in known else None
            cell = (payer, r["first_reason"])
            n[cell] += 1
            k[cell] += min(max(r["later_paid"], 0), r["first_denied"]) > 0
    total_n, total_k = sum(n.values()), sum(k.values())
    p_all = total_k / total_n if total_n else 0.0

    def category(carc):
        return catalog.category_of(carc) if carc is not None else "other"

    n_cat, k_cat = defaultdict(int), defaultdict(int)
    for cell in n:
        n_cat[category(cell[1])] += n[cell]
        k_cat[category(cell[1])] += k[cell]

    def p(cell):
        cat = category(cell[1])
        p_cat = (k_cat[cat] + prior_weight * p_all) / (n_cat[cat] + prior_weight)
        return (k[cell] + prior_weight * p_cat) / (n[cell] + prior_weight)

    return p, n, k, known


def worklist_ref(
    ledger, today=None, *, weights=None, horizon_days=90, prior_weight=10.0, catalog=None
) -> list[dict]:
    """Not-balanced DENIAL / PARTIAL_DENIAL / UNRESOLVED encounters with something at
    stake, highest priority first.

    Scores are floats in the docstring's formula order (``math.log1p`` may
    differ from numpy's by an ulp); the ``why`` sentence is rebuilt from the row.
    """
    from reference import classify_ref

    from ledgerkit.core.ledger import DEFAULT_APPEAL_DAYS, DEFAULT_TIMELY_FILING_DAYS

    catalog = catalog or _default_catalog()
    w = {"value": 0.4, "deadline": 0.3, "likelihood": 0.3, **(weights or {})}
    entries = ledger.entries.to_pylist()
    if today is None:
        today = max((posting_day(e) for e in entries), default=dt.date.today())
    elif isinstance(today, str):
        today = dt.date.fromisoformat(today)
    payers = {p["payer_id"]: p for p in ledger.payers.to_pylist()}
    encounters = {e["encounter_id"]: e for e in ledger.encounters.to_pylist()}
    open_denied = defaultdict(int)
    for r in line_facts(ledger, catalog=catalog):
        open_denied[r["encounter_id"]] += max(min(r["denied"], r["payer_balance"]), 0)
    first_remit = {}
    for e in entries:
        if e["kind"] in ("payment", "adjustment") and e["payer_seq"] >= 1:
            if e["negates"] is None:
                key = (e["encounter_id"], e["payer_seq"])
                first_remit[key] = min(first_remit.get(key, posting_day(e)), posting_day(e))
    p, hist_n, hist_k, known = _history_ref(ledger, catalog, prior_weight)

    rows = []
    for position, c in enumerate(classify_ref(ledger)):
        if c["balanced"] or c["class"] not in ("DENIAL", "PARTIAL_DENIAL", "UNRESOLVED"):
            continue
        eid = c["encounter_id"]
        enc = encounters[eid]
        at_stake = open_denied[eid] if open_denied[eid] > 0 else max(c["payer_balance"], 0)
        if at_stake <= 0:
            continue  # nothing left to chase from a payer (e.g. all pushed to PR)
        # The payer whose denial explains the class (may precede the last payer).
        seq = c["explain_payer_seq"] or max(c["last_payer_seq"], 1)
        payer = enc[f"payer{seq}_id"]
        ref_data = payers.get(payer, {})
        carc = c["explain_carc"]
        category = catalog.category_of(carc) if carc is not None else "other"
        action = catalog.next_action_of(carc, c["explain_group"]) if carc is not None else "appeal"
        denial_date = first_remit.get((eid, seq), enc["service_date"])
        if action == "correct_resubmit":
            kind = "timely_filing"
            days = ref_data.get("timely_filing_days", DEFAULT_TIMELY_FILING_DAYS)
            deadline = enc["service_date"] + dt.timedelta(days=days)
        else:
            kind = "appeal"
            days = ref_data.get("appeal_days", DEFAULT_APPEAL_DAYS)
            deadline = denial_date + dt.timedelta(days=days)
        days_left = (deadline - today).days
        cell = (payer if payer in known else None, carc)
        rows.append(
            {
                "position": position,
                "encounter_id": eid,
                "class": c["class"],
                "payer_id": payer,
                "payer_seq": seq,
                "line": c["explain_line"],
                "group_code": c["explain_group"],
                "carc": carc,
                "category": category,
                "next_action": action,
                "at_stake_cents": at_stake,
                "payer_balance_cents": c["payer_balance"],
                "service_date": enc["service_date"],
                "denial_date": denial_date,
                "deadline_kind": kind,
                "deadline": deadline,
                "days_left": days_left,
                "expired": days_left < 0,
                "history_denied": hist_n.get(cell, 0),
                "history_overturned": hist_k.get(cell, 0),
                "likelihood": p(cell),
            }
        )
    top = math.log1p(max(r["at_stake_cents"] / 100.0 for r in rows)) if rows else 1.0
    for r in rows:
        r["value_score"] = math.log1p(r["at_stake_cents"] / 100.0) / top if top > 0 else 0.0
        left = r["days_left"]
        r["urgency_score"] = 0.0 if left < 0 else 1.0 - min(left, horizon_days) / horizon_days
        r["priority"] = (
            w["value"] * r["value_score"]
            + w["deadline"] * r["urgency_score"]
            + w["likelihood"] * r["likelihood"]
        )
    rows.sort(key=lambda r: (-r["priority"], -r["at_stake_cents"], r["days_left"], r["position"]))
    out = []
    for rank, r in enumerate(rows, 1):
        del r["position"]
        cents = r["at_stake_cents"]
        r["why"] = (
            f"{r['class']}: {r['group_code'] or '?'}-{r['carc'] or 'none'} ({r['category']})"
            f" on line {'?' if r['line'] is None else r['line']} by {r['payer_id'] or '?'};"
            f" ${cents // 100}.{cents % 100:02d} at stake; {r['next_action']} by"
            f" {r['deadline'].isoformat()} ({r['days_left']} days, {r['deadline_kind']});"
            f" {round(r['likelihood'] * 100)}% likely ({r['history_overturned']}/"
            f"{r['history_denied']} overturned for this payer and CARC)"
        )
        out.append({"rank": rank, **r})
    return out
