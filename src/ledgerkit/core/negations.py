"""The negation rules of entries: each negation names an existing entry that is no
negation, is negated once, and mirrors it (amount, line, payer_seq, encounter, kind).

Two routes to the same refusals. :func:`check_negations` reads the whole table (a
ledger built at once, or ids in no order). :func:`check_appended_negations` serves
``Ledger.append`` when every entry id, old and new, increases along the rows (as
``append`` numbers them): the negated entries are found by a binary search in each
chunk of ids and judged through the old ledger's keys, so a batch reads the rows it
negates and never a column of the whole ledger (at 10M procedures a whole-ledger
pass allocated a copy of every id and a flag per row on every post).
"""

from __future__ import annotations

import numpy as np

from ledgerkit.core.arrow import (
    arrow_array,
    bool_array,
    int_array,
    numpy_array,
    strings_at,
    valid_array,
)
from ledgerkit.core.compute import pc
from ledgerkit.errors import LedgerError

__all__ = ["check_negations", "check_appended_negations", "rows_of_ids"]


def check_negations(entries, all_entries, ids, increasing: bool, order=None) -> None:
    """The negations of ``entries`` name an existing entry of ``all_entries`` that is no
    negation, negated once, and mirror it (``ids``: the entry ids of ``all_entries``,
    if at hand; ``increasing``: they are known to increase, so need no sort; ``order``:
    their stable sorting order, if the duplicate check made it already)."""
    ids = numpy_array(all_entries["entry_id"]) if ids is None else ids
    negates = entries["negates"]
    rows = np.flatnonzero(valid_array(negates))
    targets = numpy_array(negates.take(arrow_array(rows)), dtype=np.int64)
    # ids grow with posting order (as append assigns them): no sort of every id
    ascending = increasing or len(ids) < 2 or bool((ids[1:] > ids[:-1]).all())
    if not ascending and order is None:
        order = np.argsort(ids, kind="stable")
    sorted_ids = ids if ascending else ids[order]
    pos = np.searchsorted(sorted_ids, targets)
    pos = np.minimum(pos, len(ids) - 1)
    found = sorted_ids[pos] == targets
    _refuse_missing(negates, rows, found)
    target_rows = pos if ascending else order[pos]
    all_negates = all_entries["negates"]
    _refuse_negated_negations(negates, rows, valid_array(all_negates)[target_rows])
    # Each entry may be negated once, across old and new entries together.
    all_targets = numpy_array(pc.drop_null(all_negates))
    uniq, counts = np.unique(all_targets, return_counts=True)
    _refuse_twice(rows, targets, uniq[counts > 1])
    check_mirror(entries, all_entries, rows, target_rows)


def check_appended_negations(entries, all_entries, n_old: int, keys) -> None:
    """:func:`check_negations` for a batch appended to a ledger, reading only the rows
    it negates.

    ``all_entries`` are the ledger's ``n_old`` entries followed by the batch
    (``entries``); every id of it must increase along the rows (the caller checks).
    ``keys`` are the ledger's keys (of the first ``n_old`` rows): an old entry is
    already negated when it is no negation and not live in them.

    Examples
    --------
    >>> import pyarrow as pa, ledgerkit as lk
    >>> ledger = lk.synth.generate(5, seed=1)
    >>> batch = pa.table({"entry_id": [10**6], "negates": [10**6 - 1]})
    >>> old = ledger.entries.select(batch.column_names)
    >>> both = pa.concat_tables([old, batch.cast(old.schema)])
    >>> check_appended_negations(batch, both, ledger.entries.num_rows, ledger.keys)
    Traceback (most recent call last):
    ...
    ledgerkit.errors.LedgerError: entries row 0, column 'negates': entry 999999 does not exist
    """
    negates = entries["negates"]
    rows = np.flatnonzero(valid_array(negates))
    targets = numpy_array(negates.take(arrow_array(rows)), dtype=np.int64)
    target_rows = rows_of_ids(all_entries["entry_id"], targets)
    _refuse_missing(negates, rows, target_rows >= 0)
    at_negates = strings_at(all_entries["negates"], target_rows)  # (any type, chunk by chunk)
    _refuse_negated_negations(negates, rows, valid_array(at_negates))
    uniq, counts = np.unique(targets, return_counts=True)
    twice = [uniq[counts > 1]]  # twice in the batch
    old = np.flatnonzero(target_rows < n_old)
    if len(old):  # negated before: neither live nor a negation (refused above)
        live = keys.entry_live[grouped_positions(keys, target_rows[old])]
        twice.append(targets[old][~live])
    _refuse_twice(rows, targets, np.concatenate(twice))
    check_mirror(entries, all_entries, rows, target_rows)


