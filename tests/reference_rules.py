"""A plain Python rule interpreter: the slow, obvious twin of ledgerkit.rules.

It reads rows (``to_pylist``), takes procedure and encounter figures from the
reference twins in ``reference.py`` and applies the documented semantics
literally: site rules then global rules, by order then position; first match
per procedure; write-offs and transfers only where they move a positive
amount, capped by what is open (Settled question 3): a transfer at most the
payer balance, a write-off at most the payer balance / open PR it names and
never more than the balance. ``amount = "matched"`` rules ask for the live
adjustments matching their group/CARC condition that are still payer-owed.
Shares no code with ``ledgerkit._kernels`` or ``ledgerkit.analytics.derived``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

from reference import PR_CODES, balances_ref, classify_ref, live_ids

EPOCH = dt.date(1970, 1, 1)


def _day(value) -> int:
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).date()
    return (value - EPOCH).days


def lower_percentile(values: list, p: float):
    values = sorted(values)
    return values[int(math.floor((len(values) - 1) * p / 100.0))]


class LedgerView:
    """Everything rules look at, as Python dicts keyed by encounter id / (id, line)."""

    def __init__(self, ledger):
        self.ledger = ledger
        self.encounters = ledger.encounters.to_pylist()
        self.procs = {(p["encounter_id"], p["line"]): p for p in ledger.procedures.to_pylist()}
        self.figures = balances_ref(ledger, "procedure")  # encounter order, then line
        self.enc = {r["encounter_id"]: r for r in classify_ref(ledger)}
        classes = dict(
            zip(
                ledger.payers["payer_id"].to_pylist(),
                ledger.payers["payer_class"].cast("string").to_pylist(),
                strict=True,
            )
        )
        self.payer_class = {
            e["encounter_id"]: (
                "self_pay" if e["payer1_id"] is None else classes.get(e["payer1_id"], "other")
            )
            for e in self.encounters
        }
        entries = ledger.entries.to_pylist()
        negated = {e["negates"] for e in entries if e["negates"] is not None}
        self.live_entries = defaultdict(list)  # (id, line) -> live entry dicts
        live = live_ids(entries)
        for e in entries:
            if e["entry_id"] in live:
                self.live_entries[(e["encounter_id"], e["line"])].append(e)
        # (encounter, line) of the procedures with a live payer denial (not $0)
        self.live_denial = {
            (e["encounter_id"], e["line"])
            for e in entries
            if e["kind"] == "adjustment"
            and e["payer_seq"] >= 1
            and e["negates"] is None
            and e["entry_id"] not in negated
            and e["amount_cents"] != 0
            and ledger.policy.bucket_of(e["group_code"], e["carc"]) == "denied"
        }
        self.adjustments = defaultdict(list)
        self.last_remit = {}
        latest = None
        for e in entries:
            day = _day(e["posted_at"])
            latest = day if latest is None else max(latest, day)
            if e["source"] == "remit":
                eid = e["encounter_id"]
                self.last_remit[eid] = max(self.last_remit.get(eid, day), day)
            live = e["negates"] is None and e["entry_id"] not in negated
            if live and e["kind"] == "adjustment":
                self.adjustments[(e["encounter_id"], e["line"])].append(
                    (e["group_code"], e["carc"].strip())
                )
        if latest is None:
            days = [_day(p["service_date"]) for p in self.procs.values()]
            latest = max(days) if days else 0
        self.latest_day = latest

    def config(self, enc: dict):
        items = sorted(
            (p["cpt"], p["modifiers"] or "", p["modifiers"] is None, p["units"])
            for key, p in self.procs.items()
            if key[0] == enc["encounter_id"]
        )
        return (enc["payer1_id"], enc["place_of_service"], tuple(items))

    def taa(self, percentile: float, min_claims: int) -> dict:
        """Encounter id -> TAA (cents) or None: clean history, then the CPT-set fallback
        (reference_taa.py; rules get no fee schedule)."""
        from reference_taa import encounter_taa_ref

        return encounter_taa_ref(self.ledger, percentile, min_claims)


def evaluation_order(rules) -> list:
    enabled = [(i, r) for i, r in enumerate(rules) if r.enabled]
    return [r for i, r in sorted(enabled, key=lambda t: (t[1].scope != "site", t[1].order, t[0]))]


def matched_ref(view, rule, key, last) -> int:
    """Cents of the live adjustments ``rule`` matches on procedure ``key``, still payer-owed."""
    w = rule.when
    policy = view.ledger.policy
    total = 0
    for e in view.live_entries[key]:
        if e["kind"] != "adjustment" or e["group_code"] is None or e["carc"] is None:
            continue
        if w.group_codes and e["group_code"] not in w.group_codes:
            continue
        if w.carcs and e["carc"].strip() not in w.carcs:
            continue
        bucket = policy.bucket_of(e["group_code"], e["carc"])
        earlier_pr = bucket in PR_CODES and e["payer_seq"] != last
        if bucket in ("denied", "other") or earlier_pr:
            total += e["amount_cents"]
    return max(total, 0)


def amounts_ref(rule, fig, matched=None):
    """(from payer balance, from open PR, requested) of ``rule`` on one procedure."""
    a = rule.then
    pb = max(fig["payer_balance"], 0)
    pr = max(fig["open_pr"], 0)
    room = max(fig["balance"], 0)
    want = pb if matched is None else matched
    if a.action == "transfer_to_pr":
        return min(want, pb), 0, want
    if a.action != "write_off":
        return 0, 0, 0
    if a.target == "payer_balance":
        return min(want, pb, room), 0, want
    if a.target == "pr":
        return 0, min(pr, room), pr
    payer_part = min(pb, room)
    return payer_part, min(pr, room - payer_part), pb + pr


def _amounts(rule, view, fig):
    matched = None
    if rule.then.amount == "matched":
        key = (fig["encounter_id"], fig["line"])
        matched = matched_ref(view, rule, key, fig["last"])
    return amounts_ref(rule, fig, matched)


def _cap_note(requested, moved):
    if requested <= moved:
        return None
    return (
        f"capped by what is open: asked ${requested // 100:,}.{requested % 100:02d}, "
        f"moved ${moved // 100:,}.{moved % 100:02d}"
    )


def _matches(rule, view, enc, proc, fig, as_of_day, taa_of):
    w = rule.when
    eid = enc["encounter_id"]
    row = view.enc[eid]
    if rule.scope == "site" and enc["site_id"] != rule.site:
        return False
    if w.payer_ids and enc["payer1_id"] not in w.payer_ids:
        return False
    if w.payer_classes and view.payer_class[eid] not in w.payer_classes:
        return False
    if w.classes and row["class"] not in w.classes:
        return False
    if w.stages and row["stage"] not in w.stages:
        return False
    if w.balance_min is not None and row["balance"] < w.balance_min:
        return False
    if w.balance_max is not None and row["balance"] > w.balance_max:
        return False
    if w.allowed_vs_taa is not None:
        taa = taa_of[(w.taa_percentile, w.taa_min_claims)][eid]
        if taa is None:
            return False
        reached = row["allowed"] * 10000 >= taa * round(w.taa_fraction * 10000)
        if reached != (w.allowed_vs_taa == ">="):
            return False
        denied_entirely = fig["allowed"] <= 0 and (eid, proc["line"]) in view.live_denial
        moves = rule.then.action in ("write_off", "transfer_to_pr")
        if denied_entirely and moves and not w.taa_includes_denied_lines:
            return False  # a TAA rule leaves appealable denials alone
    if w.cpts and proc["cpt"] not in w.cpts:
        return False
    if w.age_from is not None:
        if w.age_from == "service":
            day = _day(proc["service_date"])
        else:
            day = view.last_remit.get(eid)
            if day is None:
                return False
        age = as_of_day - day
        if w.age_min_days is not None and age < w.age_min_days:
            return False
        if w.age_max_days is not None and age > w.age_max_days:
            return False
    a_payer, a_pr, _ = _amounts(rule, view, fig)
    if rule.then.action in ("write_off", "transfer_to_pr") and a_payer + a_pr <= 0:
        return False
    if w.group_codes or w.carcs:
        found = any(
            (not w.group_codes or g in w.group_codes) and (not w.carcs or c in w.carcs)
            for g, c in view.adjustments[(eid, proc["line"])]
        )
        if not found:
            return False
    return True


def dry_run_ref(ledger, rules, as_of_day=None):
    """(entries, summary) where entries are dicts and summary maps rule name -> figures."""
    view = LedgerView(ledger)
    as_of_day = view.latest_day if as_of_day is None else as_of_day
    order = evaluation_order(rules)
    taa_of = {}
    for r in order:
        if r.when.allowed_vs_taa is not None:
            key = (r.when.taa_percentile, r.when.taa_min_claims)
            taa_of[key] = view.taa(*key)
    summary = {
        r.name: dict(
            procedures=0,
            encounters=0,
            written_off_cents=0,
            to_pr_cents=0,
            encounters_closed=0,
            capped_procedures=0,
            capped_cents=0,
        )
        for r in rules
    }
    entries = []
    by_enc = defaultdict(list)
    for fig in view.figures:
        by_enc[fig["encounter_id"]].append(fig)
    for enc in view.encounters:
        eid = enc["encounter_id"]
        hit_rules = []
        written = 0
        for fig in by_enc[eid]:
            proc = view.procs[(eid, fig["line"])]
            rule = next(
                (r for r in order if _matches(r, view, enc, proc, fig, as_of_day, taa_of)), None
            )
            if rule is None:
                continue
            s = summary[rule.name]
            s["procedures"] += 1
            if rule not in hit_rules:
                hit_rules.append(rule)
            a_payer, a_pr, want = _amounts(rule, view, fig)
            if want > a_payer + a_pr:
                s["capped_procedures"] += 1
                s["capped_cents"] += want - a_payer - a_pr
            base = dict(
                encounter_id=eid,
                line=fig["line"],
                group_code=rule.then.group,
                carc=rule.then.reason,
                rule_id=rule.name,
                note=_cap_note(want, a_payer + a_pr),
            )
            seq = max(fig["last"], 1)
            if rule.then.action == "write_off":
                s["written_off_cents"] += a_payer + a_pr
                written += a_payer + a_pr
                if a_payer > 0:
                    entries.append(
                        dict(base, payer_seq=seq, kind="write_off", amount_cents=a_payer)
                    )
                if a_pr > 0:
                    entries.append(dict(base, payer_seq=0, kind="write_off", amount_cents=a_pr))
            elif rule.then.action == "transfer_to_pr":
                s["to_pr_cents"] += a_payer
                entries.append(
                    dict(base, payer_seq=seq, kind="transfer_to_pr", amount_cents=a_payer)
                )
        for r in hit_rules:
            summary[r.name]["encounters"] += 1
        balance = view.enc[eid]["balance"]
        writers = [r for r in order if r in hit_rules and r.then.action == "write_off"]
        if writers and balance != 0 and balance - written == 0:
            summary[writers[0].name]["encounters_closed"] += 1
    return entries, summary
