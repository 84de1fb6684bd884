"""Adjustment rules: rules as data and TOML (``model``), dry run and apply (``engine``),
target allowed amounts (``taa``) and what-if sweeps (``whatif``).
"""

from ledgerkit.analytics.derived import LedgerFeatures, ledger_features
from ledgerkit.rules.engine import (
    CompiledRules,
    DryRun,
    apply_rules,
    compile_rules,
    dry_run,
    evaluate,
)
from ledgerkit.rules.model import (
    Action,
    Condition,
    Rule,
    RuleError,
    RuleSet,
    default_rules,
    load_rules,
    save_rules,
)

__all__ = [
    "Action",
    "Condition",
    "DryRun",
    "Rule",
    "RuleError",
    "RuleSet",
    "apply_rules",
    "default_rules",
    "dry_run",
    "load_rules",
    "save_rules",
    "CompiledRules",
    "compile_rules",
    "evaluate",
    "LedgerFeatures",
    "ledger_features",
]
