"""``LedgerStore``: a durable, append-only ledger on Delta Lake tables.

A store is a folder of Delta tables that Spark, DuckDB, polars and Dask read
directly::

    STORE/commits            one row per store version: who, why, what, when
    STORE/encounters         \\
    STORE/procedures          |  the ledger tables (``ledgerkit.schema``)
    STORE/payers              |
    STORE/entries            /
    STORE/remit_claims       remits seen (one row per remit id; no patient names)
    STORE/remit_lines        their service lines
    STORE/remit_adjustments  their adjustments (CAS)
    STORE/decisions          every posting decision and review action

How a commit stays atomic across tables
---------------------------------------
Every row written carries ``_commit`` (a random id), ``_version`` and
``_row``. An operation first appends its rows to the data tables (one Delta
commit each), then appends one row to ``commits`` with a Delta application
transaction ``("ledgerkit", version)``, written from the snapshot the
operation started from. Readers only see rows whose ``_commit`` is in
``commits``: a process killed before that last commit leaves unreferenced
rows that are never read, and the store opens at its last version. Two
writers that start from the same version both try to commit that version;
Delta's optimistic concurrency lets exactly one succeed and the other gets a
clear :class:`~ledgerkit.errors.LedgerError` (reopen and retry).

Entries are never updated or deleted; nothing here rewrites or vacuums a table.
The schema version is recorded in every ``commits`` row and commit's metadata;
a store written by a newer ledgerkit is refused.

Tables are read with ``pyarrow.parquet`` over ``DeltaTable.file_uris()`` (not
``to_pyarrow_table()``, which can abort the process at exit with some
pyarrow/delta-rs versions).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ledgerkit.errors import LedgerError
from ledgerkit.ledger import Ledger
from ledgerkit.posting import (
    DECISIONS_SCHEMA,
    ENGINE_ACTOR,
    PostResult,
    _as_remittances,
    _flatten,
    _plain,
    post,
)
from ledgerkit.schema import TIMESTAMP, arrow_schema

__all__ = ["LedgerStore", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1
APP_ID = "ledgerkit"
LEDGER_TABLES = ("encounters", "procedures", "payers", "entries")
REMIT_TABLES = ("remit_claims", "remit_lines", "remit_adjustments")
DATA_TABLES = LEDGER_TABLES + REMIT_TABLES + ("decisions",)
META = ("_commit", "_version", "_row")
_TEST_HOOK = "LEDGERKIT_STORE_TEST_HOOK"  # tests only: "kill:<point>" or "sleep:<point>:<s>"

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
    ]
)

_CLAIM_COLS = (
    "encounter_id", "status_code", "charge_cents", "paid_cents",
    "reported_patient_responsibility_cents", "claim_filing_indicator",
    "payer_claim_control_number", "facility_type", "frequency_code", "statement_from",
    "statement_to", "received_date", "rendering_provider_id", "patient_key", "subscriber_key",
)  # fmt: skip
_LINE_COLS = (
    "line_number", "procedure_qualifier", "procedure_code", "modifiers", "charge_cents",
    "paid_cents", "revenue_code", "units", "original_procedure_qualifier",
    "original_procedure_code", "original_modifiers", "original_units", "service_date",
    "service_start", "service_end", "line_control_number", "reported_allowed_cents",
)  # fmt: skip


def _hook(point: str) -> None:
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


def _remit_schemas():
    from ledgerkit.x12.remittances import schema

    claims = schema("claims")
    lines = schema("service_lines")
    adj = schema("adjustments")
    rc = pa.schema(
        [pa.field("remit_id", pa.string()), pa.field("payer_id", pa.string()),
         pa.field("file", pa.string()), pa.field("payment_date", pa.date32())]
        + [claims.field(c).with_nullable(True) for c in _CLAIM_COLS]
    )  # fmt: skip
    rl = pa.schema(
        [pa.field("remit_id", pa.string())]
        + [lines.field(c).with_nullable(True) for c in _LINE_COLS]
    )
    ra = pa.schema(
        [pa.field("remit_id", pa.string()), pa.field("line_number", pa.int32())]
        + [adj.field(c).with_nullable(True) for c in ("group_code", "carc", "amount_cents",
                                                     "quantity")]
    )  # fmt: skip
    return {"remit_claims": rc, "remit_lines": rl, "remit_adjustments": ra}


def _schemas() -> dict:
    out = {name: _delta_types(arrow_schema(name).empty_table()).schema for name in LEDGER_TABLES}
    out.update(_remit_schemas())
    out["decisions"] = DECISIONS_SCHEMA
    return {
        k: pa.schema(
            [f.with_nullable(True) for f in v]
            + [
                pa.field("_commit", pa.string()),
                pa.field("_version", pa.int64()),
                pa.field("_row", pa.int64()),
            ]
        )  # fmt: skip
        for k, v in out.items()
    }


class LedgerStore:
    """A ledger, its remittances and posting decisions, durable on Delta Lake.

    Open an existing store with ``LedgerStore(path)``; create one with
    :meth:`create`. Reading (:meth:`ledger`, :meth:`decisions`,
    :meth:`flagged`) never writes; every change is one atomic commit that
    records who and why (:meth:`history`).

    Raises
    ------
    LedgerError
        ``path`` is not a ledger store, or was written by a newer ledgerkit.

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
        self._cache = None
        commits = self.history()
        newest = int(pc.max(commits["schema_version"]).as_py() or 0) if commits.num_rows else 0
        if commits.num_rows == 0:
            raise LedgerError(f"{self.path}: not a ledger store (its commits table is empty)")
        if newest > SCHEMA_VERSION:
            raise LedgerError(
                f"{self.path}: written with store schema {newest}, newer than this ledgerkit "
                f"reads ({SCHEMA_VERSION}); upgrade ledgerkit"
            )

    # ------------------------------------------------------------------ create
    @classmethod
    def create(cls, path, ledger: Ledger, *, actor: str, note: str | None = None) -> LedgerStore:
        """Create a store at ``path`` (a new or empty folder) holding ``ledger``."""
        from deltalake import CommitProperties, Transaction, write_deltalake

        path = Path(path)
        if path.exists() and any(path.iterdir()):
            raise LedgerError(f"{path}: folder exists and is not empty; choose a new folder")
        path.mkdir(parents=True, exist_ok=True)
        commit_id = uuid.uuid4().hex
        schemas = _schemas()
        for name in DATA_TABLES:
            data = getattr(ledger, name) if name in LEDGER_TABLES else None
            table = _with_meta(data, schemas[name], commit_id, 0)
            write_deltalake(str(path / name), table, mode="error")
        row = _commit_row(0, commit_id, "create", actor, note, ledger.entries.num_rows, 0)
        write_deltalake(
            str(path / "commits"),
            row,
            mode="error",
            commit_properties=CommitProperties(
                app_transactions=[Transaction(APP_ID, 0)],
                custom_metadata=_commit_meta("create", actor, note),
            ),
        )
        return cls(path)

    # ------------------------------------------------------------------ read
    def _commits_table(self, version=None):
        from deltalake import DeltaTable

        dt_ = DeltaTable(str(self.path / "commits"), version=version)
        return dt_, _read_files(dt_.file_uris(), COMMITS_SCHEMA)

    def history(self) -> pa.Table:
        """Every store version with ``committed_at``, ``operation``, ``actor`` and ``note``."""
        _, t = self._commits_table()
        return t.sort_by("version")

    @property
    def version(self) -> int:
        """The latest store version (0 = created)."""
        return int(pc.max(self.history()["version"]).as_py())

    def _resolve(self, as_of) -> int:
        hist = self.history()
        if as_of is None:
            return int(pc.max(hist["version"]).as_py())
        if isinstance(as_of, (int, np.integer)):
            if not 0 <= int(as_of) <= int(pc.max(hist["version"]).as_py()):
                raise LedgerError(f"{self.path}: no store version {as_of}")
            return int(as_of)
        from ledgerkit.ledger import _utc

        ts = pa.scalar(_utc(as_of), TIMESTAMP)
        before = hist.filter(pc.less_equal(hist["committed_at"], ts))
        if before.num_rows == 0:
            raise LedgerError(f"{self.path}: the store did not exist yet at {as_of}")
        return int(pc.max(before["version"]).as_py())

    def _committed(self, version: int) -> pa.Array:
        hist = self.history()
        return hist.filter(pc.less_equal(hist["version"], version))["commit_id"].combine_chunks()

    def _table(self, name: str, version: int) -> pa.Table:
        from deltalake import DeltaTable

        committed = self._committed(version)
        files = DeltaTable(str(self.path / name)).file_uris()
        schema = _schemas()[name]
        t = _read_files(files, schema)
        t = t.filter(pc.is_in(t["_commit"], value_set=committed))
        if t.num_rows > 1:
            ver = t["_version"].to_numpy()
            row = t["_row"].to_numpy()
            key = ver * (1 << 32) + row
            if not (np.diff(key) >= 0).all():
                t = t.take(pa.array(np.argsort(key, kind="stable")))
        return t.drop_columns(list(META))

    def ledger(self, as_of=None) -> Ledger:
        """The ledger at the latest version, or ``as_of`` a version number or a time."""
        v = self._resolve(as_of)
        if self._cache is not None and self._cache[0] == v:
            return self._cache[1]
        tables = {name: self._table(name, v) for name in LEDGER_TABLES}
        ledger = Ledger.from_arrow(**tables)
        self._cache = (v, ledger)
        return ledger

    def decisions(self, as_of=None) -> pa.Table:
        """Every decision (posting and review) up to a version, in order."""
        return self._table("decisions", self._resolve(as_of)).cast(DECISIONS_SCHEMA)

    def flagged(self) -> pa.Table:
        """Remits whose latest decision is ``flagged`` (the review queue)."""
        return _latest(self.decisions()).filter(
            pc.equal(_latest(self.decisions())["decision"], "flagged")
        )

    def remittances(self, remit_ids=None, as_of=None):
        """Stored remits as :class:`~ledgerkit.x12.Remittances` (all, or the given ids)."""
        v = self._resolve(as_of)
        claims = self._table("remit_claims", v)
        lines = self._table("remit_lines", v)
        adj = self._table("remit_adjustments", v)
        if remit_ids is not None:
            ids = pa.array([remit_ids] if isinstance(remit_ids, str) else list(remit_ids))
            claims = claims.filter(pc.is_in(claims["remit_id"], value_set=ids))
            lines = lines.filter(pc.is_in(lines["remit_id"], value_set=ids))
            adj = adj.filter(pc.is_in(adj["remit_id"], value_set=ids))
        return _to_remittances(claims, lines, adj)

    # ------------------------------------------------------------------ write
    def _commit(self, base, writes: dict, operation, actor, note, n_entries, n_decisions):
        from deltalake import CommitProperties, Transaction, write_deltalake
        from deltalake.exceptions import CommitFailedError

        commits_dt, version = base
        new_version = version + 1
        commit_id = uuid.uuid4().hex
        schemas = _schemas()
        for name, data in writes.items():
            if data is None or data.num_rows == 0:
                continue
            table = _with_meta(data, schemas[name], commit_id, new_version)
            write_deltalake(str(self.path / name), table, mode="append")
            _hook(f"after_{name}")
        _hook("before_commit")
        row = _commit_row(new_version, commit_id, operation, actor, note, n_entries, n_decisions)
        try:
            write_deltalake(
                commits_dt,
                row,
                mode="append",
                commit_properties=CommitProperties(
                    app_transactions=[Transaction(APP_ID, new_version)],
                    custom_metadata=_commit_meta(operation, actor, note),
                ),
            )
        except CommitFailedError as exc:
            raise LedgerError(
                f"{self.path}: another writer committed store version {new_version} first; "
                f"nothing of this {operation} is visible. Reopen the store and retry. ({exc})"
            ) from None
        self._cache = None
        return new_version

    def _base(self):
        from deltalake import DeltaTable

        commits_dt = DeltaTable(str(self.path / "commits"))
        version = commits_dt.version()
        return (commits_dt, version)

    def _stored_remit_ids(self, version) -> pa.Array:
        return self._table("remit_claims", version)["remit_id"].combine_chunks()

    def post(
        self, remittances, *, actor: str = ENGINE_ACTOR, note: str | None = None, at=None
    ) -> PostResult:
        """Post a batch (``Remittances`` or 835 files) and commit entries, remits, decisions.

        The same files posted twice change no entry (their remits are archived).
        """
        base = self._base()
        ledger = self.ledger(base[1])
        r = _as_remittances(remittances)
        result = post(ledger, r, actor=actor, note=note, at=at)
        stored = self._stored_remit_ids(base[1])
        remits = _remit_rows(r, exclude=stored)
        decisions = _new_decisions(result.decisions, self.decisions(base[1]))
        self._commit(
            base,
            {"entries": result.entries, **remits, "decisions": decisions},
            "post", actor, note, result.entries.num_rows, decisions.num_rows,
        )  # fmt: skip
        return result

    def post_flagged(self, remit_id: str, *, actor: str, note: str, claim_level_line=None):
        """Post a stored flagged remit (see :func:`ledgerkit.review.post_flagged`)."""
        from ledgerkit.review import post_flagged

        base = self._base()
        ledger = self.ledger(base[1])
        r = self.remittances([remit_id], as_of=base[1])
        result = post_flagged(
            ledger, r, remit_id, actor=actor, note=note, claim_level_line=claim_level_line
        )
        self._commit(
            base, {"entries": result.entries, "decisions": result.decisions},
            "post_flagged", actor, note, result.entries.num_rows, result.decisions.num_rows,
        )  # fmt: skip
        return result

    def archive(self, remit_id: str, *, actor: str, note: str) -> pa.Table:
        """Archive a stored remit (a decision; no entry changes)."""
        from ledgerkit.review import archive

        base = self._base()
        r = self.remittances([remit_id], as_of=base[1])
        row = archive(r, remit_id, actor=actor, note=note)
        self._commit(base, {"decisions": row}, "archive", actor, note, 0, 1)
        return row

    def negate(self, entry_ids, *, actor: str, note: str) -> Ledger:
        """Negate entries and commit the negations."""
        from ledgerkit.review import negate

        base = self._base()
        ledger = self.ledger(base[1])
        new = negate(ledger, entry_ids, actor=actor, note=note)
        added = new.entries.slice(ledger.entries.num_rows)
        self._commit(base, {"entries": added}, "negate", actor, note, added.num_rows, 0)
        return new

    def adjust(self, encounter_id, line, amount_cents, **kwargs) -> Ledger:
        """Write off or transfer to PR (see :func:`ledgerkit.review.adjust`) and commit."""
        from ledgerkit.review import adjust

        base = self._base()
        ledger = self.ledger(base[1])
        new = adjust(ledger, encounter_id, line, amount_cents, **kwargs)
        added = new.entries.slice(ledger.entries.num_rows)
        self._commit(
            base, {"entries": added}, f"adjust:{kwargs.get('kind')}", kwargs.get("actor"),
            kwargs.get("note"), added.num_rows, 0,
        )  # fmt: skip
        return new

    def append(self, ledger: Ledger, *, actor: str, note: str | None = None) -> int:
        """Commit what ``ledger`` adds to the store's latest ledger (new encounters,
        procedures, payers, entries: e.g. new charges). Returns the new version."""
        base = self._base()
        old = self.ledger(base[1])
        writes = {}
        for name in LEDGER_TABLES:
            a, b = getattr(old, name), getattr(ledger, name)
            if b.num_rows < a.num_rows or not b.slice(0, a.num_rows).equals(a):
                raise LedgerError(
                    f"append: the {name} of the ledger given do not start with the store's "
                    f"{name}; build it from store.ledger() and append to it"
                )
            writes[name] = b.slice(a.num_rows)
        n = writes["entries"].num_rows
        return self._commit(base, writes, "append", actor, note, n, 0)

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


