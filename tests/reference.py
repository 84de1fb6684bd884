"""Slow, obviously correct twins of the kernels, in plain Python over row dicts.

They read DOMAIN.md literally and share no code with ``ledgerkit._kernels`` or
``ledgerkit.keys``; only the CARC policy lookup (data) is shared.
"""

from __future__ import annotations

from collections import defaultdict

PR_CODES = {"pr_deductible", "pr_coinsurance", "pr_copay", "pr_other"}
STAGE_OF_PAYER = {1: "payer_1", 2: "payer_2", 3: "payer_3"}


def _bucket(entry, policy) -> str:
    kind = entry["kind"]
    if kind == "adjustment":
        return policy.bucket_of(entry["group_code"], entry["carc"])
    if kind == "write_off" and entry["payer_seq"] == 0:
        return "pr_written_off"
    return {
        "charge": "charge",
        "payment": "paid",
        "patient_payment": "patient_paid",
        "write_off": "written_off",
        "transfer_to_pr": "pushed_to_pr",
    }[kind]


def live_ids(entries: list[dict]) -> set:
    negated = {e["negates"] for e in entries if e["negates"] is not None}
    return {
        e["entry_id"] for e in entries if e["negates"] is None and e["entry_id"] not in negated
    }


def procedure_figures_ref(entries: list[dict], policy, self_pay: bool, live: set) -> dict:
    """Figures of one procedure from its entries (DOMAIN.md, "Buckets")."""
    adjudicators = [
        e["payer_seq"]
        for e in entries
        if e["entry_id"] in live
        and e["payer_seq"] >= 1
        and (e["kind"] in ("payment", "adjustment"))
    ]
    last = max(adjudicators, default=0)
    sums = defaultdict(int)
    for e in entries:
        b = _bucket(e, policy)
        if b in PR_CODES and e["payer_seq"] != last:
            continue  # PR follows the last adjudicating payer
        if b == "denied":
            continue  # summed below: the live denials of every payer
        sums[b] += e["amount_cents"]
    # Settled question 1: every payer's live denial counts; a later payer's
    # payment does not cure it. Negated denials and their negations are not live.
    denials = [
        e
        for e in entries
        if _bucket(e, policy) == "denied" and e["payer_seq"] >= 1 and e["entry_id"] in live
    ]
    sums["denied"] = sum(e["amount_cents"] for e in denials)
    top = None
    for e in denials:  # table order: the first of equal denials wins
        if top is None or e["amount_cents"] > top["amount_cents"]:
            top = e
    f = {k: sums[k] for k in ("charge", "paid", "contractual", "denied", "other", "patient_paid")}
    for k in PR_CODES:
        f[k] = sums[k]
    f["pr"] = sum(sums[k] for k in PR_CODES)
    f["written_off"] = sums["written_off"] + sums["pr_written_off"]
    f["pushed_to_pr"] = sums["pushed_to_pr"]
    f["allowed"] = sums["paid"] + sums["pr_deductible"] + sums["pr_coinsurance"] + sums["pr_copay"]
    f["balance"] = (
        f["charge"] - f["paid"] - f["patient_paid"] - f["contractual"] - f["written_off"]
    )
    if self_pay:
        f["open_pr"] = f["balance"]
    else:
        f["open_pr"] = f["pr"] + f["pushed_to_pr"] - f["patient_paid"] - sums["pr_written_off"]
    f["payer_balance"] = f["balance"] - f["open_pr"]
    f["balanced"] = f["balance"] == 0
    f["credit"] = max(-f["balance"], 0)  # a line below 0: an overpayment (allow_credit)
    return {"figures": f, "last": last, "top": top}


def _n_payers(enc: dict) -> int:
    n = 0
    for k in (1, 2, 3):
        if enc[f"payer{k}_id"] is None:
            break
        n = k
    return n


