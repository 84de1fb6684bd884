"""Denial metrics: each a function returning an Arrow table, grouped by ``by=``.

``by`` takes any of ``month, payer, payer_class, provider, location, site,
place_of_service, cpt, carc, category, type`` (a name or a sequence; ``None``
= one total row; ``type`` is the denial type of the reason's CARC: technical,
clinical or administrative).

Each family lives in its own module and is reachable here: from the first
response, ``initial_denial_rate`` and ``avoidable_denial_rate``
(``analytics.first_response``); after it, ``overturn_rate`` and
``days_to_resolution`` (``analytics.denial_recovery``); ``denial_dollars`` and
``open_denial_dollars`` (``analytics.denial_amounts``); ``aging``
(``analytics.aging``). The lifecycle metrics (:data:`LIFECYCLE_METRIC_NAMES`):
from work events, ``appeal_overturn_rate``, ``appeal_win_rate``,
``appeal_days_to_resolution``, ``recovery_likelihood``
(``analytics.lifecycle_metrics``, ``analytics.appeal_likelihood``); from the
ledger, ``days_in_ar`` (``analytics.ar_days``), ``first_pass_resolution_rate``
(``analytics.first_pass``) and ``take_backs`` (``analytics.take_backs``).

The meaning of each dimension is fixed in ``ledgerkit.analytics.dimensions``:
month = service month of the claim; payer = the claim's primary payer (the
posting payer for :func:`denial_dollars`); carc / category = the denial reason
of the line (the CARC of its largest denial) and its
:class:`~ledgerkit.core.catalog.CarcCatalog` category. Rows come in label
order, dimension after dimension: months in time order, payer classes
alphabetically, categories as in ``CATEGORIES``, other labels in the order of
their column's dictionary (first appearance for plain strings), null last.

Words the metrics use:

claim
    an encounter billed to a primary payer (payer_seq 1). Self-pay
    encounters are not claims. When ``cpt`` is in ``by``, a claim counts once
    under each CPT it contains (its lines with that code).
first response
    the primary payer's payments and adjustments posted on the first day it
    posted a payment or adjustment for the claim (negations excluded; a later
    reversal does not change what the first response said).
denied on the first response
    a line whose first-response denials (CARCs the CARC policy maps to
    ``denied``, e.g. CO-50, CO-97, PI-59) add up to a positive amount; a
    claim is denied when any of its lines is. Partial (line) denials count.

All money is int64 cents; rates are float64 (null when the denominator is 0).
"""

from __future__ import annotations

# Every metric is re-exported (``__all__``): ``ledgerkit.metrics.<name>`` is the public path.
from ledgerkit.analytics.aging import AGING_BUCKETS, aging  # noqa: F401
from ledgerkit.analytics.ar_days import days_in_ar  # noqa: F401
from ledgerkit.analytics.denial_amounts import denial_dollars, open_denial_dollars  # noqa: F401
from ledgerkit.analytics.denial_recovery import days_to_resolution, overturn_rate  # noqa: F401
from ledgerkit.analytics.first_pass import first_pass_resolution_rate  # noqa: F401
from ledgerkit.analytics.first_response import (  # noqa: F401
    avoidable_denial_rate,
    initial_denial_rate,
)
from ledgerkit.analytics.lifecycle_metrics import (  # noqa: F401
    appeal_days_to_resolution,
    appeal_overturn_rate,
    appeal_win_rate,
    recovery_likelihood,
)
from ledgerkit.analytics.take_backs import take_backs  # noqa: F401

METRIC_NAMES = (
    "initial_denial_rate",
    "avoidable_denial_rate",
    "denial_dollars",
    "overturn_rate",
    "days_to_resolution",
    "open_denial_dollars",
    "aging",
)
# Metrics of the denial lifecycle (issue #16), each in its own module.
LIFECYCLE_METRIC_NAMES = (
    "appeal_overturn_rate",
    "appeal_win_rate",
    "appeal_days_to_resolution",
    "recovery_likelihood",
    "days_in_ar",
    "first_pass_resolution_rate",
    "take_backs",
)
__all__ = [
    *METRIC_NAMES, *LIFECYCLE_METRIC_NAMES, "AGING_BUCKETS", "METRIC_NAMES",
    "LIFECYCLE_METRIC_NAMES",
]  # fmt: skip
