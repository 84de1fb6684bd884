"""The keys of a ledger after ``Ledger.append``, from the previous keys and the new rows.

An append reads the new rows only (their encounters through the kept id index, their
procedures by a search in their encounter) and merges them into the grouped arrays in
one parallel pass (``_kernels.keys.merge_appended_nb``): nothing is re-sorted, no
string of an old row is read again, and the only ledger-sized allocations are the
merged arrays themselves. The packed codes under the ledger's policy are carried
through the merge when they are at hand, the new rows' codes computed from those rows.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit._kernels.entry_codes import pack_entry_codes_nb
from ledgerkit._kernels.keys import (
    check_positions_nb,
    clear_live_nb,
    is_nondecreasing_nb,
    merge_appended_nb,
    radix_order_nb,
)
from ledgerkit.core.arrow import (
    bool_array,
    dictionary_codes,
    int_array,
    numpy_array,
    valid_array,
)
from ledgerkit.core.compute import pc
from ledgerkit.core.keys import (
    _BUCKET_OF_KIND,
    LedgerKeys,
    _entry_procedures,
    distinct_strings,
    kind_codes,
    used_dictionary_values,
)
from ledgerkit.core.negations import rows_of_ids
from ledgerkit.core.schema import KINDS

__all__ = ["extend_keys"]

_LIVE_SHIFT = 6  # the live bit of a packed code (codes.pack_code)
_NOT_LIVE = np.int8(~(1 << _LIVE_SHIFT))


def extend_keys(
    previous: LedgerKeys,
    encounters: pa.Table,
    entries: pa.Table,
    policy=None,
    *,
    ids_increase: bool = False,
    new_procedures: np.ndarray | None = None,
) -> LedgerKeys:
    """The keys after an append, in time proportional to the batch plus one parallel
    copy of the grouped arrays.

    ``entries`` are the old rows (those ``previous`` was built from) followed by the
    new ones; ``policy``: carry the packed codes ``previous`` holds under it;
    ``ids_increase``: every entry id increases along the rows (``Ledger.append`` knows),
    so the negated rows are found without reading every id; ``new_procedures``: the
    grouped procedure of each new row, when the caller knows them (no lookup then).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(20, seed=1)
    >>> more = ledger.append(ledger.entries.slice(0, 1).drop_columns(["entry_id"]))
    >>> int(more.keys.proc_entry_start[-1] - ledger.keys.proc_entry_start[-1])
    1
    """
    n_old = len(previous.entry_proc)
    new_rows = entries.slice(n_old)
    if new_procedures is not None:
        new_proc = _given_procedures(new_procedures, new_rows, previous)
    else:
        new_enc = previous.encounter_positions(
            encounters["encounter_id"], new_rows["encounter_id"]
        )
        # errors name the row of the appended batch (the user's row 0), not of the table
        new_proc = _entry_procedures(
            new_rows, None, previous.enc_proc_start, previous.proc_line, 0, entry_enc=new_enc
        )
    entry_proc = np.concatenate([previous.entry_proc, new_proc])
    seq = int_array(new_rows["payer_seq"], np.int8)
    kind = kind_codes(new_rows)
    amounts = int_array(new_rows["amount_cents"], np.int64)
    negated = negated_rows(entries, n_old, ids_increase=ids_increase)
    negated_old = negated[negated < n_old]
    new_live = ~valid_array(new_rows["negates"])
    new_live[negated[negated >= n_old] - n_old] = False
    old_codes = None if policy is None else previous.cached_packed_codes(policy)
    new_codes = None if old_codes is None else _row_codes(new_rows, kind, seq, policy)
    codes = None
    n_proc = previous.n_procedures
    proc_entry_start = np.empty(n_proc + 1, np.int64)
    grouped_tail = previous.entry_order is None and (
        len(new_proc) == 0
        or (
            is_nondecreasing_nb(new_proc)
            and (n_old == 0 or new_proc[0] >= previous.entry_proc[-1])
        )
    )
    if grouped_tail:  # appended after the last procedure's entries: still grouped
        entry_order = None
        old_start = previous.proc_entry_start
        added = np.bincount(new_proc, minlength=n_proc)
        proc_entry_start[0] = 0
        np.cumsum(added, out=proc_entry_start[1:])
        proc_entry_start += old_start
        seq = np.concatenate([previous.entry_seq, seq])
        kind = np.concatenate([previous.entry_kind, kind])
        amounts = np.concatenate([previous.amounts, amounts])
        live = np.concatenate([previous.entry_live, new_live])
        live[negated_old] = False  # grouped positions are rows here
        if old_codes is not None:
            codes = np.concatenate([old_codes, _with_live(new_codes, new_live)])
            clear_live_nb(codes, negated_old)
    else:
        n = len(entry_proc)
        new_order, new_proc_sorted = _sorted_by_procedure(new_proc, n_proc)
        old_order = previous.entry_order
        entry_order = np.empty(n, np.int64)
        out = (np.empty(n, np.int8), np.empty(n, np.int8), np.empty(n, np.int64))
        live = np.empty(n, np.bool_)
        empty = np.empty(0, np.int8)
        codes = empty if old_codes is None else np.empty(n, np.int8)
        merge_appended_nb(
            previous.proc_entry_start,
            old_order if old_order is not None else np.empty(0, np.int64),
            old_order is not None,
            new_proc_sorted, new_order, n_old,
            previous.entry_seq, seq, previous.entry_kind, kind, previous.amounts, amounts,
            previous.entry_live, new_live, negated_old, previous.entry_proc,
            proc_entry_start, entry_order, *out, live,
            empty if old_codes is None else old_codes,
            empty if new_codes is None else new_codes, codes,
        )  # fmt: skip
        seq, kind, amounts = out
        codes = None if old_codes is None else codes
    keys = LedgerKeys(
        n_encounters=previous.n_encounters,
        proc_order=previous.proc_order,
        enc_proc_start=previous.enc_proc_start,
        proc_line=previous.proc_line,
        entry_proc=entry_proc,
        entry_order=entry_order,
        proc_entry_start=proc_entry_start,
        entry_seq=seq,
        entry_kind=kind,
        entry_live=live,
        amounts=amounts,
        enc_n_payers=previous.enc_n_payers,
    )
    keys._encounter_index = previous._encounter_index
    keys.proc_control_numbers = previous.proc_control_numbers
    keys._proc_enc = previous._proc_enc
    if previous.remit_refs is not None:  # a value set: repeats do no harm, hashing would
        added = _used_values(new_rows["remit_ref"])
        keys.remit_refs = pa.chunked_array([*previous.remit_refs.chunks, *added], pa.string())
    if codes is not None:
        keys.policy_cache(policy)["packed_codes"] = codes
    return keys


def _given_procedures(procedures, new_rows, previous: LedgerKeys) -> np.ndarray:
    """The caller's procedure positions of the new rows, checked where it is cheap: in
    range, and naming each row's own ``line`` (a wrong position would corrupt the keys);
    one pass (``check_positions_nb``) that also narrows them to int32."""
    new_proc = np.asarray(procedures)
    if new_proc.ndim != 1 or len(new_proc) != len(new_rows):
        raise ValueError("new_procedures: one position per appended row")
    if not np.issubdtype(new_proc.dtype, np.integer):
        raise ValueError("new_procedures: positions are integers")
    out = np.empty(len(new_proc), np.int32)
    lines = int_array(new_rows["line"], np.int32)
    problem = check_positions_nb(new_proc, lines, previous.proc_line, out)
    if problem == 1:
        raise ValueError("new_procedures: a position outside the ledger's procedures")
    if problem == 2:
        raise ValueError("new_procedures: a position names another line than its row's")
    return out


def _stable_order(new_proc: np.ndarray, n_proc: int) -> np.ndarray:
    """The new rows in order of their procedure, ties in row order (a stable argsort)."""
    return _sorted_by_procedure(new_proc, n_proc)[0]


def _sorted_by_procedure(new_proc: np.ndarray, n_proc: int) -> tuple[np.ndarray, np.ndarray]:
    """(order, procedures in that order): the new rows in order of their procedure, ties
    in row order, by radix passes (a post of 1M claims appends 5.5M rows to 10M
    procedures: 0.3 s sorted, 0.16-0.25 s counted into a count per procedure)."""
    n = len(new_proc)
    order, tmp_order = np.empty(n, np.int64), np.empty(n, np.int64)
    keys, tmp_keys = np.empty(n, new_proc.dtype), np.empty(n, new_proc.dtype)
    radix_order_nb(new_proc, n_proc, order, keys, tmp_order, tmp_keys)
    return order, keys


def _used_values(column) -> list:
    """The values of a string column, each at least once, as ``string`` arrays: of a
    dictionary chunk the dictionary values its rows use (marked from the indices; not
    made distinct: a posted batch's references are its remit ids, distinct already, and
    the set they join tolerates repeats), of a plain chunk its distinct values."""
    if isinstance(column, pa.Array):
        column = pa.chunked_array([column])
    parts = []
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            values = used_dictionary_values(chunk)
            if len(values):
                parts.append(values)
        elif len(chunk):
            parts.append(distinct_strings(chunk))
    return parts


def _with_live(codes: np.ndarray, live: np.ndarray) -> np.ndarray:
    """Packed codes with their live bit set from ``live``."""
    return (codes & _NOT_LIVE) | (live.astype(np.int8) << _LIVE_SHIFT)


def _row_codes(rows: pa.Table, kind: np.ndarray, seq: np.ndarray, policy) -> np.ndarray:
    """Packed codes (live bit 0) of some entries rows under ``policy``, from those rows:
    ``buckets_of`` and ``pack_code`` in one pass (``pack_entry_codes_nb``)."""
    g_codes = c_codes = np.zeros(len(kind), np.int8)
    matrix = np.zeros((1, 1), np.int8)  # read by adjustments only
    if (kind == KINDS.index("adjustment")).any():
        g_codes, g_values = dictionary_codes(rows["group_code"])
        c_codes, c_values = dictionary_codes(rows["carc"])
        matrix = policy.bucket_matrix(g_values, [v.strip() for v in c_values])
    out = np.empty(len(kind), np.int8)
    no_order = np.empty(0, np.int64)
    pack_entry_codes_nb(
        kind, seq, np.zeros(len(kind), np.bool_), g_codes, c_codes, no_order, _BUCKET_OF_KIND,
        matrix, out,
    )  # fmt: skip
    return out


def negated_rows(entries: pa.Table, first_new_row: int, *, ids_increase=False) -> np.ndarray:
    """The rows of ``entries`` (sorted int64) that a row from ``first_new_row`` on negates.

    Examples
    --------
    >>> import pyarrow as pa
    >>> entries = pa.table({"entry_id": [10, 11, 12, 13], "negates": [None, None, 10, 12]})
    >>> negated_rows(entries, 3).tolist()
    [2]
    """
    negates = entries.slice(first_new_row)["negates"]
    if negates.null_count == len(negates):
        return np.empty(0, np.int64)
    targets = numpy_array(pc.drop_null(negates), dtype=np.int64)
    if ids_increase:  # a search in the one chunk that can hold each target
        rows = rows_of_ids(entries["entry_id"], targets)
        return np.unique(rows[rows >= 0])
    found = []
    start = 0  # ids grow with posting order: a binary search per chunk, no copy of them
    for chunk in entries["entry_id"].chunks:
        ids = int_array(chunk, np.int64)  # a view of the chunk's values (read-only)
        if not is_nondecreasing_nb(ids):
            hit = pc.is_in(entries["entry_id"], value_set=pa.array(targets))
            return np.flatnonzero(bool_array(hit)).astype(np.int64)
        if len(ids):
            pos = np.minimum(np.searchsorted(ids, targets), len(ids) - 1)
            found.append(start + pos[ids[pos] == targets])
        start += len(ids)
    return np.unique(np.concatenate(found)) if found else np.empty(0, np.int64)
