"""Reading a ledger folder's Parquet files in full trust of nothing, but only what is needed.

Without a trusted keys sidecar (``core.sidecar``), ``Ledger.from_parquet`` must build the
keys and check every rule of ``Ledger.from_arrow``. Those read a few columns
(``validate.READ_COLUMNS``); the rest (dates, notes, references, ...) is needed by no
check once its type and its nulls are known, and both are in the Parquet footer: a
column stored as its ledger type, with statistics that count no null where none is
allowed, is read on first use (:class:`PartTable`). Any other column is read and
conformed now, so a bad file is refused when it is opened, never half-way through a
later call.

The encounter ids of procedures and entries are read dictionary-coded (Parquet keeps a
dictionary per row group): the keys then look up each row group's distinct ids, in
order, instead of hashing every row's string (``arrow.codes_in``).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ledgerkit.core.schema import TABLES
from ledgerkit.core.validate import READ_COLUMNS, conform
from ledgerkit.errors import LedgerError

__all__ = ["PartTable", "read_parts"]

CODED_IDS = {"procedures": "encounter_id", "entries": "encounter_id"}


def table_path(folder: Path, name: str) -> Path:
    return folder / f"{name}.parquet"


class PartTable:
    """A ledger table whose checked columns are read; the others are read on first use."""

    def __init__(self, folder: Path, name: str, read: pa.Table):
        self.folder, self.name, self.read, self.num_rows = folder, name, read, read.num_rows

    def column(self, column: str) -> pa.ChunkedArray:
        """One column: the one read already (conformed), or read alone now."""
        if column in self.read.column_names:
            return conform(self.read.select([column]), self.name, [column])[column]
        path = table_path(self.folder, self.name)
        try:
            table = _open(path, self.name).read(
                columns=[column], use_threads=True, use_pandas_metadata=False
            )
        except (OSError, pa.ArrowException) as exc:
            raise LedgerError(f"{path}: cannot be read any more ({exc})") from None
        if table.num_rows != self.num_rows:
            raise LedgerError(f"{path}: changed since the ledger was opened")
        return conform(table, self.name, [column])[column]

    def load(self) -> pa.Table:
        path = table_path(self.folder, self.name)
        try:
            stored = _open(path, self.name)
            rest = [c.name for c in TABLES[self.name]
                    if c.name in stored.schema_arrow.names
                    and c.name not in self.read.column_names]  # fmt: skip
            more = stored.read(columns=rest, use_threads=True, use_pandas_metadata=False)
        except (OSError, pa.ArrowException) as exc:
            raise LedgerError(f"{path}: cannot be read any more ({exc})") from None
        if more.num_rows != self.num_rows:
            raise LedgerError(f"{path}: changed since the ledger was opened")
        table = self.read
        for name in more.column_names:
            table = table.append_column(more.schema.field(name), more[name])
        return conform(table, self.name)


def read_parts(folder: Path) -> dict[str, tuple[pa.Table, PartTable]]:
    """For each ledger table: the columns the checks and keys read (conformed, but for
    the dictionary-coded encounter ids), and the :class:`PartTable` of the whole."""
    out = {}
    for name in TABLES:
        read = _read_checked(folder, name)
        out[name] = (read, PartTable(folder, name, read))
    return out


def _read_checked(folder: Path, name: str) -> pa.Table:
    path = table_path(folder, name)
    try:
        stored = pq.ParquetFile(path, memory_map=True).schema_arrow
        coded = CODED_IDS.get(name)
        if coded not in stored.names or stored.field(coded).type not in (
            pa.string(),
            pa.large_string(),
        ):
            coded = None  # stored as something else: read and conformed (or refused) now
        parquet = _open(path, name, coded)
        now = _columns_now(parquet, name)
        table = parquet.read(
            columns=[c for c in stored.names if c in now], use_threads=True,
            use_pandas_metadata=False,
        )  # fmt: skip
    except (pa.ArrowInvalid, OSError) as exc:
        # a CSV renamed .parquet, a truncated copy: say which file, not Arrow's words
        raise LedgerError(
            f"{path}: not a Parquet file (is it a CSV or another format renamed "
            f".parquet, or a copy cut short?); Arrow said: {str(exc).splitlines()[0]}"
        ) from None
    checked = conform(table, name, columns=now - {coded})
    if coded:
        ids = table[coded]
        if ids.null_count:
            row = next(i for i, v in enumerate(ids.is_null().to_pylist()) if v)
            raise LedgerError(f"{name} row {row}, column {coded!r}: null in a required column")
        checked = checked.append_column(pa.field(coded, ids.type, False), ids)
    return checked


def _open(path: Path, name: str, coded: str | None = None) -> pq.ParquetFile:
    """``path`` opened to read dictionary-coded (a dictionary per row group, no string
    hashed per row) the string columns the ledger keeps as dictionaries (an independent
    writer stores them as plain strings), and ``coded``."""
    stored = pq.ParquetFile(path, memory_map=True).schema_arrow
    wanted = {c.name: c.type for c in TABLES[name]}
    coded_reads = [
        f.name
        for f in stored
        if f.name in wanted
        and pa.types.is_dictionary(wanted[f.name])
        and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
    ]
    if coded:
        coded_reads.append(coded)
    return pq.ParquetFile(path, memory_map=True, read_dictionary=coded_reads or None)


def _same_when_read(stored: pa.DataType, wanted: pa.DataType) -> bool:
    """True when a column read as ``stored`` conforms to ``wanted`` without a chance of
    refusal: the same type, or a string dictionary whose indices already are
    ``wanted``'s (``validate.conform`` then casts only the small dictionaries)."""
    if stored == wanted:
        return True
    return (
        pa.types.is_dictionary(stored)
        and pa.types.is_dictionary(wanted)
        and stored.index_type == wanted.index_type
        and (pa.types.is_string(stored.value_type) or pa.types.is_large_string(stored.value_type))
        and pa.types.is_string(wanted.value_type)
    )


def _columns_now(parquet: pq.ParquetFile, name: str) -> set:
    """The columns to read (and check) now: those the checks read, those not stored as
    their ledger type, required ones whose footer may hold nulls, required ones missing
    (which ``conform`` refuses)."""
    stored = parquet.schema_arrow
    leaf = {parquet.metadata.schema.column(i).path: i for i in range(len(parquet.schema))}
    now = set(READ_COLUMNS[name])
    for col in TABLES[name]:
        if col.name not in stored.names:
            if not col.nullable:
                now.add(col.name)
        elif not _same_when_read(stored.field(col.name).type, col.type):
            now.add(col.name)
        elif not col.nullable and _footer_nulls(parquet.metadata, leaf.get(col.name)) != 0:
            now.add(col.name)
    return now


def _footer_nulls(meta, index) -> int | None:
    """Nulls of leaf column ``index`` by the footer's statistics (None: not known)."""
    if index is None:
        return None
    total = 0
    for g in range(meta.num_row_groups):
        stats = meta.row_group(g).column(index).statistics
        if stats is None or not stats.has_null_count:
            return None
        total += stats.null_count
    return total
