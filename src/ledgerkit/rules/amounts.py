"""How much a rule asks to move, and how the caps are reported.

A rule with ``amount = "matched"`` moves only the live adjustments its
group/CARC condition matched that still sit in the payer balance: denied or
other amounts of any payer, and PR amounts of a payer before the last one
that adjudicated (the last payer's PR is already the patient's open PR). The
kernel caps every movement by what is open (``ledgerkit._kernels.rules``);
this module computes the matched amounts and words the cap notes.
"""

from __future__ import annotations

import numpy as np

from ledgerkit._kernels.matched import matched_sums_nb
from ledgerkit.analytics.derived import derived

__all__ = ["cap_notes", "matched_amounts"]


def matched_amounts(ledger, policy, feats, pair_rows: list) -> np.ndarray:
    """``[variant, procedure]`` cents each group/CARC pair set matched, still payer-owed.

    ``pair_rows[v]`` is a boolean row over the feature pair codes (group code
    x CARC) of variant ``v``. Sums of live adjustments per grouped procedure,
    floored at 0 (a negative sum asks for nothing).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit.analytics.derived import ledger_features
    >>> ledger = lk.synth.generate(30, seed=2)
    >>> feats = ledger_features(ledger)
    >>> matched_amounts(ledger, ledger.policy, feats, []).shape == (1, feats.n_procedures)
    True
    """
    n_proc = feats.n_procedures
    out = np.zeros((max(len(pair_rows), 1), n_proc), np.int64)
    if not pair_rows or len(feats.entry_pair) == 0:
        return out
    d = derived(ledger, policy)
    rows = np.array(pair_rows, np.bool_).reshape(len(pair_rows), -1)
    matched_sums_nb(
        d.codes,
        d.keys.amounts,
        feats.entry_pair,
        feats.proc_entry_start,
        feats.proc_last,
        rows,
        out,
    )
    return out


def cap_notes(requested: np.ndarray, moved: np.ndarray) -> list:
    """The ``note`` of each proposed entry: why it moves less than its rule asked, else None.

    Examples
    --------
    >>> cap_notes(np.array([9000, 500]), np.array([4500, 500]))
    ['capped by what is open: asked $90.00, moved $45.00', None]
    """
    return [
        f"capped by what is open: asked {_dollars(r)}, moved {_dollars(m)}" if r > m else None
        for r, m in zip(requested.tolist(), moved.tolist(), strict=True)
    ]


def _dollars(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"
