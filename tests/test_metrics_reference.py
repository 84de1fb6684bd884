"""Every metric of ``ledgerkit.metrics`` against its plain reference (reference_metrics).

Random ledgers: ``random_ledgers`` with service dates over several months,
providers, locations, CPTs, payer classes, denial-heavy CARCs and posting
days close together (so first responses, later payments and reversals mix).
Counts and cents compare exactly; rates too (both sides are one correctly
rounded division of two integers); median and p90 days within 1e-9.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
import reference_metrics as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from ledgers import CARCS, make_ledger, random_ledgers

import ledgerkit as lk
from ledgerkit.analytics import metrics
from ledgerkit.core.catalog import CarcCatalog

PAYERS = pa.table(
    {
        # Every payer of an encounter needs a row (issue #13 finding 8); P4 is "other".
        "payer_id": ["P1", "P2", "P3", "P4"],
        "name": ["Medicare", "Commercial", "Medicaid", "Other"],
        "payer_class": ["medicare", "commercial", "medicaid", "other"],
        "timely_filing_days": pa.array([365, 180, 180, 365], pa.int32()),
        "appeal_days": pa.array([120, 180, 60, 180], pa.int32()),
    }
)
# Denials of several categories, avoidable (16, 197, 29, OA-18) and not (50, PI-59).
DENIALS = [("CO", "50"), ("CO", "197"), ("CO", "29"), ("CO", "16"), ("OA", "18"), ("PI", "59")]
REASONS = CARCS + DENIALS + DENIALS
CPTS = ["99213", "99214", "36415"]
PROVIDERS = ["DR1", "DR2", None]
LOCATIONS = ["L1", "L2", None]
# Days from service to T0: aging bucket edges, a future date, several months.
AGES = [-3, 0, 1, 29, 30, 31, 45, 60, 61, 90, 91, 120, 121, 150]
T0 = dt.datetime(2025, 2, 26, 9, tzinfo=dt.UTC)  # posting days cross a month end
TODAYS = [None, None, "2025-02-26", "2025-02-27", "2025-01-15", dt.date(2025, 6, 30)]
AMOUNTS = ("balance", "payer_balance", "open_pr")


def _decorate(draw, ledger: lk.Ledger) -> lk.Ledger:
    """Service dates over several months, providers, locations, CPTs, units, payer classes."""
    enc = ledger.encounters
    n_enc, n_proc = enc.num_rows, ledger.procedures.num_rows
    enc_cols = {
        "service_date": pa.array(
            [T0.date() - dt.timedelta(days=draw(st.sampled_from(AGES))) for _ in range(n_enc)],
            pa.date32(),
        ),
        "provider_id": pa.array([draw(st.sampled_from(PROVIDERS)) for _ in range(n_enc)]),
        "location_id": pa.array([draw(st.sampled_from(LOCATIONS)) for _ in range(n_enc)]),
    }
    for name, values in enc_cols.items():
        enc = enc.set_column(enc.schema.get_field_index(name), name, values)
    proc = ledger.procedures
    proc_cols = {
        "cpt": pa.array([draw(st.sampled_from(CPTS)) for _ in range(n_proc)], pa.string()),
        "units": pa.array(
            [draw(st.sampled_from([1, 1, 2, 3])) for _ in range(n_proc)], pa.int32()
        ),
    }
    for name, values in proc_cols.items():
        proc = proc.set_column(proc.schema.get_field_index(name), name, values)
    return lk.Ledger.from_arrow(enc, proc, ledger.entries, PAYERS)


@st.composite
def noisy_ledgers(draw, max_encounters=6):
    """``random_ledgers`` with denial CARCs and posting days 0-4 days apart."""
    base = draw(random_ledgers(max_encounters=max_encounters))
    rows = base.entries.to_pylist()
    reasons = {}
    for row in rows:
        if row["kind"] in ("adjustment", "write_off", "transfer_to_pr") and row["negates"] is None:
            row["group_code"], row["carc"] = draw(st.sampled_from(REASONS))
            reasons[row["entry_id"]] = (row["group_code"], row["carc"])
        hours = draw(st.integers(0, 4)) * 24 + draw(st.integers(0, 10))
        row["posted_at"] = T0 + dt.timedelta(hours=hours)
    for row in rows:  # a negation restates the reason of the entry it negates
        if row["negates"] in reasons:
            row["group_code"], row["carc"] = reasons[row["negates"]]
    entries = pa.Table.from_pylist(rows, schema=base.entries.schema)
    ledger = lk.Ledger.from_arrow(base.encounters, base.procedures, entries)
    return _decorate(draw, ledger)


FOLLOW_UPS = [
    *("none", "overturn", "partial", "write_off", "to_pr", "secondary", "repost"),
    *("overturn", "write_off", "to_pr"),  # ways to resolve a denial, twice as likely
]


@st.composite
def story_ledgers(draw, max_encounters=5):
    """Claims worked the usual way: a first remit that pays, adjusts and denies,
    then (days later) nothing, an overturn (denial negated, paid), a partial
    payment, a write-off, a transfer to PR, a secondary payer's remit, or a
    reversed and re-posted payment."""
    encounters, procedures, entries = [], [], []
    n_enc = draw(st.integers(1, max_encounters))

    def post(eid, line, seq, kind, amount, day, reason=(None, None), negates=None):
        entries.append(
            dict(
                entry_id=len(entries) + 1,
                encounter_id=eid,
                line=line,
                payer_seq=seq,
                kind=kind,
                amount_cents=amount,
                group_code=reason[0],
                carc=reason[1],
                negates=negates,
                posted_at=T0 + dt.timedelta(days=day, hours=draw(st.integers(0, 10))),
            )
        )
        return len(entries)

    for e in range(n_enc):
        eid = f"S{e}"
        n_payers = draw(st.sampled_from([0, 1, 1, 2]))
        payers = ("P1", "P2", "P3", "P4")[draw(st.integers(0, 3)) :][:n_payers]
        encounters.append((eid, payers))
        first = draw(st.integers(0, 3))  # the first response's day
        plan = draw(st.sampled_from(FOLLOW_UPS))  # what usually happens next on its lines
        for line in range(1, draw(st.sampled_from([1, 2, 3, 3])) + 1):
            charge = draw(st.sampled_from([0, 5000, 10000, 12000]))
            procedures.append((eid, line, "99213", charge))
            post(eid, line, min(len(payers), 1), "charge", charge, 0)
            if not payers or draw(st.integers(0, 5)) == 0:
                continue  # self-pay, or no remit yet
            day = first + draw(st.sampled_from([0, 0, 0, 1]))  # some lines a day late
            denied = draw(st.sampled_from([0, charge, charge // 2, charge // 4]))
            paid = draw(st.integers(0, charge - denied))
            payment = post(eid, line, 1, "payment", paid, day)
            post(eid, line, 1, "adjustment", charge - denied - paid, day, ("CO", "45"))
            denials = []
            if denied and draw(st.booleans()):  # two equal denials: the first posted wins
                for _ in range(2):
                    reason = draw(st.sampled_from(DENIALS))
                    denials.append(post(eid, line, 1, "adjustment", denied // 2, day, reason))
                denied = denied // 2 * 2
            elif denied:
                reason = draw(st.sampled_from(DENIALS))
                denials.append(post(eid, line, 1, "adjustment", denied, day, reason))
            later = day + draw(st.integers(1, 60))
            what = plan if draw(st.integers(0, 3)) else draw(st.sampled_from(FOLLOW_UPS))
            if what == "overturn" and denials:
                for i in denials:
                    post(
                        eid,
                        line,
                        1,
                        "adjustment",
                        -entries[i - 1]["amount_cents"],
                        later,
                        (entries[i - 1]["group_code"], entries[i - 1]["carc"]),
                        i,
                    )
                extra = draw(st.sampled_from([0, 1, 700, -1]))  # over- and underpaid too
                post(eid, line, 1, "payment", denied + extra, later)
            elif what == "partial":
                paid_later = draw(st.sampled_from([1, denied // 2, denied + 300]))
                post(eid, line, 1, "payment", paid_later, later)
            elif what == "write_off":
                post(eid, line, 1, "write_off", denied, later, ("CO", "A2"))
            elif what == "to_pr":
                post(eid, line, 1, "transfer_to_pr", denied, later, ("PR", "204"))
            elif what == "secondary" and len(payers) > 1:
                post(eid, line, 2, "payment", denied // 2, later)
                post(eid, line, 2, "adjustment", denied - denied // 2, later, ("OA", "23"))
            elif what == "repost":
                post(eid, line, 1, "payment", -paid, later, negates=payment)
                post(eid, line, 1, "payment", paid, later)
    order = draw(st.permutations(range(len(entries))))
    return _decorate(draw, make_ledger(encounters, procedures, [entries[i] for i in order]))


def metric_ledgers():
    """Mostly worked claims, a third of the time noise."""
    return st.one_of(noisy_ledgers(), story_ledgers(), story_ledgers())


def by_options(dimensions=ref.DIMENSIONS):
    return st.one_of(
        st.none(),
        st.sampled_from(dimensions),
        st.lists(st.sampled_from(dimensions), unique=True, min_size=1, max_size=3),
    )


# Every dimension alone, then a few combinations (reason and non-reason mixed).
BYS = [
    None,
    *ref.DIMENSIONS,
    ("payer", "carc"),
    ("month", "cpt", "category"),
]
CATALOG = CarcCatalog.default()  # read once: the default catalogue costs a CSV read


def assert_same(got: pa.Table, want: list[dict], approx=()):
    got_rows = got.to_pylist()
    assert len(got_rows) == len(want), (got_rows, want)
    for g, w in zip(got_rows, want, strict=True):
        assert list(g) == list(w), (list(g), list(w))
        for name in w:
            if name in approx and w[name] is not None and g[name] is not None:
                assert g[name] == pytest.approx(w[name], abs=1e-9), (name, g, w)
            else:
                assert g[name] == w[name], (name, g, w)


SETTINGS = settings(max_examples=25, deadline=None)
PAIRS = [
    (metrics.initial_denial_rate, ref.initial_denial_rate_ref),
    (metrics.avoidable_denial_rate, ref.avoidable_denial_rate_ref),
    (metrics.denial_dollars, ref.denial_dollars_ref),
    (metrics.overturn_rate, ref.overturn_rate_ref),
    (metrics.days_to_resolution, ref.days_to_resolution_ref),
    (metrics.open_denial_dollars, ref.open_denial_dollars_ref),
]


def test_every_metric_has_a_reference():
    names = {f.__name__ for f, _ in PAIRS} | {"aging"}
    assert names == set(metrics.METRIC_NAMES)


@pytest.mark.parametrize("metric, reference", PAIRS, ids=[f.__name__ for f, _ in PAIRS])
@SETTINGS
@given(ledger=metric_ledgers(), by=by_options())
def test_metric_matches_reference(metric, reference, ledger, by):
    for by in [*BYS, by]:
        got = metric(ledger, by=by, catalog=CATALOG)
        want = reference(ledger, by=by, catalog=CATALOG)
        assert_same(got, want, ("median_days", "p90_days"))


@SETTINGS
@given(
    ledger=metric_ledgers(),
    by=by_options(),
    today=st.sampled_from(TODAYS),
    amount=st.sampled_from(AMOUNTS),
)
def test_aging_matches_reference(ledger, by, today, amount):
    for by in [*BYS, by]:
        got = metrics.aging(ledger, by=by, today=today, amount=amount, catalog=CATALOG)
        want = ref.aging_ref(ledger, by=by, today=today, amount=amount, catalog=CATALOG)
        assert_same(got, want)


@settings(max_examples=20, deadline=None)
@given(ledger=metric_ledgers(), by=by_options(("payer", "carc", "category")))
def test_avoidable_follows_a_catalogue_override(ledger, by):
    catalog = CATALOG.override("50", avoidable=True, category="coding")
    assert_same(
        metrics.avoidable_denial_rate(ledger, by=by, catalog=catalog),
        ref.avoidable_denial_rate_ref(ledger, by=by, catalog=catalog),
    )


def test_references_on_the_hand_ledger():
    """The references agree with the figures worked out by hand in test_metrics."""
    from analytics_ledgers import metrics_ledger

    ledger = metrics_ledger()
    (row,) = ref.initial_denial_rate_ref(ledger, by=None)
    assert (row["claims"], row["responded"], row["denied_claims"]) == (5, 4, 3)
    assert (row["charge_cents"], row["denied_cents"]) == (73000, 23000)
    (row,) = ref.overturn_rate_ref(ledger, by=None)
    assert (row["denied_claims"], row["overturned_claims"], row["recovered_cents"]) == (3, 1, 7000)
    for metric, reference in PAIRS:
        for by in (None, *ref.DIMENSIONS):
            assert_same(
                metric(ledger, by=by), reference(ledger, by=by), ("median_days", "p90_days")
            )


def test_reference_row_order_is_first_appearance_for_plain_labels():
    """Payers list in the order they first appear, not alphabetically."""
    ledger = make_ledger(
        [("E1", ("P3",)), ("E2", ("P1",))],
        [("E1", 1, "99213", 100), ("E2", 1, "99213", 100)],
        [],
    )
    assert [r["payer"] for r in ref.initial_denial_rate_ref(ledger, by="payer")] == ["P3", "P1"]
    assert metrics.initial_denial_rate(ledger, by="payer")["payer"].to_pylist() == ["P3", "P1"]


def test_a_claim_resolves_with_its_last_denied_line():
    """Two lines denied 03-01: one written off 03-05, one moved to PR 03-21 -> 20 days;
    a payment negated (and re-posted) with a negation stamped 02-27 does not move the
    first response."""
    from analytics_ledgers import PAYERS as HAND_PAYERS
    from analytics_ledgers import build, rows

    entries = rows(
        "E1",
        1,
        [
            (1, "charge", 10000, "2025-02-20"),
            (1, "payment", 4000, "2025-03-01"),
            (1, "adjustment", 6000, "2025-03-01", "CO", "50"),
            (1, "write_off", 6000, "2025-03-05", "CO", "A2"),
            (1, "payment", -4000, "2025-02-27", None, None, 2, 99),
            (1, "payment", 4000, "2025-03-01"),
        ],
    ) + rows(
        "E1",
        2,
        [
            (1, "charge", 5000, "2025-02-20"),
            (1, "payment", 0, "2025-03-01"),
            (1, "adjustment", 5000, "2025-03-01", "CO", "197"),
            (1, "transfer_to_pr", 5000, "2025-03-21", "PR", "204"),
        ],
    )
    for i, e in enumerate(entries):
        e.setdefault("entry_id", i + 1)
    ledger = build(
        [("E1", ("P1",), "2025-02-15", "DR1", "L1")],
        [("E1", 1, "99213", 10000), ("E1", 2, "36415", 5000)],
        entries,
        HAND_PAYERS,
    )
    (row,) = metrics.days_to_resolution(ledger, by=None).to_pylist()
    assert (row["resolved_claims"], row["mean_days"]) == (1, 20.0)
    (lag,) = lk.payer_behaviour.remit_lag(ledger).to_pylist()
    assert (lag["remits"], lag["max_days"]) == (1, 14.0)
    from reference_trends import remit_lag_ref

    assert_same(lk.payer_behaviour.remit_lag(ledger), remit_lag_ref(ledger))
    for metric, reference in PAIRS:
        for by in BYS:
            assert_same(
                metric(ledger, by=by), reference(ledger, by=by), ("median_days", "p90_days")
            )
