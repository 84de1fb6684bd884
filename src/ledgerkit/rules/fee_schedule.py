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
in basis points, so cents stay exact). The table's columns are the core of a
later contracts module: extra columns are ignored.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit.errors import LedgerError

__all__ = ["FEE_SCHEDULE_COLUMNS", "check_fee_schedule", "contract_rates", "contract_taa"]

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
