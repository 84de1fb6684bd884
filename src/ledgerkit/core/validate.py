"""Validation at the boundary: bring a user's table to the ledger schema or refuse it.

Every error is a :class:`LedgerError` that names the table, the row and the
column, and says what is wrong. Nothing is changed before validation passes.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.core.arrow import bool_array, is_string_like, numpy_array, plain, valid_array
from ledgerkit.core.schema import GROUP_CODES, KINDS, PAYER_CLASSES, SOURCES, TABLES, arrow_schema
from ledgerkit.errors import LedgerError

__all__ = ["conform", "check_entries"]


def conform(table: pa.Table, name: str) -> pa.Table:
    """Cast ``table`` to the schema of ledger table ``name``.

    Required columns must be present and null-free; nullable columns may be
    absent (filled with nulls). Casts must be lossless: money in floats,
    numbers in strings and the like are refused rather than guessed at.
    """
    schema = arrow_schema(name)
    columns = []
    for col in TABLES[name]:
        if col.name not in table.column_names:
            if not col.nullable:
                raise LedgerError(
                    f"{name}: missing required column {col.name!r} "
                    f"({col.doc}); expected columns: {schema.names}"
                )
            columns.append(pa.nulls(table.num_rows, col.type))
            continue
        data = table[col.name]
        columns.append(_cast(data, col, name))
    out = pa.Table.from_arrays(columns, schema=schema)
    for col in TABLES[name]:
        if not col.nullable and out[col.name].null_count:
            row = _first(pc.is_null(out[col.name]))
            raise LedgerError(f"{name} row {row}, column {col.name!r}: null in a required column")
    return out


def _cast(data: pa.ChunkedArray, col, table: str) -> pa.ChunkedArray:
    src = data.type
    dst = col.type
    if src == dst:
        return data
    if pa.types.is_null(src) or (
        pa.types.is_dictionary(src) and pa.types.is_null(src.value_type)
    ):  # all null, e.g. pandas' round trip of an empty categorical
        return pa.chunked_array([pa.nulls(len(data), dst)])
    money = col.name.endswith("_cents")
    if pa.types.is_integer(dst) and pa.types.is_floating(src) and not money:
        # pandas reads a nullable integer column as floats with NaN for null:
        # take it back when every value is a whole number.
        try:
            return data.cast(dst, safe=True)
        except pa.ArrowInvalid:
            pass
    if pa.types.is_integer(dst) and not pa.types.is_integer(src):
        hint = " (money is int64 cents: multiply dollars by 100 and round)" if money else ""
        raise LedgerError(f"{table}, column {col.name!r}: type {src} must be an integer{hint}")
    if pa.types.is_dictionary(dst) or pa.types.is_string(dst):
        if not is_string_like(src):
            raise LedgerError(f"{table}, column {col.name!r}: type {src} must be a string")
    try:
        if pa.types.is_dictionary(dst):
            if pa.types.is_dictionary(src) or pa.types.is_string_view(src):
                data = plain(data)  # any index type or string flavour
            return _chunked(pc.dictionary_encode(data).cast(dst))
        if pa.types.is_string_view(src) or pa.types.is_dictionary(src):
            data = plain(data)  # Arrow casts neither string_view nor every dictionary
        return _chunked(data.cast(dst, safe=True))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # Arrow's own message quotes the value that failed: it may be a name, so it is
        # not passed on
        raise LedgerError(
            f"{table}, column {col.name!r}: cannot read {src} as {dst} without loss"
        ) from None


def _chunked(data) -> pa.ChunkedArray:
    return data if isinstance(data, pa.ChunkedArray) else pa.chunked_array([data])


def _first(mask) -> int:
    return int(np.flatnonzero(bool_array(mask))[0])


def _check_values(table: pa.Table, name: str, column: str, allowed) -> None:
    values = table[column]
    bad = pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, pa.array(allowed))))
    if pc.any(bad).as_py():
        row = _first(bad)
        # the value itself is not repeated: it is not a code, so it may be anything
        raise LedgerError(
            f"{name} row {row}, column {column!r}: the value is not one of {list(allowed)}"
        )


def check_payers(payers: pa.Table) -> None:
    _check_values(payers, "payers", "payer_class", PAYER_CLASSES)
    ids = payers["payer_id"]
    if pc.count_distinct(ids).as_py() != len(ids):
        counts = pc.value_counts(ids)
        dup = counts.filter(pc.greater(counts.field("counts"), 1))[0]["values"].as_py()
        raise LedgerError(f"payers, column 'payer_id': duplicate payer id {dup!r}")


def check_entries(entries: pa.Table, existing: pa.Table | None = None) -> None:
    """Row-level rules of entries (and of new entries against ``existing``).

    Checks kinds, sources, payer_seq range, adjustment group/CARC, duplicate
    entry ids, and negations (the target exists, is not itself a negation, is
    negated once, and the negation mirrors it exactly).
    """
    name = "entries"
    _check_values(entries, name, "kind", KINDS)
    _check_values(entries, name, "source", SOURCES)
    _check_values(entries, name, "group_code", GROUP_CODES)
    seq = entries["payer_seq"]
    bad = pc.or_(pc.less(seq, 0), pc.greater(seq, 3))
    if pc.any(bad).as_py():
        row = _first(bad)
        raise LedgerError(
            f"entries row {row}, column 'payer_seq': {seq[row].as_py()} is not 0 (patient) "
            "or 1..3 (payer order)"
        )
    is_adj = pc.equal(entries["kind"].cast(pa.string()), "adjustment")
    for column in ("group_code", "carc"):
        missing = pc.and_(is_adj, pc.is_null(entries[column]))
        if pc.any(missing).as_py():
            raise LedgerError(
                f"entries row {_first(missing)}, column {column!r}: an adjustment needs "
                "a group code and a CARC"
            )
    payer_entry = pc.and_(pc.greater(seq, 0), pc.is_null(entries["payer_id"]))
    if pc.any(payer_entry).as_py():
        raise LedgerError(
            f"entries row {_first(payer_entry)}, column 'payer_id': entries with payer_seq > 0 "
            "must name the payer"
        )

    all_entries = entries if existing is None else pa.concat_tables([existing, entries])
    offset = 0 if existing is None else existing.num_rows
    ids = numpy_array(all_entries["entry_id"])
    _check_unique_ids(ids, offset)

    negates = entries["negates"]
    if negates.null_count == len(negates):
        return
    rows = np.flatnonzero(valid_array(negates))
    targets = numpy_array(negates, fill=-1)[rows].astype(np.int64)
    # ids grow with posting order (as append assigns them): no sort of every id
    ascending = len(ids) < 2 or bool((ids[1:] > ids[:-1]).all())
    order = np.arange(len(ids)) if ascending else np.argsort(ids, kind="stable")
    sorted_ids = ids if ascending else ids[order]
    pos = np.searchsorted(sorted_ids, targets)
    pos = np.minimum(pos, len(ids) - 1)
    found = sorted_ids[pos] == targets
    if not found.all():
        r = int(rows[np.flatnonzero(~found)[0]])
        raise LedgerError(
            f"entries row {r}, column 'negates': entry {int(negates[r].as_py())} does not exist"
        )
    target_rows = order[pos]
    all_negates = all_entries["negates"]
    target_is_negation = valid_array(all_negates)[target_rows]
    if target_is_negation.any():
        r = int(rows[np.flatnonzero(target_is_negation)[0]])
        raise LedgerError(
            f"entries row {r}, column 'negates': entry {int(negates[r].as_py())} is itself a "
            "negation; post the original entry again instead of negating a negation"
        )
    # Each entry may be negated once, across old and new entries together.
    all_targets = numpy_array(pc.drop_null(all_negates))
    uniq, counts = np.unique(all_targets, return_counts=True)
    if (counts > 1).any():
        twice = int(uniq[np.flatnonzero(counts > 1)[0]])
        r = int(rows[np.flatnonzero(targets == twice)[-1]])
        raise LedgerError(f"entries row {r}, column 'negates': entry {twice} is already negated")
    _check_mirror(entries, all_entries, rows, target_rows)


def _check_mirror(entries, all_entries, rows, target_rows) -> None:
    # only the negated rows of the whole table are read (a take), never whole columns
    take_new, take_old = pa.array(rows), pa.array(target_rows)
    amount_new = numpy_array(entries["amount_cents"].take(take_new))
    amount_old = numpy_array(all_entries["amount_cents"].take(take_old))
    for column, new, old in (
        ("amount_cents", amount_new, -amount_old),
        (
            "line",
            numpy_array(entries["line"].take(take_new)),
            numpy_array(all_entries["line"].take(take_old)),
        ),
        (
            "payer_seq",
            numpy_array(entries["payer_seq"].take(take_new)),
            numpy_array(all_entries["payer_seq"].take(take_old)),
        ),
    ):
        bad = np.flatnonzero(new != old)
        if len(bad):
            r = int(rows[bad[0]])
            raise LedgerError(
                f"entries row {r}, column {column!r}: a negation must mirror the entry it "
                f"negates (expected {int(old[bad[0]])}, got {int(new[bad[0]])})"
            )
    for column in ("encounter_id", "kind"):
        new = entries[column].take(take_new).cast(pa.string())
        old = all_entries[column].take(take_old).cast(pa.string())
        bad = pc.not_equal(new, old)
        if pc.any(bad).as_py():
            i = _first(bad)
            # encounter ids are the practice's claim ids: not repeated in messages
            raise LedgerError(
                f"entries row {int(rows[i])}, column {column!r}: a negation must mirror the "
                f"entry it negates (the {column} differs)"
            )


def _check_unique_ids(ids: np.ndarray, offset: int) -> None:
    if len(ids) < 2 or (np.diff(ids) > 0).all():
        return
    order = np.argsort(ids, kind="stable")
    dup = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if len(dup):
        row = int(order[dup[0] + 1])
        raise LedgerError(
            f"entries row {row - offset if row >= offset else row}, column 'entry_id': "
            f"duplicate entry id {int(ids[row])}"
        )
