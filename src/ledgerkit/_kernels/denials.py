"""Denial analytics kernels: units of rows, and what the first response covered.

(The denial facts themselves are ``_kernels.facts.entry_denial_facts_nb``.)

Arrays in, arrays out (allocated by the caller); no validation here. Entries
are in grouped order (see ``ledgerkit.core.keys``): ``codes`` are the packed
entry codes (``codes.pack_code``), ``day`` the posting day (days
since 1970-01-01), ``negation`` marks negation entries, ``carc`` the CARC
dictionary code (-1 none).
"""

import numba

from ledgerkit._kernels import codes as C
from ledgerkit._kernels._njit import njit, njit_parallel
from ledgerkit._kernels.chunks import CHUNK, chunk_range, n_chunks

NO_DAY = -(2**31)


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
