"""Denial analytics kernels: denial facts per procedure, and units of rows.

Arrays in, arrays out (allocated by the caller); no validation here. Entries
are in grouped order (see ``ledgerkit.core.keys``): ``codes`` are the packed
entry codes (``codes.pack_code``), ``day`` the posting day (days
since 1970-01-01), ``negation`` marks negation entries, ``carc`` the CARC
dictionary code (-1 none).
"""

import numba
import numpy as np

from ledgerkit._kernels import codes as C
from ledgerkit._kernels._njit import njit, njit_parallel
from ledgerkit._kernels.chunks import CHUNK, chunk_range, n_chunks

NO_DAY = -(2**31)


@njit
def _is_remit(bucket):
    return bucket >= C.PAID and bucket <= C.OTHER


@njit_parallel
def denial_facts_nb(
    codes,
    amounts,
    day,
    negation,
    carc,
    enc_proc_start,
    proc_entry_start,
    enc_first_day,
    first_denied,
    first_reason,
    later_paid,
    last_day,
    top_reason,
):
    """Per-encounter first remit days and per-procedure denial facts.

    enc_first_day[e, k]
        first posting day of a payment/adjustment (negations excluded) from
        payer_seq ``k`` (1..3) on encounter ``e``; ``NO_DAY`` when none.
    first_denied[p], first_reason[p]
        the primary's denied amount on its first response (entries posted on
        ``enc_first_day[e, 1]``) and the CARC of the largest such entry.
    later_paid[p]
        the primary's net payments (negations included) posted after that day.
    last_day[p]
        last day of a payer payment/adjustment, write-off or transfer posted
        after that day (``NO_DAY`` when none).
    top_reason[p]
        CARC of the largest live denial of any payer (-1 none; the first on
        ties), as ``procedure_figures_nb`` picks it: every payer's denials
        count (DOMAIN.md, Settled question 1).
    """
    n_enc = enc_proc_start.shape[0] - 1
    for chunk in numba.prange(n_chunks(n_enc, CHUNK)):
        e0, e1 = chunk_range(chunk, n_enc, CHUNK)
        firsts = np.empty(4, np.int32)  # one buffer per task, not per encounter
        for e in range(e0, e1):
            p0 = enc_proc_start[e]
            p1 = enc_proc_start[e + 1]
            firsts[:] = NO_DAY
            for i in range(proc_entry_start[p0], proc_entry_start[p1]):
                c = codes[i]
                b = C.bucket_of(c)
                s = C.payer_seq_of(c)
                if s > 0 and _is_remit(b) and not negation[i]:
                    if firsts[s] == NO_DAY or day[i] < firsts[s]:
                        firsts[s] = day[i]
            for k in range(4):
                enc_first_day[e, k] = firsts[k]
            d1 = firsts[1]
            for p in range(p0, p1):
                lo = proc_entry_start[p]
                hi = proc_entry_start[p + 1]
                fd = 0
                fr = -1
                fr_amt = 0
                lp = 0
                ld = NO_DAY
                tr = -1
                tr_amt = 0
                for i in range(lo, hi):
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
                    if s == 1 and b == C.DENIED and day[i] == d1 and not negation[i]:
                        fd += a
                        if fr < 0 or a > fr_amt:
                            fr = carc[i]
                            fr_amt = a
                    if day[i] > d1:
                        if b == C.PAID and s == 1:
                            lp += a
                        if s > 0 and b >= C.PAID and b <= C.PUSHED_TO_PR and day[i] > ld:
                            ld = day[i]
                first_denied[p] = fd
                first_reason[p] = fr
                later_paid[p] = lp
                last_day[p] = ld
                top_reason[p] = tr


@njit
def unit_reduce_nb(run, key, flag_any, flag_all, day, rep, any_out, all_out, day_out):
    """Collapse rows into units = (run, key) pairs; rows of one run are contiguous.

    For the first row of each unit (``key >= 0``) ``rep`` is True and
    ``any_out``/``all_out``/``day_out`` hold the OR of ``flag_any``, the AND of
    ``flag_all`` and the max of ``day`` over the unit's rows. Runs are short
    (the procedures of one encounter), so the quadratic scan is cheap.
    """
    n = run.shape[0]
    i = 0
    while i < n:
        j = i + 1
        while j < n and run[j] == run[i]:
            j += 1
        for a in range(i, j):
            rep[a] = False
            k = key[a]
            if k < 0:
                continue
            first = True
            for b in range(i, a):
                if key[b] == k:
                    first = False
                    break
            if not first:
                continue
            rep[a] = True
            an = False
            al = True
            d = NO_DAY
            for b in range(a, j):
                if key[b] == k:
                    an = an or flag_any[b]
                    al = al and flag_all[b]
                    if day[b] > d:
                        d = day[b]
            any_out[a] = an
            all_out[a] = al
            day_out[a] = d
        i = j


@njit
def _covered_chunk(codes, amounts, day, negation, first_day, enc_proc_start,
                   proc_entry_start, covered, e0, e1):  # fmt: skip
    for e in range(e0, e1):
        d1 = first_day[e]
        for p in range(enc_proc_start[e], enc_proc_start[e + 1]):
            total = 0
            if d1 != NO_DAY:
                for i in range(proc_entry_start[p], proc_entry_start[p + 1]):
                    c = codes[i]
                    b = C.bucket_of(c)
                    if (
                        C.payer_seq_of(c) == 1
                        and day[i] == d1
                        and not negation[i]
                        and b >= C.PAID
                        and b <= C.PR_OTHER
                    ):
                        total += amounts[i]
            covered[p] = total


@njit_parallel
def first_response_covered_nb(codes, amounts, day, negation, first_day, enc_proc_start,
                              proc_entry_start, covered):  # fmt: skip
    """``covered[p]``: what the primary's first response (its entries posted on
    ``first_day[e]``, negations left out) paid or adjusted away as contractual or
    patient responsibility on procedure ``p`` (0 when the encounter has no response)."""
    n_enc = enc_proc_start.shape[0] - 1
    for chunk in numba.prange(n_chunks(n_enc, CHUNK)):
        e0, e1 = chunk_range(chunk, n_enc, CHUNK)
        _covered_chunk(codes, amounts, day, negation, first_day, enc_proc_start,
                       proc_entry_start, covered, e0, e1)  # fmt: skip
