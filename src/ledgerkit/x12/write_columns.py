"""The remittance tables as the arrays ``emit_835_nb`` writes from, built column-wise.

Text becomes bounds into one byte pool (the Arrow string bytes concatenated once,
their offsets moved: value ``i`` of text column ``j`` is ``pool[s[j, i]:s[j, i + 1]]``; a
null is empty), numbers int64 with ``NULL`` where
absent, quantities their text (formatted once per distinct value), and the
nesting (claims of a transaction, lines of a claim, adjustments and remarks of a
claim or line, provider adjustments of a transaction) offsets into row lists, in
the order ``format_835`` writes them: claims by (transaction, claim id), lines by
(claim id, line id), adjustments, remarks and provider adjustments in table order.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._kernels.x12 import emit_835 as k
from ledgerkit._kernels.x12.emit import NULL
from ledgerkit.core.arrow import int_array, numpy_array, plain, string_buffers, valid_array
from ledgerkit.x12.remittances import Remittances

DEFAULT_VERSION = "005010X221A1"


class Pool:
    """One byte pool: the literals of the 835 kernel, then every text column added."""

    def __init__(self):
        literals, self.lit = k.literal_pool()
        self.parts = [np.frombuffer(literals, np.uint8)]
        self.size = len(literals)
        self.column_bytes = 0

    def bounds(self, column, n: int, out: np.ndarray) -> None:
        """Where each value of a string column starts in the pool, and the last ends.

        ``out`` (``n + 1``) gets the column's own offsets moved to the pool: value ``i``
        is ``pool[out[i]:out[i + 1]]``; a null is empty (``None``: every value absent).
        """
        if column is None or n == 0 or column.null_count == n:
            out[:] = self.size
            return
        array = plain(column)
        offsets, data = string_buffers(array)
        if array.null_count and (np.diff(offsets)[~valid_array(array)] != 0).any():
            # Arrow allows bytes under a null; a null must be empty here
            array = plain(pc.fill_null(array, ""))
            offsets, data = string_buffers(array)
        first = offsets[0]
        self.parts.append(data[first : offsets[-1]])
        np.add(offsets, self.size - first, out=out)
        self.size += int(offsets[-1] - first)
        self.column_bytes += int(offsets[-1] - first)

    def texts(self, table: pa.Table, names: tuple, made: dict) -> np.ndarray:
        """Bounds (one row of ``n + 1`` per name, see :meth:`bounds`) of ``names``.

        A name's column is ``made[name]``, else the table's, else absent.
        """
        n = table.num_rows
        out = np.empty((len(names), n + 1), np.int64)
        for j, name in enumerate(names):
            column = made.get(name)
            if column is None and name in table.column_names:
                column = table.column(name)
            self.bounds(column, n, out[j])
        return out

    def bytes(self) -> np.ndarray:
        return np.concatenate(self.parts) if len(self.parts) > 1 else self.parts[0].copy()


def numbers(table: pa.Table, names: tuple, made: dict) -> np.ndarray:
    """Cents and day numbers of ``names``, one int64 row each, ``NULL`` where absent."""
    out = np.empty((len(names), table.num_rows), np.int64)
    for j, name in enumerate(names):
        column = made[name] if name in made else table.column(name)
        if pa.types.is_date(column.type):
            column = column.cast(pa.int32())
        column = column.cast(pa.int64())
        out[j] = numpy_array(column, fill=NULL, dtype=np.int64) if len(column) else 0
    return out


def quantity_text(column) -> pa.Array:
    """Units as ``read_835`` wrote them: shortest decimal, no trailing zeros (2.5, 1, 0.333)."""
    n = len(column)
    valid = valid_array(column) if n else np.zeros(0, bool)
    if not valid.any():
        return pa.nulls(n, pa.string())
    values = numpy_array(pc.fill_null(column, 0.0), dtype=np.float64)
    # by bit pattern, so that -0.0 keeps its sign ("-0") as the reference writes it
    distinct, which = np.unique(values[valid].view(np.int64), return_inverse=True)
    words = [np.format_float_positional(v, trim="-") for v in distinct.view(np.float64)]
    index = np.zeros(n, np.int64)
    index[valid] = which
    return pa.array(words, pa.string()).take(pa.array(index, mask=~valid))


def _filled(column) -> pa.ChunkedArray:
    return pc.fill_null(column, "")


def _present(column):
    return pc.not_equal(_filled(column), "")


def _components(column, component: str):
    """A ':'-joined value with the file's component separator."""
    filled = _filled(column)
    return filled if component == ":" else pc.replace_substring(filled, ":", component)


