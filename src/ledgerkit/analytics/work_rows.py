"""Worklist rows: gathered, ranked and put in words; the underpaid rows of contracts.

``worklist(contracts=...)`` adds underpaid rows.

An underpaid row (reason ``"underpaid"``) is one encounter with underpaid
lines (:func:`ledgerkit.underpaid_lines`, reached through the contracts' own
``underpaid_lines`` method: the contracts sit above the analytics):

at stake
    the encounter's recoverable cents (the shortfalls of its underpaid lines);
line, group, CARC
    the line with the largest shortfall, CO-45 (the write-down beyond the
    contract), category ``contractual``, next action ``appeal``;
deadline
    the appeal window of the primary payer: its first remit date on the claim
    + the payer's ``appeal_days`` (as for denials appealed);
likelihood
    the smoothed overturn rate of the payer x CARC 45 cell (no CO-45 is ever a
    denial, so it is the category's rate: see ``overturn_history``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.analytics.derived import derived
from ledgerkit.analytics.facts import NO_DAY
from ledgerkit.core.arrow import codes_in, dates_of, day_numbers, numpy_array, plain
from ledgerkit.core.catalog import ACTIONS, CATEGORIES
from ledgerkit.core.ledger import DEFAULT_APPEAL_DAYS

__all__ = ["WorkRows", "ranked_table", "underpaid_rows"]


@dataclass
class WorkRows:
    """Worklist rows, unordered: per row its encounter and every figure the columns need."""

    enc: np.ndarray
    cls: pa.Array
    payer: pa.Array
    seq: np.ndarray
    line: pa.Array
    group: pa.Array
    carc: pa.Array
    category: np.ndarray
    action: np.ndarray
    at_stake: np.ndarray
    payer_balance: np.ndarray
    service: np.ndarray
    denial_day: np.ndarray
    resubmit: np.ndarray
    deadline: np.ndarray
    days_left: np.ndarray
    n_hist: np.ndarray
    k_hist: np.ndarray
    likelihood: np.ndarray
    underpaid: np.ndarray | None = None  # bool: an underpaid row
    why: pa.Array | None = None  # the sentence of underpaid rows (null elsewhere)

    def __post_init__(self):
        n = len(self.enc)
        if self.underpaid is None:
            self.underpaid = np.zeros(n, bool)
        if self.why is None:
            self.why = pa.nulls(n, pa.string())

    def concat(self, other: WorkRows) -> WorkRows:
        """These rows, then ``other``'s (Arrow columns take this one's types)."""
        out = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray):
                out[f.name] = np.concatenate([a, np.asarray(b, a.dtype)])
            else:
                a = _array(a)
                out[f.name] = pa.concat_arrays([a, _array(b).cast(a.type)])
        return WorkRows(**out)


def _array(a) -> pa.Array:
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


def underpaid_rows(
    ledger,
    lines: pa.Table,
    *,
    classes,
    payer_balance,
    today: int,
    history,
    carc_values,
    policy=None,
) -> WorkRows:
    """One :class:`WorkRows` row per encounter of the underpaid ``lines``.

    ``lines`` is :func:`ledgerkit.underpaid_lines`'s table (largest shortfall
    first); ``classes`` and ``payer_balance`` are ``classify``'s columns (per
    encounter), ``today`` a day number, ``history`` ``overturn_history``'s
    ``(p, n, k)`` and ``carc_values`` its CARC columns.
    """
    enc_of = codes_in(lines["encounter_id"], plain(ledger.encounters["encounter_id"]))
    if (enc_of < 0).any():
        raise ValueError("underpaid lines name an encounter the ledger does not have")
    shortfall = numpy_array(lines["shortfall_cents"], dtype=np.int64)
    # per encounter: its lines together, the largest shortfall first (ties: table order)
    order = np.lexsort((np.arange(len(enc_of)), -shortfall, enc_of))
    enc_sorted = enc_of[order]
    first = np.ones(len(order), bool)
    first[1:] = enc_sorted[1:] != enc_sorted[:-1]
    starts = np.flatnonzero(first)
    top = order[starts]
    enc = enc_sorted[starts]
    recoverable = (
        np.add.reduceat(shortfall[order], starts) if len(order) else np.zeros(0, np.int64)
    )
    n_lines = np.diff(np.append(starts, len(order)))

    take = pa.array(top, pa.int64())
    payer = _array(lines["payer_id"].take(take)).cast(pa.string())
    payers = ledger.payers
    pay_idx = codes_in(payer, pa.array(payers["payer_id"].to_pylist(), pa.string()))
    pay_idx = np.where(pay_idx >= 0, pay_idx, payers.num_rows)
    appeal_days = np.append(
        numpy_array(payers["appeal_days"], dtype=np.int64), DEFAULT_APPEAL_DAYS
    )[pay_idx]
    service = day_numbers(ledger.encounters["service_date"]).astype(np.int64)[enc]
    remit_day = first_remit_day(ledger, enc, policy)
    deadline = remit_day + appeal_days
    p, hist_n, hist_k = history
    carc45 = list(carc_values).index("45") if "45" in carc_values else len(carc_values)
    n = len(enc)
    line = _array(lines["line"].take(take))
    allowed = numpy_array(lines["allowed_cents"], dtype=np.int64)[top]
    expected = numpy_array(lines["expected_allowed_cents"], dtype=np.int64)[top]
    why = [
        f"underpaid: line {ln} by {py}: allowed ${a / 100:,.2f} against ${e / 100:,.2f} "
        f"by contract row {row}; ${r / 100:,.2f} recoverable on {k} line{'s' * (k > 1)}; "
        f"appeal by {np.datetime64(int(d), 'D')} ({int(d) - today} days)"
        for ln, py, a, e, row, r, k, d in zip(
            line.to_pylist(),
            payer.to_pylist(),
            allowed.tolist(),
            expected.tolist(),
            lines["contract_row"].take(take).to_pylist(),
            recoverable.tolist(),
            n_lines.tolist(),
            deadline.tolist(),
            strict=True,
        )
    ]
    return WorkRows(
        enc=enc,
        cls=_array(classes).take(pa.array(enc)),
        payer=payer,
        seq=np.ones(n, np.int64),
        line=line,
        group=pa.array(["CO"] * n, pa.string()),
        carc=pa.array(["45"] * n, pa.string()),
        category=np.full(n, CATEGORIES.index("contractual")),
        action=np.full(n, ACTIONS.index("appeal")),
        at_stake=recoverable.astype(np.int64),
        payer_balance=np.asarray(payer_balance)[enc],
        service=service,
        denial_day=remit_day,
        resubmit=np.zeros(n, bool),
        deadline=deadline,
        days_left=deadline - today,
        n_hist=hist_n[pay_idx, carc45],
        k_hist=hist_k[pay_idx, carc45],
        likelihood=p[pay_idx, carc45],
        underpaid=np.ones(n, bool),
        why=pa.array(why, pa.string()),
    )


def first_remit_day(ledger, enc: np.ndarray, policy=None) -> np.ndarray:
    """The primary's first remit day of encounters ``enc`` (the service day when none)."""
    f = derived(ledger, policy).facts
    first = f.enc_first_day[enc, 1].astype(np.int64)
    service = day_numbers(ledger.encounters["service_date"]).astype(np.int64)[enc]
    return np.where(first != NO_DAY, first, service)


