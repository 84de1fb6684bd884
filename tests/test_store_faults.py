"""Faults under a LedgerStore become LedgerErrors, and nothing is half-committed
(issue #14): a full disk, permission denied, a read-only file system, a table
deleted underneath.

Each variant runs in a subprocess so that its whole stderr (fd 2, where a Rust
panic in deltalake's writer threads would land) is captured and checked.

* ``injected-*`` (always runs): a wrapper around the store's two write calls,
  ``pyarrow.parquet.write_table`` (data files) and
  ``DeltaTable.create_write_transaction`` (log entries), raises ENOSPC or EACCES
  for one table at a time, before the data file, before the log entry, or just
  after the log entry landed (as a failing checkpoint would).
* ``deleted-table`` (always runs): a table folder is removed while a change writes.
* ``tmpfs-*`` (runs as root where ``mount`` is permitted, else skipped and said so):
  a real 20 MB tmpfs filled to a few kilobytes, and the same file system
  remounted read-only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

TIMEOUT = 300
PANIC_TEXT = ("panicked", "tokio-rt-worker", "RUST_BACKTRACE")

SCRIPT = r"""
import errno, json, os, shutil, subprocess, sys
from pathlib import Path

sys.path.insert(0, {tests!r})
import deltalake
import pyarrow.parquet as pq
from posting_data import split, subset

import ledgerkit as lk
from ledgerkit.errors import LedgerError
from ledgerkit.store.ledger_store import DATA_TABLES, LedgerStore

variant, folder = sys.argv[1], Path(sys.argv[2])
full = lk.synth.generate(300, seed=7)
base, r = split(full)
batches = [subset(r, list(range(i, min(i + 10, r.claims.num_rows))))
           for i in range(0, r.claims.num_rows, 10)]
reference = {{}}


def expected_balances(n_batches):
    # the store after n batches posted one after the other on a healthy disk
    if n_batches not in reference:
        path = Path(sys.argv[3]) / f"reference-{{n_batches}}"
        store = LedgerStore.create(path, base, actor="setup")
        for b in batches[:n_batches]:
            store.post(b, actor="era bot")
        reference[n_batches] = lk.balances(store.ledger())
    return reference[n_batches]


def consistent(path, n_batches):
    # reopened: the committed batches exactly, and every table's latest Delta version
    # holds exactly its recorded files (unfinished rows rolled back)
    store = LedgerStore(path)
    versions = store.table_versions()
    rolled_back = all(
        set(deltalake.DeltaTable(str(path / n)).file_uris())
        == set(deltalake.DeltaTable(str(path / n), version=versions[n]).file_uris())
        for n in DATA_TABLES
    )
    return {{
        "version": store.version,
        "exact": lk.balances(store.ledger()).equals(expected_balances(n_batches)),
        "rolled_back": rolled_back,
        "decisions": store.decisions().num_rows,
    }}


def attempt(change):
    try:
        change()
        return "committed", ""
    except LedgerError as exc:
        return "refused", str(exc)
    except BaseException as exc:
        return "raw", f"{{type(exc).__name__}}: {{exc}}"


results = []
real_write_table = pq.write_table
real_transaction = deltalake.DeltaTable.create_write_transaction
fault = {{}}


def table_of(path):
    return str(path).rstrip("/").rsplit("/", 1)[-1]


def write_table(data, where, *args, **kwargs):
    if fault.get("point") == "data" and table_of(Path(str(where)).parent) == fault["table"]:
        Path(str(where)).write_bytes(b"PAR1 partial")  # a real ENOSPC leaves a stub
        raise fault["error"]
    return real_write_table(data, where, *args, **kwargs)


def create_write_transaction(self, *args, **kwargs):
    hit = table_of(self.table_uri) == fault.get("table")
    if hit and fault.get("point") == "log":
        raise fault["error"]
    out = real_transaction(self, *args, **kwargs)
    if hit and fault.get("point") == "after_log":
        raise fault["error"]
    return out


