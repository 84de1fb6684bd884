"""The likelihood that appealing a denial recovers money, by payer x category x CARC, and
its look-up for rows (the worklist's expected recovery).

``analytics.lifecycle_metrics`` defines the words (appealed denial, overturned).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit.analytics.appeal_attempts import attempts, work_inputs
from ledgerkit.analytics.facts import Grouping
from ledgerkit.core.arrow import encode
from ledgerkit.core.catalog import CATEGORIES

__all__ = ["recovery_likelihood", "likelihood_of"]


def recovery_likelihood(ledger, work=None, *, prior_weight=10.0, policy=None, catalog=None):
    """The likelihood that appealing a denial recovers money, by payer x category x CARC.

    From appealed denials (``analytics.lifecycle_metrics``): ``n`` appealed and ``k`` overturned
    per cell. Each level is smoothed toward the one above it with
    ``m = prior_weight`` pseudo-denials at the level above's rate::

        p_all      = K / N                                  (every appealed denial)
        p_category = (k_cat + m * p_all) / (n_cat + m)
        p_prior    = (k_payer_cat + m * p_category) / (n_payer_cat + m)
        likelihood = (k + m * p_prior) / (n + m)

    so a cell with few appeals leans on its payer's record for the category,
    and that on the category's. ``payer_id`` is the claim's primary payer.

    Returns
    -------
    pyarrow.Table
        ``payer_id``, ``category``, ``carc``, ``appealed`` (n, the sample
        size), ``overturned`` (k), ``prior`` (p_prior) and ``likelihood``,
        one row per cell with at least one appeal.

    Examples
    --------
    Payer P, category coding: CARC 16 appealed 3 times, won 3; CARC 11
    appealed once, lost. With m = 1: p_all = 3/4, p_category = (3 + .75)/5 =
    0.75, p_prior = 0.75, likelihood(16) = (3 + .75)/4 = 0.9375 and
    likelihood(11) = (0 + .75)/2 = 0.375.
    """
    ledger, work = work_inputs(ledger, work)
    a = attempts(ledger, work, policy, catalog)
    first, won, _, _, _ = a.items()
    cols = a.columns(("payer", "category", "carc"), first)
    g = Grouping(cols)
    sums, counts = g.sums({"n": np.ones(len(first), np.int64), "k": won.astype(np.int64)})
    present = np.flatnonzero(counts > 0)
    payer_code, cat_code, _ = g.decode(present)
    n, k = sums["n"][present].astype(float), sums["k"][present].astype(float)
    m = float(prior_weight)
    p_all = k.sum() / n.sum() if n.sum() else 0.0
    n_cat = np.bincount(cat_code, weights=n, minlength=len(CATEGORIES) + 1)
    k_cat = np.bincount(cat_code, weights=k, minlength=len(CATEGORIES) + 1)
    p_cat = (k_cat + m * p_all) / (n_cat + m)
    pc_key = payer_code * (len(CATEGORIES) + 1) + cat_code
    uniq, inv = np.unique(pc_key, return_inverse=True)
    n_pc = np.bincount(inv, weights=n)
    k_pc = np.bincount(inv, weights=k)
    prior = ((k_pc + m * p_cat[uniq % (len(CATEGORIES) + 1)]) / (n_pc + m))[inv]
    labels = g.labels(present)
    return pa.table({
        "payer_id": labels["payer"], "category": labels["category"], "carc": labels["carc"],
        "appealed": pa.array(n.astype(np.int64)), "overturned": pa.array(k.astype(np.int64)),
        "prior": pa.array(prior), "likelihood": pa.array((k + m * prior) / (n + m)),
    })  # fmt: skip


def likelihood_of(table: pa.Table, payers, categories, carcs, *, prior_weight=10.0):
    """Look up :func:`recovery_likelihood` for rows of (payer, category, CARC).

    A cell without appeals falls back to its payer x category rate (smoothed
    toward the category), then to the category's, then to the overall rate:
    the same smoothing with ``n = k = 0``. Returns ``(likelihood, n, k)``
    arrays (n, k: the cell's appealed and overturned counts, 0 without one).
    """
    m = float(prior_weight)
    rows = table.to_pylist()
    n_all = sum(r["appealed"] for r in rows)
    p_all = sum(r["overturned"] for r in rows) / n_all if n_all else 0.0
    cat: dict = {}
    pay_cat: dict = {}
    cell: dict = {}
    for r in rows:
        c = cat.setdefault(r["category"], [0, 0])
        c[0] += r["appealed"]
        c[1] += r["overturned"]
        pay_cat[(r["payer_id"], r["category"])] = r["prior"]
        cell[(r["payer_id"], r["category"], r["carc"])] = r
    p_cat = {k: (v[1] + m * p_all) / (v[0] + m) for k, v in cat.items()}
    # each distinct (payer, category, CARC) once, then spread to the rows
    parts = [_coded(values) for values in (payers, categories, carcs)]
    composite = np.zeros(len(parts[0][0]), np.int64)
    for codes, labels in parts:
        composite = composite * (len(labels) + 1) + (codes + 1)
    distinct, inverse = np.unique(composite, return_inverse=True)
    out, n, k = [], [], []
    for value in distinct.tolist():
        key = []
        for codes, labels in reversed(parts):
            value, code = divmod(value, len(labels) + 1)
            key.append(labels[code - 1] if code else None)
        p, c, code = key[::-1]
        r = cell.get((p, c, code))
        if r is not None:
            out.append(r["likelihood"])
            n.append(r["appealed"])
            k.append(r["overturned"])
            continue
        out.append(pay_cat.get((p, c), p_cat.get(c, p_all)))
        n.append(0)
        k.append(0)
    inverse = inverse.reshape(-1)
    return (np.array(out, float)[inverse], np.array(n, np.int64)[inverse],
            np.array(k, np.int64)[inverse])  # fmt: skip


def _coded(values) -> tuple[np.ndarray, list]:
    """Dense codes (-1: null) and labels of a sequence or Arrow array of strings."""
    if not isinstance(values, pa.Array | pa.ChunkedArray):
        values = pa.array(list(values), pa.string())
    codes, labels = encode(values)
    return codes.astype(np.int64), labels.to_pylist()
