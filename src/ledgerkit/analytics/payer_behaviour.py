"""How each payer behaves: remit lag, allowed amounts against expectations, denial trend.

- :func:`remit_lag`: per payer, the distribution of days from service to its
  first remit on a claim (any payer_seq: a secondary's lag is counted from
  the service date too).
- :func:`allowed_by_cpt` and :func:`underpayments`: allowed amount per unit
  of each CPT against an expected allowed per unit, from a fee schedule when
  given, else the payer's own historical median for that CPT. A line is
  underpaid when its allowed is below ``expected * (1 - tolerance)``. Lines
  with allowed 0 are denials, not underpayments, and are left out.
- :func:`denial_trend`: the initial denial rate by payer, month and category.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit._kernels.allowed import allowed_lines_nb, allowed_sums_nb
from ledgerkit.analytics.derived import derived
from ledgerkit.analytics.facts import (
    DENSE_LIMIT,
    NO_DAY,
    Dims,
    Grouping,
    group_quantiles,
    ratio,
)
from ledgerkit.analytics.metrics import initial_denial_rate
from ledgerkit.core.arrow import codes_in, day_numbers, int_array

__all__ = ["remit_lag", "allowed_by_cpt", "underpayments", "denial_trend"]


def remit_lag(ledger, *, policy=None) -> pa.Table:
    """Days from service to a payer's first remit, per payer.

    Returns
    -------
    pyarrow.Table
        ``payer_id``, ``remits`` (claims with a remit from it), ``mean_days``,
        ``p10_days``, ``p25_days``, ``median_days``, ``p75_days``,
        ``p90_days`` and ``max_days``; payers in reference-data order.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> t = remit_lag(lk.synth.generate(300, seed=5))
    >>> t.column_names[:3]
    ['payer_id', 'remits', 'mean_days']
    """
    dims = Dims(ledger, None, policy)
    f = dims.facts
    payer_ids = ledger.payers["payer_id"].to_pylist()
    value_set = pa.array(payer_ids, pa.string())
    service = day_numbers(ledger.encounters["service_date"]).astype(np.int64)
    keys, days = [], []
    for k in (1, 2, 3):
        first = f.enc_first_day[:, k].astype(np.int64)
        payer = codes_in(ledger.encounters[f"payer{k}_id"], value_set)
        ok = (first != NO_DAY) & (payer >= 0)
        keys.append(payer[ok])
        days.append(first[ok] - service[ok])
    key = np.concatenate(keys) if keys else np.zeros(0, np.int64)
    lag = np.concatenate(days) if days else np.zeros(0, np.int64)
    groups = np.arange(len(payer_ids))
    n = np.bincount(key, minlength=len(payer_ids))
    total = np.bincount(key, weights=lag, minlength=len(payer_ids))
    qs = group_quantiles(key, lag, groups, (0.1, 0.25, 0.5, 0.75, 0.9, 1.0))
    present = n > 0
    out = {"payer_id": value_set.filter(pa.array(present)), "remits": pa.array(n[present])}
    out["mean_days"] = ratio(total[present], n[present])
    for name, q in zip(("p10", "p25", "median", "p75", "p90", "max"), qs, strict=True):
        out[f"{name}_days"] = pa.array(q[present])
    return pa.table(out)


def _allowed_lines(ledger, fee_schedule, policy):
    """Per adjudicated line: (payer, CPT) group, units, allowed, expected/unit per group.

    The lines' groups and units, and each group's historical median per unit, are kept
    in the derived memo of (ledger, policy): a second call (or ``underpayments`` after
    ``allowed_by_cpt``) reads them instead of passing over every line again.
    """
    dims = Dims(ledger, None, policy)
    f = dims.facts
    memo = derived(ledger, policy).memo
    lines = memo.get("allowed.lines")
    if lines is None:
        lines = memo["allowed.lines"] = _line_groups(ledger, dims)
    g, units = lines["g"], lines["units"]
    if fee_schedule is None:
        if "median" not in lines:
            # each group's median allowed per unit, by selection (no sort of every line);
            # the per-unit amounts are let go once the medians are kept
            per_unit = lines.pop("per_unit")
            (lines["median"],) = group_quantiles(g.key, per_unit, np.arange(g.n_groups), (0.5,))
        expected_g = lines["median"]
        source = "historical median"
    else:
        payer_g, cpt_g = g.decode(np.arange(g.n_groups)) if g.n_groups else ([], [])
        payer_labels, cpt_labels = g.columns[0][2], g.columns[1][2]
        expected_g = _fee_lookup(fee_schedule, payer_g, payer_labels, cpt_g, cpt_labels)
        source = "fee schedule"
    return dict(
        g=g,
        units=units,
        allowed=f.figures["allowed"],
        adjudicated=g.key >= 0,
        expected_g=np.asarray(expected_g, np.float64),
        source=source,
        f=f,
    )


def _line_groups(ledger, dims) -> dict:
    """The (payer, CPT) grouping of the adjudicated lines (``key`` -1 elsewhere), every
    line's units (at least 1) and allowed per unit, from one kernel pass."""
    f = dims.facts
    keys = ledger.keys
    payer_codes, payer_labels = dims.encounter("payer")
    cpt, cpt_labels = dims.cpt()
    allowed = f.figures["allowed"]
    if len(payer_labels) * len(cpt_labels) > DENSE_LIMIT:
        return _line_groups_sparse(ledger, dims)
    n_proc = len(allowed)
    key = np.empty(n_proc, np.int32)  # fewer than DENSE_LIMIT groups
    per_unit = np.empty(n_proc, np.float64)
    units = np.empty(n_proc, np.int64)
    # group, allowed per unit and units of every line in one pass (no per-line copies
    # of the encounter's payer and first-response day)
    allowed_lines_nb(
        keys.enc_proc_start, payer_codes, f.enc_first_day, cpt, len(cpt_labels),
        _units_as_stored(ledger.procedures["units"]),
        np.empty(0, np.int64) if keys.proc_order is None else keys.proc_order,
        allowed, NO_DAY, key, per_unit, units,
    )  # fmt: skip
    g = Grouping.of_dense_key([("payer", None, payer_labels), ("cpt", None, cpt_labels)], key)
    return {"g": g, "units": units, "per_unit": per_unit}


