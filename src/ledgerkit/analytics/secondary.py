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

from ledgerkit.core.adjudication import payer_adjudication
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
    lines, cas = payer_adjudication(ledger, ids.to_pylist(), payer_seq)
    by_line = {
        (e, n): (c, p, t)
        for e, n, c, p, t in zip(
            *(lines[col].to_pylist() for col in
              ("encounter_id", "line", "charge_cents", "paid_cents", "adjustments_cents")),
            strict=True,
        )
    }  # fmt: skip
    line_keys = list(zip(cas["encounter_id"].to_pylist(), cas["line"].to_pylist(), strict=True))
    charge, paid, total = (
        np.array([by_line[k][i] for k in line_keys], np.int64) for i in range(3)
    )
    out = {
        "encounter_id": cas["encounter_id"],
        "line": cas["line"],
        "group_code": cas["group_code"],
        "carc": cas["carc"],
        "amount_cents": cas["amount_cents"],
        "count": cas["count"],
        "charge_cents": pa.array(charge),
        "paid_cents": pa.array(paid),
        "line_adjustments_cents": pa.array(total),
        "balances": pa.array(charge - paid == total),
    }
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
