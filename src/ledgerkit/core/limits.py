"""Limits at the ledger boundary: amounts, sums, signs, coverage and capped movements.

DOMAIN.md, Settled question 3: a ``transfer_to_pr`` moves at most the payer
balance (balance - open PR) of its procedure; a write-off at most the balance,
its payer part (``payer_seq`` 1..3) or its PR part (``payer_seq`` 0). Open PR
never exceeds the balance, and a balance below 0 (a credit) is refused unless
the caller says ``allow_credit=True``.

Every check is vectorised or a kernel (``_kernels.limits``) over the procedures
a batch touches; every error is a :class:`LedgerError` naming the row, the
column and the cap, in cents. Amounts may be quoted; patient identifiers never.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ledgerkit._kernels import codes as C
from ledgerkit._kernels import limits as K
from ledgerkit._kernels.balances import F_BALANCE, F_OPEN_PR, FIGURES, procedure_balances_nb
from ledgerkit.core.arrow import codes_in, int_array, valid_array
from ledgerkit.core.keys import LedgerKeys, dense_unique, entry_buckets, kind_codes
from ledgerkit.core.schema import KINDS
from ledgerkit.errors import LedgerError

__all__ = [
    "MAX_ENTRY_CENTS",
    "MovementError",
    "check_actor",
    "check_amounts",
    "check_signs",
    "check_sums",
    "check_coverage",
    "check_movements",
    "check_history",
    "procedure_caps",
    "dollars",
    "entry_ids",
]

# 2**53: every amount is exact as a float too (pandas, JSON), and 1,024 of them
# on one procedure still sum within int64.
MAX_ENTRY_CENTS = 2**53

_SIGNED_KINDS = ("charge",)  # never negative unless a negation


class MovementError(LedgerError):
    """A batch moves more than is open (or leaves a credit balance).

    ``rows`` are the batch rows on every procedure at fault (not only the one
    the message names), so a caller can set those entries aside (the posting
    engine flags their remits ``negative_balance``).
    """

    def __init__(self, message: str, rows: np.ndarray):
        super().__init__(message)
        self.rows = rows


def dollars(cents: int) -> str:
    """``-2500`` -> ``'-$25.00'`` (cents are exact; no float on the way)."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign}${whole:,}.{part:02d}"


def check_actor(actor, note, action: str) -> None:
    """Refuse a change by a person without an actor (who) or a note (why)."""
    if actor is None or not isinstance(actor, str) or not actor.strip():
        raise LedgerError(f"{action}: needs an actor (who does this), got {actor!r}")
    if note is None or not isinstance(note, str) or not note.strip():
        raise LedgerError(f"{action}: needs a note (why)")


def check_amounts(entries: pa.Table) -> None:
    """Refuse any entry whose absolute amount exceeds :data:`MAX_ENTRY_CENTS`."""
    amounts = int_array(entries["amount_cents"], np.int64)
    bad = np.flatnonzero((amounts > MAX_ENTRY_CENTS) | (amounts < -MAX_ENTRY_CENTS))
    if len(bad):
        raise LedgerError(amount_message(int(bad[0]), int(amounts[bad[0]])))


def amount_message(row: int, amount: int) -> str:
    """The words of an amount beyond :data:`MAX_ENTRY_CENTS` on entries row ``row``."""
    return (
        f"entries row {row}, column 'amount_cents': {amount} cents is beyond "
        f"the limit of +/-2**53 ({MAX_ENTRY_CENTS}) cents per entry"
    )


def check_signs(entries: pa.Table) -> None:
    """Refuse negative charges that are not negations.

    A charge is reduced by negating it and posting the corrected charge, so the
    history shows both (DOMAIN.md, "The ledger is append-only").
    """
    amounts = int_array(entries["amount_cents"], np.int64)
    kind = kind_codes(entries)
    signed = np.isin(kind, [KINDS.index(k) for k in _SIGNED_KINDS])
    bad = np.flatnonzero(signed & (amounts < 0) & ~valid_array(entries["negates"]))
    if len(bad):
        row = int(bad[0])
        raise LedgerError(sign_message(row, KINDS[kind[row]], int(amounts[row])))