if variant.startswith("injected"):
    pq.write_table = write_table
    deltalake.DeltaTable.create_write_transaction = create_write_transaction
    kind = variant.split("-", 1)[1]
    error = (OSError(errno.ENOSPC, "No space left on device") if kind == "enospc"
             else PermissionError(errno.EACCES, "Permission denied"))
    tables = ["entries", "remit_claims", "remit_lines", "remit_adjustments", "decisions",
              "commits"]
    for table in tables:
        for point in ("data", "log", "after_log"):
            path = folder / f"{{table}}-{{point}}"
            store = LedgerStore.create(path, base, actor="setup")
            store.post(batches[0], actor="era bot")
            fault.update(table=table, point=point, error=error)
            outcome, message = attempt(lambda: store.post(batches[1], actor="era bot"))
            fault.clear()
            landed = 2 if outcome == "committed" else 1
            after = consistent(path, landed)
            retry = attempt(lambda: LedgerStore(path).post(batches[landed], actor="era bot"))
            results.append({{
                "table": table, "point": point, "outcome": outcome, "message": message,
                "after": after, "retry": retry[0], "after_retry": consistent(path, landed + 1),
                "stubs": sorted(p.name for p in (path / table).glob("*.parquet")
                                if p.read_bytes() == b"PAR1 partial"),
            }})

elif variant == "deleted-table":
    for table, point in (("remit_lines", "after_entries"), ("entries", "begin")):
        path = folder / table
        store = LedgerStore.create(path, base, actor="setup")
        store.post(batches[0], actor="era bot")
        writer = LedgerStore(path)
        if point == "begin":  # deleted before the change starts
            shutil.rmtree(path / table)
        else:
            writer._test_hook = lambda p, t=table: (shutil.rmtree(path / t)
                                                    if p == point else None)
        outcome, message = attempt(lambda: writer.post(batches[1], actor="era bot"))
        reopened = attempt(lambda: LedgerStore(path))
        store = LedgerStore(path)
        read_ledger = attempt(lambda: store.ledger())
        read_remits = attempt(lambda: store.remittances())
        results.append({{
            "table": table, "outcome": outcome, "message": message, "reopened": reopened[0],
            "version": store.version, "read_ledger": read_ledger,
            "read_remits": read_remits,
            "exact": read_ledger[0] == "committed"
                     and lk.balances(store.ledger()).equals(expected_balances(1)),
        }})

elif variant == "tmpfs-full":
    pad = folder / "pad"
    for trial, leave in enumerate((3_000, 20_000, 60_000, 150_000, 400_000)):
        path = folder / f"store{{trial}}"
        store = LedgerStore.create(path, base, actor="setup")
        st = os.statvfs(folder)
        with open(pad, "wb") as f:
            f.write(b"x" * max(st.f_bavail * st.f_frsize - leave, 0))
        posted, outcome, message = 0, "committed", ""
        while outcome == "committed" and posted < len(batches):
            outcome, message = attempt(lambda: store.post(batches[posted], actor="era bot"))
            posted += outcome == "committed"
        pad.unlink()
        after = consistent(path, posted)
        retry = attempt(lambda: LedgerStore(path).post(batches[posted], actor="era bot"))
        results.append({{
            "leave": leave, "posted": posted, "outcome": outcome, "message": message,
            "after": after, "retry": retry[0], "after_retry": consistent(path, posted + 1),
        }})
        shutil.rmtree(path)

elif variant == "tmpfs-readonly":
    path = folder / "store"
    store = LedgerStore.create(path, base, actor="setup")
    store.post(batches[0], actor="era bot")
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    try:
        outcome, message = attempt(lambda: LedgerStore(path).post(batches[1], actor="era bot"))
        after = consistent(path, 1)
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=True)
    results.append({{"outcome": outcome, "message": message, "after": after}})

