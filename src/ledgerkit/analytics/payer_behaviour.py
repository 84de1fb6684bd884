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

from ledgerkit._kernels.allowed import allowed_sums_nb
from ledgerkit.analytics.facts import NO_DAY, Dims, Grouping, group_quantiles, ratio
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
    """Per adjudicated line: primary payer code, cpt code, units, allowed, expected/unit."""
    dims = Dims(ledger, None, policy)
    f = dims.facts
    keys = ledger.keys
    payer_codes, payer_labels = dims.encounter("payer")
    payer = payer_codes[f.proc_enc]
    cpt, cpt_labels = dims.cpt()
    units = int_array(ledger.procedures["units"], np.int64)
    if keys.proc_order is not None:
        units = units[keys.proc_order]
    units = np.maximum(units, 1)
    allowed = f.figures["allowed"]
    adjudicated = (f.enc_first_day[f.proc_enc, 1] != NO_DAY) & (allowed > 0)
    cols = [("payer", payer, payer_labels), ("cpt", cpt, cpt_labels)]
    g = Grouping(cols, mask=adjudicated)
    if fee_schedule is None:
        # each group's median allowed per unit, by selection (no sort of every line)
        present = np.arange(g.n_groups)
        (expected_g,) = group_quantiles(g.key, allowed / units, present, (0.5,))
        source = "historical median"
    else:
        payer_g, cpt_g = g.decode(np.arange(g.n_groups)) if g.n_groups else ([], [])
        expected_g = _fee_lookup(fee_schedule, payer_g, payer_labels, cpt_g, cpt_labels)
        source = "fee schedule"
    return dict(
        g=g,
        payer=payer,
        cpt=cpt,
        units=units,
        allowed=allowed,
        adjudicated=adjudicated,
        expected_g=np.asarray(expected_g, np.float64),
        source=source,
        f=f,
    )


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
        np.ascontiguousarray(g.key, np.int64), d["allowed"], d["units"], d["expected_g"],
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
