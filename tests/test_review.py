"""Review actions, and invariants over any sequence of posts and review actions."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from posting_data import shift_paid, single_line_paid_claims, split, subset

import ledgerkit as lk
from ledgerkit.core.limits import procedure_caps
from ledgerkit.errors import LedgerError
from ledgerkit.posting.engine import post
from ledgerkit.posting.review import adjust, archive, negate, post_flagged, procedure_balance

FULL = lk.synth.generate(120, seed=41, credits=False)
BASE, REMITS = split(FULL)
SINGLE = single_line_paid_claims(REMITS)


def _remit_entries(ledger):
    e = ledger.entries
    return e.filter(
        pc.and_(pc.equal(e["source"].cast(pa.string()), "remit"), pc.greater(e["payer_seq"], 0))
    )


def test_post_flagged_after_negation():
    pos = SINGLE[0]
    week1 = post(BASE, subset(REMITS, [pos]))
    more = shift_paid(REMITS, pos, 2000)
    week2 = post(week1.ledger, more)
    rid = week2.flagged["remit_id"][0].as_py()
    # posting over the live remit is refused only if the balance would go negative;
    # the reviewer first negates the earlier remit
    first = _remit_entries(week1.ledger)["entry_id"].to_pylist()
    cleared = negate(week2.ledger, first, actor="ana", note="payer corrected the amount")
    done = post_flagged(cleared, more, rid, actor="ana", note="corrected remit")
    assert done.decisions["reason_code"].to_pylist() == ["reviewed"]
    assert set(done.entries["actor"].cast(pa.string()).to_pylist()) == {"ana"}
    assert set(done.entries["remit_ref"].cast(pa.string()).to_pylist()) == {rid}
    with pytest.raises(LedgerError, match="duplicate"):
        post_flagged(done.ledger, more, rid, actor="ana", note="again")


def test_post_flagged_refuses_negative_and_unknown():
    pos = SINGLE[1]
    charge = REMITS.claims["charge_cents"][pos].as_py()
    over = shift_paid(REMITS, pos, charge, group="PR", carc="2")
    rid = post(BASE, over).flagged["remit_id"][0].as_py()
    with pytest.raises(LedgerError, match="negative_balance"):
        post_flagged(BASE, over, rid, actor="ana", note="try")
    with pytest.raises(LedgerError, match="no remit"):
        post_flagged(BASE, over, "Rnope", actor="ana", note="try")
    with pytest.raises(LedgerError, match="actor"):
        post_flagged(BASE, over, rid, actor="", note="try")
    with pytest.raises(LedgerError, match="note"):
        post_flagged(BASE, over, rid, actor="ana", note=" ")


def test_post_flagged_claim_level_line():
    """Line 1's adjustments reported at claim level: the reviewer puts them on line 1."""
    n_proc = np.diff(BASE.keys.enc_proc_start)
    enc_pos = pc.index_in(REMITS.claims["encounter_id"], BASE.encounters["encounter_id"])
    status = np.asarray(REMITS.claims["status_code"].to_pylist())
    many = int(np.flatnonzero((n_proc[enc_pos.to_numpy()] > 1) & (status == "1"))[0])
    from posting_data import copy, with_columns

    one = subset(REMITS, [many])
    line1 = one.service_lines["line_id"][0].as_py()
    moved = [None if x == line1 else x for x in one.adjustments["line_id"].to_pylist()]
    claim_level = copy(one, adjustments=with_columns(one.adjustments, line_id=moved))
    result = post(BASE, claim_level)
    assert result.decisions["reason_code"].to_pylist() == ["unbalanced_remit"]
    rid = result.decisions["remit_id"][0].as_py()
    with pytest.raises(LedgerError, match="claim_level_amount"):
        post_flagged(BASE, claim_level, rid, actor="ana", note="no line")
    done = post_flagged(BASE, claim_level, rid, actor="ana", note="on line 1", claim_level_line=1)
    assert lk.balances(done.ledger).equals(lk.balances(post(BASE, one).ledger))


def test_archive_and_adjust():
    pos = SINGLE[2]
    row = archive(REMITS, post(BASE, subset(REMITS, [pos])).decisions["remit_id"][0].as_py(),
                  actor="ana", note="sent twice")  # fmt: skip
    assert row["decision"].to_pylist() == ["archived"]
    assert row["reason_code"].to_pylist() == ["reviewed_archive"]
    enc = BASE.encounters["encounter_id"][0].as_py()
    bal = procedure_balance(BASE, enc, 1)
    caps = procedure_caps(BASE)
    at = caps.filter(pc.and_(pc.equal(caps["encounter_id"], enc), pc.equal(caps["line"], 1)))
    cap = at["write_off_cap"][0].as_py()  # the payer balance: balance - open PR
    assert bal >= cap > 0
    kw = dict(group_code="CO", carc="A2", payer_seq=1, actor="ana", note="small balance")
    with pytest.raises(LedgerError, match=f"exceeds the payer balance.*at most {cap} cents"):
        adjust(BASE, enc, 1, cap + 1, kind="write_off", **kw)
    with pytest.raises(LedgerError, match="kind"):
        adjust(BASE, enc, 1, 1, kind="refund", **kw)
    with pytest.raises(LedgerError, match="> 0"):
        adjust(BASE, enc, 1, 0, kind="write_off", **kw)
    with pytest.raises(LedgerError, match="integer number of cents"):
        adjust(BASE, enc, 1, 1.5, kind="write_off", **kw)
    later = adjust(BASE, enc, 1, cap, kind="write_off", **kw)
    assert procedure_balance(later, enc, 1) == bal - cap
    last = later.entries.slice(later.entries.num_rows - 1).to_pylist()[0]
    assert (last["kind"], last["group_code"], last["carc"], last["actor"], last["note"]) == (
        "write_off", "CO", "A2", "ana", "small balance",
    )  # fmt: skip
    moved = adjust(BASE, enc, 1, 100, kind="transfer_to_pr", **dict(kw, group_code="PR",
                                                                        carc="204"))  # fmt: skip
    assert procedure_balance(moved, enc, 1) == bal


