"""Plain twins of ``taa_history``, ``suggest_taa`` and ``encounter_taa``, by hand.

Rows in, rows out (``to_pylist``); encounter figures come from ``classify_ref``
in ``reference.py``. Shares no code with ``ledgerkit.rules.taa`` or the kernels.

DOMAIN.md, Settled question 5, read literally:

- the history of a claim configuration (primary payer, place of service,
  multiset of CPT + modifiers + units) is the allowed amounts of its
  encounters that a payer adjudicated with allowed > 0, that carry no live
  denial of any payer (a payer adjustment in the policy's ``denied`` bucket,
  neither negated nor a negation, amount not 0) and that were never reversed
  (no payer payment or adjustment of theirs was negated);
- a configuration with fewer than ``min_claims`` claims falls back to a
  contract TAA (a fee schedule's rate x units per line, times the fraction,
  rounded down; a line's rate is its (payer, CPT, modifiers) row, else its
  (payer, CPT) row without modifiers), then to the pooled history of the same
  payer and CPT set at every place of service (when that has ``min_claims``
  claims), then to nothing.
"""

from __future__ import annotations

from collections import defaultdict

from reference import classify_ref
from reference_rules import lower_percentile


def _show(value) -> str:
    return "-" if value is None else value


def configurations_ref(ledger) -> dict:
    """Encounter id -> (key, label, group key, procedures) of its claim configuration.

    The key is (primary payer, place of service, sorted multiset of (CPT,
    modifiers, units)); a null modifier and an empty one are different keys
    but read the same in the label, as in the code. The group key drops the
    place of service.
    """
    items = defaultdict(list)
    for p in ledger.procedures.to_pylist():
        items[p["encounter_id"]].append(p)
    out = {}
    for enc in ledger.encounters.to_pylist():
        procs = items[enc["encounter_id"]]
        key_items = sorted(
            (p["cpt"] or "", p["cpt"] is None, p["modifiers"] or "", p["modifiers"] is None,
             int(p["units"]))
            for p in procs
        )  # fmt: skip
        texts = sorted(
            (p["cpt"] or "") + (":" + p["modifiers"] if p["modifiers"] else "") + f"x{p['units']}"
            for p in procs
        )
        key = (enc["payer1_id"], enc["place_of_service"], tuple(key_items))
        label = "|".join(
            (_show(enc["payer1_id"]), _show(enc["place_of_service"]), "+".join(texts))
        )
        group = (enc["payer1_id"], tuple(key_items))
        out[enc["encounter_id"]] = (key, label, group, procs)
    return out


def dirty_encounters_ref(ledger) -> set:
    """Encounters kept out of every TAA history: a live payer denial, or a reversal."""
    entries = ledger.entries.to_pylist()
    negated = {e["negates"] for e in entries if e["negates"] is not None}
    policy = ledger.policy
    dirty = set()
    for e in entries:
        if e["payer_seq"] < 1 or e["kind"] not in ("payment", "adjustment"):
            continue
        is_negation = e["negates"] is not None
        was_negated = e["entry_id"] in negated
        if was_negated and not is_negation:
            dirty.add(e["encounter_id"])  # a payer posting that was reversed
        denial = (
            e["kind"] == "adjustment"
            and policy.bucket_of(e["group_code"], e["carc"]) == "denied"
            and e["amount_cents"] != 0
        )
        if denial and not is_negation and not was_negated:
            dirty.add(e["encounter_id"])
    return dirty


def history_ref(ledger) -> dict:
    """Configuration key -> {"label", "payer_id", "place_of_service", "group", "procs",
    "allowed": [...]} (the clean history)."""
    configs = configurations_ref(ledger)
    dirty = dirty_encounters_ref(ledger)
    out = {}
    by_enc = {e["encounter_id"]: e for e in ledger.encounters.to_pylist()}
    for row in classify_ref(ledger):
        eid = row["encounter_id"]
        key, label, group, procs = configs[eid]
        enc = by_enc[eid]
        c = out.setdefault(
            key,
            dict(
                label=label,
                payer_id=enc["payer1_id"],
                place_of_service=enc["place_of_service"],
                group=group,
                procs=procs,
                allowed=[],
            ),
        )
        if row["class"] != "AWAITING" and row["allowed"] > 0 and eid not in dirty:
            c["allowed"].append(row["allowed"])
    return out


