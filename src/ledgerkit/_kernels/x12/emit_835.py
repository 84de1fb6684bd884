"""Kernel of ``write_835``: every transaction (ST .. SE) written into one byte buffer.

Inputs are column-wise (see :mod:`ledgerkit._kernels.x12.emit`): each table's text
columns as bounds into one byte ``pool``, one row per column in the order of ``*_TEXT``
below (value ``i`` of column ``j`` of table ``x_s`` is ``pool[x_s[j, i]:x_s[j, i + 1]]``,
empty when absent), its numbers (cents, day numbers) one row per column in the order
of ``*_NUM``, and
which rows belong to which parent as offsets into row lists. ``pool`` starts with
:data:`LITERALS` (segment ids and fixed codes), whose spans are ``lit``.
"""

from __future__ import annotations

import numpy as np

from ledgerkit._kernels._njit import njit
from ledgerkit._kernels.x12.emit import (
    NULL,
    date_el,
    end_segment,
    literal_el,
    money_el,
    put_byte,
    put_digits,
    put_span,
    same_text,
    text_el,
)
from ledgerkit._kernels.x12.jit import helper

LITERALS = (
    "ST", "835", "BPR", "TRN", "1", "DTM", "405", "N1", "PR", "REF", "2U", "PE", "LX",
    "CLP", "CAS", "NM1", "QC", "IL", "82", "XX", "MI", "MIA", "0", "MOA", "232", "233",
    "050", "SVC", "472", "150", "151", "6R", "AMT", "B6", "LQ", "HE", "PLB", "SE",
)  # fmt: skip
(
    L_ST, L_835, L_BPR, L_TRN, L_1, L_DTM, L_405, L_N1, L_PR, L_REF, L_2U, L_PE, L_LX,
    L_CLP, L_CAS, L_NM1, L_QC, L_IL, L_82, L_XX, L_MI, L_MIA, L_0, L_MOA, L_232, L_233,
    L_050, L_SVC, L_472, L_150, L_151, L_6R, L_AMT, L_B6, L_LQ, L_HE, L_PLB, L_SE,
) = range(len(LITERALS))  # fmt: skip

# Column order of each table's text spans and numbers, as the caller stacks them.
TX_TEXT = (
    "st_control", "st03", "handling_code", "credit_debit", "payment_method",
    "trace_number", "trace_originator", "payer_name", "payer_id_qualifier", "payer_id",
    "payee_name", "payee_id_qualifier", "payee_id",
)  # fmt: skip
TX_NUM = ("payment_cents", "payment_date", "production_date")
CLAIM_TEXT = (
    "encounter_id", "status_code", "claim_filing_indicator", "payer_claim_control_number",
    "facility_type", "frequency_code", "rendering_provider_id", "patient_key",
    "patient_last_name", "patient_first_name", "patient_middle_name",
    "patient_id_qualifier", "patient_id", "subscriber_key", "subscriber_last_name",
    "subscriber_first_name", "subscriber_middle_name", "subscriber_id_qualifier",
    "subscriber_id",
)  # fmt: skip
CLAIM_NUM = (
    "charge_cents", "paid_cents", "reported_patient_responsibility_cents",
    "statement_from", "statement_to", "received_date",
)  # fmt: skip
LINE_TEXT = ("svc01", "revenue_code", "units", "svc06", "original_units", "line_control_number")
LINE_NUM = (
    "charge_cents", "paid_cents", "service_date", "service_start", "service_end",
    "reported_allowed_cents",
)  # fmt: skip
ADJ_TEXT = ("group_code", "carc", "quantity")
ADJ_NUM = ("amount_cents",)
REMARK_TEXT = ("qualifier", "code")
REMARK_NUM = ("is_mia",)
PLB_TEXT = ("provider_id", "plb03")
PLB_NUM = ("fiscal_period_date", "amount_cents")

(T_ST02, T_ST03, T_HANDLING, T_CREDIT, T_METHOD, T_TRACE, T_ORIGINATOR, T_PAYER_NAME,
 T_PAYER_QUAL, T_PAYER_ID, T_PAYEE_NAME, T_PAYEE_QUAL,
 T_PAYEE_ID) = range(len(TX_TEXT))  # fmt: skip
