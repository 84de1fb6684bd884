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


def __getattr__(name):
    # Heavier subsystems load on first use, so `import ledgerkit` stays fast.
    lazy = {
        "read_835": ("ledgerkit.x12", "read_835"),
        "write_835": ("ledgerkit.x12", "write_835"),
        "Remittances": ("ledgerkit.x12", "Remittances"),
        "X12Error": ("ledgerkit.x12", "X12Error"),
    }
    if name in lazy:
        import importlib

        module, attr = lazy[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'ledgerkit' has no attribute {name!r}")

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
    "read_835",
    "write_835",
    "Remittances",
    "X12Error",
]
