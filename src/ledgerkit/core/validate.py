"""Validation at the boundary: bring a user's table to the ledger schema or refuse it.

Every error is a :class:`LedgerError` that names the table, the row and the
column, and says what is wrong. Nothing is changed before validation passes.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit._kernels import validate as K
from ledgerkit.core.arrow import (
    bool_array,
    dictionary_indices,
    int_array,
    is_string_like,
    numpy_array,
    plain,
    valid_array,
)
from ledgerkit.core.compute import pc
from ledgerkit.core.limits import MAX_ENTRY_CENTS, amount_message, sign_message
from ledgerkit.core.negations import check_appended_negations, check_negations
from ledgerkit.core.schema import GROUP_CODES, KINDS, PAYER_CLASSES, SOURCES, TABLES, arrow_schema
from ledgerkit.errors import LedgerError

__all__ = ["conform", "check_entries", "READ_COLUMNS"]


def conform(table: pa.Table, name: str, columns=None) -> pa.Table:
    """Cast ``table`` to the schema of ledger table ``name``.

    Required columns must be present and null-free; nullable columns may be
    absent (filled with nulls). Casts must be lossless: money in floats,
    numbers in strings and the like are refused rather than guessed at.
    ``columns`` (names): conform only those, in schema order (a table read in parts).
    """
    wanted = TABLES[name] if columns is None else [c for c in TABLES[name] if c.name in columns]
    schema = arrow_schema(name)
    if columns is not None:
        schema = pa.schema([schema.field(c.name) for c in wanted])
    out = []
    for col in wanted:
        if col.name not in table.column_names:
            if not col.nullable:
                raise LedgerError(
                    f"{name}: missing required column {col.name!r} "
                    f"({col.doc}); expected columns: {arrow_schema(name).names}"
                )
            out.append(pa.nulls(table.num_rows, col.type))
            continue
        data = table[col.name]
        out.append(_cast(data, col, name))
    out = pa.Table.from_arrays(out, schema=schema)
    for col in wanted:
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
            if pa.types.is_dictionary(src) and _recodable(src.value_type, data, dst):
                return _recoded(data, dst)
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


def _recodable(values: pa.DataType, data, dst: pa.DictionaryType) -> bool:
    """True when ``data``'s chunks can keep their dictionaries: string values, and
    all of them together fit ``dst``'s indices (so unifying them later cannot fail)."""
    if not (pa.types.is_string(values) or pa.types.is_large_string(values)):
        return False
    limit = {pa.int8(): 2**7 - 1, pa.int16(): 2**15 - 1}.get(dst.index_type)
    return limit is None or sum(len(c.dictionary) for c in _chunked(data).chunks) <= limit


def _recoded(data, dst: pa.DictionaryType) -> pa.ChunkedArray:
    """A dictionary column in ``dst``'s index and value types, chunk by chunk: only the
    indices are cast (safely: too many values for the index type is refused) and the
    small dictionaries, so no row's string is hashed again (Parquet's row groups, read
    dictionary-coded, keep a dictionary each)."""
    chunks = [
        pa.DictionaryArray.from_arrays(
            c.indices.cast(dst.index_type), c.dictionary.cast(dst.value_type)
        )
        for c in _chunked(data).chunks
    ]
    return pa.chunked_array(chunks, dst)


def _chunked(data) -> pa.ChunkedArray:
    return data if isinstance(data, pa.ChunkedArray) else pa.chunked_array([data])


def _first(mask) -> int:
    return int(np.flatnonzero(bool_array(mask))[0])


def _check_values(table: pa.Table, name: str, column: str, allowed) -> None:
    bad = np.flatnonzero(_codes_of(table[column], allowed) == K.UNKNOWN)
    if len(bad):
        # the value itself is not repeated: it is not a code, so it may be anything
        raise LedgerError(
            f"{name} row {int(bad[0])}, column {column!r}: the value is not one of {list(allowed)}"
        )


def check_payers(payers: pa.Table) -> None:
    _check_values(payers, "payers", "payer_class", PAYER_CLASSES)
    ids = payers["payer_id"]
    if pc.count_distinct(ids).as_py() != len(ids):
        counts = pc.value_counts(ids)
        dup = counts.filter(pc.greater(counts.field("counts"), 1))[0]["values"].as_py()
        raise LedgerError(f"payers, column 'payer_id': duplicate payer id {dup!r}")


