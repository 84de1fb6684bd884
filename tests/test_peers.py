"""compare.py's polars and DuckDB peers answer exactly what ``lk.classify`` does (issue #19).

The peers (``benchmarks/peers.py``) are rewritten for speed; every figure they print a
time for must still be ledgerkit's table: checked here on a hand-built ledger with its
cents worked out, on random small ledgers (several payers, negations, self-pay,
payer-0 write-offs, CARCs only a fallback row covers, empty encounters), on a
synthetic ledger, and read back from Parquet.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from ledgers import make_ledger, random_ledgers

import ledgerkit as lk
from benchmarks import compare, peers

ENGINES = ("polars", "duckdb")


def _peer_tables(ledger) -> dict:
    return {
        "entries": ledger.entries,
        "encounters": ledger.encounters,
        "policy": peers.policy_table(ledger.policy),
    }


def _peer(engine, ledger):
    return getattr(peers, f"{engine}_from_arrow")(**_peer_tables(ledger))


def _rows(table) -> dict:
    """encounter id -> (class, stage, balance, allowed, open_pr, payer_balance)."""
    if not isinstance(table, pa.Table):
        table = table.to_arrow()
    ids = table.sort_by("encounter_id")["encounter_id"].to_pylist()
    figures = compare._normalise(table)
    return {eid: tuple(figures[c][i] for c in compare.CHECK) for i, eid in enumerate(ids)}


def _by_id(table) -> dict:
    rows = table if isinstance(table, list) else table.to_pylist()
    return {r["encounter_id"]: r for r in rows}


def _assert_same_as_ledgerkit(ledger, got, engine):
    want = compare._normalise(lk.classify(ledger))
    got = compare._normalise(got)
    for column in compare.CHECK:
        assert got[column] == want[column], f"{engine} differs from ledgerkit on {column}"


def _hand_ledger():
    def rows(eid, line, items):
        return [dict(encounter_id=eid, line=line, payer_seq=s, kind=k, amount_cents=a,
                     group_code=g, carc=c) for s, k, a, g, c in items]  # fmt: skip

    entries = (
        # E1: paid, the patient's part partly paid and the rest written off by payer 0
        rows(
            "E1",
            1,
            [
                (1, "charge", 10000, None, None),
                (1, "payment", 6000, None, None),
                (1, "adjustment", 3000, "CO", "45"),
                (1, "adjustment", 1000, "PR", "2"),
                (0, "patient_payment", 400, None, None),
                (0, "write_off", 600, "PR", "2"),
            ],
        )
        # E2: self-pay, nothing adjudicated
        + rows(
            "E2", 1, [(0, "charge", 5000, None, None), (0, "patient_payment", 2000, None, None)]
        )
        # E3: three payers; line 1 paid by all (PR of payer 3 only), line 2 denied
        # entirely by payer 1 with a CARC only the CO fallback row covers (CO-97)
        + rows(
            "E3",
            1,
            [
                (1, "charge", 20000, None, None),
                (1, "payment", 8000, None, None),
                (1, "adjustment", 5000, "CO", "45"),
                (1, "adjustment", 7000, "PR", "1"),
                (2, "payment", 5000, None, None),
                (2, "adjustment", 2000, "PR", "2"),
                (3, "payment", 1500, None, None),
                (3, "adjustment", 500, "PR", "3"),
            ],
        )
        + rows("E3", 2, [(1, "charge", 3000, None, None), (1, "adjustment", 3000, "CO", "97")])
        # E4: the only payment negated: nothing live adjudicates
        + rows("E4", 1, [(1, "charge", 4000, None, None), (1, "payment", 4000, None, None)])
    )
    for i, row in enumerate(entries):
        row["entry_id"] = i + 1
    payment = next(r for r in entries if r["encounter_id"] == "E4" and r["kind"] == "payment")
    entries.append(dict(payment, entry_id=len(entries) + 1, amount_cents=-4000,
                        negates=payment["entry_id"]))  # fmt: skip
    return make_ledger(
        [("E1", ("P1",)), ("E2", ()), ("E3", ("P1", "P2", "P3")), ("E4", ("P1",))],
        [
            ("E1", 1, "99213", 10000),
            ("E2", 1, "99213", 5000),
            ("E3", 1, "99214", 20000),
            ("E3", 2, "99215", 3000),
            ("E4", 1, "99213", 4000),
        ],  # fmt: skip
        entries,
    )


# class, stage, balance, allowed, open_pr, payer_balance (cents)
HAND_EXPECTED = {
    # 10000 - 6000 - 400 - 3000 - 600 = 0; allowed 6000 + PR 1000; PR 1000 - 400 - 600
    "E1": ("PAID", "finalized", 0, 7000, 0, 0),
    # self-pay: everything open is the patient's
    "E2": ("AWAITING", "patient", 3000, 0, 3000, 0),
    # line 1: 20000 - 14500 - 5000 = 500, allowed 14500 + PR-3 500, open PR 500;
    # line 2: 3000 open, allowed 0 with a live denial: denied entirely
    "E3": ("PARTIAL_DENIAL", "payer_3", 3500, 15000, 500, 3000),
    # the negated payment and its negation cancel, neither adjudicates
    "E4": ("AWAITING", "payer_1", 4000, 0, 0, 4000),
}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_hand_built_ledger_to_the_cent(engine):
    ledger = _hand_ledger()
    expected = {eid: dict(zip(compare.CHECK, row, strict=True))
                for eid, row in HAND_EXPECTED.items()}  # fmt: skip
    want = {
        eid: {c: r[c] for c in compare.CHECK} for eid, r in _by_id(lk.classify(ledger)).items()
    }
    assert want == expected  # the worked figures are ledgerkit's
    assert _rows(_peer(engine, ledger)) == {eid: tuple(r.values()) for eid, r in expected.items()}


@settings(max_examples=40)
@given(random_ledgers(max_encounters=8))
def test_both_peers_equal_classify_on_random_ledgers(ledger):
    for engine in ENGINES:
        _assert_same_as_ledgerkit(ledger, _peer(engine, ledger), engine)


@pytest.mark.parametrize("seed", [0, 3])
def test_both_peers_equal_classify_on_a_synthetic_ledger(seed):
    ledger = lk.synth.generate(400, seed=seed)
    # the ledger exercises what the peers must get right
    classes = set(lk.classify(ledger)["class"].to_pylist())
    assert {"AWAITING", "DENIAL", "PARTIAL_DENIAL", "UNRESOLVED", "PAID"} <= classes
    assert ledger.entries["negates"].null_count < ledger.entries.num_rows
    for engine in ENGINES:
        _assert_same_as_ledgerkit(ledger, _peer(engine, ledger), engine)


def test_both_peers_read_the_same_answer_from_parquet(tmp_path):
    ledger = _hand_ledger()
    folder = compare.write_folder(ledger, tmp_path)
    policy = folder.parent / "policy.parquet"
    for engine in ENGINES:
        got = getattr(peers, f"{engine}_from_parquet")(folder, policy)
        assert _rows(got) == _rows(_peer(engine, ledger)), engine
        _assert_same_as_ledgerkit(ledger, got, engine)


def test_the_warm_preparation_keeps_the_ids_the_ledger_has():
    """polars' preparation makes the encounter ids Categorical; its answer gives them back
    as strings, in the same rows as ledgerkit's."""
    ledger = _hand_ledger()
    frames = compare._prepare_polars(_peer_tables(ledger))
    out = compare._polars(frames)
    assert str(out.schema["encounter_id"]) == "String"
    assert sorted(out["encounter_id"].to_list()) == ["E1", "E2", "E3", "E4"]
