"""A plain twin of ``ledgerkit.post``: decide each remitted claim, one at a time.

Reads rows (``to_pylist`` of the columns it needs; no patient identifiers) and
follows the rules in the posting engine's module docstring and DOMAIN.md
("Posting a remittance") one claim at a time, in batch order, keeping a
running state per procedure. Shares no code with ``ledgerkit.posting`` or the
kernels; only the CARC policy lookup (data) is shared.

The ledger records a posted remit by a fingerprint of its content
(``remit_ref``); this twin recognises remits by the content itself, so the
caller passes the content keys of the remits posted before (``posted``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from reference import _bucket, _n_payers, live_ids, procedure_figures_ref

LAST = dt.date.max  # claims without a dated transaction come last
GROUPS = ("CO", "PR", "OA", "PI", "CR")
ADJUSTMENT_BUCKETS = (
    "contractual", "pr_deductible", "pr_coinsurance", "pr_copay", "pr_other", "denied", "other",
)  # fmt: skip
LOWERS_BALANCE = {"paid", "patient_paid", "contractual", "written_off", "pr_written_off"}

CLAIM_COLS = (
    "claim_id", "transaction_id", "encounter_id", "status_code", "charge_cents", "paid_cents",
    "payer_claim_control_number", "statement_from",
)  # fmt: skip
LINE_COLS = (
    "line_id", "claim_id", "line_number", "procedure_code", "modifiers", "charge_cents",
    "paid_cents", "units", "original_procedure_code", "original_modifiers", "service_date",
    "service_start", "line_control_number",
)  # fmt: skip
TX_COLS = ("transaction_id", "payer_id", "payment_date", "production_date", "gs_date")


def remit_rows(remits) -> list[dict]:
    """The claims of ``remits`` in input order, each with its payer, date, lines and CAS.

    ``claim["lines"]`` keep table order; each line has its ``adjs``; CAS whose
    line id names no line are claim-level (``claim["claim_adjs"]``).
    """
    tx = {t["transaction_id"]: t for t in remits.transactions.select(TX_COLS).to_pylist()}
    claims = remits.claims.select(CLAIM_COLS).to_pylist()
    by_id = {c["claim_id"]: c for c in claims}
    for c in claims:
        t = tx.get(c["transaction_id"])
        c["payer_id"] = t["payer_id"] if t else None
        dates = [t[k] for k in ("payment_date", "production_date", "gs_date")] if t else []
        c["date"] = next((d for d in dates if d is not None), LAST)
        c["lines"], c["claim_adjs"] = [], []
    lines = {}
    for li in remits.service_lines.select(LINE_COLS).to_pylist():
        li["adjs"] = []
        lines[li["line_id"]] = li
        if li["claim_id"] in by_id:
            by_id[li["claim_id"]]["lines"].append(li)
    adjustments = remits.adjustments.select(
        ["claim_id", "line_id", "group_code", "carc", "amount_cents"]
    ).to_pylist()
    for row, a in enumerate(adjustments):
        a["row"] = row
        if a["claim_id"] not in by_id:
            continue
        if a["line_id"] in lines:
            lines[a["line_id"]]["adjs"].append(a)
        else:
            by_id[a["claim_id"]]["claim_adjs"].append(a)
    for position, c in enumerate(claims):
        c["position"] = position
        c["all_adjs"] = c["claim_adjs"] + [a for li in c["lines"] for a in li["adjs"]]
    return claims


def content_key(claim: dict) -> tuple:
    """What makes two remits the same remit (``remit_ids``): payer, patient control
    number, payer claim number, status, charge, paid, every line and every CAS;
    not the file, the dates or the trace numbers."""
    lines = sorted(claim["lines"], key=lambda li: li["line_number"])
    line_part = tuple(
        (li["line_number"], li["procedure_code"], li["modifiers"], li["original_procedure_code"],
         li["charge_cents"], li["paid_cents"],
         None if li["units"] is None else round(li["units"], 6), li["service_date"],
         li["line_control_number"])
        for li in lines
    )  # fmt: skip
    line_number = {id(a): li["line_number"] for li in claim["lines"] for a in li["adjs"]}
    # by line number (claim level first), then in table order
    adjs = sorted(claim["all_adjs"], key=lambda a: (line_number.get(id(a), 0), a["row"]))
    adj_part = tuple(
        (line_number.get(id(a), 0), a["group_code"], a["carc"], a["amount_cents"]) for a in adjs
    )
    return (
        claim["payer_id"], claim["encounter_id"], claim["payer_claim_control_number"],
        claim["status_code"], claim["charge_cents"], claim["paid_cents"], line_part, adj_part,
    )  # fmt: skip


def _match_lines(claim: dict, procs: list[dict]) -> dict:
    """id(line) -> procedure (dict) or None. ``procs`` are the encounter's, by line."""
    out = {}
    for li in claim["lines"]:
        lcn = li["line_control_number"]
        hits = [p for p in procs if lcn is not None and p["line_control_number"] == lcn]
        out[id(li)] = hits[0] if hits else None

    def line_key(li):
        recoded = li["original_procedure_code"] is not None
        code = li["original_procedure_code"] if recoded else li["procedure_code"]
        mods = li["original_modifiers"] if recoded else li["modifiers"]
        date = li["service_date"] or li["service_start"] or claim["statement_from"]
        charge = None if li["charge_cents"] is None else abs(li["charge_cents"])  # reversals
        return (code or "", mods or "", date, charge)

    def proc_key(p):
        return (p["cpt"] or "", p["modifiers"] or "", p["service_date"], p["charge_cents"])

    rest = [li for li in claim["lines"] if out[id(li)] is None]
    for li in rest:
        key = line_key(li)
        if key[2] is None or key[3] is None:
            continue
        twins = [x for x in rest if line_key(x) == key]
        same = [p for p in procs if proc_key(p) == key]
        # the k-th identical line is the k-th identical procedure, only when the
        # claim names all of them (else which one is meant is ambiguous)
        if len(twins) == len(same):
            out[id(li)] = same[[id(x) for x in twins].index(id(li))]
    return out


