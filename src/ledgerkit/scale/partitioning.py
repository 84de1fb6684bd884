"""A ledger split into Parquet partitions that never cut an encounter in two.

:func:`partition` writes::

    FOLDER/manifest.json                 what is where (written last)
    FOLDER/payers.parquet                the small payer reference table
    FOLDER/encounters/part-00000.parquet \\
    FOLDER/procedures/part-00000.parquet  |  one file per partition and table
    FOLDER/entries/part-00000.parquet    /

An encounter goes to partition ``hash(encounter_id) % n_partitions``, where
``hash`` is the 64-bit FNV-1a of the id's UTF-8 bytes mixed by splitmix64
(:func:`partition_of`; stable across processes and machines). Its procedures
and entries follow it, so every per-encounter figure (balances, classes, rule
hits, TAA reach) can be computed one partition at a time. Rows keep their
ledger order inside a partition, so partitions of a grouped ledger stay
grouped (no sort when keys are built).

Each ``<table>/`` folder is an ordinary Parquet dataset (``dask.dataframe.
read_parquet``, DuckDB, polars and Spark read it). Synthetic datasets made
partition by partition (``ledgerkit.dask.generate``) use the same layout
with ``"kind": "generated"`` in the manifest: there every partition's
encounter ids carry its own prefix instead of a hash.

The manifest also records the latest posting day and service day of the whole
ledger: rules count ages to that day, and the aging metric uses it as
"today", so every partition uses the same day as the single-machine call.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ledgerkit._kernels.hashing import partition_hash_strings_nb
from ledgerkit.core.arrow import EPOCH, US_PER_DAY, is_string_like, string_buffers
from ledgerkit.core.ledger import Ledger
from ledgerkit.core.schema import arrow_schema
from ledgerkit.errors import LedgerError

__all__ = [
    "partition",
    "partition_of",
    "open_partitioned",
    "PartitionedLedger",
    "FORMAT",
    "PARTITIONED_TABLES",
]

FORMAT = "ledgerkit.partitioned"
FORMAT_VERSION = 1
PARTITIONED_TABLES = ("encounters", "procedures", "entries")
HASH = "fnv1a64+splitmix64 of the UTF-8 encounter_id, modulo n_partitions"


def partition_of(encounter_ids, n_partitions: int) -> np.ndarray:
    """The partition (int32) of each encounter id.

    Parameters
    ----------
    encounter_ids : pyarrow string array or chunked array, or a list of str
    n_partitions : int

    Examples
    --------
    >>> partition_of(["E0000001", "E0000002", "E0000001"], 4).tolist()
    [1, 3, 1]
    """
    n_partitions = _check_n(n_partitions)
    if not isinstance(encounter_ids, pa.Array | pa.ChunkedArray):
        encounter_ids = pa.array(encounter_ids, pa.string())
    if isinstance(encounter_ids, pa.Array):
        encounter_ids = pa.chunked_array([encounter_ids])
    if not is_string_like(encounter_ids.type):  # any flavour: string_buffers reads it
        raise TypeError(f"encounter ids must be strings, got {encounter_ids.type}")
    parts = []
    for chunk in encounter_ids.chunks:
        if chunk.null_count:
            raise LedgerError("encounter_id: null ids cannot be partitioned")
        out = np.empty(len(chunk), np.uint64)
        if len(chunk):
            offsets, data = string_buffers(chunk)
            partition_hash_strings_nb(offsets, data, out)
        parts.append(out)
    hashes = np.concatenate(parts) if parts else np.empty(0, np.uint64)
    return (hashes % np.uint64(n_partitions)).astype(np.int32)


def _check_n(n_partitions) -> int:
    if isinstance(n_partitions, bool) or not isinstance(n_partitions, int | np.integer):
        raise TypeError(f"n_partitions must be an integer, got {n_partitions!r}")
    if not 1 <= n_partitions <= 100_000:
        raise ValueError(f"n_partitions must be between 1 and 100000, got {n_partitions}")
    return int(n_partitions)


def _as_ledger(source) -> Ledger:
    if isinstance(source, Ledger):
        return source
    if isinstance(source, str | Path):
        path = Path(source)
        if (path / "commits").is_dir():
            from ledgerkit.store.ledger_store import LedgerStore

            return LedgerStore(path).ledger()
        if (path / "entries.parquet").exists():
            return Ledger.from_parquet(path)
        raise LedgerError(
            f"{path}: neither a ledger folder (entries.parquet) nor a ledger store (commits/)"
        )
    if callable(getattr(source, "ledger", None)):  # a LedgerStore
        return source.ledger()
    raise TypeError(
        "partition: expected a Ledger, a LedgerStore or the path of either, "
        f"got {type(source).__name__}"
    )


def _part_file(folder: Path, table: str, p: int) -> Path:
    return folder / table / f"part-{p:05d}.parquet"


def _write(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)  # whole file or nothing


def _days(ledger: Ledger) -> dict:
    """Latest posting day and service day (days since 1970, None when empty)."""
    posted = None
    if ledger.entries.num_rows:
        posted = int(pc.max(ledger.entries["posted_at"].cast(pa.int64())).as_py()) // US_PER_DAY
    service = None
    if ledger.procedures.num_rows:
        service = int(pc.max(ledger.procedures["service_date"].cast(pa.int32())).as_py())
    return {"latest_posted_day": posted, "latest_service_day": service}


def _merge_days(stats: list[dict]) -> dict:
    out = {}
    for name in ("latest_posted_day", "latest_service_day"):
        values = [s[name] for s in stats if s.get(name) is not None]
        out[name] = max(values) if values else None
    return out


def _prepare(folder, overwrite: bool) -> Path:
    folder = Path(folder)
    if (folder / "manifest.json").exists():
        if not overwrite:
            raise FileExistsError(
                f"{folder}: a partitioned ledger is already there; pass overwrite=True "
                "or choose another folder"
            )
        (folder / "manifest.json").unlink()
    folder.mkdir(parents=True, exist_ok=True)
    for table in PARTITIONED_TABLES:
        if (folder / table).is_dir():
            for old in (folder / table).glob("part-*.parquet"):
                old.unlink()
    return folder


def write_manifest(folder: Path, kind: str, stats: list[dict], extra: dict | None = None):
    """Write ``manifest.json`` (last, so a folder without one is an unfinished write)."""
    totals = {t: int(sum(s[t] for s in stats)) for t in PARTITIONED_TABLES}
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "kind": kind,
        "n_partitions": len(stats),
        "partitioning": HASH if kind == "hash" else "one encounter-id prefix per partition",
        "tables": {t: f"{t}/part-NNNNN.parquet" for t in PARTITIONED_TABLES},
        "payers": "payers.parquet",
        "totals": totals,
        **_merge_days(stats),
        "partitions": [{t: int(s[t]) for t in PARTITIONED_TABLES} for s in stats],
        **(extra or {}),
    }
    tmp = folder / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    tmp.replace(folder / "manifest.json")
    return manifest


def partition(ledger_or_store, out_folder, n_partitions: int, *, overwrite: bool = False):
    """Write a ledger as a partitioned Parquet dataset; no encounter spans two partitions.

    Parameters
    ----------
    ledger_or_store : Ledger, LedgerStore, or a path to either
        A ``Ledger.to_parquet`` folder or a ``LedgerStore`` folder (its
        latest version is read).
    out_folder : str or Path
    n_partitions : int
        1..100000. Aim for partitions of a few million entries.
    overwrite : bool
        Replace a partitioned ledger already in ``out_folder``.

    Returns
    -------
    PartitionedLedger

    Raises
    ------
    FileExistsError
        ``out_folder`` already holds a partitioned ledger and ``overwrite`` is False.
    ValueError, TypeError
        A bad ``n_partitions``.

    Examples
    --------
    >>> import tempfile, ledgerkit as lk
    >>> from ledgerkit.partitioning import partition
    >>> ledger = lk.synth.generate(300, seed=1)
    >>> parts = partition(ledger, tempfile.mkdtemp(), 3)
    >>> parts.n_partitions, sum(p["encounters"] for p in parts.manifest["partitions"])
    (3, 300)
    >>> parts.ledger().entries.num_rows == ledger.entries.num_rows
    True
    """
    n_partitions = _check_n(n_partitions)
    ledger = _as_ledger(ledger_or_store)
    folder = _prepare(out_folder, overwrite)
    _write(ledger.payers, folder / "payers.parquet")
    counts = {}
    for name in PARTITIONED_TABLES:
        table = getattr(ledger, name)
        part = partition_of(table["encounter_id"], n_partitions)
        order = np.argsort(part, kind="stable")  # rows keep their ledger order
        bounds = np.searchsorted(part[order], np.arange(n_partitions + 1))
        counts[name] = np.diff(bounds)
        for p in range(n_partitions):
            rows = pa.array(order[bounds[p] : bounds[p + 1]])
            _write(table.take(rows), _part_file(folder, name, p))
        del part, order
    stats = [{t: int(counts[t][p]) for t in PARTITIONED_TABLES} for p in range(n_partitions)]
    stats[0].update(_days(ledger))
    write_manifest(folder, "hash", stats)
    return PartitionedLedger(folder)


def open_partitioned(folder) -> PartitionedLedger:
    """Open a folder written by :func:`partition` (or ``ledgerkit.dask.generate``)."""
    return PartitionedLedger(folder)


@dataclass
class PartitionedLedger:
    """A partitioned ledger on disk: its folder and manifest.

    Small enough to send to every Dask task; each task reads one partition
    with :meth:`read`.

    Raises
    ------
    LedgerError
        ``folder`` has no manifest (not a partitioned ledger, or a write that
        did not finish), or a manifest of another format.
    """

    folder: Path

    def __post_init__(self):
        self.folder = Path(self.folder)
        path = self.folder / "manifest.json"
        if not path.exists():
            raise LedgerError(
                f"{self.folder}: not a partitioned ledger (no manifest.json); "
                "write one with ledgerkit.partition(ledger, folder, n_partitions)"
            )
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            raise LedgerError(f"{path}: format {manifest.get('format')!r} is not {FORMAT!r}")
        if manifest.get("version", 0) > FORMAT_VERSION:
            raise LedgerError(
                f"{path}: written by a newer ledgerkit (version {manifest['version']})"
            )
        self.manifest = manifest

    @property
    def n_partitions(self) -> int:
        return int(self.manifest["n_partitions"])

    def paths(self, table: str) -> list[Path]:
        """The Parquet file of every partition of ``table``."""
        if table not in PARTITIONED_TABLES:
            raise ValueError(f"table must be one of {PARTITIONED_TABLES}, got {table!r}")
        return [_part_file(self.folder, table, p) for p in range(self.n_partitions)]

    def payers(self) -> pa.Table:
        return pq.read_table(self.folder / "payers.parquet")

    def as_of_date(self) -> dt.date | None:
        """The latest posting day of the whole ledger (the default "as of" of rules)."""
        day = self.manifest.get("latest_posted_day")
        if day is None:
            day = self.manifest.get("latest_service_day")
        return None if day is None else EPOCH + dt.timedelta(days=int(day))

    def read(self, p: int, *, policy=None, payers: pa.Table | None = None) -> Ledger:
        """Partition ``p`` as a :class:`Ledger` (its payers: the whole reference table).

        The files were written from a validated ledger, so when their schemas
        are the ledger schemas the tables are used as read (no re-validation);
        otherwise they go through ``Ledger.from_arrow``.
        """
        if not 0 <= p < self.n_partitions:
            raise IndexError(f"partition {p} out of range 0..{self.n_partitions - 1}")
        tables = {t: pq.read_table(_part_file(self.folder, t, p)) for t in PARTITIONED_TABLES}
        payers = self.payers() if payers is None else payers
        tables["payers"] = payers
        if all(tables[t].schema.equals(arrow_schema(t)) for t in tables):
            return Ledger(
                tables["encounters"], tables["procedures"], tables["entries"], payers, policy
            )
        return Ledger.from_arrow(**tables, policy=policy)

    def ledger(self, *, policy=None) -> Ledger:
        """The whole ledger in memory (small data, tests): every partition concatenated."""
        tables = {
            t: pa.concat_tables([pq.read_table(path) for path in self.paths(t)])
            for t in PARTITIONED_TABLES
        }
        return Ledger.from_arrow(**tables, payers=self.payers(), policy=policy)

    def __repr__(self) -> str:
        t = self.manifest["totals"]
        return (
            f"PartitionedLedger({str(self.folder)!r}, {self.n_partitions} partitions, "
            f"{t['encounters']} encounters, {t['procedures']} procedures, "
            f"{t['entries']} entries)"
        )


def relabel_partition(ledger: Ledger, p: int) -> Ledger:
    """A synthetic ledger made unique for partition ``p`` (ids prefixed, entry ids offset).

    Encounter ids become ``P<p>-<id>`` (patient keys and line control numbers
    too) and entry ids are offset by ``p << 40``, so partitions generated
    independently with their own seeds form one consistent ledger.
    """
    prefix = f"P{p:05d}-"
    offset = p << 40

    def prefixed(column):
        return pc.binary_join_element_wise(prefix, column, "")

    enc = ledger.encounters
    enc = enc.set_column(0, "encounter_id", prefixed(enc["encounter_id"]))
    i = enc.schema.get_field_index("patient_key")
    enc = enc.set_column(i, "patient_key", prefixed(enc["patient_key"]))
    proc = ledger.procedures
    proc = proc.set_column(0, "encounter_id", prefixed(proc["encounter_id"]))
    i = proc.schema.get_field_index("line_control_number")
    proc = proc.set_column(i, "line_control_number", prefixed(proc["line_control_number"]))
    ent = ledger.entries
    ent = ent.set_column(0, "entry_id", pc.add(ent["entry_id"], pa.scalar(offset, pa.int64())))
    i = ent.schema.get_field_index("encounter_id")
    ent = ent.set_column(i, "encounter_id", prefixed(ent["encounter_id"]))
    i = ent.schema.get_field_index("negates")
    ent = ent.set_column(i, "negates", pc.add(ent["negates"], pa.scalar(offset, pa.int64())))
    return Ledger(enc, proc, ent, ledger.payers, ledger.policy)


def write_generated_partition(folder, p: int, n_encounters: int, seed: int) -> dict:
    """Generate partition ``p`` of a synthetic ledger and write it; returns its row counts.

    Only this partition is ever in memory. Used by ``ledgerkit.dask.generate``.
    """
    from ledgerkit import synth

    folder = Path(folder)
    ledger = relabel_partition(synth.generate(int(n_encounters), seed=int(seed)), p)
    for name in PARTITIONED_TABLES:
        _write(getattr(ledger, name), _part_file(folder, name, p))
    if p == 0:
        _write(ledger.payers, folder / "payers.parquet")
    stats = {t: getattr(ledger, t).num_rows for t in PARTITIONED_TABLES}
    stats.update(_days(ledger))
    return stats
