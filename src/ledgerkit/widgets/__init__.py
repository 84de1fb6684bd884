"""Notebook widgets (ipywidgets + plotly ``FigureWidget``; everything renders offline):
posting review, rule tuning, one encounter's ledger, the denial dashboard, a paged table.

- :class:`PostingReview` -- the flagged-remit worklist of a ``LedgerStore`` with
  post / archive / negate / adjust actions, each committed at once.
- :class:`RuleTuner` -- TAA and small-balance sliders, rule switches, live
  totals by payer, the what-if curves, export of the tuned rules.
- :class:`EncounterView` -- one encounter's ledger, per procedure.
- :class:`DenialDashboard` -- denial rate and dollars by payer x category over
  months, top root causes, the worklist.
- :class:`PagedTable` -- the server-side paged table they share.
- :func:`remit_lag_figure`, :class:`TrendChart` -- payer-behaviour charts.

Every widget has a status line at its top (failures in red); every table
shows money, rates and days through :mod:`ledgerkit.report.format`.

``import ledgerkit`` does not import this package (nor ipywidgets); each widget
module loads on first use.
"""

from __future__ import annotations

import importlib

__all__ = [
    "DenialDashboard",
    "EncounterView",
    "PagedTable",
    "PostingReview",
    "RuleTuner",
    "TrendChart",
    "remit_lag_figure",
    "sample_store",
]

_WHERE = {
    "DenialDashboard": "denial_dashboard",
    "EncounterView": "encounter_view",
    "PagedTable": "table",
    "PostingReview": "posting_review",
    "RuleTuner": "rule_tuner",
    "sample_store": "sample",
    "TrendChart": "charts",
    "remit_lag_figure": "charts",
}


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"ledgerkit.widgets.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'ledgerkit.widgets' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