def _units_as_stored(column) -> np.ndarray:
    """The units column in its own integer type (zero-copy for one chunk)."""
    return int_array(column, np.dtype(column.type.to_pandas_dtype()))


def _line_groups_sparse(ledger, dims) -> dict:
    """:func:`_line_groups` for more (payer, CPT) pairs than a dense key holds."""
    f = dims.facts
    keys = ledger.keys
    payer_codes, payer_labels = dims.encounter("payer")
    units = int_array(ledger.procedures["units"], np.int64)
    if keys.proc_order is not None:
        units = units[keys.proc_order]
    units = np.maximum(units, 1)
    allowed = f.figures["allowed"]
    adjudicated = (f.enc_first_day[f.proc_enc, 1] != NO_DAY) & (allowed > 0)
    cols = [("payer", payer_codes[f.proc_enc], payer_labels), ("cpt", *dims.cpt())]
    g = Grouping(cols, mask=adjudicated)
    return {"g": g, "units": units, "per_unit": allowed / units}


def _line_expected(d) -> np.ndarray:
    """Expected allowed per unit of every line (NaN where not adjudicated or unknown)."""
    key = d["g"].key
    if not len(d["expected_g"]):
        return np.full(len(key), np.nan)
    return np.where(key >= 0, d["expected_g"][np.maximum(key, 0)], np.nan)


def _fee_lookup(fee_schedule, payer, payer_labels, cpt, cpt_labels):
    """Expected allowed per unit per line from ``(payer_id, cpt, allowed_cents)`` rows.

    A null ``payer_id`` applies to every payer; a payer-specific row wins.
    """
    for col in ("payer_id", "cpt", "allowed_cents"):
        if col not in fee_schedule.column_names:
            raise ValueError(
                f"fee_schedule: missing column {col!r} (payer_id, cpt, allowed_cents)"
            )
    table = fee_schedule.select(["payer_id", "cpt", "allowed_cents"]).to_pylist()
    pay_pos = {v: i for i, v in enumerate(payer_labels)}
    cpt_pos = {v: i for i, v in enumerate(cpt_labels)}
    grid = np.full((len(payer_labels), len(cpt_labels)), np.nan)
    for generic in (True, False):  # generic rows first, payer rows override
        for row in table:
            if (row["payer_id"] is None) != generic or row["cpt"] not in cpt_pos:
                continue
            c = cpt_pos[row["cpt"]]
            if generic:
                grid[:, c] = row["allowed_cents"]
            elif row["payer_id"] in pay_pos:
                grid[pay_pos[row["payer_id"]], c] = row["allowed_cents"]
    return grid[payer, cpt]


