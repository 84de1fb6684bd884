"""Denial metrics over a partitioned ledger: per-partition parts, combined exactly.

Integer sums per group, rates recomputed from the sums, and the medians of
``days_to_resolution`` from exact per-group histograms of days. Used by
:mod:`ledgerkit.dask`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit._kernels.groupsums import group_sum_nb
from ledgerkit.analytics.metrics import METRIC_NAMES
from ledgerkit.core.arrow import encode, numpy_array


# --------------------------------------------------------------------- group sums
def _concat_tables(tables: list[pa.Table]) -> pa.Table:
    return pa.concat_tables(tables) if tables else pa.table({})


def _group_keys(table: pa.Table, keys) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each group, group of each row) over the ``keys`` columns."""
    n = table.num_rows
    if not keys:
        return (np.zeros(1 if n else 0, np.int64), np.zeros(n, np.int64))
    codes = np.stack([encode(table[k], null_code=None)[0] for k in keys], axis=1)
    _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def group_sum(table: pa.Table, keys, columns) -> pa.Table:
    """Exact int64 sums of ``columns`` per distinct ``keys`` (nulls are a key value)."""
    first, inverse = _group_keys(table, keys)
    out = {k: table[k].take(pa.array(first)) for k in keys}
    for name in columns:
        sums = np.zeros(len(first), np.int64)
        values = numpy_array(table[name], dtype=np.int64)
        group_sum_nb(values, inverse, sums)
        out[name] = pa.array(sums, pa.int64())
    return pa.table(out) if out else pa.table({})


# --------------------------------------------------------------------- metrics
METRICS = METRIC_NAMES
# Ratio columns, recomputed from the summed numerator and denominator.
_RATIOS = {
    "denial_rate": ("denied_claims", "claims"),
    "dollar_denial_rate": ("denied_cents", "charge_cents"),
    "avoidable_rate": ("avoidable_claims", "claims"),
    "avoidable_share": ("avoidable_claims", "denied_claims"),
    "dollar_avoidable_rate": ("avoidable_cents", "charge_cents"),
    "overturn_rate": ("overturned_claims", "denied_claims"),
    "recovery_rate": ("recovered_cents", "denied_cents"),
}
# Denominators of the first-response metrics: per group of the non-reason dimensions.
_BASE = ("claims", "responded", "charge_cents")
_FIRST_RESPONSE = ("initial_denial_rate", "avoidable_denial_rate")


def _resolution_days(ledger, by, catalog):
    """days_to_resolution's per-claim days as a histogram: by labels, days, count."""
    from ledgerkit._kernels.denials import NO_DAY
    from ledgerkit.analytics.denial_recovery import denied_lines
    from ledgerkit.analytics.facts import units

    _, f, g, _ = denied_lines(ledger, by, None, catalog)
    first = f.enc_first_day[f.proc_enc, 1]
    resolved = f.figures["payer_balance"] == 0
    end = np.where(f.last_day != NO_DAY, f.last_day, first).astype(np.int32)
    rep, _, all_, end_day = units(f.proc_enc, g.key, flag_all=resolved, day=end)
    sel = np.flatnonzero(rep & all_ & (g.key >= 0))
    days = end_day[sel].astype(np.int64) - first[sel]
    groups = g.key[sel]
    pairs = np.stack([groups, days], axis=1) if len(sel) else np.zeros((0, 2), np.int64)
    uniq, counts = np.unique(pairs, axis=0, return_counts=True)
    cols = g.labels(uniq[:, 0]) if g.columns else {}
    cols["days"] = pa.array(uniq[:, 1], pa.int64())
    cols["count"] = pa.array(counts.astype(np.int64))
    return pa.table(cols)


def part_metric(ds, p, name, by, kwargs, policy):
    from ledgerkit.analytics import metrics as M
    from ledgerkit.analytics.facts import REASON_DIMS, parse_by

    ledger = ds.read(p, policy=policy)
    fn = getattr(M, name)
    out = {"table": fn(ledger, by=by, **kwargs)}
    by = parse_by(by)
    if name in _FIRST_RESPONSE and any(d in REASON_DIMS for d in by):
        base_by = tuple(d for d in by if d not in REASON_DIMS)
        out["base"] = fn(ledger, by=base_by, **kwargs)
    if name == "days_to_resolution":
        out["days"] = _resolution_days(ledger, by, kwargs.get("catalog"))
    return out


