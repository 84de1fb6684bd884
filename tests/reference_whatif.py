"""Plain twins of the what-if sweeps: one reference dry run per level, totalled.

``taa_sweep``, ``threshold_sweep`` and ``WhatIf.evaluate`` answer "what would
this rule do"; here that is literally ``dry_run_ref`` (reference_rules.py) of
the rule the sweep module docstring names, run once per level, and its entries
summed per encounter. Slow and obviously right; no ledgerkit internals.
"""

from __future__ import annotations

from collections import defaultdict

from reference import classify_ref
from reference_rules import dry_run_ref

from ledgerkit.rules.engine import Action, Condition, Rule

FIGURES = ("encounters_hit", "encounters_closed", "written_off_cents", "ar_closed_cents")


def taa_rule(percentile, fraction=1.0, min_claims=10):
    when = Condition(
        allowed_vs_taa=">=",
        taa_percentile=float(percentile),
        taa_fraction=float(fraction),
        taa_min_claims=min_claims,
    )
    return Rule("taa", when=when, then=Action("write_off", target="payer_balance"), order=1)


def small_balance_rule(threshold):
    when = Condition(balance_min=1, balance_max=int(threshold))
    return Rule("small", when=when, then=Action("write_off", target="balance"), order=2)


def totals_ref(ledger, rules) -> dict:
    """Primary payer id (None: self-pay) -> figures of a reference dry run of ``rules``.

    An encounter is hit when the run writes anything off on it, and closed when
    what it writes off is its whole (non-zero) balance.
    """
    entries, _ = dry_run_ref(ledger, rules)
    written = defaultdict(int)
    for e in entries:
        written[e["encounter_id"]] += e["amount_cents"]
    balance = {r["encounter_id"]: r["balance"] for r in classify_ref(ledger)}
    payer = {e["encounter_id"]: e["payer1_id"] for e in ledger.encounters.to_pylist()}
    out = {}
    for eid, amount in written.items():
        t = out.setdefault(payer[eid], dict.fromkeys(FIGURES, 0))
        t["encounters_hit"] += 1
        t["written_off_cents"] += amount
        if balance[eid] != 0 and amount == balance[eid]:
            t["encounters_closed"] += 1
            t["ar_closed_cents"] += balance[eid]
    return out


def _sweep_rows(levels, per_level: list[dict], by_payer: bool) -> list[dict]:
    """Rows as the sweeps return them: every level once (``by_payer=False``), or every
    level for each primary payer hit at some level (payers in sorted order here)."""
    zero = dict.fromkeys(FIGURES, 0)
    rows = []
    if not by_payer:
        for level, per_payer in zip(levels, per_level, strict=True):
            total = {k: sum(t[k] for t in per_payer.values()) for k in FIGURES}
            rows.append(dict(level=float(level), payer_id=None, **total))
        return rows
    payers = sorted(
        {p for per_payer in per_level for p in per_payer}, key=lambda p: (p is not None, p)
    )
    for p in payers:
        for level, per_payer in zip(levels, per_level, strict=True):
            rows.append(dict(level=float(level), payer_id=p, **per_payer.get(p, zero)))
    return rows


def taa_sweep_ref(ledger, levels, *, mode="percentile", percentile=50.0, min_claims=10,
                  by_payer=True) -> list[dict]:  # fmt: skip
    """Rows of ``taa_sweep``: the TAA write-off rule at each level, one dry run each."""
    if mode == "percentile":
        runs = [totals_ref(ledger, [taa_rule(lv, 1.0, min_claims)]) for lv in levels]
    else:
        runs = [totals_ref(ledger, [taa_rule(percentile, lv, min_claims)]) for lv in levels]
    return _sweep_rows(levels, runs, by_payer)


def threshold_sweep_ref(ledger, thresholds, *, by_payer=True) -> list[dict]:
    """Rows of ``threshold_sweep``: the small-balance write-off rule at each threshold."""
    # A threshold below 1 cent is no rule at all (the rule needs balance_max >= 1).
    runs = [totals_ref(ledger, [small_balance_rule(t)] if t >= 1 else []) for t in thresholds]
    return _sweep_rows(thresholds, runs, by_payer)


def whatif_ref(ledger, *, min_claims, taa_percentile=None, taa_fraction=1.0,
               small_balance=None, by_payer=False):  # fmt: skip
    """``WhatIf.evaluate``: the TAA rule (if any) then the small-balance rule (if any),
    as one reference dry run. Totals, or rows per primary payer hit (sorted)."""
    rules = []
    if taa_percentile is not None:
        rules.append(taa_rule(taa_percentile, taa_fraction, min_claims))
    if small_balance is not None and small_balance >= 1:
        rules.append(small_balance_rule(small_balance))
    per_payer = totals_ref(ledger, rules)
    if by_payer:
        return [
            dict(payer_id=p, **per_payer[p])
            for p in sorted(per_payer, key=lambda p: (p is not None, p))
        ]
    return {k: sum(t[k] for t in per_payer.values()) for k in FIGURES}
