"""Contracts: what each payer should pay, line by line, as data.

:func:`load` reads a contract table (CSV, Parquet, Arrow, a DataFrame) into a
checked :class:`Contracts`; :func:`expected_allowed` prices every procedure of
a ledger with it and sets the result beside what was allowed.

Examples
--------
>>> import ledgerkit as lk
>>> contracts = lk.contracts.load(
...     {"payer": ["MCR01"], "code_from": ["99213"], "rate_cents_per_unit": [9000]}
... )
>>> table = lk.expected_allowed(lk.synth.generate(10, seed=0), contracts)
>>> table.column_names[:4]
['procedure_id', 'encounter_id', 'line', 'payer_id']
"""

from ledgerkit.contracts.expected import expected_allowed
from ledgerkit.contracts.load import load
from ledgerkit.contracts.model import COLUMNS, REASONS, Contracts

__all__ = ["COLUMNS", "Contracts", "REASONS", "expected_allowed", "load"]
