"""The primary payer's adjustments, grouped for the secondary claim (DOMAIN.md).

To bill the secondary payer the primary's decision travels with the claim:
per service line, every CAS adjustment by group code and CARC, and the check
``fee - primary paid = total adjustments`` (seed 003: fee $150, paid $80 ->
CO-45 $40 + PR-3 $10 + PR-2 $20 = $70).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.errors import LedgerError

__all__ = ["secondary_adjustments"]


def secondary_adjustments(ledger, encounter_ids, *, payer_seq: int = 1) -> pa.Table:
    """Adjustments of payer ``payer_seq`` by line, group code and CARC, with the balance check.

    Only live entries count (a reversed remit and its negation cancel out; the
    correction is what the secondary sees). Write-offs and transfers posted by
    the practice are not the payer's adjustments and are left out.

    Parameters
    ----------
    ledger : Ledger
    encounter_ids : str or iterable of str
    payer_seq : int
        The payer whose decision is reported (1 = primary, 2 for a tertiary claim).

    Returns
    -------
    pyarrow.Table
        One row per (encounter, line, group_code, carc): ``amount_cents`` and
        ``count`` (adjustment entries summed), then the line check:
        ``charge_cents`` (fee), ``paid_cents`` (this payer's payments),
        ``line_adjustments_cents`` (all of this payer's adjustments on the
        line) and ``balances`` (fee - paid == total adjustments). Sorted by
        encounter (as given), line, group code, CARC.

    Raises
    ------
    LedgerError
        An encounter id that is not in the ledger.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(50, seed=2)
    >>> eid = ledger.encounters["encounter_id"][0].as_py()
    >>> t = secondary_adjustments(ledger, [eid])
    >>> t.column_names[:4]
    ['encounter_id', 'line', 'group_code', 'carc']
    """
    if isinstance(encounter_ids, str):
        encounter_ids = [encounter_ids]
    ids = pa.array(list(encounter_ids), pa.string())
    known = ledger.encounters["encounter_id"].combine_chunks()
    pos = pc.index_in(ids, value_set=known)
    if pos.null_count:
        bad = ids.filter(pc.is_null(pos))[0].as_py()
        raise LedgerError(f"secondary_adjustments: encounter {bad!r} is not in the ledger")
    if payer_seq not in (1, 2, 3):
        raise ValueError(f"payer_seq must be 1, 2 or 3, got {payer_seq!r}")
    order_of = {eid: i for i, eid in enumerate(ids.to_pylist())}
    entries = ledger.entries.filter(pc.is_in(ledger.entries["encounter_id"], value_set=ids))
    negated = set(pc.drop_null(entries["negates"]).to_pylist())
    rows = entries.select(
        [
            "entry_id",
            "encounter_id",
            "line",
            "payer_seq",
            "kind",
            "group_code",
            "carc",
            "amount_cents",
            "negates",
        ]
    ).to_pylist()
    procs = (
        ledger.procedures.filter(pc.is_in(ledger.procedures["encounter_id"], value_set=ids))
        .select(["encounter_id", "line"])
        .to_pylist()
    )
    charge: dict = {}
    paid: dict = {}
    total: dict = {}
    cas: dict = {}
    for p in procs:
        key = (p["encounter_id"], p["line"])
        charge[key] = paid[key] = total[key] = 0
    for r in rows:
        if r["negates"] is not None or r["entry_id"] in negated:
            continue
        key = (r["encounter_id"], r["line"])
        if r["kind"] == "charge":
            charge[key] += r["amount_cents"]
        if r["payer_seq"] != payer_seq:
            continue
        if r["kind"] == "payment":
            paid[key] += r["amount_cents"]
        elif r["kind"] == "adjustment":
            total[key] += r["amount_cents"]
            k = (*key, r["group_code"], (r["carc"] or "").strip())
            amount, count = cas.get(k, (0, 0))
            cas[k] = (amount + r["amount_cents"], count + 1)
    keys = sorted(cas, key=lambda k: (order_of[k[0]], k[1], k[2] or "", k[3]))
    out = {
        "encounter_id": [k[0] for k in keys],
        "line": pa.array([k[1] for k in keys], pa.int32()),
        "group_code": pa.array([k[2] for k in keys], pa.string()),
        "carc": pa.array([k[3] for k in keys], pa.string()),
        "amount_cents": pa.array([cas[k][0] for k in keys], pa.int64()),
        "count": pa.array([cas[k][1] for k in keys], pa.int32()),
    }
    line_keys = [(k[0], k[1]) for k in keys]
    out["charge_cents"] = pa.array([charge[k] for k in line_keys], pa.int64())
    out["paid_cents"] = pa.array([paid[k] for k in line_keys], pa.int64())
    out["line_adjustments_cents"] = pa.array([total[k] for k in line_keys], pa.int64())
    out["balances"] = pa.array(
        np.array([charge[k] - paid[k] == total[k] for k in line_keys], dtype=bool)
    )
    return pa.table(
        out,
        schema=pa.schema(
            [
                ("encounter_id", pa.string()),
                ("line", pa.int32()),
                ("group_code", pa.string()),
                ("carc", pa.string()),
                ("amount_cents", pa.int64()),
                ("count", pa.int32()),
                ("charge_cents", pa.int64()),
                ("paid_cents", pa.int64()),
                ("line_adjustments_cents", pa.int64()),
                ("balances", pa.bool_()),
            ]
        ),
    )