N_PAYMENT, N_PAYMENT_DATE, N_PRODUCTION = range(len(TX_NUM))
(C_ENCOUNTER, C_STATUS, C_FILING, C_ICN, C_FACILITY, C_FREQUENCY, C_RENDERING,
 C_PATIENT) = range(8)  # fmt: skip
C_SUBSCRIBER = 13  # key, then last, first, middle, id qualifier, id (as C_PATIENT)
CN_CHARGE, CN_PAID, CN_PR, CN_FROM, CN_TO, CN_RECEIVED = range(len(CLAIM_NUM))
S_SVC01, S_REVENUE, S_UNITS, S_SVC06, S_ORIGINAL_UNITS, S_CONTROL = range(len(LINE_TEXT))
SN_CHARGE, SN_PAID, SN_DATE, SN_START, SN_END, SN_ALLOWED = range(len(LINE_NUM))


def literal_pool() -> tuple[bytes, np.ndarray]:
    """The bytes of :data:`LITERALS` one after another, and their ``[start, end)`` spans."""
    data = "".join(LITERALS).encode()
    ends = np.cumsum([len(s) for s in LITERALS], dtype=np.int64)
    return data, np.stack([ends - [len(s) for s in LITERALS], ends], axis=1)


# Segment writers: compiled on their own without reference counting (see emit.writer),
# called, not inlined: inlining all of them into one function took minutes to compile.
# Helpers (see jit.helper): as @njit, _dtm compiled once per qualifier and _header once
# for pos 0, once for pos > 0 (about 10 s of `ledgerkit warm` in the writer's segments).
segments = helper(nrt=False)
# A transaction's header and its PLB segments, each written from one place outside the
# claim loop, are inlined there by Numba before typing: no library of their own, whose
# code (callees included) was optimised and emitted once more (1.5-1.8 s of `ledgerkit
# warm` for the two). Not the claims' and lines' writers: inlined, the writer ran 5-10%
# slower.
once = njit(inline="always", _nrt=False)


@segments
def _dtm(out, pos, seps, term, pool, lit, qualifier, days):
    """DTM*qualifier*date, written only when the date is present; returns (pos, segments)."""
    if days == NULL:
        return pos, 0
    e = seps[0]
    pos = put_span(out, pos, pool, lit[L_DTM, 0], lit[L_DTM, 1])
    pos, owed = literal_el(out, pos, 0, e, pool, lit, qualifier)
    pos, owed = date_el(out, pos, owed, e, days)
    return end_segment(out, pos, term), 1


@segments
def _cas(out, pos, seps, term, pool, lit, ad_s, ad_n, rows):
    """CAS segments: up to six adjustments of the same group each; returns (pos, segments)."""
    e = seps[0]
    nseg = 0
    i = 0
    while i < rows.size:
        g = rows[i]
        pos = put_span(out, pos, pool, lit[L_CAS, 0], lit[L_CAS, 1])
        pos, owed = text_el(out, pos, 0, e, pool, ad_s[0, g], ad_s[0, g + 1])
        j = i
        while j < rows.size and j - i < 6:
            a = rows[j]
            if not same_text(pool, ad_s[0, g], ad_s[0, g + 1], ad_s[0, a], ad_s[0, a + 1]):
                break
            pos, owed = text_el(out, pos, owed, e, pool, ad_s[1, a], ad_s[1, a + 1])
            pos, owed = money_el(out, pos, owed, e, ad_n[0, a])
            pos, owed = text_el(out, pos, owed, e, pool, ad_s[2, a], ad_s[2, a + 1])
            j += 1
        pos = end_segment(out, pos, term)
        nseg += 1
        i = j
    return pos, nseg