def sign_message(row: int, kind: str, amount: int) -> str:
    """The words of a negative ``kind`` entry (not a negation) on entries row ``row``."""
    return (
        f"entries row {row}, column 'amount_cents': a {kind} of {dollars(amount)} "
        f"is negative; to reduce or undo a {kind}, negate it (Ledger.negate) and post "
        "the corrected entry"
    )


def check_sums(keys: LedgerKeys, procs: np.ndarray | None = None, row_offset: int = 0) -> None:
    """Refuse a ledger where a procedure's entries could overflow an int64 sum.

    ``procs`` (grouped positions; all when omitted) limits the check to the
    procedures a batch touches; ``row_offset`` is subtracted from the row named.
    """
    if procs is None:
        procs = np.arange(keys.n_procedures, dtype=np.int64)
    first_bad = np.empty(len(procs), np.int64)
    K.sum_overflow_nb(procs, keys.amounts, keys.proc_entry_start, first_bad)
    hit = first_bad[first_bad >= 0]
    if len(hit):
        row = int(keys.entry_rows(hit).min()) - row_offset
        raise LedgerError(
            f"entries row {row}, column 'amount_cents': the absolute amounts of its "
            "procedure add up beyond int64 (9,223,372,036,854,775,807 cents); its sums "
            "would overflow"
        )


def check_coverage(
    encounters, payers, entries, entry_enc: np.ndarray, row_offset=0, encounter_rows=None
) -> None:
    """Each payer entry names its encounter's payer for that payer_seq; each encounter's
    payers exist in ``payers``.

    ``entry_enc`` is the encounter position of each entries row; ``row_offset`` is
    subtracted from the row named (a batch appended to a ledger). ``encounters`` may
    be some rows of the encounters table (those a batch touches): ``encounter_rows``
    are their rows in it, for messages.
    """
    payer_ids = payers["payer_id"].combine_chunks()
    coverage = np.full((len(encounters), 4), -1, np.int64)
    for k in (1, 2, 3):
        col = encounters[f"payer{k}_id"]
        pos = codes_in(col, payer_ids) if len(col) else np.empty(0, np.int64)
        present = valid_array(col)
        missing = np.flatnonzero(present & (pos < 0))
        if len(missing):
            row = int(missing[0]) if encounter_rows is None else int(encounter_rows[missing[0]])
            raise LedgerError(
                f"encounters row {row}, column 'payer{k}_id': payer "
                f"{col[int(missing[0])].as_py()!r} is not in the payers table"
            )
        coverage[:, k] = np.where(present, pos, -2)  # -2: no payer at this seq
    if entries.num_rows == 0:
        return
    seq = int_array(entries["payer_seq"], np.int8)
    named = codes_in(entries["payer_id"], payer_ids)
    named = np.where(valid_array(entries["payer_id"]), named, -3)
    r = int(K.coverage_mismatch_nb(np.asarray(entry_enc), seq, named, coverage))
    if r >= 0:  # (one pass, no coverage gathered per row)
        k = int(seq[r])
        expected = int(coverage[entry_enc[r], k])
        if expected == -2:
            why = f"its encounter has no payer {k} (payer{k}_id is empty)"
        else:
            why = (
                f"payer {entries['payer_id'][r].as_py()!r} is not its encounter's payer "
                f"{k} ({payers['payer_id'][expected].as_py()!r})"
            )
        raise LedgerError(f"entries row {r + row_offset}, column 'payer_id': {why}")


def _subset_codes(keys: LedgerKeys, entries: pa.Table, policy, procs: np.ndarray):
    """Packed codes, amounts and CSR offsets of the entries of ``procs`` only (grouped),
    for keys without packed codes under ``policy`` at hand (computed for those only)."""
    starts = keys.proc_entry_start[procs]
    ends = keys.proc_entry_start[procs + 1]
    sizes = ends - starts
    local_start = np.zeros(len(procs) + 1, np.int64)
    np.cumsum(sizes, out=local_start[1:])
    grouped = np.repeat(starts - local_start[:-1], sizes) + np.arange(local_start[-1])
    rows = keys.entry_rows(grouped)
    needed = entries.select(["kind", "payer_seq", "group_code", "carc"])
    bucket = entry_buckets(needed.take(pa.array(rows)), policy)
    codes = C.pack_code(bucket, keys.entry_seq[grouped], keys.entry_live[grouped].astype(np.int8))
    return codes, keys.amounts[grouped], local_start, grouped


