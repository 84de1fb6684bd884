"""The fold of work events into work items, as of any time (issue #16), against a
plain reference fold; and the worklist's work columns and filters."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ledgerkit as lk
from ledgerkit.analytics.work_items import WORK_COLUMNS
from ledgerkit.core.work_events import CLOSED_STATUSES, STATUSES
from ledgerkit.store import LedgerStore

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _at(hours: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


# ----------------------------------------------------------------------------- reference
def _covers(event: dict, key: tuple) -> bool:
    """Whether an event applies to an item: same encounter, and its line and CARC
    equal the item's wherever the event names one."""
    enc, line, carc = key
    return (
        event["encounter_id"] == enc
        and event.get("line") in (None, line)
        and event.get("carc") in (None, carc)
    )


def reference_fold(events: list, as_of=None) -> list:
    """The state of every item, one event at a time: obviously correct, slow."""
    seen = [e for e in events if as_of is None or e["at"] <= as_of]
    timeline = sorted(seen, key=lambda e: e["at"])  # stable: recorded order breaks ties
    keys = []
    for e in timeline:
        key = (e["encounter_id"], e.get("line"), e.get("carc"))
        if key not in keys:
            keys.append(key)
    items = []
    for key in keys:
        s = {
            "encounter_id": key[0], "line": key[1], "carc": key[2], "status": "new",
            "owner": None, "follow_up": None, "appeal_level": None, "appeal_method": None,
            "appeal_filed": None, "appeals": 0, "outcome": None, "recovered_cents": 0,
            "outcome_source": None, "paid_after_appeal_cents": 0,
            "opened_at": None, "last_event_at": None, "last_event": None, "last_actor": None,
            "events": 0,
        }  # fmt: skip
        for e in timeline:
            if not _covers(e, key):
                continue
            kind = e["kind"]
            if kind == "assign":
                s["owner"] = e["owner"]
            elif kind == "status":
                s["status"] = e["status"]
            elif kind == "follow_up":
                s["follow_up"] = e["follow_up"]
            elif kind == "appeal":
                s["status"] = "appealed"
                s["appeals"] += 1
                s["appeal_level"] = e["appeal_level"]
                s["appeal_method"] = e["appeal_method"]
                s["appeal_filed"] = e["appeal_filed"]
            elif kind == "outcome":
                s["outcome"] = e["outcome"]
                s["recovered_cents"] = e["outcome_cents"]
                s["outcome_source"] = "person"
                if e["outcome"] == "overturned":
                    s["status"] = "resolved"
            if s["opened_at"] is None:
                s["opened_at"] = e["at"]
            s["last_event_at"], s["last_event"], s["last_actor"] = e["at"], kind, e["actor"]
            s["events"] += 1
        s["closed"] = s["status"] in CLOSED_STATUSES
        items.append(s)
    return items


def _normalised(rows: list) -> list:
    """Rows with datetimes as UTC instants (Arrow gives a zoneinfo UTC)."""
    out = []
    for r in rows:
        out.append({k: (v.astimezone(dt.UTC) if isinstance(v, dt.datetime) else v)
                    for k, v in r.items()})  # fmt: skip
    return out


