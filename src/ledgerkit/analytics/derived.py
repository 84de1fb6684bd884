"""The one derived-data layer: what metrics, rules, TAA, what-if and widgets read of a ledger.

:func:`derived` gives the :class:`Derived` of a ledger under a policy. Its
parts are numpy arrays in grouped order (``ledger.keys``), each computed on
first use and then kept:

- ``figures``: the per-procedure figures and their encounter roll-up, from one
  pass of ``_kernels.classify.ledger_figures_nb`` (the procedure balance
  kernel runs once per ledger and policy; metrics and rules share it);
- ``facts``: the denial facts of the analytics (:class:`Facts`, built in
  ``analytics.denial_facts``), computed only when a metric asks;
- ``features``: the dense codes rule conditions read (:class:`LedgerFeatures`,
  built in ``analytics.rule_features``);
- ``memo``: a dict for what callers derive further (TAA configurations,
  what-if amounts, dimension codes), kept by name on the same object.

The cache is the ledger's one per-policy cache,
``ledger.keys.policy_cache(policy)`` (keyed by policy identity, at most
``core.keys.MAX_POLICIES`` policies per ledger, the oldest dropped first), which
also holds the packed entry codes. Nothing in a ``Derived`` is changed after it
is built. The entries' columns it reads (posting days, negation flags, payers) come
from ``analytics.entry_columns``, a row group at a time from a Parquet folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa

from ledgerkit._kernels.balances import FIGURES
from ledgerkit._kernels.classify import ledger_figures_nb
from ledgerkit._kernels.entry_codes import gather_nb
from ledgerkit.analytics.denial_facts import Facts, denial_facts, payer_denial_rows
from ledgerkit.analytics.entry_columns import days_and_negations, entry_payer_codes
from ledgerkit.analytics.rule_features import LedgerFeatures, rule_features
from ledgerkit.core.arrow import US_PER_DAY
from ledgerkit.core.ledger import require_ledger

__all__ = [
    "Derived",
    "Facts",
    "LedgerFeatures",
    "US_PER_DAY",
    "derived",
    "facts",
    "ledger_features",
    "payer_denial_rows",
    "per_work",
]

KEPT_FIGURES = ("charge", "denied", "allowed", "balance", "open_pr", "payer_balance")


def derived(ledger, policy=None) -> Derived:
    """The derived data of ``ledger`` under ``policy`` (default ``ledger.policy``), cached.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(50, seed=1)
    >>> derived(ledger) is derived(ledger)
    True
    """
    require_ledger(ledger, "this analysis")
    policy = policy or ledger.policy
    keys = ledger.keys
    slot = keys.policy_cache(policy)
    out = slot.get("derived")
    if out is None:
        out = slot["derived"] = Derived(ledger, policy, keys)
    return out


def facts(ledger, policy=None) -> Facts:
    """The denial facts of ``ledger`` under ``policy`` (``derived(ledger, policy).facts``)."""
    return derived(ledger, policy).facts


def ledger_features(ledger, policy=None) -> LedgerFeatures:
    """What rules read of ``ledger`` under ``policy`` (``derived(ledger, policy).features``)."""
    return derived(ledger, policy).features


def per_work(ledger, work, name: str, build, policy=None):
    """``build()`` once per (ledger, policy, work events table), kept in the derived memo.

    What the lifecycle metrics derive from work events (appeal outcomes, work items,
    attempts) is kept per events table *object* (a ``pyarrow.Table`` cannot change),
    the latest two tables per name. Anything else (a store, whose events grow, or a
    list of dicts, which can be edited in place) is built afresh on every call.

    Examples
    --------
    >>> import ledgerkit as lk, pyarrow as pa
    >>> ledger = lk.synth.generate(50, seed=1)
    >>> events = pa.table({"x": [1]})
    >>> per_work(ledger, events, "n", lambda: object()) is per_work(
    ...     ledger, events, "n", lambda: object())
    True
    """
    if ledger is None or not isinstance(work, pa.Table):
        return build()
    kept = derived(ledger, policy).memo.setdefault(f"work.{name}", {})
    hit = kept.get(id(work))
    if hit is not None and hit[0] is work:
        return hit[1]
    out = build()
    while len(kept) >= 2:
        del kept[next(iter(kept))]  # insertion order: oldest first
    kept[id(work)] = (work, out)  # holding the table keeps its id from being reused
    return out


@dataclass(frozen=True)
class Figures:
    """Per-procedure figures (``proc``: name -> int64, the ``KEPT_FIGURES``) and per encounter."""

    proc: dict
    proc_last: np.ndarray  # int8 last adjudicating payer_seq (0 none)
    enc_balance: np.ndarray
    enc_allowed: np.ndarray
    enc_class: np.ndarray  # int8 class code
    enc_stage: np.ndarray  # int8 stage code


class Derived:
    """Everything derived of one ledger under one policy; parts computed on first use.

    Parameters
    ----------
    ledger : Ledger
    policy : CarcPolicy
        Buckets of the adjustments (the packed entry codes).
    keys : LedgerKeys, optional
        ``ledger.keys`` (looked up when omitted).

    Use :func:`derived` (cached); constructing one directly computes afresh.
    """

    def __init__(self, ledger, policy, keys=None):
        self.ledger = ledger
        self.policy = policy
        self.keys = ledger.keys if keys is None else keys
        # What callers derive from this object, by name ("taa.configurations", ...).
        self.memo: dict = {}

    # ------------------------------------------------------------- entries
    @cached_property
    def codes(self) -> np.ndarray:
        """Packed one-byte code of every entry (grouped) under the policy."""
        return self.keys.packed_codes(self.entries_for_reasons(), self.policy)

    def entries_for_reasons(self):
        """The entries table the keys' reason codes are computed from, or None when the
        keys carry them (read from a sidecar: the entries table of a Parquet folder stays
        unread; the whole table is about 5 GB at 10M procedures)."""
        return None if self.keys.has_reason_codes else self.ledger.entries

    def entries_column(self, name: str) -> pa.ChunkedArray:
        """One column of the entries (of a Parquet folder: read alone)."""
        return self.ledger.column("entries", name)

    @cached_property
    def posted_day(self) -> np.ndarray:
        """int32 posting day (days since 1970-01-01) of every entries row (row order)."""
        return days_and_negations(self.ledger, negation=False)[0]

    @cached_property
    def entry_day(self) -> np.ndarray:
        """int32 posting day of every grouped entry."""
        return self.grouped_entries(self.posted_day)

    def grouped_entries(self, values: np.ndarray) -> np.ndarray:
        """``values`` of every entries row (row order) in grouped order."""
        order = self.keys.entry_order
        if order is None:
            return values
        out = np.empty(len(order), values.dtype)
        gather_nb(values, order, out)
        return out

    def grouped_procedures(self, values: np.ndarray) -> np.ndarray:
        """``values`` of every procedures row (row order) in grouped order."""
        order = self.keys.proc_order
        return values if order is None else values[order]

    @cached_property
    def proc_enc(self) -> np.ndarray:
        """int64 encounter of every grouped procedure."""
        keys = self.keys
        counts = np.diff(keys.enc_proc_start)
        return np.repeat(np.arange(keys.n_encounters, dtype=np.int64), counts)

    def day_and_negation(self) -> tuple[np.ndarray, np.ndarray]:
        """Row-order posting day (int32, kept as :attr:`posted_day`) and negation flag of
        every entry, from one read of the two entries columns."""
        day, negation = days_and_negations(self.ledger, day=self.__dict__.get("posted_day"))
        self.__dict__.setdefault("posted_day", day)
        return day, negation

    def entry_payer(self) -> tuple[np.ndarray, list]:
        """(payer code of every grouped entry, payer values), read when first asked."""
        payer, values = entry_payer_codes(self.ledger)
        return self.grouped_entries(payer), values

    # ------------------------------------------------------------- figures
    @cached_property
    def figures(self) -> Figures:
        """The procedure balance kernel's figures (one pass over the grouped entries)."""
        keys = self.keys
        n_enc, n_proc = keys.n_encounters, keys.n_procedures
        kept = np.array([FIGURES.index(name) for name in KEPT_FIGURES], np.int64)
        proc_figures = np.empty((len(KEPT_FIGURES), n_proc), np.int64)
        proc_last = np.empty(n_proc, np.int8)
        enc_balance = np.empty(n_enc, np.int64)
        enc_allowed = np.empty(n_enc, np.int64)
        enc_class = np.empty(n_enc, np.int8)
        enc_stage = np.empty(n_enc, np.int8)
        ledger_figures_nb(
            self.codes,
            keys.amounts,
            keys.enc_proc_start,
            keys.proc_entry_start,
            keys.enc_n_payers,
            kept,
            proc_figures,
            proc_last,
            enc_balance,
            enc_allowed,
            enc_class,
            enc_stage,
        )
        proc = {name: proc_figures[k] for k, name in enumerate(KEPT_FIGURES)}
        return Figures(proc, proc_last, enc_balance, enc_allowed, enc_class, enc_stage)

    # ------------------------------------------------------------- denial facts
    @cached_property
    def facts(self) -> Facts:
        """The denial facts of the analytics (first/last denial, reasons, days)."""
        out = denial_facts(self)
        self.__dict__.setdefault("entry_day", out.entry_day)  # what entry_day computes
        return out

    # ------------------------------------------------------------- rule features
    @cached_property
    def features(self) -> LedgerFeatures:
        """The dense codes and figures rule conditions, TAA and what-if read."""
        return rule_features(self)