# ----------------------------------------------------------------------------- invariants
def _balance_ref(ledger) -> dict:
    """charge - paid - patient_paid - contractual - written_off per procedure, from rows."""
    policy = ledger.policy
    out = {}
    for e in ledger.entries.to_pylist():
        key = (e["encounter_id"], e["line"])
        a = e["amount_cents"]
        kind = e["kind"]
        if kind == "charge":
            d = a
        elif kind in ("payment", "patient_payment", "write_off"):
            d = -a
        elif kind == "adjustment":
            bucket = policy.bucket_of(e["group_code"], e["carc"])
            d = -a if bucket == "contractual" else 0
        else:
            d = 0
        out[key] = out.get(key, 0) + d
    return out


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["post", "conflict", "negate", "write_off", "to_pr", "post_flagged"]),
        st.integers(0, 10_000),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=25, deadline=None)
@given(ACTIONS)
# a conflicting remit paying 10 cents more, then undoing one entry: open PR would pass
# the balance, and the negation is refused (found in another test order, 2 Dec)
@example(actions=[("conflict", 9), ("negate", 3)])
def test_invariants_over_any_sequence(actions):
    ledger = BASE
    remits = REMITS
    flagged = []
    n = remits.claims.num_rows
    for action, k in actions:
        before = ledger.entries
        if action == "post":
            lo = k % n
            result = post(ledger, subset(remits, list(range(lo, min(n, lo + 40)))))
            ledger = result.ledger
            flagged += [(subset(remits, list(range(lo, min(n, lo + 40)))), rid)
                        for rid in result.flagged["remit_id"].to_pylist()]  # fmt: skip
        elif action == "conflict":
            pos = SINGLE[k % len(SINGLE)]
            more = shift_paid(remits, pos, 1 + k % 3000)
            result = post(ledger, more)
            ledger = result.ledger
            flagged += [(more, rid) for rid in result.flagged["remit_id"].to_pylist()]
        elif action == "negate":
            live = _remit_entries(ledger)
            live = live.filter(pc.is_null(live["negates"]))
            negated = set(pc.drop_null(ledger.entries["negates"]).to_pylist())
            ids = [i for i in live["entry_id"].to_pylist() if i not in negated]
            if ids:
                try:
                    ledger = negate(ledger, [ids[k % len(ids)]], actor="ana", note="undo")
                except LedgerError as exc:
                    # Undoing one entry of a remit alone can leave a credit, or open PR
                    # above the balance (Settled question 3: open PR can never exceed
                    # the balance): refused whole, the ledger unchanged.
                    assert "would leave the procedure at a credit" in str(exc) or (
                        "would leave open PR" in str(exc) and "above the balance" in str(exc)
                    )
        elif action in ("write_off", "to_pr"):
            caps = procedure_caps(ledger)
            i = k % caps.num_rows
            enc, line = caps["encounter_id"][i].as_py(), caps["line"][i].as_py()
            kind = "write_off" if action == "write_off" else "transfer_to_pr"
            cap = caps[f"{kind}_cap"][i].as_py()  # the payer balance (Settled question 3)
            kw = dict(kind=kind, group_code="CO", carc="A2", payer_seq=1, actor="ana",
                      note="review")  # fmt: skip
            with pytest.raises(LedgerError, match=f"at most {cap} cents"):
                adjust(ledger, enc, line, cap + 1, **kw)
            if cap > 0:
                ledger = adjust(ledger, enc, line, 1 + k % cap, **kw)
        elif action == "post_flagged" and flagged:
            r, rid = flagged[k % len(flagged)]
            try:
                ledger = post_flagged(ledger, r, rid, actor="ana", note="reviewed").ledger
            except LedgerError:
                pass
        # no posted entry ever changed
        assert ledger.entries.slice(0, before.num_rows).equals(before)
        # balance identity, to the cent, for every procedure
        table = lk.balances(ledger)
        ref = _balance_ref(ledger)
        got = dict(
            zip(
                zip(table["encounter_id"].to_pylist(), table["line"].to_pylist(), strict=True),
                table["balance"].to_pylist(),
                strict=True,
            )
        )
        for key, value in got.items():
            assert value == ref.get(key, 0)
        b = table
        lhs = pc.subtract(
            b["charge"],
            pc.add(pc.add(pc.add(b["paid"], b["patient_paid"]), b["contractual"]),
                   b["written_off"]),
        )  # fmt: skip
        assert lhs.equals(b["balance"])
        # open PR never exceeds the balance (Settled question 3)
        assert pc.all(pc.less_equal(b["open_pr"], b["balance"])).as_py() is not False
