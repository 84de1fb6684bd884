"""Plain twins of ``taa_history`` and ``suggest_taa``: configurations and percentiles by hand.

Rows in, rows out (``to_pylist``); encounter figures come from ``classify_ref``
in ``reference.py``. Shares no code with ``ledgerkit.rules.taa`` or the kernels.

Current behaviour, written down as the code does it (DOMAIN.md differs, see
"Settled questions" 5, to be changed by a later issue): the history of a
configuration is every encounter a payer adjudicated with allowed > 0, live
denials and reversals included, and a configuration too thin for a TAA has
none (no fallback to a contract rate or to other places of service).
"""

from __future__ import annotations

from collections import defaultdict

from reference import classify_ref
from reference_rules import lower_percentile


def _show(value) -> str:
    return "-" if value is None else value


def configurations_ref(ledger) -> dict:
    """Encounter id -> (key, label) of its claim configuration.

    The key is (primary payer, place of service, sorted multiset of (CPT,
    modifiers, units)); a null modifier and an empty one are different keys
    but read the same in the label, as in the code.
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
        out[enc["encounter_id"]] = (key, label)
    return out


def history_ref(ledger) -> dict:
    """Configuration key -> {"label", "payer_id", "place_of_service", "allowed": [...]}."""
    configs = configurations_ref(ledger)
    out = {}
    by_enc = {e["encounter_id"]: e for e in ledger.encounters.to_pylist()}
    for row in classify_ref(ledger):
        key, label = configs[row["encounter_id"]]
        enc = by_enc[row["encounter_id"]]
        c = out.setdefault(
            key,
            dict(
                label=label,
                payer_id=enc["payer1_id"],
                place_of_service=enc["place_of_service"],
                allowed=[],
            ),
        )
        if row["class"] != "AWAITING" and row["allowed"] > 0:
            c["allowed"].append(row["allowed"])
    return out


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


def suggest_taa_ref(ledger, percentile=50.0, min_claims=10) -> list[dict]:
    """Rows of ``suggest_taa``, ordered by claims (descending) then config text."""
    rows = [
        dict(
            config=c["label"],
            payer_id=c["payer_id"],
            place_of_service=c["place_of_service"],
            claims=len(c["allowed"]),
            taa_cents=lower_percentile(c["allowed"], percentile),
        )
        for c in history_ref(ledger).values()
        if c["allowed"] and len(c["allowed"]) >= min_claims
    ]
    return sorted(rows, key=_row_order)


def _row_order(row):
    # The code orders ties by an internal hash; tests compare in this order instead.
    return (-row["claims"], repr(sorted(row.items())))