@segments
def _person(out, pos, seps, term, pool, lit, cl_s, c, first, kind):
    """NM1 of the patient (QC) or subscriber (IL): names and id when kept, else the key."""
    e = seps[0]
    any_kept = False
    for k in range(first + 1, first + 6):
        if cl_s[k, c + 1] > cl_s[k, c]:
            any_kept = True
    qa, qb = cl_s[first + 4, c], cl_s[first + 4, c + 1]
    ia, ib = cl_s[first + 5, c], cl_s[first + 5, c + 1]
    has_key = cl_s[first, c + 1] > cl_s[first, c]
    if not any_kept and has_key:
        qa, qb = lit[L_MI, 0], lit[L_MI, 1]
        ia, ib = cl_s[first, c], cl_s[first, c + 1]
    elif not any_kept and kind == L_IL:
        return pos, 0
    pos = put_span(out, pos, pool, lit[L_NM1, 0], lit[L_NM1, 1])
    pos, owed = literal_el(out, pos, 0, e, pool, lit, kind)
    pos, owed = literal_el(out, pos, owed, e, pool, lit, L_1)
    for k in range(first + 1, first + 4):
        pos, owed = text_el(out, pos, owed, e, pool, cl_s[k, c], cl_s[k, c + 1])
    pos, owed = text_el(out, pos, owed + 2, e, pool, qa, qb)
    pos, owed = text_el(out, pos, owed, e, pool, ia, ib)
    return end_segment(out, pos, term), 1


@segments
def _remarks(out, pos, seps, term, pool, lit, rm_s, rm_n, rows, mia):
    """MIA (``mia``) or MOA segments of a claim's remarks, five codes each."""
    e = seps[0]
    nseg = 0
    in_seg = 0
    owed = 0
    for r in rows:
        if (rm_n[0, r] == 1) != mia:
            continue
        if in_seg == 0:
            if mia:
                pos = put_span(out, pos, pool, lit[L_MIA, 0], lit[L_MIA, 1])
                pos, owed = literal_el(out, pos, 0, e, pool, lit, L_0)
                owed += 3
            else:
                pos = put_span(out, pos, pool, lit[L_MOA, 0], lit[L_MOA, 1])
                owed = 2
        elif in_seg == 1 and mia:
            owed += 14
        pos, owed = text_el(out, pos, owed, e, pool, rm_s[1, r], rm_s[1, r + 1])
        in_seg += 1
        if in_seg == 5:
            pos = end_segment(out, pos, term)
            nseg += 1
            in_seg = 0
    if in_seg:
        pos = end_segment(out, pos, term)
        nseg += 1
    return pos, nseg


@segments
def _line(out, pos, seps, term, pool, lit, li_s, li_n, s, ad_s, ad_n, adj, rm_s, rems):
    """SVC and its loop: dates, adjustments, control number, allowed amount, remarks."""
    e = seps[0]
    pos = put_span(out, pos, pool, lit[L_SVC, 0], lit[L_SVC, 1])
    pos, owed = text_el(out, pos, 0, e, pool, li_s[S_SVC01, s], li_s[S_SVC01, s + 1])
    pos, owed = money_el(out, pos, owed, e, li_n[SN_CHARGE, s])
    pos, owed = money_el(out, pos, owed, e, li_n[SN_PAID, s])
    for k in (S_REVENUE, S_UNITS, S_SVC06, S_ORIGINAL_UNITS):
        pos, owed = text_el(out, pos, owed, e, pool, li_s[k, s], li_s[k, s + 1])
    pos = end_segment(out, pos, term)
    nseg = 1
    pos, n = _dtm(out, pos, seps, term, pool, lit, L_472, li_n[SN_DATE, s])
    nseg += n
    pos, n = _dtm(out, pos, seps, term, pool, lit, L_150, li_n[SN_START, s])
    nseg += n
    pos, n = _dtm(out, pos, seps, term, pool, lit, L_151, li_n[SN_END, s])
    nseg += n
    pos, n = _cas(out, pos, seps, term, pool, lit, ad_s, ad_n, adj)
    nseg += n
    if li_s[S_CONTROL, s + 1] > li_s[S_CONTROL, s]:
        pos = put_span(out, pos, pool, lit[L_REF, 0], lit[L_REF, 1])
        pos, owed = literal_el(out, pos, 0, e, pool, lit, L_6R)
        pos, owed = text_el(out, pos, owed, e, pool, li_s[S_CONTROL, s], li_s[S_CONTROL, s + 1])
        pos = end_segment(out, pos, term)
        nseg += 1
    if li_n[SN_ALLOWED, s] != NULL:
        pos = put_span(out, pos, pool, lit[L_AMT, 0], lit[L_AMT, 1])
        pos, owed = literal_el(out, pos, 0, e, pool, lit, L_B6)
        pos, owed = money_el(out, pos, owed, e, li_n[SN_ALLOWED, s])
        pos = end_segment(out, pos, term)
        nseg += 1
    for r in rems:
        pos = put_span(out, pos, pool, lit[L_LQ, 0], lit[L_LQ, 1])
        if rm_s[0, r + 1] > rm_s[0, r]:
            pos, owed = text_el(out, pos, 0, e, pool, rm_s[0, r], rm_s[0, r + 1])
        else:
            pos, owed = literal_el(out, pos, 0, e, pool, lit, L_HE)
        pos, owed = text_el(out, pos, owed, e, pool, rm_s[1, r], rm_s[1, r + 1])
        pos = end_segment(out, pos, term)
        nseg += 1
    return pos, nseg


