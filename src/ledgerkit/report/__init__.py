"""Deliverables: a consultant's proposal from a rule set, and one formatter for reading.

- :func:`proposal` builds a :class:`Proposal` (TAAs per configuration with
  their source, the sweep curves, per-payer impact, sample encounters per
  rule, assumptions and definitions), written with ``.to_excel``,
  ``.to_html``, ``.to_csv`` and ``.to_parquet``;
- :mod:`ledgerkit.report.format` shows money, rates, days, codes and column
  labels the same way in every widget, notebook and report;
- :func:`flatten` makes any table (list columns included, e.g.
  ``lk.root_causes``) fit for CSV.

Definitions: docs/glossary.md.
"""

from ledgerkit.report.flat import flatten, write_table
from ledgerkit.report.format import format_table
from ledgerkit.report.proposal import Proposal, proposal

__all__ = ["proposal", "Proposal", "format_table", "flatten", "write_table"]
