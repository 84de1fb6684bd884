"""The boundary's limit kernels (``_kernels.limits``) against a plain reference.

The reference replays each procedure's entries in posting order as dicts, with the
CARC policy looked up per entry, exactly as DOMAIN.md words it (Settled question 3):
a transfer to PR or a payer write-off moves at most the payer balance, a PR
write-off at most the open PR; a batch may not leave open PR above the balance nor
(unless allowed) a balance below 0, where it was not so before.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledgers import make_ledger, random_ledgers

import ledgerkit as lk
from ledgerkit.core.keys import build_keys
from ledgerkit.core.limits import MovementError, check_movements, check_sums, entry_ids

PR_BUCKETS = ("pr_deductible", "pr_coinsurance", "pr_copay", "pr_other")


def _state(entries, policy, self_pay, negated):
    """(balance, open PR) after ``entries`` (dicts, posting order) of one procedure."""
    balance = moved = 0
    pr = [0, 0, 0, 0]
    last = 0
    for e in entries:
        kind, a, seq = e["kind"], e["amount_cents"], e["payer_seq"]
        live = e["negates"] is None and e["entry_id"] not in negated
        bucket = policy.bucket_of(e["group_code"], e["carc"]) if kind == "adjustment" else None
        if kind == "charge":
            balance += a
        elif kind == "payment" or bucket == "contractual":
            balance -= a
        elif kind == "write_off":
            balance -= a
            if seq == 0:
                moved -= a
        elif kind == "patient_payment":
            balance -= a
            moved -= a
        elif kind == "transfer_to_pr":
            moved += a
        elif bucket in PR_BUCKETS:
            pr[seq] += a
        if live and seq > last and (kind == "payment" or kind == "adjustment"):
            last = seq
    open_pr = balance if self_pay else pr[last] + moved
    return balance, open_pr


def reference_fault(old, new, policy, self_pay, allow_credit):
    """The first new row at fault (row within ``new``) and its problem, or None."""
    everything = old + new
    negated = {e["negates"] for e in everything if e["negates"] is not None}
    faults = []
    by_proc = {}
    for i, e in enumerate(everything):
        by_proc.setdefault((e["encounter_id"], e["line"]), []).append(i)
    for (enc, _), rows in by_proc.items():
        new_rows = [i for i in rows if i >= len(old)]
        if not new_rows:
            continue
        done = [everything[i] for i in rows if i < len(old)]
        before = _state(done, policy, self_pay[enc], negated)
        fault = None
        for i in new_rows:
            e = everything[i]
            balance, open_pr = _state(done, policy, self_pay[enc], negated)
            a, kind = e["amount_cents"], e["kind"]
            if a > 0 and kind == "transfer_to_pr" and a > balance - open_pr:
                fault = (i, "transfer")
            elif kind == "write_off" and e["payer_seq"] > 0 and a > 0:
                if a > min(balance - open_pr, balance):
                    fault = (i, "write-off")
            elif kind == "write_off" and e["payer_seq"] == 0 and a > 0:
                if a > min(open_pr, balance):
                    fault = (i, "PR write-off")
            if fault:
                break
            done.append(e)
        if fault is None:
            balance, open_pr = _state(done, policy, self_pay[enc], negated)
            gap, gap_before = open_pr - balance, before[1] - before[0]
            if balance < 0 and balance < before[0] and not allow_credit:
                fault = (new_rows[-1], "credit")
            elif balance >= 0 and gap > 0 and gap > gap_before and not self_pay[enc]:
                fault = (new_rows[-1], "open PR")
        if fault:
            faults.append(fault)
    if not faults:
        return None
    row, problem = min(faults)
    return row - len(old), problem


WORDS = {
    "transfer": "a transfer_to_pr of",
    "write-off": "a write-off of",
    "PR write-off": "a PR write-off",
    "credit": "at a credit of",
    "open PR": "above the balance",
}


@given(random_ledgers(), st.integers(0, 100), st.booleans())
@settings(max_examples=60, deadline=None)
def test_movement_kernel_matches_reference(ledger, cut_percent, allow_credit):
    entries = ledger.entries
    cut = entries.num_rows * cut_percent // 100
    self_pay = dict(
        zip(
            ledger.encounters["encounter_id"].to_pylist(),
            pc.is_null(ledger.encounters["payer1_id"]).to_pylist(),
            strict=True,
        )
    )
    rows = entries.to_pylist()
    want = reference_fault(rows[:cut], rows[cut:], ledger.policy, self_pay, allow_credit)
    keys = build_keys(ledger.encounters, ledger.procedures, entries)
    try:
        check_movements(keys, entries, ledger.policy, cut, allow_credit=allow_credit)
        got = None
    except MovementError as exc:
        got = str(exc)
    if want is None:
        assert got is None
    else:
        row, problem = want
        assert got is not None, want
        assert got.startswith(f"entries row {row}, column 'amount_cents'"), (got, want)
        assert WORDS[problem] in got, (got, want)


def test_sum_overflow_names_the_first_row_past_int64():
    charge = dict(encounter_id="E1", line=1, payer_seq=0, kind="charge", amount_cents=2**53)
    fits = make_ledger([("E1", ())], [("E1", 1, "99213", 0)], [charge] * 1023)
    check_sums(fits.keys)  # 1023 * 2**53 < 2**63
    entries = pa.concat_tables([fits.entries] * 2)  # 2046 rows: row 1023 passes int64
    keys = build_keys(fits.encounters, fits.procedures, entries)
    with pytest.raises(lk.LedgerError, match="entries row 1023, .*overflow"):
        check_sums(keys)
    with pytest.raises(lk.LedgerError, match="entries row 0, .*overflow"):
        check_sums(keys, np.array([0]), row_offset=1023)


@pytest.mark.parametrize("ids", [[1, 2], (3,), np.array([4, 5]), pa.array([6]), 7, []])
def test_entry_ids_accept_integers_only(ids):
    assert entry_ids(ids).dtype == np.int64
