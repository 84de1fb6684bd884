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
    MATCHED,
    amounts_chunks_nb,
    amounts_nb,
    best_rows_chunks_nb,
    best_rows_nb,
    candidates_nb,
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


def _split(n_proc: int, serial, parallel, n_enc: int, *args) -> None:
    """Run a kernel over every encounter: serially, or in chunks on the thread pool."""
    if n_proc < PARALLEL_FROM:
        serial(0, n_enc, *args)
    else:
        parallel(*args)


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
    todo = np.ones(lines["n_proc"], bool)
    best, status = _best_rows(lines, main, todo, _enc_slots(lines, main))

    base_rate = np.full(lines["n_proc"], -1, np.int64)
    matched = best >= 0
    for b, name in enumerate(contracts.schedule_names):
        row = np.maximum(best, 0)
        todo = matched & (contracts.base[row] == b) & ~contracts.carve_out[row]
        if not todo.any():
            continue
        schedule = contracts.schedules[name]
        coded = _encode(schedule, lines)
        any_slot = np.zeros((lines["n_enc"], 1), np.int32)
        base_best, base_status = _best_rows(lines, coded, todo, any_slot)
        found = todo & (base_status == MATCHED)
        base_rate[found] = schedule.rate[base_best[found]]
    _check_exact(contracts, lines)

    n = lines["n_proc"]
    amount = np.empty(n, np.int64)
    expected = np.empty(n, np.int64)
    reason = np.empty(n, np.int8)
    _split(
        n,
        amounts_nb,
        amounts_chunks_nb,
        lines["n_enc"],
        lines["enc_proc_start"],
        lines["units"],
        lines["charge"],
        best,
        status,
        base_rate,
        contracts.rate,
        contracts.percent_bp,
        contracts.carve_out,
        contracts.family,
        contracts.mppr_bp,
        contracts.cap_at_charge,
        amount,
        expected,
        reason,
    )
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
    """Contract rows in the ledger's codes, and their candidate lists per (slot, code)."""
    n_payers = len(lines["payer_list"])
    n_classes = len(PAYER_CLASSES)
    # Segments: payer k, then class c at n_payers + c, then any at n_payers + n_classes.
    segment = np.full(contracts.num_rows, n_payers + n_classes, np.int64)
    for row in range(contracts.num_rows):
        payer = contracts.payer[row]
        if payer is not None:
            segment[row] = lines["payer_values"].get(payer, -1)
        elif contracts.payer_class[row] >= 0:
            segment[row] = n_payers + contracts.payer_class[row]
    used = np.unique(segment[segment >= 0])
    slot_of_segment = np.full(n_payers + n_classes + 1, -1, np.int32)
    slot_of_segment[used] = np.arange(len(used), dtype=np.int32)
    row_slot = np.where(segment >= 0, slot_of_segment[np.maximum(segment, 0)], -1).astype(np.int32)
    start, rows = candidates_nb(
        row_slot,
        contracts.precedence(),
        contracts.code_from,
        contracts.code_to,
        lines["code_keys"],
        max(len(used), 1),
    )
    return {
        "slot_of_segment": slot_of_segment,
        "n_payers": n_payers,
        "n_classes": n_classes,
        "start": start,
        "rows": rows,
        "modifier": _row_codes(contracts.modifier, lines["modifier_values"]),
        "pos": _row_codes(contracts.place_of_service, lines["pos_values"]),
        "day_from": contracts.day_from,
        "day_to": contracts.day_to,
    }


def _row_codes(values: list, codes: dict) -> np.ndarray:
    """-1 for any; the ledger's code; -2 for a value no line carries."""
    return np.array([-1 if v is None else codes.get(v, -2) for v in values] or [0], np.int32)[
        : len(values)
    ]


def _enc_slots(lines: dict, coded: dict) -> np.ndarray:
    """Per encounter the slots tried in order: exact payer, payer class, any payer."""
    slot_of = coded["slot_of_segment"]
    n_payers, n_classes = coded["n_payers"], coded["n_classes"]
    payer = lines["enc_payer"]
    out = np.full((lines["n_enc"], 3), -1, np.int32)
    has_payer = payer >= 0
    out[:, 0] = np.where(has_payer, slot_of[np.maximum(payer, 0)], -1)
    out[:, 1] = slot_of[n_payers + lines["enc_class"].astype(np.int64)]
    # A contract is with a payer: self-pay lines match only rows of class self_pay.
    out[:, 2] = np.where(has_payer, slot_of[n_payers + n_classes], -1)
    return out


def _best_rows(lines, coded, todo, enc_slots):
    n = lines["n_proc"]
    best = np.full(n, -1, np.int32)
    status = np.zeros(n, np.int8)
    _split(
        n,
        best_rows_nb,
        best_rows_chunks_nb,
        lines["n_enc"],
        todo,
        lines["enc_proc_start"],
        enc_slots,
        lines["enc_pos"],
        lines["code"],
        lines["modifier"],
        lines["day"],
        len(lines["code_keys"]),
        coded["start"],
        coded["rows"],
        coded["modifier"],
        coded["pos"],
        coded["day_from"],
        coded["day_to"],
        best,
        status,
    )
    return best, status


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
