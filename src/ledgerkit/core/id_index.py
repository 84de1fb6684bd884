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
from ledgerkit.core.arrow import bool_array, codes_in, plain, string_buffers, valid_array
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
        # searching in ascending order keeps the binary searches in cache (3-10x faster)
        query_order = np.argsort(hashes)
        at = np.empty(n, np.int64)
        at[query_order] = np.searchsorted(self.sorted_hashes, hashes[query_order])
        at = np.minimum(at, len(self.ids) - 1)
        found = (self.sorted_hashes[at] == hashes) & valid_array(values)
        pos = np.where(found, self.order[at], -1)
        hit = np.flatnonzero(found)
        if len(hit):
            same = pc.equal(values.take(pa.array(hit)), self.ids.take(pa.array(pos[hit])))
            pos[hit[~bool_array(same)]] = -1
        return pos.astype(np.int64)
