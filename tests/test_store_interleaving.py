"""Two writers on one LedgerStore, run step by step in EVERY order (issue #14).

Each writer runs in its own thread with its own ``LedgerStore`` object and pauses
at every point its change passes: ``begin`` (lock held, base read) and after each
table's append (the pause after the last append is the pause before the commit).
A scheduler releases one writer for one step at a time, so each ordering of the
two writers' steps runs deterministically, with no sleeps. Every ordering runs
with the file lock in force and with it missing (the store's fallback where
``fcntl`` does not exist, as when writers bypass the lock). A writer refused or
finished early has no steps left, so some orderings run exactly the same steps as
an earlier one; such a run is checked once. The pairs: two writers sharing a
table, two with no table in common, and two work-event writers (issue #16), whose
``work_events`` version a commit records in its own column.

After each ordering: at least one writer committed; a writer either committed
or got a ``LedgerError`` saying nothing was committed; the store, read through
``LedgerStore`` and through ``polars.read_delta`` of every table at its recorded
Delta version, holds exactly the committed changes, in the order of their
commits (equal to running them one after the other); no store version holds a
row of a change that did not commit before it; and after a reopen every table's
latest version equals its recorded one (the refused writer's rows rolled back).
"""

from __future__ import annotations

import itertools
import shutil
import sys
import threading

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from posting_data import split, subset

import ledgerkit as lk
from ledgerkit.errors import LedgerError
from ledgerkit.store import ledger_store
from ledgerkit.store.ledger_store import LEDGER_TABLES, STORE_TABLES, LedgerStore

STEP_TIMEOUT_S = 60  # a stalled writer fails the test instead of hanging it
TEMPLATE_VERSIONS = 2  # the template store's versions (create, one post)


class _Stepper:
    """One writer in a thread that runs one step (up to its next pause) per call."""

    def __init__(self, store: LedgerStore, change):
        self.change = change
        self.go = threading.Semaphore(0)
        self.paused = threading.Semaphore(0)
        self.done = False
        self.outcome = None  # ("committed", value) | ("refused", message) | ("crashed", exc)
        store._test_hook = self._pause
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _pause(self, point: str) -> None:
        if point == "before_commit":  # right after the last append's pause: no step between
            return
        self.paused.release()
        if not self.go.acquire(timeout=STEP_TIMEOUT_S):
            raise RuntimeError(f"writer not resumed at {point}")

    def _run(self) -> None:
        self.go.acquire()
        try:
            self.outcome = ("committed", self.change())
        except LedgerError as exc:
            self.outcome = ("refused", str(exc))
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.outcome = ("crashed", exc)
        finally:
            self.done = True
            self.paused.release()

    def step(self) -> bool:
        """Run the next step; False when the writer had finished already."""
        if self.done:
            return False
        self.go.release()
        assert self.paused.acquire(timeout=STEP_TIMEOUT_S), "writer stalled"
        return True

    def finish(self) -> None:
        while not self.done:
            self.step()
        self.thread.join(STEP_TIMEOUT_S)


