"""Expected allowed: what each procedure should have been allowed under the contracts.

The Python side turns the contract rows into the ledger's dense codes (payer,
payer class, CPT, first modifier, place of service); the kernels in
``_kernels/contracts.py`` pick each line's row and price it. The ledger's own
codes are read once per ledger (the derived-data memo) and reused by every
contract table priced against it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit._kernels.contracts import (
    BASE,
    CAP,
    CARVE_OUT,
    FAMILY,
    FROM,
    MODIFIER,
    MPPR,
    N_ROW_FIELDS,
    PERCENT,
    POS,
    RATE,
    TO,
    candidates_nb,
    price_chunks_nb,
    price_nb,
)
from ledgerkit.analytics.derived import derived
from ledgerkit.contracts.model import REASONS, Contracts, code_key
from ledgerkit.core.arrow import int_array
from ledgerkit.core.schema import PAYER_CLASSES
from ledgerkit.errors import LedgerError

__all__ = ["expected_allowed"]

RESULT_SCHEMA = pa.schema(
    [
        pa.field("procedure_id", pa.int64(), False),
        pa.field("encounter_id", pa.string(), False),
        pa.field("line", pa.int32(), False),
        pa.field("payer_id", pa.dictionary(pa.int32(), pa.string()), True),
        pa.field("expected_allowed_cents", pa.int64(), True),
        pa.field("allowed_cents", pa.int64(), False),
        pa.field("variance_cents", pa.int64(), True),
        pa.field("contract_row", pa.int32(), True),
        pa.field("reason", pa.dictionary(pa.int8(), pa.string()), True),
    ]
)
_EXACT_LIMIT = 2**62  # rate x units x percent (basis points) must stay below this
# Below this many procedures the kernels run serially: starting the thread pool
# costs more than it saves (20k procedures on this 2-core machine under load:
# 1 ms serial, 66 ms with two threads; the parallel kernels pay off in the
# millions, benchmarks/compare_contracts.py).
PARALLEL_FROM = 1_000_000


def expected_allowed(ledger, contracts: Contracts, *, policy=None) -> pa.Table:
    """What each procedure should have been allowed under ``contracts``, beside what was.

    Parameters
    ----------
    ledger : Ledger
    contracts : Contracts
        From :func:`ledgerkit.contracts.load` (rows, precedence, MPPR, cap:
        see :class:`~ledgerkit.contracts.Contracts`).
    policy : CarcPolicy, optional
        The policy ``allowed_cents`` is figured under (default ``ledger.policy``).

    Returns
    -------
    pyarrow.Table
        One row per procedure, in the order of ``ledger.procedures``:

        - ``procedure_id``: the procedure's row in ``ledger.procedures`` (0-based);
        - ``encounter_id``, ``line``: the procedure;
        - ``payer_id``: the encounter's primary payer (payer_seq 1), whom the
          expectation is for (null: self-pay);
        - ``expected_allowed_cents``: the contract's amount (int64; null when
          no row applied or the base rate is missing);
        - ``allowed_cents``: paid + PR-1/2/3, as everywhere in ledgerkit;
        - ``variance_cents``: allowed - expected (negative: paid under the
          contract), null when there is no expectation;
        - ``contract_row``: the 0-based row of ``contracts.table`` that
          applied (int32; null when none);
        - ``reason``: null when a row priced the line, else ``no_contract``,
          ``outside_dates`` (rows matched all but the date of service),
          ``carve_out`` (expected 0, ``contract_row`` set) or ``no_base_rate``
          (a percent row whose base schedule has no rate; ``contract_row``
          set, expected null).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(20, seed=0)
    >>> contracts = lk.contracts.load(
    ...     {"payer_class": ["medicare"], "code_from": ["00000"], "code_to": ["ZZZZZ"],
    ...      "rate_cents_per_unit": [1]}
    ... )
    >>> result = lk.expected_allowed(ledger, contracts)
    >>> result.num_rows == ledger.procedures.num_rows
    True
    """
    if not isinstance(contracts, Contracts):
        raise TypeError(
            f"contracts must come from ledgerkit.contracts.load, got {type(contracts).__name__}"
        )
    d = derived(ledger, policy)
    lines = _ledger_lines(ledger, d)
    main = _encode(contracts, lines)
    bases = _encode_bases(contracts, lines)
    _check_exact(contracts, lines)
    n = lines["n_proc"]
    best = np.empty(n, np.int32)
    amount = np.empty(n, np.int64)
    expected = np.empty(n, np.int64)
    reason = np.empty(n, np.int8)
    args = (
        lines["enc_proc_start"],
        lines["enc_payer"],
        lines["enc_class"],
        lines["enc_pos"],
        lines["code"],
        lines["modifier"],
        lines["day"],
        lines["units"],
        lines["charge"],
        len(lines["code_keys"]),
        main["slot_of_payer"],
        main["slot_of_class"],
        main["any_slot"],
        main["start"],
        main["rows"],
        main["row_int"],
        bases["start"],
        bases["rows"],
        bases["row_int"],
        best,
        amount,
        expected,
        reason,
    )
    if n < PARALLEL_FROM:
        price_nb(0, lines["n_enc"], *args)
    else:
        price_chunks_nb(*args)
    allowed = d.figures.proc["allowed"]
    return _result(ledger, lines, best, expected, allowed, reason)


# --------------------------------------------------------------------- the ledger side
def _ledger_lines(ledger, d) -> dict:
    """The ledger's line keys in grouped order, read once per ledger (derived memo)."""
    memo = d.memo
    hit = memo.get("contracts.lines")
    if hit is not None:
        return hit
    f = d.features
    keys = d.keys
    procedures = ledger.procedures
    charge = int_array(procedures["charge_cents"])
    if keys.proc_order is not None:
        charge = charge[keys.proc_order]
    first_modifiers: dict = {}
    first_of_value = np.array(
        [
            first_modifiers.setdefault(m, len(first_modifiers))
            for m in (_first_modifier(v) for v in f.modifier_values)
        ]
        + [-1],
        np.int32,
    )
    # A missing modifier is its own value (-1 is "any" in contract rows).
    modifier = first_of_value[f.proc_modifiers]
    none = first_modifiers.get(None)
    if none is not None:
        modifier = np.where(modifier == none, -3, modifier).astype(np.int32)
    modifier = np.where(f.proc_modifiers < 0, -3, modifier).astype(np.int32)
    lines = {
        "n_proc": f.n_procedures,
        "n_enc": f.n_encounters,
        "enc_proc_start": f.enc_proc_start,
        "code": f.proc_cpt.astype(np.int32),
        "code_keys": np.array([code_key(_norm(v)) for v in f.cpt_values], np.int64),
        "modifier": modifier,
        "modifier_values": {m: k for m, k in first_modifiers.items() if m is not None},
        "day": f.proc_service_day.astype(np.int32),
        "units": f.proc_units,
        "max_units": int(f.proc_units.max(initial=0)),
        "charge": charge,
        "enc_payer": f.enc_payer,
        "payer_values": {v: k for k, v in enumerate(f.payer_values)},
        "payer_list": f.payer_values,
        "enc_class": f.enc_pclass,
        "enc_pos": f.enc_pos.astype(np.int32),
        "pos_values": {_norm_pos(v): k for k, v in enumerate(f.pos_values)},
        "proc_order": keys.proc_order,
    }
    memo["contracts.lines"] = lines
    return lines


