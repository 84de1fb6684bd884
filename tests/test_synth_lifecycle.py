"""synth.lifecycle: appeals, resubmissions, outcomes and take-backs on a synthetic
ledger, and the metrics recovering the rates it planted (issue #16)."""

import datetime as dt
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import ledgerkit as lk
from ledgerkit.analytics import metrics
from ledgerkit.synth import denial_lifecycle as L

N_ENCOUNTERS = 40_000  # about 4,000 appealed denials: 40-150 per payer x category cell
SEED = 16


@pytest.fixture(scope="module")
def base():
    return lk.synth.generate(N_ENCOUNTERS, seed=SEED)


@pytest.fixture(scope="module")
def lc(base):
    return lk.synth.lifecycle(base, seed=SEED)


def test_the_base_ledger_is_unchanged_and_extended(base, lc):
    assert lc.ledger.entries.slice(0, base.entries.num_rows).equals(base.entries)
    assert lc.entries.equals(lc.ledger.entries.slice(base.entries.num_rows))
    # generate itself is untouched: the same seed gives the same ledger
    assert lk.synth.generate(300, seed=5).entries.equals(lk.synth.generate(300, seed=5).entries)
    again = lk.synth.lifecycle(base, seed=SEED)
    assert again.entries.equals(lc.entries)
    assert again.events.drop_columns(["event_id"]).equals(lc.events.drop_columns(["event_id"]))


def test_every_stage_is_there(lc):
    kinds = set(lc.events["kind"].to_pylist())
    assert kinds == {"assign", "status", "appeal", "outcome"}
    levels = set(pc.drop_null(lc.events["appeal_level"]).to_pylist())
    assert levels == {"1", "2", "external"}
    statuses = set(pc.drop_null(lc.events["status"]).to_pylist())
    assert statuses == {"in_progress", "resubmitted", "written_off"}
    e = lc.entries
    negation = pc.is_valid(e["negates"])
    # reprocessing reverses denials; take-backs negate payments; write-offs close lines
    assert pc.sum(pc.and_(negation, pc.equal(e["kind"].cast(pa.string()), "adjustment"))).as_py()
    takes = e.filter(pc.and_(negation, pc.equal(e["kind"].cast(pa.string()), "payment")))
    assert takes.num_rows > 0 and pc.max(takes["amount_cents"]).as_py() < 0
    assert pc.sum(pc.equal(e["kind"].cast(pa.string()), "write_off")).as_py() > 0
    # events never precede the denial they work on, and every `at` is in the past
    assert pc.max(lc.events["at"]).as_py() < dt.datetime.now(dt.UTC)


def test_lags_are_realistic(lc):
    t = lk.appeal_outcomes(lc.events, ledger=lc.ledger)
    decided = t.filter(pc.is_valid(t["decided_at"]))
    days = (
        pc.subtract(
            decided["decided_at"].cast(pa.int64()), decided["filed_at"].cast(pa.int64())
        ).to_numpy()
        / 86_400e6
    )
    assert 15 <= days.min() and days.max() <= 91


def test_until_stops_the_clock(base):
    early = lk.synth.lifecycle(base, seed=SEED, until=dt.date(2025, 6, 30))
    limit = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
    assert pc.max(early.events["at"]).as_py() < limit
    assert pc.max(early.entries["posted_at"]).as_py() < limit


def _cells(table, keys):
    return {tuple(r[k] for k in keys): r for r in table.to_pylist()}


def test_planted_overturn_rates_are_recovered(lc):
    """Per payer x category with at least 30 appealed denials, the measured overturn
    rate is within 4 binomial standard errors sqrt(p (1 - p) / n) of the planted
    rate (for about 50 cells, a miss by chance has probability about 0.3%)."""
    rates = metrics.appeal_overturn_rate(lc.ledger, lc.events, by=("payer", "category"))
    measured = _cells(rates, ("payer", "category"))
    planted = _cells(lc.planted, ("payer_id", "category"))
    checked = 0
    for key, row in measured.items():
        n = row["appealed"]
        if n < 30:
            continue
        p = planted[key]["overturn_rate"]
        bound = 4 * math.sqrt(p * (1 - p) / n)
        assert abs(row["overturn_rate"] - p) <= bound, (key, n, row["overturn_rate"], p)
        checked += 1
    assert checked >= 30


def test_planted_first_attempt_rates_are_recovered_by_level(lc):
    """Level-1 appeals and resubmissions win at the planted level-1 rate, level 2 at
    its own; pooled over cells (weights n), within 4 standard errors."""
    win = metrics.appeal_win_rate(lc.ledger, lc.events, by=("payer", "category")).to_pylist()
    planted = _cells(lc.planted, ("payer_id", "category"))
    for level, column in (("1", "level_1_rate"), ("resubmission", "level_1_rate"),
                          ("2", "level_2_rate")):  # fmt: skip
        rows = [r for r in win if r["level"] == level]
        n = sum(r["filed"] for r in rows)
        won = sum(r["won"] for r in rows)
        expected = sum(r["filed"] * planted[(r["payer"], r["category"])][column] for r in rows)
        variance = sum(
            r["filed"] * p * (1 - p)
            for r in rows
            for p in [planted[(r["payer"], r["category"])][column]]
        )
        assert n > 300
        assert abs(won - expected) <= 4 * math.sqrt(variance), (level, won, expected)


