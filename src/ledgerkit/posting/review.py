"""Review actions: what a person does with flagged remits in the posting review.

Every action names an ``actor`` and a ``note`` and is appended, never applied
in place: ``post_flagged`` appends the remit's entries (``source="remit"``,
``remit_ref`` = the remit id, actor and note), ``negate`` and ``adjust``
append manual entries, ``archive`` records a decision. A flagged remit stays
stored (``LedgerStore``) until one of these resolves it.

These functions work on an in-memory :class:`~ledgerkit.Ledger`;
:class:`ledgerkit.LedgerStore` has the same actions, committed durably.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.core.ledger import Ledger
from ledgerkit.core.limits import check_actor
from ledgerkit.errors import LedgerError
from ledgerkit.posting.batch import flatten, select_remits
from ledgerkit.posting.decide import procedure_state
from ledgerkit.posting.engine import PostResult, archive_decisions, as_remittances, post_batch
from ledgerkit.posting.reasons import REASONS

__all__ = ["post_flagged", "archive", "negate", "adjust", "procedure_balance"]

ADJUST_KINDS = ("write_off", "transfer_to_pr")


def _who(actor, note, action: str = "review") -> None:
    check_actor(actor, note, action)


def _ledger_payer(ledger: Ledger, payer_id) -> str:
    if not isinstance(payer_id, str) or not payer_id.strip():
        raise LedgerError(f"payer_id must be a non-empty string, got {payer_id!r}")
    payer_id = payer_id.strip()
    if not pc.any(pc.equal(ledger.payers["payer_id"], payer_id)).as_py():
        raise LedgerError(f"payer_id {payer_id!r} is not a payer of this ledger")
    return payer_id


def _one_remit(remittances, remit_id: str):
    sel = select_remits(as_remittances(remittances), remit_id)
    if sel.claims.num_rows == 0:
        raise LedgerError(f"no remit with id {remit_id!r} in the remittances given")
    if sel.claims.num_rows > 1:  # the same remit sent twice: keep the first
        first = sel.claims.slice(0, 1)
        sel.claims = first
        cid = first["claim_id"].combine_chunks()
        for name in ("service_lines", "adjustments", "remarks"):
            t = getattr(sel, name)
            setattr(sel, name, t.filter(pc.is_in(t["claim_id"], value_set=cid)))
    return sel


def post_flagged(
    ledger: Ledger,
    remittances,
    remit_id: str,
    *,
    actor: str,
    note: str,
    claim_level_line: int | None = None,
    at: dt.datetime | None = None,
    policy=None,
    payer_id: str | None = None,
) -> PostResult:
    """Post a flagged remit on a person's decision.

    A conflict with an earlier remit of the same payer, or a remit that does not
    balance in itself, is posted as the reviewer decided. What cannot be posted
    is refused: a remit already posted, one that matches no encounter,
    procedure or coverage, or one that would make a balance negative (negate
    the earlier entries first). Claim-level amounts on an encounter with
    several procedures go to ``claim_level_line``.

    ``payer_id`` posts the remit as from that ledger payer (a remit flagged
    ``payer_not_in_coverage`` because its file names the payer without the
    ledger's id): it must be a payer of the ledger and of the encounter's
    coverage. The remit keeps its ``remit_id``.

    Returns
    -------
    PostResult
        With one decision row (``reviewed``, or ``reversal`` for a status-22 remit).

    Raises
    ------
    LedgerError
        Missing actor or note, unknown remit id, or a remit that cannot be posted
        (the message gives the reason code and what to do).
    """
    _who(actor, note)
    batch = flatten(_one_remit(remittances, remit_id))
    if payer_id is not None:
        batch.payer_id = pa.array([_ledger_payer(ledger, payer_id)] * batch.n, pa.string())
    result = post_batch(
        ledger, batch, policy=policy, at=at, actor=actor, note=note, review=True,
        claim_level_line=claim_level_line,
    )  # fmt: skip
    code = result.decisions["reason_code"][0].as_py()  # one claim: _one_remit keeps one
    if code not in ("reviewed", "reversal"):
        raise LedgerError(f"remit {remit_id}: cannot post ({code}): {REASONS[code][1]}")
    return result


def archive(
    remittances, remit_id: str, *, actor: str, note: str, at: dt.datetime | None = None
) -> pa.Table:
    """The decision row that archives a remit (no entries change).

    Returns
    -------
    pyarrow.Table
        One row of ``posting.DECISIONS_SCHEMA`` with decision ``archived`` and
        reason code ``reviewed_archive``.
    """
    _who(actor, note)
    batch = flatten(_one_remit(remittances, remit_id))
    return archive_decisions(batch, at=at, actor=actor, note=note)


def negate(ledger: Ledger, entry_ids, *, actor: str, note: str, at=None) -> Ledger:
    """Negate entries (``Ledger.negate`` with a required actor and note).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(20, seed=1)
    >>> later = negate(ledger, [2], actor="ana", note="posted to the wrong encounter")
    >>> later.entries.num_rows - ledger.entries.num_rows
    1
    """
    return ledger.negate(entry_ids, actor=actor, note=note, at=at)


def procedure_balance(ledger: Ledger, encounter_id: str, line: int) -> int:
    """Balance of one procedure, in cents (charge - paid - patient_paid - contractual
    - written_off)."""
    keys = ledger.keys
    enc = pc.index(ledger.encounters["encounter_id"], encounter_id).as_py()
    if enc < 0:
        # the id is not repeated: encounter ids are claim ids that may identify a patient
        raise LedgerError("adjust: the encounter_id given is not an encounter of the ledger")
    s, e = keys.enc_proc_start[enc], keys.enc_proc_start[enc + 1]
    hit = np.flatnonzero(keys.proc_line[s:e] == int(line))
    if not len(hit):
        raise LedgerError(f"adjust: the encounter given has no procedure line {line}")
    procs = np.array([s + hit[0]], np.int64)
    return int(procedure_state(ledger, ledger.policy, procs)[0][0])


def adjust(
    ledger: Ledger,
    encounter_id: str,
    line: int,
    amount_cents: int,
    *,
    kind: str,
    group_code: str,
    carc: str,
    payer_seq: int,
    actor: str,
    note: str,
    at=None,
) -> Ledger:
    """Write off or transfer to PR part of one procedure, with group code and reason.

    Parameters
    ----------
    kind : {"write_off", "transfer_to_pr"}
    group_code, carc : str
        Why, e.g. ``"CO"``, ``"A2"`` (write-off) or ``"PR"``, ``"204"`` (to PR).
    payer_seq : int
        Whose balance it is (1..3 a payer, 0 the patient's PR).

    Raises
    ------
    LedgerError
        Unknown kind, an amount that is not a positive integer, or more than the
        procedure has open (DOMAIN.md, Settled question 3): a transfer to PR
        above the payer balance (balance - open PR), a write-off above the payer
        balance (``payer_seq`` 1..3) or the open PR (``payer_seq`` 0). The
        message gives the cap in cents; ``ledgerkit.core.limits.procedure_caps``
        lists every procedure's caps.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(20, seed=1)
    >>> from ledgerkit.core.limits import procedure_caps
    >>> enc = ledger.encounters["encounter_id"][0].as_py()
    >>> cap = procedure_caps(ledger)["write_off_cap"][0].as_py()  # its line 1: payer balance
    >>> later = adjust(ledger, enc, 1, cap, kind="write_off", group_code="CO", carc="A2",
    ...                payer_seq=1, actor="ana", note="small balance") if cap else ledger
    >>> procedure_caps(later)["write_off_cap"][0].as_py()
    0
    """
    _who(actor, note, "adjust")
    if kind not in ADJUST_KINDS:
        raise LedgerError(f"adjust: kind must be one of {ADJUST_KINDS}, got {kind!r}")
    if isinstance(amount_cents, (bool, np.bool_)) or not isinstance(
        amount_cents, (int, np.integer)
    ):
        raise LedgerError(
            f"adjust: amount_cents must be an integer number of cents, got {amount_cents!r}"
        )
    if int(amount_cents) <= 0:
        raise LedgerError("adjust: amount_cents must be > 0 (undo with negate instead)")
    row = {
        "encounter_id": [encounter_id],
        "line": pa.array([int(line)], pa.int32()),
        "payer_seq": pa.array([int(payer_seq)], pa.int8()),
        "kind": [kind],
        "group_code": [group_code],
        "carc": [carc],
        "amount_cents": pa.array([int(amount_cents)], pa.int64()),
        "source": ["manual"],
        "actor": [actor],
        "note": [note],
    }
    return ledger.append(row, at=at)