def check_entries(
    entries: pa.Table, existing: pa.Table | None = None, *, keys=None, top_id: int | None = None
) -> None:
    """Row-level rules of entries (and of new entries against ``existing``).

    Checks kinds, sources, payer_seq range, adjustment group/CARC, duplicate
    entry ids, negations (the target exists, is not itself a negation, is
    negated once, and the negation mirrors it exactly), amounts within
    ``limits.MAX_ENTRY_CENTS`` and charges that are negative without being
    negations. The row checks are one pass of ``_kernels.validate`` over the
    flat columns (the code columns judged on their few distinct values first);
    errors come in the order the rules are listed here.

    ``entries`` may hold only the columns these rules read (``READ_COLUMNS``).
    ``top_id``: the ids of ``existing`` are known to increase along its rows, up to
    this one; ``keys``: the keys of ``existing``. With both (``Ledger.append`` passes
    them), a batch numbered above ``top_id`` is checked without reading the ledger's
    ids or negations (``negations.check_appended_negations``).
    """
    name = "entries"
    kind = _codes_of(entries["kind"], KINDS)
    group = _codes_of(entries["group_code"], GROUP_CODES)
    first_bad = np.empty(K.N_CHECKS, np.int64)
    seq = int_array(entries["payer_seq"], np.int8)
    amounts = int_array(entries["amount_cents"], np.int64)
    ids = int_array(entries["entry_id"], np.int64)
    negation = valid_array(entries["negates"])
    K.entry_checks_nb(
        kind, _codes_of(entries["source"], SOURCES), group, seq,
        valid_array(entries["carc"]), valid_array(entries["payer_id"]), amounts, negation,
        ids, KINDS.index("adjustment"), KINDS.index("charge"), MAX_ENTRY_CENTS, first_bad,
    )  # fmt: skip
    for check, column, allowed in (
        (K.BAD_KIND, "kind", KINDS),
        (K.BAD_SOURCE, "source", SOURCES),
        (K.BAD_GROUP, "group_code", GROUP_CODES),
    ):
        if first_bad[check] >= 0:
            # the value itself is not repeated: it is not a code, so it may be anything
            raise LedgerError(
                f"{name} row {first_bad[check]}, column {column!r}: the value is not one of "
                f"{list(allowed)}"
            )
    if first_bad[K.BAD_SEQ] >= 0:
        row = int(first_bad[K.BAD_SEQ])
        raise LedgerError(
            f"entries row {row}, column 'payer_seq': {int(seq[row])} is not 0 (patient) "
            "or 1..3 (payer order)"
        )
    for check, column in ((K.ADJUSTMENT_NO_GROUP, "group_code"), (K.ADJUSTMENT_NO_CARC, "carc")):
        if first_bad[check] >= 0:
            raise LedgerError(
                f"entries row {first_bad[check]}, column {column!r}: an adjustment needs "
                "a group code and a CARC"
            )
    if first_bad[K.PAYER_NOT_NAMED] >= 0:
        raise LedgerError(
            f"entries row {first_bad[K.PAYER_NOT_NAMED]}, column 'payer_id': entries with "
            "payer_seq > 0 must name the payer"
        )

    order = None  # of the entry ids, when sorted for the duplicate check
    above = False  # the new ids increase from above every existing id
    if existing is None:
        if first_bad[K.ID_NOT_INCREASING] >= 0:  # else: strictly increasing, so unique
            order = _check_unique_ids(ids, 0)
        all_entries = entries
    else:
        all_entries = pa.concat_tables([existing, entries])
        above = _ids_above(ids, first_bad, existing, top_id)
        if not above:
            _check_unique_ids(numpy_array(all_entries["entry_id"]), existing.num_rows)
    if negation.any():
        if above and top_id is not None and keys is not None:  # every id increases
            check_appended_negations(entries, all_entries, existing.num_rows, keys)
        else:
            increasing = existing is None and first_bad[K.ID_NOT_INCREASING] < 0
            check_negations(
                entries, all_entries, ids if existing is None else None, increasing, order
            )
    if first_bad[K.AMOUNT_BEYOND_LIMIT] >= 0:
        row = int(first_bad[K.AMOUNT_BEYOND_LIMIT])
        raise LedgerError(amount_message(row, int(amounts[row])))
    if first_bad[K.NEGATIVE_CHARGE] >= 0:
        row = int(first_bad[K.NEGATIVE_CHARGE])
        raise LedgerError(sign_message(row, "charge", int(amounts[row])))


# The columns of entries that check_entries, the keys and the coverage check read.
READ_COLUMNS = {
    "encounters": ("encounter_id", "payer1_id", "payer2_id", "payer3_id"),
    "procedures": ("encounter_id", "line"),
    "entries": (
        "entry_id",
        "encounter_id",
        "line",
        "payer_seq",
        "payer_id",
        "kind",
        "group_code",
        "carc",
        "amount_cents",
        "negates",
        "source",
    ),  # fmt: skip
    "payers": tuple(c.name for c in TABLES["payers"]),
}


def _codes_of(column: pa.ChunkedArray, allowed) -> np.ndarray:
    """int8 position of each row's value in ``allowed`` (``UNKNOWN`` if not in it,
    ``NULL`` for null), judged on the column's distinct values, not row by row."""
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    out = np.empty(len(column), np.int8)
    at = 0
    for chunk in column.chunks:
        n = len(chunk)
        values = chunk.dictionary.to_pylist()
        lut = [K.NULL if v is None else allowed.index(v) if v in allowed else K.UNKNOWN
               for v in values]  # fmt: skip
        lut = np.array([*lut, K.NULL], np.int8)  # a null index picks the last
        out[at : at + n] = lut.take(dictionary_indices(chunk, len(values)), mode="clip")
        at += n
    return out


def _ids_above(ids: np.ndarray, first_bad: np.ndarray, existing: pa.Table, top=None) -> bool:
    """True when the new ids increase and start above every existing id (as ``append``
    numbers them): then none repeats, and the ledger's ids need not be read (``top``:
    the largest existing id, when known)."""
    if first_bad[K.ID_NOT_INCREASING] >= 0 or not len(ids):
        return False
    if top is None:
        top = pc.max(existing["entry_id"]).as_py()
    return top is None or int(ids[0]) > top


def _check_unique_ids(ids: np.ndarray, offset: int) -> np.ndarray | None:
    """Refuse a duplicate entry id; the ids' stable sorting order (None: they increase)."""
    if len(ids) < 2 or (np.diff(ids) > 0).all():
        return None
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    dup = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
    if len(dup):
        row = int(order[dup[0] + 1])
        raise LedgerError(
            f"entries row {row - offset if row >= offset else row}, column 'entry_id': "
            f"duplicate entry id {int(ids[row])}"
        )
    return order