def test_worklist_likelihood_comes_from_outcomes(lc):
    wl = lk.worklist(lc.ledger, work=lc.events)
    assert wl.num_rows > 0
    like = wl["likelihood"].to_numpy()
    assert (like > 0).all()
    table = _cells(metrics.recovery_likelihood(lc.ledger, lc.events),
                   ("payer_id", "category", "carc"))  # fmt: skip
    matched = 0
    for r in wl.to_pylist():
        cell = table.get((r["payer_id"], r["category"], r["carc"]))
        if cell is None:
            continue
        assert r["likelihood"] == cell["likelihood"]
        assert (r["history_denied"], r["history_overturned"]) == (
            cell["appealed"], cell["overturned"])  # fmt: skip
        value, urgency = r["value_score"], r["urgency_score"]
        assert r["priority"] == pytest.approx(
            0.4 * value + 0.3 * urgency + 0.3 * cell["likelihood"]
        )
        matched += 1
    assert matched > 100
    # without work events the worklist keeps the ledger's own history
    plain = lk.worklist(lc.ledger)
    assert not plain["likelihood"].equals(wl["likelihood"])


def test_take_backs_are_counted(lc):
    (row,) = metrics.take_backs(lc.ledger, by=None).to_pylist()
    planted = lc.entries.filter(
        pc.and_(pc.is_valid(lc.entries["negates"]),
                pc.equal(lc.entries["kind"].cast(pa.string()), "payment"))
    )  # fmt: skip
    assert row["take_backs"] == planted.num_rows
    assert row["take_back_cents"] == -pc.sum(planted["amount_cents"]).as_py()


def test_the_store_takes_the_lifecycle(tmp_path):
    ledger = lk.synth.generate(800, seed=3)
    lc = lk.synth.lifecycle(ledger, seed=3)
    store = lk.LedgerStore.create(tmp_path / "s", ledger, actor="setup", note="load")
    store.append(lc.ledger, actor="synth", note="lifecycle remits")
    store.record_work(lc.work_rows(), actor="synth", note="lifecycle work")
    assert store.work_events().num_rows == lc.events.num_rows
    got = metrics.appeal_overturn_rate(store, by=None)
    assert got.equals(metrics.appeal_overturn_rate(lc.ledger, lc.events, by=None))


# ------------------------------------------------------------ plain references
def _reference_days_in_ar(ledger, month_end: dt.date):
    """Open A/R at a date from the ledger as of that date, and 90 days of charges."""
    cut = dt.datetime.combine(month_end, dt.time(23, 59, 59, 999999), dt.UTC)
    then = ledger.as_of(cut)
    enc = lk.balances(then, level="encounter").to_pylist()
    service = dict(zip(ledger.encounters["encounter_id"].to_pylist(),
                       ledger.encounters["service_date"].to_pylist(), strict=True))  # fmt: skip
    ar = sum(r["balance"] for r in enc if service[r["encounter_id"]] <= month_end)
    charges = 0
    for r in ledger.entries.to_pylist():
        day = r["posted_at"].date()
        if r["kind"] == "charge" and month_end - dt.timedelta(days=90) < day <= month_end:
            charges += r["amount_cents"]
    return ar, charges


def test_days_in_ar_equals_a_plain_recomputation():
    ledger = lk.synth.generate(400, seed=7)
    ledger = lk.synth.lifecycle(ledger, seed=7).ledger
    t = metrics.days_in_ar(ledger, by=None).to_pylist()
    for r in t[:: max(1, len(t) // 5)]:
        ar, charges = _reference_days_in_ar(ledger, r["as_of"])
        assert (r["ar_cents"], r["charges_cents"]) == (ar, charges), r["month"]


def test_first_pass_equals_a_plain_recomputation():
    ledger = lk.synth.generate(400, seed=8)
    entries = ledger.entries.to_pylist()
    policy = ledger.policy
    charge, first_day = {}, {}
    for e in entries:
        key = (e["encounter_id"], e["line"])
        if e["kind"] == "charge":
            charge[key] = charge.get(key, 0) + e["amount_cents"]
        if e["payer_seq"] == 1 and e["kind"] in ("payment", "adjustment"):
            day = e["posted_at"].date()
            first_day[e["encounter_id"]] = min(first_day.get(e["encounter_id"], day), day)
    covered, denied = {}, set()
    for e in entries:
        key = (e["encounter_id"], e["line"])
        if e["payer_seq"] != 1 or e["negates"] is not None:
            continue
        if e["posted_at"].date() != first_day.get(e["encounter_id"]):
            continue
        if e["kind"] == "payment":
            covered[key] = covered.get(key, 0) + e["amount_cents"]
        elif e["kind"] == "adjustment":
            bucket = policy.bucket_of(e["group_code"], e["carc"])
            if bucket == "denied" and e["amount_cents"] > 0:
                denied.add(key)
            elif bucket in ("contractual", "pr_deductible", "pr_coinsurance", "pr_copay",
                            "pr_other"):  # fmt: skip
                covered[key] = covered.get(key, 0) + e["amount_cents"]
    claims = ok = 0
    for enc in first_day:
        lines = [k for k in charge if k[0] == enc]
        claims += 1
        ok += all(k not in denied and covered.get(k, 0) >= charge[k] for k in lines)
    (row,) = metrics.first_pass_resolution_rate(ledger, by=None).to_pylist()
    assert (row["claims"], row["first_pass_claims"]) == (claims, ok)


def test_planted_table_shape(lc):
    assert set(lc.planted.column_names) == {
        "payer_id", "category", "work_share", "resubmit", "level_1_rate", "level_2_rate",
        "external_rate", "overturn_rate",
    }  # fmt: skip
    resub = lc.planted.filter(lc.planted["resubmit"]).to_pylist()
    assert {r["category"] for r in resub} <= set(L.RESUBMIT_CATEGORIES)
    assert all(r["overturn_rate"] == r["level_1_rate"] for r in resub)
    np.testing.assert_array_less(0, lc.planted["overturn_rate"].to_numpy())
