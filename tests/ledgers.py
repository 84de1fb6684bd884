"""Hypothesis strategies and tiny hand-built ledgers for tests."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import strategies as st

import ledgerkit as lk

T0 = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
CARCS = [
    ("CO", "45"),
    ("CO", "97"),
    ("CO", "16"),
    ("PR", "1"),
    ("PR", "2"),
    ("PR", "3"),
    ("PR", "204"),
    ("OA", "23"),
    ("PI", "59"),
    ("CO", "253"),
    ("OA", "18"),
    ("CR", "45"),
]


def make_ledger(encounters, procedures, entries, **kw) -> lk.Ledger:
    """Build a ledger from short row lists; fills defaults for brevity.

    encounters: list of (encounter_id, payer ids tuple)
    procedures: list of (encounter_id, line, cpt, charge_cents)
    entries: list of dicts with encounter_id, line, payer_seq, kind, amount_cents
             (+ group_code, carc, negates, entry_id optional)
    """
    enc = {
        "encounter_id": [e[0] for e in encounters],
        "service_date": [dt.date(2025, 2, 1)] * len(encounters),
    }
    for k in (1, 2, 3):
        enc[f"payer{k}_id"] = pa.array(
            [e[1][k - 1] if len(e[1]) >= k else None for e in encounters], pa.string()
        )
    proc = {
        "encounter_id": [p[0] for p in procedures],
        "line": pa.array([p[1] for p in procedures], pa.int32()),
        "cpt": [p[2] for p in procedures],
        "units": pa.array([1] * len(procedures), pa.int32()),
        "charge_cents": pa.array([p[3] for p in procedures], pa.int64()),
        "service_date": [dt.date(2025, 2, 1)] * len(procedures),
    }
    payers_of = {e[0]: e[1] for e in encounters}
    rows = []
    for i, e in enumerate(entries):
        seq = e["payer_seq"]
        row = {
            "entry_id": e.get("entry_id", i + 1),
            "encounter_id": e["encounter_id"],
            "line": e["line"],
            "payer_seq": seq,
            "payer_id": payers_of[e["encounter_id"]][seq - 1] if seq > 0 else None,
            "kind": e["kind"],
            "group_code": e.get("group_code"),
            "carc": e.get("carc"),
            "amount_cents": e["amount_cents"],
            "posted_at": e.get("posted_at", T0 + dt.timedelta(hours=i)),
            "negates": e.get("negates"),
            "source": e.get(
                "source", "remit" if e["kind"] in ("payment", "adjustment") else "manual"
            ),
        }
        rows.append(row)
    schema = pa.schema(
        [
            ("entry_id", pa.int64()),
            ("encounter_id", pa.string()),
            ("line", pa.int32()),
            ("payer_seq", pa.int8()),
            ("payer_id", pa.string()),
            ("kind", pa.string()),
            ("group_code", pa.string()),
            ("carc", pa.string()),
            ("amount_cents", pa.int64()),
            ("posted_at", pa.timestamp("us", tz="UTC")),
            ("negates", pa.int64()),
            ("source", pa.string()),
        ]
    )
    table = pa.Table.from_pylist(rows, schema=schema)
    return lk.Ledger.from_arrow(pa.table(enc), pa.table(proc), table, **kw)


@st.composite
def random_ledgers(draw, max_encounters=6):
    """Small random ledgers: several payers, negations, patient payments,
    write-offs, transfers, empty encounters and single-entry encounters."""
    n_enc = draw(st.integers(0, max_encounters))
    payer_pool = ["P1", "P2", "P3", "P4"]
    encounters, procedures, entries = [], [], []
    amount = st.integers(-5_000, 50_000)
    for e in range(n_enc):
        eid = f"E{e}"
        n_payers = draw(st.integers(0, 3))
        encounters.append((eid, tuple(payer_pool[:n_payers])))
        n_lines = draw(st.integers(0, 3))
        for line in range(1, n_lines + 1):
            charge = draw(st.integers(0, 40_000))
            procedures.append((eid, line, "99213", charge))
            if draw(st.booleans()):
                entries.append(
                    dict(
                        encounter_id=eid,
                        line=line,
                        payer_seq=min(n_payers, 1),
                        kind="charge",
                        amount_cents=charge,
                    )
                )
            for _ in range(draw(st.integers(0, 5))):
                kind = draw(
                    st.sampled_from(
                        [
                            "payment",
                            "adjustment",
                            "adjustment",
                            "patient_payment",
                            "write_off",
                            "transfer_to_pr",
                        ]
                    )
                )
                seq = draw(st.integers(0, n_payers)) if kind != "patient_payment" else 0
                if kind in ("payment", "adjustment", "transfer_to_pr") and n_payers == 0:
                    kind = "patient_payment"
                    seq = 0
                if kind in ("payment", "adjustment") and seq == 0:
                    seq = 1
                entry = dict(
                    encounter_id=eid,
                    line=line,
                    payer_seq=seq,
                    kind=kind,
                    amount_cents=draw(amount),
                )
                if kind in ("adjustment", "write_off", "transfer_to_pr"):
                    g, c = draw(st.sampled_from(CARCS))
                    entry.update(group_code=g, carc=c)
                entries.append(entry)
    # Shuffle posting order, then negate a few entries.
    order = draw(st.permutations(range(len(entries)))) if entries else []
    entries = [entries[i] for i in order]
    for i, e in enumerate(entries):
        e["entry_id"] = 10 * (i + 1)
    negatable = list(range(len(entries)))
    to_negate = (
        draw(st.lists(st.sampled_from(negatable), unique=True, max_size=3)) if negatable else []
    )
    base = 10 * (len(entries) + 1)
    for i in to_negate:
        original = entries[i]
        neg = dict(original)
        neg["amount_cents"] = -original["amount_cents"]
        neg["negates"] = original["entry_id"]
        neg["entry_id"] = base + i
        entries.append(neg)
    return make_ledger(encounters, procedures, entries)
