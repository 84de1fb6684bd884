"""Take-backs (recoupments), ``ledgerkit.metrics.take_backs`` (issue #16; DOMAIN.md,
More metrics).

A *take-back* is a payer's payment later reversed without a repost: a negation
of a payer payment (``payer_seq`` 1-3) on a procedure where the same payer
posted no new payment on the day of the negation (a reversal with its
correction the same day is a correction, not a take-back). Its cents are the
amount taken back (positive).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit._kernels.take_backs import take_backs_nb
from ledgerkit.analytics.facts import (
    Dims,
    Grouping,
    group_sums,
    grouped,
    parse_by,
    proc_of_entries,
    units,
)
from ledgerkit.analytics.ledger_entries import negations

__all__ = ["take_backs"]


def take_backs(ledger, by="payer", *, policy=None, catalog=None) -> pa.Table:
    """Payments payers took back with no repost, in count, claims and cents.

    Parameters
    ----------
    ledger : Ledger
    by : str or sequence of str, optional
        ``payer`` / ``payer_class`` are the payer that took the money back,
        ``month`` the month it did; other encounter and procedure dimensions
        as elsewhere (not the reason dimensions). ``None``: one row.

    Returns
    -------
    pyarrow.Table
        ``by`` columns, ``take_backs`` (negated payments), ``claims`` and
        ``take_back_cents``.

    Examples
    --------
    A payer paid $80.00 in March and negated it in June with nothing posted in
    its place: one take-back of 8000 cents in 2025-06. A reversal of $50.00
    re-posted as $45.00 the same day is a correction: not counted.
    """
    by = parse_by(by)
    dims = Dims(ledger, catalog, policy)
    f = dims.facts
    keys = ledger.keys
    back = np.empty(len(keys.amounts), np.bool_)
    take_backs_nb(
        keys.entry_kind, keys.entry_seq, negations(ledger), keys.amounts, f.entry_day,
        keys.proc_entry_start, back,
    )  # fmt: skip
    day = f.entry_day
    rows = np.flatnonzero(back)
    proc = proc_of_entries(ledger, rows)
    month = dims.month_of_days(day[rows]) if "month" in by else None
    cols = dims.columns(by, proc=proc, payer=f.entry_payer[rows], month=month)
    g = Grouping(cols) if cols else None
    key = g.key if g else np.zeros(len(rows), np.int64)
    rep, _, _, _ = units(f.proc_enc[proc].astype(np.int64), key)
    sums, counts = group_sums(key, {"claims": rep.astype(np.int64),
                                    "take_back_cents": -keys.amounts[rows]},
                              g.n_groups if g else 1)  # fmt: skip
    present = np.flatnonzero(counts > 0) if g else np.array([0])
    out = {
        "take_backs": counts[present],
        "claims": sums["claims"][present],
        "take_back_cents": sums["take_back_cents"][present],
    }
    if g:
        return grouped(g, present, out)
    return pa.table({k: pa.array(v) for k, v in out.items()})
