"""Appending without rebuilding: the merged keys kernel and the encounter id index."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerkit._kernels.keys import merge_appended_nb
from ledgerkit.core.id_index import IdIndex


def merge_appended_ref(old_proc_rows, old_live, new_proc, negated, n_proc):
    """Grouped order of old rows + new rows by a stable sort of every row's procedure."""
    n_old = len(old_proc_rows)
    proc = np.concatenate([old_proc_rows, new_proc]).astype(np.int64)
    order = np.argsort(proc, kind="stable")
    start = np.searchsorted(proc[order], np.arange(n_proc + 1))
    live_rows = np.concatenate([old_live, np.ones(len(new_proc), bool)]) & ~negated
    return start, order, live_rows[order], n_old


@st.composite
def appends(draw):
    n_proc = draw(st.integers(1, 8))
    n_old = draw(st.integers(0, 25))
    n_new = draw(st.integers(0, 25))
    old_proc = np.array(draw(st.lists(st.integers(0, n_proc - 1), min_size=n_old,
                                      max_size=n_old)), np.int64)  # fmt: skip
    new_proc = np.array(draw(st.lists(st.integers(0, n_proc - 1), min_size=n_new,
                                      max_size=n_new)), np.int64)  # fmt: skip
    negated = np.array(draw(st.lists(st.booleans(), min_size=n_old + n_new,
                                     max_size=n_old + n_new)), bool)  # fmt: skip
    old_live = np.array(draw(st.lists(st.booleans(), min_size=n_old, max_size=n_old)), bool)
    return n_proc, old_proc, old_live, new_proc, negated


@given(appends(), st.booleans())
@settings(max_examples=60)
def test_merge_appended_matches_a_stable_sort_of_every_row(case, shuffled_rows):
    n_proc, old_proc, old_live_rows, new_proc, negated = case
    n_old, n_new = len(old_proc), len(new_proc)
    # the old keys, grouped: by a stable sort of their procedure (rows in order), or,
    # when the old rows were not grouped, through an explicit order
    old_order = np.argsort(old_proc, kind="stable")
    has_order = shuffled_rows or not bool((np.diff(old_proc) >= 0).all())
    if not has_order:
        old_order = np.arange(n_old)
    old_start = np.searchsorted(old_proc[old_order], np.arange(n_proc + 1))
    rng = np.random.default_rng(n_old * 31 + n_new)
    amount_rows = rng.integers(-(10**12), 10**12, n_old + n_new)
    seq_rows = rng.integers(0, 4, n_old + n_new).astype(np.int8)
    kind_rows = rng.integers(0, 6, n_old + n_new).astype(np.int8)
    code_rows = rng.integers(0, 128, n_old + n_new).astype(np.int8)  # any bits, live too
    n = n_old + n_new
    carried = np.empty(n, np.int8)
    out = [np.empty(n_proc + 1, np.int64), np.empty(n, np.int64), np.empty(n, np.int8),
           np.empty(n, np.int8), np.empty(n, np.int64), np.empty(n, np.bool_)]  # fmt: skip
    merge_appended_nb(
        old_start, old_order if has_order else np.empty(0, np.int64), has_order,
        new_proc, np.argsort(new_proc, kind="stable"), n_old,
        seq_rows[:n_old][old_order], seq_rows[n_old:],
        kind_rows[:n_old][old_order], kind_rows[n_old:],
        amount_rows[:n_old][old_order], amount_rows[n_old:],
        old_live_rows[old_order], np.ones(n_new, np.bool_), negated, *out,
        code_rows[:n_old][old_order], code_rows[n_old:], carried,
    )  # fmt: skip
    start, order, live, _ = merge_appended_ref(old_proc, old_live_rows, new_proc, negated, n_proc)
    got_start, got_order, got_seq, got_kind, got_amounts, got_live = out
    assert np.array_equal(got_start, start)
    assert np.array_equal(got_order, order)
    assert np.array_equal(got_seq, seq_rows[order])
    assert np.array_equal(got_kind, kind_rows[order])
    assert np.array_equal(got_amounts, amount_rows[order])  # exact cents
    assert np.array_equal(got_live, live)
    # the packed codes follow their rows, with the live bit of the merged keys
    assert np.array_equal(carried, (code_rows[order] & 0b0111111) | (live.astype(np.int8) << 6))


