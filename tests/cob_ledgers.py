"""Coordination-of-benefits ledgers: up to three payers, earlier payers deny, later pay.

``cob_ledgers`` draws small, valid ledgers shaped like real 835 chains: payer 1
pays part of a line, reduces it (CO-45), assesses PR and may deny part or all
of it (PI-59, CO-97, CO-50, CO-16); or brings it to $0 by CO-45 alone. Each
later payer works the previous payer's PR: it pays part, may deny part, assesses
its own PR and restates the rest as OA-23. Then the patient may pay, someone
may write off or push to PR (within what is open), and a few denials may be
negated. Amounts stay within their caps, so no balance goes negative.
"""

from __future__ import annotations

from hypothesis import strategies as st
from ledgers import make_ledger

DENIALS = [("PI", "59"), ("CO", "97"), ("CO", "50"), ("CO", "16")]
PRS = ["1", "2", "3"]


def _split(draw, total: int, parts: int) -> list[int]:
    """``parts`` non-negative ints summing to ``total``."""
    if parts == 1:
        return [total]
    cuts = sorted(draw(st.lists(st.integers(0, total), min_size=parts - 1, max_size=parts - 1)))
    bounds = [0, *cuts, total]
    return [bounds[i + 1] - bounds[i] for i in range(parts)]


def _first_payer(draw, charge: int) -> tuple[list[tuple], int]:
    """Payer 1's lines for one procedure and the PR it assessed."""
    shape = draw(st.sampled_from(["pay", "pay", "deny_part", "deny_all", "zero_allowed"]))
    if shape == "deny_all":
        g, c = draw(st.sampled_from(DENIALS))
        return [("adjustment", charge, g, c)], 0
    if shape == "zero_allowed":
        return [("adjustment", charge, "CO", "45")], 0
    n = 4 if shape == "deny_part" else 3
    parts = _split(draw, charge, n)
    paid, co45, pr = parts[:3]
    rows = [("payment", paid, None, None)]
    if co45:
        rows.append(("adjustment", co45, "CO", "45"))
    if pr:
        rows.append(("adjustment", pr, "PR", draw(st.sampled_from(PRS))))
    if shape == "deny_part" and parts[3]:
        g, c = draw(st.sampled_from(DENIALS))
        rows.append(("adjustment", parts[3], g, c))
    return rows, pr


def _later_payer(draw, charge: int, billed: int) -> tuple[list[tuple], int]:
    """A later payer working ``billed`` (the previous payer's PR)."""
    deny = draw(st.booleans())
    paid, pr, denied = _split(draw, billed, 3) if deny else [*_split(draw, billed, 2), 0]
    rows = [("payment", paid, None, None)]
    if pr:
        rows.append(("adjustment", pr, "PR", draw(st.sampled_from(PRS))))
    if denied:
        g, c = draw(st.sampled_from(DENIALS))
        rows.append(("adjustment", denied, g, c))
    if charge - billed:
        rows.append(("adjustment", charge - billed, "OA", "23"))
    return rows, pr


@st.composite
def cob_ledgers(draw, max_encounters: int = 5):
    """Small valid ledgers with one to three payers (see the module docstring)."""
    n_enc = draw(st.integers(1, max_encounters))
    encounters, procedures, entries = [], [], []
    for e in range(n_enc):
        eid = f"E{e}"
        n_payers = draw(st.integers(1, 3))
        encounters.append((eid, tuple(["P1", "P2", "P3"][:n_payers])))
        for line in range(1, draw(st.integers(1, 3)) + 1):
            charge = draw(st.integers(1, 60_000))
            procedures.append((eid, line, "99213", charge))
            rows = [(1, "charge", charge, None, None)]
            r, pr = _first_payer(draw, charge)
            rows += [(1, *x) for x in r]
            paid = sum(x[1] for x in r if x[0] == "payment")
            contractual = sum(x[1] for x in r if x[2] == "CO" and x[3] == "45")
            for seq in range(2, n_payers + 1):
                if not draw(st.booleans()):
                    break
                # A secondary may also pay on a line the primary denied outright.
                billed = pr if pr else draw(st.integers(0, charge - paid - contractual))
                r, pr = _later_payer(draw, charge, billed)
                rows += [(seq, *x) for x in r]
                paid += sum(x[1] for x in r if x[0] == "payment")
            last = max(x[0] for x in rows)
            balance = charge - paid - contractual
            open_pr = min(pr, balance)
            payer_balance = balance - open_pr
            if open_pr and draw(st.booleans()):
                amount = draw(st.integers(1, open_pr))
                rows.append((0, "patient_payment", amount, None, None))
            if payer_balance and draw(st.booleans()):
                # Often all of it: that ends the work on the line.
                amount = draw(st.sampled_from([payer_balance, None]))
                amount = amount or draw(st.integers(1, payer_balance))
                payer_balance -= amount
                kind = draw(st.sampled_from(["write_off", "transfer_to_pr"]))
                rows.append((last, kind, amount, None, None))
            for seq, kind, amount, g, c in rows:
                entries.append(
                    dict(
                        encounter_id=eid,
                        line=line,
                        payer_seq=seq,
                        kind=kind,
                        amount_cents=amount,
                        group_code=g,
                        carc=c,
                    )
                )
    for i, entry in enumerate(entries):
        entry["entry_id"] = i + 1
    # Negate a few denials: a negated denial no longer counts.
    denials = [
        i
        for i, x in enumerate(entries)
        if x["kind"] == "adjustment" and (x["group_code"], x["carc"]) in DENIALS
    ]
    if denials:
        for i in draw(st.lists(st.sampled_from(denials), unique=True, max_size=2)):
            neg = dict(entries[i])
            neg.update(
                entry_id=len(entries) + 1,
                amount_cents=-entries[i]["amount_cents"],
                negates=entries[i]["entry_id"],
            )
            entries.append(neg)
    return make_ledger(encounters, procedures, entries)
