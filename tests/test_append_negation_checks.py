"""``Ledger.append`` checks a batch's negations over the rows it negates (issue #19 item 5):
every refusal of the whole-table check is still made, with the same words, on a ledger
with appended history (its entries in several chunks, some negated already)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ledgerkit as lk
import ledgerkit.core.validate as validate
from ledgerkit.core.negations import rows_of_ids

_WHOLE_TABLE_CHECK = validate.check_negations


def _history() -> lk.Ledger:
    """A ledger whose entries come from three appends after the first build."""
    ledger = lk.synth.generate(60, seed=3)
    payments = ledger.entries.filter(pc.equal(ledger.entries["kind"], "payment"))
    ids = payments["entry_id"].to_pylist()
    ledger = ledger.negate(ids[:3], actor="ana", note="posted to the wrong claim")
    ledger = ledger.append(ledger.entries.slice(0, 4).drop_columns(["entry_id", "negates"]))
    return ledger.negate(ids[3:5], actor="ana", note="reversed by the payer")


@pytest.fixture(scope="module")
def history():
    ledger = _history()
    assert ledger.entries["entry_id"].num_chunks >= 3
    return ledger


def _negation(ledger, entry_id: int, **changes) -> dict:
    """The row that negates ``entry_id`` (a mirror of it), with ``changes``."""
    row = ledger.entries.filter(pc.equal(ledger.entries["entry_id"], entry_id)).to_pylist()[0]
    row = {k: v for k, v in row.items() if k not in ("entry_id", "posted_at")}
    row |= {"amount_cents": -row["amount_cents"], "negates": entry_id, "source": "manual"}
    return row | changes


def _ids(ledger, where) -> list:
    return ledger.entries.filter(where)["entry_id"].to_pylist()


def _negated(ledger) -> list:
    return pc.drop_null(ledger.entries["negates"]).to_pylist()


def _live_payments(ledger) -> list:
    payments = _ids(ledger, pc.equal(ledger.entries["kind"], "payment"))
    return [i for i in payments if i not in set(_negated(ledger))]


def _both_routes(ledger, rows) -> tuple[str | None, str | None]:
    """The message (None: accepted) of the whole-table check and of the appended one."""
    start = ledger.next_entry_id()
    batch = pa.Table.from_pylist(rows)
    batch = batch.append_column("entry_id", pa.array(np.arange(start, start + len(rows))))
    batch = batch.append_column(
        "posted_at", pa.array([ledger.entries["posted_at"][0]] * len(rows))
    )
    batch = validate.conform(batch, "entries")
    out = []
    for fast in (False, True):
        known = {"keys": ledger.keys, "top_id": start - 1} if fast else {}
        with pytest.MonkeyPatch.context() as patch:  # the real one, whatever a test patched
            patch.setattr(validate, "check_negations", _WHOLE_TABLE_CHECK)
            try:
                validate.check_entries(batch, existing=ledger.entries, **known)
                out.append(None)
            except lk.LedgerError as exc:
                out.append(str(exc))
    return tuple(out)


@pytest.fixture
def only_the_batch_route(monkeypatch):
    """Appends may not fall back to the whole-table negation check."""

    def refuse(*args, **kwargs):
        raise AssertionError("the whole-table negation check ran")

    monkeypatch.setattr(validate, "check_negations", refuse)


def _refused(ledger, rows, words: str, row: int) -> None:
    with pytest.raises(lk.LedgerError) as info:
        ledger.append(rows, allow_credit=True)
    message = str(info.value)
    assert message.startswith(f"entries row {row}, column "), message
    assert words in message, message
    whole, batch_route = _both_routes(ledger, rows)
    assert whole == batch_route == message


def test_negating_an_entry_that_does_not_exist(history, only_the_batch_route):
    top = history.next_entry_id() - 1
    good = _negation(history, _live_payments(history)[0])
    for missing in (top + 50, 0, -7):
        rows = [good, good | {"negates": missing}]
        _refused(history, rows, f"'negates': entry {missing} does not exist", 1)


def test_negating_a_negation(history, only_the_batch_route):
    negation = _ids(history, pc.is_valid(history.entries["negates"]))[-1]  # appended last
    rows = [_negation(history, negation)]
    _refused(history, rows, f"entry {negation} is itself a negation", 0)


def test_negating_an_entry_negated_in_an_earlier_append(history, only_the_batch_route):
    first, last = _negated(history)[0], _negated(history)[-1]
    good = _negation(history, _live_payments(history)[0])
    rows = [good, _negation(history, last), _negation(history, first)]
    # the smallest id negated twice is named, at the last batch row negating it
    _refused(history, rows, f"'negates': entry {first} is already negated", 2)


def test_negating_one_entry_twice_in_a_batch(history, only_the_batch_route):
    target = _live_payments(history)[1]
    rows = [_negation(history, target), _negation(history, _live_payments(history)[2]),
            _negation(history, target)]  # fmt: skip
    _refused(history, rows, f"'negates': entry {target} is already negated", 2)


@pytest.mark.parametrize(
    "change, column",
    [
        ({"amount_cents": -1}, "amount_cents"),
        ({"payer_seq": 2}, "payer_seq"),
        ({"kind": "patient_payment"}, "kind"),
    ],
)
def test_a_negation_that_does_not_mirror(history, only_the_batch_route, change, column):
    rows = [_negation(history, _live_payments(history)[0], **change)]
    _refused(history, rows, f"column {column!r}: a negation must mirror", 0)


def test_negating_an_entry_of_another_procedure(history, only_the_batch_route):
    target = _live_payments(history)[0]
    entry = history.entries.filter(pc.equal(history.entries["entry_id"], target))
    procs = history.procedures
    same_encounter = pc.equal(procs["encounter_id"], entry["encounter_id"][0])
    other = procs.filter(pc.invert(same_encounter)).slice(0, 1)
    rows = [_negation(history, target, encounter_id=other["encounter_id"][0].as_py(),
                      line=other["line"][0].as_py())]  # fmt: skip
    # the line is compared first; the encounter id is never quoted
    message = _both_routes(history, rows)[1]
    assert message is not None and "a negation must mirror" in message
    assert other["encounter_id"][0].as_py() not in message
    with pytest.raises(lk.LedgerError, match="a negation must mirror"):
        history.append(rows)


def test_a_batch_negating_old_and_its_own_entries_posts(history, only_the_batch_route):
    targets = _live_payments(history)[:2]
    start = history.next_entry_id()
    charge = {k: v for k, v in _negation(history, targets[0]).items() if k != "negates"}
    charge |= {"amount_cents": 1, "kind": "payment", "payer_seq": charge["payer_seq"]}
    rows = [_negation(history, t) for t in targets] + [charge, charge | {"negates": None}]
    undo = {**charge, "amount_cents": -1, "negates": start + 2}
    later = history.append([*rows, undo], allow_credit=True)
    assert later.entries.num_rows == history.entries.num_rows + 5
    assert later.next_entry_id() == start + 5
    assert later._entry_id_range() == (True, start + 4)
    fresh = lk.Ledger(**later._tables)  # read again: the same range, the same keys' live
    assert fresh._entry_id_range() == later._entry_id_range()
    np.testing.assert_array_equal(fresh.keys.entry_live, later.keys.entry_live)
    # and the entry negated in this batch can be negated no more
    _refused(later, [_negation(later, start + 2)], f"entry {start + 2} is already negated", 0)


def test_a_ledger_whose_ids_do_not_increase_keeps_the_whole_table_check():
    ledger = lk.synth.generate(30, seed=5)
    entries = ledger.entries
    shuffled = entries.take(pa.array(np.random.default_rng(2).permutation(entries.num_rows)))
    ledger = lk.Ledger.from_arrow(ledger.encounters, ledger.procedures, shuffled, ledger.payers)
    assert ledger._entry_id_range() == (False, max(entries["entry_id"].to_pylist()))
    target = _live_payments(ledger)[0]
    later = ledger.append([_negation(ledger, target)])
    with pytest.raises(lk.LedgerError, match=f"entry {target} is already negated"):
        later.append([_negation(ledger, target)])


def test_rows_of_ids_in_chunks():
    column = pa.chunked_array([[2, 4, 6], [], [7], [10, 11]], pa.int64())
    got = rows_of_ids(column, np.array([11, 2, 3, 7, 12, 1, 6, 10]))
    assert got.tolist() == [5, 0, -1, 3, -1, -1, 2, 4]


@given(
    picks=st.lists(
        st.tuples(st.sampled_from(["live", "negated", "negation", "missing", "batch"]),
                  st.integers(0, 50), st.sampled_from([None, "amount_cents", "line", "kind"])),
        min_size=1, max_size=6,
    )
)  # fmt: skip
def test_both_routes_refuse_alike(picks):
    ledger = _HISTORY
    live, negated = _live_payments(ledger), _negated(ledger)
    negations = _ids(ledger, pc.is_valid(ledger.entries["negates"]))
    start = ledger.next_entry_id()
    rows = [_negation(ledger, live[-1]) | {"negates": None, "amount_cents": 5}]  # id start
    for what, k, change in picks:
        if what == "batch":
            row = dict(rows[0], amount_cents=-5, negates=start)
        else:
            pool = {"live": live, "negated": negated, "negation": negations}.get(what)
            target = pool[k % len(pool)] if pool else start + 100 + k
            row = _negation(ledger, target) if pool else dict(rows[0], negates=target)
        if change == "amount_cents":
            row = row | {"amount_cents": row["amount_cents"] + 1}
        elif change == "line":
            row = row | {"line": row["line"] + 1}
        elif change == "kind":
            row = row | {
                "kind": "transfer_to_pr" if row["kind"] != "transfer_to_pr" else "payment"
            }
        rows.append(row)
    whole, batch_route = _both_routes(ledger, rows)
    assert whole == batch_route


_HISTORY = _history()


def test_negated_rows_found_by_search_match_the_chunk_scan(history):
    from ledgerkit.core.keys_append import negated_rows

    rows = [_negation(history, t) for t in _live_payments(history)[:3]]
    later = history.append(rows, allow_credit=True)
    n_old = history.entries.num_rows
    for first in (0, n_old // 2, n_old):
        scanned = negated_rows(later.entries, first)
        searched = negated_rows(later.entries, first, ids_increase=True)
        assert searched.tolist() == scanned.tolist()
    assert len(negated_rows(later.entries, n_old, ids_increase=True)) == 3
