"""LedgerStore.ledger() keeps the integer keys of the version it read (issue #19).

A fresh process reading a store builds and validates the ledger once and saves its keys
under ``_ledgerkit_keys/``; the next fresh reader of the same version hashes no string.
The saved keys are checked against the Delta files they describe: another version,
another store's keys, or a damaged file are rebuilt, never trusted.
"""

from __future__ import annotations

import shutil

import numpy as np
import pyarrow as pa
import pytest

import ledgerkit as lk
from ledgerkit.core import keys as keys_module
from ledgerkit.store.ledger_store import KEYS_FOLDER, LedgerStore

KEY_FIELDS = ("proc_order", "enc_proc_start", "proc_line", "entry_proc", "entry_order",
              "proc_entry_start", "entry_seq", "entry_kind", "entry_live", "amounts",
              "enc_n_payers")  # fmt: skip


def _values(table: pa.Table) -> pa.Table:
    """The table with dictionary columns decoded (a store keeps values, not dictionaries)."""
    return pa.table({
        name: col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col
        for name, col in zip(table.column_names, table.columns, strict=True)
    })  # fmt: skip


def _assert_same(got: lk.Ledger, want: lk.Ledger):
    for name in ("encounters", "procedures", "entries", "payers"):
        assert _values(getattr(got, name)).equals(_values(getattr(want, name))), name
    for name in KEY_FIELDS:
        a, b = getattr(got.keys, name), getattr(want.keys, name)
        assert (a is None) == (b is None), name
        if a is not None:
            np.testing.assert_array_equal(a, b, err_msg=name)
    assert _values(lk.classify(got)).equals(_values(lk.classify(want)))


@pytest.fixture
def no_build(monkeypatch):
    """Make building keys from strings fail: what still works used the saved keys."""

    def refuse(*args, **kwargs):
        raise AssertionError("keys were built from strings")

    def apply():
        monkeypatch.setattr(keys_module, "build_keys", refuse)
        monkeypatch.setattr("ledgerkit.core.ledger.build_keys", refuse)

    return apply


def test_a_second_reader_uses_the_saved_keys(tmp_path, no_build):
    ledger = lk.synth.generate(200, seed=5)
    LedgerStore.create(tmp_path / "s", ledger, actor="setup")
    first = LedgerStore(tmp_path / "s").ledger()  # fresh reader: builds, validates, saves
    assert [p.name for p in (tmp_path / "s" / KEYS_FOLDER).iterdir()] == ["v0.keys"]
    no_build()
    second = LedgerStore(tmp_path / "s").ledger()
    _assert_same(second, first)
    _assert_same(second, ledger)


def test_a_new_version_is_not_read_with_old_keys(tmp_path):
    ledger = lk.synth.generate(150, seed=6)
    store = LedgerStore.create(tmp_path / "s", ledger, actor="setup")
    LedgerStore(tmp_path / "s").ledger()  # saves v0's keys
    eid = ledger.encounters["encounter_id"][0].as_py()
    grown = ledger.append([dict(encounter_id=eid, line=1, payer_seq=0, kind="patient_payment",
                                amount_cents=5, actor="t")])  # fmt: skip
    store.append(grown, actor="t", note="a payment")
    fresh = LedgerStore(tmp_path / "s")
    _assert_same(fresh.ledger(), grown)
    assert [p.name for p in (tmp_path / "s" / KEYS_FOLDER).iterdir()] == ["v1.keys"]
    _assert_same(LedgerStore(tmp_path / "s").ledger(), grown)  # with v1's keys
    _assert_same(LedgerStore(tmp_path / "s").ledger(as_of=0), ledger)  # v0: built again


def test_keys_of_another_store_are_ignored(tmp_path):
    a, b = lk.synth.generate(120, seed=1), lk.synth.generate(120, seed=2)
    LedgerStore.create(tmp_path / "a", a, actor="setup")
    LedgerStore.create(tmp_path / "b", b, actor="setup")
    LedgerStore(tmp_path / "a").ledger()
    (tmp_path / "b" / KEYS_FOLDER).mkdir()
    shutil.copy(tmp_path / "a" / KEYS_FOLDER / "v0.keys", tmp_path / "b" / KEYS_FOLDER)
    _assert_same(LedgerStore(tmp_path / "b").ledger(), b)


def test_damaged_keys_are_rebuilt(tmp_path):
    ledger = lk.synth.generate(100, seed=3)
    LedgerStore.create(tmp_path / "s", ledger, actor="setup")
    LedgerStore(tmp_path / "s").ledger()
    path = tmp_path / "s" / KEYS_FOLDER / "v0.keys"
    path.write_bytes(path.read_bytes()[:1000])
    _assert_same(LedgerStore(tmp_path / "s").ledger(), ledger)
    _assert_same(LedgerStore(tmp_path / "s").ledger(), ledger)  # saved again, whole


def test_a_store_whose_keys_cannot_be_saved_still_reads(tmp_path, monkeypatch):
    ledger = lk.synth.generate(80, seed=4)
    LedgerStore.create(tmp_path / "s", ledger, actor="setup")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("ledgerkit.core.sidecar.save_keys", full_disk)
    _assert_same(LedgerStore(tmp_path / "s").ledger(), ledger)
    assert not list((tmp_path / "s" / KEYS_FOLDER).glob("*.keys"))
