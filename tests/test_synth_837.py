"""synth.write_837s: synthetic ledgers' claims as 837P files; synth -> 837 -> read_837 ->
Ledger.from_837 gives the same encounters, procedures and charges."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_x12_write_837 import ENC_COLS, PROC_COLS, _insured, _plain

import ledgerkit as lk

WHEN = dt.datetime(2025, 6, 1, 9, 30, tzinfo=dt.UTC)


def _strings(table):
    cols = [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in table.columns]
    return pa.table(cols, names=table.column_names)


def _same_claims(ledger, folder):
    claims = lk.read_837(folder, salt="synth")
    assert claims.findings.num_rows == 0
    back = lk.Ledger.from_837(claims)
    enc, proc, charges = _insured(ledger)
    assert _plain(_strings(back.encounters), ENC_COLS) == _plain(_strings(enc), ENC_COLS)
    assert _plain(_strings(back.procedures), PROC_COLS) == _plain(_strings(proc), PROC_COLS)
    cols = ["encounter_id", "line", "payer_seq", "payer_id", "amount_cents"]
    assert _plain(_strings(back.entries), cols) == _plain(_strings(charges), cols)
    return claims, back


def test_files_are_split_and_numbered(tmp_path):
    ledger = lk.synth.generate(120, seed=11)
    paths = lk.synth.write_837s(ledger, tmp_path / "out", claims_per_file=50, created=WHEN)
    insured = pc.sum(pc.is_valid(ledger.encounters["payer1_id"])).as_py()
    assert [p.name for p in paths] == [f"claims_{n:04d}.837" for n in
                                       range(1, -(-insured // 50) + 1)]  # fmt: skip
    claims, back = _same_claims(ledger, tmp_path / "out")
    assert claims.claims.num_rows == insured
    assert claims.transactions["isa_control"].to_pylist() == [
        f"{n:09d}" for n in range(1, len(paths) + 1)
    ]
    # the charges in cents, exactly
    total = pc.sum(_insured(ledger)[2]["amount_cents"]).as_py()
    assert pc.sum(back.entries["amount_cents"]).as_py() == total
    assert sum(claims.claims["charge_cents"].to_pylist()) == total


def test_bad_arguments(tmp_path):
    ledger = lk.synth.generate(5, seed=1)
    with pytest.raises(ValueError, match="claims_per_file"):
        lk.synth.write_837s(ledger, tmp_path, claims_per_file=0)
    with pytest.raises(TypeError, match="control"):
        lk.synth.write_837s(ledger, tmp_path, control=3)


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 80), seed=st.integers(0, 2**16), per_file=st.integers(1, 40))
def test_round_trip(tmp_path_factory, n, seed, per_file):
    ledger = lk.synth.generate(n, seed=seed)
    folder = tmp_path_factory.mktemp("synth837")
    lk.synth.write_837s(ledger, folder, claims_per_file=per_file, created=WHEN)
    if pc.sum(pc.is_valid(ledger.encounters["payer1_id"])).as_py():
        _same_claims(ledger, folder)