def _rows_of(table: pa.Table, keys) -> list[tuple]:
    if not keys:
        return [()] * table.num_rows
    return list(zip(*[table[k].to_pylist() for k in keys], strict=True))


def _day_stats(days_hist: pa.Table, by, groups: pa.Table, qs):
    """Per group of ``groups``: total days and linear-interpolated quantiles.

    Computed from exact (group, days, count) histograms with the arithmetic of
    ``ledgerkit.analytics.facts.group_quantiles``, so the floats are bit-identical.
    """
    summed = group_sum(days_hist, list(by) + ["days"], ["count"])
    index = {row: i for i, row in enumerate(_rows_of(groups, by))}
    group_of = np.array([index.get(row, -1) for row in _rows_of(summed, by)], np.int64)
    days = numpy_array(summed["days"], dtype=np.int64)
    count = numpy_array(summed["count"], dtype=np.int64)
    order = np.lexsort((days, group_of))
    group_of, days, count = group_of[order], days[order], count[order]
    bounds = np.searchsorted(group_of, np.arange(groups.num_rows + 1))
    total = np.zeros(groups.num_rows, np.int64)
    out = [np.full(groups.num_rows, np.nan) for _ in qs]
    for gi in range(groups.num_rows):
        d = days[bounds[gi] : bounds[gi + 1]]
        c = np.cumsum(count[bounds[gi] : bounds[gi + 1]])
        if not len(c):
            continue
        total[gi] = int((d * count[bounds[gi] : bounds[gi + 1]]).sum())
        v = d.astype(np.float64)
        n = np.int64(c[-1])
        for j, q in enumerate(qs):
            pos = (n - 1) * q
            a = np.int64(np.floor(pos))
            b = np.int64(np.ceil(pos))
            va = v[np.searchsorted(c, a, side="right")]
            vb = v[np.searchsorted(c, b, side="right")]
            out[j][gi] = va + (vb - va) * (pos - a)
    return total, out


def combine_metric(name, by, results) -> pa.Table:
    from ledgerkit.analytics.facts import REASON_DIMS, parse_by, ratio

    by = list(parse_by(by))
    full = _concat_tables([r["table"] for r in results])
    ints = [
        c
        for c in full.column_names
        if c not in by and pa.types.is_integer(full.schema.field(c).type)
    ]
    base_cols = [c for c in _BASE if c in ints] if "base" in results[0] else []
    table = group_sum(full, by, [c for c in ints if c not in base_cols])
    cols = {c: table[c] for c in table.column_names}
    if base_cols:
        base_by = [d for d in by if d not in REASON_DIMS]
        base = group_sum(_concat_tables([r["base"] for r in results]), base_by, base_cols)
        index = {row: i for i, row in enumerate(_rows_of(base, base_by))}
        rows = [index[row] for row in _rows_of(table, base_by)]
        for c in base_cols:
            cols[c] = base[c].take(pa.array(rows, pa.int64()))
    for c, (num, den) in _RATIOS.items():
        if c in full.column_names:
            cols[c] = ratio(numpy_array(cols[num]), numpy_array(cols[den]))
    if name == "days_to_resolution":
        days = _concat_tables([r["days"] for r in results])
        total, (median, p90) = _day_stats(days, by, table, (0.5, 0.9))
        resolved = numpy_array(cols["resolved_claims"])
        cols["open_claims"] = pa.array(numpy_array(cols["denied_claims"]) - resolved)
        cols["mean_days"] = ratio(total, resolved)
        cols["median_days"] = pa.array(median, mask=np.isnan(median))
        cols["p90_days"] = pa.array(p90, mask=np.isnan(p90))
    out = pa.table({c: cols[c] for c in full.column_names})
    out = out.cast(full.schema) if out.num_rows or full.num_rows else out
    if by:
        out = out.sort_by([(k, "ascending", "at_end") for k in by])
    return out
