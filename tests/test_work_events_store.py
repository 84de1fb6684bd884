"""Work events in the LedgerStore (issue #16): validated at the boundary, committed
with the store's guarantees (one commit, killed writers rolled back, time travel),
and stores written before the table existed open and are upgraded."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import ledgerkit as lk
from ledgerkit.errors import LedgerError
from ledgerkit.store import ledger_store
from ledgerkit.store.ledger_store import LedgerStore

TIMEOUT = 120
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def ledger():
    return lk.synth.generate(40, seed=3)


def _store(tmp_path, ledger):
    return LedgerStore.create(tmp_path / "store", ledger, actor="setup", note="initial load")


def _enc(ledger, i=0) -> str:
    return ledger.encounters["encounter_id"][i].as_py()


def _line_charge(ledger, enc, line) -> int:
    p = ledger.procedures
    keep = pc.and_(pc.equal(p["encounter_id"].cast(pa.string()), enc), pc.equal(p["line"], line))
    return p.filter(keep)["charge_cents"][0].as_py()


def test_round_trip_time_travel_and_reopen(tmp_path, ledger):
    store = _store(tmp_path, ledger)
    e = _enc(ledger)
    charge = _line_charge(ledger, e, 1)
    first = store.record_work(
        [
            {"kind": "assign", "encounter_id": e, "owner": "ana", "at": "2026-11-02T09:00"},
            {"kind": "appeal", "encounter_id": e, "line": 1, "carc": "b7", "appeal_level": 1,
             "appeal_method": "portal", "at": dt.date(2026, 11, 3)},  # fmt: skip
        ],
        actor="ana", note="triage", at=NOW,
    )  # fmt: skip
    assert first["carc"].to_pylist() == [None, "B7"]  # codes upper-cased
    assert first["appeal_filed"].to_pylist() == [None, dt.date(2026, 11, 3)]
    second = store.record_work(
        {"kind": "outcome", "encounter_id": e, "line": 1, "carc": "B7", "outcome": "overturned",
         "outcome_cents": charge},  # fmt: skip
        actor="bo", note="payer letter", at=NOW,
    )  # fmt: skip
    assert store.version == 2
    assert store.history()["operation"].to_pylist() == ["create", "record_work", "record_work"]
    assert store.history()["actor"].to_pylist()[1:] == ["ana", "bo"]
    assert store.work_events(0).num_rows == 0
    assert store.work_events(1).num_rows == 2
    again = LedgerStore(store.path)
    events = again.work_events()
    assert events.drop_columns([]).equals(pa.concat_tables([first, second]).cast(events.schema))
    assert events["actor"].to_pylist() == ["ana", "ana", "bo"]
    # the fold: now, as of store version 1, and as of a time
    line = lk.work_items(again).filter(pc.is_valid(lk.work_items(again)["line"]))
    assert line.select(["status", "owner", "recovered_cents"]).to_pylist() == [
        {"status": "resolved", "owner": "ana", "recovered_cents": charge}]  # fmt: skip
    assert lk.work_items(again, as_of=1)["status"].to_pylist() == ["new", "appealed"]
    assert lk.work_items(again, as_of="2026-11-02T23:00")["status"].to_pylist() == ["new"]
    # the ledger is untouched; an outside reader finds the rows at the recorded version
    assert lk.balances(again.ledger()).equals(lk.balances(ledger))
    import polars as pl

    v = again.table_versions()["work_events"]
    assert pl.read_delta(str(store.path / "work_events"), version=v).height == 3


BAD = [  # (the bad row, the field named)
    ({"kind": "escalate"}, "kind"),
    ({"kind": "assign", "encounter_id": None, "owner": "ana"}, "encounter_id"),
    ({"kind": "assign", "encounter_id": "SECRET-NOT-AN-ENCOUNTER", "owner": "a"}, "encounter_id"),
    ({"kind": "assign", "line": 99, "owner": "ana"}, "line"),
    ({"kind": "assign", "line": 1.5, "owner": "ana"}, "line"),
    ({"kind": "assign", "carc": "CO-45", "owner": "ana"}, "carc"),
    ({"kind": "assign", "owner": "  "}, "owner"),
    ({"kind": "assign", "owner": "ana", "status": "resolved"}, "status"),
    ({"kind": "status", "status": "done"}, "status"),
    ({"kind": "follow_up", "follow_up": "next week"}, "follow_up"),
    ({"kind": "follow_up"}, "follow_up"),
    ({"kind": "note"}, "note"),
    ({"kind": "note", "note": 12}, "note"),
    ({"kind": "appeal", "appeal_level": "3", "appeal_method": "fax"}, "appeal_level"),
    ({"kind": "appeal", "appeal_level": "1", "appeal_method": "pigeon"}, "appeal_method"),
    (
        {
            "kind": "appeal",
            "appeal_level": "1",
            "appeal_method": "fax",
            "appeal_filed": "2027-01-01",
        },
        "appeal_filed",
    ),  # fmt: skip
    ({"kind": "outcome", "outcome": "won", "outcome_cents": 5}, "outcome"),
    ({"kind": "outcome", "outcome": "overturned"}, "outcome_cents"),
    ({"kind": "outcome", "outcome": "partial", "outcome_cents": 12.5}, "outcome_cents"),
    ({"kind": "outcome", "outcome": "upheld", "outcome_cents": 100}, "outcome_cents"),
    (
        {"kind": "outcome", "line": 1, "outcome": "partial", "outcome_cents": 10**12},
        "outcome_cents",
    ),  # fmt: skip
    ({"kind": "note", "note": "x", "at": "2026-12-25"}, "at"),
    ({"kind": "note", "note": "x", "mrn": "123"}, "mrn"),
]


@pytest.mark.parametrize("bad, field", BAD, ids=[f"{b['kind']}-{f}" for b, f in BAD])
def test_a_bad_event_names_its_row_and_field_and_commits_nothing(tmp_path, ledger, bad, field):
    store = _store(tmp_path, ledger)
    good = {"kind": "note", "encounter_id": _enc(ledger), "note": "called"}
    row = {"encounter_id": _enc(ledger, 1), **bad}
    with pytest.raises(LedgerError, match=rf"^work events row 1, field '{field}': ") as err:
        store.record_work([good, row], actor="ana", note="x", at=NOW)
    # no value of the row is quoted (it may identify a patient)
    for key, value in row.items():
        if key in ("encounter_id", "owner", "note", "mrn", "follow_up", "carc") and value:
            assert str(value) not in str(err.value), key
    assert LedgerStore(store.path).version == 0 and store.work_events().num_rows == 0


def test_actor_and_note_are_required(tmp_path, ledger):
    store = _store(tmp_path, ledger)
    event = {"kind": "note", "encounter_id": _enc(ledger), "note": "called"}
    with pytest.raises(LedgerError, match="actor"):
        store.record_work(event, actor="", note="x")
    with pytest.raises(LedgerError, match="a note"):
        store.record_work(event, actor="ana", note=" ")
    with pytest.raises(LedgerError, match="no events"):
        store.record_work([], actor="ana", note="x")
    assert LedgerStore(store.path).version == 0


def test_a_pandas_frame_of_events(tmp_path, ledger):
    import pandas as pd

    store = _store(tmp_path, ledger)
    e = _enc(ledger)
    frame = pd.DataFrame(
        [
            {"kind": "assign", "encounter_id": e, "owner": "ana", "follow_up": None},
            {
                "kind": "follow_up",
                "encounter_id": e,
                "owner": None,
                "follow_up": dt.date(2026, 12, 4),
            },  # fmt: skip
        ]
    )
    rows = store.record_work(frame, actor="ana", note="from a sheet", at=NOW)
    assert rows["kind"].to_pylist() == ["assign", "follow_up"]
    assert lk.work_items(store)["follow_up"].to_pylist() == [dt.date(2026, 12, 4)]


def _schema_2_store(store: LedgerStore) -> None:
    """Make ``store`` look written by schema 2: no work_events table, no commits column."""
    import shutil

    from deltalake import write_deltalake

    hist = store.history().drop_columns(["work_events_version"])
    hist = hist.set_column(6, "schema_version", pa.array([2] * hist.num_rows, pa.int32()))
    write_deltalake(str(store.path / "commits"), hist, mode="overwrite", schema_mode="overwrite")
    shutil.rmtree(store.path / "work_events")


def test_a_store_from_before_work_events_opens_and_is_upgraded(tmp_path, ledger):
    store = _store(tmp_path, ledger)
    e = _enc(ledger, 2)
    entries = store.ledger().entries  # not a charge: that would leave a credit, refused
    paid = entries.filter(pc.not_equal(entries["kind"].cast(pa.string()), "charge"))
    store.negate([paid["entry_id"][0].as_py()], actor="bo", note="fix")
    _schema_2_store(store)
    old = LedgerStore(store.path)
    assert old.version == 1 and old.work_events().num_rows == 0
    assert lk.work_items(old).num_rows == 0
    assert not (store.path / "work_events").exists()  # opening writes nothing
    old.record_work({"kind": "assign", "encounter_id": e, "owner": "ana"}, actor="ana",
                    note="first work", at=NOW)  # fmt: skip
    new = LedgerStore(store.path)
    assert new.version == 2
    assert new.history()["schema_version"].to_pylist() == [2, 2, 3]
    assert new.table_versions(1)["work_events"] == 0 and new.work_events(1).num_rows == 0
    assert new.work_events()["owner"].to_pylist() == ["ana"]
    assert lk.balances(new.ledger()).equals(lk.balances(store.ledger()))
    assert ledger_store.SCHEMA_VERSION == 3


# ----------------------------------------------------------------------------- killed
WORK_SCRIPT = """
import sys
import ledgerkit as lk
from ledgerkit.store.ledger_store import LedgerStore
store = LedgerStore({path!r})
enc = store.ledger().encounters["encounter_id"][0].as_py()
store.record_work({{"kind": "assign", "encounter_id": enc, "owner": "killed"}},
                  actor="killed", note="never lands")