# ----------------------------------------------------------------------------- data
@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A store with one posted remit, and the changes the writers make."""
    full = lk.synth.generate(40, seed=5)
    base, r = split(full)
    path = tmp_path_factory.mktemp("interleaving") / "template"
    store = LedgerStore.create(path, base, actor="setup", note="initial load")
    store.post(subset(r, [1]), actor="setup", note="one stored remit")
    assert store.version == TEMPLATE_VERSIONS - 1
    stored_remit = store.decisions()["remit_id"][0].as_py()
    claim_encounter = r.claims["encounter_id"][0].as_py()
    entries = store.ledger().entries
    # Not charges: negating the charge of a line with payments leaves a credit, refused.
    others = entries.filter(
        pc.and_(
            pc.not_equal(entries["encounter_id"], claim_encounter),
            pc.not_equal(entries["kind"].cast(pa.string()), "charge"),
        )
    )
    negated, spare = others["entry_id"][0].as_py(), others["entry_id"][1].as_py()
    worked = others["encounter_id"][0].as_py()
    at = "2026-11-30T12:00"  # fixed, so that runs compare equal

    def work(owner):
        event = {"kind": "assign", "encounter_id": worked, "owner": owner, "at": at}
        return lambda s: s.record_work(event, actor=f"writer work_{owner}", note="mine", at=at)

    changes = {
        "post": lambda s: s.post(subset(r, [0]), actor="writer post", note="remit 0"),
        "negate": lambda s: s.negate([negated], actor="writer negate", note="a correction"),
        "archive": lambda s: s.archive(stored_remit, actor="writer archive", note="done"),
        "work_ana": work("ana"),
        "work_bo": work("bo"),
        # after the two writers: one more change commits on top
        "later": lambda s: s.negate([spare], actor="later", note="the store goes on"),
    }
    return path, changes


PAIRS = {
    # both append to entries: whichever appends second must be refused
    "shared_table": ("post", "negate"),
    # no table in common: only the commit point can tell them apart
    "disjoint_tables": ("negate", "archive"),
    # two work-event writers (issue #16): the work_events table shared
    "work_events": ("work_ana", "work_bo"),
}


def _copy(template_path, tmp_path, name) -> str:
    path = tmp_path / name
    shutil.copytree(template_path, path)
    return path


def _outside_tables(path) -> tuple[list, dict]:
    """(actors of the store versions, every table read with polars at its recorded
    Delta version): the view of an outside reader, no ledgerkit involved."""
    import polars as pl

    history = pl.read_delta(str(path / "commits")).sort("version").to_dicts()
    ids = [row["commit_id"] for row in history]
    assert [row["version"] for row in history] == list(range(len(history)))
    tables = {}
    for v, row in enumerate(history):
        if v < TEMPLATE_VERSIONS - 1:
            continue  # the template's own versions: the same in every run
        for name in STORE_TABLES:
            at = (row["work_events_version"] if name == "work_events"
                  else row["table_versions"][name])  # fmt: skip
            t = pl.read_delta(str(path / name), version=at).to_arrow()
            # no store version holds a row of a change that had not committed by then
            foreign = set(t["_commit"].to_pylist()) - set(ids[: v + 1])
            assert not foreign, f"store version {v}, table {name}: rows of {foreign}"
            if v == len(history) - 1:
                tables[name] = _comparable(t.sort_by([("_version", "ascending"),
                                                      ("_row", "ascending")]))  # fmt: skip
    return [row["actor"] for row in history], tables


def _comparable(t: pa.Table) -> pa.Table:
    """A table without what differs between identical runs (times, commit ids) and
    with plain (not dictionary-encoded) columns."""
    random = ("_commit", "event_id")  # commit and work event ids
    keep = [f.name for f in t.schema
            if f.name not in random and not pa.types.is_timestamp(f.type)]  # fmt: skip
    t = t.select(keep)
    cols = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in t.columns]
    cols = [c.cast(pa.string()) if pa.types.is_large_string(c.type)
            or pa.types.is_string_view(c.type) else c for c in cols]  # fmt: skip
    return pa.table(dict(zip(t.column_names, cols, strict=True)))


def _store_tables(store: LedgerStore) -> dict:
    """Every data table as ``LedgerStore`` reads it at its latest version."""
    v = store.version
    ledger = store.ledger()
    out = {name: getattr(ledger, name) for name in LEDGER_TABLES}
    for name in STORE_TABLES:
        if name not in LEDGER_TABLES:
            out[name] = store._table(name, v)
    return {name: _comparable(t) for name, t in out.items()}


def _without_meta(tables: dict) -> dict:
    return {name: t.drop_columns(["_version", "_row"]) for name, t in tables.items()}


def _serial(template_path, tmp_path, changes, order) -> tuple[list, dict, int]:
    """The store after running ``order`` one change after the other, and the number of
    steps (pauses + 1) of the last change."""
    path = _copy(template_path, tmp_path, "serial-" + "-".join(order or ["none"]))
    points = []
    for name in order:
        store = LedgerStore(path)
        points = []
        store._test_hook = lambda p: points.append(p) if p != "before_commit" else None
        changes[name](store)
    return (*_outside_tables(path), len(points) + 1)


def _orderings(n_first: int, n_second: int):
    """Every interleaving of two writers' steps, as a sequence of 0s and 1s."""
    total = n_first + n_second
    for seconds in itertools.combinations(range(total), n_second):
        yield tuple(1 if i in seconds else 0 for i in range(total))