def allowed_by_cpt(ledger, *, fee_schedule=None, tolerance: float = 0.05, policy=None):
    """Allowed amount per unit by primary payer x CPT, against the expected allowed.

    Parameters
    ----------
    fee_schedule : pyarrow.Table, optional
        ``payer_id`` (null = any payer), ``cpt``, ``allowed_cents`` (per
        unit). Default: each payer's historical median per unit for the CPT.
    tolerance : float
        Fraction below expected that still counts as paid in full (default 5%:
        against a historical median, half the lines sit below it by definition).

    Returns
    -------
    pyarrow.Table
        ``payer``, ``cpt``, ``lines``, ``mean_allowed_per_unit``,
        ``expected_per_unit``, ``underpaid_lines`` and ``shortfall_cents``
        (sum over lines of expected * units - allowed, where underpaid).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> t = allowed_by_cpt(lk.synth.generate(300, seed=5))
    >>> t.column_names[:3]
    ['payer', 'cpt', 'lines']
    """
    d = _allowed_lines(ledger, fee_schedule, policy)
    g = d["g"]
    ints = np.zeros((6, g.n_groups), np.int64)
    expected_sum = np.zeros(g.n_groups, np.float64)
    allowed_sums_nb(
        np.ascontiguousarray(g.key), d["allowed"], d["units"], d["expected_g"],
        float(tolerance), ints, expected_sum,
    )  # fmt: skip
    lines, allowed, units, expected_n, under, shortfall = ints
    present = np.flatnonzero(lines > 0)
    out = g.labels(present)
    out["lines"] = pa.array(lines[present])
    out["mean_allowed_per_unit"] = ratio(allowed[present], units[present])
    out["expected_per_unit"] = ratio(expected_sum[present], expected_n[present])
    out["underpaid_lines"] = pa.array(under[present])
    out["shortfall_cents"] = pa.array(shortfall[present])
    return pa.table(out)


def _under(d, tolerance):
    expected_total = _line_expected(d) * d["units"]
    ok = d["adjudicated"] & ~np.isnan(expected_total)
    under = ok & (d["allowed"] < np.nan_to_num(expected_total) * (1.0 - tolerance))
    shortfall = np.where(under, np.round(np.nan_to_num(expected_total)) - d["allowed"], 0)
    return under.astype(np.int64), np.maximum(shortfall, 0).astype(np.int64)


def underpayments(ledger, *, fee_schedule=None, tolerance: float = 0.05, policy=None):
    """The lines paid below their expected allowed, largest shortfall first.

    Returns
    -------
    pyarrow.Table
        ``encounter_id``, ``line``, ``payer``, ``cpt``, ``units``,
        ``allowed_cents``, ``expected_cents`` (expected per unit x units,
        rounded) and ``shortfall_cents``.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> t = underpayments(lk.synth.generate(300, seed=5), tolerance=0.05)
    >>> t.column_names[:2]
    ['encounter_id', 'line']
    """
    d = _allowed_lines(ledger, fee_schedule, policy)
    under, shortfall = _under(d, tolerance)
    rows = np.flatnonzero(under)
    rows = rows[np.lexsort((rows, -shortfall[rows]))]
    keys = ledger.keys
    table_rows = keys.proc_rows(rows)
    g = d["g"]
    labels = (
        g.labels(g.key[rows])
        if len(rows)
        else {"payer": pa.array([], pa.string()), "cpt": pa.array([], pa.string())}
    )
    return pa.table(
        {
            "encounter_id": ledger.procedures["encounter_id"].take(pa.array(table_rows)),
            "line": pa.array(keys.proc_line[rows]),
            "payer": labels["payer"],
            "cpt": labels["cpt"],
            "units": pa.array(d["units"][rows]),
            "allowed_cents": pa.array(d["allowed"][rows]),
            "expected_cents": pa.array(
                np.round(_line_expected(d)[rows] * d["units"][rows]).astype(np.int64)
            ),
            "shortfall_cents": pa.array(shortfall[rows]),
        }
    )


def denial_trend(ledger, *, policy=None, catalog=None) -> pa.Table:
    """Initial denial rate by payer, month and category (see ``metrics.initial_denial_rate``).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> denial_trend(lk.synth.generate(300, seed=5)).column_names[:3]
    ['payer', 'month', 'category']
    """
    return initial_denial_rate(
        ledger, by=("payer", "month", "category"), policy=policy, catalog=catalog
    )
