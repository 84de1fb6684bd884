"""Fee schedules: the contracted rate per payer and procedure, the TAA's first fallback.

A fee schedule is a small table the practice supplies (ledgerkit ships none):

==============  ==============================================================
``payer_id``    the payer, as in the encounters' ``payer1_id`` (string)
``cpt``         CPT/HCPCS code (string)
``modifiers``   optional column; the procedure's modifiers exactly as in the
                procedures table (null or ``""``: the rate without modifiers)
``rate_cents``  the contracted rate for one unit, int64 cents, > 0
==============  ==============================================================

The contract rate of a claim configuration is the sum over its procedures of
rate x units; a procedure's rate is its (payer, CPT, modifiers) row, else the
(payer, CPT) row without modifiers. A configuration with a procedure the
schedule does not price, or without a payer (self-pay), has no contract rate.
A contract TAA is ``floor(rate x contract_fraction)`` (``contract_fraction``
in basis points, so cents stay exact). Extra columns are ignored.

Contracts (``ledgerkit.contracts``) give a richer contract rate: the expected
allowed of the configuration's **latest** encounter with every line priced
(latest service date; the smaller amount on a tie), so the terms in force
now, effective dates, modifiers, place of service, MPPR and the charge cap
included (:func:`contract_config_rates`). Give a fee schedule or contracts,
not both.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit.errors import LedgerError

__all__ = [
    "FEE_SCHEDULE_COLUMNS",
    "check_fee_schedule",
    "contract_config_rates",
    "contract_rates",
    "contract_taa",
    "encounter_contract_amounts",
    "latest_contract_amounts",
]

FEE_SCHEDULE_COLUMNS = ("payer_id", "cpt", "modifiers", "rate_cents")


def _where(row: int) -> str:
    return f"fee_schedule row {row}"


def check_fee_schedule(fee_schedule) -> dict:
    """The fee schedule as ``{(payer_id, cpt, modifiers): rate_cents}``, or a clear error.

    Parameters
    ----------
    fee_schedule : pyarrow.Table, pandas.DataFrame or dict of lists
        Columns of the module docstring.

    Raises
    ------
    LedgerError
        A missing column, a null id, a rate that is not a positive integer, or a
        (payer, CPT, modifiers) listed twice; the message names the row and field.

    Examples
    --------
    >>> rates = check_fee_schedule({"payer_id": ["P1"], "cpt": ["99213"], "rate_cents": [9000]})
    >>> rates[("P1", "99213", "")]
    9000
    """
    table = fee_schedule if isinstance(fee_schedule, pa.Table) else pa.table(fee_schedule)
    for name in ("payer_id", "cpt", "rate_cents"):
        if name not in table.column_names:
            raise LedgerError(f"fee_schedule: missing column {name!r} (see {__name__})")
    n = table.num_rows
    payers = table["payer_id"].to_pylist()
    cpts = table["cpt"].to_pylist()
    rates = table["rate_cents"].to_pylist()
    mods = table["modifiers"].to_pylist() if "modifiers" in table.column_names else [None] * n
    out: dict = {}
    for row in range(n):
        for field, value in (("payer_id", payers[row]), ("cpt", cpts[row])):
            if not isinstance(value, str) or not value.strip():
                raise LedgerError(f"{_where(row)}, field {field!r}: expected a non-empty string")
        rate = rates[row]
        if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
            raise LedgerError(
                f"{_where(row)}, field 'rate_cents': expected integer cents > 0, got {rate!r}"
            )
        mod = mods[row]
        if mod is not None and not isinstance(mod, str):
            raise LedgerError(f"{_where(row)}, field 'modifiers': expected a string or null")
        key = (payers[row].strip(), cpts[row].strip(), (mod or "").strip())
        if key in out:
            raise LedgerError(
                f"{_where(row)}: payer, cpt and modifiers are listed twice "
                f"(cpt {key[1]!r}, modifiers {key[2]!r})"
            )
        out[key] = rate
    return out


def contract_rates(features, representative, fee_schedule) -> np.ndarray:
    """Contract rate (int64 cents, -1 none) of the configuration of each representative encounter.

    Parameters
    ----------
    features : LedgerFeatures
        The ledger's rule features (codes of payers, CPTs, modifiers, units).
    representative : numpy.ndarray
        One encounter (grouped position) per configuration.
    fee_schedule : table
        See :func:`check_fee_schedule`.
    """
    rates = check_fee_schedule(fee_schedule)
    f = features
    out = np.full(len(representative), -1, np.int64)
    for c, e in enumerate(representative):
        payer = f.enc_payer[e]
        if payer < 0:
            continue
        payer_id = f.payer_values[payer]
        total = 0
        for p in range(f.enc_proc_start[e], f.enc_proc_start[e + 1]):
            cpt = f.proc_cpt[p]
            if cpt < 0:
                total = -1
                break
            code = f.cpt_values[cpt].strip()
            mod = f.proc_modifiers[p]
            mods = (f.modifier_values[mod] or "").strip() if mod >= 0 else ""
            rate = rates.get((payer_id, code, mods))
            if rate is None:
                rate = rates.get((payer_id, code, ""))
            if rate is None:
                total = -1
                break
            total += rate * int(f.proc_units[p])
        if total > 0:
            out[c] = total
    return out


def contract_taa(rates: np.ndarray, contract_fraction: float) -> np.ndarray:
    """``floor(rate x contract_fraction)`` where there is a rate, -1 elsewhere.

    >>> contract_taa(np.array([10001, -1]), 0.95).tolist()
    [9500, -1]
    """
    check_contract_fraction(contract_fraction)
    bp = round(contract_fraction * 10000)
    return np.where(rates >= 0, rates * bp // 10000, -1).astype(np.int64)


def check_contract_fraction(contract_fraction) -> None:
    """Raise ``ValueError`` unless ``0 < contract_fraction <= 100``."""
    if (
        isinstance(contract_fraction, bool)
        or not isinstance(contract_fraction, int | float)
        or not 0 < contract_fraction <= 100
    ):
        raise ValueError(f"contract_fraction must be > 0 and <= 100, got {contract_fraction!r}")


def encounter_contract_amounts(ledger, contracts, policy=None) -> np.ndarray:
    """Per encounter: its contract amount (int64 cents, -1 none), from ``contracts``.

    The sum of ``ledgerkit.expected_allowed`` over the encounter's lines (the
    primary payer's contract on the line's date, MPPR and charge cap applied;
    a carved-out line adds 0); -1 when a line has no contract row or the sum
    is 0.
    """
    from ledgerkit.contracts.underpayments import expected_table

    keys = ledger.keys
    table = expected_table(ledger, contracts, policy)
    expected = table["expected_allowed_cents"].fill_null(-1).to_numpy(zero_copy_only=False)
    expected = np.asarray(expected, np.int64)[keys.proc_rows(np.arange(keys.n_procedures))]
    start = keys.enc_proc_start
    total = np.zeros(len(expected) + 1, np.int64)
    np.cumsum(np.maximum(expected, 0), out=total[1:])
    missing = np.zeros(len(expected) + 1, np.int64)
    np.cumsum(expected < 0, out=missing[1:])
    amount = total[start[1:]] - total[start[:-1]]
    unpriced = missing[start[1:]] - missing[start[:-1]]
    return np.where((unpriced == 0) & (amount > 0), amount, -1)


def latest_contract_amounts(config, day, amount, n_configs: int):
    """Per configuration: (amount, day) of its latest priced encounter (-1, -1 when none).

    Latest service day wins; on the same day the smaller amount. Partitions
    merge by the same rule, so a partitioned ledger gets the same figures.

    >>> latest_contract_amounts(np.array([0, 0, 1]), np.array([5, 9, 3]),
    ...                         np.array([100, 120, -1]), 2)[0].tolist()
    [120, -1]
    """
    priced = np.flatnonzero(amount >= 0)
    order = priced[np.lexsort((amount[priced], -day[priced], config[priced]))]
    first = np.ones(len(order), bool)
    first[1:] = config[order][1:] != config[order][:-1]
    chosen = order[first]
    out_amount = np.full(n_configs, -1, np.int64)
    out_day = np.full(n_configs, -1, np.int64)
    out_amount[config[chosen]] = amount[chosen]
    out_day[config[chosen]] = day[chosen]
    return out_amount, out_day


def contract_config_rates(ledger, configs, contracts, policy=None):
    """Per configuration (int64 cents, -1 none): the contract amount of its latest
    priced encounter (:func:`encounter_contract_amounts`, :func:`latest_contract_amounts`)."""
    from ledgerkit.core.arrow import day_numbers

    amount = encounter_contract_amounts(ledger, contracts, policy)
    day = day_numbers(ledger.encounters["service_date"]).astype(np.int64)
    return latest_contract_amounts(configs.enc_config, day, amount, configs.n_configs)[0]
