"""Columns read a Parquet row group at a time (issue #19 items 5-6, memory).

``core.row_groups.valid_flags`` and ``column_array`` (``Ledger.array``), and the
analytics reads built on them (``ledger_entries.negations``, the facts' posting days
and ``facts.today_day``), give on a ledger still in its Parquet folder exactly what
they give on the same ledger in memory: row groups of odd sizes, each with its own
dictionary, nulls, entries out of grouped order. A folder changed since it was opened
is refused, naming the file and nothing of its rows.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledgers import random_ledgers

import ledgerkit as lk
from ledgerkit import LedgerError
from ledgerkit.analytics.derived import derived
from ledgerkit.analytics.entry_columns import days_and_negations, latest_posting_day
from ledgerkit.analytics.facts import today_day
from ledgerkit.analytics.ledger_entries import negations
from ledgerkit.core import sidecar
from ledgerkit.core.arrow import numpy_array, valid_array
from ledgerkit.core.parquet_read import PartTable
from ledgerkit.core.row_groups import column_array, held_column, in_memory, valid_flags
from ledgerkit.core.schema import TABLES

NUMBER_COLUMNS = [
    ("entries", "entry_id"),
    ("entries", "line"),
    ("entries", "payer_seq"),
    ("entries", "amount_cents"),
    ("procedures", "line"),
    ("procedures", "units"),
    ("procedures", "charge_cents"),
    ("payers", "appeal_days"),
]


def _folder_in_row_groups(ledger, folder, rows_per_group, *, keys_sidecar=True):
    """``ledger`` as a Parquet folder whose tables are cut into ``rows_per_group`` rows
    (each row group has its own dictionary pages), with or without the keys sidecar."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        pq.write_table(
            getattr(ledger, name), folder / f"{name}.parquet", row_group_size=rows_per_group
        )
    if keys_sidecar:
        sidecar.write_keys(folder, ledger.keys, ledger.reason_codes(), ledger.policy)
    return lk.Ledger.from_parquet(folder)


def _negated_lifecycle(n=120, seed=8):
    """A ledger with negations (take-backs: nulls and values in ``negates``) and
    entries appended out of grouped order."""
    ledger = lk.synth.lifecycle(lk.synth.generate(n, seed=seed), seed=5).ledger
    assert 0 < ledger.entries["negates"].null_count < ledger.entries.num_rows
    return ledger


@pytest.fixture(scope="module")
def ledger_and_folder(tmp_path_factory):
    ledger = _negated_lifecycle()
    lean = _folder_in_row_groups(ledger, tmp_path_factory.mktemp("r") / "l", 37)
    assert pq.ParquetFile(lean._tables["entries"].folder / "entries.parquet").num_row_groups > 10
    return ledger, lean


def test_negation_flags_of_a_folder_equal_the_flags_in_memory(ledger_and_folder):
    ledger, lean = ledger_and_folder
    want = valid_array(ledger.entries["negates"])
    assert 0 < want.sum() < len(want)  # nulls and values both
    got = valid_flags(lean, "entries", "negates")
    assert got.dtype == np.bool_ and got.tolist() == want.tolist()
    assert lean.keys.entry_order is not None  # appended: the flags are gathered
    assert negations(lean).tolist() == negations(ledger).tolist()
    assert negations(ledger).tolist() == want[ledger.keys.entry_order].tolist()
    assert not in_memory(lean, "entries")  # read in parts: the table stays unread


@pytest.mark.parametrize(("table", "column"), NUMBER_COLUMNS)
def test_number_columns_of_a_folder_equal_the_columns_in_memory(ledger_and_folder, table, column):
    ledger, lean = ledger_and_folder
    want = numpy_array(getattr(ledger, table)[column])
    got = lean.array(table, column)
    assert got.dtype == want.dtype and got.tolist() == want.tolist()
    assert ledger.array(table, column).tolist() == want.tolist()
    as_int64 = lean.array(table, column, np.dtype("int64"))
    assert as_int64.dtype == np.int64 and as_int64.tolist() == want.tolist()
    assert not in_memory(lean, table)


