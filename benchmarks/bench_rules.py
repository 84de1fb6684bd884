"""asv benchmarks of ledgerkit.rules, ledgerkit.taa and ledgerkit.whatif.

Targets (10M procedures, 2 cores): dry run of a 20-rule set under 1 s, a
101-level TAA sweep under 1 s, one what-if re-evaluation at 1M encounters
under 50 ms. ``setup`` warms the JIT and the cached ledger features, so the
times are what an analyst sees after the first run on a ledger.
"""

from ledgerkit import rules
from ledgerkit.analytics.derived import Derived, ledger_features
from ledgerkit.rules import taa, whatif

from ._data import PROCEDURES, TUNER_PROCEDURES, ledger_with_procedures
from ._rules_data import twenty_rules

SIZES = PROCEDURES


class DryRun:
    params = [SIZES]
    param_names = ["procedures"]
    timeout = 900
    number = 1
    repeat = 5

    def setup(self, procedures):
        self.ledger = ledger_with_procedures(procedures)
        self.rules = twenty_rules()
        rules.dry_run(self.ledger, self.rules)  # JIT, features and configurations

    def time_dry_run_20_rules(self, procedures):
        rules.dry_run(self.ledger, self.rules)

    def time_dry_run_20_rules_with_entries(self, procedures):
        rules.dry_run(self.ledger, self.rules).entries


class Features:
    """The one-off pass a ledger needs before its first dry run."""

    params = [SIZES]
    param_names = ["procedures"]
    timeout = 900
    number = 1
    repeat = 3

    def setup(self, procedures):
        self.ledger = ledger_with_procedures(procedures)
        ledger_features(self.ledger)

    def time_features(self, procedures):
        Derived(self.ledger, self.ledger.policy).features  # uncached: computed afresh


class Sweeps:
    params = [SIZES, ["percentile", "fraction", "threshold"]]
    param_names = ["procedures", "kind"]
    timeout = 900
    number = 1
    repeat = 5

    def setup(self, procedures, kind):
        self.ledger = ledger_with_procedures(procedures)
        self.run(kind)

    def run(self, kind):
        if kind == "threshold":
            return whatif.threshold_sweep(self.ledger)
        return whatif.taa_sweep(self.ledger, mode=kind)

    def time_sweep_101_levels(self, procedures, kind):
        self.run(kind)


class Slider:
    """One re-evaluation after a single threshold changed (full: 1M encounters = 2.3M
    procedures)."""

    params = [TUNER_PROCEDURES]
    param_names = ["procedures"]
    timeout = 900
    number = 1
    repeat = 20

    def setup(self, procedures):
        self.what = whatif.WhatIf(ledger_with_procedures(procedures))
        self.what.evaluate(taa_percentile=25, small_balance=499)
        self.p = 25.0

    def time_evaluate_changed_percentile(self, procedures):
        self.p = 26.0 if self.p == 25.0 else 25.0
        self.what.evaluate(taa_percentile=self.p, small_balance=499)


class History:
    params = [SIZES]
    param_names = ["procedures"]
    timeout = 900
    number = 1
    repeat = 3

    def setup(self, procedures):
        self.ledger = ledger_with_procedures(procedures)
        taa.suggest_taa(self.ledger)

    def time_suggest_taa(self, procedures):
        taa.suggest_taa(self.ledger, percentile=30)