# ----------------------------------------------------------------------------- hypothesis
@st.composite
def _event(draw):
    kind = draw(st.sampled_from(["assign", "status", "follow_up", "note", "appeal", "outcome",
                                 "link", "unlink"]))  # fmt: skip
    e = {
        "at": _at(draw(st.integers(0, 12)) * 6),  # coarse: many ties
        "encounter_id": draw(st.sampled_from(["E1", "E2"])),
        "line": draw(st.sampled_from([None, 1, 2])),
        "carc": draw(st.sampled_from([None, "45", "16"])),
        "kind": kind,
        "actor": draw(st.sampled_from(["ana", "bo"])),
    }
    if kind == "assign":
        e["owner"] = draw(st.sampled_from(["ana", "bo", "cy"]))
    elif kind == "status":
        e["status"] = draw(st.sampled_from(STATUSES))
    elif kind == "follow_up":
        e["follow_up"] = dt.date(2026, 12, 1) + dt.timedelta(days=draw(st.integers(0, 30)))
    elif kind in ("note", "link", "unlink"):  # without a ledger, a link changes nothing
        e["note"] = "called the payer"
    elif kind == "appeal":
        e["appeal_level"] = draw(st.sampled_from(["1", "2", "external"]))
        e["appeal_method"] = draw(st.sampled_from(["portal", "fax"]))
        e["appeal_filed"] = e["at"].date()
    else:
        outcome = draw(st.sampled_from(["overturned", "upheld", "partial"]))
        e["outcome"] = outcome
        e["outcome_cents"] = 0 if outcome == "upheld" else draw(st.integers(1, 10**7))
    return e


@settings(max_examples=60)
@given(
    events=st.lists(_event(), max_size=25),
    as_of=st.one_of(st.none(), st.integers(-1, 80).map(_at)),
)
def test_fold_equals_the_reference_fold_as_of_any_time(events, as_of):
    got = lk.work_items(events, as_of=as_of).to_pylist()
    assert _normalised(got) == reference_fold(events, as_of)


def test_empty_and_before_the_first_event():
    assert lk.work_items([]).num_rows == 0
    one = [{"at": _at(5), "encounter_id": "E1", "kind": "note", "note": "x", "actor": "a"}]
    assert lk.work_items(one, as_of=_at(4)).num_rows == 0
    assert lk.work_items(one, as_of=_at(5)).num_rows == 1


# ----------------------------------------------------------------------------- a lifecycle
def _lifecycle():
    """Assigned, followed up, appealed at level 1 (upheld), level 2 (partly overturned:
    $312.40), then a correction: overturned in full, $450.00."""
    enc = {"encounter_id": "E7", "actor": "ana"}
    line = {**enc, "line": 2, "carc": "50"}
    return [
        {**enc, "at": _at(0), "kind": "assign", "owner": "ana"},
        {**line, "at": _at(1), "kind": "follow_up", "follow_up": dt.date(2026, 11, 20)},
        {
            **line,
            "at": _at(24),
            "kind": "appeal",
            "appeal_level": "1",
            "appeal_method": "portal",
            "appeal_filed": dt.date(2026, 11, 3),
        },  # fmt: skip
        {**line, "at": _at(24 * 20), "kind": "outcome", "outcome": "upheld", "outcome_cents": 0},
        {
            **line,
            "at": _at(24 * 21),
            "kind": "appeal",
            "appeal_level": "2",
            "appeal_method": "mail",
            "appeal_filed": dt.date(2026, 11, 23),
        },  # fmt: skip
        {
            **line,
            "at": _at(24 * 40),
            "kind": "outcome",
            "outcome": "partial",
            "outcome_cents": 31240,
        },  # fmt: skip
        {
            **line,
            "at": _at(24 * 41),
            "kind": "outcome",
            "outcome": "overturned",
            "outcome_cents": 45000,
            "actor": "bo",
        },  # fmt: skip
    ]


def test_a_lifecycle_step_by_step():
    events = _lifecycle()
    expect = [  # (as of, status, appeals, level, outcome, cents, owner of the line item)
        (_at(0), "new", 0, None, None, 0, "ana"),
        (_at(30), "appealed", 1, "1", None, 0, "ana"),
        (_at(24 * 20), "appealed", 1, "1", "upheld", 0, "ana"),
        (_at(24 * 22), "appealed", 2, "2", "upheld", 0, "ana"),
        (_at(24 * 40), "appealed", 2, "2", "partial", 31240, "ana"),
        (None, "resolved", 2, "2", "overturned", 45000, "ana"),
    ]
    for as_of, status, appeals, level, outcome, cents, owner in expect:
        items = {(r["line"], r["carc"]): r for r in lk.work_items(events, as_of=as_of).to_pylist()}
        line = items.get((2, "50"))
        if as_of == _at(0):
            assert line is None and items[(None, None)]["owner"] == "ana"
            continue
        assert (line["status"], line["appeals"], line["appeal_level"], line["outcome"],
                line["recovered_cents"], line["owner"]) == (status, appeals, level, outcome,
                                                             cents, owner), as_of  # fmt: skip
        # the encounter-level item knows only its own events
        assert items[(None, None)]["events"] == 1
    final = {(r["line"], r["carc"]): r for r in lk.work_items(events).to_pylist()}[(2, "50")]
    assert final["closed"] and final["last_actor"] == "bo" and final["events"] == 7
    assert final["follow_up"] == dt.date(2026, 11, 20)
    assert final["appeal_filed"] == dt.date(2026, 11, 23) and final["appeal_method"] == "mail"