def _refuse(*args, **kwargs):
    raise AssertionError("read from the file")


def test_a_column_held_since_opening_is_not_read_again(tmp_path, monkeypatch):
    ledger = _negated_lifecycle(60, seed=4)
    lean = _folder_in_row_groups(ledger, tmp_path / "l", 37, keys_sidecar=False)
    monkeypatch.setattr(pq.ParquetFile, "read", _refuse)
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", _refuse)
    monkeypatch.setattr(PartTable, "load", _refuse)
    # without a keys sidecar from_parquet read these for its checks: they are
    # converted, not read again
    assert held_column(lean, "entries", "negates") is not None
    assert negations(lean).tolist() == negations(ledger).tolist()
    assert lean.array("entries", "amount_cents").tolist() == (
        ledger.array("entries", "amount_cents").tolist()
    )
    assert held_column(lean, "entries", "posted_at") is None  # this one is not held


def test_a_column_not_held_is_read_a_row_group_at_a_time(ledger_and_folder, monkeypatch):
    ledger, lean = ledger_and_folder
    groups = pq.ParquetFile(lean._tables["entries"].folder / "entries.parquet").num_row_groups
    read_row_group = pq.ParquetFile.read_row_group
    reads = []

    def counted(self, group, columns=None, **kwargs):
        reads.append((group, tuple(columns)))
        return read_row_group(self, group, columns=columns, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read", _refuse)
    monkeypatch.setattr(PartTable, "load", _refuse)
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", counted)
    day, negation = days_and_negations(lean)
    want_day, want_negation = days_and_negations(ledger)
    assert day.tolist() == want_day.tolist() and negation.tolist() == want_negation.tolist()
    # with the keys sidecar nothing is held: one pass over both columns
    assert held_column(lean, "entries", "negates") is None
    assert sorted(reads) == [(g, ("negates", "posted_at")) for g in range(groups)]
    assert latest_posting_day(lean) == latest_posting_day(ledger) == int(want_day.max())
    assert today_day(lean, None) == today_day(ledger, None)
    assert derived(lean).posted_day.tolist() == want_day.tolist()
    assert len(reads) == 4 * groups  # days and flags, latest day twice, the days alone


def test_a_column_not_held_is_read_in_parts_for_its_flags_and_numbers(tmp_path):
    """``negates`` and ``amount_cents`` dropped from what the folder's ledger holds (as a
    ledger opened lazily would): both are read a row group at a time, nulls included."""
    ledger = _negated_lifecycle(60, seed=4)
    lean = _folder_in_row_groups(ledger, tmp_path / "l", 37, keys_sidecar=False)
    part = lean._tables["entries"]
    part.read = part.read.drop_columns(["negates", "amount_cents"])
    assert held_column(lean, "entries", "negates") is None
    assert valid_flags(lean, "entries", "negates").tolist() == (
        valid_array(ledger.entries["negates"]).tolist()
    )
    assert negations(lean).tolist() == negations(ledger).tolist()
    assert days_and_negations(lean)[1].tolist() == days_and_negations(ledger)[1].tolist()
    got = lean.array("entries", "amount_cents", np.int32)
    assert got.dtype == np.int32 and got.tolist() == ledger.entries["amount_cents"].to_pylist()
    first_null = int(np.argmin(valid_array(ledger.entries["negates"])))
    with pytest.raises(LedgerError, match=rf"^entries row {first_null}, column 'negates': null"):
        lean.array("entries", "negates")


def test_posting_days_are_whole_utc_days():
    ledger = _negated_lifecycle(30, seed=2)
    posted = ledger.entries["posted_at"].to_pylist()
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    want = [(t - epoch).days for t in posted]
    assert days_and_negations(ledger)[0].tolist() == want
    assert latest_posting_day(ledger) == max(want)


@settings(max_examples=15, deadline=None)
@given(random_ledgers(), st.sampled_from([1, 3, 37]), st.booleans())
def test_random_ledgers_read_in_parts_as_in_memory(tmp_path_factory, ledger, rows, keys_sidecar):
    lean = _folder_in_row_groups(
        ledger, tmp_path_factory.mktemp("h") / "l", rows, keys_sidecar=keys_sidecar
    )
    assert negations(lean).tolist() == negations(ledger).tolist()
    assert lean.array("entries", "amount_cents").tolist() == (
        ledger.entries["amount_cents"].to_pylist()
    )
    assert days_and_negations(lean)[0].tolist() == days_and_negations(ledger)[0].tolist()
    assert latest_posting_day(lean) == latest_posting_day(ledger)


def test_an_empty_entries_table_reads_as_empty_arrays(tmp_path):
    ledger = lk.synth.generate(3, seed=1)
    ledger = lk.Ledger.from_arrow(
        ledger.encounters, ledger.procedures, ledger.entries.slice(0, 0), ledger.payers
    )
    lean = _folder_in_row_groups(ledger, tmp_path / "l", 37, keys_sidecar=False)
    assert valid_flags(lean, "entries", "negates").shape == (0,)
    assert lean.array("entries", "amount_cents").shape == (0,)
    assert latest_posting_day(lean) is None
    assert today_day(lean, None) == (dt.date.today() - dt.date(1970, 1, 1)).days


# ------------------------------------------------------------------ refusals
def test_a_column_with_nulls_is_refused_naming_table_row_and_column(ledger_and_folder):
    ledger, lean = ledger_and_folder
    first_null = int(np.argmin(valid_array(ledger.entries["negates"])))
    message = f"entries row {first_null}, column 'negates': null where a number is needed"
    for which in (ledger, lean):
        with pytest.raises(LedgerError) as caught:
            which.array("entries", "negates")
        assert str(caught.value) == message


def test_a_column_that_is_not_numbers_is_refused(ledger_and_folder):
    ledger, lean = ledger_and_folder
    for which in (ledger, lean):
        with pytest.raises(LedgerError, match=r"^entries\.posted_at: timestamp.* not a number"):
            which.array("entries", "posted_at")
        with pytest.raises(LedgerError, match=r"^entries has no column 'nope'$"):
            which.array("entries", "nope")


@pytest.mark.parametrize(
    "read",
    [
        lambda lean: valid_flags(lean, "entries", "negates"),
        lambda lean: negations(lean),
        lambda lean: lean.array("entries", "amount_cents"),
        lambda lean: derived(lean).posted_day,
        lambda lean: today_day(lean, None),
    ],
)
def test_a_folder_changed_since_opening_is_refused_naming_the_file_only(tmp_path, read):
    ledger = _negated_lifecycle(40, seed=3)
    lean = _folder_in_row_groups(ledger, tmp_path / "l", 37)
    path = tmp_path / "l" / "entries.parquet"
    entries = pq.read_table(path)
    pq.write_table(entries.slice(0, entries.num_rows - 5), path, row_group_size=37)
    with pytest.raises(LedgerError) as caught:
        read(lean)
    assert str(caught.value) == f"{path}: changed since the ledger was opened"
    assert "posted_day" not in derived(lean).__dict__  # nothing half-done is kept


def test_a_folder_whose_file_is_gone_is_refused_naming_the_file(tmp_path):
    ledger = _negated_lifecycle(40, seed=3)
    lean = _folder_in_row_groups(ledger, tmp_path / "l", 37)
    path = tmp_path / "l" / "entries.parquet"
    path.write_bytes(b"not parquet any more")
    with pytest.raises(LedgerError) as caught:
        valid_flags(lean, "entries", "negates")
    assert str(caught.value).startswith(f"{path}: cannot be read any more")
    encounter_ids = set(ledger.encounters["encounter_id"].to_pylist())
    assert not any(e in str(caught.value) for e in encounter_ids)


def test_a_held_table_is_converted_without_a_copy():
    ledger = lk.synth.generate(20, seed=1)
    entries = ledger.entries.combine_chunks()
    ledger = lk.Ledger.from_arrow(ledger.encounters, ledger.procedures, entries, ledger.payers)
    array = column_array(ledger, "entries", "amount_cents")
    assert np.shares_memory(array, numpy_array(ledger.entries["amount_cents"]))
    assert isinstance(ledger._tables["entries"], pa.Table)