def check_movements(
    keys: LedgerKeys,
    entries: pa.Table,
    policy,
    first_new_row: int,
    *,
    allow_credit: bool = False,
    touched: tuple | None = None,
) -> None:
    """Check the entries from row ``first_new_row`` on against the caps (Settled question 3).

    Each new transfer or write-off is checked, in posting order, against the
    state the entries before it leave: a transfer to PR or a payer write-off
    moves at most the payer balance, a PR write-off at most the open PR. The new
    entries of a procedure together may not leave open PR above the balance, nor
    the balance below 0 unless ``allow_credit`` (where it was not so before).
    ``touched``: ``dense_unique`` of the new rows' procedures, when the caller has it.
    """
    new_rows = np.arange(first_new_row, entries.num_rows)
    if not len(new_rows):
        return
    if first_new_row == 0:  # the whole history: every procedure, the cached codes
        procs = np.arange(keys.n_procedures, dtype=np.int64)
        n_new = np.diff(keys.proc_entry_start)
        codes, amounts = keys.packed_codes(entries, policy), keys.amounts
        local_start, grouped, visit = keys.proc_entry_start, None, procs
    else:
        if touched is None:
            touched = dense_unique(keys.entry_proc[new_rows], keys.n_procedures)
        procs, slot = touched
        n_new = np.bincount(slot, minlength=len(procs))
        cached = keys.cached_packed_codes(policy)  # Ledger.append carries them when it can
        if cached is not None:  # read in place (no copy of the touched entries)
            codes, amounts, local_start = cached, keys.amounts, keys.proc_entry_start
            grouped, visit = None, procs
        else:
            codes, amounts, local_start, grouped = _subset_codes(keys, entries, policy, procs)
            visit = np.arange(len(procs), dtype=np.int64)  # the subset's own procedures
    enc_of_proc = keys.procedure_encounters()[procs]
    self_pay = keys.enc_n_payers[enc_of_proc] == 0
    found = np.empty((len(procs), 4), np.int64)
    K.movement_problems_nb(
        visit, n_new, codes, amounts, local_start, self_pay, bool(allow_credit), found
    )
    hit = np.flatnonzero(found[:, 0] >= 0)
    if not len(hit):
        return
    at = found[hit, 0]  # grouped positions (of the subset's entries when copied)
    rows = keys.entry_rows(at if grouped is None else grouped[at])
    first = int(np.argmin(rows))
    u = hit[first]
    at_fault = np.isin(keys.entry_proc[first_new_row:], procs[hit])
    raise MovementError(
        _movement_message(
            int(rows[first]) - first_new_row,
            int(found[u, 1]),
            int(amounts[found[u, 0]]),
            int(found[u, 2]),
            int(found[u, 3]),
        ),
        np.flatnonzero(at_fault),
    )


def _movement_message(row: int, problem: int, amount: int, cap: int, open_pr: int) -> str:
    where = f"entries row {row}, column 'amount_cents': "
    if problem == K.TRANSFER_OVER_CAP:
        return where + (
            f"a transfer_to_pr of {dollars(amount)} exceeds the payer balance of its "
            f"procedure; it can move at most {cap} cents ({dollars(cap)}; open PR is "
            f"already {dollars(open_pr)})"
        )
    if problem == K.WRITE_OFF_OVER_CAP:
        return where + (
            f"a write-off of {dollars(amount)} exceeds the payer balance of its procedure; "
            f"it can write off at most {cap} cents ({dollars(cap)}; open PR "
            f"{dollars(open_pr)} is written off with payer_seq 0)"
        )
    if problem == K.PR_WRITE_OFF_OVER_CAP:
        return where + (
            f"a PR write-off (payer_seq 0) of {dollars(amount)} exceeds the open PR of its "
            f"procedure; it can write off at most {cap} cents ({dollars(cap)})"
        )
    if problem == K.CREDIT:
        return where + (
            f"this entry ({dollars(amount)}; the last of the batch on its procedure) would "
            f"leave the procedure at a credit of {dollars(-cap)} (balance {dollars(cap)}); "
            "credit balances are refused unless allow_credit=True"
        )
    return where + (
        f"this entry ({dollars(amount)}; the last of the batch on its procedure) would "
        f"leave open PR ({dollars(open_pr)}) above the balance ({dollars(cap)}) of the "
        "procedure; open PR can never exceed the balance"
    )