def balances_ref(ledger, level: str = "procedure") -> list[dict]:
    """Procedure or encounter rows, in the kernels' output order."""
    entries = ledger.entries.to_pylist()
    live = live_ids(entries)
    by_proc = defaultdict(list)
    for e in entries:
        by_proc[(e["encounter_id"], e["line"])].append(e)
    encounters = ledger.encounters.to_pylist()
    procs = sorted(
        ((p["encounter_id"], p["line"]) for p in ledger.procedures.to_pylist()),
        key=lambda k: k,
    )
    enc_pos = {enc["encounter_id"]: i for i, enc in enumerate(encounters)}
    procs.sort(key=lambda k: (enc_pos[k[0]], k[1]))
    self_pay = {enc["encounter_id"]: _n_payers(enc) == 0 for enc in encounters}
    rows = []
    for key in procs:
        r = procedure_figures_ref(by_proc[key], ledger.policy, self_pay[key[0]], live)
        rows.append(
            {
                "encounter_id": key[0],
                "line": key[1],
                "last": r["last"],
                "top": r["top"],
                **r["figures"],
            }
        )
    if level == "procedure":
        return rows
    assert level == "encounter"
    out = []
    per_enc = defaultdict(list)
    for r in rows:
        per_enc[r["encounter_id"]].append(r)
    for enc in encounters:
        out.append(_encounter_ref(enc, per_enc[enc["encounter_id"]]))
    return out


def _encounter_ref(enc: dict, procs: list[dict]) -> dict:
    keys = (
        [k for k in procs[0] if k not in ("encounter_id", "line", "last", "top", "balanced")]
        if procs
        else []
    )
    fig = {k: sum(p[k] for p in procs) for k in keys}
    if not procs:
        from ledgerkit._kernels.balances import FIGURES

        fig = dict.fromkeys(FIGURES, 0)
    adj = [p for p in procs if p["last"] > 0]
    # Settled question 2: denied entirely = allowed 0 AND a live denial; a line
    # brought to $0 by contractual adjustments alone is not a denial.
    whole = [p for p in adj if p["allowed"] <= 0 and p["denied"] > 0]
    denied = [p for p in adj if p["denied"] > 0]
    if not adj:
        cls = "AWAITING"
    elif whole and sum(p["allowed"] for p in adj) <= 0:
        cls = "DENIAL"
    elif whole:
        cls = "PARTIAL_DENIAL"
    elif denied:
        cls = "UNRESOLVED"
    else:
        cls = "PAID"
    # Explanation: the procedure with the largest denial among the deciding ones
    # (first such procedure on ties).
    explain = None
    if cls in ("DENIAL", "PARTIAL_DENIAL"):
        explain = max(whole, key=lambda p: (p["denied"], -p["line"]))
    elif cls == "UNRESOLVED":
        explain = max(denied, key=lambda p: (p["denied"], -p["line"]))
    n_payers = _n_payers(enc)
    last = max((p["last"] for p in procs), default=0)
    if fig["balance"] == 0:
        stage = "finalized"
    elif n_payers == 0:
        stage = "patient"
    elif fig["payer_balance"] != 0:
        stage = STAGE_OF_PAYER[max(last, 1)]
    elif fig["open_pr"] != 0 and last < n_payers:
        stage = STAGE_OF_PAYER[last + 1]
    else:
        stage = "patient"
    return {
        "encounter_id": enc["encounter_id"],
        "class": cls,
        "stage": stage,
        "balanced": fig["balance"] == 0,
        "last_payer_seq": last,
        **fig,
        "explain_line": explain["line"] if explain else None,
        "explain_group": explain["top"]["group_code"] if explain and explain["top"] else None,
        "explain_carc": explain["top"]["carc"] if explain and explain["top"] else None,
        "explain_amount": explain["denied"] if explain else None,
        "explain_payer_seq": explain["top"]["payer_seq"] if explain else None,
    }


def classify_ref(ledger) -> list[dict]:
    return balances_ref(ledger, "encounter")
