"""Where the modules of ledgerkit 0.1's flat layout live now.

``import ledgerkit.metrics`` and ``from ledgerkit.partitioning import partition`` keep
working: a finder on ``sys.meta_path`` answers each old path with the module at its new
place (the same module object, so state is shared). ``ledgerkit.classify`` and
``ledgerkit.balances`` are not here: those names are the functions ``lk.classify`` and
``lk.balances``, and an import of a module under them would replace the function.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys

MOVED = {
    "ledgerkit.catalog": "ledgerkit.core.catalog",
    "ledgerkit.keys": "ledgerkit.core.keys",
    "ledgerkit.ledger": "ledgerkit.core.ledger",
    "ledgerkit.policy": "ledgerkit.core.policy",
    "ledgerkit.schema": "ledgerkit.core.schema",
    "ledgerkit.validate": "ledgerkit.core.validate",
    "ledgerkit.denial_worklist": "ledgerkit.analytics.worklist",
    "ledgerkit.metrics": "ledgerkit.analytics.metrics",
    "ledgerkit.payer_behaviour": "ledgerkit.analytics.payer_behaviour",
    "ledgerkit.rootcause": "ledgerkit.analytics.rootcause",
    "ledgerkit.secondary": "ledgerkit.analytics.secondary",
    "ledgerkit.summary": "ledgerkit.analytics.summary",
    "ledgerkit.review": "ledgerkit.posting.review",
    "ledgerkit.rule_set": "ledgerkit.rules.model",
    "ledgerkit.taa": "ledgerkit.rules.taa",
    "ledgerkit.whatif": "ledgerkit.rules.whatif",
    "ledgerkit.dask": "ledgerkit.scale",
    "ledgerkit.partitioning": "ledgerkit.scale.partitioning",
    "ledgerkit.x12.from_ledger": "ledgerkit.synth.remits",
    "ledgerkit.x12.samples": "ledgerkit.synth.samples",
}


class _Alias:
    # a finder and loader by protocol, not by importlib.abc's classes: importing those
    # imports importlib.resources too (Python 3.11), 5-10 ms of every `import ledgerkit`

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        module = importlib.import_module(MOVED[spec.name])
        self._own_spec = module.__spec__
        return module

    def exec_module(self, module):
        # The import system stamped the old name's spec on the module; give it back its own.
        module.__spec__ = self._own_spec


def install() -> None:
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.append(_Alias())
