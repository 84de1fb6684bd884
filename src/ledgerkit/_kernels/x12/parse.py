"""``parse_835_nb``: one pass over an 835 file, one step per segment kind.

The main loop finds each segment's elements (``scan.split_elements``), checks
the envelope and that the segment may occur in the current loop, and hands the
segment to the step that reads it (``_claim``, ``_adjustments``,
``_service_line``, ...). The reader's state (envelope, current transaction,
claim and line, row counters) lives in one small int64 array ``st`` whose slots
are named ``S_*`` below. The per-segment steps are plain functions of arrays,
each compiled once (no variant per constant argument) and inlined by LLVM into
the loop; the envelope steps, once per transaction or file, stay calls.
"""

from __future__ import annotations

import numpy as np

from ledgerkit._kernels._njit import njit
from ledgerkit._kernels.x12.buffers import (
    add_finding,
    clear_rows,
    fail,
    init_row,
    set_number,
    set_span,
)
from ledgerkit._kernels.x12.fields import (
    is_alnum,
    is_literal,
    parse_cents,
    parse_date,
    parse_decimal,
    parse_uint,
    same_value,
    segment_tag,
    skip_ws,
    trim_right,
)
from ledgerkit._kernels.x12.jit import helper
from ledgerkit._kernels.x12.layout import (
    A_CARC,
    A_GROUP,
    AF_QTY,
    AI_CLAIM,
    AI_LINE,
    AI_SEG,
    AMT,
    AN_AMOUNT,
    BPR,
    C_ENCOUNTER,
    C_FACILITY,
    C_FILING,
    C_FREQUENCY,
    C_PAT_LAST,
    C_PAYER_CLAIM,
    C_RENDERING,
    C_STATUS,
    C_SUB_LAST,
    CAS,
    CI_FROM,
    CI_RECEIVED,
    CI_SEG,
    CI_TO,
    CI_TX,
    CLP,
    CN_CHARGE,
    CUR,
    D_COMPONENT,
    D_ELEMENT,
    D_REPETITION,
    DATE_BIAS,
    DTM,
    E_BAD_ISA,
    E_DELIMITER,
    E_EMPTY,
    E_GE_CONTROL,
    E_GE_COUNT,
    E_IEA_CONTROL,
    E_IEA_COUNT,
    E_MISSING,
    E_NOT_835,
    E_NUMBER,
    E_OK,
    E_QUANTITY,
    E_SE_CONTROL,
    E_SE_COUNT,
    E_SEGMENT_ID,
    E_SUBCENT,
    E_TOO_MANY_ELEMENTS,
    E_TRUNCATED,
    E_UNEXPECTED_SEGMENT,
    E_UNKNOWN_SEGMENT,
    ERR_CODE,
    ERR_ELEM,
    ERR_POS,
    ERR_SEG,
    F_BPR_DATE_POSITION,
    F_BPR_NO_DATE,
    F_CLAIM_SKIPPED,
    F_COMPONENT_SEPARATOR,
    F_INVALID_DATE,
    F_ISA_WIDTH,
    F_NO_ENVELOPE,
    F_SE_COUNT,
    F_SVC_MALFORMED,
    GE,
    GS,
    IEA,
    ISA_OUT,
    K_ADJ,
    K_CLM,
    K_FND,
    K_ISA,
    K_LIN,
    K_PLB,
    K_REM,
    K_SEG,
    K_TX,
    L_CODE,
    L_CONTROL,
    L_MODS,
    L_OCODE,
    L_OMODS,
    L_OQUAL,
    L_QUAL,
    L_REVENUE,
    LF_OUNITS,
    LF_UNITS,
    LI_CLAIM,
    LI_DATE,
    LI_END,
    LI_MODSEP,
    LI_NUMBER,
    LI_OMODSEP,
    LI_SEG,
    LI_START,
    LN_ALLOWED,
    LN_CHARGE,
    LN_PAID,
    LOOP_CLAIM,
    LOOP_HEADER,
    LOOP_LINE,
    LOOP_LX,
    LOOP_PLB,
    LQ,
    LX,
    MAXE,
    MIA,
    MOA,
    N1,
    N2,
    N3,
    N4,
    N_ERR,
    NM1,
    NULL,
    NULL32,
    P_PROVIDER,
    P_REASON,
    P_REFERENCE,
    PER,
    PI_DATE,
    PI_SEG,
    PI_TX,
    PLB,
    PN_AMOUNT,
    PR_AD_F,
    PR_CL_I,
    PR_CL_S,
    PR_LI_F,
    PR_LI_I,
    PR_LI_S,
    PR_WIDTH,
    QTY,
    R_CODE,
    R_QUAL,
    RDM,
    REF,
    RI_CLAIM,
    RI_LINE,
    RI_SEG,
    RI_SOURCE,
    SE,
    SOURCE_LQ,
    SOURCE_MIA,
    SOURCE_MOA,
    ST,
    SVC,
    T_CREDIT_DEBIT,
    T_GS_CONTROL,
    T_GS_RECEIVER,
    T_GS_SENDER,
    T_HANDLING,
    T_ISA_CONTROL,
    T_ISA_RECEIVER,
    T_ISA_SENDER,
    T_METHOD,
    T_PAYEE_ID,
    T_PAYEE_NAME,
    T_PAYEE_QUAL,
    T_PAYER_ID,
    T_PAYER_NAME,
    T_PAYER_QUAL,
    T_PAYER_REF,
    T_ST_CONTROL,
    T_TRACE,
    T_TRACE_ORIG,
    T_VERSION,
    TN_GS_DATE,
    TN_PAY_DATE,
    TN_PAYMENT,
    TN_PROD_DATE,
    TN_SEG,
    TRN,
    TS2,
    TS3,
)
from ledgerkit._kernels.x12.scan import (
    lead_after,
    parse_isa,
    skip_segment,
    split_composite,
    split_elements,
    terminators,
)
from ledgerkit._kernels.x12.words import load8

