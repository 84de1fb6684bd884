"""First-pass resolution rate, ``ledgerkit.metrics.first_pass_resolution_rate``
(issue #16; DOMAIN.md, More metrics).

A claim (an encounter billed to a primary payer) is *resolved on the first
pass* when the primary payer's first response (its payments and adjustments
posted on the first day it posted any for the claim, negations excluded)

- denied nothing (no line has a first-response denial), and
- left at most patient responsibility: on every line, payments + contractual
  adjustments + patient responsibility of that response cover the charge.

``rate = first-pass claims / claims the primary adjudicated`` (claims with a
first response), by count and by charge dollars.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit._kernels.denials import first_response_covered_nb
from ledgerkit.analytics.facts import NO_DAY, REASON_DIMS, Dims, Grouping, parse_by, ratio
from ledgerkit.analytics.ledger_entries import negations

__all__ = ["first_pass_resolution_rate"]


def first_pass_resolution_rate(ledger, by="month", *, policy=None, catalog=None) -> pa.Table:
    """Claims paid in full on the primary's first remit with no denial / claims adjudicated.

    Parameters
    ----------
    ledger : Ledger
    by : str or sequence of str, optional
        Encounter dimensions (month, payer, payer_class, provider, location,
        site, place_of_service); ``None``: one row.

    Returns
    -------
    pyarrow.Table
        ``by`` columns, ``claims`` (adjudicated by the primary),
        ``first_pass_claims``, ``first_pass_rate``, ``charge_cents``,
        ``first_pass_charge_cents`` and ``first_pass_dollar_rate``.

    Examples
    --------
    Claim A ($100.00): the first remit pays $60.00, CO-45 $30.00, PR-2
    $10.00: first pass. Claim B ($50.00): CO-16 $50.00 on the first remit,
    paid after a resubmission: not first pass. Claim C ($80.00): the first
    remit pays $40.00 and CO-45 $20.00, $20.00 is left to the payer: not
    first pass. Rate 1/3; dollars 10000 / 23000.
    """
    by = parse_by(by)
    if "cpt" in by or any(d in REASON_DIMS for d in by):
        raise ValueError("first_pass_resolution_rate: by takes encounter dimensions")
    dims = Dims(ledger, catalog, policy)
    f = dims.facts
    keys = ledger.keys
    first_day = f.enc_first_day[:, 1]
    n_proc = len(f.proc_enc)
    covered = np.empty(n_proc, np.int64)
    first_response_covered_nb(
        f.codes, keys.amounts, f.entry_day, negations(ledger), np.ascontiguousarray(first_day),
        keys.enc_proc_start, keys.proc_entry_start, covered,
    )  # fmt: skip
    charge = f.figures["charge"]
    line_ok = (covered >= charge) & (f.first_denied <= 0)
    n_enc = keys.n_encounters
    bad = np.bincount(f.proc_enc[~line_ok], minlength=n_enc) > 0
    claim = (keys.enc_n_payers >= 1) & (first_day != NO_DAY)
    ok = claim & ~bad
    running = np.concatenate([[0], np.cumsum(charge)])  # int64 cents, exact
    enc_charge = running[keys.enc_proc_start[1:]] - running[keys.enc_proc_start[:-1]]
    # encounter dimensions, read through each encounter's first procedure
    rep = keys.enc_proc_start[:-1].astype(np.int64)
    has = keys.enc_proc_start[1:] > keys.enc_proc_start[:-1]
    claim &= has
    ok &= has
    cols = dims.columns(by, proc=np.minimum(rep, max(n_proc - 1, 0))) if by else []
    g = Grouping(cols, mask=claim) if cols else None
    key = g.key if g else np.where(claim, 0, -1)
    n_groups = g.n_groups if g else 1
    values = {
        "claims": claim.astype(np.int64),
        "first_pass_claims": ok.astype(np.int64),
        "charge_cents": np.where(claim, enc_charge, 0),
        "first_pass_charge_cents": np.where(ok, enc_charge, 0),
    }
    from ledgerkit.analytics.facts import group_sums, grouped

    sums, counts = group_sums(key, values, n_groups)
    present = np.flatnonzero(counts > 0)
    s = {k: v[present] for k, v in sums.items()}
    out = {
        "claims": s["claims"],
        "first_pass_claims": s["first_pass_claims"],
        "first_pass_rate": ratio(s["first_pass_claims"], s["claims"]),
        "charge_cents": s["charge_cents"],
        "first_pass_charge_cents": s["first_pass_charge_cents"],
        "first_pass_dollar_rate": ratio(s["first_pass_charge_cents"], s["charge_cents"]),
    }
    if g:
        return grouped(g, present, out)
    return pa.table({k: (v if isinstance(v, pa.Array) else pa.array(v)) for k, v in out.items()})