def contract_ref(payer, procs, fee_schedule, fraction):
    """Contract TAA of one configuration, or None."""
    if fee_schedule is None or payer is None:
        return None
    rates = {}
    for r in fee_schedule:
        rates[(r["payer_id"], r["cpt"], r.get("modifiers") or "")] = r["rate_cents"]
    total = 0
    for p in procs:
        if p["cpt"] is None:
            return None
        rate = rates.get((payer, p["cpt"], p["modifiers"] or ""))
        if rate is None:
            rate = rates.get((payer, p["cpt"], ""))
        if rate is None:
            return None
        total += rate * p["units"]
    if total <= 0:
        return None
    return total * round(fraction * 10000) // 10000


def resolve_ref(ledger, percentile, min_claims, fee_schedule=None, fraction=0.95) -> dict:
    """Configuration key -> (TAA cents or None, source or None), after the fallbacks.

    ``fee_schedule`` is a list of dicts (payer_id, cpt, modifiers, rate_cents).
    """
    history = history_ref(ledger)
    pooled = defaultdict(list)
    for c in history.values():
        pooled[c["group"]] += c["allowed"]
    out = {}
    for key, c in history.items():
        contract = contract_ref(c["payer_id"], c["procs"], fee_schedule, fraction)
        if len(c["allowed"]) >= min_claims:
            out[key] = (lower_percentile(c["allowed"], percentile), "history")
        elif contract is not None:
            out[key] = (contract, "contract")
        elif len(pooled[c["group"]]) >= min_claims:
            out[key] = (lower_percentile(pooled[c["group"]], percentile), "cpt_set_any_pos")
        else:
            out[key] = (None, None)
    return out


def encounter_taa_ref(ledger, percentile, min_claims, fee_schedule=None, fraction=0.95) -> dict:
    """Encounter id -> TAA cents or None."""
    resolved = resolve_ref(ledger, percentile, min_claims, fee_schedule, fraction)
    return {eid: resolved[c[0]][0] for eid, c in configurations_ref(ledger).items()}


def taa_history_ref(ledger, min_claims=1, percentiles=(10, 25, 50, 75, 90)) -> list[dict]:
    """Rows of ``taa_history``, ordered by claims (descending) then config text."""
    rows = []
    for c in history_ref(ledger).values():
        values = c["allowed"]
        if not values or len(values) < min_claims:
            continue
        row = dict(
            config=c["label"],
            payer_id=c["payer_id"],
            place_of_service=c["place_of_service"],
            claims=len(values),
            min_cents=min(values),
        )
        for p in percentiles:
            row["p" + f"{p:g}".replace(".", "_") + "_cents"] = lower_percentile(values, p)
        row["max_cents"] = max(values)
        rows.append(row)
    return sorted(rows, key=_row_order)


def suggest_taa_ref(ledger, percentile=50.0, min_claims=10, fee_schedule=None,
                    fraction=0.95) -> list[dict]:  # fmt: skip
    """Rows of ``suggest_taa`` (every configuration), ordered by claims then config text."""
    resolved = resolve_ref(ledger, percentile, min_claims, fee_schedule, fraction)
    rows = [
        dict(
            config=c["label"],
            payer_id=c["payer_id"],
            place_of_service=c["place_of_service"],
            claims=len(c["allowed"]),
            taa_cents=resolved[key][0],
            taa_source=resolved[key][1],
        )
        for key, c in history_ref(ledger).items()
    ]
    return sorted(rows, key=_row_order)


def _row_order(row):
    # The code orders ties by an internal hash; tests compare in this order instead.
    return (-row["claims"], repr(sorted(row.items())))