class _State:
    """Per procedure: its balance, per payer position its live remit entries, and every
    entry (``rows``: what the open PR cap of DOMAIN.md, Settled question 3, reads)."""

    def __init__(self, ledger, policy):
        entries = ledger.entries.select(
            ["entry_id", "encounter_id", "line", "payer_seq", "payer_id", "kind", "group_code",
             "carc", "amount_cents", "negates", "source"]
        ).to_pylist()  # fmt: skip
        live = live_ids(entries)
        self.policy = policy
        self.balance = defaultdict(int)
        self.live = defaultdict(list)  # (enc, line, seq) -> [(target, entry dict)]
        self.rows = defaultdict(list)  # (enc, line) -> every entry, as procedure_figures_ref reads
        self.self_pay = {
            enc["encounter_id"]: _n_payers(enc) == 0 for enc in ledger.encounters.to_pylist()
        }
        for e in entries:
            self.rows[(e["encounter_id"], e["line"])].append(
                _figure_row(e, ("old", e["entry_id"]), None if e["negates"] is None
                            else ("old", e["negates"]))
            )  # fmt: skip
            bucket = _bucket(e, policy)
            key = (e["encounter_id"], e["line"])
            if bucket == "charge":
                self.balance[key] += e["amount_cents"]
            elif bucket in LOWERS_BALANCE:
                self.balance[key] -= e["amount_cents"]
            if e["source"] == "remit" and e["entry_id"] in live:
                self.live[key + (e["payer_seq"],)].append((("old", e["entry_id"]), e))

    def sums(self, key, seq):
        """(paid, adjustments, contractual) of the live remit entries of one payer."""
        paid = adj = contractual = 0
        for _, e in self.live[key + (seq,)]:
            bucket = self.bucket(e)
            if bucket == "paid":
                paid += e["amount_cents"]
            elif bucket in ADJUSTMENT_BUCKETS:
                adj += e["amount_cents"]
                contractual += e["amount_cents"] if bucket == "contractual" else 0
        return paid, adj, contractual

    def gap(self, key, extra=()) -> tuple:
        """(balance, open PR - balance) of a procedure with ``extra`` rows added."""
        rows = self.rows[key] + list(extra)
        f = procedure_figures_ref(rows, self.policy, self.self_pay[key[0]], live_ids(rows))
        f = f["figures"]
        return f["balance"], f["open_pr"] - f["balance"]

    def bucket(self, e):
        if e["kind"] == "adjustment":
            group = e["group_code"] if e["group_code"] in GROUPS else "OA"
            return self.policy.bucket_of(group, str(e["carc"]).strip())
        return _bucket(e, self.policy)