print("OK")
"""


@pytest.mark.parametrize("point", ["after_work_events", "before_commit"])
def test_a_work_event_writer_killed_mid_change_leaves_nothing(tmp_path, ledger, point):
    from deltalake import DeltaTable

    store = _store(tmp_path, ledger)
    e = _enc(ledger)
    store.record_work({"kind": "assign", "encounter_id": e, "owner": "ana"}, actor="ana",
                      note="before", at=NOW)  # fmt: skip
    committed = store.table_versions()
    env = {**os.environ, "LEDGERKIT_STORE_TEST_HOOK": f"kill:{point}"}
    code = textwrap.dedent(WORK_SCRIPT.format(path=str(store.path)))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=TIMEOUT, env=env)  # fmt: skip
    assert proc.returncode == -9, proc.stderr
    # the killed writer's row sits past the recorded version, unread
    assert DeltaTable(str(store.path / "work_events")).version() > committed["work_events"]
    reopened = LedgerStore(store.path)  # rolls it back
    assert reopened.version == 1 and reopened.table_versions() == committed
    latest = set(DeltaTable(str(store.path / "work_events")).file_uris())
    recorded = DeltaTable(str(store.path / "work_events"), version=committed["work_events"])
    assert latest == set(recorded.file_uris())
    assert reopened.work_events()["owner"].to_pylist() == ["ana"]
    reopened.record_work({"kind": "assign", "encounter_id": e, "owner": "bo"}, actor="bo",
                         note="after", at=NOW)  # fmt: skip
    assert lk.work_items(LedgerStore(store.path))["owner"].to_pylist() == ["bo"]


def test_compact_keeps_work_events(tmp_path, ledger):
    store = _store(tmp_path, ledger)
    for owner in ("ana", "bo", "cy"):
        store.record_work({"kind": "assign", "encounter_id": _enc(ledger), "owner": owner},
                          actor=owner, note="mine", at=NOW)  # fmt: skip
    before = store.work_events()
    store.compact(actor="ops", note="small files")
    after = LedgerStore(store.path)
    assert after.work_events().equals(before)
    assert after.work_events(2).num_rows == 2


@pytest.mark.parametrize("point", ["data", "log", "after_log"])
def test_a_fault_writing_work_events_commits_nothing_and_a_retry_does(tmp_path, ledger, point,
                                                                       monkeypatch):  # fmt: skip
    import errno

    import deltalake
    import pyarrow.parquet as pq

    store = _store(tmp_path, ledger)
    event = {"kind": "assign", "encounter_id": _enc(ledger), "owner": "ana"}
    full = OSError(errno.ENOSPC, "No space left on device")
    real_write, real_log = pq.write_table, deltalake.DeltaTable.create_write_transaction

    def write_table(data, where, *args, **kwargs):
        if point == "data" and "/work_events/" in str(where):
            raise full
        return real_write(data, where, *args, **kwargs)

    def create_write_transaction(self, *args, **kwargs):
        hit = self.table_uri.rstrip("/").endswith("work_events")
        if hit and point == "log":
            raise full
        out = real_log(self, *args, **kwargs)
        if hit and point == "after_log":
            raise full
        return out

    monkeypatch.setattr(pq, "write_table", write_table)
    monkeypatch.setattr(deltalake.DeltaTable, "create_write_transaction", create_write_transaction)
    said = r"table 'work_events' \(no space left on device\); nothing of this record_work was"
    with pytest.raises(LedgerError, match=said):
        store.record_work(event, actor="ana", note="mine", at=NOW)
    monkeypatch.undo()
    reopened = LedgerStore(store.path)
    assert reopened.version == 0 and reopened.work_events().num_rows == 0
    reopened.record_work(event, actor="ana", note="mine", at=NOW)
    again = LedgerStore(store.path)
    assert again.version == 1 and again.work_events()["owner"].to_pylist() == ["ana"]
