"""asv benchmarks of ledgerkit.contracts: expected allowed per procedure.

Target (10M procedures, 2 cores): ``expected_allowed`` under 1 s once the
ledger's line keys are read (``setup`` makes one call), at least 10x the
polars join-based equivalent of ``benchmarks/compare_contracts.py``.
"""

import ledgerkit as lk

from ._contracts_data import synthetic_contracts
from ._data import PROCEDURES, ledger_with_procedures


class ExpectedAllowed:
    params = [PROCEDURES]
    param_names = ["procedures"]
    timeout = 900
    number = 1
    repeat = 5

    def setup(self, procedures):
        self.ledger = ledger_with_procedures(procedures)
        self.contracts = synthetic_contracts(self.ledger)
        lk.expected_allowed(self.ledger, self.contracts)  # JIT, figures and line keys

    def time_expected_allowed(self, procedures):
        lk.expected_allowed(self.ledger, self.contracts)

    def peakmem_expected_allowed(self, procedures):
        lk.expected_allowed(self.ledger, self.contracts)

    def time_load_contracts(self, procedures):
        lk.contracts.load(self.contracts.table, schedules=self.contracts.schedules)