print("RESULTS " + json.dumps(results))
"""


def _run(variant: str, folder, scratch) -> list:
    code = SCRIPT.format(tests=os.path.dirname(__file__))
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), variant, str(folder), str(scratch)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for text in PANIC_TEXT:
        assert text not in proc.stderr, proc.stderr[-3000:]  # the whole of fd 2
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULTS ")][-1]
    print(f"fault variant {variant} ran")
    return json.loads(line[len("RESULTS ") :])


def _nothing_committed(message: str, table: str | None) -> None:
    assert "nothing of this post was" in message, message
    if table is not None:
        assert f"table '{table}'" in message, message
    assert "panicked" not in message and "\x1b[" not in message, message


@pytest.mark.parametrize("variant", ["injected-enospc", "injected-eacces"])
def test_injected_write_faults_become_ledger_errors(tmp_path, variant):
    reason = {"injected-enospc": "no space left on device",
              "injected-eacces": "permission denied"}[variant]  # fmt: skip
    results = _run(variant, tmp_path / "stores", tmp_path)
    assert len(results) == 18
    for res in results:
        where = (res["table"], res["point"])
        if res["table"] == "commits" and res["point"] == "after_log":
            # the commit point landed before the fault: the change is committed
            assert res["outcome"] == "committed", where
            assert res["after"] == {"version": 2, "exact": True, "rolled_back": True,
                                    "decisions": res["after"]["decisions"]}, where  # fmt: skip
        else:
            assert res["outcome"] == "refused", (where, res["message"])
            _nothing_committed(res["message"], res["table"])
            assert reason in res["message"], (where, res["message"])
            assert res["after"]["version"] == 1, where
            assert res["after"]["exact"] and res["after"]["rolled_back"], where
        assert res["stubs"] == [], where  # a failed data file is removed
        assert res["retry"] == "committed", where
        assert res["after_retry"]["exact"] and res["after_retry"]["rolled_back"], where


def test_a_table_deleted_underneath_is_a_ledger_error(tmp_path):
    results = _run("deleted-table", tmp_path / "stores", tmp_path)
    lines, entries = results
    # deleted while the change wrote: refused naming the table, nothing committed
    assert lines["outcome"] == "refused"
    _nothing_committed(lines["message"], "remit_lines")
    assert "missing" in lines["message"]
    assert lines["reopened"] == "committed" and lines["version"] == 1
    assert lines["read_ledger"][0] == "committed" and lines["exact"]  # the ledger is intact
    assert lines["read_remits"][0] == "refused"
    assert "could not read table 'remit_lines'" in lines["read_remits"][1]
    # deleted before the change: refused before anything is written
    assert entries["outcome"] == "refused"
    _nothing_committed(entries["message"], "entries")
    assert entries["read_ledger"][0] == "refused"
    assert "could not read table 'entries'" in entries["read_ledger"][1]


@pytest.fixture
def tmpfs(tmp_path):
    """A 20 MB tmpfs, or a skip saying mount is not permitted here."""
    folder = tmp_path / "tmpfs"
    folder.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"tmpfs variant not run: mount not permitted ({proc.stderr.strip()}); "
                    "the injected-* variants cover the same faults")  # fmt: skip
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_tmpfs_full_disk_is_a_ledger_error_and_nothing_half_committed(tmpfs, tmp_path):
    results = _run("tmpfs-full", tmpfs, tmp_path)
    assert len(results) == 5
    for res in results:
        assert res["outcome"] == "refused", res
        _nothing_committed(res["message"], None)
        assert "table '" in res["message"] and "no space left on device" in res["message"]
        assert res["after"]["version"] == res["posted"], res
        assert res["after"]["exact"] and res["after"]["rolled_back"], res
        assert res["retry"] == "committed" and res["after_retry"]["exact"], res


def test_tmpfs_read_only_is_a_ledger_error(tmpfs, tmp_path):
    (res,) = _run("tmpfs-readonly", tmpfs, tmp_path)
    assert res["outcome"] == "refused", res
    _nothing_committed(res["message"], None)
    assert "Read-only file system" in res["message"], res["message"]
    assert res["after"]["version"] == 1 and res["after"]["exact"], res
