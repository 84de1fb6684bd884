"""Parquet ledger folders: the four tables, plus a keys sidecar so reading back hashes no strings.

``Ledger.to_parquet`` writes ``<table>.parquet`` for each ledger table and then
:data:`SIDECAR`: the integer keys of :class:`~ledgerkit.core.keys.LedgerKeys` (dense
positions, grouped order, per-entry kind/payer/live codes, grouped amounts) and the
dense group-code/CARC codes, with a fingerprint of the four files they describe (size
and CRC-32 of every byte) and of the code that built and validated them.

``Ledger.from_parquet`` trusts the sidecar only when every fingerprint matches: the
files are then byte for byte the tables of a ledger that was valid in memory when
written, and the keys are the ones ``build_keys`` computed from them. Anything else (no
sidecar, a table rewritten since, a sidecar copied from another folder, another
version of the key or validation code, a damaged file) is not an error: the folder is
read and validated in full, as if there were no sidecar. With a trusted sidecar the
tables are read on first use, so ``classify`` reads only the encounter ids and none of
the 17 entry columns.
"""

from __future__ import annotations

import functools
import hashlib
import json
import mmap
import os
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ledgerkit.core.keys import LedgerKeys
from ledgerkit.core.schema import TABLES
from ledgerkit.core.validate import conform
from ledgerkit.errors import LedgerError

__all__ = ["SIDECAR", "LazyTable", "read_table", "read_keys", "write_keys", "fingerprint"]

SIDECAR = "ledgerkit.keys"
MAGIC = b"LEDGERKIT-KEYS\n"
FORMAT = 1  # layout of the sidecar itself

# Arrays of LedgerKeys stored as they are; entry_order and proc_order only when the
# tables are not already grouped (None means "identity").
_ARRAYS = (
    "enc_proc_start",
    "proc_line",
    "entry_proc",
    "proc_entry_start",
    "entry_seq",
    "entry_kind",
    "entry_live",
    "amounts",
    "enc_n_payers",
)
_OPTIONAL = ("proc_order", "entry_order")
# Whatever builds keys or decides validity: a change to any of them retires every sidecar.
_CODE = ("core/keys.py", "core/validate.py", "core/limits.py", "core/schema.py",
         "core/ledger.py", "core/sidecar.py", "_kernels/keys.py", "_kernels/codes.py")  # fmt: skip


