"""Group-bys of the denial analytics: composite dense keys over dimension columns, int64
group sums, units (one row per claim and group), quantiles per group and result tables.
"""

from __future__ import annotations

import numba
import numpy as np
import pyarrow as pa

from ledgerkit._kernels.denials import NO_DAY, unit_reduce_nb
from ledgerkit._kernels.groupsums import group_sums_nb
from ledgerkit._kernels.quantiles import group_quantiles_nb, scatter_by_group_nb

__all__ = [
    "Grouping",
    "group_of_codes",
    "group_quantiles",
    "group_sums",
    "grouped",
    "ratio",
    "units",
]

DENSE_LIMIT = 1 << 22  # above this many composite groups, compress keys with np.unique


class Grouping:
    """Composite dense keys over several dimension columns.

    ``key[i]`` is row ``i``'s group (-1 when masked out); ``n_groups`` groups;
    :meth:`labels` gives the dimension columns of a set of group ids. With no
    columns, every row ``mask`` keeps is in the one group 0 (a total row).
    """

    def __init__(self, columns, mask=None):
        self.columns = columns
        self.cards = [len(labels) for _, _, labels in columns]
        n = len(columns[0][1]) if columns else (len(mask) if mask is not None else 0)
        total = 1
        for c in self.cards:
            total *= c
        if total >= 1 << 62:
            raise ValueError("too many groups: use fewer dimensions in by=")
        composite = np.zeros(n, np.int64)
        for (_, codes, _), card in zip(columns, self.cards, strict=True):
            composite *= card
            composite += codes
        self.compressed = None
        if total > DENSE_LIMIT:
            sel = composite if mask is None else composite[mask]
            uniq, inv = np.unique(sel, return_inverse=True)
            self.compressed = uniq
            key = np.full(n, -1, np.int64)
            if mask is None:
                key[:] = inv
            else:
                key[mask] = inv
            self.n_groups = len(uniq)
        else:
            key = composite
            if mask is not None:
                key = np.where(mask, key, -1)
            self.n_groups = int(total)
        self.key = key

    @classmethod
    def of_dense_key(cls, columns, key: np.ndarray) -> Grouping:
        """The grouping of ``columns`` whose composite key (-1 masked out) a kernel
        computed already (the columns' codes are not read: they may be None); only for
        at most ``DENSE_LIMIT`` composite groups."""
        self = cls.__new__(cls)
        self.columns = columns
        self.cards = [len(labels) for _, _, labels in columns]
        self.n_groups = int(np.prod(self.cards, dtype=np.int64)) if columns else 1
        if self.n_groups > DENSE_LIMIT:
            raise ValueError("of_dense_key: too many groups for a dense key")
        self.compressed = None
        self.key = key
        return self

    def composite_of(self, groups: np.ndarray) -> np.ndarray:
        return groups if self.compressed is None else self.compressed[groups]

    def decode(self, groups: np.ndarray) -> list[np.ndarray]:
        comp = self.composite_of(groups).copy()
        codes = []
        for card in reversed(self.cards):
            codes.append(comp % card)
            comp //= card
        return codes[::-1]

    def labels(self, groups: np.ndarray) -> dict[str, pa.Array]:
        out = {}
        for (name, _, labels), codes in zip(self.columns, self.decode(groups), strict=True):
            out[name] = pa.array(labels, pa.string()).take(pa.array(codes))
        return out

    def sums(self, values: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Int64 group sums of each column and the row count of each group."""
        return group_sums(self.key, values, self.n_groups)


def group_sums(key, values: dict, n_groups: int):
    names = list(values)
    n = len(key)
    matrix = np.empty((len(names), n), np.int64)
    for j, name in enumerate(names):
        matrix[j] = values[name]
    n_threads = numba.get_num_threads()
    bufs = np.zeros((n_threads, len(names), n_groups), np.int64)
    counts = np.zeros((n_threads, n_groups), np.int64)
    group_sums_nb(np.ascontiguousarray(key, np.int64), matrix, bufs, counts)
    total = bufs.sum(axis=0)
    return {name: total[j] for j, name in enumerate(names)}, counts.sum(axis=0)


def units(run: np.ndarray, key: np.ndarray, flag_any=None, flag_all=None, day=None):
    """Collapse rows to units (run, key): (rep mask, any, all, max day) per row."""
    n = len(run)
    flag_any = np.zeros(n, np.bool_) if flag_any is None else flag_any
    flag_all = np.ones(n, np.bool_) if flag_all is None else flag_all
    day = np.full(n, NO_DAY, np.int32) if day is None else day
    rep = np.empty(n, np.bool_)
    any_out = np.zeros(n, np.bool_)
    all_out = np.zeros(n, np.bool_)
    day_out = np.full(n, NO_DAY, np.int32)
    unit_reduce_nb(
        np.ascontiguousarray(run),
        np.ascontiguousarray(key),
        np.ascontiguousarray(flag_any),
        np.ascontiguousarray(flag_all),
        np.ascontiguousarray(day, np.int32),
        rep,
        any_out,
        all_out,
        day_out,
    )
    return rep, any_out, all_out, day_out


def grouped(grouping: Grouping, present: np.ndarray, columns: dict) -> pa.Table:
    """A result table: the dimension columns of ``present`` groups, then ``columns``."""
    out = grouping.labels(present) if grouping.columns else {}
    for name, values in columns.items():
        out[name] = values if isinstance(values, pa.Array) else pa.array(values)
    if not out:
        return pa.table({})
    return pa.table(out)


def ratio(num: np.ndarray, den: np.ndarray) -> pa.Array:
    """num / den as float64, null where den == 0."""
    num = np.asarray(num, np.float64)
    den = np.asarray(den, np.float64)
    safe = np.where(den == 0, 1.0, den)
    return pa.array(num / safe, mask=den == 0)


def group_of_codes(grouping: Grouping, codes: list[np.ndarray]) -> np.ndarray:
    """Group ids of rows given per-dimension codes (same dims as ``grouping``)."""
    n = len(codes[0]) if codes else 0
    comp = np.zeros(n, np.int64)
    for c, card in zip(codes, grouping.cards, strict=True):
        comp = comp * card + c
    if grouping.compressed is None:
        return comp
    return np.searchsorted(grouping.compressed, comp)


def group_quantiles(key: np.ndarray, values: np.ndarray, groups: np.ndarray, qs) -> list:
    """Linear-interpolated quantiles of ``values`` per group (NaN for empty groups).

    Rows with ``key < 0`` are left out. One counting pass puts every row with its
    group, then each group's order statistics are selected in place (no sort of
    every row); values holding NaN take the sorting path (NaN sorts last there).
    """
    groups = np.asarray(groups, np.int64)
    values = np.asarray(values)
    if values.dtype.kind == "f" and np.isnan(values).any():
        return _sorted_group_quantiles(key, values, groups, qs)
    distinct, back = np.unique(groups, return_inverse=True)
    key = np.ascontiguousarray(key, key.dtype if key.dtype in (np.int32, np.int64) else np.int64)
    top = max(int(key.max()) if len(key) else -1, int(distinct[-1]) if len(distinct) else -1)
    n_groups = top + 1
    starts = np.zeros(n_groups + 1, np.int64)
    cursor = np.zeros(n_groups, np.int64)
    buf = np.empty(int((key >= 0).sum()), np.float64)
    scatter_by_group_nb(key, np.ascontiguousarray(values, np.float64), starts, cursor, buf)
    real = distinct >= 0
    picked = np.empty((len(qs), int(real.sum())), np.float64)
    group_quantiles_nb(starts, buf, distinct[real], np.array(qs, np.float64), picked)
    out = np.full((len(qs), len(distinct)), np.nan)
    out[:, real] = picked
    return [row[back] for row in out]


def _sorted_group_quantiles(key, values, groups, qs) -> list:
    """:func:`group_quantiles` by sorting every row (kept for values with NaN)."""
    sel = key >= 0
    k = key[sel]
    v = values[sel].astype(np.float64)
    order = np.lexsort((v, k))
    k = k[order]
    v = v[order]
    lo = np.searchsorted(k, groups, side="left")
    hi = np.searchsorted(k, groups, side="right")
    n = hi - lo
    out = []
    for q in qs:
        pos = (n - 1) * q
        a = np.floor(pos).astype(np.int64)
        b = np.ceil(pos).astype(np.int64)
        ok = n > 0
        ia = np.where(ok, lo + a, 0)
        ib = np.where(ok, lo + b, 0)
        if len(v):
            va, vb = v[ia], v[ib]
        else:
            va = vb = np.zeros(len(groups))
        frac = pos - a
        out.append(np.where(ok, va + (vb - va) * frac, np.nan))
    return out
