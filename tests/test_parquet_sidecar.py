"""Parquet ledger folders with a keys sidecar (issue #19, the cold path).

A ledger read with the sidecar equals the ledger read without it: the same four tables,
the same keys, the same classify/balances; a stale, foreign, damaged or other-version
sidecar is ignored (the folder is read and validated in full), never trusted.
"""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledgers import random_ledgers

import ledgerkit as lk
from ledgerkit import LedgerError
from ledgerkit.core import sidecar
from ledgerkit.core.keys import build_keys

KEY_FIELDS = (
    "n_encounters", "proc_order", "enc_proc_start", "proc_line", "entry_proc", "entry_order",
    "proc_entry_start", "entry_seq", "entry_kind", "entry_live", "amounts", "enc_n_payers",
)  # fmt: skip
TABLES = ("encounters", "procedures", "entries", "payers")


def _without_sidecar(folder):
    """The folder read the old way: every table read, validated, keys built from strings."""
    tables = {name: pq.read_table(folder / f"{name}.parquet") for name in TABLES}
    return lk.Ledger.from_arrow(**tables)


def _assert_same(got: lk.Ledger, want: lk.Ledger):
    for name in TABLES:
        assert getattr(got, name).equals(getattr(want, name)), name
    for name in KEY_FIELDS:
        a, b = getattr(got.keys, name), getattr(want.keys, name)
        if a is None or b is None:
            assert a is None and b is None, name
        else:
            np.testing.assert_array_equal(a, b, err_msg=name)
    for a, b in zip(got.reason_codes(), want.reason_codes(), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert lk.classify(got).equals(lk.classify(want))
    for level in ("procedure", "payer", "encounter"):
        assert lk.balances(got, level=level).equals(lk.balances(want, level=level))


def _shuffled(ledger: lk.Ledger, seed: int) -> lk.Ledger:
    """The same ledger with procedures and entries rows in a random order (not grouped)."""
    rng = np.random.default_rng(seed)
    proc = ledger.procedures.take(pa.array(rng.permutation(ledger.procedures.num_rows)))
    entries = ledger.entries.take(pa.array(rng.permutation(ledger.entries.num_rows)))
    return lk.Ledger.from_arrow(ledger.encounters, proc, entries, ledger.payers)


@pytest.mark.parametrize("shuffle", [False, True])
def test_read_with_sidecar_equals_read_without(tmp_path, shuffle):
    ledger = lk.synth.generate(300, seed=4)
    ledger = ledger.negate(ledger.entries["entry_id"].to_pylist()[-3:], actor="t", note="undo")
    if shuffle:
        ledger = _shuffled(ledger, 1)
        assert ledger.keys.entry_order is not None and ledger.keys.proc_order is not None
    folder = ledger.to_parquet(tmp_path / "l")
    assert (folder / sidecar.SIDECAR).exists()
    assert sidecar.read_keys(folder) is not None  # the fast path is taken
    _assert_same(lk.Ledger.from_parquet(folder), _without_sidecar(folder))


@settings(max_examples=25)
@given(random_ledgers(), st.booleans())
def test_random_ledgers_round_trip_through_the_sidecar(tmp_path_factory, ledger, shuffle):
    if shuffle:
        ledger = _shuffled(ledger, 2)
    folder = ledger.to_parquet(tmp_path_factory.mktemp("l"))
    assert sidecar.read_keys(folder) is not None
    _assert_same(lk.Ledger.from_parquet(folder), _without_sidecar(folder))


def test_classify_reads_no_entry_column(tmp_path):
    folder = lk.synth.generate(100, seed=1).to_parquet(tmp_path / "l")
    ledger = lk.Ledger.from_parquet(folder)
    repr(ledger)  # row counts from the keys and footers
    lk.classify(ledger)
    lk.balances(ledger, level="payer")
    assert isinstance(ledger._tables["entries"], sidecar.LazyTable)
    assert isinstance(ledger._tables["procedures"], sidecar.LazyTable)
    assert ledger.entries.num_rows == ledger.keys.amounts.size  # read on first use
    assert isinstance(ledger._tables["entries"], pa.Table)


def test_a_stale_sidecar_is_rebuilt_not_trusted(tmp_path):
    """Entries rewritten after the sidecar (one amount changed): the sidecar's
    fingerprint no longer matches, so the keys come from the new table."""
    folder = lk.synth.generate(200, seed=3).to_parquet(tmp_path / "l")
    entries = pq.read_table(folder / "entries.parquet")
    amounts = entries["amount_cents"].to_numpy().copy()
    amounts[0] += 100  # the first entry is a charge: still a valid ledger
    entries = entries.set_column(
        entries.column_names.index("amount_cents"), "amount_cents", pa.array(amounts)
    )
    pq.write_table(entries, folder / "entries.parquet")
    assert sidecar.read_keys(folder) is None
    back = lk.Ledger.from_parquet(folder)
    assert back.keys.amounts[0] == amounts[0]  # entries are grouped: row 0 is position 0
    _assert_same(back, _without_sidecar(folder))


def test_a_stale_sidecar_does_not_hide_invalid_tables(tmp_path):
    folder = lk.synth.generate(50, seed=3).to_parquet(tmp_path / "l")
    entries = pq.read_table(folder / "entries.parquet")
    lines = entries["line"].to_numpy().copy()
    lines[5] = 99  # no such procedure line
    entries = entries.set_column(entries.column_names.index("line"), "line", pa.array(lines))
    pq.write_table(entries, folder / "entries.parquet")
    with pytest.raises(LedgerError, match="entries row 5, column 'line'"):
        lk.Ledger.from_parquet(folder)


def test_a_foreign_sidecar_is_ignored(tmp_path):
    a = lk.synth.generate(120, seed=1).to_parquet(tmp_path / "a")
    b = lk.synth.generate(120, seed=2).to_parquet(tmp_path / "b")
    shutil.copy(a / sidecar.SIDECAR, b / sidecar.SIDECAR)
    assert sidecar.read_keys(b) is None
    _assert_same(lk.Ledger.from_parquet(b), _without_sidecar(b))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "header"])
