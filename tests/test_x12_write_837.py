"""Round trips ledger -> write_837 -> read_837 -> Ledger.from_837: the same encounters,
procedures and charges, for synthetic ledgers and for arbitrary ones (hypothesis)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ledgerkit as lk
from ledgerkit.x12.write_claims import format_837

ENC_COLS = ["encounter_id", "site_id", "provider_id", "location_id", "place_of_service",
            "service_date", "payer1_id", "payer2_id", "payer3_id"]  # fmt: skip
PROC_COLS = ["encounter_id", "line", "cpt", "modifiers", "units", "charge_cents",
             "service_date", "line_control_number"]  # fmt: skip


def _plain(table: pa.Table, cols) -> list[tuple]:
    out = []
    for row in table.select(cols).to_pylist():
        out.append(tuple(row[c] for c in cols))
    return sorted(out, key=lambda r: tuple("" if v is None else str(v) for v in r))


def _insured(ledger: lk.Ledger):
    enc = ledger.encounters.filter(pc.is_valid(ledger.encounters["payer1_id"]))
    ids = enc["encounter_id"]
    proc = ledger.procedures.filter(pc.is_in(ledger.procedures["encounter_id"], ids))
    ent = ledger.entries.filter(
        pc.and_(pc.is_in(ledger.entries["encounter_id"], ids),
                pc.equal(ledger.entries["kind"].cast(pa.string()), "charge"))
    )  # fmt: skip
    return enc, proc, ent


def assert_round_trip(ledger: lk.Ledger):
    back = lk.Ledger.from_837(lk.read_837(format_837(ledger), salt="round-trip"))
    enc, proc, charges = _insured(ledger)
    cast = [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in enc.columns]
    enc = pa.table(cast, names=enc.column_names)
    back_enc = back.encounters
    back_enc = pa.table(
        [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in back_enc.columns],
        names=back_enc.column_names,
    )
    assert _plain(back_enc, ENC_COLS) == _plain(enc, ENC_COLS)

    def procs(t):
        cols = [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in t.columns]
        return _plain(pa.table(cols, names=t.column_names), PROC_COLS)

    assert procs(back.procedures) == procs(proc)
    charge_rows = ["encounter_id", "line", "payer_seq", "amount_cents"]
    ent = charges.select(charge_rows + ["payer_id"])
    back_ent = back.entries.select(charge_rows + ["payer_id"])
    assert _plain(back_ent.cast(pa.schema([f.with_type(pa.string()) if f.name == "payer_id"
                                           else f for f in back_ent.schema])),
                  charge_rows) == _plain(ent, charge_rows)  # fmt: skip
    # patients: the same people stay the same people (keys are salted pseudonyms)
    old_keys = dict(zip(enc["encounter_id"].to_pylist(), enc["patient_key"].to_pylist(),
                        strict=True))  # fmt: skip
    new_keys = dict(zip(back_enc["encounter_id"].to_pylist(),
                        back_enc["patient_key"].to_pylist(), strict=True))  # fmt: skip
    pairs = {(old_keys[e], new_keys[e]) for e in old_keys}
    assert len({a for a, _ in pairs}) == len({b for _, b in pairs}) == len(pairs)
    # payer classes survive through the filing indicator
    named = set(back.payers["payer_id"].to_pylist())
    old = {r["payer_id"]: r["payer_class"] for r in ledger.payers.to_pylist()}
    new = {r["payer_id"]: r["payer_class"] for r in back.payers.to_pylist()}
    assert {p: new[p] for p in named} == {p: old[p] for p in named}
    return back


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 60), seed=st.integers(0, 2**16))
def test_synthetic_ledgers_round_trip(n, seed):
    assert_round_trip(lk.synth.generate(n, seed=seed))


def test_synthetic_round_trip_counts():
    ledger = lk.synth.generate(200, seed=7)
    back = assert_round_trip(ledger)
    insured = pc.sum(pc.is_valid(ledger.encounters["payer1_id"])).as_py()
    assert back.encounters.num_rows == insured


# CPT (four digits and a digit or F/T/U/M) or HCPCS (a letter and four digits): read_837
# withholds any other HC code as an invalid_code
DIGITS = st.text("0123456789", min_size=4, max_size=4)
CODE = st.one_of(
    st.builds(lambda d, last: d + last, DIGITS, st.sampled_from("0123456789FTUM")),
    st.builds(lambda first, d: first + d, st.sampled_from("ABCDEGHJKLMPQRSTV"), DIGITS),
)
IDENT = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=12)


@st.composite
def arbitrary_ledgers(draw):
    n = draw(st.integers(1, 6))
    ids = draw(st.lists(IDENT, min_size=n, max_size=n, unique=True))
    payer_ids = ["P1", "P2", "P3"]
    enc = {c: [] for c in ["encounter_id", "patient_key", "site_id", "provider_id",
                           "location_id", "place_of_service", "service_date", "payer1_id",
                           "payer2_id", "payer3_id"]}  # fmt: skip
    proc = {c: [] for c in PROC_COLS}
    for e in ids:
        day = dt.date(2024, 1, 1) + dt.timedelta(days=draw(st.integers(0, 700)))
        k = draw(st.integers(1, 3))
        enc["encounter_id"].append(e)
        enc["patient_key"].append(draw(st.sampled_from(["A", "B", "C", None])))
        enc["site_id"].append(draw(st.sampled_from(["1234567893", "SITE2"])))
        enc["provider_id"].append(draw(st.one_of(st.none(), IDENT)))
        enc["location_id"].append(draw(st.one_of(st.none(), IDENT)))
        enc["place_of_service"].append(draw(st.sampled_from(["11", "22", "23"])))
        enc["service_date"].append(day)
        for j in (1, 2, 3):
            enc[f"payer{j}_id"].append(payer_ids[j - 1] if j <= k else None)
        for line in range(1, draw(st.integers(1, 5)) + 1):
            mods = draw(st.lists(st.sampled_from(["25", "59", "GP", "RT", "LT"]), max_size=4))
            proc["encounter_id"].append(e)
            proc["line"].append(line)
            proc["cpt"].append(draw(CODE))
            proc["modifiers"].append(":".join(mods) or None)
            proc["units"].append(draw(st.integers(1, 99)))
            proc["charge_cents"].append(draw(st.integers(0, 10**11)))
            proc["service_date"].append(day + dt.timedelta(days=draw(st.integers(0, 3))))
            proc["line_control_number"].append(draw(st.one_of(st.none(), IDENT)))
    classes = draw(st.lists(st.sampled_from(["medicare", "medicaid", "commercial", "other",
                                             "workers_comp", "medicare_advantage"]),
                            min_size=3, max_size=3))  # fmt: skip
    payers = {"payer_id": payer_ids, "name": ["ONE", "TWO", "THREE"], "payer_class": classes,
              "timely_filing_days": [365] * 3, "appeal_days": [180] * 3}  # fmt: skip
    entries = {
        "entry_id": list(range(len(proc["line"]))),
        "encounter_id": proc["encounter_id"],
        "line": proc["line"],
        "payer_seq": [1] * len(proc["line"]),
        "payer_id": [enc["payer1_id"][ids.index(e)] for e in proc["encounter_id"]],
        "kind": ["charge"] * len(proc["line"]),
        "amount_cents": proc["charge_cents"],
        "posted_at": [dt.datetime(2025, 1, 1, tzinfo=dt.UTC)] * len(proc["line"]),
        "source": ["charge"] * len(proc["line"]),
    }
    return lk.Ledger.from_arrow(pa.table(enc), pa.table(proc), pa.table(entries),
                                pa.table(payers))  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(ledger=arbitrary_ledgers())
def test_arbitrary_ledgers_round_trip(ledger):
    assert_round_trip(ledger)


def test_separator_in_a_value_is_refused_by_row():
    ledger = lk.synth.generate(3, seed=1)
    procs = ledger.procedures.set_column(
        ledger.procedures.schema.get_field_index("line_control_number"),
        "line_control_number",
        pa.array(["A*B"] + [None] * (ledger.procedures.num_rows - 1), pa.string()),
    )
    bad = lk.Ledger.from_arrow(ledger.encounters, procs, ledger.entries, ledger.payers)
    with pytest.raises(ValueError, match="procedures row 0") as info:
        format_837(bad)
    assert "A*B" not in str(info.value)
