"""The posting engine: 835 remittances into the append-only ledger (DOMAIN.md, "Posting").

``post(ledger, remittances)`` decides every remitted claim of a batch at once
and returns a :class:`PostResult`: the new ledger and a decisions table, one
row per claim, ``posted``, ``archived`` or ``flagged``, with the reason as a
code and in words.

The work is cut in three: :mod:`~ledgerkit.posting.decide` decides every claim
(matching, static checks, the compiled decision pass), :mod:`~ledgerkit.posting.entries`
turns the decisions into ledger entries and the decisions table, and
:mod:`~ledgerkit.posting.reasons` lists the reason codes. This module puts them together.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._memory import freed_memory_reused
from ledgerkit.core.arrow import bool_array, numpy_array, plain
from ledgerkit.core.ledger import Ledger
from ledgerkit.core.limits import MovementError
from ledgerkit.posting.batch import (
    Batch,
    flatten,
    remit_ids,
    select_remits,
)
from ledgerkit.posting.caps import remits_over_caps
from ledgerkit.posting.decide import evaluate_batch
from ledgerkit.posting.entries import build_entries, decisions_table
from ledgerkit.posting.reasons import DECISIONS_SCHEMA, ENGINE_ACTOR, REASON_CODES, REASONS

__all__ = [
    "post",
    "PostResult",
    "REASONS",
    "DECISIONS_SCHEMA",
    "remit_ids",
    "select_remits",
    "ENGINE_ACTOR",
]


@dataclass
class PostResult:
    """What a post did: the new ledger, one decision per claim, the entries added.

    Attributes
    ----------
    ledger : Ledger
        The ledger with the posted entries appended (the input is unchanged).
    decisions : pyarrow.Table
        One row per remitted claim (``DECISIONS_SCHEMA``), in batch order.
    entries : pyarrow.Table
        The entries appended (empty when nothing posted).
    provider_adjustments : pyarrow.Table or None
        Provider-level adjustments (PLB) newly stored by ``LedgerStore.post``; None
        from :func:`post`, which changes procedures only (PLB belong to no procedure).
    """

    ledger: Ledger
    decisions: pa.Table
    entries: pa.Table
    provider_adjustments: pa.Table | None = None

    def counts(self) -> dict:
        """``{decision: (claims, paid cents)}`` for posted, archived and flagged."""
        out = {}
        dec = plain(self.decisions["decision"])
        paid = numpy_array(self.decisions["paid_cents"], fill=0)
        for d in ("posted", "archived", "flagged"):
            m = bool_array(pc.equal(dec, d))
            out[d] = (int(m.sum()), int(paid[m].sum()))
        return out

    @property
    def flagged(self) -> pa.Table:
        """The decisions of the flagged claims."""
        return self.decisions.filter(pc.equal(self.decisions["decision"], "flagged"))

    @property
    def pending(self) -> list:
        """Encounter ids with flagged remits (pass to ``classify(pending=...)``)."""
        return pc.unique(self.flagged["encounter_id"]).to_pylist()

    def __repr__(self) -> str:
        c = self.counts()
        parts = [f"{k} {n:,} (${v / 100:,.2f})" for k, (n, v) in c.items()]
        return f"PostResult({', '.join(parts)}; {self.entries.num_rows:,} entries)"


def as_remittances(remittances, payer_map=None):
    """``remittances`` itself when it is a :class:`~ledgerkit.x12.Remittances`, else
    what :func:`~ledgerkit.x12.read_835` reads from it; with ``payer_map``, its
    transactions carry the ledger's payer ids.

    Parameters
    ----------
    remittances : Remittances, or 835 bytes, a file, a folder or a list of them
    payer_map : mapping, PayerMap or path, optional

    Returns
    -------
    Remittances

    Examples
    --------
    >>> import ledgerkit as lk
    >>> r = lk.synth.remittances(lk.synth.generate(20, seed=1))
    >>> as_remittances(r) is r
    True
    """
    from ledgerkit.x12.payer_map import apply_payer_map
    from ledgerkit.x12.remittances import Remittances

    if isinstance(remittances, Remittances):
        return apply_payer_map(remittances, payer_map)
    from ledgerkit.x12 import read_835

    return read_835(remittances, payer_map=payer_map)


def _now(at) -> dt.datetime:
    if at is None:
        return dt.datetime.now(dt.UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at


@freed_memory_reused()
def post_batch(
    ledger: Ledger,
    batch: Batch,
    *,
    policy=None,
    at: dt.datetime | None = None,
    actor: str = ENGINE_ACTOR,
    note: str | None = None,
    review: bool = False,
    claim_level_line: int | None = None,
) -> PostResult:
    """Decide and post a flattened batch: :func:`post` for callers that flattened
    the remittances already (``LedgerStore.post`` stores the same batch).

    Parameters
    ----------
    ledger : Ledger
    batch : Batch
        ``ledgerkit.posting.batch.flatten(remittances)``.
    policy, at, actor, note
        As in :func:`post`.
    review : bool
        Decide as a reviewer does (``post_flagged``): an unbalanced remit may post,
        a conflict does not stop it, and posted claims get reason ``reviewed``.
    claim_level_line : int, optional
        With ``review``: the procedure line that takes claim-level amounts when the
        encounter has several.

    Returns
    -------
    PostResult
        ``provider_adjustments`` is None (PLB belong to no procedure).

    Raises
    ------
    LedgerError
        ``claim_level_line`` names no procedure line of a remit's encounter.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit.posting.batch import flatten
    >>> full = lk.synth.generate(50, seed=2)
    >>> batch = flatten(lk.synth.remittances(full))
    >>> post_batch(full, batch).entries.num_rows  # every remit is posted already
    0
    """
    policy = policy or ledger.policy
    when = _now(at)
    ev = evaluate_batch(ledger, batch, policy, review=review, claim_level_line=claim_level_line)
    if review:
        ev["reason"] = np.where(
            ev["reason"] == REASON_CODES.index("first_remit"),
            REASON_CODES.index("reviewed"),
            ev["reason"],
        )
    entries, per_claim, entry_procs = build_entries(ledger, batch, ev, actor, note, when)
    while True:
        try:
            new_ledger = (
                ledger.append_located(entries, entry_procs, at=when)
                if entries.num_rows
                else ledger
            )
            break
        except MovementError as exc:
            if review:  # a reviewer's single remit: say why it cannot post
                raise
            # A remit that would leave open PR above a balance (after a manual
            # write-off, say) is flagged like a negative balance; the remits before
            # it, and the ones after it that stay within the caps, post.
            refs = remits_over_caps(ledger, entries, exc.rows).cast(pa.string())
            bad = bool_array(pc.is_in(batch.remit_id, value_set=refs))
            posted = np.isin(ev["reason"], [REASON_CODES.index("first_remit"),
                                            REASON_CODES.index("reversal")])  # fmt: skip
            ev["reason"] = np.where(
                bad & posted, REASON_CODES.index("negative_balance"), ev["reason"]
            )
            entries, per_claim, entry_procs = build_entries(ledger, batch, ev, actor, note, when)
    appended = new_ledger.entries.slice(ledger.entries.num_rows)
    decisions = decisions_table(batch, ev, per_claim, when, actor, note)
    return PostResult(new_ledger, decisions, appended)


def archive_decisions(batch: Batch, *, at=None, actor: str, note: str) -> pa.Table:
    """Decision rows archiving every claim of a batch on a reviewer's word.

    Parameters
    ----------
    batch : Batch
        ``ledgerkit.posting.batch.flatten(remittances)``.
    at : datetime, optional
        ``decided_at`` (now when omitted).
    actor, note : str
        Who archives, and why.

    Returns
    -------
    pyarrow.Table
        One row per claim (``DECISIONS_SCHEMA``): decision ``archived``, reason
        ``reviewed_archive``, no entries.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit.posting.batch import flatten
    >>> batch = flatten(lk.synth.remittances(lk.synth.generate(5, seed=2)))
    >>> rows = archive_decisions(batch, actor="ana", note="paid by check")
    >>> pc.unique(rows["reason_code"]).to_pylist()
    ['reviewed_archive']
    """
    n = batch.n
    ev = {
        "order": np.arange(n),
        "reason": np.full(n, REASON_CODES.index("reviewed_archive")),
        "seq": np.zeros(n, np.int8),
    }
    return decisions_table(batch, ev, np.zeros(n, np.int64), _now(at), actor, note)


@freed_memory_reused()
def post(
    ledger: Ledger,
    remittances,
    *,
    policy=None,
    at: dt.datetime | None = None,
    actor: str = ENGINE_ACTOR,
    note: str | None = None,
    payer_map=None,
) -> PostResult:
    """Post a batch of 835 remittances into a ledger.

    Parameters
    ----------
    ledger : Ledger
        The ledger to post into (unchanged; the result holds the new one).
    remittances : ledgerkit.x12.Remittances, or what ``read_835`` reads
        The batch: ``Remittances`` or 835 bytes, a file, a folder or a list.
    policy : CarcPolicy, optional
        Decides which adjustments lower the balance (``ledger.policy``).
    at : datetime, optional
        ``posted_at`` of the new entries and ``decided_at`` (now when omitted).
    actor, note : str
        Recorded on every entry and decision.
    payer_map : mapping, PayerMap or path, optional
        File payer id or name -> the ledger's payer id (see
        :func:`ledgerkit.x12.read_835`), for remits whose file names the payer
        without the ledger's id; without it they are flagged
        ``payer_not_in_coverage``.

    Returns
    -------
    PostResult
        ``ledger``, ``decisions`` (one row per claim) and ``entries``.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit.x12.from_ledger import remittances_from_ledger
    >>> full = lk.synth.generate(300, seed=4)
    >>> import pyarrow.compute as pc
    >>> base = lk.Ledger.from_arrow(full.encounters, full.procedures,
    ...     full.entries.filter(pc.not_equal(full.entries["source"].cast("string"), "remit")),
    ...     full.payers)
    >>> result = post(base, remittances_from_ledger(full))
    >>> result.counts()["flagged"][0]
    0
    >>> post(result.ledger, remittances_from_ledger(full)).entries.num_rows  # idempotent
    0
    """
    batch = flatten(as_remittances(remittances, payer_map))
    return post_batch(ledger, batch, policy=policy, at=at, actor=actor, note=note)