# ----------------------------------------------------------------------------- state
# Slots of the reader's state array ``st``. Where the reader is:
S_SEG, S_POS, S_ENV, S_NO_ENV, S_LOOP, S_COMP = 0, 1, 2, 3, 4, 5  # S_ENV: 0 out, 1 ISA, 2 GS, 3 ST
S_TX, S_CL, S_LI, S_LINE_NO, S_N1, S_COMP_NOTED = 6, 7, 8, 9, 10, 11
# rows written (or counted past the capacity) per table:
S_N_TX, S_N_CL, S_N_LI, S_N_AD, S_N_RE, S_N_PL, S_N_FN, S_N_ISA = 12, 13, 14, 15, 16, 17, 18, 19
# envelope: counts, opening segments and values copied into each transaction row
S_ST_COUNT, S_GS_ST, S_ISA_GS, S_ST_POS, S_ST_SEG, S_GS_SEG, S_ISA_SEG = range(20, 27)
S_ISA_SND_S, S_ISA_SND_E, S_ISA_RCV_S, S_ISA_RCV_E, S_ISA_CTL_S, S_ISA_CTL_E = range(27, 33)
S_GS_SND_S, S_GS_SND_E, S_GS_RCV_S, S_GS_RCV_E, S_GS_CTL_S, S_GS_CTL_E = range(33, 39)
S_GS_VER_S, S_GS_VER_E, S_GS_DATE, S_ST_CTL_S, S_ST_CTL_E = range(39, 44)
# the last DTM date read: its 8 bytes, status and days (dates repeat within claims)
S_LAST_DATE, S_LAST_DATE_STATUS, S_LAST_DAYS = 44, 45, 46
# values written to optional fields (see ``present`` in the layout)
S_N_MODS, S_N_SVC06, S_N_REVENUE, S_N_CONTROL, S_N_PAT, S_N_SUB = range(47, 53)
S_N_RENDERING, S_N_QTY, S_N_UNITS, S_N_OUNITS = range(53, 57)
# damage costs one claim: skipping to the next claim, and the rows and findings at
# the start of the current claim (its CLP), to roll back to
S_SKIP, S_CL0_SEG, S_CL0_CL, S_CL0_LI, S_CL0_AD, S_CL0_RE, S_CL0_FN, S_CL0_NOTED = range(57, 65)
S_DATES = 65  # PR_WIDTH slots of claim date fields, then PR_WIDTH of line date fields
N_ST = S_DATES + 2 * PR_WIDTH


# Steps are compiled on their own, without reference counting (they allocate
# nothing), and LLVM inlines them into the loop: inlined by Numba instead, every
# array a step gets was counted in and out once per segment (2.5x slower). Without the
# wrappers that would make them callable from Python: parse_835_nb links each step's
# code and optimises it again, wrappers included (as jit.helper).
_STEP = {"_nrt": False, "no_cpython_wrapper": True, "no_cfunc_wrapper": True}
step = njit(forceinline=True, **_STEP)
stage = njit(**_STEP)


# ----------------------------------------------------------------------------- shared steps
@helper
def note(st, fn, code, elem, tx, cl, li, vs, ve):
    """Add a finding about the current segment."""
    st[S_N_FN] = add_finding(fn, st[S_N_FN], code, st[S_SEG], elem, tx, cl, li, vs, ve, st[S_POS])


@helper
def amount_error(err, st, status, k, eb_s, eb_e):
    """Fail on element ``k``, an amount whose ``parse_cents`` status is not 0."""
    if status == 1:
        return fail(err, E_MISSING, st[S_SEG], k, st[S_POS], 0, 0, 0, 0)
    code = E_NUMBER if status == 2 else E_SUBCENT
    return fail(err, code, st[S_SEG], k, st[S_POS], 0, 0, eb_s[k], eb_e[k])


@step
def _loop_allows(tag, loop):
    """1: ``tag`` may occur in ``loop``; 0: it may not; -1: not a segment of the 835."""
    if tag == CLP or tag == LX or tag == TS3 or tag == TS2:
        return loop != LOOP_PLB
    if tag == CAS or tag == SVC or tag == AMT or tag == QTY:
        return loop == LOOP_CLAIM or loop == LOOP_LINE
    if tag == DTM or tag == REF:
        return loop != LOOP_PLB and loop != LOOP_LX
    if tag == NM1 or tag == MOA or tag == MIA:
        return loop == LOOP_CLAIM
    if tag == LQ:
        return loop == LOOP_LINE
    if tag == PLB:
        return 1
    if tag == PER:
        return loop == LOOP_HEADER or loop == LOOP_CLAIM
    if (
        tag == BPR
        or tag == TRN
        or tag == CUR
        or tag == N1
        or tag == N2
        or tag == N3
        or tag == N4
        or tag == RDM
    ):
        return loop == LOOP_HEADER
    return -1


# ----------------------------------------------------------------------------- envelope
@stage
def _interchange(buf, p, eb_s, eb_e, isa, st, err, fn):
    """ISA at ``p``: its delimiters go to ``isa`` (see ``scan.parse_isa``)."""
    if st[S_ENV] != 0 or st[S_NO_ENV] != 0:
        return fail(err, E_UNEXPECTED_SEGMENT, st[S_SEG], 0, p, st[S_ENV], 0, 0, 0)
    bad = parse_isa(buf, p, buf.shape[0], eb_s, eb_e, isa)
    if bad < 0:  # a delimiter that is not one ASCII byte: a = its byte in the ISA, b = it
        at = eb_e[16]  # the terminator, after ISA16
        if bad == -D_ELEMENT:
            at = p + 3
        elif bad == -D_REPETITION:
            at = eb_s[11]
        elif bad == -D_COMPONENT:
            at = eb_e[16] - 1
        return fail(err, E_DELIMITER, st[S_SEG], -bad, p, at - p + 1, buf[at], 0, 0)
    if bad != 0:
        return fail(err, E_BAD_ISA, st[S_SEG], bad, p, 0, 0, 0, 0)
    st[S_COMP] = isa[2]
    if isa[5] != 0:
        note(st, fn, F_ISA_WIDTH, 0, -1, -1, -1, 0, 0)
    st[S_ISA_SND_S] = eb_s[6]
    st[S_ISA_SND_E] = trim_right(buf, eb_s[6], eb_e[6])
    st[S_ISA_RCV_S] = eb_s[8]
    st[S_ISA_RCV_E] = trim_right(buf, eb_s[8], eb_e[8])
    st[S_ISA_CTL_S] = eb_s[13]
    st[S_ISA_CTL_E] = eb_e[13]
    st[S_ENV] = 1
    st[S_N_ISA] += 1
    st[S_ISA_GS] = 0
    st[S_ISA_SEG] = st[S_SEG]
    return E_OK