def rows_of_ids(column, ids: np.ndarray) -> np.ndarray:
    """The row of each of ``ids`` in an entry id ``column`` whose values increase along
    its rows (int64; -1 where absent): a binary search in the one chunk that can hold
    it, on the chunk's own buffer (nothing of the column is copied).

    Examples
    --------
    >>> import pyarrow as pa
    >>> ids = pa.chunked_array([[3, 5], [], [8, 9, 12]])
    >>> rows_of_ids(ids, np.array([9, 4, 3, 12, 20])).tolist()
    [3, -1, 0, 4, -1]
    """
    ids = np.asarray(ids, np.int64)
    out = np.full(len(ids), -1, np.int64)
    chunks = [c for c in column.chunks if len(c)]
    if not chunks or not len(ids):
        return out
    starts = np.cumsum([0] + [len(c) for c in chunks[:-1]])
    firsts = np.array([c[0].as_py() for c in chunks], np.int64)
    chunk_of = np.searchsorted(firsts, ids, side="right") - 1
    by_chunk = np.argsort(chunk_of, kind="stable")
    bounds = np.searchsorted(chunk_of[by_chunk], np.arange(len(chunks) + 1))
    for c in np.flatnonzero(np.diff(bounds)):
        which = by_chunk[bounds[c] : bounds[c + 1]]
        values = int_array(chunks[c], np.int64)  # a view of the chunk's buffer
        pos = np.minimum(np.searchsorted(values, ids[which]), len(values) - 1)
        hit = values[pos] == ids[which]
        out[which[hit]] = starts[c] + pos[hit]
    return out


def grouped_positions(keys, rows: np.ndarray) -> np.ndarray:
    """The grouped position (``keys``' order) of each entries row in ``rows``: found
    among its procedure's few entries, not through an inverse of the whole order."""
    if keys.entry_order is None or not len(rows):
        return rows
    proc = keys.entry_proc[rows]
    first = keys.proc_entry_start[proc]
    sizes = keys.proc_entry_start[proc + 1] - first
    ends = np.cumsum(sizes)
    candidates = np.repeat(first - (ends - sizes), sizes) + np.arange(int(ends[-1]))
    match = keys.entry_order[candidates] == np.repeat(rows, sizes)
    # each row sits once in its procedure's range, so the matches come in rows' order
    return candidates[match]


def _refuse_missing(negates, rows, found) -> None:
    if not found.all():
        r = int(rows[np.flatnonzero(~found)[0]])
        raise LedgerError(
            f"entries row {r}, column 'negates': entry {int(negates[r].as_py())} does not exist"
        )


def _refuse_negated_negations(negates, rows, target_is_negation) -> None:
    if target_is_negation.any():
        r = int(rows[np.flatnonzero(target_is_negation)[0]])
        raise LedgerError(
            f"entries row {r}, column 'negates': entry {int(negates[r].as_py())} is itself a "
            "negation; post the original entry again instead of negating a negation"
        )


def _refuse_twice(rows, targets, negated_twice) -> None:
    """Refuse the smallest id negated twice, naming the last batch row negating it."""
    if len(negated_twice):
        twice = int(negated_twice.min())
        r = int(rows[np.flatnonzero(targets == twice)[-1]])
        raise LedgerError(f"entries row {r}, column 'negates': entry {twice} is already negated")


def check_mirror(entries, all_entries, rows, target_rows) -> None:
    """Each negation (``entries`` at ``rows``) mirrors the entry it negates (``all_entries``
    at ``target_rows``): the opposite amount, the same line, payer_seq, encounter, kind."""
    # only the negated rows are read, chunk by chunk: Arrow's take of a column in chunks
    # joins the chunks first (a copy of the whole column at every post)
    for column in ("amount_cents", "line", "payer_seq"):
        new = numpy_array(entries[column].take(arrow_array(rows)), dtype=np.int64)
        old = numpy_array(strings_at(all_entries[column], target_rows), dtype=np.int64)
        old = -old if column == "amount_cents" else old
        bad = np.flatnonzero(new != old)
        if len(bad):
            r = int(rows[bad[0]])
            raise LedgerError(
                f"entries row {r}, column {column!r}: a negation must mirror the entry it "
                f"negates (expected {int(old[bad[0]])}, got {int(new[bad[0]])})"
            )
    for column in ("encounter_id", "kind"):
        new = strings_at(entries[column], rows)
        old = strings_at(all_entries[column], target_rows)
        bad = pc.not_equal(new, old)
        if pc.any(bad).as_py():
            i = int(np.flatnonzero(bool_array(bad))[0])
            # encounter ids are the practice's claim ids: not repeated in messages
            raise LedgerError(
                f"entries row {int(rows[i])}, column {column!r}: a negation must mirror the "
                f"entry it negates (the {column} differs)"
            )
