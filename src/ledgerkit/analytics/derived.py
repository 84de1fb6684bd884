"""The one derived-data layer: what metrics, rules, TAA, what-if and widgets read of a ledger.

:func:`derived` gives the :class:`Derived` of a ledger under a policy. Its
parts are numpy arrays in grouped order (``ledger.keys``), each computed on
first use and then kept:

- ``figures``: the per-procedure figures and their encounter roll-up, from one
  pass of ``_kernels.classify.ledger_figures_nb`` (the procedure balance
  kernel runs once per ledger and policy; metrics and rules share it);
- ``facts``: the denial facts of the analytics (:class:`Facts`), computed only
  when a metric asks;
- ``features``: the dense codes rule conditions read (:class:`LedgerFeatures`);
- ``memo``: a dict for what callers derive further (TAA configurations,
  what-if amounts, dimension codes), kept by name on the same object.

The cache is the ledger's one per-policy cache,
``ledger.keys.policy_cache(policy)`` (keyed by policy identity, at most
``core.keys.MAX_POLICIES`` policies per ledger, the oldest dropped first), which
also holds the packed entry codes. Nothing in a ``Derived`` is changed after it
is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa

from ledgerkit._kernels import codes as C
from ledgerkit._kernels.balances import FIGURES
from ledgerkit._kernels.classify import ledger_figures_nb
from ledgerkit._kernels.entry_codes import floor_days_nb, gather_nb
from ledgerkit._kernels.facts import entry_denial_facts_nb
from ledgerkit.core.arrow import (
    US_PER_DAY,
    codes_in,
    day_numbers,
    dictionary_codes,
    int_array,
    timestamp_chunks,
    valid_array,
)
from ledgerkit.core.ledger import require_ledger
from ledgerkit.core.row_groups import dictionary_codes_of_parts, in_memory, read_in_parts
from ledgerkit.core.schema import KINDS, PAYER_CLASSES

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


def payer_denial_rows(codes: np.ndarray) -> np.ndarray:
    """Positions of the live denial entries a payer posted (``payer_seq >= 1``) among
    packed entry ``codes``: the one selection of live payer denials (``Facts`` and the
    TAA history read it; it needs no denial facts)."""
    return np.flatnonzero(
        (C.bucket_of(codes) == C.DENIED) & C.is_live(codes) & (C.payer_seq_of(codes) >= 1)
    )


@dataclass(frozen=True)
class Figures:
    """Per-procedure figures (``proc``: name -> int64, the ``KEPT_FIGURES``) and per encounter."""

    proc: dict
    proc_last: np.ndarray  # int8 last adjudicating payer_seq (0 none)
    enc_balance: np.ndarray
    enc_allowed: np.ndarray
    enc_class: np.ndarray  # int8 class code
    enc_stage: np.ndarray  # int8 stage code


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


@dataclass
class LedgerFeatures:
    """Integer views for rules. Procedure and entry arrays are in grouped order."""

    n_encounters: int
    n_procedures: int
    enc_proc_start: np.ndarray
    proc_entry_start: np.ndarray
    # entries: group code * n_carcs + carc code of live adjustments, else -1
    entry_pair: np.ndarray
    group_values: list
    carc_values: list
    # procedures
    proc_cpt: np.ndarray
    cpt_values: list
    proc_modifiers: np.ndarray
    modifier_values: list
    proc_units: np.ndarray
    proc_service_day: np.ndarray
    proc_balance: np.ndarray
    proc_payer_balance: np.ndarray
    proc_open_pr: np.ndarray
    proc_last: np.ndarray
    # encounters
    enc_payer: np.ndarray  # primary payer code, -1 self-pay
    payer_values: list
    enc_pclass: np.ndarray  # index into PAYER_CLASSES
    enc_site: np.ndarray
    site_values: list
    enc_pos: np.ndarray
    pos_values: list
    enc_class: np.ndarray
    enc_stage: np.ndarray
    enc_balance: np.ndarray
    enc_allowed: np.ndarray
    enc_last_remit: np.ndarray  # day number, -1 when no remit
    latest_day: int  # day of the latest posting (default "as of" day)
    cache: dict = field(default_factory=dict, repr=False)  # the Derived's memo

    def proc_encounter(self) -> np.ndarray:
        """Encounter position of every grouped procedure."""
        out = self.cache.get("proc_enc")
        if out is None:
            counts = np.diff(self.enc_proc_start)
            out = np.repeat(np.arange(self.n_encounters, dtype=np.int64), counts)
            self.cache["proc_enc"] = out
        return out


def _days_of(posted_at: pa.ChunkedArray) -> np.ndarray:
    """int32 day numbers of a timestamp column."""
    return _days_into(posted_at, np.empty(len(posted_at), np.int32))


def _days_into(posted_at: pa.ChunkedArray, out: np.ndarray) -> np.ndarray:
    """Write the day numbers of ``posted_at`` into ``out``: one parallel pass per chunk
    (numpy's int64 floor division took three)."""
    start = 0
    for us in timestamp_chunks(posted_at):
        floor_days_nb(us, US_PER_DAY, out[start : start + len(us)])
        start += len(us)
    return out


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
        return self.keys.packed_codes(self._entries_for_reasons(), self.policy)

    def _entries_for_reasons(self):
        # keys read from a sidecar carry the reason codes: the entries table of a Parquet
        # folder stays unread (the whole table is about 5 GB at 10M procedures)
        return None if self.keys.has_reason_codes else self.ledger.entries

    def _entries_column(self, name: str) -> pa.ChunkedArray:
        """One column of the entries (of a Parquet folder: read alone)."""
        return self.ledger.column("entries", name)

    @cached_property
    def posted_day(self) -> np.ndarray:
        """int32 posting day (days since 1970-01-01) of every entries row (row order)."""
        return _days_of(self._entries_column("posted_at"))

    @cached_property
    def entry_day(self) -> np.ndarray:
        """int32 posting day of every grouped entry."""
        return self._grouped_entries(self.posted_day)

    def _grouped_entries(self, values: np.ndarray) -> np.ndarray:
        order = self.keys.entry_order
        if order is None:
            return values
        out = np.empty(len(order), values.dtype)
        gather_nb(values, order, out)
        return out

    def _grouped_procedures(self, values: np.ndarray) -> np.ndarray:
        order = self.keys.proc_order
        return values if order is None else values[order]

    @cached_property
    def proc_enc(self) -> np.ndarray:
        """int64 encounter of every grouped procedure."""
        keys = self.keys
        counts = np.diff(keys.enc_proc_start)
        return np.repeat(np.arange(keys.n_encounters, dtype=np.int64), counts)

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
        keys = self.keys
        row_day, negation = self._fact_columns()
        _, _, carc, carc_values = keys.reason_codes(self._entries_for_reasons())  # int16
        figures = self.figures
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
            self.codes,
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
        self.__dict__.setdefault("entry_day", day)  # what the entry_day property computes
        return Facts(
            proc_enc=self.proc_enc,
            enc_first_day=enc_first_day,
            first_denied=first_denied,
            first_reason=first_reason,
            later_paid=later_paid,
            last_day=last_day,
            top_reason=top_reason,
            figures=figures.proc,
            codes=self.codes,
            entry_day=day,
            entry_carc=grouped_carc,
            carc_values=carc_values,
            payer_source=self._entry_payer,
        )

    def _fact_columns(self):
        """Row-order posting day (int32) and negation flag of every entry, from one read
        of the two entries columns.

        A table still in its Parquet file is read a row group at a time into arrays
        allocated once (at 10M procedures the whole-column reads allocated ~800 MB of
        Arrow buffers that were touched once and dropped); a held table is read as is.
        """
        if in_memory(self.ledger, "entries"):
            entries = self.ledger.entries
            if "posted_day" not in self.__dict__:
                self.__dict__["posted_day"] = _days_of(entries["posted_at"])
            return self.posted_day, valid_array(entries["negates"])
        n = len(self.keys.entry_kind)
        day = self.__dict__.get("posted_day")
        read_day = day is None
        if read_day:
            day = np.empty(n, np.int32)
        negation = np.empty(n, np.bool_)
        names = ["negates"] + (["posted_at"] if read_day else [])
        start = 0
        for part in read_in_parts(self.ledger, "entries", names):
            m = part.num_rows
            if read_day:
                _days_into(part["posted_at"], day[start : start + m])
            negation[start : start + m] = valid_array(part["negates"])
            start += m
        self.__dict__.setdefault("posted_day", day)
        return day, negation

    def _entry_payer(self) -> tuple[np.ndarray, list]:
        """(payer code of every grouped entry, payer values): the entries' payer_id read
        a row group at a time, coded as ``dictionary_codes(..., smallest=True)``."""
        n = len(self.keys.entry_kind)
        chunks = (
            chunk
            for part in read_in_parts(self.ledger, "entries", ["payer_id"])
            for chunk in part["payer_id"].chunks
        )
        payer, values = dictionary_codes_of_parts(chunks, n)
        return self._grouped_entries(payer), values

    # ------------------------------------------------------------- rule features
    @cached_property
    def features(self) -> LedgerFeatures:
        """The dense codes and figures rule conditions, TAA and what-if read."""
        keys = self.keys
        ledger = self.ledger
        n_enc, n_proc = keys.n_encounters, keys.n_procedures
        entry_pair, group_values, carc_values, enc_last_remit = self._entry_features()

        procedures = ledger.procedures
        cpt, cpt_values = self._codes(procedures["cpt"], self._grouped_procedures)
        mods, modifier_values = self._codes(procedures["modifiers"], self._grouped_procedures)
        units = self._grouped_procedures(int_array(procedures["units"], np.int32))
        service_day = self._grouped_procedures(day_numbers(procedures["service_date"]))
        if len(self.posted_day):
            latest_day = int(self.posted_day.max())
        else:
            latest_day = int(service_day.max()) if n_proc else 0

        encounters = ledger.encounters
        payer, payer_values = self._codes(encounters["payer1_id"])
        class_of = dict(
            zip(
                ledger.payers["payer_id"].to_pylist(),
                ledger.payers["payer_class"].cast(pa.string()).to_pylist(),
                strict=True,
            )
        )
        value_class = np.array(
            [PAYER_CLASSES.index(class_of.get(v, "other")) for v in payer_values] or [0], np.int8
        )
        pclass = np.where(
            payer >= 0, value_class[np.maximum(payer, 0)], PAYER_CLASSES.index("self_pay")
        ).astype(np.int8)
        site, site_values = self._codes(encounters["site_id"])
        pos, pos_values = self._codes(encounters["place_of_service"])
        fig = self.figures
        return LedgerFeatures(
            n_encounters=n_enc,
            n_procedures=n_proc,
            enc_proc_start=keys.enc_proc_start,
            proc_entry_start=keys.proc_entry_start,
            entry_pair=entry_pair,
            group_values=group_values,
            carc_values=carc_values,
            proc_cpt=cpt,
            cpt_values=cpt_values,
            proc_modifiers=mods,
            modifier_values=modifier_values,
            proc_units=units,
            proc_service_day=service_day,
            proc_balance=fig.proc["balance"],
            proc_payer_balance=fig.proc["payer_balance"],
            proc_open_pr=fig.proc["open_pr"],
            proc_last=fig.proc_last,
            enc_payer=payer,
            payer_values=payer_values,
            enc_pclass=pclass,
            enc_site=site,
            site_values=site_values,
            enc_pos=pos,
            pos_values=pos_values,
            enc_class=fig.enc_class,
            enc_stage=fig.enc_stage,
            enc_balance=fig.enc_balance,
            enc_allowed=fig.enc_allowed,
            enc_last_remit=enc_last_remit,
            latest_day=latest_day,
            cache=self.memo,
        )

    def _entry_features(self):
        """Pairs (group, CARC) of live adjustments, dictionaries, last remit day per encounter."""
        keys = self.keys
        n_enc = keys.n_encounters
        if len(keys.entry_kind) == 0:
            return np.empty(0, np.int32), [], [], np.full(n_enc, -1, np.int32)
        g_codes, group_values, c_codes, carc_values = keys.reason_codes(
            self._entries_for_reasons()
        )
        carc_values = [None if v is None else v.strip() for v in carc_values]
        n_carcs = max(len(carc_values), 1)
        pair = np.where(
            (g_codes >= 0) & (c_codes >= 0),
            g_codes.astype(np.int32) * n_carcs + c_codes,
            -1,
        ).astype(np.int32)
        pair = self._grouped_entries(pair)
        adjustment = (keys.entry_kind == KINDS.index("adjustment")) & keys.entry_live
        entry_pair = np.where(adjustment, pair, -1).astype(np.int32)

        is_remit = codes_in(self._entries_column("source"), pa.array(["remit"])) == 0
        remit_day = self._grouped_entries(np.where(is_remit, self.posted_day, -1).astype(np.int32))
        # Latest remit day per encounter: entries are grouped by encounter too.
        enc_entry_start = keys.proc_entry_start[keys.enc_proc_start]
        lo, hi = enc_entry_start[:-1], enc_entry_start[1:]
        nonempty = hi > lo
        last_remit = np.full(n_enc, -1, np.int32)
        if nonempty.any():
            starts = lo[nonempty]
            last_remit[nonempty] = np.maximum.reduceat(remit_day, starts)
        return entry_pair, group_values, carc_values, last_remit

    @staticmethod
    def _codes(column: pa.ChunkedArray, grouped=None) -> tuple[np.ndarray, list]:
        """Dense int32 codes (-1 null) of a string or dictionary column, and its values."""
        if len(column) == 0:
            return np.empty(0, np.int32), []
        codes, values = dictionary_codes(column)
        return (codes if grouped is None else grouped(codes)), values