def _static_reason(claim, enc, procs, match):
    """The first static flag that applies (engine docstring order), or None."""
    if enc is None:
        return "unmatched_claim"
    if claim["seq"] == 0:
        return "payer_not_in_coverage"
    cas = sum(a["amount_cents"] for a in claim["all_adjs"])
    unbalanced = claim["charge_cents"] - claim["paid_cents"] - cas != 0
    for li in claim["lines"]:
        if li["paid_cents"] is None:
            unbalanced = True
        elif li["charge_cents"] is not None:
            line_cas = sum(a["amount_cents"] for a in li["adjs"])
            unbalanced |= li["charge_cents"] - li["paid_cents"] - line_cas != 0
    if unbalanced:
        return "unbalanced_remit"
    matched = [match[id(li)] for li in claim["lines"]]
    if None in matched or len({(p["line"]) for p in matched}) < len(matched):
        return "unmatched_line"  # a line on no procedure, or two lines on one
    if claim["needs_target"] and len(procs) != 1:
        return "claim_level_amount"
    return None


def _items(claim, procs, match):
    """(procedure, kind, amount, CAS or None) the claim would post."""
    items = [(match[id(li)], "payment", li["paid_cents"], None) for li in claim["lines"]]
    for li in claim["lines"]:
        items += [(match[id(li)], "adjustment", a["amount_cents"], a) for a in li["adjs"]]
    target = procs[0] if len(procs) == 1 else None
    items += [(target, "adjustment", a["amount_cents"], a) for a in claim["claim_adjs"]]
    leftover = claim["paid_cents"] - sum(li["paid_cents"] or 0 for li in claim["lines"])
    if claim["needs_target"] and (leftover != 0 or not claim["lines"]):
        items.append((target, "payment", leftover, None))  # claim-level payment
    return items


def post_ref(ledger, remits, posted=frozenset()) -> list[dict]:
    """One decision per claim, in batch order (payment date, then input order).

    Each decision: ``claim_id``, ``encounter_id``, ``decision``, ``reason_code``,
    ``payer_seq`` (None when the payer is not in coverage), ``key`` (content key)
    and ``entries``: dicts of the entries it posts, a negation's ``negates``
    being ``("old", entry_id)`` or ``("new", the negated new entry)``.
    """
    policy = ledger.policy
    state = _State(ledger, policy)
    encounters = {e["encounter_id"]: e for e in ledger.encounters.to_pylist()}
    procs_of = defaultdict(list)
    for p in sorted(
        ledger.procedures.select(
            ["encounter_id", "line", "cpt", "modifiers", "charge_cents", "service_date",
             "line_control_number"]
        ).to_pylist(),
        key=lambda p: p["line"],
    ):  # fmt: skip
        procs_of[p["encounter_id"]].append(p)
    claims = sorted(remit_rows(remits), key=lambda c: (c["date"], c["position"]))
    seen = set()
    out = []
    for c in claims:
        enc = encounters.get(c["encounter_id"])
        payers = [enc[f"payer{k}_id"] for k in (1, 2, 3)] if enc else []
        c["seq"] = next(
            (k + 1 for k, p in enumerate(payers) if p is not None and p == c["payer_id"]), 0
        )
        c["needs_target"] = (
            bool(c["claim_adjs"])
            or not c["lines"]
            or c["paid_cents"] != sum(li["paid_cents"] or 0 for li in c["lines"])
        )
        procs = procs_of[c["encounter_id"]] if enc else []
        match = _match_lines(c, procs) if enc else {id(li): None for li in c["lines"]}
        key = content_key(c)
        if key in posted:
            reason = "duplicate"
        elif key in seen:
            reason = "duplicate_in_batch"
        else:
            reason = _static_reason(c, enc, procs, match)
        seen.add(key)
        entries = []
        if reason is None:
            reason, entries = _decide(c, _items(c, procs, match), state)
        out.append(
            dict(
                claim_id=c["claim_id"],
                encounter_id=c["encounter_id"],
                decision=DECISION[reason],
                reason_code=reason,
                payer_seq=c["seq"] or None,
                key=key,
                entries=entries,
            )
        )
    return out


