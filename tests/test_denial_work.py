"""Working denials from the dashboard (issue #16): the worklist's "due within" filter,
the work panel's actions written to the store (or refused without one), the
appeal summary on a hand-built claim, and the payer's overturning remit."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import ledgerkit as lk
from ledgerkit.core.catalog import CarcCatalog
from ledgerkit.errors import LedgerError
from ledgerkit.store import LedgerStore
from ledgerkit.synth.appeals import overturn_remit
from ledgerkit.widgets.work_actions import NO_STORE, record_action, work_event

pytest.importorskip("ipywidgets")


def _at(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, tzinfo=dt.UTC)


# ----------------------------------------------------------------------------- a store
@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Charges and every remit of 300 synthetic encounters, posted through the store."""
    from ledgerkit.widgets import sample_store

    ledger = lk.synth.generate(300, seed=5, credits=False)
    path = tmp_path_factory.mktemp("work") / "store"
    return sample_store(path, ledger, conflicts=0, unmatched=0, unbalanced=0)


def _denial_rows(store, n):
    wl = lk.worklist(store.ledger())
    return wl.filter(pc.equal(wl["class"], "DENIAL")).slice(0, n).to_pylist()


# ----------------------------------------------------------------------------- worklist
def test_my_items_due_within_days(tmp_path, store):
    s = LedgerStore.create(tmp_path / "s", store.ledger(), actor="setup", note="copy")
    a, b, c = _denial_rows(s, 3)
    events = [
        {"kind": "assign", "encounter_id": a["encounter_id"], "owner": "ana"},
        {"kind": "follow_up", "encounter_id": a["encounter_id"], "follow_up": "2026-01-07"},
        {"kind": "assign", "encounter_id": b["encounter_id"], "owner": "ana"},
        {"kind": "follow_up", "encounter_id": b["encounter_id"], "follow_up": "2026-01-09"},
        {"kind": "assign", "encounter_id": c["encounter_id"], "owner": "bo"},
        {"kind": "follow_up", "encounter_id": c["encounter_id"], "follow_up": "2025-12-30"},
    ]
    s.record_work(events, actor="ana", note="triage", at=_at(1))
    today = dt.date(2026, 1, 1)
    mine = lk.worklist(s, today, owner="ana", due_within_days=7)  # due by 2026-01-08
    assert mine["encounter_id"].to_pylist() == [a["encounter_id"]]
    assert mine["follow_up"].to_pylist() == [dt.date(2026, 1, 7)]
    assert mine["last_event"].to_pylist() == ["follow_up"]
    assert mine.equals(lk.worklist(s, today, owner="ana", due_by="2026-01-08"))
    # overdue follow-ups are due too; 0 days: due today or earlier
    assert lk.worklist(s, today, due_within_days=0)["encounter_id"].to_pylist() == [
        c["encounter_id"]]  # fmt: skip
    assert sorted(lk.worklist(s, today, due_within_days=8)["encounter_id"].to_pylist()) == sorted(
        [a["encounter_id"], b["encounter_id"], c["encounter_id"]])  # fmt: skip
    with pytest.raises(ValueError, match="not both"):
        lk.worklist(s, today, due_by=today, due_within_days=7)
    with pytest.raises(ValueError, match=">= 0"):
        lk.worklist(s, today, due_within_days=-1)
    with pytest.raises(ValueError, match="whole number"):
        lk.worklist(s, today, due_within_days=1.5)
    with pytest.raises(ValueError, match="give work=store"):
        lk.worklist(s.ledger(), today, due_within_days=7)


# ----------------------------------------------------------------------------- plain functions
def test_work_event_names_the_rows_item():
    row = {"encounter_id": "E1", "line": 2, "carc": "197"}
    assert work_event("status", row, status="appealed") == {
        "kind": "status",
        "encounter_id": "E1",
        "line": 2,
        "carc": "197",
        "status": "appealed",
    }
    assert work_event("assign", row, whole_claim=True, owner="bo") == {
        "kind": "assign", "encounter_id": "E1", "owner": "bo"}  # fmt: skip
    with pytest.raises(LedgerError, match="unknown work action 'delete'"):
        work_event("delete", row)


def test_record_action_refuses_without_store_row_or_note(store):
    row = _denial_rows(store, 1)[0]
    with pytest.raises(LedgerError, match="no store"):
        record_action(None, "assign", row, actor="ana", note="mine", owner="ana")
    with pytest.raises(LedgerError, match="select a worklist row"):
        record_action(store, "assign", None, actor="ana", note="mine", owner="ana")
    before = store.version
    with pytest.raises(LedgerError, match="write a note first"):
        record_action(store, "assign", row, actor="ana", note="  ", owner="ana")
    assert store.version == before