def test_events_table_input_is_checked():
    with pytest.raises(ValueError, match="'at' on every row"):
        lk.work_items([{"encounter_id": "E1", "kind": "note", "actor": "a"}])
    with pytest.raises(ValueError, match="kind is not one of"):
        lk.work_items([{"at": T0, "encounter_id": "E1", "kind": "escalate", "actor": "a"}])
    with pytest.raises(TypeError, match="needs a store"):
        lk.work_items(pa.table({"at": pa.array([T0])}), as_of=3)


# ----------------------------------------------------------------------------- worklist
@pytest.fixture(scope="module")
def worked(tmp_path_factory):
    """A store with a worklist of 300 encounters, and work on three of its rows."""
    path = tmp_path_factory.mktemp("worklist") / "store"
    store = LedgerStore.create(path, lk.synth.generate(300, seed=5), actor="setup", note="load")
    wl = lk.worklist(store.ledger())
    rows = wl.slice(0, 4).to_pylist()
    a, b, c = rows[0], rows[1], rows[2]
    store.record_work(
        [
            # a: the encounter assigned to ana, a follow-up on its denied line
            {"kind": "assign", "encounter_id": a["encounter_id"], "owner": "ana", "at": _at(0)},
            {
                "kind": "follow_up",
                "encounter_id": a["encounter_id"],
                "line": a["line"],
                "carc": a["carc"],
                "follow_up": "2026-12-04",
                "at": _at(1),
            },  # fmt: skip
            # b: ana's, due earlier, but resolved by an overturn of $12.34
            {"kind": "assign", "encounter_id": b["encounter_id"], "owner": "ana", "at": _at(0)},
            {
                "kind": "follow_up",
                "encounter_id": b["encounter_id"],
                "follow_up": "2026-12-02",
                "at": _at(1),
            },  # fmt: skip
            {
                "kind": "outcome",
                "encounter_id": b["encounter_id"],
                "outcome": "overturned",
                "outcome_cents": 1234,
                "at": _at(2),
            },  # fmt: skip
            # c: bo's, due next month, its line given its own owner later
            {"kind": "assign", "encounter_id": c["encounter_id"], "owner": "bo", "at": _at(0)},
            {
                "kind": "assign",
                "encounter_id": c["encounter_id"],
                "line": c["line"],
                "owner": "cy",
                "at": _at(3),
            },  # fmt: skip
            {
                "kind": "follow_up",
                "encounter_id": c["encounter_id"],
                "follow_up": "2027-01-15",
                "at": _at(3),
            },  # fmt: skip
        ],
        actor="ana",
        note="morning triage",
    )
    return store, wl, (a, b, c, rows[3])