def ranked_table(
    r: WorkRows, ledger, w: dict, horizon_days: int, *, with_reason: bool
) -> pa.Table:
    """Priority, order and the output columns of the worklist rows ``r``."""
    enc, at_stake, days_left, likelihood = r.enc, r.at_stake, r.days_left, r.likelihood
    # Priority.
    dollars = at_stake / 100.0
    top = np.log1p(dollars.max()) if len(dollars) else 1.0
    value = np.log1p(dollars) / top if top > 0 else np.zeros(len(enc))
    urgency = np.where(
        days_left < 0, 0.0, 1.0 - np.minimum(days_left, horizon_days) / horizon_days
    )
    priority = w["value"] * value + w["deadline"] * urgency + w["likelihood"] * likelihood

    enc_ids = ledger.encounters["encounter_id"].take(pa.array(enc)).combine_chunks()
    # Ties: more at stake, fewer days left, then ledger order (denials before
    # underpayments of the same encounter).
    order = np.lexsort((r.underpaid, enc, days_left, -at_stake, -priority))
    take = pa.array(order)
    out = {
        "rank": pa.array(np.arange(1, len(enc) + 1), pa.int64()),
        "encounter_id": enc_ids.take(take),
        "class": r.cls.take(take),
    }
    if with_reason:
        out["reason"] = pa.array(np.where(r.underpaid[order], "underpaid", "denial"), pa.string())
    out |= {
        "payer_id": r.payer.take(take),
        "payer_seq": pa.array(r.seq[order].astype(np.int8)),
        "line": r.line.take(take),
        "group_code": r.group.take(take),
        "carc": r.carc.take(take),
        "category": pa.array(CATEGORIES).take(pa.array(r.category[order])),
        "next_action": pa.array(ACTIONS).take(pa.array(r.action[order])),
        "at_stake_cents": pa.array(at_stake[order]),
        "payer_balance_cents": pa.array(r.payer_balance[order]),
        "service_date": dates_of(r.service[order]),
        "denial_date": dates_of(r.denial_day[order]),
        "deadline_kind": pa.array(
            np.where(r.resubmit[order], "timely_filing", "appeal").astype(object), pa.string()
        ),
        "deadline": dates_of(r.deadline[order]),
        "days_left": pa.array(days_left[order]),
        "expired": pa.array(days_left[order] < 0),
        "history_denied": pa.array(r.n_hist[order]),
        "history_overturned": pa.array(r.k_hist[order]),
        "likelihood": pa.array(likelihood[order]),
        "value_score": pa.array(value[order]),
        "urgency_score": pa.array(urgency[order]),
        "priority": pa.array(priority[order]),
    }
    why = _why(out)
    if with_reason and r.underpaid.any():
        why = pc.if_else(pa.array(r.underpaid[order]), r.why.take(take), why)
    out["why"] = why
    return pa.table(out)