# ----------------------------------------------------------------------------- the dashboard
def test_dashboard_actions_write_events_and_refresh(tmp_path, store):
    from ledgerkit.widgets import DenialDashboard

    s = LedgerStore.create(tmp_path / "s", store.ledger(), actor="setup", note="copy")
    dash = DenialDashboard(s, actor="ana")
    assert dash.store is s
    work_columns = {"owner", "status", "follow_up", "last_event", "last_event_at",
                    "recovered_cents"}  # fmt: skip
    assert work_columns <= set(dash.worklist.columns)
    row = dash.worklist.select(0)
    work = dash.work
    assert work.row == row
    # a click without a note is refused in the status line; nothing is written
    work.owner.value = "ana"
    work.buttons["assign"].click()
    assert "write a note first" in work.status.value
    assert s.work_events().num_rows == 0

    def click(action, note, **values):
        for name, value in values.items():
            getattr(work, name).value = value
        work.note.value = note
        work.buttons[action].click()
        assert "lk-done" in work.status.value, work.status.value
        assert work.note.value == ""  # cleared for the next action

    click("assign", "mine now", owner="ana")
    assert "assigned the denial to ana" in work.status.value
    click("status", "gathering records", status_value="in_progress")
    click("follow_up", "call the payer", follow_up=dt.date(2026, 1, 5))
    click("appeal", "records attached", appeal_level="2", appeal_method="fax",
          appeal_filed=dt.date(2025, 12, 30))  # fmt: skip
    ev = s.work_events().to_pylist()
    assert [e["kind"] for e in ev] == ["assign", "status", "follow_up", "appeal"]
    for e in ev:
        assert (e["encounter_id"], e["line"], e["carc"], e["actor"]) == (
            row["encounter_id"], row["line"], row["carc"], "ana")  # fmt: skip
    assert [e["note"] for e in ev] == [
        "mine now",
        "gathering records",
        "call the payer",
        "records attached",
    ]
    assert (ev[0]["owner"], ev[1]["status"], ev[2]["follow_up"]) == (
        "ana", "in_progress", dt.date(2026, 1, 5))  # fmt: skip
    assert (ev[3]["appeal_level"], ev[3]["appeal_method"], ev[3]["appeal_filed"]) == (
        "2", "fax", dt.date(2025, 12, 30))  # fmt: skip
    assert s.history()["note"].to_pylist()[-4:] == [e["note"] for e in ev]
    # the worklist shows the new state of the row, still selected
    now = dash.worklist.selected
    assert now["encounter_id"] == row["encounter_id"]
    assert (now["owner"], now["status"], now["follow_up"], now["last_event"]) == (
        "ana", "appealed", dt.date(2026, 1, 5), "appeal")  # fmt: skip
    assert "ana" in dash.worklist.filters["owner"].options
    # the store refuses an upheld outcome with dollars: red, nothing written
    version = s.version
    work.outcome.value, work.outcome_dollars.value = "upheld", 12.0
    work.note.value = "payer says no"
    work.buttons["outcome"].click()
    assert "outcome_cents" in work.status.value and "lk-done" not in work.status.value
    assert s.version == version
    click("outcome", "payer agreed in part", outcome="partial", outcome_dollars=12.34)
    assert "$12.34 recovered" in work.status.value
    items = work.items.table.to_pylist()
    assert len(items) == 1
    assert (items[0]["status"], items[0]["outcome"], items[0]["recovered_cents"]) == (
        "appealed", "partial", 1234)  # fmt: skip
    # the whole claim's scope names no line nor CARC
    click("assign", "claim to bo", owner="bo", scope=True)
    last = s.work_events().to_pylist()[-1]
    assert (last["kind"], last["owner"], last["line"], last["carc"]) == ("assign", "bo", None,
                                                                          None)  # fmt: skip
    # the claim's owner is every line's owner from now on (the fold's rule)
    items = work.items.table.to_pylist()
    assert [(i["line"], i["owner"]) for i in items] == [(row["line"], "bo"), (None, "bo")]
    assert dash.worklist.selected["owner"] == "bo"


def test_dashboard_without_store_refuses_every_action(store):
    from ledgerkit.widgets import DenialDashboard

    dash = DenialDashboard(store.ledger())
    assert dash.store is None and dash.work.items is None
    dash.worklist.select(0)
    dash.work.owner.value = "ana"
    for action, button in dash.work.buttons.items():
        dash.work.note.value = "why"
        dash.work.status.value = ""
        button.click()
        assert html_text(dash.work.status.value) == NO_STORE, action
    assert store.work_events().num_rows == 0


def html_text(value: str) -> str:
    import html
    import re

    return html.unescape(re.sub("<[^>]+>", "", value))


