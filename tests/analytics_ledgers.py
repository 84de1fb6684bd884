"""Hand-built ledgers for the denial analytics tests (dates, providers and payers set).

Every expected value in the tests is worked out by hand from these rows.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from ledgers import make_ledger

import ledgerkit as lk


def at(day: str) -> dt.datetime:
    """Posting time: 14:00 UTC on an ISO date."""
    return dt.datetime.fromisoformat(day).replace(hour=14, tzinfo=dt.UTC)


def build(encounters, procedures, entries, payers) -> lk.Ledger:
    """encounters: (id, payers, service date, provider, location); payers: rows."""
    base = make_ledger([(e[0], e[1]) for e in encounters], procedures, entries)
    enc = base.encounters
    service = pa.array([dt.date.fromisoformat(e[2]) for e in encounters], pa.date32())
    enc = enc.set_column(enc.schema.get_field_index("service_date"), "service_date", service)
    for name, i in (("provider_id", 3), ("location_id", 4)):
        col = pa.array([e[i] for e in encounters], pa.string()).dictionary_encode()
        enc = enc.set_column(enc.schema.get_field_index(name), name, col)
    payer_table = pa.table(
        {
            "payer_id": [p[0] for p in payers],
            "name": [p[0] for p in payers],
            "payer_class": [p[1] for p in payers],
            "timely_filing_days": pa.array([p[2] for p in payers], pa.int32()),
            "appeal_days": pa.array([p[3] for p in payers], pa.int32()),
        }
    )
    return lk.Ledger.from_arrow(enc, base.procedures, base.entries, payer_table)


def rows(eid, line, items):
    """(payer_seq, kind, amount, day[, group, carc[, negates, entry_id]]) -> entry dicts."""
    out = []
    for seq, kind, amount, day, *rest in items:
        e = dict(
            encounter_id=eid,
            line=line,
            payer_seq=seq,
            kind=kind,
            amount_cents=amount,
            posted_at=at(day),
        )
        if rest:
            e.update(group_code=rest[0], carc=rest[1])
        if len(rest) > 2:
            e.update(negates=rest[2], entry_id=rest[3])
        out.append(e)
    return out


PAYERS = [("P1", "commercial", 90, 60), ("P2", "medicare", 365, 120)]


def metrics_ledger() -> lk.Ledger:
    """Six encounters worked out by hand in tests/test_metrics.py.

    E1 P1 Jan DR1: 99213 $100, first remit 01-20 paid 60 + CO-45 40 (paid).
    E2 P1 Jan DR1: 99213 $100, 01-20 paid 0 + CO-50 100 (denied); 02-15 the
       denial is negated, paid 70 + CO-45 30 (overturned, resolved in 26 days).
    E3 P1 Feb DR2: 99214 $200 paid 120 + CO-45 80; 36415 $30 paid 0 + CO-97 30
       (partial denial, still open), remit 02-20.
    E4 P2 Feb DR2: 99213 $100, 02-25 paid 0 + CO-197 100; 03-10 written off
       (resolved in 13 days).
    E5 P2 Feb DR1: 99214 $200, no remit (awaiting).
    E6 self-pay Jan DR1: 99213 $50 (not a claim).
    """
    encounters = [
        ("E1", ("P1",), "2025-01-10", "DR1", "L1"),
        ("E2", ("P1",), "2025-01-10", "DR1", "L1"),
        ("E3", ("P1",), "2025-02-05", "DR2", "L2"),
        ("E4", ("P2",), "2025-02-10", "DR2", "L2"),
        ("E5", ("P2",), "2025-02-10", "DR1", "L1"),
        ("E6", (), "2025-01-10", "DR1", "L1"),
    ]
    procedures = [
        ("E1", 1, "99213", 10000),
        ("E2", 1, "99213", 10000),
        ("E3", 1, "99214", 20000),
        ("E3", 2, "36415", 3000),
        ("E4", 1, "99213", 10000),
        ("E5", 1, "99214", 20000),
        ("E6", 1, "99213", 5000),
    ]
    entries = []
    entries += rows(
        "E1",
        1,
        [
            (1, "charge", 10000, "2025-01-11"),
            (1, "payment", 6000, "2025-01-20"),
            (1, "adjustment", 4000, "2025-01-20", "CO", "45"),
        ],
    )
    entries += rows(
        "E2",
        1,
        [
            (1, "charge", 10000, "2025-01-11", None, None, None, 101),
            (1, "payment", 0, "2025-01-20", None, None, None, 102),
            (1, "adjustment", 10000, "2025-01-20", "CO", "50", None, 103),
            (1, "adjustment", -10000, "2025-02-15", "CO", "50", 103, 104),
            (1, "payment", 7000, "2025-02-15", None, None, None, 105),
            (1, "adjustment", 3000, "2025-02-15", "CO", "45", None, 106),
        ],
    )
    entries += rows(
        "E3",
        1,
        [
            (1, "charge", 20000, "2025-02-06"),
            (1, "payment", 12000, "2025-02-20"),
            (1, "adjustment", 8000, "2025-02-20", "CO", "45"),
        ],
    )
    entries += rows(
        "E3",
        2,
        [
            (1, "charge", 3000, "2025-02-06"),
            (1, "payment", 0, "2025-02-20"),
            (1, "adjustment", 3000, "2025-02-20", "CO", "97"),
        ],
    )
    entries += rows(
        "E4",
        1,
        [
            (1, "charge", 10000, "2025-02-11"),
            (1, "payment", 0, "2025-02-25"),
            (1, "adjustment", 10000, "2025-02-25", "CO", "197"),
            (1, "write_off", 10000, "2025-03-10", "CO", "A2"),
        ],
    )
    entries += rows("E5", 1, [(1, "charge", 20000, "2025-02-11")])
    entries += rows("E6", 1, [(0, "charge", 5000, "2025-01-11")])
    # Unique entry ids: the rows without one get 1..n (E2 uses 101..106).
    for i, e in enumerate(entries):
        e.setdefault("entry_id", i + 1)
    return build(encounters, procedures, entries, PAYERS)
