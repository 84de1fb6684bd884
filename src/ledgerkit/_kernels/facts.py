"""The analytics' denial facts in one parallel pass over the grouped entries.

Arrays in, arrays out (allocated by the caller); no validation here. ``codes`` and
``amounts`` are in grouped order (see ``ledgerkit.core.keys``); the per-entry columns
``row_day`` (posting day), ``row_negation`` and ``row_carc`` (CARC code, -1 none)
are in entries-row order and ``order`` maps grouped entry ->
entries row (empty: the identity).

It replaces a gather of four columns into grouped order followed by a facts kernel
that read the gathered columns back: at 10M procedures
(48M entries) that was a second pass over ~350 MB and a grouped negation column
nobody kept. Here each encounter's entries are gathered and used while they are in
cache.
"""

import numba
import numpy as np

from ledgerkit._kernels import codes as C
from ledgerkit._kernels._njit import njit, njit_parallel
from ledgerkit._kernels.chunks import CHUNK, chunk_range, n_chunks
from ledgerkit._kernels.denials import NO_DAY


@njit
def _facts_chunk_nb(e0, e1, codes, amounts, order, row_day, row_negation, row_carc,
                    enc_proc_start, proc_entry_start, day, carc, enc_first_day,
                    first_denied, first_reason, later_paid, last_day,
                    top_reason):  # fmt: skip
    gather = order.shape[0] > 0
    firsts = np.empty(4, np.int32)  # one buffer per task, not per encounter
    for e in range(e0, e1):
        p0 = enc_proc_start[e]
        p1 = enc_proc_start[e + 1]
        firsts[:] = NO_DAY
        # first pass over the encounter: gather its entries, first remit day per payer
        for i in range(proc_entry_start[p0], proc_entry_start[p1]):
            r = order[i] if gather else i
            d = row_day[r]
            if gather:
                day[i] = d
                carc[i] = row_carc[r]
            c = codes[i]
            b = C.bucket_of(c)
            s = C.payer_seq_of(c)
            if s > 0 and b >= C.PAID and b <= C.OTHER and not row_negation[r]:
                if firsts[s] == NO_DAY or d < firsts[s]:
                    firsts[s] = d
        for k in range(4):
            enc_first_day[e, k] = firsts[k]
        d1 = firsts[1]
        # second pass, per procedure, over entries still in cache
        for p in range(p0, p1):
            fd = 0
            fr = -1
            fr_amt = 0
            lp = 0
            ld = NO_DAY
            tr = -1
            tr_amt = 0
            for i in range(proc_entry_start[p], proc_entry_start[p + 1]):
                c = codes[i]
                b = C.bucket_of(c)
                s = C.payer_seq_of(c)
                a = amounts[i]
                if b == C.DENIED and s >= 1 and C.is_live(c):
                    if tr < 0 or a > tr_amt:
                        tr = carc[i]
                        tr_amt = a
                if d1 == NO_DAY:
                    continue
                d = day[i]
                if s == 1 and b == C.DENIED and d == d1:
                    if not row_negation[order[i] if gather else i]:
                        fd += a
                        if fr < 0 or a > fr_amt:
                            fr = carc[i]
                            fr_amt = a
                if d > d1:
                    if b == C.PAID and s == 1:
                        lp += a
                    if s > 0 and b >= C.PAID and b <= C.PUSHED_TO_PR and d > ld:
                        ld = d
            first_denied[p] = fd
            first_reason[p] = fr
            later_paid[p] = lp
            last_day[p] = ld
            top_reason[p] = tr


@njit_parallel
def entry_denial_facts_nb(codes, amounts, order, row_day, row_negation, row_carc,
                          enc_proc_start, proc_entry_start, day, carc, enc_first_day,
                          first_denied, first_reason, later_paid, last_day,
                          top_reason):  # fmt: skip
    """The grouped per-entry columns the facts keep, and the denial facts, in one pass.

    day[i], carc[i]
        ``row_day`` and ``row_carc`` of grouped entry ``i`` (written only when ``order``
        is given; with the identity the caller passes the row arrays themselves, which
        are then only read).
    enc_first_day[e, k]
        first posting day of a payment/adjustment (negations excluded) from
        payer_seq ``k`` (1..3) on encounter ``e``; ``NO_DAY`` when none (column 0
        stays ``NO_DAY``).
    first_denied[p], first_reason[p]
        the primary's denied amount on its first response (its denials posted on
        ``enc_first_day[e, 1]``, negations left out) and the CARC of the largest such
        entry (the first on ties; -1 none).
    later_paid[p]
        the primary's net payments (negations included) posted after that day.
    last_day[p]
        last day of a payer payment/adjustment, write-off or transfer posted after
        that day (``NO_DAY`` when none, or when the primary never responded).
    top_reason[p]
        CARC of the largest live denial of any payer (-1 none; the first on ties):
        every payer's denials count (DOMAIN.md, Settled question 1).
    """
    n_enc = enc_proc_start.shape[0] - 1
    for chunk in numba.prange(n_chunks(n_enc, CHUNK)):
        e0, e1 = chunk_range(chunk, n_enc, CHUNK)
        _facts_chunk_nb(e0, e1, codes, amounts, order, row_day, row_negation, row_carc,
                        enc_proc_start, proc_entry_start, day, carc, enc_first_day,
                        first_denied, first_reason, later_paid, last_day,
                        top_reason)  # fmt: skip
