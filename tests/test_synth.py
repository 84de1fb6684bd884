"""The synthetic ledger is deterministic, valid and realistic enough to exercise every path."""

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

import ledgerkit as lk


def test_deterministic():
    a = lk.synth.generate(300, seed=4)
    b = lk.synth.generate(300, seed=4)
    for name in ("encounters", "procedures", "entries", "payers"):
        assert getattr(a, name).equals(getattr(b, name))
    assert not lk.synth.generate(300, seed=5).entries.equals(a.entries)


def test_valid_through_the_public_constructor():
    ledger = lk.synth.generate(500, seed=2)
    again = lk.Ledger.from_arrow(
        ledger.encounters, ledger.procedures, ledger.entries, ledger.payers
    )
    assert lk.classify(again).equals(lk.classify(ledger))


def test_covers_every_class_stage_and_entry_kind():
    ledger = lk.synth.generate(3000, seed=9)
    table = lk.classify(ledger)
    assert set(table["class"].cast(pa.string()).to_pylist()) == set(lk.CLASSES)
    stages = set(table["stage"].cast(pa.string()).to_pylist())
    assert {"finalized", "payer_1", "payer_2", "patient"} <= stages
    kinds = set(ledger.entries["kind"].cast(pa.string()).to_pylist())
    assert kinds == {
        "charge",
        "payment",
        "adjustment",
        "patient_payment",
        "write_off",
        "transfer_to_pr",
    }
    negations = ledger.entries.filter(pc.is_valid(ledger.entries["negates"]))
    assert negations.num_rows > 0


def test_charges_balance_against_decisions():
    """Every adjudicated, untouched line satisfies charge - paid = sum of its CAS."""
    ledger = lk.synth.generate(1000, seed=3)
    table = lk.balances(ledger, "procedure")
    ok = pc.and_(pc.greater(table["last_payer_seq"], 0), pc.equal(table["written_off"], 0))
    t = table.filter(ok)
    lhs = pc.subtract(t["charge"], t["paid"])
    # Secondary OA-23 restates and secondary PR replaces primary PR: check the primary only.
    single = pc.equal(t["last_payer_seq"], 1)
    cars = pc.add(pc.add(pc.add(t["contractual"], t["pr"]), t["denied"]), t["other"])
    assert pc.all(pc.equal(lhs.filter(single), cars.filter(single))).as_py()


def test_sample_folder_is_the_checkouts_bundled_sample():
    # A wrong parent made load_sample regenerate 20,000 encounters on every call.
    root = Path(__file__).resolve().parents[1]
    assert lk.synth.sample_folder() == root / "data" / "samples" / "ledger"
    assert (lk.synth.sample_folder() / "entries.parquet").exists()