def test_id_index_positions_and_misses():
    ids = pa.chunked_array([pa.array(["E10", "E2"]), pa.array(["E33", ""])])
    index = IdIndex(ids)
    got = index.positions(pa.array(["E33", "E1", None, "", "E2", "E10", "E33"]))
    assert got.tolist() == [2, -1, -1, 3, 1, 0, 2]
    assert index.positions(pa.array([], pa.string())).tolist() == []
    assert IdIndex(pa.array([], pa.string())).positions(pa.array(["x"])).tolist() == [-1]


@given(
    st.lists(st.text(max_size=6), max_size=40, unique=True),
    st.lists(st.one_of(st.none(), st.text(max_size=6)), max_size=40),
)
@settings(max_examples=60)
def test_id_index_matches_a_dictionary_lookup(ids, values):
    index = IdIndex(pa.array(ids, pa.string()))
    where = {v: i for i, v in enumerate(ids)}
    expected = [where.get(v, -1) if v is not None else -1 for v in values]
    assert index.positions(pa.array(values, pa.string())).tolist() == expected


def test_id_index_with_a_fingerprint_collision_still_answers_exactly(monkeypatch):
    """Two ids with one fingerprint: the index falls back to hashing, never a wrong row."""
    import ledgerkit.core.id_index as M

    monkeypatch.setattr(M, "_fingerprints", lambda values: np.zeros(len(values), np.uint64))
    index = M.IdIndex(pa.array(["a", "b", "c"]))
    assert not index.exact
    assert index.positions(pa.array(["c", "z", "a"])).tolist() == [2, -1, 0]


def test_id_index_checks_the_string_of_every_hit(monkeypatch):
    """A value whose fingerprint equals an id's but whose text differs is not found."""
    import ledgerkit.core.id_index as M

    real = M._fingerprints

    def fake(values):
        out = real(values)
        out[np.asarray(pa.array(values).to_pylist(), object) == "impostor"] = real(
            pa.array(["E1"])
        )[0]
        return out

    monkeypatch.setattr(M, "_fingerprints", fake)
    index = M.IdIndex(pa.array(["E1", "E2"]))
    assert index.exact
    assert index.positions(pa.array(["impostor", "E1"])).tolist() == [-1, 0]


@pytest.mark.parametrize("between", [False, True])
def test_append_after_append_keeps_keys_equal_to_a_rebuild(between):
    """Posting twice (second batch reverses entries of the first) keeps the keys exact."""
    import ledgerkit as lk
    from ledgerkit.core.keys import build_keys

    ledger = lk.synth.generate(60, seed=3)
    enc = ledger.encounters["encounter_id"]
    first = ledger.append({"encounter_id": [enc[5].as_py(), enc[0].as_py()], "line": [1, 1],
                           "payer_seq": [0, 0], "kind": ["charge", "charge"],
                           "amount_cents": [1234, 99], "actor": ["desk", "desk"]})  # fmt: skip
    new_ids = first.entries["entry_id"].to_pylist()[-2:]
    if between:
        ledger.keys.encounter_positions(enc, pa.array(["x"]))  # index built before
    second = first.negate([new_ids[0]], actor="ana", note="wrong line")
    full = build_keys(second.encounters, second.procedures, second.entries)
    k = second.keys
    for name in ("entry_proc", "proc_entry_start", "entry_seq", "entry_kind", "entry_live",
                 "amounts"):  # fmt: skip
        assert np.array_equal(getattr(k, name), getattr(full, name)), name
    rows = np.arange(len(k.entry_proc))
    assert np.array_equal(k.entry_rows(rows), full.entry_rows(rows))


def test_id_index_looks_up_runs_of_equal_ids_once():
    index = IdIndex(pa.array(["A", "B", "C"]))
    values = pa.array(["B", "B", "B", None, None, "Z", "Z", "A", "A", "A", "B"])
    assert index.positions(values).tolist() == [1, 1, 1, -1, -1, -1, -1, 0, 0, 0, 1]
