"""A batch of remits, flattened for posting, and the fingerprints that identify them.

``flatten`` turns :class:`~ledgerkit.x12.Remittances` into positions (line ->
claim, adjustment -> claim and line, claim -> transaction) and gives every
claim its ``remit_id``: two 64-bit content hashes of what makes a remit the
same remit, so duplicates are recognised from content alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._kernels import hashing as H
from ledgerkit._kernels import posting as K
from ledgerkit.core.arrow import encode, numpy_array, plain, string_views, valid_array


def ints(col, fill=0) -> np.ndarray:
    return numpy_array(plain(col).cast(pa.int64()), fill=fill)


def positions(keys, value_set) -> np.ndarray:
    """Position of each key in ``value_set`` (-1 when absent or null)."""
    keys, value_set = plain(keys), plain(value_set)
    if len(keys) == 0:
        return np.zeros(0, np.int64)
    if _is_row_ids(value_set) and pa.types.is_integer(keys.type):
        # Ids that are row numbers (as read_835 makes them): no hashing needed.
        k = ints(keys, -1)
        return np.where((k >= 0) & (k < len(value_set)), k, -1)
    pos = pc.index_in(keys, value_set=value_set)
    return ints(pos, -1)


def _is_row_ids(values: pa.Array) -> bool:
    """True for a non-null integer column holding 0, 1, ..., n - 1 in order."""
    if not pa.types.is_integer(values.type) or values.null_count:
        return False
    v = numpy_array(values)
    return len(v) == 0 or (int(v[0]) == 0 and bool((np.diff(v) == 1).all()))


def const(value, n: int, typ=pa.string()) -> pa.Array:
    """``value`` repeated ``n`` times (no Python list of n objects)."""
    return pa.repeat(pa.scalar(value, typ), n)


def _hash_input(col):
    """What the hash kernels read of a column: ``(offsets, data, valid)`` of a string
    column, or ``(values,)``, its values as uint64 (floats to 6 decimals, nulls a
    constant of the type)."""
    if pa.types.is_string(col.type):
        offsets, data = string_views(col)  # (no int64 copy of the offsets)
        return offsets, data, valid_array(col)
    if pa.types.is_floating(col.type):
        vals = numpy_array(pc.round(col, 6), fill=-1.5).view(np.uint64)
    elif pa.types.is_date(col.type):
        vals = ints(col.cast(pa.int32()), -(2**40)).view(np.uint64)
    else:
        vals = ints(col, -(2**62)).view(np.uint64)
    return (np.ascontiguousarray(vals),)


def hash_column(col, seed: int) -> np.ndarray:
    """The column's value hashes under ``seed`` (uint64, one a row)."""
    col = plain(col)
    out = np.empty(len(col), np.uint64)
    if len(col) == 0:
        return out
    read = _hash_input(col)
    if len(read) == 3:
        H.fingerprint_strings_nb(*read, np.uint64(seed), out)
    else:
        out[:] = np.uint64(seed)
        H.combine_nb(out, read[0])
    return out


def hash_column_pair(col, seed_a: int, seed_b: int) -> tuple[np.ndarray, np.ndarray]:
    """``hash_column`` under two seeds, from one conversion and one read of the column."""
    col = plain(col)
    n = len(col)
    out_a, out_b = np.empty(n, np.uint64), np.empty(n, np.uint64)
    if n == 0:
        return out_a, out_b
    read = _hash_input(col)
    seeds = np.uint64(seed_a), np.uint64(seed_b)
    if len(read) == 3:
        H.fingerprint_strings_pair_nb(*read, *seeds, out_a, out_b)
    else:
        H.seeded_pair_nb(read[0], *seeds, out_a, out_b)
    return out_a, out_b


def row_hash(columns, seed: int) -> np.ndarray:
    """One uint64 hash a row of the equal-length ``columns``."""
    h = None
    for i, col in enumerate(columns):
        x = hash_column(col, seed + 7919 * (i + 1))
        if h is None:
            h = x
        else:
            H.combine_nb(h, x)
    return h


