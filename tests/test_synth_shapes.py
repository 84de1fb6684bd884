"""``synth.generate`` makes on purpose the shapes issue #13 found in the wild."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import ledgerkit as lk
from ledgerkit.core.limits import check_history, procedure_caps

LEDGER = lk.synth.generate(5000, seed=21)


def _entries():
    e = LEDGER.entries
    return pa.table(
        {
            "proc": pc.binary_join_element_wise(
                e["encounter_id"], e["line"].cast(pa.string()), ":"
            ),
            "seq": e["payer_seq"],
            "kind": e["kind"].cast(pa.string()),
            "group": e["group_code"].cast(pa.string()),
            "carc": e["carc"].cast(pa.string()),
            "amount": e["amount_cents"],
            "note": e["note"],
        }
    )


def _procs(mask) -> set:
    return set(_entries().filter(mask)["proc"].to_pylist())


def test_primary_reduction_then_secondary_payment():
    t = _entries()
    pi59 = _procs(pc.and_(pc.equal(t["group"], "PI"), pc.equal(t["carc"], "59")))
    paid_by_2 = _procs(pc.and_(pc.equal(t["seq"], 2), pc.equal(t["kind"], "payment")))
    oa23 = _procs(pc.and_(pc.equal(t["group"], "OA"), pc.equal(t["carc"], "23")))
    pr2_by_2 = _procs(
        pc.and_(
            pc.equal(t["seq"], 2), pc.and_(pc.equal(t["group"], "PR"), pc.equal(t["carc"], "2"))
        )
    )
    both = pi59 & paid_by_2 & oa23
    assert len(both) >= 3
    assert len(both & pr2_by_2) >= 1  # the seed's shape: PI-59 on 1, OA-23 + PR-2 from 2


def test_zero_allowed_contractual_lines():
    lines = lk.balances(LEDGER, "procedure")
    zero = pc.and_(
        pc.and_(pc.equal(lines["allowed"], 0), pc.equal(lines["denied"], 0)),
        pc.and_(pc.greater(lines["charge"], 0), pc.equal(lines["contractual"], lines["charge"])),
    )
    n = pc.sum(zero.cast(pa.int64())).as_py()
    assert n >= 10
    assert pc.all(lines.filter(zero)["balanced"]).as_py()


def test_transfers_stay_within_their_caps():
    t = _entries()
    transfers = t.filter(pc.equal(t["kind"], "transfer_to_pr"))
    assert transfers.num_rows >= 10
    assert set(transfers["carc"].to_pylist()) <= {"27", "31"}
    check_history(LEDGER, allow_credit=True)
    caps = procedure_caps(LEDGER)
    assert pc.all(pc.less_equal(caps["open_pr"], pc.max_element_wise(caps["balance"], 0))).as_py()


def test_a_few_credits_flagged_as_such():
    lines = lk.balances(LEDGER, "procedure")
    credit = lines["credit"].to_numpy()
    assert 1 <= int((credit > 0).sum()) <= 0.002 * len(credit)
    assert np.array_equal(credit, np.maximum(-lines["balance"].to_numpy(), 0))
    t = _entries()
    noted = t.filter(pc.is_valid(t["note"]))
    assert set(noted["kind"].to_pylist()) == {"patient_payment"}
    assert all("allow_credit=True" in n for n in noted["note"].to_pylist())
    assert set(noted["proc"].to_pylist()) == set(
        pc.binary_join_element_wise(lines["encounter_id"], lines["line"].cast(pa.string()), ":")
        .filter(pc.greater(lines["credit"], 0))
        .to_pylist()
    )
    with pytest.raises(lk.LedgerError, match="credit of .*allow_credit=True"):
        check_history(LEDGER)
    plain = lk.synth.generate(5000, seed=21, credits=False)
    assert plain.entries["note"].null_count == plain.entries.num_rows


@pytest.mark.parametrize("seed", [1, 4, 2026])
def test_generated_ledgers_pass_the_boundary(seed):
    check_history(lk.synth.generate(2000, seed=seed), allow_credit=True)
    check_history(lk.synth.generate(2000, seed=seed, credits=False))
