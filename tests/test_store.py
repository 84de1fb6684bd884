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
from ledgerkit.store.ledger_store import LedgerStore

TIMEOUT = 120


@pytest.fixture(scope="module")
def case():
    full = lk.synth.generate(600, seed=31, credits=False)
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

    from ledgerkit.store.ledger_store import _commit_row

    row = _commit_row(1, "future", "post", "someone", None, 0, 0, store.table_versions())
    row = row.set_column(6, "schema_version", pa.array([99], pa.int32()))
    write_deltalake(str(store.path / "commits"), row, mode="append")
    with pytest.raises(LedgerError, match="newer"):
        LedgerStore(store.path)


POST_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from posting_data import split, subset
import ledgerkit as lk
from ledgerkit.store.ledger_store import LedgerStore
from ledgerkit.errors import LedgerError
full = lk.synth.generate(600, seed=31, credits=False)
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
    assert _same(reopened.ledger().entries, store.ledger().entries)
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
    # Writer A pauses before its commit, holding the lock, until writer B has given
    # up: deterministic however slowly either process starts on a busy machine.
    pause = tmp_path / "pause"
    pause.mkdir()
    hooks = ({"LEDGERKIT_STORE_TEST_HOOK": f"wait:before_commit:{pause}"}, {})

    def start(name, lo, hi, hook):
        return subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(_script(store.path, name, lo, hi))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ, **hook),
        )

    writer_a = start("writer A", 0, n // 2, hooks[0])
    deadline = time.monotonic() + TIMEOUT
    while not (pause / "reached").exists():
        assert writer_a.poll() is None, writer_a.communicate()
        assert time.monotonic() < deadline, "writer A never reached its commit"
        time.sleep(0.05)
    writer_b = start("writer B", n // 2, n, hooks[1])
    out_b = writer_b.communicate(timeout=TIMEOUT)
    (pause / "release").touch()
    out_a = writer_a.communicate(timeout=TIMEOUT)
    procs, outs = [writer_a, writer_b], [out_a, out_b]
    codes = [p.returncode for p in procs]
    assert codes == [0, 3], outs
    loser = out_b[0]
    assert "another writer (pid " in loser and "nothing of this post was written" in loser
    reopened = LedgerStore(store.path)
    assert reopened.version == 1
    assert reopened.history()["actor"].to_pylist()[-1] == "writer A"
    lo, hi = 0, n // 2
    expected = lk.post(base, subset(r, list(range(lo, hi))))
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


def _with_remarks_and_plb(r):
    """``r`` plus remark codes (claim and line level) and two PLB of its first payment."""
    from posting_data import copy

    lines = r.service_lines
    first_line = lines.slice(0, 1)
    remarks = pa.table(
        {
            "claim_id": pa.array([0, 1, first_line["claim_id"][0].as_py()], pa.int32()),
            "line_id": pa.array([None, None, first_line["line_id"][0].as_py()], pa.int32()),
            "source": ["MOA", "MOA", "LQ"],
            "qualifier": [None, None, "HE"],
            "code": ["MA01", "MA18", "N130"],
        }
    ).cast(r.remarks.schema)
    tx = r.transactions
    tx_id = tx["transaction_id"][0].as_py()
    plb = pa.table(
        {
            "transaction_id": pa.array([tx_id, tx_id], pa.int32()),
            "provider_id": ["1234567893", "1234567893"],
            "fiscal_period_date": pa.array([dt.date(2026, 12, 31)] * 2, pa.date32()),
            "reason_code": ["L6", "WO"],
            "reference": [None, "OVERPAY-77"],
            "amount_cents": pa.array([-250, 1_000], pa.int64()),
        }
    ).cast(r.provider_adjustments.schema)
    paid = tx["payment_cents"].to_pylist()
    paid[0] -= 750  # BPR02 = sum CLP04 - sum PLB
    i = tx.schema.get_field_index("payment_cents")
    tx = tx.set_column(i, tx.schema.field(i), pa.array(paid, pa.int64()))
    return copy(r, transactions=tx, remarks=remarks, provider_adjustments=plb)


def test_remark_codes_and_provider_adjustments_are_stored_once(tmp_path, case):
    from posting_data import via_835

    _, base, r = case
    remits = via_835(_with_remarks_and_plb(r), tmp_path)
    assert remits.findings.num_rows == 0
    store = _store(tmp_path, base)
    result = store.post(remits, actor="era bot", note="with PLB")
    assert result.provider_adjustments.num_rows == 2
    plb = store.provider_adjustments()
    assert sorted(zip(plb["reason_code"].to_pylist(), plb["amount_cents"].to_pylist(),
                      strict=True)) == [("L6", -250), ("WO", 1_000)]  # fmt: skip
    assert set(plb["trace_number"].to_pylist()) == {remits.transactions["trace_number"][0].as_py()}
    # remark codes come back with their remit, at claim and line level
    dec = result.decisions
    ids = dec.filter(pc.is_in(dec["claim_id"], pa.array([0, 1], pa.int32())))["remit_id"]
    got = store.remittances(ids.to_pylist()).remarks
    assert sorted(got["code"].to_pylist()) == ["MA01", "MA18", "N130"]
    at_line = got.filter(pc.equal(got["source"], "LQ"))
    assert at_line["code"].to_pylist() == ["N130"] and at_line["line_id"].null_count == 0
    assert got["line_id"].null_count == 2
    # the same file again stores no second copy of anything
    again = LedgerStore(store.path)
    second = again.post(remits, actor="era bot", note="same file again")
    assert second.provider_adjustments.num_rows == 0
    assert again.provider_adjustments().num_rows == 2
    assert again.remittances().remarks.num_rows == 3
    assert again.remittances().claims.num_rows == r.claims.num_rows


def _same(a: pa.Table, b: pa.Table) -> bool:
    decode = lambda t: pa.table(  # noqa: E731
        {n: t[n].cast(t.schema.field(n).type.value_type)
         if pa.types.is_dictionary(t.schema.field(n).type) else t[n] for n in t.column_names}
    )  # fmt: skip
    return decode(a).equals(decode(b))


def test_cached_state_equals_a_fresh_read_after_every_operation(tmp_path, case):
    _, base, r = case
    store = _store(tmp_path, base)
    pos = single_line_paid_claims(r)
    store.ledger(), store.decisions(), store.remittances()  # fill the cache
    store.post(subset(r, [pos[0], pos[1]]), actor="era bot", note="first")
    store.post(shift_paid(r, pos[0], 700), actor="era bot", note="conflict")
    rid = store.flagged()["remit_id"][0].as_py()
    entries = store.ledger().entries
    enc = r.claims["encounter_id"][pos[0]].as_py()
    remit = entries.filter(
        pc.and_(
            pc.equal(entries["source"].cast(pa.string()), "remit"),
            pc.equal(entries["encounter_id"].cast(pa.string()), enc),
        )
    )
    store.negate(remit["entry_id"].to_pylist(), actor="ana", note="wrong amount")
    store.post_flagged(rid, actor="ana", note="corrected")
    owed = lk.balances(store.ledger(), level="procedure")
    owed = owed.filter(pc.greater(owed["payer_balance"], 100)).slice(0, 1).to_pylist()[0]
    store.adjust(owed["encounter_id"], owed["line"], 100, kind="transfer_to_pr",
                 group_code="PR", carc="204", payer_seq=owed["last_payer_seq"], actor="ana",
                 note="not covered")  # fmt: skip
    fresh = LedgerStore(store.path)
    assert fresh.version == store.version == 5
    for name in ("encounters", "procedures", "payers", "entries"):
        assert _same(getattr(store.ledger(), name), getattr(fresh.ledger(), name)), name
    assert store.decisions().equals(fresh.decisions())
    assert store.remittances().claims.equals(fresh.remittances().claims)
    assert lk.classify(store.ledger()).equals(lk.classify(fresh.ledger()))


def test_a_crashed_writer_is_rolled_back_for_outside_readers(tmp_path, case):
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    full, base, r = case
    store = _store(tmp_path, base)
    store.post(subset(r, [0, 1]), actor="era bot", note="before the crash")
    committed = store.table_versions()
    proc = _run(_script(store.path, "killed"), {"LEDGERKIT_STORE_TEST_HOOK": "kill:before_commit"})
    assert proc.returncode == -9, proc.stderr

    def direct_rows(name, version=None):
        files = DeltaTable(str(store.path / name), version=version).file_uris()
        return sum(pq.read_metadata(f).num_rows for f in files)

    # before anyone reopens, the unfinished rows sit past the recorded versions
    assert direct_rows("entries") > direct_rows("entries", committed["entries"])
    reopened = LedgerStore(store.path)  # opening rolls them back
    assert reopened.version == 1 and reopened.table_versions() == committed
    for name in ("entries", "decisions", "remit_claims"):
        assert direct_rows(name) == direct_rows(name, committed[name]), name
        history = DeltaTable(str(store.path / name)).history(1)[0]
        assert history["operation"] == "RESTORE"
        assert history["ledgerkit.operation"] == "recover"
    # a second open finds nothing to roll back and writes nothing
    delta_version = DeltaTable(str(store.path / "entries")).version()
    LedgerStore(store.path)
    assert DeltaTable(str(store.path / "entries")).version() == delta_version
    # and the store goes on exactly
    reopened.post(r, actor="era bot", note="after the crash")
    assert lk.balances(LedgerStore(store.path).ledger()).equals(lk.balances(full))
    assert direct_rows("entries") == LedgerStore(store.path).ledger().entries.num_rows


def test_writers_that_bypass_the_lock_still_cannot_share_a_version(tmp_path, case):
    from ledgerkit.store.ledger_store import _Base

    _, base, r = case
    store = _store(tmp_path, base)
    with store._writing("post") as stale:
        stale = _Base(stale.version, stale.commits, stale.table_versions)
    store.post(subset(r, [0]), actor="writer A", note="first")
    with pytest.raises(LedgerError, match="another writer committed store version 1 first"):
        store._commit(stale, {}, "post", "writer B", "late", 0, 0)
    assert LedgerStore(store.path).version == 1


def test_a_store_of_an_older_schema_is_refused(tmp_path, case):
    from deltalake import write_deltalake

    _, base, _ = case
    store = _store(tmp_path, base)
    old = store.history().set_column(6, "schema_version", pa.array([1], pa.int32()))
    write_deltalake(str(store.path / "commits"), old, mode="overwrite")
    with pytest.raises(LedgerError, match="store schema 1 by an earlier ledgerkit"):
        LedgerStore(store.path)


def test_writer_lock_names_its_holder_and_is_released(tmp_path):
    from ledgerkit.store.lock import WriterLock

    with WriterLock(tmp_path, "post", wait_s=0.0):
        t = time.perf_counter()
        with pytest.raises(LedgerError, match=rf"pid {os.getpid()}, post, since .*nothing of "
                                              "this negate was written"):  # fmt: skip
            with WriterLock(tmp_path, "negate", wait_s=0.3):
                pass
        assert time.perf_counter() - t >= 0.3  # it waited before giving up
    with WriterLock(tmp_path, "negate", wait_s=0.0):  # released on exit
        pass


def test_no_actor_writes_nothing(tmp_path, case):
    _, base, r = case
    with pytest.raises(LedgerError, match="needs an actor"):
        LedgerStore.create(tmp_path / "store", base, actor="")
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").iterdir())
    store = _store(tmp_path, base)
    before = store.table_versions()
    with pytest.raises(LedgerError, match="needs an actor"):
        store.post(subset(r, [0]), actor="")
    assert LedgerStore(store.path).table_versions() == before
    from deltalake import DeltaTable

    assert DeltaTable(str(store.path / "entries")).version() == before["entries"]


def test_compact_keeps_every_row_and_version(tmp_path, case, monkeypatch):
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    import ledgerkit.store.ledger_store as store_module

    _, base, r = case
    monkeypatch.setattr(store_module, "COMMITS_FILES_BEFORE_COMPACTION", 4)
    store = _store(tmp_path, base)
    n = r.claims.num_rows
    for lo in range(0, n, n // 5 + 1):  # several posts: several files per table
        store.post(subset(r, list(range(lo, min(n, lo + n // 5 + 1)))), actor="era bot")
    opened = LedgerStore(store.path)
    version = opened.version
    before = {"ledger": opened.ledger(), "decisions": opened.decisions(),
              "history": opened.history(), "ledger_1": opened.ledger(as_of=1)}  # fmt: skip
    assert len(DeltaTable(str(store.path / "commits")).file_uris()) < 4  # compacted on its own
    assert len(DeltaTable(str(store.path / "entries")).file_uris()) > 1
    store.compact(actor="ops", note="weekly")
    after = LedgerStore(store.path)
    assert after.version == version + 1 and after.history()["operation"][-1].as_py() == "compact"
    for name in ("entries", "decisions", "remit_claims", "remit_lines"):
        assert len(DeltaTable(str(store.path / name)).file_uris()) == 1, name
    for name in ("encounters", "procedures", "payers", "entries"):
        assert _same(getattr(after.ledger(), name), getattr(before["ledger"], name)), name
    assert after.decisions().equals(before["decisions"])
    assert after.history().slice(0, version + 1).equals(before["history"])
    assert _same(after.ledger(as_of=1).entries, before["ledger_1"].entries)  # time travel
    assert lk.balances(after.ledger()).equals(lk.balances(before["ledger"]))
    # nothing to roll back afterwards, and posting goes on
    delta_version = DeltaTable(str(store.path / "entries")).version()
    LedgerStore(store.path).post(r, actor="era bot", note="again: all archived")
    assert DeltaTable(str(store.path / "entries")).version() == delta_version
    files = DeltaTable(str(store.path / "entries")).file_uris()
    assert sum(pq.read_metadata(f).num_rows for f in files) == after.ledger().entries.num_rows