@stage
def _group(tag, buf, eb_s, eb_e, st, err):
    """GS, GE or IEA: open a functional group, or check the counts and control numbers."""
    seg_no, pos, env = st[S_SEG], st[S_POS], st[S_ENV]
    if tag == GS:
        if env != 1:
            return fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, env, 0, 0, 0)
        st[S_ENV] = 2
        st[S_GS_ST] = 0
        st[S_ISA_GS] += 1
        st[S_GS_SEG] = seg_no
        st[S_GS_SND_S], st[S_GS_SND_E] = eb_s[2], eb_e[2]
        st[S_GS_RCV_S], st[S_GS_RCV_E] = eb_s[3], eb_e[3]
        status, d = parse_date(buf, eb_s[4], eb_e[4])
        st[S_GS_DATE] = d if status == 0 else NULL
        st[S_GS_CTL_S], st[S_GS_CTL_E] = eb_s[6], eb_e[6]
        st[S_GS_VER_S], st[S_GS_VER_E] = eb_s[8], eb_e[8]
        return E_OK
    if tag == GE:
        if env != 2 or st[S_NO_ENV] != 0:
            return fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, env, 0, 0, 0)
        n, first = st[S_GS_ST], st[S_GS_SEG]
        if parse_uint(buf, eb_s[1], eb_e[1]) != n:
            return fail(err, E_GE_COUNT, seg_no, 1, pos, n, first, eb_s[1], eb_e[1])
        cs, ce = st[S_GS_CTL_S], st[S_GS_CTL_E]
        if not same_value(buf, eb_s[2], eb_e[2], cs, ce):
            return fail(err, E_GE_CONTROL, seg_no, 2, pos, cs, ce, eb_s[2], eb_e[2])
        st[S_ENV] = 1
        return E_OK
    # IEA
    if env != 1:
        return fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, env, 0, 0, 0)
    n, first = st[S_ISA_GS], st[S_ISA_SEG]
    if parse_uint(buf, eb_s[1], eb_e[1]) != n:
        return fail(err, E_IEA_COUNT, seg_no, 1, pos, n, first, eb_s[1], eb_e[1])
    cs, ce = st[S_ISA_CTL_S], st[S_ISA_CTL_E]
    if not same_value(buf, eb_s[2], eb_e[2], cs, ce):
        return fail(err, E_IEA_CONTROL, seg_no, 2, pos, cs, ce, eb_s[2], eb_e[2])
    st[S_ENV] = 0
    return E_OK


@stage
def _transaction(buf, eb_s, eb_e, st, err, fn, tx_s, tx_n):
    """ST: a new transaction row, with the envelope's values (a file may start at ST)."""
    seg_no, pos = st[S_SEG], st[S_POS]
    if st[S_ENV] == 0 and st[S_N_ISA] == 0 and (seg_no == 1 or st[S_NO_ENV] != 0):
        if st[S_NO_ENV] == 0:
            note(st, fn, F_NO_ENVELOPE, 0, -1, -1, -1, 0, 0)
        st[S_NO_ENV] = 1
        st[S_ENV] = 2
    if st[S_ENV] != 2:
        return fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, st[S_ENV], 0, 0, 0)
    if not is_literal(buf, eb_s[1], eb_e[1], 56, 51, 53):  # "835"
        return fail(err, E_NOT_835, seg_no, 1, pos, 0, 0, eb_s[1], eb_e[1])
    tx = st[S_N_TX]
    st[S_N_TX] = tx + 1
    init_row(tx_n, tx, NULL)
    st[S_TX] = tx
    st[S_ENV] = 3
    st[S_LOOP] = LOOP_HEADER
    st[S_ST_COUNT] = 1
    st[S_ST_POS] = pos
    st[S_ST_SEG] = seg_no
    st[S_GS_ST] += 1
    st[S_N1] = 0
    st[S_CL] = -1
    st[S_LI] = -1
    st[S_ST_CTL_S], st[S_ST_CTL_E] = eb_s[2], eb_e[2]
    set_span(tx_s, T_ISA_SENDER, tx, st[S_ISA_SND_S], st[S_ISA_SND_E])
    set_span(tx_s, T_ISA_RECEIVER, tx, st[S_ISA_RCV_S], st[S_ISA_RCV_E])
    set_span(tx_s, T_ISA_CONTROL, tx, st[S_ISA_CTL_S], st[S_ISA_CTL_E])
    set_span(tx_s, T_GS_SENDER, tx, st[S_GS_SND_S], st[S_GS_SND_E])
    set_span(tx_s, T_GS_RECEIVER, tx, st[S_GS_RCV_S], st[S_GS_RCV_E])
    set_span(tx_s, T_GS_CONTROL, tx, st[S_GS_CTL_S], st[S_GS_CTL_E])
    no_env = st[S_NO_ENV] != 0
    if st[S_GS_VER_E] > st[S_GS_VER_S] and not no_env:
        set_span(tx_s, T_VERSION, tx, st[S_GS_VER_S], st[S_GS_VER_E])
    else:
        set_span(tx_s, T_VERSION, tx, eb_s[3], eb_e[3])
    set_span(tx_s, T_ST_CONTROL, tx, st[S_ST_CTL_S], st[S_ST_CTL_E])
    set_number(tx_n, TN_GS_DATE, tx, st[S_GS_DATE] if not no_env else NULL)
    return E_OK


@stage
def _transaction_end(buf, eb_s, eb_e, st, err, fn, strict):
    """SE: the segment count and ST02. A wrong count is a finding, except with
    ``strict`` inside an envelope (or when SE01 is not a number)."""
    seg_no, pos = st[S_SEG], st[S_POS]
    said = parse_uint(buf, eb_s[1], eb_e[1])
    if said != st[S_ST_COUNT]:
        if said >= 0 and (st[S_NO_ENV] != 0 or not strict):
            note(st, fn, F_SE_COUNT, 1, st[S_TX], -1, -1, eb_s[1], eb_e[1])
        elif not strict:
            note(st, fn, F_SE_COUNT, 1, st[S_TX], -1, -1, 0, 0)
        else:
            return fail(
                err, E_SE_COUNT, seg_no, 1, pos, st[S_ST_COUNT], st[S_ST_SEG], eb_s[1], eb_e[1]
            )
    cs, ce = st[S_ST_CTL_S], st[S_ST_CTL_E]
    if not same_value(buf, eb_s[2], eb_e[2], cs, ce):
        return fail(err, E_SE_CONTROL, seg_no, 2, pos, cs, ce, eb_s[2], eb_e[2])
    st[S_ENV] = 2
    return E_OK


