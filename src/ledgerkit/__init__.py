"""ledgerkit: an Arrow payment ledger with Numba kernels for revenue-cycle teams.

Examples
--------
>>> import ledgerkit as lk
>>> ledger = lk.synth.generate(100, seed=0)
>>> summary = lk.classify(ledger)
>>> summary.num_rows
100
"""

from ledgerkit import synth
from ledgerkit.balances import balances
from ledgerkit.classify import CLASSES, STAGES, WORKLIST_CLASSES, classify
from ledgerkit.errors import LedgerError
from ledgerkit.ledger import Ledger
from ledgerkit.policy import CarcPolicy
from ledgerkit.summary import format_summary, summarize

__version__ = "0.1.0"


# Heavier subsystems load on first use, so `import ledgerkit` stays fast.
_LAZY_MODULES = (
    "metrics",
    "catalog",
    "payer_behaviour",
    "rootcause",
    "secondary",
    "rules",
    "taa",
    "whatif",
    "x12",
    "review",
    "posting",
    "widgets",
    "dask",
)
_LAZY_NAMES = {
    "read_835": "ledgerkit.x12",
    "write_835": "ledgerkit.x12",
    "Remittances": "ledgerkit.x12",
    "X12Error": "ledgerkit.x12",
    "worklist": "ledgerkit.denial_worklist",
    "root_causes": "ledgerkit.rootcause",
    "secondary_adjustments": "ledgerkit.secondary",
    "CarcCatalog": "ledgerkit.catalog",
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
    "suggest_taa": "ledgerkit.taa",
    "taa_history": "ledgerkit.taa",
    "taa_sweep": "ledgerkit.whatif",
    "threshold_sweep": "ledgerkit.whatif",
    "WhatIf": "ledgerkit.whatif",
    "post": "ledgerkit.posting",
    "PostResult": "ledgerkit.posting",
    "REASONS": "ledgerkit.posting",
    "LedgerStore": "ledgerkit.store",
    "partition": "ledgerkit.partitioning",
    "PartitionedLedger": "ledgerkit.partitioning",
}


def __getattr__(name):
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f"ledgerkit.{name}")
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
        globals()[name] = value  # later look-ups skip __getattr__
        return value
    raise AttributeError(f"module 'ledgerkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_NAMES))


__all__ = [
    "Ledger",
    "LedgerError",
    "CarcPolicy",
    "balances",
    "classify",
    "CLASSES",
    "STAGES",
    "WORKLIST_CLASSES",
    "synth",
    "summarize",
    "format_summary",
    *_LAZY_MODULES,
    *_LAZY_NAMES,
]