def _norm(value):
    return value.strip().upper() if isinstance(value, str) else None


def _norm_pos(value):
    return value.strip() if isinstance(value, str) else None


def _first_modifier(value):
    """``"25:59"`` -> ``"25"``; null or blank -> None."""
    if not isinstance(value, str):
        return None
    first = value.split(":")[0].strip().upper()
    return first or None


# --------------------------------------------------------------------- the contract side
def _encode(contracts: Contracts, lines: dict) -> dict:
    """Contract rows in the ledger's codes, and their candidate lists per (slot, code).

    Slots: one per payer, payer class and "any payer" that some row names
    (a payer no line has gets none: its rows can match nothing here).
    """
    n_rows = contracts.num_rows
    row_slot = np.full(n_rows, -1, np.int32)
    slots: dict = {}
    for row in range(n_rows):
        payer = contracts.payer[row]
        if payer is not None:
            if payer not in lines["payer_values"]:
                continue
            key = ("payer", lines["payer_values"][payer])
        elif contracts.payer_class[row] >= 0:
            key = ("class", int(contracts.payer_class[row]))
        else:
            key = ("any", 0)
        row_slot[row] = slots.setdefault(key, len(slots))
    slot_of_payer = np.full(max(len(lines["payer_list"]), 1), -1, np.int32)
    slot_of_class = np.full(len(PAYER_CLASSES), -1, np.int32)
    for (kind, value), slot in slots.items():
        if kind == "payer":
            slot_of_payer[value] = slot
        elif kind == "class":
            slot_of_class[value] = slot
    start, rows = candidates_nb(
        row_slot,
        contracts.precedence(),
        contracts.code_from,
        contracts.code_to,
        lines["code_keys"],
        max(len(slots), 1),
    )
    return {
        "slot_of_payer": slot_of_payer,
        "slot_of_class": slot_of_class,
        "any_slot": slots.get(("any", 0), -1),
        "start": start,
        "rows": rows,
        "row_int": _row_int(contracts, lines),
    }