# ----------------------------------------------------------------------------- header
@step
def _payment(buf, eb_s, eb_e, ne, st, err, fn, tx_s, tx_n):
    """BPR: amount, payment method and date (BPR16; BPR15 when the segment is one short)."""
    tx = st[S_TX]
    status, v = parse_cents(buf, eb_s[2], eb_e[2])
    if status != 0:
        return amount_error(err, st, status, 2, eb_s, eb_e)
    d = NULL
    if ne > 16:
        ds, dv = parse_date(buf, eb_s[16], eb_e[16])
        if ds == 0:
            d = dv
        else:
            code = F_INVALID_DATE if ds == 2 else F_BPR_NO_DATE
            note(st, fn, code, 16, tx, -1, -1, eb_s[16], eb_e[16])
    else:
        ds, dv = parse_date(buf, eb_s[15], eb_e[15])
        if ds == 0 and ne == 16:
            d = dv
            note(st, fn, F_BPR_DATE_POSITION, 15, tx, -1, -1, eb_s[15], eb_e[15])
        else:
            note(st, fn, F_BPR_NO_DATE, 16, tx, -1, -1, 0, 0)
    set_number(tx_n, TN_PAYMENT, tx, v)
    set_number(tx_n, TN_SEG, tx, st[S_SEG])
    set_number(tx_n, TN_PAY_DATE, tx, d)
    set_span(tx_s, T_HANDLING, tx, eb_s[1], eb_e[1])
    set_span(tx_s, T_CREDIT_DEBIT, tx, eb_s[3], eb_e[3])
    set_span(tx_s, T_METHOD, tx, eb_s[4], eb_e[4])
    return E_OK


@step
def _parties(tag, buf, eb_s, eb_e, st, tx_s):
    """TRN (trace number) and N1 (payer PR, payee PE); REF*2U follows N1*PR."""
    tx = st[S_TX]
    if tag == TRN:
        set_span(tx_s, T_TRACE, tx, eb_s[2], eb_e[2])
        set_span(tx_s, T_TRACE_ORIG, tx, eb_s[3], eb_e[3])
    elif tag == N1:
        st[S_N1] = 0
        if is_literal(buf, eb_s[1], eb_e[1], 80, 82, 0):  # PR payer
            st[S_N1] = 1
            set_span(tx_s, T_PAYER_NAME, tx, eb_s[2], eb_e[2])
            set_span(tx_s, T_PAYER_QUAL, tx, eb_s[3], eb_e[3])
            set_span(tx_s, T_PAYER_ID, tx, eb_s[4], eb_e[4])
        elif is_literal(buf, eb_s[1], eb_e[1], 80, 69, 0):  # PE payee
            st[S_N1] = 2
            set_span(tx_s, T_PAYEE_NAME, tx, eb_s[2], eb_e[2])
            set_span(tx_s, T_PAYEE_QUAL, tx, eb_s[3], eb_e[3])
            set_span(tx_s, T_PAYEE_ID, tx, eb_s[4], eb_e[4])


# ----------------------------------------------------------------------------- claims
@step
def _claim(buf, eb_s, eb_e, st, err, cl_s, cl_n, cl_i):
    """CLP: a new claim row (CLP05, patient responsibility, may be empty)."""
    seg_no = st[S_SEG]
    for k in (1, 2):
        if eb_e[k] <= eb_s[k]:
            return fail(err, E_MISSING, seg_no, k, st[S_POS], 0, 0, 0, 0)
    cl = st[S_N_CL]
    st[S_N_CL] = cl + 1
    st[S_CL] = cl
    st[S_LI] = -1
    st[S_LINE_NO] = 0
    st[S_LOOP] = LOOP_CLAIM
    for k in (3, 4, 5):
        status, v = parse_cents(buf, eb_s[k], eb_e[k])
        if status == 1 and k == 5:
            v = NULL
        elif status != 0:
            return amount_error(err, st, status, k, eb_s, eb_e)
        set_number(cl_n, CN_CHARGE + (k - 3), cl, v)
    set_number(cl_i, CI_TX, cl, st[S_TX])
    set_number(cl_i, CI_SEG, cl, seg_no)
    set_span(cl_s, C_ENCOUNTER, cl, eb_s[1], eb_e[1])
    set_span(cl_s, C_STATUS, cl, eb_s[2], eb_e[2])
    set_span(cl_s, C_FILING, cl, eb_s[6], eb_e[6])
    set_span(cl_s, C_PAYER_CLAIM, cl, eb_s[7], eb_e[7])
    set_span(cl_s, C_FACILITY, cl, eb_s[8], eb_e[8])
    set_span(cl_s, C_FREQUENCY, cl, eb_s[9], eb_e[9])
    return E_OK


@step
def _person(buf, eb_s, eb_e, st, cl_s):
    """NM1: patient (QC), insured (IL) or rendering provider (82) of the claim."""
    cl = st[S_CL]
    who = -1
    if is_literal(buf, eb_s[1], eb_e[1], 81, 67, 0):  # QC patient
        who = C_PAT_LAST
        st[S_N_PAT] += 1
    elif is_literal(buf, eb_s[1], eb_e[1], 73, 76, 0):  # IL insured
        who = C_SUB_LAST
        st[S_N_SUB] += 1
    elif is_literal(buf, eb_s[1], eb_e[1], 56, 50, 0):  # 82 rendering provider
        set_span(cl_s, C_RENDERING, cl, eb_s[9], eb_e[9])
        st[S_N_RENDERING] += 1
    if who >= 0:
        set_span(cl_s, who, cl, eb_s[3], eb_e[3])
        set_span(cl_s, who + 1, cl, eb_s[4], eb_e[4])
        set_span(cl_s, who + 2, cl, eb_s[5], eb_e[5])
        set_span(cl_s, who + 3, cl, eb_s[8], eb_e[8])
        set_span(cl_s, who + 4, cl, eb_s[9], eb_e[9])


@step
def _adjustments(buf, eb_s, eb_e, ne, st, err, ad_s, ad_n, ad_i, ad_f):
    """CAS: one row per (reason, amount, quantity) triplet, of the claim or the line."""
    seg_no, pos = st[S_SEG], st[S_POS]
    if eb_e[1] <= eb_s[1]:
        return fail(err, E_MISSING, seg_no, 1, pos, 0, 0, 0, 0)
    if ne > 20:
        return fail(err, E_TOO_MANY_ELEMENTS, seg_no, 20, pos, 0, 0, 0, 0)
    cl = st[S_CL]
    line = st[S_LI] if st[S_LOOP] == LOOP_LINE else NULL32
    for t in range(6):
        k = 2 + 3 * t
        if k >= ne:
            break
        has_code = eb_e[k] > eb_s[k]
        status, v = parse_cents(buf, eb_s[k + 1], eb_e[k + 1])
        qs, q = parse_decimal(buf, eb_s[k + 2], eb_e[k + 2])
        if not has_code:
            if status == 1 and qs == 1:
                continue
            return fail(err, E_MISSING, seg_no, k, pos, 0, 0, 0, 0)
        if status != 0:
            return amount_error(err, st, status, k + 1, eb_s, eb_e)
        if qs == 2:
            return fail(err, E_QUANTITY, seg_no, k + 2, pos, 0, 0, eb_s[k + 2], eb_e[k + 2])
        a = st[S_N_AD]
        st[S_N_AD] = a + 1
        if a < ad_n.shape[1]:
            ad_i[AI_CLAIM, a] = cl
            ad_i[AI_LINE, a] = line
            ad_i[AI_SEG, a] = seg_no
            ad_n[AN_AMOUNT, a] = v
            if qs == 0:
                ad_f[AF_QTY, a] = q if q != 0.0 else -0.0
                st[S_N_QTY] += 1
            set_span(ad_s, A_GROUP, a, eb_s[1], eb_e[1])
            set_span(ad_s, A_CARC, a, eb_s[k], eb_e[k])
    return E_OK