def _decide(c, items, state):
    """A claim that passed the static checks, against the running state."""
    seq = c["seq"]
    reversal = c["status_code"] == "22"
    by_proc = defaultdict(list)
    for p, kind, amount, cas in items:
        by_proc[(p["encounter_id"], p["line"])].append((kind, amount, cas))
    for key in sorted(by_proc, key=lambda k: k[1]):
        paid = sum(a for kind, a, _ in by_proc[key] if kind == "payment")
        adj = sum(a for kind, a, _ in by_proc[key] if kind == "adjustment")
        contr = sum(
            a for kind, a, cas in by_proc[key] if kind == "adjustment" and _contractual(state, cas)
        )
        live_paid, live_adj, live_contr = state.sums(key, seq)
        has_live = bool(state.live[key + (seq,)])
        if reversal:
            if not has_live:
                return "reversal_without_original", []
            if paid != -live_paid or adj != -live_adj:
                return "reversal_mismatch", []
            if state.balance[key] + live_paid + live_contr < 0:
                return "negative_balance", []
        else:
            if has_live:
                return "conflict", []
            if state.balance[key] - paid - contr < 0:
                return "negative_balance", []
    if _open_pr_above_balance(c, by_proc, state, reversal):
        return "negative_balance", []
    entries = []
    for key in by_proc:
        if reversal:  # negate every live remit entry of this payer on the procedure
            live_paid, _, live_contr = state.sums(key, seq)
            state.balance[key] += live_paid + live_contr
            for target, e in state.live.pop(key + (seq,)):
                neg = dict(_content(e), amount_cents=-e["amount_cents"], negates=target)
                entries.append(neg)
                state.rows[key].append(_figure_row(neg, ("neg", target), target))
            continue
        for kind, amount, cas in by_proc[key]:
            e = dict(
                encounter_id=key[0],
                line=key[1],
                payer_seq=seq,
                payer_id=c["payer_id"],
                kind=kind,
                group_code=cas["group_code"] if cas else None,
                carc=cas["carc"] if cas else None,
                amount_cents=amount,
                negates=None,
            )
            entries.append(e)
            state.live[key + (seq,)].append((("new", _frozen(e)), e))
            state.rows[key].append(_figure_row(e, ("new", _frozen(e)), None))
            if kind == "payment" or _contractual(state, cas):
                state.balance[key] -= amount
    return ("reversal" if reversal else "first_remit"), entries


def _figure_row(e, ident, negates) -> dict:
    """An entry as ``procedure_figures_ref`` reads it (``ident`` stands for its id)."""
    group = e["group_code"] if e["group_code"] in GROUPS or e["kind"] != "adjustment" else "OA"
    return dict(entry_id=ident, negates=negates, kind=e["kind"], payer_seq=e["payer_seq"],
                group_code=group, carc=None if e["carc"] is None else str(e["carc"]).strip(),
                amount_cents=e["amount_cents"])  # fmt: skip


def _open_pr_above_balance(c, by_proc, state, reversal) -> bool:
    """Would the claim leave open PR above a procedure's balance where it was not so before
    (DOMAIN.md, Settled question 3; self-pay: open PR is the balance)? Checked claim by
    claim: only the claim that crosses the cap is flagged, not the ones before it."""
    seq = c["seq"]
    for key in by_proc:
        if state.self_pay[key[0]]:
            continue
        if reversal:
            extra = [
                _figure_row(dict(_content(e), amount_cents=-e["amount_cents"]), ("neg", t), t)
                for t, e in state.live[key + (seq,)]
            ]
        else:
            extra = [
                _figure_row(
                    dict(
                        kind=kind,
                        payer_seq=seq,
                        amount_cents=amount,
                        group_code=cas["group_code"] if cas else None,
                        carc=cas["carc"] if cas else None,
                    ),
                    ("pending", i),
                    None,
                )  # fmt: skip
                for i, (kind, amount, cas) in enumerate(by_proc[key])
            ]
        _, gap_before = state.gap(key)
        balance, gap = state.gap(key, extra)
        if balance >= 0 and gap > 0 and gap > gap_before:
            return True
    return False


def _contractual(state, cas) -> bool:
    if cas is None:
        return False
    group = cas["group_code"] if cas["group_code"] in GROUPS else "OA"
    return state.policy.bucket_of(group, str(cas["carc"]).strip()) == "contractual"


def _content(e):
    keys = ("encounter_id", "line", "payer_seq", "payer_id", "kind", "group_code", "carc")
    return {k: e[k] for k in keys}


def _frozen(e) -> tuple:
    return tuple(sorted((k, v) for k, v in e.items() if k != "negates"))


DECISION = {
    "first_remit": "posted",
    "reversal": "posted",
    "duplicate": "archived",
    "duplicate_in_batch": "archived",
    "unmatched_claim": "flagged",
    "payer_not_in_coverage": "flagged",
    "unbalanced_remit": "flagged",
    "unmatched_line": "flagged",
    "claim_level_amount": "flagged",
    "conflict": "flagged",
    "negative_balance": "flagged",
    "reversal_without_original": "flagged",
    "reversal_mismatch": "flagged",
}