def _encode_bases(contracts: Contracts, lines: dict) -> dict:
    """Every base schedule's rows, one slot per schedule, in one candidate table."""
    schedules = [contracts.schedules[name] for name in contracts.schedule_names]
    if not schedules:
        empty = np.zeros((0, N_ROW_FIELDS), np.int64)
        return {"start": np.zeros(1, np.int64), "rows": np.zeros(0, np.int32), "row_int": empty}
    offsets = np.cumsum([0] + [s.num_rows for s in schedules])
    row_slot = np.concatenate([np.full(s.num_rows, k, np.int32) for k, s in enumerate(schedules)])
    order = np.concatenate([s.precedence() + offsets[k] for k, s in enumerate(schedules)])
    start, rows = candidates_nb(
        row_slot,
        order.astype(np.int64),
        np.concatenate([s.code_from for s in schedules]),
        np.concatenate([s.code_to for s in schedules]),
        lines["code_keys"],
        len(schedules),
    )
    row_int = np.concatenate([_row_int(s, lines) for s in schedules])
    return {"start": start, "rows": rows, "row_int": row_int}


def _row_int(contracts: Contracts, lines: dict) -> np.ndarray:
    """The fields the kernel reads of each row, side by side (``_kernels.contracts``)."""
    out = np.empty((contracts.num_rows, N_ROW_FIELDS), np.int64)
    out[:, MODIFIER] = _row_codes(contracts.modifier, lines["modifier_values"])
    out[:, POS] = _row_codes(contracts.place_of_service, lines["pos_values"])
    out[:, FROM] = contracts.day_from
    out[:, TO] = contracts.day_to
    out[:, RATE] = contracts.rate
    out[:, PERCENT] = contracts.percent_bp
    out[:, BASE] = contracts.base
    out[:, CARVE_OUT] = contracts.carve_out
    out[:, FAMILY] = contracts.family
    out[:, MPPR] = contracts.mppr_bp
    out[:, CAP] = contracts.cap_at_charge
    return out


def _row_codes(values: list, codes: dict) -> np.ndarray:
    """-1 for any; the ledger's code; -2 for a value no line carries."""
    return np.array([-1 if v is None else codes.get(v, -2) for v in values], np.int64)


def _check_exact(contracts, lines) -> None:
    """Refuse amounts whose integer products could overflow (never round silently).

    A bound from the largest rate, units and percent, so no per-line work.
    """
    rates = [int(contracts.rate.max(initial=0))]
    rates += [int(s.rate.max(initial=0)) for s in contracts.schedules.values()]
    scale = max(int(contracts.percent_bp.max(initial=0)), 10_000)
    top = max(rates) * lines["max_units"] * scale
    if top >= _EXACT_LIMIT:
        raise LedgerError(
            f"{contracts.source}: rate x units x percent is too large to price exactly "
            "(check rate_cents_per_unit and the procedures' units)"
        )


# --------------------------------------------------------------------- the result
def _result(ledger, lines, best, expected, allowed, reason) -> pa.Table:
    order = lines["proc_order"]
    enc_of_proc = lines.get("enc_of_proc")
    if enc_of_proc is None:
        counts = np.diff(lines["enc_proc_start"])
        enc_of_proc = np.repeat(np.arange(lines["n_enc"], dtype=np.int32), counts)
        if order is not None:  # grouped -> procedures-table rows
            inverse = np.empty_like(order)
            inverse[order] = np.arange(len(order))
            lines["inverse"] = inverse
            enc_of_proc = enc_of_proc[inverse]
        lines["enc_of_proc"] = enc_of_proc
    if order is not None:
        inverse = lines["inverse"]
        best, expected, allowed, reason = (a[inverse] for a in (best, expected, allowed, reason))
    procedures = ledger.procedures
    none = expected < 0
    payer_codes = lines["enc_payer"][enc_of_proc]
    payer = pa.DictionaryArray.from_arrays(
        pa.array(payer_codes, pa.int32(), mask=payer_codes < 0),
        pa.array(list(lines["payer_list"]), pa.string()),
    )
    reasons = pa.DictionaryArray.from_arrays(
        pa.array(reason, pa.int8(), mask=reason < 0), pa.array(REASONS, pa.string())
    )
    columns = [
        pa.array(np.arange(len(best), dtype=np.int64)),
        _as(procedures["encounter_id"], pa.string()),
        _as(procedures["line"], pa.int32()),
        payer,
        pa.array(expected, pa.int64(), mask=none),
        pa.array(allowed, pa.int64()),
        pa.array(allowed - expected, pa.int64(), mask=none),
        pa.array(best, pa.int32(), mask=best < 0),
        reasons,
    ]
    return pa.Table.from_arrays(columns, schema=RESULT_SCHEMA)


def _as(column: pa.ChunkedArray, typ: pa.DataType) -> pa.ChunkedArray:
    """The ledger's column as it is (no copy) when it already has the result's type."""
    return column if column.type == typ else column.cast(typ)