def check_history(ledger, *, allow_credit: bool = False) -> None:
    """Replay every entry of ``ledger`` through :func:`check_movements` (all rows new).

    For data loaded from elsewhere, and for synthetic ledgers in tests: it raises on
    the first over-cap movement, open PR above a balance, or (unless
    ``allow_credit``) credit balance, in posting order.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> check_history(lk.synth.generate(200, seed=1), allow_credit=True)
    """
    check_movements(ledger.keys, ledger.entries, ledger.policy, 0, allow_credit=allow_credit)


def procedure_caps(ledger, policy=None) -> pa.Table:
    """The most each movement can move on each procedure now, in cents.

    Returns
    -------
    pyarrow.Table
        ``encounter_id``, ``line``, ``balance``, ``open_pr``, ``transfer_to_pr_cap`` (the
        payer balance, balance - open PR), ``write_off_cap`` (the payer balance, at most
        the balance: payer_seq 1..3), ``pr_write_off_cap`` (open PR, at most the
        balance: payer_seq 0), all floored at 0, and ``credit`` (-balance where the
        balance is below 0, else 0). Grouped order (by encounter, line). Rules cap
        their proposals to these (DOMAIN.md, Settled question 3).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> caps = procedure_caps(lk.synth.generate(20, seed=1))
    >>> bool((caps["transfer_to_pr_cap"].to_numpy() >= 0).all())
    True
    """
    policy = policy or ledger.policy
    keys = ledger.keys
    n_proc = keys.n_procedures
    figures = np.empty((len(FIGURES), n_proc), np.int64)
    procedure_balances_nb(
        keys.packed_codes(ledger.entries, policy),
        keys.amounts,
        keys.enc_proc_start,
        keys.proc_entry_start,
        keys.enc_n_payers,
        figures,
        np.empty(n_proc, np.int8),
    )
    balance = figures[F_BALANCE]
    open_pr = figures[F_OPEN_PR]
    payer_balance = np.maximum(balance - open_pr, 0)
    write_off_cap = np.maximum(np.minimum(balance - open_pr, balance), 0)
    rows = keys.proc_rows(np.arange(n_proc))
    return pa.table(
        {
            "encounter_id": ledger.procedures["encounter_id"].take(pa.array(rows)),
            "line": pa.array(keys.proc_line),
            "balance": pa.array(balance),
            "open_pr": pa.array(open_pr),
            "transfer_to_pr_cap": pa.array(payer_balance),
            "write_off_cap": pa.array(write_off_cap),
            "pr_write_off_cap": pa.array(np.maximum(np.minimum(open_pr, balance), 0)),
            "credit": pa.array(np.maximum(-balance, 0)),
        }
    )


def entry_ids(ids) -> np.ndarray:
    """Entry ids given to ``negate`` as int64, refusing anything but whole numbers in range."""
    if ids is None:
        raise LedgerError("negate: entry_ids is None; give a list of entry ids (integers)")
    if isinstance(ids, (int, np.integer)) and not isinstance(ids, (bool, np.bool_)):
        ids = [ids]
    if isinstance(ids, (str, bytes, dict)):
        raise LedgerError(f"negate: entry ids must be integers, got a {type(ids).__name__}")
    if isinstance(ids, (pa.Array, pa.ChunkedArray)):
        ids = ids.to_pylist()
    values = list(ids)
    for i, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise LedgerError(
                f"negate: entry id at position {i} is {v!r} ({type(v).__name__}); "
                "entry ids are integers"
            )
        if not (np.iinfo(np.int64).min <= int(v) <= np.iinfo(np.int64).max):
            raise LedgerError(
                f"negate: entry id at position {i} ({int(v)}) is out of range "
                "(entry ids are int64)"
            )
    return np.array([int(v) for v in values], dtype=np.int64)