def row_hash_pair(columns, seed_a: int, seed_b: int) -> tuple[np.ndarray, np.ndarray]:
    """``row_hash(columns, seed_a)`` and ``row_hash(columns, seed_b)``, reading every
    column once (the remit ids' two halves)."""
    h_a = h_b = None
    for i, col in enumerate(columns):
        x_a, x_b = hash_column_pair(col, seed_a + 7919 * (i + 1), seed_b + 7919 * (i + 1))
        if h_a is None:
            h_a, h_b = x_a, x_b
        else:
            H.combine_pair_nb(h_a, x_a, h_b, x_b)
    return h_a, h_b


def first_index(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """For rows visited in ``order``: True where the value is seen for the first time."""
    first = np.zeros(len(values), bool)
    if len(values) == 0:
        return first
    v = values[order]
    _, idx = np.unique(v, return_index=True)
    first[order[idx]] = True
    return first


# ----------------------------------------------------------------------------- flatten
@dataclass
class Batch:
    claims: pa.Table
    lines: pa.Table
    adjustments: pa.Table
    payer_id: pa.Array
    file: pa.Array
    tx_date: np.ndarray
    line_claim: np.ndarray
    adj_claim: np.ndarray
    adj_line: np.ndarray
    remit_id: pa.Array
    _codes: dict = field(default_factory=dict, repr=False)
    # the first 64-bit half of each remit id, as a number (None: ids made elsewhere)
    remit_hash: np.ndarray | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return self.claims.num_rows

    def payer_codes(self) -> tuple[np.ndarray, pa.Array]:
        """``encode`` of ``payer_id`` (null rows -1), hashed once per batch (deciding
        and building the entries both read it); coded again if ``payer_id`` is replaced.

        Examples
        --------
        >>> import ledgerkit as lk
        >>> b = flatten(lk.synth.remittances(lk.synth.generate(5, seed=2)))
        >>> codes, values = b.payer_codes()
        >>> values.take(pa.array(codes)).equals(plain(b.payer_id))
        True
        """
        held = self._codes.get("payer_id")
        if held is None or held[0] is not self.payer_id:
            held = self._codes["payer_id"] = (self.payer_id, encode(plain(self.payer_id)))
        return held[1]

    def codes(self, table: str, column: str) -> tuple[np.ndarray, pa.Array]:
        """``encode`` of one of the batch's columns (null rows -1), hashed once per batch:
        deciding and building the entries both read the adjustments' group codes and
        CARCs (3.6M rows at 1M claims, 0.15 s each time).

        Examples
        --------
        >>> import ledgerkit as lk
        >>> b = flatten(lk.synth.remittances(lk.synth.generate(5, seed=2)))
        >>> codes, values = b.codes("adjustments", "group_code")
        >>> b.codes("adjustments", "group_code")[0] is codes
        True
        """
        key = (table, column)
        if key not in self._codes:
            self._codes[key] = encode(plain(getattr(self, table)[column]))
        return self._codes[key]


def flatten(r) -> Batch:
    claims, lines, adj, tx = r.claims, r.service_lines, r.adjustments, r.transactions
    tx_pos = positions(claims["transaction_id"], tx["transaction_id"])
    take = pa.array(np.maximum(tx_pos, 0))
    has_tx = pa.array(tx_pos >= 0)
    payer_id = pc.if_else(has_tx, plain(tx["payer_id"]).take(take), None)
    file = pc.if_else(has_tx, plain(tx["file"]).take(take), None)
    date = pc.coalesce(tx["payment_date"], tx["production_date"], tx["gs_date"])
    date = ints(pc.cast(plain(date), pa.int32()), 2**31)
    tx_date = np.where(tx_pos >= 0, date[np.maximum(tx_pos, 0)] if len(date) else 0, 2**31)
    line_claim = positions(lines["claim_id"], claims["claim_id"])
    adj_claim = positions(adj["claim_id"], claims["claim_id"])
    adj_line = positions(adj["line_id"], lines["line_id"])
    b = Batch(claims, lines, adj, payer_id, file, tx_date, line_claim, adj_claim, adj_line, None)
    b.remit_id, b.remit_hash = fingerprints(b, with_hash=True)
    return b


def fingerprints(b: Batch, *, with_hash: bool = False):
    """remit_id of every claim: 'R' + 32 hex digits of two 64-bit content hashes (with
    ``with_hash``: and the first hash, the ids' first 16 digits as numbers)."""
    n = b.n
    c, li, ad = b.claims, b.lines, b.adjustments
    lnum = ints(li["line_number"]) if li.num_rows else np.zeros(0, np.int64)
    adj_lnum = np.where(b.adj_line >= 0, lnum[np.maximum(b.adj_line, 0)] if len(lnum) else 0, 0)
    l_order = lex_order(b.line_claim, lnum)
    a_order = lex_order(b.adj_claim, adj_lnum)
    seeds = (0x51ED, 0xA5A5)
    h = row_hash_pair(
        [
            b.payer_id,
            c["encounter_id"],
            c["payer_claim_control_number"],
            c["status_code"],
            c["charge_cents"],
            c["paid_cents"],
        ],
        *seeds,
    )
    if li.num_rows:
        lh = row_hash_pair(
            [
                li["line_number"],
                li["procedure_code"],
                li["modifiers"],
                li["original_procedure_code"],
                li["charge_cents"],
                li["paid_cents"],
                li["units"],
                li["service_date"],
                li["line_control_number"],
            ],
            *(seed + 1 for seed in seeds),
        )
        groups = b.line_claim[l_order]
        for half in (0, 1):
            H.fold_groups_nb(groups, lh[half][l_order], h[half])
    if ad.num_rows:
        ah = row_hash_pair(
            [pa.array(adj_lnum), ad["group_code"], ad["carc"], ad["amount_cents"]],
            *(seed + 2 for seed in seeds),
        )
        groups = b.adj_claim[a_order]
        for half in (0, 1):
            H.fold_groups_nb(groups, ah[half][a_order], h[half])
    out = list(h)
    raw = np.empty((n, 33), np.uint8)
    K.hex_ids_nb(out[0], out[1], raw)
    offsets = np.arange(0, 33 * (n + 1), 33, dtype=np.int32)
    ids = pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(raw.reshape(-1))]
    )
    return (ids, out[0]) if with_hash else ids