def test_worklist_takes_each_rows_work_item(worked):
    store, plain, (a, b, c, d) = worked
    wl = lk.worklist(store)
    assert wl.num_rows == plain.num_rows
    assert wl.drop_columns(list(WORK_COLUMNS)).equals(plain)
    by_enc = {r["encounter_id"]: r for r in wl.to_pylist()}
    ra, rb, rc, rd = (by_enc[x["encounter_id"]] for x in (a, b, c, d))
    assert (ra["owner"], ra["status"], ra["follow_up"], ra["last_event"]) == (
        "ana", "new", dt.date(2026, 12, 4), "follow_up")  # fmt: skip
    assert (rb["owner"], rb["status"], rb["outcome"], rb["recovered_cents"]) == (
        "ana", "resolved", "overturned", 1234)  # fmt: skip
    # the line's own owner wins over the encounter's; the encounter's follow-up applies
    assert (rc["owner"], rc["follow_up"]) == ("cy", dt.date(2027, 1, 15))
    assert (rd["owner"], rd["status"], rd["follow_up"], rd["recovered_cents"]) == (
        None, "new", None, 0)  # fmt: skip
    assert wl.filter(pc.is_valid(wl["owner"])).num_rows == 3


def test_my_items_due_this_week(worked):
    store, plain, (a, b, c, _) = worked
    mine = lk.worklist(store, owner="ana", due_by=dt.date(2026, 12, 6))
    # b is due earlier but resolved: not due any more
    assert mine["encounter_id"].to_pylist() == [a["encounter_id"]]
    assert mine["rank"].to_pylist() == [a["rank"]]  # its rank in the whole worklist
    assert lk.worklist(store, owner="ana")["encounter_id"].to_pylist() == [
        a["encounter_id"], b["encounter_id"]]  # fmt: skip
    assert lk.worklist(store, owner=["bo", "cy"])["encounter_id"].to_pylist() == [
        c["encounter_id"]]  # fmt: skip
    assert lk.worklist(store, due_by="2027-01-31")["encounter_id"].to_pylist() == [
        a["encounter_id"], c["encounter_id"]]  # fmt: skip
    untouched = lk.worklist(store, status="new")
    assert untouched.num_rows == plain.num_rows - 1  # all but b
    assert lk.worklist(store, status=["resolved"])["encounter_id"].to_pylist() == [
        b["encounter_id"]]  # fmt: skip
    # the same through work= with the store's events as a table
    events = store.work_events()
    same = lk.worklist(store.ledger(), work=events, owner="ana", due_by=dt.date(2026, 12, 6))
    assert same.equals(mine)


def test_worklist_filters_need_work_and_known_statuses(worked):
    store, _, _ = worked
    with pytest.raises(ValueError, match="give work=store"):
        lk.worklist(store.ledger(), owner="ana")
    with pytest.raises(ValueError, match="status: use one of"):
        lk.worklist(store, status="done")


# ----------------------------------------------------------------------------- money
@pytest.fixture(scope="module")
def denied_line():
    """A synthetic ledger and one denied line with a payer balance: (ledger, row, owed)."""
    ledger = lk.synth.generate(300, seed=11)
    procs = lk.balances(ledger)
    owed = {(r["encounter_id"], r["line"]): r["payer_balance"] for r in procs.to_pylist()}
    for row in lk.worklist(ledger).to_pylist():
        if row["class"] == "DENIAL" and owed[(row["encounter_id"], row["line"])] > 1000:
            return ledger, row, owed[(row["encounter_id"], row["line"])]
    raise AssertionError("no denied line in the sample")


def _pay(ledger, row, cents, hours, payer_seq=None):
    entry = {"encounter_id": [row["encounter_id"]], "line": [row["line"]],
             "payer_seq": [row["payer_seq"] if payer_seq is None else payer_seq],
             "kind": ["payment"], "amount_cents": [cents]}  # fmt: skip
    return ledger.append(pa.table(entry), at=_at(hours))


