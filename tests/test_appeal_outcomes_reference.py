"""lk.appeal_outcomes (vectorised) against a plain one-attempt-at-a-time reference,
on random work events over the hand-built metrics ledger (issue #16)."""

import datetime as dt

from analytics_ledgers import metrics_ledger
from hypothesis import given, settings
from hypothesis import strategies as st

import ledgerkit as lk

LEDGER = metrics_ledger()
DAY0 = dt.datetime(2025, 1, 15, 9, tzinfo=dt.UTC)


def reference(events: list, ledger, as_of=None) -> list:
    """Each attempt, its window, the payments in it and its outcome: obviously correct."""
    if as_of is not None:
        events = [e for e in events if e["at"] <= as_of]
        ledger = ledger.as_of(as_of)
    timeline = sorted(events, key=lambda e: e["at"])  # stable: recorded order breaks ties
    pays = [p for p in ledger.entries.to_pylist() if p["kind"] == "payment" and p["payer_seq"]]
    owed = {}
    for r in lk.balances(ledger).to_pylist():
        owed[(r["encounter_id"], r["line"])] = r["payer_balance"]
        owed[(r["encounter_id"], None)] = owed.get((r["encounter_id"], None), 0) + r[
            "payer_balance"]  # fmt: skip

    def key(e):
        return (e["encounter_id"], e.get("line"), e.get("carc"))

    def is_attempt(e):
        return e["kind"] == "appeal" or (e["kind"] == "status" and e["status"] == "resubmitted")

    out, count = [], {}
    for i, e in enumerate(timeline):
        if not is_attempt(e):
            continue
        later = [j for j in range(i + 1, len(timeline))
                 if is_attempt(timeline[j]) and key(timeline[j]) == key(e)]  # fmt: skip
        stop = later[0] if later else len(timeline)
        enc, line, carc = key(e)
        window = [x for x in timeline[i + 1 : stop] if x["encounter_id"] == enc
                  and x.get("line") in (None, line) and x.get("carc") in (None, carc)]  # fmt: skip
        switches = [x for x in window if x["kind"] in ("link", "unlink")]
        linked = not switches or switches[-1]["kind"] == "link"
        end = timeline[stop]["at"] if later else None
        hit = [p for p in pays if p["encounter_id"] == enc
               and (line is None or p["line"] == line) and p["posted_at"] > e["at"]
               and (end is None or p["posted_at"] <= end)]  # fmt: skip
        hit.sort(key=lambda p: p["posted_at"])
        paid = sum(p["amount_cents"] for p in hit)
        person = [x for x in window if x["kind"] == "outcome"]
        if person:
            outcome, source = person[-1]["outcome"], "person"
            cents, decided = person[-1]["outcome_cents"], person[-1]["at"]
        elif linked and paid > 0:
            cleared = not later and owed.get((enc, line), 1) <= 0
            outcome, source = ("overturned" if cleared else "partial"), "payments"
            cents, decided = paid, max(p["posted_at"] for p in hit)
        else:
            outcome = source = decided = None
            cents = 0
        count[key(e)] = count.get(key(e), 0) + 1
        out.append({
            "encounter_id": enc, "line": line, "carc": carc, "attempt": count[key(e)],
            "kind": "appeal" if e["kind"] == "appeal" else "resubmission",
            "appeal_level": e.get("appeal_level"), "filed_at": e["at"], "window_end": end,
            "linked": linked, "paid_cents": paid,
            "entry_ids": sorted(p["entry_id"] for p in hit),
            "outcome": outcome, "outcome_source": source, "recovered_cents": cents,
            "decided_at": decided,
        })  # fmt: skip
    return out


@st.composite
def _event(draw):
    kind = draw(st.sampled_from(["appeal", "resubmitted", "outcome", "link", "unlink", "note"]))
    e = {
        "at": DAY0 + dt.timedelta(days=draw(st.integers(0, 12)) * 4),  # coarse: many ties
        "encounter_id": draw(st.sampled_from(["E1", "E2", "E3", "E4"])),
        "line": draw(st.sampled_from([None, 1, 2])),
        "carc": draw(st.sampled_from([None, "50", "97"])),
        "kind": kind,
        "actor": "ana",
    }
    if kind == "appeal":
        e.update(appeal_level=draw(st.sampled_from(["1", "2", "external"])),
                 appeal_method="portal")  # fmt: skip
    elif kind == "resubmitted":
        e.update(kind="status", status="resubmitted")
    elif kind == "outcome":
        outcome = draw(st.sampled_from(["overturned", "upheld", "partial"]))
        e.update(outcome=outcome, outcome_cents=0 if outcome == "upheld" else 500)
    else:
        e["note"] = "why"
    return e


def _normalised(rows):
    out = []
    for r in rows:
        r = dict(r)
        r.pop("remit_refs", None)
        r["entry_ids"] = sorted(r["entry_ids"])
        out.append({k: (v.astimezone(dt.UTC) if isinstance(v, dt.datetime) else v)
                    for k, v in r.items()})  # fmt: skip
    return out


@settings(max_examples=60, deadline=None)
@given(
    events=st.lists(_event(), max_size=20),
    as_of=st.one_of(st.none(), st.integers(0, 60).map(lambda d: DAY0 + dt.timedelta(days=d))),
)
def test_appeal_outcomes_equal_the_reference(events, as_of):  # fmt: skip
    got = lk.appeal_outcomes(events, as_of=as_of, ledger=LEDGER).to_pylist()
    assert _normalised(got) == _normalised(reference(events, LEDGER, as_of))


def test_fixed_windows_with_payments_equal_the_reference():
    day = lambda d: DAY0 + dt.timedelta(days=d)  # noqa: E731
    events = [
        {"at": day(0), "encounter_id": "E1", "kind": "appeal", "appeal_level": "1",
         "appeal_method": "fax", "actor": "ana"},  # encounter-level: E1's payment 01-20
        {"at": day(1), "encounter_id": "E3", "line": 1, "kind": "status",
         "status": "resubmitted", "actor": "ana"},  # E3 line 1 paid 02-20
        {"at": day(2), "encounter_id": "E2", "line": 1, "carc": "50", "kind": "appeal",
         "appeal_level": "1", "appeal_method": "fax", "actor": "ana"},
        {"at": day(40), "encounter_id": "E2", "line": 1, "carc": "50", "kind": "appeal",
         "appeal_level": "2", "appeal_method": "fax", "actor": "ana"},  # after 02-15
    ]  # fmt: skip
    got = lk.appeal_outcomes(events, ledger=LEDGER).to_pylist()
    assert [r["paid_cents"] for r in got] == [6000, 12000, 7000, 0]
    assert _normalised(got) == _normalised(reference(events, LEDGER))


def test_empty_events():
    assert lk.appeal_outcomes([], ledger=LEDGER).num_rows == 0
    assert lk.appeal_outcomes([]).num_rows == 0