def _why(c: dict) -> pa.Array:
    """One sentence per row from the row's own columns (vectorised)."""
    s = pa.string()

    def txt(a):
        return pc.cast(a, s)

    cents = c["at_stake_cents"]
    dollars = txt(pc.divide(cents, 100))
    rest = pc.utf8_lpad(
        txt(pc.abs(pc.subtract(cents, pc.multiply(pc.divide(cents, 100), 100)))), 2, "0"
    )
    pct = txt(pc.round(pc.multiply(c["likelihood"], 100), 0).cast(pa.int64()))
    reason = pc.binary_join_element_wise(
        pc.fill_null(c["group_code"], "?"), pc.fill_null(c["carc"], "none"), "-"
    )
    parts = [
        c["class"],
        ": ",
        reason,
        " (",
        c["category"],
        ") on line ",
        pc.fill_null(txt(c["line"]), "?"),
        " by ",
        pc.fill_null(c["payer_id"], "?"),
        "; $",
        dollars,
        ".",
        rest,
        " at stake; ",
        c["next_action"],
        " by ",
        txt(c["deadline"]),
        " (",
        txt(c["days_left"]),
        " days, ",
        c["deadline_kind"],
        "); ",
        pct,
        "% likely (",
        txt(c["history_overturned"]),
        "/",
        txt(c["history_denied"]),
        " overturned for this payer and CARC)",
    ]
    parts = [p if isinstance(p, pa.Array | pa.ChunkedArray) else pa.scalar(p) for p in parts]
    return pc.binary_join_element_wise(*parts, "")
