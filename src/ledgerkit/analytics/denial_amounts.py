"""Denied dollars: every live denial a payer posted, and what is still open of them.

``ledgerkit.metrics`` documents the dimensions (``by=``) and the row order.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit.analytics.facts import Dims, Grouping, grouped, parse_by, proc_of_entries, units
from ledgerkit.analytics.first_response import submitted_lines

__all__ = ["denial_dollars", "open_denial_dollars"]


def denial_dollars(ledger, by=("payer", "carc"), *, policy=None, catalog=None) -> pa.Table:
    """Denied dollars: every live denial adjustment posted by a payer, summed.

    Counts all payers' denials (first response or later), not negated and
    not negations; ``payer`` is the payer that posted the denial and
    ``carc`` the denial's own CARC.

    Returns
    -------
    pyarrow.Table
        ``by`` columns, ``denials`` (adjustment rows), ``claims`` (distinct
        encounters) and ``denied_cents``; rows in label order (see ``ledgerkit.metrics``).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit import metrics
    >>> t = metrics.denial_dollars(lk.synth.generate(300, seed=5), by="category")
    >>> t.column_names
    ['category', 'denials', 'claims', 'denied_cents']
    """
    by = parse_by(by)
    dims = Dims(ledger, catalog, policy)
    f = dims.facts
    rows = f.payer_denial_rows()
    proc = proc_of_entries(ledger, rows)
    cols = dims.columns(by, proc=proc, reason=f.entry_carc[rows], payer=f.entry_payer[rows])
    g = Grouping(cols, mask=None if cols else np.ones(len(rows), np.bool_))
    rep, _, _, _ = units(f.proc_enc[proc], g.key)
    sums, counts = g.sums({"claims": rep, "denied_cents": ledger.keys.amounts[rows]})
    present = np.flatnonzero(counts > 0)
    return grouped(
        g,
        present,
        {
            "denials": counts[present],
            "claims": sums["claims"][present],
            "denied_cents": sums["denied_cents"][present],
        },
    )


def open_denial_dollars(ledger, by="payer", *, policy=None, catalog=None) -> pa.Table:
    """Denied dollars still open: denied and not yet paid, written off or moved to PR.

    Per line: ``min(denied, payer_balance)`` (floored at 0), where ``denied``
    is the last adjudicating payer's denial and ``payer_balance`` what payers
    still owe (see :func:`ledgerkit.balances`). ``carc`` is the line's
    largest current denial.

    Returns
    -------
    pyarrow.Table
        ``by`` columns, ``claims``, ``lines`` and ``open_denied_cents``.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit import metrics
    >>> t = metrics.open_denial_dollars(lk.synth.generate(300, seed=5), by="category")
    >>> t.column_names
    ['category', 'claims', 'lines', 'open_denied_cents']
    """
    by = parse_by(by)
    dims, f, proc, _ = submitted_lines(ledger, policy, catalog)
    open_ = np.maximum(np.minimum(f.figures["denied"], f.figures["payer_balance"]), 0)
    mask = open_ > 0
    cols = dims.columns(by, proc=proc, reason=f.top_reason)
    g = Grouping(cols, mask=mask)
    rep, _, _, _ = units(f.proc_enc, g.key)
    sums, counts = g.sums({"claims": rep, "open_denied_cents": np.where(mask, open_, 0)})
    present = np.flatnonzero(counts > 0)
    return grouped(
        g,
        present,
        {
            "claims": sums["claims"][present],
            "lines": counts[present],
            "open_denied_cents": sums["open_denied_cents"][present],
        },
    )