@functools.cache
def code_version() -> str:
    """A hash of the code that computes keys and validates ledgers (and of :data:`FORMAT`)."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(str(FORMAT).encode())
    for name in _CODE:
        digest.update((package / name).read_bytes())
    return digest.hexdigest()[:16]


def table_path(folder: Path, name: str) -> Path:
    return folder / f"{name}.parquet"


def fingerprint(folder: Path) -> dict:
    """``{table: [bytes, crc32]}`` of the four Parquet files (about 1 GB/s)."""
    out = {}
    for name in TABLES:
        path = table_path(folder, name)
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                out[name] = [0, 0]
                continue
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
                out[name] = [size, zlib.crc32(view)]
    return out


def read_table(folder: Path, name: str, columns=None) -> pa.Table:
    """One ledger table from its Parquet file: memory-mapped, threaded, no pandas metadata.

    (``pq.read_table`` goes through ``pyarrow.dataset`` and pandas' metadata handling,
    whose imports alone cost more than reading a 1M-procedure ledger's encounters.)
    """
    path = table_path(folder, name)
    table = pq.ParquetFile(path, memory_map=True).read(
        columns=columns, use_threads=True, use_pandas_metadata=False
    )
    return table


class LazyTable:
    """A ledger table read (and conformed) on first use; ``num_rows`` from the footer."""

    def __init__(self, folder: Path, name: str, num_rows: int):
        self.folder, self.name, self.num_rows = folder, name, num_rows

    def load(self) -> pa.Table:
        try:
            table = read_table(self.folder, self.name)
        except (OSError, pa.ArrowException) as exc:
            raise LedgerError(
                f"{table_path(self.folder, self.name)}: cannot be read any more ({exc})"
            ) from None
        if table.num_rows != self.num_rows:
            raise LedgerError(
                f"{table_path(self.folder, self.name)}: changed since the ledger was opened"
            )
        return conform(table, self.name)


def write_keys(folder: Path, keys: LedgerKeys, reasons: tuple) -> Path:
    """Write the sidecar of the four tables just written in ``folder`` (whole or nothing).

    Layout: :data:`MAGIC`, the header's length (8 bytes, little-endian), a JSON header
    (meta data and where each array lies), then the arrays, each at a 64-byte boundary,
    so that reading maps the file instead of copying it.
    """
    g_codes, g_values, c_codes, c_values = reasons
    arrays = {name: getattr(keys, name) for name in _ARRAYS}
    for name in _OPTIONAL:
        if getattr(keys, name) is not None:
            arrays[name] = getattr(keys, name)
    arrays["group_codes"], arrays["carc_codes"] = g_codes, c_codes
    arrays = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    where, offset = {}, 0
    for name, a in arrays.items():
        where[name] = [a.dtype.str, len(a), offset]
        offset += _aligned(a.nbytes)
    meta = {
        "format": FORMAT,
        "code": code_version(),
        "fingerprint": fingerprint(folder),
        "n_encounters": keys.n_encounters,
        "group_values": list(g_values),
        "carc_values": list(c_values),
        "arrays": where,
    }
    header = json.dumps(meta).encode()
    start = _aligned(len(MAGIC) + 8 + len(header))
    tmp = folder / f".{SIDECAR}.tmp"
    with open(tmp, "wb") as f:
        f.write(MAGIC + len(header).to_bytes(8, "little") + header)
        for name, a in arrays.items():
            f.seek(start + where[name][2])
            f.write(a.tobytes())
        f.truncate(start + offset)
    tmp.replace(folder / SIDECAR)
    return folder / SIDECAR


def _aligned(n: int) -> int:
    return -(-n // 64) * 64


def read_keys(folder: Path) -> tuple[LedgerKeys, dict] | None:
    """The keys stored beside the tables of ``folder`` and each table's row count, or
    None when there is no sidecar or it does not describe these very files."""
    path = folder / SIDECAR
    if not path.exists():
        return None
    try:
        meta, arrays = _load(path)
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        return None  # damaged: read the folder as if there were none
    if meta is None or meta.get("fingerprint") != fingerprint(folder):
        return None  # stale (a table rewritten) or foreign (another folder's)
    try:
        keys = LedgerKeys(
            n_encounters=int(meta["n_encounters"]),
            **{name: arrays[name] for name in _ARRAYS},
            **{name: arrays.get(name) for name in _OPTIONAL},
        )
        keys.set_reason_codes(
            arrays["group_codes"], meta["group_values"], arrays["carc_codes"], meta["carc_values"]
        )
    except (KeyError, TypeError, ValueError):
        return None
    rows = {
        "encounters": keys.n_encounters,
        "procedures": keys.n_procedures,
        "entries": len(keys.entry_proc),
    }
    return (keys, rows) if _consistent(keys, folder, rows) else None


def _load(path: Path) -> tuple[dict | None, dict]:
    """The header and the arrays of a sidecar (None: another format or code version).

    The arrays are copy-on-write views of the mapped file: pages are read when a
    kernel touches them, and never written back.
    """
    with open(path, "rb") as f:
        head = f.read(len(MAGIC) + 8)
        if head[: len(MAGIC)] != MAGIC:
            return None, {}
        size = int.from_bytes(head[len(MAGIC) :], "little")
        if size > os.fstat(f.fileno()).st_size:
            return None, {}
        header = json.loads(f.read(size))
    if header.get("format") != FORMAT or header.get("code") != code_version():
        return None, {}
    start = _aligned(len(MAGIC) + 8 + size)
    mapped = np.asarray(np.memmap(path, np.uint8, mode="c"))
    arrays = {}
    for name, (dtype, length, offset) in header["arrays"].items():
        dtype = np.dtype(dtype)
        begin = start + offset
        end = begin + length * dtype.itemsize
        if end > len(mapped):
            raise ValueError("sidecar truncated")
        arrays[name] = mapped[begin:end].view(dtype)
    return header, arrays


def _consistent(keys: LedgerKeys, folder: Path, rows: dict) -> bool:
    """The stored arrays fit together and fit the files' row counts (one cheap pass)."""
    for name, n in rows.items():
        if pq.ParquetFile(table_path(folder, name)).metadata.num_rows != n:
            return False
    n_enc, n_proc, n_entries = rows["encounters"], rows["procedures"], rows["entries"]
    lengths = {
        "enc_proc_start": n_enc + 1,
        "enc_n_payers": n_enc,
        "proc_entry_start": n_proc + 1,
        "entry_seq": n_entries,
        "entry_kind": n_entries,
        "entry_live": n_entries,
        "amounts": n_entries,
    }
    if any(len(getattr(keys, name)) != n for name, n in lengths.items()):
        return False
    for order, n in ((keys.proc_order, n_proc), (keys.entry_order, n_entries)):
        if order is not None and len(order) != n:
            return False
    g_codes, _, c_codes, _ = keys.reason_codes(None)
    if len(g_codes) != n_entries or len(c_codes) != n_entries:
        return False
    for starts, end in ((keys.enc_proc_start, n_proc), (keys.proc_entry_start, n_entries)):
        if starts[0] != 0 or starts[-1] != end or (np.diff(starts) < 0).any():
            return False
    return True