def _commit_row(version, commit_id, operation, actor, note, n_entries, n_decisions):
    if not actor:
        raise LedgerError("every store commit needs an actor (who)")
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
            }
        ],
        schema=COMMITS_SCHEMA,
    )


def _with_meta(data, schema: pa.Schema, commit_id: str, version: int) -> pa.Table:
    if data is None:
        return schema.empty_table()
    data = _delta_types(data)
    n = data.num_rows
    cols = []
    for f in schema:
        if f.name == "_commit":
            cols.append(pa.array(np.full(n, commit_id, dtype=object), pa.string()))
        elif f.name == "_version":
            cols.append(pa.array(np.full(n, version, np.int64)))
        elif f.name == "_row":
            cols.append(pa.array(np.arange(n, dtype=np.int64)))
        elif f.name in data.column_names:
            cols.append(data[f.name].cast(f.type))
        else:
            cols.append(pa.nulls(n, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _read_files(files, schema: pa.Schema) -> pa.Table:
    if not files:
        return schema.empty_table()
    tables = [pq.read_table(f) for f in files]
    return pa.concat_tables(tables, promote_options="permissive").cast(schema)


def _latest(decisions: pa.Table) -> pa.Table:
    """The last decision of each remit id."""
    n = decisions.num_rows
    if n == 0:
        return decisions
    codes = pc.dictionary_encode(decisions["remit_id"]).combine_chunks().indices.to_numpy()
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


def _remit_rows(r, exclude: pa.Array) -> dict:
    """remit_claims / remit_lines / remit_adjustments rows of the remits not yet stored."""
    b = _flatten(r)
    n = b.n
    ids = b.remit_id
    codes = pc.dictionary_encode(ids).indices.to_numpy(zero_copy_only=False)
    first = np.zeros(n, bool)
    if n:
        _, idx = np.unique(codes, return_index=True)
        first[idx] = True
    new = first & ~pc.is_in(ids, value_set=exclude).to_numpy(zero_copy_only=False)
    schemas = _remit_schemas()
    c = b.claims
    tx_date = pa.array(np.where(b.tx_date >= 2**31, 0, b.tx_date).astype(np.int32), pa.date32())
    claims = {
        "remit_id": ids,
        "payer_id": _plain(b.payer_id),
        "file": _plain(b.file),
        "payment_date": pc.if_else(pa.array(b.tx_date < 2**31), tx_date, None),
    }
    for col in _CLAIM_COLS:
        claims[col] = _plain(c[col])
    claims = pa.table(claims).filter(pa.array(new)).cast(schemas["remit_claims"])
    keep_line = new[np.maximum(b.line_claim, 0)] & (b.line_claim >= 0)
    li = b.lines
    lines = {"remit_id": ids.take(pa.array(np.maximum(b.line_claim, 0)))}
    for col in _LINE_COLS:
        lines[col] = _plain(li[col])
    lines = pa.table(lines).filter(pa.array(keep_line)).cast(schemas["remit_lines"])
    ad = b.adjustments
    lnum = _plain(li["line_number"]).to_numpy(zero_copy_only=False) if li.num_rows else None
    a_lnum = np.where(b.adj_line >= 0, lnum[np.maximum(b.adj_line, 0)] if li.num_rows else 0, 0)
    keep_adj = new[np.maximum(b.adj_claim, 0)] & (b.adj_claim >= 0)
    adjs = {
        "remit_id": ids.take(pa.array(np.maximum(b.adj_claim, 0))),
        "line_number": pa.array(a_lnum.astype(np.int32), mask=b.adj_line < 0),
    }
    for col in ("group_code", "carc", "amount_cents", "quantity"):
        adjs[col] = _plain(ad[col])
    adjs = pa.table(adjs).filter(pa.array(keep_adj)).cast(schemas["remit_adjustments"])
    return {"remit_claims": claims, "remit_lines": lines, "remit_adjustments": adjs}


def _to_remittances(claims: pa.Table, lines: pa.Table, adj: pa.Table):
    """Rebuild ``Remittances`` (one transaction per claim) from stored remit rows."""
    from ledgerkit.x12.read import _table
    from ledgerkit.x12.remittances import Remittances

    n = claims.num_rows
    cid = pa.array(np.arange(n, dtype=np.int32))
    ids = claims["remit_id"].combine_chunks()
    tx = _table(
        "transactions",
        {
            "transaction_id": cid,
            "file": pc.fill_null(claims["file"], "<store>").combine_chunks(),
            "st_control": pa.array([str(i + 1) for i in range(n)], pa.string()),
            "payer_id": claims["payer_id"].combine_chunks(),
            "payment_date": claims["payment_date"].combine_chunks(),
        },
    )
    ccols = {"claim_id": cid, "transaction_id": cid}
    for col in _CLAIM_COLS:
        ccols[col] = claims[col].combine_chunks()
    ccols["patient_responsibility_cents"] = pa.array(np.zeros(n, np.int64))
    ccols["allowed_cents"] = pa.array(np.zeros(n, np.int64))
    claims_t = _table("claims", ccols)
    l_claim = pc.index_in(lines["remit_id"], value_set=ids)
    lcols = {
        "line_id": pa.array(np.arange(lines.num_rows, dtype=np.int32)),
        "claim_id": l_claim.cast(pa.int32()),
    }
    for col in _LINE_COLS:
        lcols[col] = lines[col].combine_chunks()
    lines_t = _table("service_lines", lcols)
    a_claim = pc.index_in(adj["remit_id"], value_set=ids)
    # line of each adjustment: (claim, line_number) -> line_id
    lkey = pc.binary_join_element_wise(
        lines["remit_id"], pc.cast(lines["line_number"], pa.string()), "|"
    )
    akey = pc.binary_join_element_wise(
        adj["remit_id"], pc.cast(adj["line_number"], pa.string()), "|"
    )
    a_line = pc.index_in(akey, value_set=lkey.combine_chunks()) if lines.num_rows else None
    acols = {
        "claim_id": a_claim.cast(pa.int32()),
        "line_id": (a_line.cast(pa.int32()) if a_line is not None
                    else pa.nulls(adj.num_rows, pa.int32())),
    }  # fmt: skip
    for col in ("group_code", "carc", "amount_cents", "quantity"):
        acols[col] = adj[col].combine_chunks()
    adj_t = _table("adjustments", acols)
    from ledgerkit.x12.read import findings_table

    return Remittances(
        tx,
        claims_t,
        lines_t,
        adj_t,
        _table("remarks", {"claim_id": pa.array([], pa.int32())}),
        _table("provider_adjustments", {"transaction_id": pa.array([], pa.int32())}),
        findings_table("<store>", []),
    )
