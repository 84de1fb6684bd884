"""The denial facts of the analytics (:class:`Facts`), from one kernel pass.

Per procedure: the first and current denial (amount, reason, day), what was paid
after it, the last remit day; per encounter the first remit day of each payer; per
entry (grouped) its day, CARC and, read on first use, its payer. Built by
:func:`denial_facts` for ``Derived.facts`` (``analytics.derived``), which keeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ledgerkit._kernels import codes as C
from ledgerkit._kernels.facts import entry_denial_facts_nb

__all__ = ["Facts", "denial_facts", "payer_denial_rows"]


def payer_denial_rows(codes: np.ndarray) -> np.ndarray:
    """Positions of the live denial entries a payer posted (``payer_seq >= 1``) among
    packed entry ``codes``: the one selection of live payer denials (``Facts`` and the
    TAA history read it; it needs no denial facts).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit.analytics.derived import derived
    >>> rows = payer_denial_rows(derived(lk.synth.generate(300, seed=5)).codes)
    >>> rows.dtype.name, bool(len(rows))
    ('int64', True)
    """
    return np.flatnonzero(
        (C.bucket_of(codes) == C.DENIED) & C.is_live(codes) & (C.payer_seq_of(codes) >= 1)
    )


@dataclass
class Facts:
    """Per-procedure denial facts and per-entry helpers, all in grouped order."""

    proc_enc: np.ndarray  # int64 encounter of each grouped procedure
    enc_first_day: np.ndarray  # int32 (n_enc, 4): first remit day per payer_seq
    first_denied: np.ndarray  # int64
    first_reason: np.ndarray  # int32 carc code
    later_paid: np.ndarray  # int64
    last_day: np.ndarray  # int32
    top_reason: np.ndarray  # int32 carc code (current)
    figures: dict  # name -> int64 per procedure (the KEPT_FIGURES)
    codes: np.ndarray  # packed entry codes (grouped)
    entry_day: np.ndarray  # int32 (grouped)
    entry_carc: np.ndarray  # int16 CARC code, int32 past 32,767 values (grouped)
    carc_values: list
    # () -> (entry payer codes, payer values): read on first use (the entries' payer_id
    # column is only needed by the metrics that group entries by the posting payer)
    payer_source: Callable = field(repr=False, compare=False)

    @cached_property
    def _payer(self) -> tuple[np.ndarray, list]:
        return self.payer_source()

    @property
    def entry_payer(self) -> np.ndarray:
        """Payer dictionary code of every grouped entry (int8/16/32 by their number)."""
        return self._payer[0]

    @property
    def payer_values(self) -> list:
        """The payer ids the codes of :attr:`entry_payer` index."""
        return self._payer[1]

    def payer_denial_rows(self) -> np.ndarray:
        """Grouped positions of the live denial entries a payer posted (``payer_seq >= 1``)."""
        return payer_denial_rows(self.codes)


def denial_facts(data) -> Facts:
    """The denial facts of ``data`` (a ``Derived``): one pass of
    ``entry_denial_facts_nb`` over the grouped entries, which also gathers the entries'
    days and CARC codes into grouped order.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit.analytics.derived import Derived
    >>> ledger = lk.synth.generate(50, seed=1)
    >>> f = denial_facts(Derived(ledger, ledger.policy))
    >>> len(f.first_denied) == ledger.keys.n_procedures
    True
    """
    keys = data.keys
    row_day, negation = data.day_and_negation()
    _, _, carc, carc_values = keys.reason_codes(data.entries_for_reasons())  # int16
    figures = data.figures
    order = keys.entry_order
    if order is None:  # grouped already: the row columns are the grouped ones
        day, grouped_carc = row_day, carc
        order = np.empty(0, np.int64)
    else:
        day = np.empty(len(order), row_day.dtype)
        grouped_carc = np.empty(len(order), carc.dtype)
    n_enc, n_proc = keys.n_encounters, keys.n_procedures
    enc_first_day = np.empty((n_enc, 4), np.int32)
    first_denied = np.empty(n_proc, np.int64)
    first_reason = np.empty(n_proc, np.int32)
    later_paid = np.empty(n_proc, np.int64)
    last_day = np.empty(n_proc, np.int32)
    top_reason = np.empty(n_proc, np.int32)
    entry_denial_facts_nb(
        data.codes,
        keys.amounts,
        order,
        row_day,
        negation,
        carc,
        keys.enc_proc_start,
        keys.proc_entry_start,
        day,
        grouped_carc,
        enc_first_day,
        first_denied,
        first_reason,
        later_paid,
        last_day,
        top_reason,
    )
    return Facts(
        proc_enc=data.proc_enc,
        enc_first_day=enc_first_day,
        first_denied=first_denied,
        first_reason=first_reason,
        later_paid=later_paid,
        last_day=last_day,
        top_reason=top_reason,
        figures=figures.proc,
        codes=data.codes,
        entry_day=day,
        entry_carc=grouped_carc,
        carc_values=carc_values,
        payer_source=data.entry_payer,
    )
