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
]