@segments
def _claim(out, pos, seps, term, pool, lit, cl_s, cl_n, c, lines, li_s, li_n, ad_s, ad_n,
           cadj, ladj_off, ladj_rows, rm_s, rm_n, crem, lrem_off, lrem_rows):  # fmt: skip
    """CLP and its loop: adjustments, people, remarks, dates, then its service lines."""
    e = seps[0]
    pos = put_span(out, pos, pool, lit[L_CLP, 0], lit[L_CLP, 1])
    pos, owed = text_el(out, pos, 0, e, pool, cl_s[C_ENCOUNTER, c], cl_s[C_ENCOUNTER, c + 1])
    pos, owed = text_el(out, pos, owed, e, pool, cl_s[C_STATUS, c], cl_s[C_STATUS, c + 1])
    for k in (CN_CHARGE, CN_PAID, CN_PR):
        pos, owed = money_el(out, pos, owed, e, cl_n[k, c])
    for k in (C_FILING, C_ICN, C_FACILITY, C_FREQUENCY):
        pos, owed = text_el(out, pos, owed, e, pool, cl_s[k, c], cl_s[k, c + 1])
    pos = end_segment(out, pos, term)
    nseg = 1
    pos, n = _cas(out, pos, seps, term, pool, lit, ad_s, ad_n, cadj)
    nseg += n
    pos, n = _person(out, pos, seps, term, pool, lit, cl_s, c, C_PATIENT, L_QC)
    nseg += n
    pos, n = _person(out, pos, seps, term, pool, lit, cl_s, c, C_SUBSCRIBER, L_IL)
    nseg += n
    if cl_s[C_RENDERING, c + 1] > cl_s[C_RENDERING, c]:
        pos = put_span(out, pos, pool, lit[L_NM1, 0], lit[L_NM1, 1])
        pos, owed = literal_el(out, pos, 0, e, pool, lit, L_82)
        pos, owed = literal_el(out, pos, owed, e, pool, lit, L_1)
        pos, owed = literal_el(out, pos, owed + 5, e, pool, lit, L_XX)
        a, b = cl_s[C_RENDERING, c], cl_s[C_RENDERING, c + 1]
        pos, owed = text_el(out, pos, owed, e, pool, a, b)
        pos = end_segment(out, pos, term)
        nseg += 1
    pos, n = _remarks(out, pos, seps, term, pool, lit, rm_s, rm_n, crem, True)
    nseg += n
    pos, n = _remarks(out, pos, seps, term, pool, lit, rm_s, rm_n, crem, False)
    nseg += n
    for q, k in ((L_232, CN_FROM), (L_233, CN_TO), (L_050, CN_RECEIVED)):
        pos, n = _dtm(out, pos, seps, term, pool, lit, q, cl_n[k, c])
        nseg += n
    for s in lines:
        adj = ladj_rows[ladj_off[s] : ladj_off[s + 1]]
        rems = lrem_rows[lrem_off[s] : lrem_off[s + 1]]
        pos, n = _line(out, pos, seps, term, pool, lit, li_s, li_n, s, ad_s, ad_n, adj, rm_s, rems)
        nseg += n
    return pos, nseg