def lex_order(major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """Rows in order of ``(major, minor)``, ties in row order (a stable lexsort); an
    835 lists claims' lines and adjustments in that order already, so mostly no sort.

    Examples
    --------
    >>> lex_order(np.array([0, 0, 1]), np.array([1, 2, 1])).tolist()
    [0, 1, 2]
    >>> lex_order(np.array([1, 0, 0]), np.array([1, 2, 1])).tolist()
    [2, 1, 0]
    """
    major = np.ascontiguousarray(major, np.int64)
    minor = np.ascontiguousarray(minor, np.int64)
    if K.is_lex_sorted_nb(major, minor):
        return np.arange(len(major))
    return np.lexsort((minor, major))


def remit_ids(remittances) -> pa.Array:
    """The ``remit_id`` of every claim of ``remittances`` (claims order).

    Two claims get the same id exactly when they are the same remit: same
    payer, patient control number, payer claim number, status, charge, paid,
    lines and adjustments (file names, dates and trace numbers do not count).

    Examples
    --------
    >>> from ledgerkit.x12 import read_835
    >>> raw = b"ST*835*1~BPR*I*10*C*CHK************20250101~N1*PR*P*XV*P1~CLP*E1*1*10*10~SE*5*1~"
    >>> a, b = remit_ids(read_835(raw)), remit_ids(read_835(raw.replace(b"20250101", b"20250102")))
    >>> a.equals(b), len(a[0].as_py())
    (True, 33)
    """
    return flatten(remittances).remit_id


def select_remits(remittances, remit_id):
    """The remittances restricted to the claims with the given remit id(s)."""
    from ledgerkit.x12.remittances import Remittances

    ids = pa.array([remit_id] if isinstance(remit_id, str) else list(remit_id), pa.string())
    keep = pc.is_in(remit_ids(remittances), value_set=ids)
    claims = remittances.claims.filter(keep)
    cid = claims["claim_id"]

    def sub(t):
        return t.filter(pc.is_in(t["claim_id"], value_set=cid.combine_chunks()))

    tx = remittances.transactions
    tx = tx.filter(
        pc.is_in(tx["transaction_id"], value_set=claims["transaction_id"].combine_chunks())
    )
    return Remittances(
        tx,
        claims,
        sub(remittances.service_lines),
        sub(remittances.adjustments),
        sub(remittances.remarks),
        remittances.provider_adjustments.slice(0, 0),
        remittances.findings.slice(0, 0),
    )