def test_dashboard_draws_the_appeal_summary(store):
    from ledgerkit.widgets import DenialDashboard

    dash = DenialDashboard(store)
    dash.work.draft_summary()
    assert "select a worklist row first" in dash.work.status.value
    row = dash.worklist.select(0)
    text = dash.work.draft_summary()
    assert text == dash.work.summary.value
    assert text == lk.appeal_summary(store, row["encounter_id"], line=row["line"],
                                     carc=row["carc"]).text  # fmt: skip
    dash.work.summary.value = text + "Edited by hand.\n"  # an editable draft


# ----------------------------------------------------------------------------- overturn
def test_overturning_remit_links_the_recovered_cents(tmp_path):
    from ledgerkit.widgets import sample_store

    ledger = lk.synth.generate(300, seed=5, credits=False)
    s = sample_store(tmp_path / "s", ledger, conflicts=0, unmatched=0, unbalanced=0)
    row = _denial_rows(s, 1)[0]
    enc, line, carc = _item(row)
    before = {r["line"]: r for r in lk.balances(s.ledger()).filter(
        pc.equal(lk.balances(s.ledger())["encounter_id"], enc)).to_pylist()}  # fmt: skip
    denied = before[line]["denied"]
    s.record_work(
        {
            "kind": "appeal",
            "encounter_id": enc,
            "line": line,
            "carc": carc,
            "appeal_level": "1",
            "appeal_method": "portal",
        },
        actor="ana",
        note="appeal",
    )
    with pytest.raises(LedgerError, match="at most the denied amount"):
        overturn_remit(s, enc, line, carc, cents=denied + 1)
    with pytest.raises(LedgerError, match="no live remit adjustment"):
        overturn_remit(s, enc, line, "ZZZ")
    # a partial overturn first: $10.00 of it
    part = overturn_remit(s, enc, line, carc, cents=1000, paid_on=dt.date(2026, 1, 2))
    assert part.claims["status_code"].to_pylist() == ["22", str(row["payer_seq"])]
    assert part.transactions["payment_cents"].to_pylist() == [1000]
    result = s.post(part, actor="era", note="payer reprocessed")
    assert result.decisions["reason_code"].to_pylist() == ["reversal", "first_remit"]
    item = lk.work_items(s).to_pylist()[0]
    assert (item["status"], item["outcome"], item["recovered_cents"]) == (
        "appealed", "partial", 1000)  # fmt: skip
    # then the rest: the line's payer balance is cleared, the item resolved
    rest = overturn_remit(s, enc, line, carc)
    assert rest.transactions["payment_cents"].to_pylist() == [denied - 1000]
    s.post(rest, actor="era", note="payer paid the rest")
    item = lk.work_items(s).to_pylist()[0]
    assert (item["status"], item["outcome"], item["outcome_source"], item["recovered_cents"]) == (
        "resolved", "overturned", "payments", denied)  # fmt: skip
    after = lk.balances(s.ledger()).filter(pc.equal(lk.balances(s.ledger())["encounter_id"], enc))
    got = {r["line"]: r for r in after.to_pylist()}
    assert (got[line]["paid"], got[line]["denied"]) == (before[line]["paid"] + denied, 0)
    for other, r in before.items():  # the other lines stay as they were
        if other != line:
            assert (got[other]["paid"], got[other]["denied"]) == (r["paid"], r["denied"])


def _item(row):
    return row["encounter_id"], row["line"], row["carc"]