@step
def _remarks(tag, buf, eb_s, eb_e, ne, st, err, re_s, re_i):
    """MOA/MIA (claim remark codes, up to 5) and LQ (one remark of the line)."""
    seg_no = st[S_SEG]
    cl = st[S_CL]
    if tag == LQ:
        for k in (1, 2):
            if eb_e[k] <= eb_s[k]:
                return fail(err, E_MISSING, seg_no, k, st[S_POS], 0, 0, 0, 0)
        r = st[S_N_RE]
        st[S_N_RE] = r + 1
        if r < re_i.shape[1]:
            re_i[RI_CLAIM, r] = cl
            re_i[RI_LINE, r] = st[S_LI]
            re_i[RI_SOURCE, r] = SOURCE_LQ
            re_i[RI_SEG, r] = seg_no
            set_span(re_s, R_QUAL, r, eb_s[1], eb_e[1])
            set_span(re_s, R_CODE, r, eb_s[2], eb_e[2])
        return E_OK
    for j in range(5):
        if tag == MOA:
            k = 3 + j
        else:
            k = 5 if j == 0 else 19 + j
        if k < ne and eb_e[k] > eb_s[k]:
            r = st[S_N_RE]
            st[S_N_RE] = r + 1
            if r < re_i.shape[1]:
                re_i[RI_CLAIM, r] = cl
                re_i[RI_LINE, r] = NULL32
                re_i[RI_SOURCE, r] = SOURCE_MOA if tag == MOA else SOURCE_MIA
                re_i[RI_SEG, r] = seg_no
                set_span(re_s, R_CODE, r, eb_s[k], eb_e[k])
    return E_OK


# ----------------------------------------------------------------------------- lines
@step
def _service_line(buf, eb_s, eb_e, ne, cb, st, err, fn, li_s, li_n, li_i, li_f):
    """SVC: a new line row; a malformed SVC is read as far as it goes, with a finding."""
    seg_no, pos = st[S_SEG], st[S_POS]
    li = st[S_N_LI]
    st[S_N_LI] = li + 1
    st[S_LI] = li
    st[S_LINE_NO] += 1
    st[S_LOOP] = LOOP_LINE
    bad = 0
    charge = NULL
    paid = NULL
    for k in (2, 3):
        status, v = parse_cents(buf, eb_s[k], eb_e[k])
        if status == 1:
            v = NULL
            if bad == 0:
                bad = k
        elif status != 0:
            return amount_error(err, st, status, k, eb_s, eb_e)
        if k == 2:
            charge = v
        else:
            paid = v
    us, units = parse_decimal(buf, eb_s[5], eb_e[5])
    if us == 2:
        return fail(err, E_QUANTITY, seg_no, 5, pos, 0, 0, eb_s[5], eb_e[5])
    os_, ounits = parse_decimal(buf, eb_s[7], eb_e[7])
    if os_ == 2:
        return fail(err, E_QUANTITY, seg_no, 7, pos, 0, 0, eb_s[7], eb_e[7])
    tx, cl = st[S_TX], st[S_CL]
    comp = st[S_COMP]
    nc, sep, odd = split_composite(buf, eb_s[1], eb_e[1], comp, cb)
    if nc < 2 or cb[3] <= cb[2] or cb[1] <= cb[0]:
        bad = 1
    if odd and st[S_COMP_NOTED] == 0:
        st[S_COMP_NOTED] = 1
        note(st, fn, F_COMPONENT_SEPARATOR, 1, tx, cl, li, eb_s[1], eb_e[1])
    if li < li_n.shape[1]:
        li_i[LI_CLAIM, li] = cl
        li_n[LN_CHARGE, li] = charge
        li_n[LN_PAID, li] = paid
        li_n[LN_ALLOWED, li] = NULL
        li_i[LI_SEG, li] = seg_no
        li_i[LI_NUMBER, li] = st[S_LINE_NO]
        if us == 0:
            li_f[LF_UNITS, li] = units if units != 0.0 else -0.0
            st[S_N_UNITS] += 1
        if os_ == 0:
            li_f[LF_OUNITS, li] = ounits if ounits != 0.0 else -0.0
            st[S_N_OUNITS] += 1
        set_span(li_s, L_QUAL, li, cb[0], cb[1])
        if nc >= 2:
            set_span(li_s, L_CODE, li, cb[2], cb[3])
        if nc >= 3:
            last = min(nc, 6) - 1
            set_span(li_s, L_MODS, li, cb[4], cb[2 * last + 1])
            st[S_N_MODS] += 1
            li_i[LI_MODSEP, li] = sep + 1
        set_span(li_s, L_REVENUE, li, eb_s[4], eb_e[4])
        st[S_N_REVENUE] += eb_e[4] > eb_s[4]
    if eb_e[6] > eb_s[6]:  # SVC06: the procedure as submitted
        st[S_N_SVC06] += 1
        nc, sep, odd = split_composite(buf, eb_s[6], eb_e[6], comp, cb)
        if (nc < 2 or cb[3] <= cb[2]) and bad == 0:
            bad = 6
        set_span(li_s, L_OQUAL, li, cb[0], cb[1])
        if nc >= 2:
            set_span(li_s, L_OCODE, li, cb[2], cb[3])
        if nc >= 3:
            last = min(nc, 6) - 1
            set_span(li_s, L_OMODS, li, cb[4], cb[2 * last + 1])
            set_number(li_i, LI_OMODSEP, li, sep + 1)
    if ne > 8 and bad == 0:
        bad = 8
    if bad != 0:
        note(st, fn, F_SVC_MALFORMED, bad, tx, cl, li, eb_s[1], eb_e[ne - 1])
    return E_OK


