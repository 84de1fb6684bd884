"""``LedgerStore``: a durable, append-only ledger on Delta Lake tables.

A store is a folder of Delta tables that Spark, DuckDB, polars and Dask read
directly::

    STORE/commits                     one row per store version: who, why, what, when,
                                      and the Delta version of every table below
    STORE/encounters                  \\
    STORE/procedures                   |  the ledger tables (``ledgerkit.schema``)
    STORE/payers                       |
    STORE/entries                     /
    STORE/remit_claims                remits seen (one row per remit id; no patient names)
    STORE/remit_lines                 their service lines
    STORE/remit_adjustments           their adjustments (CAS)
    STORE/remit_remarks               their remark codes (LQ, MOA, MIA)
    STORE/remit_provider_adjustments  provider-level adjustments (PLB) of the payments
    STORE/decisions                   every posting decision and review action
    STORE/work_events                 what people do about denials (``record_work``):
                                      assign, status, follow-up, note, appeal, outcome

How a change stays atomic across tables
---------------------------------------
One writer at a time holds ``STORE/_writer.lock`` (an OS file lock, released
by the kernel when a process dies); a second writer gets a clear
:class:`~ledgerkit.errors.LedgerError` and writes nothing. A change appends
its rows to each data table as one Delta commit that carries the change's
commit id, and records the Delta version *that* commit produced, but only if
the version just before it holds exactly the table's files of the store
version the change started from; otherwise another writer appended in between
and the change is refused with a ``LedgerError`` ("another writer appended to
table ..."; nothing committed). It then appends one row to ``commits`` naming
the version of every table: that row is the commit point, and a store version
is exactly the table versions its row names. The row is written with a Delta
application transaction ``("ledgerkit", version)`` checked against the
snapshot the change started from, so two writers cannot both commit one
version (the later one gets a ``LedgerError``; nothing of it is visible).

So even writers the lock does not hold apart (where ``fcntl`` is missing, or a
file system whose advisory locks do not hold across machines) cannot sweep in
each other's rows: for every ordering of two writers' steps, with the lock and
without it, each writer either commits or gets a ``LedgerError`` saying nothing
was committed, at least one commits, and every store version holds exactly the
rows of the changes committed up to it, read through the store or through any
Delta reader (e.g. ``polars.read_delta``) at the versions the store records
(``tests/test_store_interleaving.py``).

A change killed or refused before its ``commits`` row leaves rows past the
recorded versions. The store never reads them (it reads each table at its
recorded version), and the next writer, or the next open, rolls those tables
back to their recorded versions with a Delta ``restore`` that removes only the
unfinished files. So outside readers of a table's latest version see committed
rows only, except while a change is in flight or until a crashed or refused
writer's store is next opened or written; for an exact snapshot they read each
table at the version :meth:`LedgerStore.table_versions` gives. Committed rows
are never updated or deleted, and nothing vacuums.

Faults
------
A change's data files are written with ``pyarrow`` and only the log entries by
deltalake, so a failure surfaces before it reaches a table's log. Any I/O
failure while a change writes or reads (no space left on device, permission
denied, a read-only file system, a table deleted underneath) is a
``LedgerError`` naming the store, the table and the cause and saying nothing of
the change was committed; the store is unchanged and the same change can be
retried (``tests/test_store_faults.py``: injected faults before each table's
data file, before and after its log entry; a real 20 MB tmpfs filled up and
remounted read-only when ``mount`` is permitted; no Rust panic text on
stderr). A fault after the ``commits`` row landed (e.g. a checkpoint on a full
disk) is not an error: the change is committed. :meth:`LedgerStore.compact`
rewrites files with deltalake's optimizer; its faults are ``LedgerError`` too,
but a full disk there is not covered by those tests.

Each change adds small files. :meth:`LedgerStore.compact` rewrites every table
into few large files (same rows, one store commit); the commits table, which
every open reads whole, is compacted on its own every
``COMMITS_FILES_BEFORE_COMPACTION`` commits.

The schema version is recorded in every ``commits`` row and commit's metadata;
a store written by a newer schema version is refused. Schema 3 added
``work_events``, whose Delta version a ``commits`` row names in its own column
``work_events_version`` (a store of schema 2 has neither: it opens as one with
no work events, and its first change adds the table and the column, so an
older ledgerkit, which would not record that version, refuses the store from
then on).

Tables are read with ``pyarrow.parquet`` over ``DeltaTable.file_uris()`` (not
``to_pyarrow_table()``, which can abort the process at exit with some
pyarrow/delta-rs versions).

The first :meth:`LedgerStore.ledger` of a version in a process with nothing cached
validates the tables and builds their integer keys, then saves the keys in
``_ledgerkit_keys/v<version>.keys`` (``ledgerkit.core.sidecar``; best effort: a
read-only store is only slower). The next fresh reader of that version uses them
(no string hashed, nothing re-validated) when they still describe the same data:
each ledger table's Delta version and data files (name and size; Delta never
rewrites a data file). Anything else is rebuilt. Only the newest version's keys
are kept; they are a cache, not part of the store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ledgerkit._gc import collections_paused
from ledgerkit.core.arrow import encode, numpy_array, utc_timestamp
from ledgerkit.core.ledger import Ledger
from ledgerkit.core.schema import TIMESTAMP, arrow_schema
from ledgerkit.core.sidecar import ledger_with_keys
from ledgerkit.core.work_events import WORK_EVENTS_SCHEMA, work_event_rows
from ledgerkit.errors import LedgerError
from ledgerkit.posting.batch import flatten
from ledgerkit.posting.engine import (
    DECISIONS_SCHEMA,
    ENGINE_ACTOR,
    PostResult,
    as_remittances,
    post_batch,
)
from ledgerkit.store.delta_io import (
    COMMIT_ID_KEY,
    append_rows,
    faults_as_errors,
    files_at,
    find_commit,
)
from ledgerkit.store.lock import WriterLock
from ledgerkit.store.remits import REMIT_TABLES, remit_rows, remit_schemas, to_remittances

__all__ = ["LedgerStore", "SCHEMA_VERSION"]

SCHEMA_VERSION = 3
OLDEST_SCHEMA_READ = 2  # schema 2 stores open as stores without work events
APP_ID = "ledgerkit"
LEDGER_TABLES = ("encounters", "procedures", "payers", "entries")
DATA_TABLES = LEDGER_TABLES + REMIT_TABLES + ("decisions",)  # versions in table_versions
WORK_TABLE = "work_events"  # its version in the commits column work_events_version
STORE_TABLES = DATA_TABLES + (WORK_TABLE,)
META = ("_commit", "_version", "_row")
KEYS_FOLDER = "_ledgerkit_keys"  # integer keys of the version read last (core.sidecar)
COMMITS_FILES_BEFORE_COMPACTION = 100
LOCK_WAIT_S = 2.0  # a writer waits this long for another to finish before giving up
# tests only: "kill:<point>", "sleep:<point>:<s>", or "wait:<point>:<folder>" (create
# <folder>/reached, then wait for <folder>/release: a pause another process ends)
_TEST_HOOK = "LEDGERKIT_STORE_TEST_HOOK"
# Points a change passes: "begin" (lock held, base read), "after_<table>" after each
# table's append, "before_commit" before the commits row.

COMMITS_SCHEMA = pa.schema(
    [
        pa.field("version", pa.int64(), False),
        pa.field("commit_id", pa.string(), False),
        pa.field("committed_at", TIMESTAMP, False),
        pa.field("operation", pa.string(), False),
        pa.field("actor", pa.string(), False),
        pa.field("note", pa.string()),
        pa.field("schema_version", pa.int32(), False),
        pa.field("n_entries", pa.int64(), False),
        pa.field("n_decisions", pa.int64(), False),
        pa.field("table_versions", pa.struct([pa.field(n, pa.int64()) for n in DATA_TABLES])),
        pa.field("work_events_version", pa.int64()),  # null: no work_events table yet (0)
    ]
)


def _hook(point: str, store: LedgerStore | None = None) -> None:
    """Tests only: kill or pause a writer at a point (env spec, or the callable a test
    sets as ``store._test_hook``, called with the point name)."""
    if store is not None and store._test_hook is not None:
        store._test_hook(point)
    spec = os.environ.get(_TEST_HOOK)
    if not spec:
        return
    parts = spec.split(":")
    if parts[1] != point:
        return
    if parts[0] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif parts[0] == "sleep":
        time.sleep(float(parts[2]))
    elif parts[0] == "wait":
        folder = Path(":".join(parts[2:]))
        (folder / "reached").touch()
        deadline = time.monotonic() + 600
        while not (folder / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.02)


def _delta_types(table: pa.Table) -> pa.Table:
    """Plain types Delta stores: dictionaries decoded, large strings narrowed."""
    cols, fields = [], []
    for f, col in zip(table.schema, table.columns, strict=True):
        t = f.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_large_string(t):
            t = pa.string()
        if pa.types.is_null(t):
            t = pa.string()
        cols.append(col.cast(t) if t != f.type else col)
        fields.append(pa.field(f.name, t, True))
    return pa.Table.from_arrays(cols, schema=pa.schema(fields))


def _schemas() -> dict:
    out = {name: _delta_types(_empty(arrow_schema(name))).schema for name in LEDGER_TABLES}
    out.update(remit_schemas())
    out["decisions"] = DECISIONS_SCHEMA
    out[WORK_TABLE] = WORK_EVENTS_SCHEMA
    meta = [pa.field("_commit", pa.string()), pa.field("_version", pa.int64()),
            pa.field("_row", pa.int64())]  # fmt: skip
    return {k: pa.schema([f.with_nullable(True) for f in v] + meta) for k, v in out.items()}


@dataclass
class _Base:
    """What a change starts from: the latest store version, read under the writer lock."""

    version: int
    commits: object  # the DeltaTable of ``commits`` at that version
    table_versions: dict


@dataclass
class _Snapshot:
    """Tables (and the ledger) of one store version, kept between operations."""

    version: int
    tables: dict = field(default_factory=dict)
    ledger: Ledger | None = None


class LedgerStore:
    """A ledger, its remittances and posting decisions, durable on Delta Lake.

    Open an existing store with ``LedgerStore(path)``; create one with
    :meth:`create`. Reading (:meth:`ledger`, :meth:`decisions`,
    :meth:`flagged`) never changes what the store holds; every change is one
    atomic commit that records who and why (:meth:`history`). Opening a store
    whose last writer was killed mid-change rolls back that writer's unfinished
    rows (see the module notes).

    Raises
    ------
    LedgerError
        ``path`` is not a ledger store, or was written by another store schema.

    Examples
    --------
    >>> import tempfile, ledgerkit as lk
    >>> from ledgerkit.store import LedgerStore
    >>> folder = tempfile.mkdtemp() + "/store"
    >>> store = LedgerStore.create(folder, lk.synth.generate(30, seed=2), actor="setup",
    ...                            note="initial load")
    >>> store.version, store.ledger().encounters.num_rows
    (0, 30)
    """

    def __init__(self, path):
        self.path = Path(path)
        if not (self.path / "commits" / "_delta_log").is_dir():
            raise LedgerError(
                f"{self.path}: not a ledger store (no commits table); create one with "
                "LedgerStore.create(path, ledger, actor=..., note=...)"
            )
        self._commits = None  # the commits DeltaTable, refreshed incrementally
        self._deltas = {}  # the data tables' DeltaTables, likewise
        self._history = None  # (its Delta version, files read, the commits table)
        self._snapshot = None
        self._files = {}  # (table, Delta version) -> its data files
        self._test_hook = None  # tests only: called with each point a change passes
        self._changing = None  # the operation under way (for the messages of faults)
        commits = self.history()
        if commits.num_rows == 0:
            raise LedgerError(f"{self.path}: not a ledger store (its commits table is empty)")
        newest = int(pc.max(commits["schema_version"]).as_py())
        if newest > SCHEMA_VERSION:
            raise LedgerError(
                f"{self.path}: written with store schema {newest}, newer than this ledgerkit "
                f"reads ({SCHEMA_VERSION}); upgrade ledgerkit"
            )
        if newest < OLDEST_SCHEMA_READ:
            raise LedgerError(
                f"{self.path}: written with store schema {newest} by an earlier ledgerkit; "
                f"this one reads schema {SCHEMA_VERSION}. Create a new store from the old "
                "one's ledger with that earlier ledgerkit's Ledger.to_parquet"
            )
        with contextlib.suppress(LedgerError, OSError):
            with WriterLock(self.path, "open", wait_s=0.0):
                self._recover()

    # ------------------------------------------------------------------ create
    @classmethod
    def create(cls, path, ledger: Ledger, *, actor: str, note: str | None = None) -> LedgerStore:
        """Create a store at ``path`` (a new or empty folder) holding ``ledger``."""
        from deltalake import CommitProperties, Transaction, write_deltalake

        _require_actor(actor)  # before anything is written
        path = Path(path)
        if path.exists() and any(path.iterdir()):
            raise LedgerError(f"{path}: folder exists and is not empty; choose a new folder")
        path.mkdir(parents=True, exist_ok=True)
        commit_id = uuid.uuid4().hex
        schemas = _schemas()
        unfinished = f"no store was created; remove the folder {path} and retry"
        for name in STORE_TABLES:
            data = getattr(ledger, name) if name in LEDGER_TABLES else None
            table = _with_meta(data, schemas[name], commit_id, 0)
            with faults_as_errors(path, name, "create", unfinished):
                write_deltalake(str(path / name), table, mode="error")
        versions = dict.fromkeys(STORE_TABLES, 0)
        row = _commit_row(
            0, commit_id, "create", actor, note, ledger.entries.num_rows, 0, versions
        )
        with faults_as_errors(path, "commits", "create", unfinished):
            write_deltalake(
                str(path / "commits"),
                row,
                mode="error",
                commit_properties=CommitProperties(
                    app_transactions=[Transaction(APP_ID, 0)],
                    custom_metadata=_commit_meta("create", actor, note),
                ),
            )
        store = cls(path)
        store._snapshot = _Snapshot(0, ledger=ledger)  # the first change need not re-read it
        return store

    # ------------------------------------------------------------------ read
    def history(self) -> pa.Table:
        """Every store version with ``committed_at``, ``operation``, ``actor``, ``note``
        and the ``table_versions`` it is made of."""
        commits = self._commits_table()  # refreshed: reads only log entries not seen
        delta_version = commits.version()
        if self._history is None or self._history[0] != delta_version:
            # One small file per commit: read only the files not read before, so a
            # store with thousands of commits does not re-read them all per change.
            files = commits.file_uris()
            seen, known = (set(), None) if self._history is None else self._history[1:]
            if known is None or not seen.issubset(files):  # first read, or rewritten
                known, seen = _empty(COMMITS_SCHEMA), set()
            new = [f for f in files if f not in seen]
            t = pa.concat_tables([known, _read_files(new, COMMITS_SCHEMA)]).sort_by("version")
            self._history = (delta_version, set(files), t)
        return self._history[2]

    @property
    def version(self) -> int:
        """The latest store version (0 = created)."""
        return int(pc.max(self.history()["version"]).as_py())

    def table_versions(self, as_of=None) -> dict:
        """The Delta version of every table at a store version (the latest by default).

        Outside readers get an exact snapshot of the store by reading each table at
        its version, e.g. ``deltalake.DeltaTable(STORE + "/entries", version=v)``,
        ``polars.read_delta(..., version=v)`` or DuckDB's ``delta_scan``.
        """
        v = self._resolve(as_of)
        hist = self.history()
        # (numpy, not pc.equal with a Python int: its scalar conversion imports pandas)
        at = int(np.flatnonzero(numpy_array(hist["version"]) == v)[0])
        row = hist.slice(at, 1).to_pylist()[0]
        versions = {name: int(row["table_versions"][name]) for name in DATA_TABLES}
        # a version written before the table existed names none: the empty version 0
        versions[WORK_TABLE] = int(row["work_events_version"] or 0)
        return versions

    def _resolve(self, as_of) -> int:
        hist = self.history()
        latest = int(pc.max(hist["version"]).as_py())
        if as_of is None:
            return latest
        if isinstance(as_of, (int, np.integer)):
            if not 0 <= int(as_of) <= latest:
                raise LedgerError(f"{self.path}: no store version {as_of}")
            return int(as_of)
        ts = pa.scalar(utc_timestamp(as_of), TIMESTAMP)
        before = hist.filter(pc.less_equal(hist["committed_at"], ts))
        if before.num_rows == 0:
            raise LedgerError(f"{self.path}: the store did not exist yet at {as_of}")
        return int(pc.max(before["version"]).as_py())

    def _table(self, name: str, version: int) -> pa.Table:
        """One table as of a store version (its rows in commit order, no META columns)."""
        from deltalake import DeltaTable

        snap = self._snapshot
        if snap is not None and snap.version == version and name in snap.tables:
            return snap.tables[name]
        at = self.table_versions(version)[name]
        if at == 0 and not _exists(self.path / name):  # a store from before the table
            return _empty(pa.schema([f for f in _read_schema(name) if f.name not in META]))
        outcome = (f"nothing of this {self._changing} was written" if self._changing
                   else "the store was not changed")  # fmt: skip
        with faults_as_errors(self.path, name, "read", outcome):
            files = DeltaTable(str(self.path / name), version=at).file_uris()
            self._files[(name, at)] = files
            t = _read_rows(files, _read_schema(name))
        if version == self.version:
            if snap is None or snap.version != version:
                snap = self._snapshot = _Snapshot(version)
            snap.tables[name] = t
        return t

    @collections_paused()  # often a fresh process's first read: see ledgerkit/_gc.py
    def ledger(self, as_of=None) -> Ledger:
        """The ledger at the latest version, or ``as_of`` a version number or a time."""
        v = self._resolve(as_of)
        snap = self._snapshot
        if snap is not None and snap.version == v and snap.ledger is not None:
            return snap.ledger
        tables = {name: self._table(name, v) for name in LEDGER_TABLES}
        # keys of this version saved by an earlier read: no string hashed, no re-validation
        keys_file = self.path / KEYS_FOLDER / f"v{v}.keys"
        ledger = ledger_with_keys(tables, keys_file, self._described(v))
        if self._snapshot is not None and self._snapshot.version == v:
            self._snapshot.ledger = ledger
        return ledger

    def _described(self, v: int) -> dict:
        """The fingerprint of the ledger tables at store version ``v``: each table's Delta
        version and its data files (name and size; Delta never rewrites a data file)."""
        from deltalake import DeltaTable

        out = {}
        for name, at in self.table_versions(v).items():
            if name not in LEDGER_TABLES:
                continue
            files = self._files.get((name, at))
            if files is None:
                files = DeltaTable(str(self.path / name), version=at).file_uris()
                self._files[(name, at)] = files
            sizes = sorted((Path(f).name, _size(f)) for f in files)
            out[name] = [at, sizes]
        return json.loads(json.dumps(out))  # as a JSON round trip gives it back

    def decisions(self, as_of=None) -> pa.Table:
        """Every decision (posting and review) up to a version, in order."""
        return self._table("decisions", self._resolve(as_of)).cast(DECISIONS_SCHEMA)

    def flagged(self) -> pa.Table:
        """Remits whose latest decision is ``flagged`` (the review queue)."""
        latest = _latest(self.decisions())
        return latest.filter(pc.equal(latest["decision"], "flagged"))

    def remittances(self, remit_ids=None, as_of=None):
        """Stored remits as :class:`~ledgerkit.x12.Remittances` (all, or the given ids),
        with their service lines, adjustments and remark codes."""
        v = self._resolve(as_of)
        tables = [self._table(n, v) for n in REMIT_TABLES[:4]]
        if remit_ids is not None:
            ids = pa.array([remit_ids] if isinstance(remit_ids, str) else list(remit_ids))
            tables = [t.filter(pc.is_in(t["remit_id"], value_set=ids)) for t in tables]
        return to_remittances(*tables)

    def provider_adjustments(self, as_of=None) -> pa.Table:
        """Provider-level adjustments (PLB) of the stored payments, one row each.

        ``amount_cents`` is positive when it lowered the payment (a recoupment),
        negative when it raised it (e.g. interest, L6)."""
        return self._table("remit_provider_adjustments", self._resolve(as_of))

    # ------------------------------------------------------------------ write
    @contextlib.contextmanager
    def _writing(self, operation: str):
        """Hold the writer lock; yield the base (latest version, after any roll-back)."""
        from deltalake import DeltaTable

        with WriterLock(self.path, operation, wait_s=LOCK_WAIT_S):
            self._upgrade(operation)
            # Its own DeltaTable: the snapshot the commit is checked against must not
            # move when reads during the change refresh self._commits.
            with faults_as_errors(self.path, "commits", "read", f"nothing of this {operation} "
                                  "was written"):  # fmt: skip
                commits = DeltaTable(str(self.path / "commits"))
            self._recover(operation)
            version = self.version
            base = _Base(version, commits, self.table_versions(version))
            _hook("begin", self)
            self._changing = operation
            try:
                yield base
            finally:
                self._changing = None

    def _upgrade(self, operation: str) -> None:
        """Bring a schema-2 store to schema 3 (lock held): add the commits column
        ``work_events_version`` and an empty ``work_events`` table (its version 0,
        what every earlier store version reads). Both steps are idempotent: a
        writer killed in between leaves a store that opens and upgrades again."""
        from deltalake import CommitProperties, DeltaTable, write_deltalake
        from deltalake.schema import Field, PrimitiveType

        outcome = f"nothing of this {operation} was written"
        with faults_as_errors(self.path, "commits", "upgrade", outcome):
            commits = DeltaTable(str(self.path / "commits"))
            if "work_events_version" not in [f.name for f in commits.schema().fields]:
                commits.alter.add_columns(
                    [Field("work_events_version", PrimitiveType("long"), nullable=True)],
                    commit_properties=CommitProperties(
                        custom_metadata=_commit_meta("upgrade", APP_ID, "work events")
                    ),
                )
        path = self.path / WORK_TABLE
        if not _exists(path):
            with faults_as_errors(self.path, WORK_TABLE, "create", outcome):
                empty = _with_meta(None, _schemas()[WORK_TABLE], "upgrade", 0)
                write_deltalake(str(path), empty, mode="error")

    def _delta(self, name: str):
        """The DeltaTable of a data table at its latest version (kept, refreshed)."""
        from deltalake import DeltaTable

        table = self._deltas.get(name)
        if table is None:
            table = self._deltas[name] = DeltaTable(str(self.path / name))
        else:
            table.update_incremental()
        return table

    def _recover(self, operation: str = "open") -> list:
        """Roll tables back to the versions the latest commit names (lock held).

        Returns the names of the tables rolled back. A roll-back only adds a Delta
        version whose files are those of the recorded one: every earlier version,
        and so every store version, still reads the same."""
        from deltalake import CommitProperties

        version = self.version
        recorded = self.table_versions(version)
        rolled = []
        for name in STORE_TABLES:
            if not _exists(self.path / name):
                continue  # work_events in a store from before it: added by the next change
            outcome = f"nothing of this {operation} was written"
            with faults_as_errors(self.path, name, "roll back", outcome):
                table = self._delta(name)
                if table.version() == recorded[name]:
                    continue
                if set(table.file_uris()) == files_at(self.path / name, recorded[name]):
                    continue  # rolled back already; no commit has touched it since
                note = f"remove the rows of a change not committed after version {version}"
                table.restore(
                    recorded[name],
                    commit_properties=CommitProperties(
                        custom_metadata=_commit_meta("recover", APP_ID, note)
                    ),
                )
            rolled.append(name)
        return rolled

    def _commit(self, base: _Base, writes: dict, operation, actor, note, n_entries,
                n_decisions, ledger: Ledger | None = None) -> int:  # fmt: skip
        """Append each table's rows, check each append sits right on the base's
        version of its table, then write the commits row (the commit point)."""
        _require_actor(actor)  # before anything is written
        new_version = base.version + 1
        commit_id = uuid.uuid4().hex
        schemas = _schemas()
        versions = dict(base.table_versions)
        written = {}
        meta = {**_commit_meta(operation, actor, note), COMMIT_ID_KEY: commit_id}
        for name, data in writes.items():
            if data is None or data.num_rows == 0:
                continue
            table = _with_meta(data, schemas[name], commit_id, new_version)
            with faults_as_errors(self.path, name, "append to", _uncommitted(operation)):
                append_rows(self.path / name, table, meta)
                versions[name] = self._own_version(name, commit_id, base, operation)
            written[name] = table.drop_columns(list(META))
            _hook(f"after_{name}", self)
        _hook("before_commit", self)
        self._write_commit_row(base, commit_id, operation, actor, note, n_entries,
                               n_decisions, versions)  # fmt: skip
        self._advance(base.version, new_version, written, ledger)
        with contextlib.suppress(Exception):  # housekeeping: retried after the next commit
            self._compact_commits()
        return new_version

    def _own_version(self, name: str, commit_id: str, base: _Base, operation: str) -> int:
        """The Delta version this change's commit to ``name`` produced, checked to sit
        right on the base's version of that table (nothing else in between).

        Refuses when another writer (one that bypassed the lock) committed to the
        table after the base was read: recording this version would make that
        writer's rows part of this change. Nothing is committed then; the rows
        appended so far lie past the recorded versions, which no reader of the
        store reads, and the next writer rolls them back."""
        recorded = base.table_versions[name]
        produced = find_commit(self.path / name, commit_id, recorded + 1)
        if produced is None:
            raise LedgerError(
                f"{self.path}: the append to table '{name}' is not in its Delta log; "
                f"{_uncommitted(operation)}"
            )
        if produced - 1 != recorded and files_at(self.path / name, produced - 1) != files_at(
            self.path / name, recorded
        ):
            raise LedgerError(
                f"{self.path}: another writer appended to table '{name}' while this "
                f"{operation} was writing (the table's Delta version {produced - 1} is not "
                f"{recorded}, the one store version {base.version} names); "
                f"{_uncommitted(operation)}"
            )
        return produced

    def _write_commit_row(self, base, commit_id, operation, actor, note, n_entries,
                          n_decisions, versions) -> None:  # fmt: skip
        """Append the commits row: the commit point. Its application transaction
        ``(ledgerkit, version)`` is checked against the base's snapshot of the
        commits table, so two writers can never both commit one version."""
        from deltalake import Transaction
        from deltalake.exceptions import CommitFailedError

        new_version = base.version + 1
        row = _commit_row(
            new_version, commit_id, operation, actor, note, n_entries, n_decisions, versions
        )
        commits = self.path / "commits"
        meta = {**_commit_meta(operation, actor, note), COMMIT_ID_KEY: commit_id}
        try:
            with faults_as_errors(self.path, "commits", "append to", _uncommitted(operation)):
                try:
                    append_rows(commits, row, meta, Transaction(APP_ID, new_version),
                                delta=base.commits)  # fmt: skip
                except CommitFailedError as exc:
                    raise LedgerError(
                        f"{self.path}: another writer committed store version {new_version} "
                        f"first; nothing of this {operation} is visible. Reopen the store "
                        f"and retry. ({exc})"
                    ) from None
        except LedgerError:
            # a fault after the log entry was written (e.g. a checkpoint on a full
            # disk) still committed the change: only say "nothing" when it is so
            if find_commit(commits, commit_id, base.commits.version() + 1) is None:
                raise

    def _compact_commits(self) -> None:
        """Rewrite the commits table's one-file-per-commit into one file, now and then
        (lock held): every open reads the whole table, and small files add up."""
        from deltalake import CommitProperties

        commits = self._commits_table()
        if len(commits.file_uris()) >= COMMITS_FILES_BEFORE_COMPACTION:
            commits.optimize.compact(
                commit_properties=CommitProperties(
                    custom_metadata=_commit_meta("compact", APP_ID, "commits table")
                )
            )

    def _commits_table(self):
        from deltalake import DeltaTable

        if self._commits is None:
            self._commits = DeltaTable(str(self.path / "commits"))
        else:
            self._commits.update_incremental()
        return self._commits

    def _advance(self, old: int, new: int, written: dict, ledger: Ledger | None) -> None:
        """Carry the cached snapshot to the version just committed (no re-read)."""
        snap = self._snapshot
        if snap is None or snap.version != old:
            self._snapshot = None
            return
        tables = {}
        for name, t in snap.tables.items():
            if name in written:
                t = pa.concat_tables([t, written[name].cast(t.schema)])
            tables[name] = t
        self._snapshot = _Snapshot(new, tables, ledger)

    def post(
        self,
        remittances,
        *,
        actor: str = ENGINE_ACTOR,
        note: str | None = None,
        at=None,
        payer_map=None,
    ) -> PostResult:
        """Post a batch (``Remittances`` or 835 files) and commit entries, remits,
        remark codes, provider-level adjustments and decisions.

        The same files posted twice change no entry (their remits are archived).
        ``payer_map`` names the ledger's payer for file payers (see
        :func:`ledgerkit.posting.post`); the stored remits carry the mapped id.
        """
        r = as_remittances(remittances, payer_map)
        with self._writing("post") as base:
            ledger = self.ledger(base.version)
            batch = flatten(r)
            result = post_batch(ledger, batch, at=at, actor=actor, note=note)
            remits = remit_rows(
                r,
                self._table("remit_claims", base.version)["remit_id"].combine_chunks(),
                self._table("remit_provider_adjustments", base.version)["plb_id"].combine_chunks(),
                batch=batch,
            )
            decisions = _new_decisions(result.decisions, self.decisions(base.version))
            self._commit(
                base, {"entries": result.entries, **remits, "decisions": decisions},
                "post", actor, note, result.entries.num_rows, decisions.num_rows,
                ledger=result.ledger,
            )  # fmt: skip
        result.provider_adjustments = remits["remit_provider_adjustments"]
        return result

    def post_flagged(
        self, remit_id: str, *, actor: str, note: str, claim_level_line=None, payer_id=None
    ):
        """Post a stored flagged remit (see :func:`ledgerkit.review.post_flagged`;
        ``payer_id`` posts it as from that ledger payer)."""
        from ledgerkit.posting.review import post_flagged

        with self._writing("post_flagged") as base:
            ledger = self.ledger(base.version)
            r = self.remittances([remit_id], as_of=base.version)
            result = post_flagged(
                ledger, r, remit_id, actor=actor, note=note,
                claim_level_line=claim_level_line, payer_id=payer_id,
            )  # fmt: skip
            self._commit(
                base, {"entries": result.entries, "decisions": result.decisions},
                "post_flagged", actor, note, result.entries.num_rows, result.decisions.num_rows,
                ledger=result.ledger,
            )  # fmt: skip
        return result

    def archive(self, remit_id: str, *, actor: str, note: str) -> pa.Table:
        """Archive a stored remit (a decision; no entry changes)."""
        from ledgerkit.posting.review import archive

        with self._writing("archive") as base:
            r = self.remittances([remit_id], as_of=base.version)
            row = archive(r, remit_id, actor=actor, note=note)
            ledger = self._cached_ledger(base.version)
            self._commit(base, {"decisions": row}, "archive", actor, note, 0, 1, ledger=ledger)
        return row

    def negate(self, entry_ids, *, actor: str, note: str) -> Ledger:
        """Negate entries and commit the negations."""
        from ledgerkit.posting.review import negate

        with self._writing("negate") as base:
            ledger = self.ledger(base.version)
            new = negate(ledger, entry_ids, actor=actor, note=note)
            added = new.entries.slice(ledger.entries.num_rows)
            self._commit(
                base, {"entries": added}, "negate", actor, note, added.num_rows, 0, ledger=new
            )
        return new

    def adjust(self, encounter_id, line, amount_cents, **kwargs) -> Ledger:
        """Write off or transfer to PR (see :func:`ledgerkit.review.adjust`) and commit."""
        from ledgerkit.posting.review import adjust

        with self._writing("adjust") as base:
            ledger = self.ledger(base.version)
            new = adjust(ledger, encounter_id, line, amount_cents, **kwargs)
            added = new.entries.slice(ledger.entries.num_rows)
            self._commit(
                base, {"entries": added}, f"adjust:{kwargs.get('kind')}", kwargs.get("actor"),
                kwargs.get("note"), added.num_rows, 0, ledger=new,
            )  # fmt: skip
        return new

    def record_work(self, events, *, actor: str, note: str, at=None) -> pa.Table:
        """Commit work events (assign, status, follow-up, note, appeal, outcome).

        Parameters
        ----------
        events : dict, list of dict, pyarrow.Table or pandas.DataFrame
            One event per row (see :mod:`ledgerkit.core.work_events`): ``kind``,
            ``encounter_id``, optionally ``line``, ``carc``, ``at`` and the fields
            of the kind. Validated against the store's latest ledger.
        actor, note : str
            Who records them and why (both required).
        at : datetime, optional
            The recording time (default now): the ``at`` of rows without one.

        Returns
        -------
        pyarrow.Table
            The rows committed (with their ``event_id`` and ``actor``).

        Raises
        ------
        LedgerError
            A bad row (naming the row and field), no actor or note, or any of
            the store's write failures; then nothing is committed.

        Examples
        --------
        >>> import tempfile, ledgerkit as lk
        >>> from ledgerkit.store import LedgerStore
        >>> store = LedgerStore.create(tempfile.mkdtemp() + "/s", lk.synth.generate(5, seed=1),
        ...                            actor="setup")
        >>> enc = store.ledger().encounters["encounter_id"][0].as_py()
        >>> rows = store.record_work({"kind": "assign", "encounter_id": enc, "owner": "ana"},
        ...                          actor="ana", note="mine")
        >>> store.work_events()["owner"].to_pylist()
        ['ana']
        """
        _require_actor(actor)
        if not note or not str(note).strip():
            raise LedgerError("record_work: a note (why) is required, as for every change")
        with self._writing("record_work") as base:
            rows = work_event_rows(events, self.ledger(base.version), actor=actor, now=at)
            ledger = self._cached_ledger(base.version)
            self._commit(base, {WORK_TABLE: rows}, "record_work", actor, note, 0, 0,
                         ledger=ledger)  # fmt: skip
        return rows

    def work_events(self, as_of=None) -> pa.Table:
        """Every work event committed up to a store version (or time), in commit order
        (fold them with :func:`ledgerkit.work_items`)."""
        return self._table(WORK_TABLE, self._resolve(as_of))

    def compact(self, *, actor: str, note: str | None = None) -> int:
        """Rewrite every table's small files (one or more per commit) into few large ones.

        A store that has taken thousands of changes has thousands of small files,
        which every fresh open reads. Compacting changes no row and no earlier
        version (time travel still works; nothing is vacuumed); it is one store
        commit, ``operation="compact"``, naming the new table versions. Returns
        the new store version.
        """
        from deltalake import CommitProperties

        _require_actor(actor)  # before anything is written
        with self._writing("compact") as base:
            versions = dict(base.table_versions)
            compact_id = uuid.uuid4().hex
            meta = {**_commit_meta("compact", actor, note), COMMIT_ID_KEY: compact_id}
            for name in STORE_TABLES:
                with faults_as_errors(self.path, name, "compact", _uncommitted("compact")):
                    table = self._delta(name)
                    if len(table.file_uris()) <= 1:
                        continue
                    done = table.optimize.compact(
                        commit_properties=CommitProperties(custom_metadata=meta)
                    )
                    if done["numFilesAdded"] or done["numFilesRemoved"]:
                        versions[name] = self._own_version(name, compact_id, base, "compact")
            base = _Base(base.version, base.commits, versions)
            ledger = self._cached_ledger(base.version)
            return self._commit(base, {}, "compact", actor, note, 0, 0, ledger=ledger)

    def append(self, ledger: Ledger, *, actor: str, note: str | None = None) -> int:
        """Commit what ``ledger`` adds to the store's latest ledger (new encounters,
        procedures, payers, entries: e.g. new charges). Returns the new version."""
        with self._writing("append") as base:
            old = self.ledger(base.version)
            writes = {}
            for name in LEDGER_TABLES:
                a, b = getattr(old, name), getattr(ledger, name)
                if b.num_rows < a.num_rows or not b.slice(0, a.num_rows).equals(a):
                    raise LedgerError(
                        f"append: the {name} of the ledger given do not start with the "
                        f"store's {name}; build it from store.ledger() and append to it"
                    )
                writes[name] = b.slice(a.num_rows)
            n = writes["entries"].num_rows
            return self._commit(base, writes, "append", actor, note, n, 0, ledger=ledger)

    def _cached_ledger(self, version: int) -> Ledger | None:
        snap = self._snapshot
        return snap.ledger if snap is not None and snap.version == version else None

    def __repr__(self) -> str:
        return f"LedgerStore({str(self.path)!r}, version {self.version})"


# ----------------------------------------------------------------------------- helpers
def _commit_meta(operation, actor, note) -> dict:
    return {
        "ledgerkit.schema_version": str(SCHEMA_VERSION),
        "ledgerkit.operation": str(operation),
        "ledgerkit.actor": str(actor),
        "ledgerkit.note": "" if note is None else str(note),
    }


def _uncommitted(operation: str) -> str:
    return (
        f"nothing of this {operation} was committed (the store is unchanged; "
        "fix the cause and retry)"
    )


def _require_actor(actor) -> None:
    if not actor:
        raise LedgerError("every store commit needs an actor (who)")


def _commit_row(version, commit_id, operation, actor, note, n_entries, n_decisions,
                table_versions) -> pa.Table:  # fmt: skip
    _require_actor(actor)
    return pa.Table.from_pylist(
        [
            {
                "version": version,
                "commit_id": commit_id,
                "committed_at": dt.datetime.now(dt.UTC),
                "operation": operation,
                "actor": actor,
                "note": note,
                "schema_version": SCHEMA_VERSION,
                "n_entries": int(n_entries),
                "n_decisions": int(n_decisions),
                "table_versions": {k: int(table_versions[k]) for k in DATA_TABLES},
                "work_events_version": int(table_versions.get(WORK_TABLE, 0)),
            }
        ],
        schema=COMMITS_SCHEMA,
    )


def _exists(table_path: Path) -> bool:
    return (table_path / "_delta_log").is_dir()


def _with_meta(data, schema: pa.Schema, commit_id: str, version: int) -> pa.Table:
    if data is None:
        return _empty(schema)
    data = _delta_types(data)
    n = data.num_rows
    cols = []
    for f in schema:
        if f.name == "_commit":
            cols.append(pa.repeat(pa.scalar(commit_id, pa.string()), n))
        elif f.name == "_version":
            cols.append(pa.array(np.full(n, version, np.int64)))
        elif f.name == "_row":
            cols.append(pa.array(np.arange(n, dtype=np.int64)))
        elif f.name in data.column_names:
            cols.append(data[f.name].cast(f.type))
        else:
            cols.append(pa.nulls(n, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _size(uri: str) -> int:
    try:
        return os.path.getsize(uri.removeprefix("file://"))
    except OSError:
        return -1


def _read_files(files, schema: pa.Schema) -> pa.Table:
    """Parquet files as one table of ``schema`` (columns it lacks are null, extra ones
    dropped: a newer store's commits still show their schema version)."""
    if not files:
        return _empty(schema)
    # ParquetFile, not pq.read_table: that goes through pyarrow.dataset, which imports pandas
    tables = [pq.ParquetFile(f).read(use_pandas_metadata=False) for f in files]
    t = pa.concat_tables(tables, promote_options="permissive")
    cols = [t[f.name] if f.name in t.column_names else pa.nulls(t.num_rows, f.type)
            for f in schema]  # fmt: skip
    return pa.Table.from_arrays(cols, names=schema.names).cast(schema)


def _read_schema(name: str) -> pa.Schema:
    """What ``_table`` returns: the stored columns, categorical ones of the ledger
    tables dictionary-encoded as in ``ledgerkit.schema`` (read straight from the
    Parquet dictionaries, no string round trip)."""
    stored = _schemas()[name]
    ledger = arrow_schema(name) if name in LEDGER_TABLES else None
    fields = []
    for f in stored:
        if f.name == "_commit":
            continue
        if ledger is not None and f.name in ledger.names:
            f = f.with_type(ledger.field(f.name).type)
        fields.append(f)
    return pa.schema(fields)


def _empty(schema: pa.Schema) -> pa.Table:
    """A table of no rows (``Schema.empty_table`` imports pandas on its first call)."""
    return pa.Table.from_batches([], schema)


def _read_rows(files, schema: pa.Schema) -> pa.Table:
    """The rows of a table's Parquet files in commit order, without META columns.

    A commit's rows lie in order within each row group (the Delta writer may put the
    row groups of a file in another order), so ordering the row groups by their first
    (``_version``, ``_row``) orders the rows without moving any; compacted files are
    sorted by that key."""
    encoded = [f.name for f in schema if pa.types.is_dictionary(f.type)]
    parts = []
    for f in files:
        stored = pq.ParquetFile(f, read_dictionary=encoded)
        for group in range(stored.num_row_groups):
            parts.append(stored.read_row_group(group, columns=schema.names))
    parts = [p for p in parts if p.num_rows]
    if not parts:
        return _empty(pa.schema([f for f in schema if f.name not in META]))
    parts.sort(key=lambda p: (p["_version"][0].as_py(), p["_row"][0].as_py()))
    t = pa.concat_tables([p.cast(schema) for p in parts])
    key = numpy_array(t["_version"]) * (1 << 32) + numpy_array(t["_row"])
    if not (np.diff(key) >= 0).all():  # compacted (or written by another tool): sort
        t = t.take(pa.array(np.argsort(key, kind="stable")))
    return t.drop_columns(["_version", "_row"])


def _latest(decisions: pa.Table) -> pa.Table:
    """The last decision of each remit id."""
    n = decisions.num_rows
    if n == 0:
        return decisions
    codes, _ = encode(decisions["remit_id"])
    rev = np.arange(n)[::-1]
    _, idx = np.unique(codes[rev], return_index=True)
    keep = np.sort(rev[idx])
    return decisions.take(pa.array(keep))


def _new_decisions(decisions: pa.Table, stored: pa.Table) -> pa.Table:
    """Decisions minus re-flags that repeat a remit's latest stored decision."""
    if stored.num_rows == 0 or decisions.num_rows == 0:
        return decisions
    last = _latest(stored)
    key_new = pc.binary_join_element_wise(
        decisions["remit_id"], decisions["decision"], decisions["reason_code"], "|"
    )
    key_old = pc.binary_join_element_wise(
        last["remit_id"], last["decision"], last["reason_code"], "|"
    )
    repeat = pc.and_(
        pc.is_in(key_new, value_set=key_old.combine_chunks()),
        pc.equal(decisions["decision"], "flagged"),
    )
    return decisions.filter(pc.invert(repeat))
