"""Appending without rebuilding: the merged keys kernel and the encounter id index."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerkit._kernels.keys import merge_appended_nb
from ledgerkit.core.id_index import IdIndex


def merge_appended_ref(old_proc_rows, old_live, new_proc, new_live, negated, n_proc):
    """Grouped order of old rows + new rows by a stable sort of every row's procedure
    (the slow reference of ``merge_appended_nb``: concatenate, sort, gather)."""
    n_old = len(old_proc_rows)
    proc = np.concatenate([old_proc_rows, new_proc]).astype(np.int64)
    order = np.argsort(proc, kind="stable")
    start = np.searchsorted(proc[order], np.arange(n_proc + 1))
    live_rows = np.concatenate([old_live, new_live]) & ~negated
    return start, order, live_rows[order], n_old


def _procedures(draw, n_proc, size):
    """Procedures of ``size`` rows: anywhere, all in one, or only the first/last one."""
    shape = draw(st.sampled_from(["any", "one", "first", "last", "ends"]))
    if shape == "any":
        values = draw(st.lists(st.integers(0, n_proc - 1), min_size=size, max_size=size))
    elif shape == "one":
        values = [draw(st.integers(0, n_proc - 1))] * size
    elif shape == "first":
        values = [0] * size
    elif shape == "last":
        values = [n_proc - 1] * size
    else:
        values = draw(st.lists(st.sampled_from([0, n_proc - 1]), min_size=size, max_size=size))
    return np.array(values, np.int64)


@st.composite
def appends(draw):
    n_proc = draw(st.integers(1, 8))
    n_old = draw(st.integers(0, 25))
    n_new = draw(st.sampled_from([0, 1, draw(st.integers(0, 25))]))
    old_proc = _procedures(draw, n_proc, n_old)
    new_proc = _procedures(draw, n_proc, n_new)
    negated = np.array(draw(st.lists(st.booleans(), min_size=n_old + n_new,
                                     max_size=n_old + n_new)), bool)  # fmt: skip
    old_live = np.array(draw(st.lists(st.booleans(), min_size=n_old, max_size=n_old)), bool)
    new_live = np.array(draw(st.lists(st.booleans(), min_size=n_new, max_size=n_new)), bool)
    return n_proc, old_proc, old_live, new_proc, new_live, negated


def _merge(n_proc, old_proc, old_live_rows, new_proc, new_live, negated, *, shuffled_rows,
           with_codes, seed=0):  # fmt: skip
    """Run merge_appended_nb as the append path calls it and check it against the
    reference, field by field."""
    n_old, n_new = len(old_proc), len(new_proc)
    # the old keys, grouped: by a stable sort of their procedure (rows in order), or,
    # when the old rows were not grouped, through an explicit order
    old_order = np.argsort(old_proc, kind="stable")
    has_order = shuffled_rows or not bool((np.diff(old_proc) >= 0).all())
    if not has_order:
        old_order = np.arange(n_old)
    old_start = np.searchsorted(old_proc[old_order], np.arange(n_proc + 1))
    rng = np.random.default_rng(seed)
    amount_rows = rng.integers(-(10**12), 10**12, n_old + n_new)
    seq_rows = rng.integers(0, 4, n_old + n_new).astype(np.int8)
    kind_rows = rng.integers(0, 6, n_old + n_new).astype(np.int8)
    code_rows = rng.integers(0, 128, n_old + n_new).astype(np.int8)  # any bits, live too
    n = n_old + n_new
    carried = np.empty(n if with_codes else 0, np.int8)
    out = [np.empty(n_proc + 1, np.int64), np.empty(n, np.int64), np.empty(n, np.int8),
           np.empty(n, np.int8), np.empty(n, np.int64), np.empty(n, np.bool_)]  # fmt: skip
    new_order = np.argsort(new_proc, kind="stable")
    negated_rows = np.flatnonzero(negated)
    merge_appended_nb(
        old_start, old_order if has_order else np.empty(0, np.int64), has_order,
        new_proc[new_order], new_order, n_old,
        seq_rows[:n_old][old_order], seq_rows[n_old:],
        kind_rows[:n_old][old_order], kind_rows[n_old:],
        amount_rows[:n_old][old_order], amount_rows[n_old:],
        old_live_rows[old_order], new_live & ~negated[n_old:],
        negated_rows[negated_rows < n_old], old_proc.astype(np.int32), *out,
        code_rows[:n_old][old_order] if with_codes else np.empty(0, np.int8),
        code_rows[n_old:] if with_codes else np.empty(0, np.int8), carried,
    )  # fmt: skip
    start, order, live, _ = merge_appended_ref(
        old_proc, old_live_rows, new_proc, new_live, negated, n_proc
    )
    got_start, got_order, got_seq, got_kind, got_amounts, got_live = out
    assert np.array_equal(got_start, start)
    assert np.array_equal(got_order, order)
    assert np.array_equal(got_seq, seq_rows[order])
    assert np.array_equal(got_kind, kind_rows[order])
    assert np.array_equal(got_amounts, amount_rows[order])  # exact cents
    assert np.array_equal(got_live, live)
    if with_codes:  # the packed codes follow their rows, with the merged live bit
        want = (code_rows[order] & 0b0111111) | (live.astype(np.int8) << 6)
        assert np.array_equal(carried, want)


@given(appends(), st.booleans(), st.booleans())
@settings(max_examples=80)
def test_merge_appended_matches_a_stable_sort_of_every_row(case, shuffled_rows, with_codes):
    n_proc, old_proc, old_live_rows, new_proc, new_live, negated = case
    _merge(n_proc, old_proc, old_live_rows, new_proc, new_live, negated,
           shuffled_rows=shuffled_rows, with_codes=with_codes,
           seed=len(old_proc) * 31 + len(new_proc))  # fmt: skip


@pytest.mark.parametrize("shuffled_rows", [False, True])
def test_merge_appended_across_parallel_chunks(shuffled_rows):
    """Procedures in several parallel tasks (MERGE_CHUNK each): new rows in the first and
    last procedure, at both sides of a chunk border, many in one procedure, negations of
    old and new rows; every field equal to the stable sort of every row."""
    from ledgerkit._kernels.keys import MERGE_CHUNK

    rng = np.random.default_rng(7)
    n_proc = 3 * MERGE_CHUNK + 5
    old_proc = np.sort(rng.integers(0, n_proc, 2 * n_proc))
    old_proc = old_proc[old_proc != MERGE_CHUNK - 1]  # an empty procedure at a border
    borders = [0, MERGE_CHUNK - 1, MERGE_CHUNK, 2 * MERGE_CHUNK, n_proc - 1]
    new_proc = np.concatenate([rng.integers(0, n_proc, 5000), borders, [17] * 300])
    new_proc = rng.permutation(new_proc)
    negated = rng.random(len(old_proc) + len(new_proc)) < 0.01
    old_live = rng.random(len(old_proc)) < 0.9
    new_live = rng.random(len(new_proc)) < 0.9
    if shuffled_rows:
        old_proc = rng.permutation(old_proc)
    _merge(n_proc, old_proc, old_live, new_proc, new_live, negated,
           shuffled_rows=shuffled_rows, with_codes=True)  # fmt: skip


def test_negated_rows_are_found_in_each_chunk_of_ids():
    from ledgerkit.core.keys_append import negated_rows

    ids = pa.chunked_array([pa.array([1, 2, 5]), pa.array([7, 9])])
    negates = pa.chunked_array([pa.array([None, None, None], pa.int64()), pa.array([5, 1])])
    entries = pa.table({"entry_id": ids, "negates": negates})
    assert negated_rows(entries, 3).tolist() == [0, 2]
    assert negated_rows(entries, 5).tolist() == []
    shuffled = pa.table({"entry_id": [9, 2, 5, 7], "negates": [None, None, 9, 2]})
    assert negated_rows(shuffled, 2).tolist() == [0, 1]  # ids not in order: hashed


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


@given(st.lists(st.integers(0, 9), max_size=200), st.integers(10, 2000))
@settings(max_examples=60)
def test_new_rows_ordered_by_procedure_as_a_stable_sort(procs, n_proc):
    """Counted (a batch large beside the procedures) or sorted, the same stable order."""
    from ledgerkit.core.keys_append import _stable_order

    new_proc = np.array(procs, np.int32)
    assert np.array_equal(_stable_order(new_proc, n_proc), np.argsort(new_proc, kind="stable"))


def test_append_located_refuses_positions_that_name_another_line():
    """A caller's wrong procedure positions are refused, not written into the keys."""
    import pytest

    import ledgerkit as lk

    ledger = lk.synth.generate(20, seed=1)
    row = ledger.entries.slice(0, 1).drop_columns(["entry_id"])
    right = ledger.keys.entry_proc[:1]
    assert ledger.append_located(row, right).entries.num_rows == ledger.entries.num_rows + 1
    lines = ledger.keys.proc_line
    other = np.flatnonzero(lines != lines[right[0]])[:1]
    cases = [(other, "another line"), ([len(lines)], "outside"), ([-1], "outside"),
             ([0, 0], "one"), (right.astype(np.float64), "integers")]  # fmt: skip
    for wrong, says in cases:
        with pytest.raises(ValueError, match=says):
            ledger.append_located(row, np.asarray(wrong))
    assert ledger.entries.num_rows == ledger.keys.proc_entry_start[-1]