def test_a_damaged_sidecar_is_ignored(tmp_path, damage):
    folder = lk.synth.generate(80, seed=5).to_parquet(tmp_path / "l")
    path = folder / sidecar.SIDECAR
    data = path.read_bytes()
    path.write_bytes(
        {
            "truncate": data[: len(data) // 2],
            "garbage": b"\x00" * 100,
            "empty": b"",
            "header": data[:20] + b"{not json" + data[29:],
        }[damage]
    )
    assert sidecar.read_keys(folder) is None
    _assert_same(lk.Ledger.from_parquet(folder), _without_sidecar(folder))


def test_a_sidecar_of_other_code_is_ignored(tmp_path, monkeypatch):
    folder = lk.synth.generate(40, seed=6).to_parquet(tmp_path / "l")
    monkeypatch.setattr(sidecar, "code_version", lambda: "another version")
    assert sidecar.read_keys(folder) is None
    _assert_same(lk.Ledger.from_parquet(folder), _without_sidecar(folder))


def test_a_folder_without_sidecar_reads_as_before(tmp_path):
    ledger = lk.synth.generate(60, seed=7)
    folder = tmp_path / "plain"
    folder.mkdir()
    for name in TABLES:
        pq.write_table(getattr(ledger, name), folder / f"{name}.parquet")
    back = lk.Ledger.from_parquet(folder)
    _assert_same(back, ledger)


def test_append_and_negate_after_a_sidecar_read(tmp_path):
    ledger = lk.synth.generate(150, seed=8)
    folder = ledger.to_parquet(tmp_path / "l")
    fast, slow = lk.Ledger.from_parquet(folder), _without_sidecar(folder)
    eid = ledger.encounters["encounter_id"][3].as_py()
    new = [dict(encounter_id=eid, line=1, payer_seq=0, kind="patient_payment",
                amount_cents=1, actor="t")]  # fmt: skip
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    _assert_same(fast.append(new, at=at), slow.append(new, at=at))
    undo = dict(actor="t", note="wrong", at=at)
    payments = ledger.entries.filter(pc.equal(ledger.entries["kind"], "payment"))
    for entry_id in (ledger.entries["entry_id"][0].as_py(), payments["entry_id"][0].as_py()):
        outcomes = []
        for ledger_read in (fast, slow):
            try:
                outcomes.append(ledger_read.negate([entry_id], **undo))
            except LedgerError as error:  # a negated charge with payments leaves a credit
                outcomes.append(str(error))
        if isinstance(outcomes[0], str):
            assert outcomes[0] == outcomes[1]
        else:
            _assert_same(*outcomes)


def test_a_table_changed_after_opening_is_an_error_on_first_use(tmp_path):
    folder = lk.synth.generate(40, seed=9).to_parquet(tmp_path / "l")
    ledger = lk.Ledger.from_parquet(folder)
    other = lk.synth.generate(41, seed=9)
    pq.write_table(other.entries, folder / "entries.parquet")
    with pytest.raises(LedgerError, match="entries.parquet: changed since the ledger was opened"):
        ledger.entries  # noqa: B018


def test_classify_raises_the_error_of_its_encounter_id_read(tmp_path):
    # (classify reads the ids in a thread while its kernel runs: the error is still its own)
    folder = lk.synth.generate(40, seed=9).to_parquet(tmp_path / "l")
    ledger = lk.Ledger.from_parquet(folder)
    pq.write_table(lk.synth.generate(41, seed=9).encounters, folder / "encounters.parquet")
    with pytest.raises(LedgerError, match="encounters.parquet: changed since the ledger was"):
        lk.classify(ledger)


def test_writing_again_replaces_the_sidecar(tmp_path):
    folder = tmp_path / "l"
    lk.synth.generate(30, seed=1).to_parquet(folder)
    second = lk.synth.generate(35, seed=2)
    second.to_parquet(folder)
    assert sidecar.read_keys(folder) is not None
    _assert_same(lk.Ledger.from_parquet(folder), second)


def test_sidecar_keys_match_build_keys(tmp_path):
    ledger = _shuffled(lk.synth.generate(90, seed=11), 3)
    folder = ledger.to_parquet(tmp_path / "l")
    keys, rows = sidecar.read_keys(folder)
    built = build_keys(ledger.encounters, ledger.procedures, ledger.entries)
    assert rows == {"encounters": 90, "procedures": ledger.procedures.num_rows,
                    "entries": ledger.entries.num_rows, "payers": 8}  # fmt: skip
    for name in KEY_FIELDS:
        np.testing.assert_array_equal(getattr(keys, name), getattr(built, name))