# ----------------------------------------------------------------------------- the test
@pytest.mark.slow
@pytest.mark.parametrize("lock", ["lock_on", "lock_off"])
@pytest.mark.parametrize("pair", list(PAIRS))
def test_every_interleaving_of_two_writers_commits_exactly_what_it_says(
    template, tmp_path, monkeypatch, pair, lock
):
    template_path, changes = template
    names = PAIRS[pair]
    expected, steps = {}, {}
    for order in ([], [names[0]], [names[1]], list(names), list(names[::-1])):
        actors, tables, n = _serial(template_path, tmp_path, changes, order)
        expected[tuple(actors)] = tables
        if len(order) == 1:
            steps[order[0]] = n
    monkeypatch.setattr(ledger_store, "LOCK_WAIT_S", 0.0)  # the second writer is refused at once
    if lock == "lock_off":
        monkeypatch.setitem(sys.modules, "fcntl", None)  # import fcntl fails: the fallback

    outcomes, verified = set(), set()
    orderings = list(_orderings(steps[names[0]], steps[names[1]]))
    assert len(orderings) == {"shared_table": 120, "disjoint_tables": 20, "work_events": 20}[pair]
    for n, ordering in enumerate(orderings):
        label = "".join("AB"[i] for i in ordering)
        path = _copy(template_path, tmp_path, f"run-{n}")
        stores = [LedgerStore(path), LedgerStore(path)]
        writers = [
            _Stepper(s, lambda s=s, c=c: changes[c](s)) for s, c in zip(stores, names, strict=True)
        ]
        # the steps that ran (a finished writer's remaining steps are none)
        trace = tuple(i for i in ordering if writers[i].step())
        for w in writers:
            w.finish()
            assert w.done and w.outcome[0] != "crashed", (label, w.outcome)
            if w.outcome[0] == "refused":
                msg = w.outcome[1]
                assert "another writer" in msg and "nothing of this" in msg, (label, msg)
        committed = [c for w, c in zip(writers, names, strict=True)
                     if w.outcome[0] == "committed"]  # fmt: skip
        assert committed, f"{label}: neither writer committed"
        outcomes.add((label, tuple(committed)))
        if trace in verified:  # the very same run as one checked already
            shutil.rmtree(path)
            continue
        verified.add(trace)

        # the outside view: polars at the recorded versions, before anyone reopens
        actors, tables = _outside_tables(path)
        assert sorted(actors[TEMPLATE_VERSIONS:]) == sorted(f"writer {c}" for c in committed), (
            label
        )
        want = expected[tuple(actors)]
        for name in STORE_TABLES:
            assert tables[name].equals(want[name]), (label, name)
        # the store's view: each writer's own store object, and a fresh open
        fresh = LedgerStore(path)  # rolls the refused writer's rows back
        for store in [*stores, fresh]:
            seen = _store_tables(store)
            for name, t in _without_meta(want).items():
                assert seen[name].select(t.column_names).equals(t), (label, name)
        versions = fresh.table_versions()
        from deltalake import DeltaTable

        for name in STORE_TABLES:
            latest = set(DeltaTable(str(path / name)).file_uris())
            assert latest == set(DeltaTable(str(path / name), version=versions[name]).file_uris())
        # and the store goes on: one more change commits on top
        changes["later"](fresh)
        assert LedgerStore(path).version == len(actors)
        shutil.rmtree(path)

    # both outcomes happen: interleavings really interleave, and serial ones both commit
    both = {o for o in outcomes if len(o[1]) == 2}
    one = {o for o in outcomes if len(o[1]) == 1}
    assert both and one
    print(f"{pair}/{lock}: {len(orderings)} orderings ({len(verified)} distinct runs), "
          f"{len(both)} with both committed, {len(one)} with one refused")  # fmt: skip