def procedure_composite(qualifier, code, modifiers, component: str):
    """SVC01 / SVC06: qualifier, code, then the modifiers, trailing empty parts dropped."""
    head = pc.binary_join_element_wise(_filled(qualifier), _filled(code), component)
    mods = _components(modifiers, component)
    joined = pc.if_else(
        pc.equal(mods, ""), head, pc.binary_join_element_wise(head, mods, component)
    )
    return pc.utf8_rtrim(joined, characters=component)


def _rows_by_parent(parent: np.ndarray, n_parents: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (``n_parents + 1``) and rows grouped by parent, table order within."""
    rows = np.argsort(parent, kind="stable")
    counts = np.bincount(parent, minlength=n_parents)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), rows.astype(np.int64)


def _row_of_id(ids: np.ndarray, what: str):
    """A function mapping ids to the row holding them (each id once)."""
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    if sorted_ids.size > 1 and (sorted_ids[1:] == sorted_ids[:-1]).any():
        row = int(order[1:][sorted_ids[1:] == sorted_ids[:-1]].min())
        raise ValueError(f"{what} row {row} repeats an id; ids must be unique")

    def rows(query: np.ndarray, table: str, column: str) -> np.ndarray:
        at = np.searchsorted(sorted_ids, query)
        found = at < sorted_ids.size
        found[found] = sorted_ids[at[found]] == query[found]
        if not found.all():
            row = int(np.flatnonzero(~found)[0])
            raise ValueError(f"{table}.{column} row {row} names no row of {what}")
        return order[at]

    return rows


def _of_claim_or_line(table: pa.Table, name: str, claim_row, line_row, n_claims, n_lines):
    """Rows of each claim (``line_id`` null) and of each line, table order within."""
    line_ids = table.column("line_id")
    on_line = valid_array(line_ids) if table.num_rows else np.zeros(0, bool)
    rows = np.arange(table.num_rows)
    claim_ids = int_array(table.column("claim_id"))
    at_claim = claim_row(claim_ids[~on_line], name, "claim_id")
    at_line = line_row(numpy_array(line_ids, fill=0, dtype=np.int64)[on_line], name, "line_id")
    c_off, c_rows = _rows_by_parent(at_claim, n_claims)
    l_off, l_rows = _rows_by_parent(at_line, n_lines)
    return c_off, rows[~on_line][c_rows], l_off, rows[on_line][l_rows]


def kernel_arguments(r: Remittances, component: str) -> tuple[tuple, int]:
    """The arguments of ``emit_835_nb`` after ``out, tx_end, seps, term``, and a size guess."""
    pool = Pool()
    tx, cl, li, ad, rm, pl = (
        r.transactions, r.claims, r.service_lines, r.adjustments, r.remarks,
        r.provider_adjustments,
    )  # fmt: skip
    ntx, ncl, nli = tx.num_rows, cl.num_rows, li.num_rows

    version = tx.column("version")
    version = pc.if_else(_present(version), _filled(version), DEFAULT_VERSION)
    st03 = pc.if_else(pc.starts_with(version, "004010"), "", version)
    tx_s = pool.texts(tx, k.TX_TEXT, {"st03": st03})
    tx_n = numbers(tx, k.TX_NUM, {})

    cl_tx = int_array(cl.column("transaction_id"))
    cl_id = int_array(cl.column("claim_id"))
    cl_rows = np.lexsort((cl_id, cl_tx)).astype(np.int64)
    cl_off = np.searchsorted(cl_tx[cl_rows], np.arange(ntx + 1)).astype(np.int64)
    cl_s = pool.texts(cl, k.CLAIM_TEXT, {})
    cl_n = numbers(cl, k.CLAIM_NUM, {})
    claim_row = _row_of_id(cl_id, "claims")

    li_claim = int_array(li.column("claim_id"))
    li_id = int_array(li.column("line_id"))
    li_rows = np.lexsort((li_id, li_claim)).astype(np.int64)
    li_sorted = li_claim[li_rows]
    li_range = np.stack(
        [np.searchsorted(li_sorted, cl_id, "left"), np.searchsorted(li_sorted, cl_id, "right")],
        axis=1,
    ).astype(np.int64)
    original = pc.or_(_present(li.column("original_procedure_qualifier")),
                      _present(li.column("original_procedure_code")))  # fmt: skip
    svc06 = procedure_composite(
        li.column("original_procedure_qualifier"), li.column("original_procedure_code"),
        li.column("original_modifiers"), component,
    )  # fmt: skip
    made = {
        "svc01": procedure_composite(
            li.column("procedure_qualifier"), li.column("procedure_code"),
            li.column("modifiers"), component,
        ),
        "svc06": pc.if_else(original, svc06, ""),
        "units": quantity_text(li.column("units")),
        "original_units": quantity_text(li.column("original_units")),
    }  # fmt: skip
    li_s = pool.texts(li, k.LINE_TEXT, made)
    li_n = numbers(li, k.LINE_NUM, {})
    line_row = _row_of_id(li_id, "service_lines")

    ad_s = pool.texts(ad, k.ADJ_TEXT, {"quantity": quantity_text(ad.column("quantity"))})
    ad_n = numbers(ad, k.ADJ_NUM, {})
    adj = _of_claim_or_line(ad, "adjustments", claim_row, line_row, ncl, nli)

    is_mia = pc.cast(pc.fill_null(pc.equal(rm.column("source"), "MIA"), False), pa.int64())
    rm_s = pool.texts(rm, k.REMARK_TEXT, {})
    rm_n = numbers(rm, k.REMARK_NUM, {"is_mia": is_mia})
    rem = _of_claim_or_line(rm, "remarks", claim_row, line_row, ncl, nli)

    reference = _components(pl.column("reference"), component)
    reason = _filled(pl.column("reason_code"))
    plb03 = pc.if_else(
        pc.equal(reference, ""), reason,
        pc.binary_join_element_wise(reason, reference, component),
    )  # fmt: skip
    pl_s = pool.texts(pl, k.PLB_TEXT, {"plb03": plb03})
    pl_n = numbers(pl, k.PLB_NUM, {})
    pl_tx = int_array(pl.column("transaction_id"))
    if pl_tx.size and (pl_tx.min() < 0 or pl_tx.max() >= ntx):
        row = int(np.flatnonzero((pl_tx < 0) | (pl_tx >= ntx))[0])
        raise ValueError(f"provider_adjustments.transaction_id row {row} names no transaction")
    plb_off, plb_rows = _rows_by_parent(pl_tx, ntx)

    args = (
        pool.bytes(), pool.lit, tx_s, tx_n, cl_off, cl_rows, cl_s, cl_n, li_range, li_rows,
        li_s, li_n, ad_s, ad_n, adj[0], adj[1], adj[2], adj[3], rm_s, rm_n, rem[0], rem[1],
        rem[2], rem[3], pl_s, pl_n, plb_off, plb_rows,
    )  # fmt: skip
    # generous: each text value is written at most once; the rest is per row
    guess = pool.column_bytes + 1024 + 400 * ntx + 260 * ncl + 200 * nli
    guess += 48 * ad.num_rows + 40 * rm.num_rows + 48 * pl.num_rows
    return args, guess
