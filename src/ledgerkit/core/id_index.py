"""A reusable lookup of string ids (encounter ids) by their 64-bit fingerprints.

``pc.index_in`` hashes its whole value set on every call: looking 1,000 new
entries up among 4 million encounter ids costs as much as hashing the 4 million.
An :class:`IdIndex` hashes the ids once (sorted 64-bit fingerprints) and then
answers each lookup in time proportional to the values looked up: fingerprint,
binary search, and a string comparison of every hit (so a fingerprint collision
can never give a wrong position, only a slower one).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit._kernels.hashing import fingerprint_strings_nb
from ledgerkit._kernels.keys import lookup_ids_nb, radix_order_nb
from ledgerkit.core.arrow import (
    bool_array,
    codes_in,
    plain,
    string_buffers,
    string_views,
    valid_array,
)
from ledgerkit.core.compute import pc

__all__ = ["IdIndex"]

_SEED = np.uint64(0x1D1D)


def _fingerprints(values: pa.Array) -> np.ndarray:
    offsets, data = string_buffers(values)
    out = np.empty(len(values), np.uint64)
    if len(values):
        fingerprint_strings_nb(offsets, data, valid_array(values), _SEED, out)
    return out


class IdIndex:
    """Positions of string ids in a fixed array of distinct ids.

    Parameters
    ----------
    ids : pyarrow.Array or ChunkedArray of strings
        Distinct, non-null ids (the ledger's encounter ids).

    Examples
    --------
    >>> import pyarrow as pa
    >>> index = IdIndex(pa.array(["E3", "E1", "E2"]))
    >>> index.positions(pa.array(["E1", "E9", None, "E3"])).tolist()
    [1, -1, -1, 0]
    """

    def __init__(self, ids) -> None:
        self.ids = plain(ids)
        if not pa.types.is_string(self.ids.type):
            self.ids = self.ids.cast(pa.string())
        hashes = _fingerprints(self.ids)
        self.order = np.argsort(hashes, kind="stable")
        self.sorted_hashes = hashes[self.order]
        # two ids sharing a fingerprint (about 1 in 10^6 for 4 million ids): the binary
        # search would find one of them only, so such an index answers by hashing
        self.exact = len(hashes) < 2 or bool(
            (self.sorted_hashes[1:] != self.sorted_hashes[:-1]).all()
        )
        # where each run of top bits starts among the sorted hashes: about one id a
        # bucket (int32 for up to 2**31 ids: 17 MB for 4.3M encounters)
        n = len(hashes)
        self.bits = max(1, n.bit_length() - 1)
        top = (self.sorted_hashes >> np.uint64(64 - self.bits)).astype(np.int64)
        self.bucket_start = np.zeros((1 << self.bits) + 1, np.int64 if n >= 2**31 else np.int32)
        np.cumsum(np.bincount(top, minlength=1 << self.bits), out=self.bucket_start[1:])

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, values) -> np.ndarray:
        """Position of each value among the ids (int64; -1 when absent or null)."""
        values = plain(values)
        if not pa.types.is_string(values.type):
            values = values.cast(pa.string())
        n = len(values)
        if n == 0 or len(self.ids) == 0:
            return np.full(n, -1, np.int64)
        if not self.exact:
            return codes_in(values, self.ids)
        # rows come grouped (a batch's entries, an encounter's claims): look up run heads
        if n > 1:
            differs = pc.not_equal(values.slice(1), values.slice(0, n - 1))
            # True where a row starts a run of equal values (a null starts its own)
            head = np.concatenate([[True], bool_array(pc.fill_null(differs, True))])
            if head.sum() < 0.7 * n:
                runs = np.cumsum(head) - 1
                return self._lookup(values.filter(pa.array(head)))[runs]
        return self._lookup(values)

    def _lookup(self, values: pa.Array) -> np.ndarray:
        n = len(values)
        hashes = _fingerprints(values)
        # the queries by bucket (radix passes over the top bits: no comparison sort), so
        # the index's ledger-sized arrays are read front to back, not at random
        bucket = (hashes >> np.uint64(64 - self.bits)).astype(np.int64)
        visit, scratch = np.empty(n, np.int64), np.empty(n, np.int64)
        radix_order_nb(bucket, 1 << self.bits, visit, np.empty_like(bucket), scratch,
                       np.empty_like(bucket))  # fmt: skip
        q_offsets, q_data = string_buffers(values)
        id_offsets, id_data = string_views(self.ids)
        pos = np.empty(n, np.int64)
        lookup_ids_nb(
            self.sorted_hashes, self.bucket_start, 64 - self.bits, self.order, hashes,
            valid_array(values), visit, q_offsets, q_data, id_offsets, id_data, pos,
        )  # fmt: skip
        return pos