@once
def _plb(out, pos, seps, term, pool, lit, pl_s, pl_n, rows):
    """PLB segments: up to six adjustments of the same provider and fiscal period each."""
    e = seps[0]
    nseg = 0
    k = 0
    while k < rows.size:
        f = rows[k]
        pos = put_span(out, pos, pool, lit[L_PLB, 0], lit[L_PLB, 1])
        pos, owed = text_el(out, pos, 0, e, pool, pl_s[0, f], pl_s[0, f + 1])
        pos, owed = date_el(out, pos, owed, e, pl_n[0, f])
        j = k
        while j < rows.size and j - k < 6:
            b = rows[j]
            if pl_n[0, b] != pl_n[0, f] or not same_text(
                pool, pl_s[0, f], pl_s[0, f + 1], pl_s[0, b], pl_s[0, b + 1]
            ):
                break
            pos, owed = text_el(out, pos, owed, e, pool, pl_s[1, b], pl_s[1, b + 1])
            pos, owed = money_el(out, pos, owed, e, pl_n[1, b])
            j += 1
        pos = end_segment(out, pos, term)
        nseg += 1
        k = j
    return pos, nseg


@once
def _header(out, pos, seps, term, pool, lit, tx_s, tx_n, t):
    """ST, BPR, TRN, DTM*405, the payer (N1*PR, REF*2U) and payee (N1*PE) of ``t``."""
    e = seps[0]
    pos = put_span(out, pos, pool, lit[L_ST, 0], lit[L_ST, 1])
    pos, owed = literal_el(out, pos, 0, e, pool, lit, L_835)
    for k in (T_ST02, T_ST03):
        pos, owed = text_el(out, pos, owed, e, pool, tx_s[k, t], tx_s[k, t + 1])
    pos = end_segment(out, pos, term)
    pos = put_span(out, pos, pool, lit[L_BPR, 0], lit[L_BPR, 1])
    pos, owed = text_el(out, pos, 0, e, pool, tx_s[T_HANDLING, t], tx_s[T_HANDLING, t + 1])
    pos, owed = money_el(out, pos, owed, e, tx_n[N_PAYMENT, t])
    for k in (T_CREDIT, T_METHOD):
        pos, owed = text_el(out, pos, owed, e, pool, tx_s[k, t], tx_s[k, t + 1])
    pos, owed = date_el(out, pos, owed + 11, e, tx_n[N_PAYMENT_DATE, t])
    pos = end_segment(out, pos, term)
    nseg = 2
    has_trace = tx_s[T_TRACE, t + 1] > tx_s[T_TRACE, t]
    if has_trace or tx_s[T_ORIGINATOR, t + 1] > tx_s[T_ORIGINATOR, t]:
        pos = put_span(out, pos, pool, lit[L_TRN, 0], lit[L_TRN, 1])
        pos, owed = literal_el(out, pos, 0, e, pool, lit, L_1)
        for k in (T_TRACE, T_ORIGINATOR):
            pos, owed = text_el(out, pos, owed, e, pool, tx_s[k, t], tx_s[k, t + 1])
        pos = end_segment(out, pos, term)
        nseg += 1
    pos, n = _dtm(out, pos, seps, term, pool, lit, L_405, tx_n[N_PRODUCTION, t])
    nseg += n
    has_qualifier = tx_s[T_PAYER_QUAL, t + 1] > tx_s[T_PAYER_QUAL, t]
    pos = put_span(out, pos, pool, lit[L_N1, 0], lit[L_N1, 1])
    pos, owed = literal_el(out, pos, 0, e, pool, lit, L_PR)
    pos, owed = text_el(out, pos, owed, e, pool, tx_s[T_PAYER_NAME, t], tx_s[T_PAYER_NAME, t + 1])
    if has_qualifier:
        for k in (T_PAYER_QUAL, T_PAYER_ID):
            pos, owed = text_el(out, pos, owed, e, pool, tx_s[k, t], tx_s[k, t + 1])
    pos = end_segment(out, pos, term)
    nseg += 1
    if tx_s[T_PAYER_ID, t + 1] > tx_s[T_PAYER_ID, t] and not has_qualifier:
        pos = put_span(out, pos, pool, lit[L_REF, 0], lit[L_REF, 1])
        pos, owed = literal_el(out, pos, 0, e, pool, lit, L_2U)
        pos, owed = text_el(out, pos, owed, e, pool, tx_s[T_PAYER_ID, t], tx_s[T_PAYER_ID, t + 1])
        pos = end_segment(out, pos, term)
        nseg += 1
    pos = put_span(out, pos, pool, lit[L_N1, 0], lit[L_N1, 1])
    pos, owed = literal_el(out, pos, 0, e, pool, lit, L_PE)
    for k in (T_PAYEE_NAME, T_PAYEE_QUAL, T_PAYEE_ID):
        pos, owed = text_el(out, pos, owed, e, pool, tx_s[k, t], tx_s[k, t + 1])
    pos = end_segment(out, pos, term)
    return pos, nseg + 1


