"""asv benchmarks of the core: classify, balances, keys and synth (sizes: ``_data.PROCEDURES``).

Every ``time_*`` body also runs once, small, in tests/test_benchmarks.py.
"""

import ledgerkit as lk

from ._data import PROCEDURES, ledger_with_procedures, slowdown

SIZES = PROCEDURES


class Classify:
    params = [SIZES]
    param_names = ["procedures"]
    timeout = 600
    number = 1
    repeat = 5

    def setup(self, procedures):
        self.ledger = ledger_with_procedures(procedures)
        lk.classify(self.ledger)  # JIT warm-up

    def time_classify(self, procedures):
        for _ in range(slowdown("classify")):
            lk.classify(self.ledger)

    def peakmem_classify(self, procedures):
        lk.classify(self.ledger)


class Generate:
    """``synth.generate``: a whole ledger (keys included) from nothing."""

    params = [SIZES]
    param_names = ["procedures"]
    timeout = 900
    number = 1
    repeat = 2

    def setup(self, procedures):
        lk.synth.generate(100, seed=1)  # JIT warm-up (keys)
        self.encounters = max(1, round(procedures / lk.synth.MEAN_PROCEDURES_PER_ENCOUNTER))

    def time_generate(self, procedures):
        lk.synth.generate(self.encounters, seed=1)


class Balances:
    params = [SIZES, ["procedure", "payer", "encounter"]]
    param_names = ["procedures", "level"]
    timeout = 600
    number = 1
    repeat = 3

    def setup(self, procedures, level):
        self.ledger = ledger_with_procedures(procedures)
        lk.balances(self.ledger, level=level)

    def time_balances(self, procedures, level):
        lk.balances(self.ledger, level=level)


class Keys:
    """Building the cached integer keys (once per ledger)."""

    params = [SIZES]
    param_names = ["procedures"]
    timeout = 600
    number = 1
    repeat = 3

    def setup(self, procedures):
        self.ledger = ledger_with_procedures(procedures)

    def time_build_keys(self, procedures):
        from ledgerkit.core.keys import build_keys

        build_keys(self.ledger.encounters, self.ledger.procedures, self.ledger.entries)


def timeraw_import_ledgerkit():
    """``import ledgerkit`` in a fresh interpreter (target: under 1 s)."""
    return "import ledgerkit"


def timeraw_first_classify_of_sample():
    """First classify of the bundled sample in a fresh process, compile included
    (from the on-disk cache when present; target: under 3 s)."""
    return """
import ledgerkit as lk
ledger = lk.synth.generate(lk.synth.SAMPLE_ENCOUNTERS, seed=lk.synth.SAMPLE_SEED)
lk.classify(ledger)
"""