@step
def _dates(buf, eb_s, eb_e, st, fn, tx_n, cl_i, li_i):
    """DTM: production date (header), statement and received dates (claim), service dates."""
    loop = st[S_LOOP]
    q = parse_uint(buf, eb_s[1], eb_e[1])
    target = -1
    if loop == LOOP_HEADER and q == 405:
        target = TN_PROD_DATE
    elif loop == LOOP_CLAIM and q == 232:
        target = CI_FROM
    elif loop == LOOP_CLAIM and q == 233:
        target = CI_TO
    elif loop == LOOP_CLAIM and q == 50:
        target = CI_RECEIVED
    elif loop == LOOP_LINE and q == 472:
        target = LI_DATE
    elif loop == LOOP_LINE and q == 150:
        target = LI_START
    elif loop == LOOP_LINE and q == 151:
        target = LI_END
    if target < 0:
        return
    if eb_e[2] - eb_s[2] == 8 and eb_s[2] + 8 <= buf.shape[0]:
        w = np.int64(load8(buf, eb_s[2]))
        if w != st[S_LAST_DATE]:
            st[S_LAST_DATE_STATUS], st[S_LAST_DAYS] = parse_date(buf, eb_s[2], eb_e[2])
            st[S_LAST_DATE] = w
        status, d = st[S_LAST_DATE_STATUS], st[S_LAST_DAYS]
    else:
        status, d = parse_date(buf, eb_s[2], eb_e[2])
    if status == 2:
        note(st, fn, F_INVALID_DATE, 2, st[S_TX], st[S_CL], st[S_LI], eb_s[2], eb_e[2])
    if status == 0:
        if loop == LOOP_HEADER:
            set_number(tx_n, target, st[S_TX], d)
        elif loop == LOOP_CLAIM:
            set_number(cl_i, target, st[S_CL], d + DATE_BIAS)
            st[S_DATES + target] += 1
        else:
            set_number(li_i, target, st[S_LI], d + DATE_BIAS)
            st[S_DATES + PR_WIDTH + target] += 1


@step
def _reference_or_amount(tag, buf, eb_s, eb_e, st, err, tx_s, li_s, li_n):
    """REF (payer id 2U in the header, line control number 6R) and AMT (B6: allowed)."""
    loop = st[S_LOOP]
    if tag == REF:
        if loop == LOOP_HEADER and st[S_N1] == 1 and is_literal(buf, eb_s[1], eb_e[1], 50, 85, 0):
            set_span(tx_s, T_PAYER_REF, st[S_TX], eb_s[2], eb_e[2])  # REF*2U
        elif loop == LOOP_LINE and is_literal(buf, eb_s[1], eb_e[1], 54, 82, 0):
            set_span(li_s, L_CONTROL, st[S_LI], eb_s[2], eb_e[2])  # REF*6R
            st[S_N_CONTROL] += 1
        return E_OK
    status, v = parse_cents(buf, eb_s[2], eb_e[2])
    if status != 0:
        return amount_error(err, st, status, 2, eb_s, eb_e)
    if loop == LOOP_LINE and is_literal(buf, eb_s[1], eb_e[1], 66, 54, 0):  # B6
        set_number(li_n, LN_ALLOWED, st[S_LI], v)
    return E_OK


# ----------------------------------------------------------------------------- trailer
@step
def _provider_adjustments(buf, eb_s, eb_e, ne, cb, st, err, fn, pl_s, pl_n, pl_i):
    """PLB: one row per (reason[:reference], amount) pair."""
    seg_no, pos, tx = st[S_SEG], st[S_POS], st[S_TX]
    st[S_LOOP] = LOOP_PLB
    st[S_LI] = -1
    if eb_e[1] <= eb_s[1]:
        return fail(err, E_MISSING, seg_no, 1, pos, 0, 0, 0, 0)
    ds, d = parse_date(buf, eb_s[2], eb_e[2])
    if ds == 2:
        note(st, fn, F_INVALID_DATE, 2, tx, -1, -1, eb_s[2], eb_e[2])
    if ne > 15:
        return fail(err, E_TOO_MANY_ELEMENTS, seg_no, 15, pos, 0, 0, 0, 0)
    for t in range(6):
        k = 3 + 2 * t
        if k >= ne:
            break
        has_code = eb_e[k] > eb_s[k]
        status, v = parse_cents(buf, eb_s[k + 1], eb_e[k + 1])
        if not has_code:
            if status == 1:
                continue
            return fail(err, E_MISSING, seg_no, k, pos, 0, 0, 0, 0)
        if status != 0:
            return amount_error(err, st, status, k + 1, eb_s, eb_e)
        r = st[S_N_PL]
        st[S_N_PL] = r + 1
        if r < pl_n.shape[1]:
            nc, sep, odd = split_composite(buf, eb_s[k], eb_e[k], st[S_COMP], cb)
            pl_i[PI_TX, r] = tx
            pl_i[PI_DATE, r] = d + DATE_BIAS if ds == 0 else 0
            pl_i[PI_SEG, r] = seg_no
            pl_n[PN_AMOUNT, r] = v
            set_span(pl_s, P_PROVIDER, r, eb_s[1], eb_e[1])
            set_span(pl_s, P_REASON, r, cb[0], cb[1])
            if nc >= 2:
                set_span(pl_s, P_REFERENCE, r, cb[2], cb[2 * nc - 1])
    return E_OK


@stage
def _finish(st, last_ne, err, counts, present):
    """Check the file did not end inside an envelope; write row counts and presence."""
    seg_no, env = st[S_SEG], st[S_ENV]
    if seg_no == 0:
        return fail(err, E_EMPTY, 0, 0, 0, 0, 0, 0, 0)
    if env == 3 or (env != 0 and st[S_NO_ENV] == 0):
        return fail(
            err, E_TRUNCATED, seg_no, last_ne - 1, st[S_POS], env, st[S_ST_POS],
            st[S_ST_CTL_S], st[S_ST_CTL_E],
        )  # fmt: skip
    counts[K_TX] = st[S_N_TX]
    counts[K_CLM] = st[S_N_CL]
    counts[K_LIN] = st[S_N_LI]
    counts[K_ADJ] = st[S_N_AD]
    counts[K_REM] = st[S_N_RE]
    counts[K_PLB] = st[S_N_PL]
    counts[K_FND] = st[S_N_FN]
    counts[K_SEG] = seg_no
    counts[K_ISA] = st[S_N_ISA]
    for f in range(present.shape[1]):
        present[PR_CL_S, f] = 1
        present[PR_LI_S, f] = 1
        present[PR_CL_I, f] = st[S_DATES + f]
        present[PR_LI_I, f] = st[S_DATES + PR_WIDTH + f]
    present[PR_AD_F, AF_QTY] = st[S_N_QTY]
    present[PR_LI_F, LF_UNITS] = st[S_N_UNITS]
    present[PR_LI_F, LF_OUNITS] = st[S_N_OUNITS]
    present[PR_LI_S, L_MODS] = st[S_N_MODS]
    present[PR_LI_S, L_REVENUE] = st[S_N_REVENUE]
    for f in (L_OQUAL, L_OCODE, L_OMODS):
        present[PR_LI_S, f] = st[S_N_SVC06]
    present[PR_LI_S, L_CONTROL] = st[S_N_CONTROL]
    for f in range(5):
        present[PR_CL_S, C_PAT_LAST + f] = st[S_N_PAT]
        present[PR_CL_S, C_SUB_LAST + f] = st[S_N_SUB]
    present[PR_CL_S, C_RENDERING] = st[S_N_RENDERING]
    return E_OK


