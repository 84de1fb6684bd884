"""A remit that would leave open PR above a balance is flagged; the remits before it post.

DOMAIN.md, Settled question 3: open PR can never exceed the balance. Posting
decides remit by remit in batch order, so only the remit that crosses the cap is
flagged (``negative_balance``), never a primary that is fine on its own because a
secondary later in the same file is not (found by ``test_posting_reference``'s
hypothesis search: the engine used to flag every remit on the procedure).
"""

from __future__ import annotations

import datetime as dt

from ledgers import make_ledger
from reference_posting import post_ref

import ledgerkit as lk
from ledgerkit.posting.engine import post

AT = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _ledger() -> lk.Ledger:
    """$220.00 charged, two payers, the patient paid $4.64 at the desk."""
    return make_ledger(
        [("C1", ("PAY1", "PAY2"))],
        [("C1", 1, "99214", 22000)],
        [
            dict(encounter_id="C1", line=1, payer_seq=1, kind="charge", amount_cents=22000),
            dict(encounter_id="C1", line=1, payer_seq=0, kind="patient_payment", amount_cents=464),
        ],
    )


def _remit(payer: str, status: int, paid: str, cas: str, day: str, icn: str) -> str:
    return (
        f"ST*835*{icn}~BPR*I*{paid}*C*CHK************{day}~N1*PR*Payer*XV*{payer}~LX*1~"
        f"CLP*C1*{status}*220*{paid}**MC*{icn}~SVC*HC:99214*220*{paid}~DTM*472*20250201~"
        f"{cas}~SE*9*{icn}~"
    )


# primary: paid 93.02, CO-45 103.74, PR-2 23.24 -> balance 18.60, open PR 18.60
PRIMARY = _remit("PAY1", 1, "93.02", "CAS*CO*45*103.74~CAS*PR*2*23.24", "20250301", "1")
# secondary: paid 13.97, OA-23 196.75, PR-2 9.28 -> balance 4.63, open PR 9.28 - 4.64 = 4.64
SECONDARY = _remit("PAY2", 2, "13.97", "CAS*OA*23*196.75~CAS*PR*2*9.28", "20250308", "2")


def _decisions(result) -> list[tuple]:
    d = result.decisions
    return list(zip(d["payer_seq"].to_pylist(), d["reason_code"].to_pylist(), strict=True))


def test_only_the_remit_crossing_the_cap_is_flagged():
    ledger = _ledger()
    result = post(ledger, (PRIMARY + SECONDARY).encode(), at=AT)
    assert _decisions(result) == [(1, "first_remit"), (2, "negative_balance")]
    # the primary's entries are in; the secondary's are not
    assert set(result.entries["payer_seq"].to_pylist()) == {1}
    [row] = lk.balances(result.ledger).to_pylist()
    assert (row["balance"], row["open_pr"]) == (1860, 1860)


def test_the_same_remits_in_two_files_decide_alike():
    first = post(_ledger(), PRIMARY.encode(), at=AT)
    assert _decisions(first) == [(1, "first_remit")]
    second = post(first.ledger, SECONDARY.encode(), at=AT)
    assert _decisions(second) == [(2, "negative_balance")]
    assert second.entries.num_rows == 0


def test_the_twin_agrees():
    ledger = _ledger()
    remits = lk.read_835((PRIMARY + SECONDARY).encode())
    want = [(d["payer_seq"], d["reason_code"]) for d in post_ref(ledger, remits)]
    assert want == _decisions(post(ledger, remits, at=AT))


def test_a_secondary_within_the_cap_posts():
    """PR-2 $9.27 leaves open PR at the balance ($4.63): both post."""
    fits = SECONDARY.replace("196.75", "196.76").replace("9.28", "9.27")
    result = post(_ledger(), (PRIMARY + fits).encode(), at=AT)
    assert _decisions(result) == [(1, "first_remit"), (2, "first_remit")]
    [row] = lk.balances(result.ledger).to_pylist()
    assert (row["balance"], row["open_pr"]) == (463, 463)
