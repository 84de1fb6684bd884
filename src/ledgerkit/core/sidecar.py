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

from ledgerkit._kernels.loading import prepare_runtime
from ledgerkit.core.background import Background
from ledgerkit.core.keys import LedgerKeys
from ledgerkit.core.schema import TABLES
from ledgerkit.core.validate import conform
from ledgerkit.errors import LedgerError

__all__ = [
    "SIDECAR",
    "LazyTable",
    "fingerprint",
    "ledger_with_keys",
    "load_keys",
    "read_keys",
    "read_table",
    "save_keys",
    "write_keys",
]

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
         "core/ledger.py", "core/sidecar.py", "core/arrow.py", "_kernels/keys.py",
         "_kernels/codes.py", "_kernels/validate.py")  # fmt: skip


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

    def column(self, column: str) -> pa.ChunkedArray:
        """One column, read alone (and conformed) without the rest of the table."""
        return self.load([column])[column]

    def load(self, columns=None) -> pa.Table:
        try:
            table = read_table(self.folder, self.name, columns)
        except (OSError, pa.ArrowException) as exc:
            raise LedgerError(
                f"{table_path(self.folder, self.name)}: cannot be read any more ({exc})"
            ) from None
        if table.num_rows != self.num_rows:
            raise LedgerError(
                f"{table_path(self.folder, self.name)}: changed since the ledger was opened"
            )
        return conform(table, self.name, columns)


def write_keys(folder: Path, keys: LedgerKeys, reasons: tuple, policy=None) -> Path:
    """Write the sidecar of the four tables just written in ``folder`` (with the packed
    codes under ``policy``, when given: a reader under a policy that buckets this
    ledger's reason codes alike computes none)."""
    return save_keys(folder / SIDECAR, keys, reasons, fingerprint(folder), policy)


def read_keys(folder: Path) -> tuple[LedgerKeys, dict] | None:
    """The keys stored beside the tables of ``folder`` and the row count of each of the
    four tables, or None when there is no sidecar or it does not describe these very
    files."""
    path = folder / SIDECAR
    if not path.exists():
        return None
    # the CRC (zlib lets go of the GIL) runs while this thread reads the footers and maps
    # and checks the keys
    described = Background(fingerprint, folder)
    try:
        footers = {name: pq.ParquetFile(table_path(folder, name)).metadata for name in TABLES}
    except (pa.ArrowInvalid, OSError):
        return None  # the full read names the damaged file
    prepare_runtime()  # what the first kernel needs, while the CRC runs (GIL-free)
    keys = load_keys(path, described.result)
    if keys is None:
        return None
    rows = row_counts(keys)
    if any(footers[name].num_rows != n for name, n in rows.items()):
        return None
    rows["payers"] = footers["payers"].num_rows
    return keys, rows


def row_counts(keys: LedgerKeys) -> dict:
    """Rows of encounters, procedures and entries that ``keys`` describe."""
    return {
        "encounters": keys.n_encounters,
        "procedures": keys.n_procedures,
        "entries": len(keys.entry_proc),
    }


def save_keys(path: Path, keys: LedgerKeys, reasons: tuple, described: dict, policy=None) -> Path:
    """Write ``keys`` and the reason codes to ``path`` (whole or nothing), with
    ``described``: the fingerprint of the data they describe, compared on reading,
    and the packed codes under ``policy`` (with :meth:`LedgerKeys.policy_digest`).

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
    digest = None
    if policy is not None:
        arrays["packed_codes"] = keys.packed_codes(None, policy)
        digest = keys.policy_digest(policy)
    arrays = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    where, offset = {}, 0
    for name, a in arrays.items():
        where[name] = [a.dtype.str, len(a), offset]
        offset += _aligned(a.nbytes)
    meta = {
        "format": FORMAT,
        "code": code_version(),
        "fingerprint": described,
        "n_encounters": keys.n_encounters,
        "group_values": list(g_values),
        "carc_values": list(c_values),
        "packed_policy": digest,
        "arrays": where,
    }
    header = json.dumps(meta).encode()
    start = _aligned(len(MAGIC) + 8 + len(header))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(MAGIC + len(header).to_bytes(8, "little") + header)
        for name, a in arrays.items():
            f.seek(start + where[name][2])
            f.write(a.tobytes())
        f.truncate(start + offset)
    tmp.replace(path)
    return path


def _aligned(n: int) -> int:
    return -(-n // 64) * 64


def load_keys(path: Path, described) -> LedgerKeys | None:
    """The keys stored at ``path`` when they were written by this code for the data
    whose fingerprint ``described()`` returns now; None otherwise (missing, damaged,
    stale, foreign or another version): build them from the data instead."""
    try:
        meta, arrays = _load(path)
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        return None  # damaged: as if there were none
    if meta is None:
        return None
    try:
        keys = LedgerKeys(
            n_encounters=int(meta["n_encounters"]),
            **{name: arrays[name] for name in _ARRAYS},
            **{name: arrays.get(name) for name in _OPTIONAL},
        )
        keys.set_reason_codes(
            arrays["group_codes"], meta["group_values"], arrays["carc_codes"], meta["carc_values"]
        )
        packed = arrays.get("packed_codes")
        if meta.get("packed_policy") and packed is not None and len(packed) == len(keys.amounts):
            keys.set_packed_codes(meta["packed_policy"], packed)
        if not _consistent(keys):
            return None
    except (KeyError, TypeError, ValueError):
        return None
    # (compared last: ``described`` may still be computing, see read_keys)
    if meta.get("fingerprint") != described():
        return None  # stale (the data changed since) or foreign (another folder's)
    return keys


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


def _consistent(keys: LedgerKeys) -> bool:
    """The stored arrays fit together (one cheap pass over the offsets)."""
    rows = row_counts(keys)
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


def ledger_with_keys(tables: dict, path: Path, described: dict, policy=None):
    """A ledger of ``tables`` (read from a store version) whose keys come from ``path``
    when that file describes this very data (``described``: the fingerprint of what the
    tables were read from), else built, validated and saved there for the next process.

    Saving is best effort: a read-only store is read as before, only slower.
    """
    from ledgerkit.core.ledger import Ledger

    keys = load_keys(path, lambda: described) if path.exists() else None
    if keys is not None and all(
        tables[name].num_rows == n for name, n in row_counts(keys).items()
    ):
        return Ledger(**{name: conform(t, name) for name, t in tables.items()},
                      policy=policy, _keys=keys)  # fmt: skip
    ledger = Ledger.from_arrow(**tables, policy=policy)
    try:
        path.parent.mkdir(exist_ok=True)
        for old in path.parent.glob("*.keys"):  # keys of earlier versions: not read again
            if old != path:
                old.unlink(missing_ok=True)
        save_keys(path, ledger.keys, ledger.reason_codes(), described)
    except OSError:
        pass
    return ledger
