"""LedgerStore on Delta Lake: round trip, time travel, crash safety and two writers,
with real subprocesses (each with a timeout)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
import time

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from posting_data import shift_paid, single_line_paid_claims, split, subset, via_835

import ledgerkit as lk
from ledgerkit.errors import LedgerError
from ledgerkit.store import LedgerStore

TIMEOUT = 120


@pytest.fixture(scope="module")
def case():
    full = lk.synth.generate(600, seed=31)
    base, r = split(full)
    return full, base, r


def _store(tmp_path, base):
    return LedgerStore.create(tmp_path / "store", base, actor="setup", note="initial load")


def _run(code: str, env_extra=None, timeout=TIMEOUT):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_round_trip_history_and_time_travel(tmp_path, case):
    full, base, r = case
    store = _store(tmp_path, base)
    t0 = dt.datetime.now(dt.UTC)
    time.sleep(0.05)
    result = store.post(r, actor="era bot", note="batch 1")
    assert result.counts()["flagged"][0] == 0
    again = LedgerStore(tmp_path / "store")
    assert again.version == 1
    assert lk.balances(again.ledger()).equals(lk.balances(full))
    assert lk.classify(again.ledger()).equals(lk.classify(full))
    assert again.ledger(as_of=0).entries.num_rows == base.entries.num_rows
    assert again.ledger(as_of=t0).entries.num_rows == base.entries.num_rows
    hist = again.history()
    assert hist["operation"].to_pylist() == ["create", "post"]
    assert hist["actor"].to_pylist() == ["setup", "era bot"]
    assert hist["note"].to_pylist() == ["initial load", "batch 1"]
    assert again.decisions().num_rows == r.claims.num_rows
    # the same batch again: nothing changes but the archive decisions
    second = again.post(r, actor="era bot", note="batch 1 again")
    assert second.entries.num_rows == 0
    assert again.ledger().entries.equals(again.ledger(as_of=1).entries)
    # entries read by a plain Parquet reader over the Delta file list
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    files = DeltaTable(str(tmp_path / "store" / "entries")).file_uris()
    assert sum(pq.read_metadata(f).num_rows for f in files) == again.ledger().entries.num_rows


def test_flagged_stay_stored_until_resolved(tmp_path, case):
    _, base, r = case
    store = _store(tmp_path, base)
    pos = single_line_paid_claims(r)[0]
    store.post(subset(r, [pos]))
    store.post(shift_paid(r, pos, 2000))
    flagged = store.flagged()
    assert flagged["reason_code"].to_pylist() == ["conflict"]
    rid = flagged["remit_id"][0].as_py()
    # posting it again keeps one pending flag, and the remit is stored
    store.post(shift_paid(r, pos, 2000))
    assert store.flagged().num_rows == 1
    assert store.remittances([rid]).claims.num_rows == 1
    # resolve: negate the first remit's entries, then post the flagged one
    ledger = store.ledger()
    first = ledger.entries.filter(pc.equal(ledger.entries["source"].cast(pa.string()), "remit"))
    store.negate(first["entry_id"].to_pylist(), actor="ana", note="payer corrected the amount")
    store.post_flagged(rid, actor="ana", note="correct amount")
    assert store.flagged().num_rows == 0
    last = store.decisions().slice(store.decisions().num_rows - 1)
    assert last["reason_code"].to_pylist() == ["reviewed"]
    assert last["actor"].to_pylist() == ["ana"]
    assert [h for h in store.history()["operation"].to_pylist()][-2:] == [
        "negate",
        "post_flagged",
    ]


def test_archive_resolves(tmp_path, case):
    _, base, r = case
    store = _store(tmp_path, base)
    pos = single_line_paid_claims(r)[1]
    store.post(subset(r, [pos]))
    store.post(shift_paid(r, pos, 500))
    rid = store.flagged()["remit_id"][0].as_py()
    store.archive(rid, actor="ana", note="payer sent it by mistake")
    assert store.flagged().num_rows == 0
    assert store.decisions()["reason_code"].to_pylist()[-1] == "reviewed_archive"


def test_not_a_store_and_newer_schema(tmp_path, case):
    _, base, _ = case
    (tmp_path / "empty").mkdir()
    with pytest.raises(LedgerError, match="not a ledger store"):
        LedgerStore(tmp_path / "empty")
    with pytest.raises(LedgerError, match="not a ledger store"):
        LedgerStore(tmp_path / "missing")
    store = _store(tmp_path, base)
    with pytest.raises(LedgerError, match="not empty"):
        LedgerStore.create(tmp_path / "store", base, actor="x")
    from deltalake import write_deltalake

    from ledgerkit.store import _commit_row

    row = _commit_row(1, "future", "post", "someone", None, 0, 0)
    row = row.set_column(6, "schema_version", pa.array([99], pa.int32()))
    write_deltalake(str(store.path / "commits"), row, mode="append")
    with pytest.raises(LedgerError, match="newer"):
        LedgerStore(store.path)


POST_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from posting_data import split, subset
import ledgerkit as lk
from ledgerkit.store import LedgerStore
from ledgerkit.errors import LedgerError
full = lk.synth.generate(600, seed=31)
_, r = split(full)
n = r.claims.num_rows
part = subset(r, list(range({lo}, min(n, {hi}))))
store = LedgerStore({path!r})
try:
    store.post(part, actor={actor!r}, note="concurrent")
except LedgerError as exc:
    print("LEDGER_ERROR", exc)
    sys.exit(3)
print("OK")
"""