# ----------------------------------------------------------------------------- damage
@step
def _ends_claim(tag):
    """``tag`` closes a claim (the next claim, LX, PLB, SE or an envelope segment)."""
    return (
        tag == CLP or tag == LX or tag == TS3 or tag == TS2 or tag == PLB or tag == SE
        or tag == ST or tag == GS or tag == GE or tag == IEA
    )  # fmt: skip


@stage
def _skip_claim(st, err, fn, cl_s, cl_i, li_s, li_i, li_f, ad_s, ad_f, re_s):
    """Damage inside a claim (the error in ``err``): leave the claim out, go on.

    The claim's rows (claim, lines, adjustments, remarks) and findings are rolled
    back to its CLP; the zero-initialised arrays get their zeros back, so the next
    claim in those rows inherits nothing. One ``F_CLAIM_SKIPPED`` finding takes
    their place: the damaged segment, its element, the error code (``FN_VS``)
    and the CLP's segment number (``FN_VE``). The reader then skips segments up
    to the next one that closes a claim (``_ends_claim``).
    """
    c0, l0, a0, r0 = st[S_CL0_CL], st[S_CL0_LI], st[S_CL0_AD], st[S_CL0_RE]
    clear_rows(cl_s, c0, st[S_N_CL])
    clear_rows(cl_i, c0, st[S_N_CL])
    clear_rows(li_s, l0, st[S_N_LI])
    clear_rows(li_i, l0, st[S_N_LI])
    clear_rows(li_f, l0, st[S_N_LI])
    clear_rows(ad_s, a0, st[S_N_AD])
    clear_rows(ad_f, a0, st[S_N_AD])
    clear_rows(re_s, r0, st[S_N_RE])
    st[S_N_CL], st[S_N_LI], st[S_N_AD], st[S_N_RE] = c0, l0, a0, r0
    st[S_N_FN] = st[S_CL0_FN]
    st[S_COMP_NOTED] = st[S_CL0_NOTED]
    st[S_N_FN] = add_finding(
        fn, st[S_N_FN], F_CLAIM_SKIPPED, err[ERR_SEG], err[ERR_ELEM], st[S_TX], -1, -1,
        err[ERR_CODE], st[S_CL0_SEG], err[ERR_POS],
    )  # fmt: skip
    for f in range(N_ERR):
        err[f] = 0
    st[S_SKIP] = 1
    st[S_CL] = -1
    st[S_LI] = -1
    st[S_LOOP] = LOOP_LX


@stage
def _damaged(
    buf, p, n, t1, t2, ne, tag, eb_s, eb_e, strict, st, err, fn, cl_s, cl_i, li_s, li_i, li_f,
    ad_s, ad_f, re_s,
):  # fmt: skip
    """A segment with too many elements (``ne < 0``) or no valid id (``tag < 0``),
    or any segment while a damaged claim is skipped.

    Returns (next position, action): 0 skip the segment, 1 read it (it ends the
    skipped claim), 2 fail with the error in ``err``. ``st[S_SKIP]`` is 2 after
    damage found by a step: the claim is rolled back here first (one call site
    in the loop).
    """
    if st[S_SKIP] == 2:
        _skip_claim(st, err, fn, cl_s, cl_i, li_s, li_i, li_f, ad_s, ad_f, re_s)
    seg_no, pos = st[S_SEG], st[S_POS]
    code = E_OK
    if ne < 0:
        p = skip_segment(buf, p, n, t1, t2)
        code = fail(err, E_TOO_MANY_ELEMENTS, seg_no, MAXE, pos, 0, 0, 0, 0)
    elif tag < 0:
        code = fail(err, E_SEGMENT_ID, seg_no, 0, pos, 0, 0, eb_s[0], eb_e[0])
    if st[S_SKIP] != 0:  # the rest of a damaged claim
        if code != E_OK or not _ends_claim(tag):
            st[S_ST_COUNT] += 1
            return p, 0
        st[S_SKIP] = 0
        for f in range(N_ERR):
            err[f] = 0
        return p, 1
    loop = st[S_LOOP]
    if strict or st[S_ENV] != 3 or (loop != LOOP_CLAIM and loop != LOOP_LINE):
        return p, 2
    st[S_ST_COUNT] += 1
    _skip_claim(st, err, fn, cl_s, cl_i, li_s, li_i, li_f, ad_s, ad_f, re_s)
    return p, 0


