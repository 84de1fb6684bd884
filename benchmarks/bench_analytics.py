"""asv benchmarks of the denial analytics (sizes: ``_data.PROCEDURES``).

Every ``time_*`` body also runs once, small, in tests/test_bench_analytics.py.
"""

from ledgerkit.analytics import metrics, payer_behaviour, rootcause
from ledgerkit.analytics.derived import facts
from ledgerkit.analytics.worklist import worklist

from ._data import PROCEDURES, ledger_with_procedures

SIZES = PROCEDURES

# name -> callable(ledger): the table of operations timed here and in compare_analytics.py.
OPERATIONS = {
    "initial_denial_rate(month)": lambda L: metrics.initial_denial_rate(L, by="month"),
    "initial_denial_rate(payer,category)": lambda L: metrics.initial_denial_rate(
        L, by=("payer", "category")
    ),
    "initial_denial_rate(cpt)": lambda L: metrics.initial_denial_rate(L, by="cpt"),
    "avoidable_denial_rate(payer)": lambda L: metrics.avoidable_denial_rate(L, by="payer"),
    "denial_dollars(payer,carc)": lambda L: metrics.denial_dollars(L, by=("payer", "carc")),
    "overturn_rate(payer)": lambda L: metrics.overturn_rate(L, by="payer"),
    "days_to_resolution(payer)": lambda L: metrics.days_to_resolution(L, by="payer"),
    "open_denial_dollars(category)": lambda L: metrics.open_denial_dollars(L, by="category"),
    "aging(payer)": lambda L: metrics.aging(L, by="payer"),
    "aging(provider,location,cpt)": lambda L: metrics.aging(L, by=("provider", "location", "cpt")),
    "worklist": lambda L: worklist(L),
    "root_causes": lambda L: rootcause.root_causes(L),
    "remit_lag": lambda L: payer_behaviour.remit_lag(L),
    "allowed_by_cpt": lambda L: payer_behaviour.allowed_by_cpt(L),
}


class Metrics:
    """Each operation on a ledger whose denial facts are already cached."""

    params = [SIZES, list(OPERATIONS)]
    param_names = ["procedures", "operation"]
    timeout = 900
    number = 1
    repeat = 3

    def setup(self, procedures, operation):
        self.ledger = ledger_with_procedures(procedures)
        OPERATIONS[operation](self.ledger)  # JIT warm-up and facts cached

    def time_operation(self, procedures, operation):
        OPERATIONS[operation](self.ledger)


class Facts:
    """The one pass that every metric shares (first call on a ledger)."""

    params = [SIZES]
    param_names = ["procedures"]
    timeout = 900
    number = 1
    repeat = 3

    def setup(self, procedures):
        self.ledger = ledger_with_procedures(procedures)
        facts(self.ledger)

    def time_facts(self, procedures):
        # time the derived data from scratch; the packed entry codes stay cached
        self.ledger.keys.policy_cache(self.ledger.policy).pop("derived", None)
        facts(self.ledger)
