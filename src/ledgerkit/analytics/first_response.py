"""Denial metrics of the primary payer's first response: initial and avoidable denial rates.

``ledgerkit.metrics`` documents the dimensions (``by=``), the row order and the
words used here (claim, first response, denied on the first response).
:func:`submitted_lines` is the per-line start every line-level denial metric shares.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit.analytics.facts import (
    NO_DAY,
    REASON_DIMS,
    Dims,
    Grouping,
    group_of_codes,
    grouped,
    parse_by,
    ratio,
    units,
)

__all__ = ["initial_denial_rate", "avoidable_denial_rate"]


def submitted_lines(ledger, policy, catalog):
    """The dimensions, the facts, every grouped procedure and whether its claim was
    submitted (billed to a primary payer)."""
    dims = Dims(ledger, catalog, policy)
    f = dims.facts
    n_proc = len(f.proc_enc)
    proc = np.arange(n_proc, dtype=np.int64)
    submitted = ledger.keys.enc_n_payers[f.proc_enc] >= 1
    return dims, f, proc, submitted


def first_response_sums(ledger, by, policy, catalog, flags: dict[str, np.ndarray] | None = None):
    """Claims, responses and first-response denials per group.

    ``flags`` adds, for each name, ``<name>_claims`` and ``<name>_cents``
    counted over denied lines where the flag is set.
    """
    by = parse_by(by)
    dims, f, proc, submitted = submitted_lines(ledger, policy, catalog)
    enc = f.proc_enc
    responded = f.enc_first_day[enc, 1] != NO_DAY
    denied = submitted & (f.first_denied > 0)
    charge = f.figures["charge"]
    flags = {"denied": denied, **{k: v & denied for k, v in (flags or {}).items()}}
    base_by = tuple(d for d in by if d not in REASON_DIMS)
    base_cols = dims.columns(base_by, proc=proc)
    g0 = Grouping(base_cols, mask=submitted)
    rep0, resp0, _, _ = units(enc, g0.key, flag_any=responded)
    if len(base_by) == len(by):
        # Unit = (claim, group): counts come from one unit pass per flag.
        values = {"claims": rep0, "responded": rep0 & resp0, "charge_cents": charge}
        for name, mask in flags.items():
            rep, any_, _, _ = units(enc, g0.key, flag_any=mask)
            values[f"{name}_claims"] = rep & any_
            values[f"{name}_cents"] = np.where(mask, f.first_denied, 0)
        sums, counts = g0.sums(values)
        present = np.flatnonzero(sums["claims"] > 0)
        return g0, present, {k: v[present] for k, v in sums.items()}
    # Reason dimensions: numerators per (group, reason), denominators per group.
    cols = dims.columns(by, proc=proc, reason=f.first_reason)
    g1 = Grouping(cols, mask=denied)
    values = {}
    for name, mask in flags.items():
        rep, any_, _, _ = units(enc, g1.key, flag_any=mask)
        values[f"{name}_claims"] = rep & any_
        values[f"{name}_cents"] = np.where(mask, f.first_denied, 0)
    sums1, counts1 = g1.sums(values)
    present = np.flatnonzero(counts1 > 0)
    sums0, _ = g0.sums({"claims": rep0, "responded": rep0 & resp0, "charge_cents": charge})
    codes1 = g1.decode(present)
    base_idx = [by.index(d) for d in base_by]
    g0_of = (
        group_of_codes(g0, [codes1[i] for i in base_idx])
        if base_by
        else np.zeros(len(present), np.int64)
    )
    out = {k: v[g0_of] for k, v in sums0.items()}
    out.update({k: v[present] for k, v in sums1.items()})
    return g1, present, out


def initial_denial_rate(ledger, by="month", *, policy=None, catalog=None) -> pa.Table:
    """Claims denied on the primary payer's first response / claims submitted.

    Parameters
    ----------
    ledger : Ledger
    by : str or sequence of str, optional
        Dimensions (see ``ledgerkit.metrics``); default ``"month"``.
    policy : CarcPolicy, optional
        Which CARCs are denials (default ``ledger.policy``).
    catalog : CarcCatalog, optional
        For ``category`` (default :meth:`CarcCatalog.default`).

    Returns
    -------
    pyarrow.Table
        The ``by`` columns, then ``claims`` (submitted: billed to a primary
        payer), ``responded`` (claims with a first response so far),
        ``denied_claims``, ``denial_rate = denied_claims / claims``,
        ``charge_cents`` (billed), ``denied_cents`` (denied on the first
        response) and ``dollar_denial_rate = denied_cents / charge_cents``.
        With ``carc`` or ``category`` in ``by``, the numerators count claims
        denied for that reason (the CARC of each line's largest first-response
        denial) and the denominators are those of the other dimensions.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit import metrics
    >>> table = metrics.initial_denial_rate(lk.synth.generate(300, seed=5), by="payer")
    >>> table.column_names[:4]
    ['payer', 'claims', 'responded', 'denied_claims']
    """
    g, present, s = first_response_sums(ledger, by, policy, catalog)
    return grouped(
        g,
        present,
        {
            "claims": s["claims"],
            "responded": s["responded"],
            "denied_claims": s["denied_claims"],
            "denial_rate": ratio(s["denied_claims"], s["claims"]),
            "charge_cents": s["charge_cents"],
            "denied_cents": s["denied_cents"],
            "dollar_denial_rate": ratio(s["denied_cents"], s["charge_cents"]),
        },
    )


def avoidable_denial_rate(ledger, by="month", *, policy=None, catalog=None) -> pa.Table:
    """Claims denied on the first response for an avoidable reason / claims submitted.

    A line's denial is avoidable when the catalogue marks the CARC of its
    largest first-response denial avoidable (front-end fixable: eligibility,
    authorization, coding, missing data...).

    Returns
    -------
    pyarrow.Table
        ``by`` columns, ``claims``, ``denied_claims``, ``avoidable_claims``,
        ``avoidable_rate = avoidable_claims / claims``, ``avoidable_share =
        avoidable_claims / denied_claims``, ``charge_cents``, ``denied_cents``,
        ``avoidable_cents`` and ``dollar_avoidable_rate = avoidable_cents /
        charge_cents``.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit import metrics
    >>> t = metrics.avoidable_denial_rate(lk.synth.generate(300, seed=5), by=None)
    >>> t.num_rows, t["avoidable_claims"][0].as_py() <= t["denied_claims"][0].as_py()
    (1, True)
    """
    dims = Dims(ledger, catalog, policy)
    f = dims.facts
    avoidable_of = dims.reason_maps()["avoidable"]
    reason = f.first_reason
    avoidable = np.zeros(len(reason), np.bool_)
    if len(avoidable_of):
        avoidable = (reason >= 0) & avoidable_of[np.maximum(reason, 0)]
    g, present, s = first_response_sums(ledger, by, policy, catalog, {"avoidable": avoidable})
    return grouped(
        g,
        present,
        {
            "claims": s["claims"],
            "denied_claims": s["denied_claims"],
            "avoidable_claims": s["avoidable_claims"],
            "avoidable_rate": ratio(s["avoidable_claims"], s["claims"]),
            "avoidable_share": ratio(s["avoidable_claims"], s["denied_claims"]),
            "charge_cents": s["charge_cents"],
            "denied_cents": s["denied_cents"],
            "avoidable_cents": s["avoidable_cents"],
            "dollar_avoidable_rate": ratio(s["avoidable_cents"], s["charge_cents"]),
        },
    )