def _script(path, actor, lo=0, hi=10**9):
    tests = os.path.dirname(__file__)
    return POST_SCRIPT.format(tests=tests, lo=lo, hi=hi, path=str(path), actor=actor)


@pytest.mark.parametrize("point", ["after_entries", "after_decisions", "before_commit"])
def test_killed_in_the_middle_of_an_append(tmp_path, case, point):
    full, base, r = case
    store = _store(tmp_path, base)
    proc = _run(_script(store.path, "killed"), {"LEDGERKIT_STORE_TEST_HOOK": f"kill:{point}"})
    assert proc.returncode == -9, proc.stderr
    reopened = LedgerStore(store.path)
    assert reopened.version == 0
    assert reopened.ledger().entries.equals(store.ledger().entries)
    assert reopened.decisions().num_rows == 0
    # the partial rows are never read: a clean post afterwards is exact
    result = reopened.post(r, actor="era bot", note="after the crash")
    assert result.counts()["flagged"][0] == 0
    assert lk.balances(LedgerStore(store.path).ledger()).equals(lk.balances(full))
    assert LedgerStore(store.path).decisions().num_rows == r.claims.num_rows


def test_two_writers_one_commit_one_clear_error(tmp_path, case):
    _, base, r = case
    store = _store(tmp_path, base)
    n = r.claims.num_rows
    hook = {"LEDGERKIT_STORE_TEST_HOOK": "sleep:before_commit:3"}
    env = dict(os.environ, **hook)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(_script(store.path, name, lo, hi))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name, lo, hi in (("writer A", 0, n // 2), ("writer B", n // 2, n))
    ]
    outs = [p.communicate(timeout=TIMEOUT) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 3], outs
    loser = [o for p, o in zip(procs, outs, strict=True) if p.returncode == 3][0][0]
    assert "another writer committed store version 1 first" in loser
    reopened = LedgerStore(store.path)
    assert reopened.version == 1
    winner = reopened.history()["actor"].to_pylist()[-1]
    assert winner in ("writer A", "writer B")
    lo, hi = (0, n // 2) if winner == "writer A" else (n // 2, n)
    expected = lk.post(base, subset(r, list(range(lo, hi)))) if hasattr(lk, "post") else None
    if expected is None:
        from ledgerkit.posting import post

        expected = post(base, subset(r, list(range(lo, hi))))
    got = reopened.ledger()
    assert got.entries.num_rows == expected.ledger.entries.num_rows
    assert lk.balances(got).equals(lk.balances(expected.ledger))
    assert reopened.decisions().num_rows == hi - lo


def test_cli_post_and_review(tmp_path, case):
    _, base, r = case
    store = _store(tmp_path, base)
    pos = single_line_paid_claims(r)[0]
    good = via_835(r, tmp_path, "all.835")
    del good
    conflict = via_835(shift_paid(r, pos, 2000), tmp_path, "conflict.835")
    del conflict
    cmd = [sys.executable, "-m", "ledgerkit.cli", "--no-progress"]
    out = subprocess.run(
        cmd + ["post", str(store.path), str(tmp_path / "all.835"), str(tmp_path / "conflict.835")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert out.returncode == 0, out.stderr
    assert "posted" in out.stdout and "flagged" in out.stdout and "$" in out.stdout
    encounter_ids = set(base.encounters["encounter_id"].to_pylist())
    assert not any(e in out.stdout for e in encounter_ids)
    rev = subprocess.run(
        cmd + ["review", str(store.path)], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert rev.returncode == 0, rev.stderr
    assert "1 flagged" in rev.stdout and "conflict" in rev.stdout
    assert not any(e in rev.stdout for e in encounter_ids)
    # an unreadable file: an error, and nothing written
    (tmp_path / "bad.835").write_bytes(b"not an 835 at all")
    version = LedgerStore(store.path).version
    bad = subprocess.run(
        cmd + ["post", str(store.path), str(tmp_path / "bad.835")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert bad.returncode == 2
    assert "error" in bad.stderr
    assert LedgerStore(store.path).version == version
