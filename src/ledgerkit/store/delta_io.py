"""The store's Delta Lake writes: data files written with pyarrow, each commit found
again by the id it carries, and every I/O fault turned into a ``LedgerError``.

The data files of an append are written here with ``pyarrow.parquet`` and only
the log entry is left to deltalake (``create_write_transaction``): a full disk
then fails with an ordinary ``OSError`` before anything reaches the log, and no
Rust writer thread is left to panic on the way out.
"""

from __future__ import annotations

import contextlib
import errno
import json
import re
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ledgerkit.errors import LedgerError

COMMIT_ID_KEY = "ledgerkit.commit_id"  # in the commitInfo of every Delta commit a change makes
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def append_rows(table_path: Path, data: pa.Table, metadata: dict, app_transaction=None,
                delta=None) -> None:  # fmt: skip
    """Append ``data`` to the Delta table at ``table_path`` as one new Parquet file and
    one Delta commit carrying ``metadata`` (and the application transaction, if any),
    checked for conflicts against ``delta`` (a ``DeltaTable`` snapshot; the latest
    version by default).

    A fault leaves no file behind; a crash may leave an unreferenced file, which no
    reader of the Delta log ever opens.
    """
    from deltalake import CommitProperties, DeltaTable
    from deltalake.transaction import AddAction

    delta = DeltaTable(str(table_path)) if delta is None else delta
    before = delta.version()
    name = f"part-00000-{uuid.uuid4()}-c000.snappy.parquet"
    file = table_path / name
    try:
        pq.write_table(data, file, compression="snappy")
        action = AddAction(
            name,
            file.stat().st_size,
            {},
            int(time.time() * 1000),
            True,
            json.dumps({"numRecords": data.num_rows}),
        )
        delta.create_write_transaction(
            [action],
            "append",
            delta.schema(),
            commit_properties=CommitProperties(
                custom_metadata=metadata,
                app_transactions=None if app_transaction is None else [app_transaction],
            ),
        )
    except BaseException:
        if not _committed(table_path, metadata.get(COMMIT_ID_KEY), before + 1):
            with contextlib.suppress(OSError):
                file.unlink()
        raise


def _committed(table_path: Path, commit_id, start: int) -> bool:
    """Whether the commit landed after all (a fault after its log entry was written)."""
    if commit_id is None:
        return False
    with contextlib.suppress(OSError, ValueError):
        return find_commit(table_path, commit_id, start) is not None
    return False


def find_commit(table_path: Path, commit_id: str, start: int) -> int | None:
    """The Delta version whose commitInfo carries ``commit_id``, searching from
    ``start`` up to the newest log entry; None when there is none."""
    log = table_path / "_delta_log"
    version = max(int(start), 0)
    while True:
        entry = log / f"{version:020d}.json"
        try:
            text = entry.read_text()
        except FileNotFoundError:
            return None
        if commit_id in text:
            for line in text.splitlines():
                info = json.loads(line).get("commitInfo")
                if info is not None and info.get(COMMIT_ID_KEY) == commit_id:
                    return version
        version += 1


def files_at(table_path: Path, version: int) -> set:
    """The data files that make up a Delta table at one version."""
    from deltalake import DeltaTable

    return set(DeltaTable(str(table_path), version=version).file_uris())


def fault_reason(exc: BaseException) -> str:
    """A short, data-free description of an I/O failure."""
    text = _ANSI.sub("", str(exc))
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC or "No space left on device" in text or "os error 28" in text:
        return "no space left on device"
    if code == errno.EROFS or re.search(r"[Rr]ead-only file system|os error 30", text):
        return "read-only file system"
    if code in (errno.EACCES, errno.EPERM) or re.search(
        r"[Pp]ermission denied|os error 13|os error 1\b", text
    ):
        return "permission denied"
    if (
        isinstance(exc, FileNotFoundError)
        or type(exc).__name__ == "TableNotFoundError"
        or re.search(r"[Nn]o such file|not a [Dd]elta table|os error 2\b|[Nn]ot found", text)
    ):
        return "the table or one of its files is missing (deleted underneath the store?)"
    first = text.strip().splitlines()[0].strip() if text.strip() else ""
    return f"{type(exc).__name__}: {first[:200]}" if first else type(exc).__name__


@contextlib.contextmanager
def faults_as_errors(store_path: Path, table: str, doing: str, outcome: str):
    """Turn any failure of the Delta/Parquet I/O inside into a ``LedgerError`` that
    names the store, the table, what was being done and what that means
    (``outcome``, e.g. "nothing of this post was committed")."""
    try:
        yield
    except LedgerError:
        raise
    except Exception as exc:
        raise LedgerError(
            f"{store_path}: could not {doing} table '{table}' ({fault_reason(exc)}); {outcome}"
        ) from exc