# ----------------------------------------------------------------------------- appeal summary
def _claim_ledger() -> lk.Ledger:
    """One claim: $150.00 line 1 denied CO-197 (remark N54) by Acme on 2025-03-02;
    line 2 $80.00 paid $60.00, CO-45 $15.00, PR-2 $5.00, which the patient paid later."""
    enc = pa.table({
        "encounter_id": ["C1"], "service_date": [dt.date(2025, 2, 1)],
        "provider_id": ["DR1"], "payer1_id": ["ACME"],
    })  # fmt: skip
    procs = pa.table({
        "encounter_id": ["C1", "C1"], "line": pa.array([1, 2], pa.int32()),
        "cpt": ["99213", "97110"], "units": pa.array([1, 1], pa.int32()),
        "charge_cents": pa.array([15000, 8000], pa.int64()),
        "service_date": [dt.date(2025, 2, 1)] * 2,
    })  # fmt: skip
    payers = pa.table({
        "payer_id": ["ACME"], "name": ["Acme Health"], "payer_class": ["commercial"],
        "timely_filing_days": pa.array([365], pa.int32()),
        "appeal_days": pa.array([60], pa.int32()),
    })  # fmt: skip

    def e(i, line, seq, kind, cents, at, group=None, carc=None, rarc=None, source="remit"):
        return {
            "entry_id": i,
            "encounter_id": "C1",
            "line": line,
            "payer_seq": seq,
            "payer_id": "ACME" if seq else None,
            "kind": kind,
            "group_code": group,
            "carc": carc,
            "rarc": rarc,
            "amount_cents": cents,
            "posted_at": at,
            "source": source,
            "remit_ref": "R1" if source == "remit" and seq else None,
        }

    rows = [
        e(1, 1, 1, "charge", 15000, _at(1), source="charge"),
        e(2, 2, 1, "charge", 8000, _at(1), source="charge"),
        e(3, 1, 1, "payment", 0, _at(2)),
        e(4, 1, 1, "adjustment", 15000, _at(2), "CO", "197", "N54"),
        e(5, 2, 1, "payment", 6000, _at(2)),
        e(6, 2, 1, "adjustment", 1500, _at(2), "CO", "45"),
        e(7, 2, 1, "adjustment", 500, _at(2), "PR", "2"),
        e(8, 2, 0, "patient_payment", 500, _at(11), source="manual"),
    ]
    schema = pa.schema([
        ("entry_id", pa.int64()), ("encounter_id", pa.string()), ("line", pa.int32()),
        ("payer_seq", pa.int8()), ("payer_id", pa.string()), ("kind", pa.string()),
        ("group_code", pa.string()), ("carc", pa.string()), ("rarc", pa.string()),
        ("amount_cents", pa.int64()), ("posted_at", pa.timestamp("us", tz="UTC")),
        ("source", pa.string()), ("remit_ref", pa.string()),
    ])  # fmt: skip
    return lk.Ledger.from_arrow(enc, procs, pa.Table.from_pylist(rows, schema=schema), payers)


def test_appeal_summary_of_a_hand_built_claim():
    ledger = _claim_ledger()
    work = [
        {"at": _at(20), "encounter_id": "C1", "line": 1, "carc": "197", "kind": "appeal",
         "appeal_level": "1", "appeal_method": "fax", "appeal_filed": dt.date(2025, 3, 20),
         "note": "records sent", "actor": "ana"},
        {"at": _at(21), "encounter_id": "C1", "kind": "assign", "owner": "ana", "actor": "ana"},
    ]  # fmt: skip
    s = lk.appeal_summary(ledger, "C1", today="2025-04-01", work=work)
    prior_auth = CarcCatalog.default().lookup(["197"])["description"][0].as_py()
    assert s.text == "\n".join([
        "Appeal summary: claim C1",
        "",
        "Service date: 2025-02-01; provider DR1",
        "Coverage: primary ACME (Acme Health)",
        "Billed $230.00; paid by payers $60.00, by the patient $5.00; denied $150.00; open "
        "balance $150.00",
        "",
        "Lines",
        "  line 1: 99213, billed $150.00, payers paid $0.00, denied $150.00, open $150.00",
        "  line 2: 97110, billed $80.00, payers paid $60.00, denied $0.00, open $0.00",
        "",
        "Denials (live)",
        "  line 1: CO-197 $150.00 (prior_authorization) by ACME (Acme Health) on 2025-03-02: "
        f"{prior_auth}; remark N54: The claim was sent to the wrong payer or plan",
        "",
        "Appeal deadline",
        "  2025-05-01 (appeal window; 30 days left); at stake $150.00; usual next action: appeal",
        "",
        "What changed since the denial",
        "  denied on 2025-03-02",
        "  2025-03-11 line 2: patient payment $5.00 (patient)",
        "  2025-03-20 line 1: appeal level 1 filed 2025-03-20 by fax (records sent)",
        "  2025-03-21: assigned to ana",
        "",
        "Request",
        "  We ask ACME (Acme Health) to reconsider the denial of claim C1: line 1 (CO-197, "
        "$150.00); $150.00 in all. [Add why the service was covered and correctly billed, and "
        "list the records attached.]",
    ]) + "\n"  # fmt: skip
    # the HTML holds the same, escaped; the repr never shows the claim
    assert "<li>line 1: CO-197 $150.00 (prior_authorization)" in s.html
    assert "Acme Health" in s.html and "C1" not in repr(s)
    # narrowed to line 2 (no denial there)
    two = lk.appeal_summary(ledger, "C1", line=2, today="2025-04-01")
    assert "  no live denial\n" in two.text and "(no live denial to appeal)" in two.text
    with pytest.raises(LedgerError, match="no such encounter") as err:
        lk.appeal_summary(ledger, "SECRET-ID")
    assert "SECRET-ID" not in str(err.value)


def test_appeal_summary_is_never_printed_or_logged(capsys, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    lk.appeal_summary(_claim_ledger(), "C1", today="2025-04-01")
    out = capsys.readouterr()
    assert out.out == out.err == ""
    assert "C1" not in caplog.text