# ----------------------------------------------------------------------------- the parser
@njit
def parse_835_nb(
    buf, d_esep, d_comp, d_term, strict, counts, err, tx_s, tx_n, cl_s, cl_n, cl_i, li_s, li_n,
    li_i, li_f, ad_s, ad_n, ad_i, ad_f, re_s, re_i, pl_s, pl_n, pl_i, fn, present,
):  # fmt: skip
    """Parse one 835 file; returns an error code (0 = read) and fills the arrays.

    Everything is checked; rows are written while they fit and ``counts``
    holds the actual numbers of rows (also those past the capacity of an array:
    the caller then retries with larger arrays). Span arrays must be zeroed;
    number rows are initialised here. The delimiters ``d_*`` are those of a
    file without an ISA header (an ISA sets its own). Damage inside a claim
    costs that claim (a finding, see ``_skip_claim``), and a wrong SE count is
    a finding, unless ``strict``: then both are errors.
    """
    eb_s = np.zeros(MAXE + 1, np.int64)  # element boundaries of the current segment
    eb_e = np.zeros(MAXE + 1, np.int64)
    cb = np.zeros(16, np.int64)  # component boundaries of a composite element
    isa = np.zeros(ISA_OUT, np.int64)  # delimiters read from an ISA
    st = np.zeros(N_ST, np.int64)
    st[S_COMP] = d_comp
    st[S_LOOP] = LOOP_HEADER
    st[S_TX] = st[S_CL] = st[S_LI] = -1
    st[S_GS_DATE] = NULL
    st[S_LAST_DATE_STATUS] = 2
    n = buf.shape[0]
    p = 3 if n >= 3 and buf[0] == 0xEF and buf[1] == 0xBB and buf[2] == 0xBF else 0
    esep = d_esep
    t1, t2 = terminators(d_term)
    lead = -1  # a byte that starts every segment (see scan.lead_after)
    last_ne = np.int64(1)  # not a literal: _finish compiles once
    dirty = MAXE + 1  # eb_* beyond the last segment's elements are zeroed up to here
    while True:
        p = skip_ws(buf, p, n)
        # the lead byte, -1 when there is none (never a byte): written out here, as a
        # helper that first tested lead >= 0 it cost 15% of the parse (measured)
        if p < n and buf[p] == lead:
            p = skip_ws(buf, p + 1, n)
        if p >= n:
            break
        st[S_SEG] += 1
        st[S_POS] = p
        if p + 3 < n and buf[p] == 73 and buf[p + 1] == 83 and buf[p + 2] == 65:  # ISA
            if not is_alnum(buf[p + 3]):
                code = _interchange(buf, p, eb_s, eb_e, isa, st, err, fn)
                if code != E_OK:
                    return code
                esep = isa[0]
                t1, t2 = terminators(isa[3])
                lead = isa[6]
                dirty = 17
                p = isa[4]
                continue
        seg_no, pos = st[S_SEG], p
        p, ne = split_elements(buf, p, n, esep, t1, t2, eb_s, eb_e)
        tag = segment_tag(buf, eb_s[0], eb_e[0]) if ne > 0 else -1
        if tag < 0 or st[S_SKIP] != 0:  # rare: off the path of every segment
            p, action = _damaged(
                buf, p, n, t1, t2, ne, tag, eb_s, eb_e, strict, st, err, fn, cl_s, cl_i,
                li_s, li_i, li_f, ad_s, ad_f, re_s,
            )  # fmt: skip
            if action == 2:
                return err[ERR_CODE]
            if action == 0:
                continue
        last_ne = ne
        for k in range(ne, dirty):
            eb_s[k] = 0
            eb_e[k] = 0
        dirty = ne
        # ---------------------------------------------------------------- envelope
        if tag == GS or tag == GE or tag == IEA:
            code = _group(tag, buf, eb_s, eb_e, st, err)
        elif tag == ST:
            code = _transaction(buf, eb_s, eb_e, st, err, fn, tx_s, tx_n)
            if seg_no == 1 and t1 == 10:  # no ISA: see scan.lead_after
                lead = lead_after(buf, p, n, esep, st[S_COMP])
        elif st[S_ENV] != 3:
            code = fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, st[S_ENV], 0, 0, 0)
        elif tag == SE:
            st[S_ST_COUNT] += 1
            code = _transaction_end(buf, eb_s, eb_e, st, err, fn, strict)
        else:
            # ------------------------------------------------------------ loops
            # Each segment goes to its step when the loop allows it (the same rules as
            # _loop_allows, which is only asked about the rest: one chain of tests per
            # segment instead of two measured ~5% faster).
            st[S_ST_COUNT] += 1
            loop = st[S_LOOP]
            in_claim = loop == LOOP_CLAIM or loop == LOOP_LINE
            code = E_OK
            if tag == CLP and loop != LOOP_PLB:
                st[S_CL0_SEG], st[S_CL0_CL], st[S_CL0_LI] = seg_no, st[S_N_CL], st[S_N_LI]
                st[S_CL0_AD], st[S_CL0_RE], st[S_CL0_FN] = st[S_N_AD], st[S_N_RE], st[S_N_FN]
                st[S_CL0_NOTED] = st[S_COMP_NOTED]
                code = _claim(buf, eb_s, eb_e, st, err, cl_s, cl_n, cl_i)
                in_claim = True  # a damaged CLP costs its own claim
            elif tag == CAS and in_claim:
                code = _adjustments(buf, eb_s, eb_e, ne, st, err, ad_s, ad_n, ad_i, ad_f)
            elif tag == SVC and in_claim:
                code = _service_line(buf, eb_s, eb_e, ne, cb, st, err, fn, li_s, li_n, li_i, li_f)
            elif tag == DTM and loop != LOOP_PLB and loop != LOOP_LX:
                _dates(buf, eb_s, eb_e, st, fn, tx_n, cl_i, li_i)
            elif (tag == REF and loop != LOOP_PLB and loop != LOOP_LX) or (
                tag == AMT and in_claim
            ):
                code = _reference_or_amount(tag, buf, eb_s, eb_e, st, err, tx_s, li_s, li_n)
            elif tag == NM1 and loop == LOOP_CLAIM:
                _person(buf, eb_s, eb_e, st, cl_s)
            elif ((tag == MOA or tag == MIA) and loop == LOOP_CLAIM) or (
                tag == LQ and loop == LOOP_LINE
            ):
                code = _remarks(tag, buf, eb_s, eb_e, ne, st, err, re_s, re_i)
            elif tag == PLB:
                code = _provider_adjustments(
                    buf, eb_s, eb_e, ne, cb, st, err, fn, pl_s, pl_n, pl_i
                )
            elif (tag == LX or tag == TS3 or tag == TS2) and loop != LOOP_PLB:
                st[S_LOOP] = LOOP_LX
                st[S_CL] = -1
                st[S_LI] = -1
            elif tag == BPR and loop == LOOP_HEADER:
                code = _payment(buf, eb_s, eb_e, ne, st, err, fn, tx_s, tx_n)
            elif (tag == TRN or tag == N1) and loop == LOOP_HEADER:
                _parties(tag, buf, eb_s, eb_e, st, tx_s)
            else:  # out of place, not of the 835, or nothing to read (QTY, PER, N3, ...)
                allowed = _loop_allows(tag, loop)
                if allowed < 0:
                    code = fail(err, E_UNKNOWN_SEGMENT, seg_no, 0, pos, 0, 0, eb_s[0], eb_e[0])
                elif allowed == 0:
                    code = fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, 10 + loop, 0, 0, 0)
            if code != E_OK and in_claim and not strict and tag != PLB:
                st[S_SKIP] = 2  # the claim is rolled back at the next segment (_damaged)
                code = E_OK
        if code != E_OK:
            return code
    return _finish(st, last_ne, err, counts, present)
