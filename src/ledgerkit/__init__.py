"""ledgerkit: an Arrow payment ledger with Numba kernels for revenue-cycle teams.

The words it uses (classes, stages, buckets, metrics, rules, TAA) are defined
in docs/glossary.md; ``lk.report`` turns a rule set into a client proposal.

Examples
--------
>>> import ledgerkit as lk
>>> ledger = lk.synth.generate(100, seed=0)
>>> summary = lk.classify(ledger)
>>> summary.num_rows
100
"""

from ledgerkit import _gc, _memory, _moved
from ledgerkit.errors import LedgerError

__version__ = "0.1.0"

_moved.install()
_memory.settle_memory()  # before any large array: see ledgerkit/_memory.py

# Everything else loads on first use, so `import ledgerkit` stays fast: it imports
# neither numba nor pyarrow (tests/test_import_time.py). Each public module name and
# where it lives.
_LAZY_MODULES = {
    "synth": "ledgerkit.synth",
    "metrics": "ledgerkit.analytics.metrics",
    "catalog": "ledgerkit.core.catalog",
    "payer_behaviour": "ledgerkit.analytics.payer_behaviour",
    "rootcause": "ledgerkit.analytics.rootcause",
    "secondary": "ledgerkit.analytics.secondary",
    "summary": "ledgerkit.analytics.summary",
    "rules": "ledgerkit.rules",
    "taa": "ledgerkit.rules.taa",
    "whatif": "ledgerkit.rules.whatif",
    "x12": "ledgerkit.x12",
    "review": "ledgerkit.posting.review",
    "posting": "ledgerkit.posting",
    "widgets": "ledgerkit.widgets",
    "report": "ledgerkit.report",
    "dask": "ledgerkit.scale",
    "schema": "ledgerkit.core.schema",
    "ledger": "ledgerkit.core.ledger",
    "keys": "ledgerkit.core.keys",
    "policy": "ledgerkit.core.policy",
    "validate": "ledgerkit.core.validate",
    "contracts": "ledgerkit.contracts",
}
_LAZY_NAMES = {
    "Ledger": "ledgerkit.core.ledger",
    "CarcPolicy": "ledgerkit.core.policy",
    "balances": "ledgerkit.analytics.balances",
    "classify": "ledgerkit.analytics.classify",
    "CLASSES": "ledgerkit.analytics.classify",
    "STAGES": "ledgerkit.analytics.classify",
    "WORKLIST_CLASSES": "ledgerkit.analytics.classify",
    "summarize": "ledgerkit.analytics.summary",
    "format_summary": "ledgerkit.analytics.summary",
    "read_835": "ledgerkit.x12",
    "read_837": "ledgerkit.x12",
    "Claims": "ledgerkit.x12",
    "write_835": "ledgerkit.x12",
    "write_837": "ledgerkit.x12",
    "write_837_secondary": "ledgerkit.x12",
    "Remittances": "ledgerkit.x12",
    "X12Error": "ledgerkit.x12",
    "worklist": "ledgerkit.analytics.worklist",
    "underpayments": "ledgerkit.contracts.underpayments",
    "underpaid_lines": "ledgerkit.contracts.underpayments",
    "work_items": "ledgerkit.analytics.work_items",
    "appeal_summary": "ledgerkit.analytics.appeal_summary",
    "appeal_outcomes": "ledgerkit.analytics.appeal_outcomes",
    "root_causes": "ledgerkit.analytics.rootcause",
    "secondary_adjustments": "ledgerkit.analytics.secondary",
    "submission_metrics": "ledgerkit.analytics.submissions",
    "CarcCatalog": "ledgerkit.core.catalog",
    "RuleSet": "ledgerkit.rules",
    "Rule": "ledgerkit.rules",
    "default_rules": "ledgerkit.rules",
    "load_rules": "ledgerkit.rules",
    "Condition": "ledgerkit.rules",
    "Action": "ledgerkit.rules",
    "RuleError": "ledgerkit.rules",
    "save_rules": "ledgerkit.rules",
    "dry_run": "ledgerkit.rules",
    "apply_rules": "ledgerkit.rules",
    "suggest_taa": "ledgerkit.rules.taa",
    "taa_history": "ledgerkit.rules.taa",
    "taa_sweep": "ledgerkit.rules.whatif",
    "threshold_sweep": "ledgerkit.rules.whatif",
    "WhatIf": "ledgerkit.rules.whatif",
    "post": "ledgerkit.posting",
    "PostResult": "ledgerkit.posting",
    "REASONS": "ledgerkit.posting",
    "LedgerStore": "ledgerkit.store",
    "partition": "ledgerkit.scale.partitioning",
    "PartitionedLedger": "ledgerkit.scale.partitioning",
    "expected_allowed": "ledgerkit.contracts",
}


def __getattr__(name):
    import importlib

    if name in _LAZY_MODULES:
        with _gc.collections_paused():  # the first such import loads Numba
            module = importlib.import_module(_LAZY_MODULES[name])
        globals()[name] = module
        return module
    if name in _LAZY_NAMES:
        with _gc.collections_paused():
            value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
        globals()[name] = value  # later look-ups skip __getattr__
        return value
    raise AttributeError(f"module 'ledgerkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_NAMES))


__all__ = [
    "LedgerError",
    *_LAZY_MODULES,
    *_LAZY_NAMES,
]
