"""The payers' payments on some work items' lines, ranged by time: what links
payments to appeals (``appeal_outcomes``) and to work items (``work_items``).
Internal to ``analytics``."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.analytics.balances import balances
from ledgerkit.core.arrow import codes_in, numpy_array

__all__ = ["Payments"]


class Payments:
    """The payers' payment entries on the encounters of some attempts, by line and time,
    and their lines' payer balances."""

    def __init__(self, ledger, encounters):
        self.ledger = ledger
        if ledger is None or not len(encounters):
            return
        ids = ledger.encounters["encounter_id"].cast(pa.string()).combine_chunks()
        self.att_enc = codes_in(encounters, ids)
        e = ledger.entries
        if isinstance(encounters, pa.ChunkedArray):
            encounters = encounters.combine_chunks()
        worked = pc.unique(encounters.cast(pa.string()))
        pick = pc.and_(
            pc.and_(
                pc.equal(e["kind"].cast(pa.string()), "payment"), pc.greater(e["payer_seq"], 0)
            ),
            pc.is_in(e["encounter_id"].cast(pa.string()), value_set=worked),
        )
        e = e.filter(pick)
        enc = codes_in(e["encounter_id"], ids)
        line = numpy_array(e["line"], dtype=np.int64)
        t = numpy_array(e["posted_at"].cast(pa.int64()), dtype=np.int64)
        self.n_line = int(max(line.max() if len(line) else 0,
                              numpy_array(ledger.procedures["line"], dtype=np.int64).max()
                              if ledger.procedures.num_rows else 0)) + 1  # fmt: skip
        # two orders: by (encounter, line, time) and by (encounter, time)
        self.by_line = np.lexsort((t, line, enc))
        self.by_enc = np.lexsort((t, enc))
        self.t, self.enc, self.line = t, enc, line
        self.cents = numpy_array(e["amount_cents"], dtype=np.int64)
        self.ids = numpy_array(e["entry_id"], dtype=np.int64)
        self.refs = e["remit_ref"].cast(pa.string()).combine_chunks()

    def windows(self, line_col, start, end):
        """Per attempt: net cents, latest time, entry ids and remits of the payments on its
        line (its encounter's lines when it names none) posted in (start, end]."""
        k = len(start)
        empty_ids = pa.ListArray.from_arrays(pa.array(np.zeros(k + 1, np.int32)),
                                             pa.array([], pa.int64()))  # fmt: skip
        empty_refs = pa.ListArray.from_arrays(pa.array(np.zeros(k + 1, np.int32)),
                                              pa.array([], pa.string()))  # fmt: skip
        if self.ledger is None or not k:
            return np.zeros(k, np.int64), np.full(k, -1, np.int64), empty_ids, empty_refs
        line = numpy_array(line_col, fill=-1, dtype=np.int64)
        has_line = line >= 0
        enc = self.att_enc
        # (encounter, line) ranges
        o = self.by_line
        base = (self.enc[o] * self.n_line + self.line[o]).astype(np.int64)
        t = self.t[o]
        q = (enc * self.n_line + np.maximum(line, 0)).astype(np.int64)
        lo_l = _search(base, t, q, start)
        hi_l = _search(base, t, q, end)
        # encounter ranges
        o2 = self.by_enc
        lo_e = _search(self.enc[o2].astype(np.int64), self.t[o2], enc, start)
        hi_e = _search(self.enc[o2].astype(np.int64), self.t[o2], enc, end)
        known = enc >= 0
        lo = np.where(has_line, lo_l, lo_e)
        hi = np.where(known, np.where(has_line, hi_l, hi_e), lo)
        rows_line = self.by_line
        rows_enc = self.by_enc
        cum_line = np.r_[0, np.cumsum(self.cents[rows_line])]
        cum_enc = np.r_[0, np.cumsum(self.cents[rows_enc])]
        paid = np.where(has_line, cum_line[hi] - cum_line[lo], cum_enc[hi] - cum_enc[lo])
        paid = np.where(known, paid, 0)
        count = np.where(known, hi - lo, 0)
        # the latest is the last in a range sorted by time
        last_line = self.t[rows_line][np.maximum(hi - 1, 0)] if len(rows_line) else 0 * hi
        last_enc = self.t[rows_enc][np.maximum(hi - 1, 0)] if len(rows_enc) else 0 * hi
        paid_at = np.where(count > 0, np.where(has_line, last_line, last_enc), -1)
        # the entries of every range, concatenated
        offsets = np.r_[0, np.cumsum(count)].astype(np.int32)
        within = np.arange(int(offsets[-1])) - np.repeat(offsets[:-1], count)
        first = np.repeat(lo, count)
        use_line = np.repeat(has_line, count)
        at = np.minimum(first + within, max(len(rows_line) - 1, 0))
        rows = np.where(use_line, rows_line[at], rows_enc[at]) if len(rows_line) else at
        ids = pa.ListArray.from_arrays(pa.array(offsets), pa.array(self.ids[rows], pa.int64()))
        refs = pa.ListArray.from_arrays(pa.array(offsets), self.refs.take(pa.array(rows)))
        return paid.astype(np.int64), paid_at.astype(np.int64), ids, refs

    def cleared(self, line_col) -> np.ndarray:
        """Per attempt: whether its line's payer balance (its encounter's, without a
        line) is now 0 or less."""
        k = len(line_col)
        if self.ledger is None or not k:
            return np.zeros(k, bool)
        ledger = self.ledger
        procs = balances(ledger)
        ids = ledger.encounters["encounter_id"].cast(pa.string()).combine_chunks()
        p_enc = codes_in(procs["encounter_id"], ids).astype(np.int64)
        p_line = numpy_array(procs["line"], dtype=np.int64)
        owed = numpy_array(procs["payer_balance"], dtype=np.int64)
        line = numpy_array(line_col, fill=-1, dtype=np.int64)
        enc = self.att_enc.astype(np.int64)
        key = p_enc * self.n_line + p_line
        o = np.argsort(key, kind="stable")
        q = enc * self.n_line + np.maximum(line, 0)
        i = np.minimum(np.searchsorted(key[o], q), max(len(o) - 1, 0))
        hit = (len(o) > 0) & (key[o][i] == q) if len(o) else np.zeros(k, bool)
        line_owed = np.where(hit, owed[o][i] if len(o) else 0, 1)
        enc_owed = np.bincount(p_enc, weights=owed, minlength=ledger.keys.n_encounters)
        enc_sum = np.where(enc >= 0, enc_owed[np.maximum(enc, 0)], 1)
        return np.where(line >= 0, line_owed <= 0, enc_sum <= 0) & (enc >= 0)


def _search(base, t, q, when) -> np.ndarray:
    """Per query, the index of the first row with ``(base, t) > (q, when)`` in rows
    sorted by ``(base, t)`` (times replaced by their ranks, so the pair is one int64)."""
    times = np.unique(np.concatenate([t, when]))
    size = len(times) + 1
    rows = base * size + np.searchsorted(times, t)
    return np.searchsorted(rows, q * size + np.searchsorted(times, when), side="right")