@njit(_nrt=False)
def emit_835_nb(out, tx_end, seps, term, pool, lit, tx_s, tx_n, cl_off, cl_rows, cl_s, cl_n,
                li_range, li_rows, li_s, li_n, ad_s, ad_n, cadj_off, cadj_rows, ladj_off,
                ladj_rows, rm_s, rm_n, crem_off, crem_rows, lrem_off, lrem_rows, pl_s, pl_n,
                plb_off, plb_rows):  # fmt: skip
    """Every transaction's ST .. SE into ``out``; returns the bytes needed.

    ``tx_end[t]`` is where transaction ``t`` ends. Claims of ``t`` are
    ``cl_rows[cl_off[t]:cl_off[t + 1]]``; the lines of claim row ``c`` are
    ``li_rows[li_range[c, 0]:li_range[c, 1]]``; the adjustments, remarks and
    provider adjustments of a row are offsets into row lists the same way.
    """
    e = seps[0]
    pos = 0
    for t in range(tx_n.shape[1]):
        pos, nseg = _header(out, pos, seps, term, pool, lit, tx_s, tx_n, t)
        claims = cl_rows[cl_off[t] : cl_off[t + 1]]
        if claims.size:
            pos = put_span(out, pos, pool, lit[L_LX, 0], lit[L_LX, 1])
            pos, owed = literal_el(out, pos, 0, e, pool, lit, L_1)
            pos = end_segment(out, pos, term)
            nseg += 1
        for c in claims:
            lines = li_rows[li_range[c, 0] : li_range[c, 1]]
            cadj = cadj_rows[cadj_off[c] : cadj_off[c + 1]]
            crem = crem_rows[crem_off[c] : crem_off[c + 1]]
            pos, n = _claim(out, pos, seps, term, pool, lit, cl_s, cl_n, c, lines, li_s, li_n,
                            ad_s, ad_n, cadj, ladj_off, ladj_rows, rm_s, rm_n, crem, lrem_off,
                            lrem_rows)  # fmt: skip
            nseg += n
        pos, n = _plb(out, pos, seps, term, pool, lit, pl_s, pl_n,
                      plb_rows[plb_off[t] : plb_off[t + 1]])  # fmt: skip
        nseg += n
        pos = put_span(out, pos, pool, lit[L_SE, 0], lit[L_SE, 1])
        pos = put_byte(out, pos, e)
        pos = put_digits(out, pos, nseg + 1)
        pos, owed = text_el(out, pos, 0, e, pool, tx_s[T_ST02, t], tx_s[T_ST02, t + 1])
        pos = end_segment(out, pos, term)
        tx_end[t] = pos
    return pos