def test_payments_after_an_appeal_are_its_recovered_cents(denied_line):
    ledger, row, owed = denied_line
    item = {"encounter_id": row["encounter_id"], "line": row["line"], "carc": row["carc"],
            "actor": "ana"}  # fmt: skip
    events = [{**item, "at": _at(10), "kind": "appeal", "appeal_level": "1",
               "appeal_method": "portal", "appeal_filed": _at(10).date()}]  # fmt: skip

    def state(ledger, evs=events, as_of=None):
        got = lk.work_items(evs, as_of=as_of, ledger=ledger).to_pylist()
        assert len(got) == 1
        g = got[0]
        return g["status"], g["outcome"], g["outcome_source"], g["recovered_cents"], g[
            "paid_after_appeal_cents"]  # fmt: skip

    # $10.00 paid before the appeal and $3.00 by the patient after it: not the appeal's
    before = _pay(ledger, row, 1000, 5)
    patient = _pay(before, row, 300, 20, payer_seq=0)
    assert state(patient) == ("appealed", None, None, 0, 0)
    # part of the rest paid after it: a partial overturn
    part = _pay(patient, row, 2000, 30)
    assert state(part) == ("appealed", "partial", "payments", 2000, 2000)
    # the payer pays the rest: overturned, resolved; the patient's $3.00 counts toward
    # the balance, not the recovery
    rest = owed - 1000 - 2000 - 300
    full = _pay(part, row, rest, 40)
    assert state(full) == ("resolved", "overturned", "payments", 2000 + rest, 2000 + rest)
    # as of before the last payment, it was partial
    assert state(full, as_of=_at(35)) == ("appealed", "partial", "payments", 2000, 2000)
    # a reversal of the first post-appeal payment and a repost: the difference counts
    paid_id = part.entries["entry_id"][-1].as_py()
    reversed_ = full.negate([paid_id], actor="era", note="reversal", at=_at(50))
    reposted = _pay(reversed_, row, 1500, 51)
    assert state(reposted) == ("appealed", "partial", "payments", 1500 + rest, 1500 + rest)
    # a person overrides the link: an outcome recorded after the appeal wins
    override = [*events, {**item, "at": _at(60), "kind": "outcome", "outcome": "partial",
                          "outcome_cents": 1234}]  # fmt: skip
    assert state(reposted, override) == ("appealed", "partial", "person", 1234, 1500 + rest)
    # ...and a person's status after the payment that cleared it stands
    reopened = [*events, {**item, "at": _at(45), "kind": "status", "status": "in_progress"}]
    assert state(full, reopened)[0] == "in_progress"
    assert state(full, [*events, {**item, "at": _at(39), "kind": "status",
                                  "status": "waiting_payer"}])[0] == "resolved"  # fmt: skip
    # a second appeal starts over: only payments after it count
    again = [*events, {**item, "at": _at(45), "kind": "appeal", "appeal_level": "2",
                       "appeal_method": "mail", "appeal_filed": _at(45).date()}]  # fmt: skip
    assert state(full, again) == ("appealed", None, None, 0, 0)


def test_resubmission_links_and_the_store_uses_its_ledger(tmp_path, denied_line):
    ledger, row, owed = denied_line
    store = LedgerStore.create(tmp_path / "s", ledger, actor="setup", note="load")
    item = {"encounter_id": row["encounter_id"], "line": row["line"]}
    store.record_work({**item, "kind": "status", "status": "resubmitted", "at": _at(10)},
                      actor="ana", note="corrected claim sent", at=_at(11))  # fmt: skip
    store.append(_pay(store.ledger(), row, owed, 20), actor="era", note="paid on resubmission")
    got = lk.work_items(store).to_pylist()[0]
    assert (got["status"], got["outcome"], got["recovered_cents"]) == ("resolved", "overturned",
                                                                       owed)  # fmt: skip
    # the line is paid; the encounter stays on the worklist for its other denied line,
    # which the resolved item does not cover
    assert lk.worklist(store, status="resolved").num_rows == 0
    on_list = lk.worklist(store).filter(pc.equal(lk.worklist(store)["encounter_id"], item[
        "encounter_id"]))  # fmt: skip
    assert on_list.num_rows == 1 and on_list["line"][0].as_py() != row["line"]
    assert on_list["status"].to_pylist() == ["new"]
    assert lk.work_items(store, as_of=1)["status"].to_pylist() == ["resubmitted"]
