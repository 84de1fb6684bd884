"""The 837 claim parser: bytes in, offsets and typed columns out, one pass.

Built from the 835 parser's pieces (``scan.split_elements``/``parse_isa``,
``fields`` readers, ``buffers`` writers, the envelope error codes of
``layout``); only the loops differ. Patient and subscriber fields are kept as
spans, for the wrapper to turn into salted keys: nothing here copies them.
"""

from __future__ import annotations

import numpy as np

from ledgerkit._kernels._njit import njit
from ledgerkit._kernels.x12.buffers import add_finding, fail, init_row, set_number, set_span
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
from ledgerkit._kernels.x12.layout import (
    D_COMPONENT,
    D_ELEMENT,
    D_REPETITION,
    DATE_BIAS,
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
    F_COMPONENT_SEPARATOR,
    F_INVALID_DATE,
    F_ISA_WIDTH,
    F_NO_ENVELOPE,
    F_SE_COUNT,
    GE,
    GS,
    IEA,
    ISA_OUT,
    MAXE,
    NULL,
    NULL32,
    SE,
    ST,
)
from ledgerkit._kernels.x12.layout_837 import (
    AMT,
    BHT,
    C_ATTENDING,
    C_BILLING_NPI,
    C_BILLING_TAX_ID,
    C_FACILITY,
    C_FACILITY_ID,
    C_FACILITY_QUAL,
    C_FILING,
    C_FREQUENCY,
    C_ID,
    C_ORIGINAL_REF,
    C_PAT_LAST,
    C_PAYER_ID,
    C_PAYER_NAME,
    C_PRIOR_AUTH,
    C_RELATIONSHIP,
    C_RENDERING,
    C_RESPONSIBILITY,
    C_SUB_LAST,
    CAS,
    CI_FROM,
    CI_SEG,
    CI_SVC_FROM,
    CI_SVC_TO,
    CI_TO,
    CI_TX,
    CLM,
    CN_CHARGE,
    D_CODE,
    D_QUAL,
    DI_CLAIM,
    DI_POSITION,
    DI_SEG,
    DTP,
    HI,
    HL,
    L_CODE,
    L_CONTROL,
    L_MODS,
    L_NDC,
    L_PLACE,
    L_POINTERS,
    L_QUAL,
    L_RENDERING,
    L_REVENUE,
    L_UNIT_BASIS,
    LF_UNITS,
    LI_CLAIM,
    LI_FROM,
    LI_MODSEP,
    LI_NUMBER,
    LI_PTRSEP,
    LI_SEG,
    LI_TO,
    LIN,
    LN_CHARGE,
    LOOP_BILLING,
    LOOP_CLAIM,
    LOOP_HEADER,
    LOOP_LINE,
    LOOP_LINE_ADJUDICATION,
    LOOP_OTHER_PAYER,
    LOOP_PATIENT,
    LOOP_SUBSCRIBER,
    LX,
    MAX_OTHER_PAYERS,
    N_CS,
    NM1,
    O_FILING,
    O_PAYER_ID,
    O_PAYER_NAME,
    O_RESPONSIBILITY,
    OI_CLAIM,
    OI_INDEX,
    OI_SEG,
    P_AMOUNT_QUAL,
    P_CARC,
    P_GROUP,
    P_PAYER_ID,
    P_PROC_CODE,
    P_PROC_QUAL,
    P_RESPONSIBILITY,
    PF_QUANTITY,
    PI_CLAIM,
    PI_DATE,
    PI_LINE,
    PI_OTHER,
    PI_SEG,
    PI_SOURCE,
    PN_AMOUNT,
    Q_CLM,
    Q_DX,
    Q_FND,
    Q_LIN,
    Q_OTHER,
    Q_PRIOR,
    Q_SEG,
    Q_TX,
    REF,
    SBR,
    SOURCE_AMT,
    SOURCE_CAS,
    SOURCE_SVD,
    SV1,
    SV2,
    SVD,
    X_BHT_REFERENCE,
    X_CLAIM_OR_ENC,
    X_GS_CONTROL,
    X_ISA_CONTROL,
    X_ISA_RECEIVER,
    X_ISA_SENDER,
    X_PURPOSE,
    X_RECEIVER_ID,
    X_RECEIVER_NAME,
    X_ST_CONTROL,
    X_SUBMITTER_ID,
    X_VERSION,
    XN_CREATED,
    XN_GS_DATE,
    XN_SEG,
)
from ledgerkit._kernels.x12.scan import parse_isa, split_composite, split_elements, terminators

# Context spans copied onto each claim (set by the loops before CLM).
_CONTEXT_FIELDS = (
    C_RESPONSIBILITY, C_RELATIONSHIP, C_FILING, C_PAYER_NAME, C_PAYER_ID, C_BILLING_NPI,
    C_BILLING_TAX_ID,
    C_SUB_LAST, C_SUB_LAST + 1, C_SUB_LAST + 2, C_SUB_LAST + 3, C_SUB_LAST + 4,
    C_PAT_LAST, C_PAT_LAST + 1, C_PAT_LAST + 2, C_PAT_LAST + 3, C_PAT_LAST + 4,
)  # fmt: skip


@njit
def _ctx_set(ctx, f, s, e):
    ctx[2 * f] = s
    ctx[2 * f + 1] = e


@njit
def _ctx_clear(ctx, first, count):
    for f in range(first, first + count):
        ctx[2 * f] = 0
        ctx[2 * f + 1] = 0


@njit
def _person(ctx, first, eb_s, eb_e):
    """NM103 last, NM104 first, NM105 middle, NM108 id qualifier, NM109 id."""
    for j, el in enumerate((3, 4, 5, 8, 9)):
        _ctx_set(ctx, first + j, eb_s[el], eb_e[el])


@njit
def parse_dtp(buf, fmt_s, fmt_e, s, e):
    """(status, from, to) of DTP02/DTP03: D8 one date, RD8 ``CCYYMMDD-CCYYMMDD``.

    Status 0 ok, 1 empty, 2 invalid. Other formats (DT, TM) are read by the
    first 8 bytes when they are a date.
    """
    if s >= e:
        return 1, 0, 0
    if is_literal(buf, fmt_s, fmt_e, 82, 68, 56) or (e - s == 17 and buf[s + 8] == 45):  # RD8
        if e - s != 17 or buf[s + 8] != 45:
            return 2, 0, 0
        st1, d1 = parse_date(buf, s, s + 8)
        st2, d2 = parse_date(buf, s + 9, e)
        if st1 != 0 or st2 != 0:
            return 2, 0, 0
        return 0, d1, d2
    if e - s == 12 and is_literal(buf, fmt_s, fmt_e, 68, 84, 0):  # DT: CCYYMMDDHHMM
        e = s + 8
    status, d = parse_date(buf, s, e)
    if status != 0:
        return 2, 0, 0
    return 0, d, d


@njit
def _quantity(buf, s, e):
    """(status, value) of a quantity: 0 ok, 1 empty, 2 bad; a zero is returned as -0.0."""
    status, q = parse_decimal(buf, s, e)
    if status == 0 and q == 0.0:
        q = -0.0
    return status, q


@njit
def _money_error(err, status, seg, k, pos):
    if status == 1:
        return fail(err, E_MISSING, seg, k, pos, 0, 0, 0, 0)
    return fail(err, E_NUMBER if status == 2 else E_SUBCENT, seg, k, pos, 0, 0, 0, 0)


@njit
def _prior_row(pr_s, pr_n, pr_i, row, cl, li, source, other, seg, pay_s, pay_e, resp_s, resp_e):
    init_row(pr_n, row, NULL)
    set_number(pr_i, PI_CLAIM, row, cl)
    set_number(pr_i, PI_LINE, row, li)
    set_number(pr_i, PI_SOURCE, row, source)
    set_number(pr_i, PI_OTHER, row, other)
    set_number(pr_i, PI_DATE, row, 0)
    set_number(pr_i, PI_SEG, row, seg)
    set_span(pr_s, P_PAYER_ID, row, pay_s, pay_e)
    set_span(pr_s, P_RESPONSIBILITY, row, resp_s, resp_e)


@njit
def parse_837_nb(
    buf, d_esep, d_comp, d_term, counts, err, tx_s, tx_n, cl_s, cl_n, cl_i, li_s, li_n, li_i,
    li_f, dx_s, dx_i, pr_s, pr_n, pr_i, pr_f, op_s, op_i, fn,
):  # fmt: skip
    """Parse one 837 file (837P or 837I, 5010 or 4010); returns an error code (0 = read).

    Rows are written while they fit; ``counts`` receives the real numbers of
    rows (also those past an array's capacity: the caller then retries with
    larger arrays). Span and "i" arrays must be zeroed; "n" rows are set here.
    ``err`` receives the error's code, segment number, element, byte position
    and two context numbers (see ``layout.ERR_*``); no element value of the
    file is ever referenced by an error, only by spans in the tables.
    """
    eb_s = np.zeros(MAXE + 1, np.int64)
    eb_e = np.zeros(MAXE + 1, np.int64)
    cb = np.zeros(16, np.int64)
    isa = np.zeros(ISA_OUT, np.int64)
    env_sp = np.zeros(16, np.int64)  # isa sender, receiver, control, gs control, version (s, e)
    ctx = np.zeros(2 * N_CS, np.int64)
    others = np.zeros((MAX_OTHER_PAYERS, 4), np.int64)  # payer id (s, e), SBR01 (s, e)
    n = buf.shape[0]
    p = 3 if n >= 3 and buf[0] == 0xEF and buf[1] == 0xBB and buf[2] == 0xBF else 0
    esep = d_esep
    comp = d_comp
    t1, t2 = terminators(d_term)
    lead = -1  # a byte before every segment id (a line break before each "~"), or -1
    env = 0
    no_env = False
    n_isa = isa_gs = isa_seg = gs_st = gs_seg = st_count = st_seg = st_pos = 0
    gs_date = NULL
    seg = 0
    last_ne = 1
    ntx = ncl = nli = ndx = npr = nfn = nop = 0
    tx = cl = li = -1
    loop = LOOP_HEADER
    line_number = NULL32
    dx_pos = 0
    n_other = 0
    other_first = 0  # first prior row of the current 2320 loop
    svd_first = 0  # first prior row of the current 2430 loop
    svd_other = NULL32
    svd_s = svd_e = svd_rs = svd_re = 0
    comp_noted = False  # a file's odd component separator is noted once
    dirty = MAXE + 1
    while True:
        p = skip_ws(buf, p, n)
        if lead >= 0 and p < n and buf[p] == lead:
            p = skip_ws(buf, p + 1, n)
        if p >= n:
            break
        seg += 1
        pos = p
        if p + 3 < n and buf[p] == 73 and buf[p + 1] == 83 and buf[p + 2] == 65:  # ISA
            if not is_alnum(buf[p + 3]):
                if env != 0 or no_env:
                    return fail(err, E_UNEXPECTED_SEGMENT, seg, 0, p, env, 0, 0, 0)
                bad = parse_isa(buf, p, n, eb_s, eb_e, isa)
                if bad < 0:  # a delimiter that is not one ASCII byte: a = its byte, b = it
                    at = eb_e[16]
                    if bad == -D_ELEMENT:
                        at = p + 3
                    elif bad == -D_REPETITION:
                        at = eb_s[11]
                    elif bad == -D_COMPONENT:
                        at = eb_e[16] - 1
                    return fail(err, E_DELIMITER, seg, -bad, p, at - p + 1, buf[at], 0, 0)
                if bad != 0:
                    return fail(err, E_BAD_ISA, seg, bad, p, 0, 0, 0, 0)
                if isa[5] != 0:
                    nfn = add_finding(fn, nfn, F_ISA_WIDTH, seg, 0, -1, -1, -1, 0, 0, p)
                esep = isa[0]
                comp = isa[2]
                t1, t2 = terminators(isa[3])
                lead = isa[6]
                env_sp[0], env_sp[1] = eb_s[6], trim_right(buf, eb_s[6], eb_e[6])
                env_sp[2], env_sp[3] = eb_s[8], trim_right(buf, eb_s[8], eb_e[8])
                env_sp[4], env_sp[5] = eb_s[13], eb_e[13]
                env = 1
                n_isa += 1
                isa_gs = 0
                isa_seg = seg
                dirty = 17
                p = isa[4]
                continue
        p, ne = split_elements(buf, p, n, esep, t1, t2, eb_s, eb_e)
        if ne < 0:
            return fail(err, E_TOO_MANY_ELEMENTS, seg, MAXE, pos, 0, 0, 0, 0)
        last_ne = ne
        tag = segment_tag(buf, eb_s[0], eb_e[0])
        if tag < 0:
            return fail(err, E_SEGMENT_ID, seg, 0, pos, 0, 0, 0, 0)
        for k in range(ne, dirty):
            eb_s[k] = 0
            eb_e[k] = 0
        dirty = ne
        # ------------------------------------------------------------------- envelope
        if tag == GS:
            if env != 1:
                return fail(err, E_UNEXPECTED_SEGMENT, seg, 0, pos, env, 0, 0, 0)
            env = 2
            gs_st = 0
            isa_gs += 1
            gs_seg = seg
            status, d = parse_date(buf, eb_s[4], eb_e[4])
            gs_date = d if status == 0 else NULL
            env_sp[6], env_sp[7] = eb_s[6], eb_e[6]
            env_sp[8], env_sp[9] = eb_s[8], eb_e[8]
            continue
        if tag == GE:
            if env != 2 or no_env:
                return fail(err, E_UNEXPECTED_SEGMENT, seg, 0, pos, env, 0, 0, 0)
            if parse_uint(buf, eb_s[1], eb_e[1]) != gs_st:
                return fail(err, E_GE_COUNT, seg, 1, pos, gs_st, gs_seg, eb_s[1], eb_e[1])
            if not same_value(buf, eb_s[2], eb_e[2], env_sp[6], env_sp[7]):
                return fail(err, E_GE_CONTROL, seg, 2, pos, env_sp[6], env_sp[7], 0, 0)
            env = 1
            continue
        if tag == IEA:
            if env != 1:
                return fail(err, E_UNEXPECTED_SEGMENT, seg, 0, pos, env, 0, 0, 0)
            if parse_uint(buf, eb_s[1], eb_e[1]) != isa_gs:
                return fail(err, E_IEA_COUNT, seg, 1, pos, isa_gs, isa_seg, eb_s[1], eb_e[1])
            if not same_value(buf, eb_s[2], eb_e[2], env_sp[4], env_sp[5]):
                return fail(err, E_IEA_CONTROL, seg, 2, pos, env_sp[4], env_sp[5], 0, 0)
            env = 0
            continue
        if tag == ST:
            if env == 0 and n_isa == 0 and (seg == 1 or no_env):
                if not no_env:
                    nfn = add_finding(fn, nfn, F_NO_ENVELOPE, seg, 0, -1, -1, -1, 0, 0, pos)
                no_env = True
                env = 2
            if env != 2:
                return fail(err, E_UNEXPECTED_SEGMENT, seg, 0, pos, env, 0, 0, 0)
            if not is_literal(buf, eb_s[1], eb_e[1], 56, 51, 55):  # "837"
                return fail(err, E_NOT_835, seg, 1, pos, 0, 0, eb_s[1], eb_e[1])
            tx = ntx
            ntx += 1
            init_row(tx_n, tx, NULL)
            env = 3
            loop = LOOP_HEADER
            st_count = 1
            st_pos = pos
            st_seg = seg
            gs_st += 1
            cl = li = -1
            env_sp[10], env_sp[11] = eb_s[2], eb_e[2]
            for j in range(ctx.shape[0]):
                ctx[j] = 0
            set_span(tx_s, X_ISA_SENDER, tx, env_sp[0], env_sp[1])
            set_span(tx_s, X_ISA_RECEIVER, tx, env_sp[2], env_sp[3])
            set_span(tx_s, X_ISA_CONTROL, tx, env_sp[4], env_sp[5])
            set_span(tx_s, X_GS_CONTROL, tx, env_sp[6], env_sp[7])
            if env_sp[9] > env_sp[8] and not no_env:
                set_span(tx_s, X_VERSION, tx, env_sp[8], env_sp[9])
            else:
                set_span(tx_s, X_VERSION, tx, eb_s[3], eb_e[3])
            set_span(tx_s, X_ST_CONTROL, tx, eb_s[2], eb_e[2])
            set_number(tx_n, XN_GS_DATE, tx, gs_date if not no_env else NULL)
            set_number(tx_n, XN_SEG, tx, seg)
            continue
        if env != 3:
            return fail(err, E_UNEXPECTED_SEGMENT, seg, 0, pos, env, 0, 0, 0)
        st_count += 1
        if tag == SE:
            said = parse_uint(buf, eb_s[1], eb_e[1])
            if said != st_count:
                if no_env and said >= 0:
                    nfn = add_finding(fn, nfn, F_SE_COUNT, seg, 1, tx, -1, -1, 0, 0, pos)
                else:
                    return fail(err, E_SE_COUNT, seg, 1, pos, st_count, st_seg, eb_s[1], eb_e[1])
            if not same_value(buf, eb_s[2], eb_e[2], env_sp[10], env_sp[11]):
                return fail(err, E_SE_CONTROL, seg, 2, pos, env_sp[10], env_sp[11], 0, 0)
            env = 2
            continue
        # ----------------------------------------------------------------------- loops
        in_line = loop == LOOP_LINE or loop == LOOP_LINE_ADJUDICATION
        if tag == HL:
            level = parse_uint(buf, eb_s[3], eb_e[3])
            if level == 20:
                loop = LOOP_BILLING
                _ctx_clear(ctx, 0, N_CS)
            elif level == 22:
                if loop == LOOP_HEADER:
                    return fail(err, E_UNEXPECTED_SEGMENT, seg, 3, pos, 10 + loop, 0, 0, 0)
                loop = LOOP_SUBSCRIBER
                for f in (C_RESPONSIBILITY, C_RELATIONSHIP, C_FILING, C_PAYER_NAME, C_PAYER_ID):
                    _ctx_clear(ctx, f, 1)
                _ctx_clear(ctx, C_SUB_LAST, 10)
            elif level == 23:
                if loop == LOOP_HEADER or loop == LOOP_BILLING:
                    return fail(err, E_UNEXPECTED_SEGMENT, seg, 3, pos, 10 + loop, 0, 0, 0)
                loop = LOOP_PATIENT
                _ctx_clear(ctx, C_PAT_LAST, 5)
            else:
                return fail(err, E_UNEXPECTED_SEGMENT, seg, 3, pos, 20, 0, 0, 0)
            cl = li = -1
        elif tag == CLM:
            if loop < LOOP_SUBSCRIBER:
                return fail(err, E_UNEXPECTED_SEGMENT, seg, 0, pos, 10 + loop, 0, 0, 0)
            if eb_e[1] <= eb_s[1]:
                return fail(err, E_MISSING, seg, 1, pos, 0, 0, 0, 0)
            status, v = parse_cents(buf, eb_s[2], eb_e[2])
            if status != 0:
                return _money_error(err, status, seg, 2, pos)
            cl = ncl
            ncl += 1
            li = -1
            init_row(cl_n, cl, NULL)
            set_number(cl_n, CN_CHARGE, cl, v)
            set_number(cl_i, CI_TX, cl, tx)
            set_number(cl_i, CI_SEG, cl, seg)
            set_span(cl_s, C_ID, cl, eb_s[1], eb_e[1])
            for f in _CONTEXT_FIELDS:
                set_span(cl_s, f, cl, ctx[2 * f], ctx[2 * f + 1])
            if eb_e[5] > eb_s[5]:
                nc, sep, odd = split_composite(buf, eb_s[5], eb_e[5], comp, cb)
                if odd and not comp_noted:
                    nfn = add_finding(
                        fn, nfn, F_COMPONENT_SEPARATOR, seg, 5, tx, cl, li, 0, 0, pos
                    )
                    comp_noted = True
                set_span(cl_s, C_FACILITY, cl, cb[0], cb[1])
                if nc > 1:
                    set_span(cl_s, C_FACILITY_QUAL, cl, cb[2], cb[3])
                if nc > 2:
                    set_span(cl_s, C_FREQUENCY, cl, cb[4], cb[5])
            loop = LOOP_CLAIM
            dx_pos = 0
            n_other = 0
        elif tag == NM1:
            s1, e1 = eb_s[1], eb_e[1]
            if is_literal(buf, s1, e1, 73, 76, 0):  # IL subscriber
                if loop == LOOP_SUBSCRIBER:
                    _person(ctx, C_SUB_LAST, eb_s, eb_e)
                    _person(ctx, C_PAT_LAST, eb_s, eb_e)  # the patient unless a 2000C follows
            elif is_literal(buf, s1, e1, 81, 67, 0):  # QC patient
                if loop == LOOP_PATIENT or loop == LOOP_SUBSCRIBER:
                    _person(ctx, C_PAT_LAST, eb_s, eb_e)
            elif is_literal(buf, s1, e1, 80, 82, 0):  # PR payer
                if loop == LOOP_SUBSCRIBER or loop == LOOP_PATIENT:
                    _ctx_set(ctx, C_PAYER_NAME, eb_s[3], eb_e[3])
                    _ctx_set(ctx, C_PAYER_ID, eb_s[9], eb_e[9])
                elif loop == LOOP_OTHER_PAYER and n_other > 0:
                    set_span(op_s, O_PAYER_NAME, nop - 1, eb_s[3], eb_e[3])
                    set_span(op_s, O_PAYER_ID, nop - 1, eb_s[9], eb_e[9])
                    if n_other <= MAX_OTHER_PAYERS:
                        others[n_other - 1, 0] = eb_s[9]
                        others[n_other - 1, 1] = eb_e[9]
                    for r in range(other_first, npr):
                        set_span(pr_s, P_PAYER_ID, r, eb_s[9], eb_e[9])
            elif is_literal(buf, s1, e1, 56, 53, 0):  # 85 billing provider
                if loop == LOOP_BILLING:
                    if is_literal(buf, eb_s[8], eb_e[8], 88, 88, 0):  # XX: NPI
                        _ctx_set(ctx, C_BILLING_NPI, eb_s[9], eb_e[9])
                    elif ctx[2 * C_BILLING_TAX_ID + 1] == 0:
                        _ctx_set(ctx, C_BILLING_TAX_ID, eb_s[9], eb_e[9])
            elif is_literal(buf, s1, e1, 56, 50, 0):  # 82 rendering provider
                if loop == LOOP_CLAIM:
                    set_span(cl_s, C_RENDERING, cl, eb_s[9], eb_e[9])
                elif in_line and li >= 0:
                    set_span(li_s, L_RENDERING, li, eb_s[9], eb_e[9])
            elif is_literal(buf, s1, e1, 55, 49, 0):  # 71 attending provider
                if loop == LOOP_CLAIM:
                    set_span(cl_s, C_ATTENDING, cl, eb_s[9], eb_e[9])
            elif is_literal(buf, s1, e1, 55, 55, 0):  # 77 service facility
                if loop == LOOP_CLAIM:
                    set_span(cl_s, C_FACILITY_ID, cl, eb_s[9], eb_e[9])
            elif is_literal(buf, s1, e1, 52, 49, 0):  # 41 submitter
                if loop == LOOP_HEADER:
                    set_span(tx_s, X_SUBMITTER_ID, tx, eb_s[9], eb_e[9])
            elif is_literal(buf, s1, e1, 52, 48, 0):  # 40 receiver
                if loop == LOOP_HEADER:
                    set_span(tx_s, X_RECEIVER_NAME, tx, eb_s[3], eb_e[3])
                    set_span(tx_s, X_RECEIVER_ID, tx, eb_s[9], eb_e[9])
        elif tag == SBR:
            if loop == LOOP_SUBSCRIBER or loop == LOOP_PATIENT:
                _ctx_set(ctx, C_RESPONSIBILITY, eb_s[1], eb_e[1])
                _ctx_set(ctx, C_RELATIONSHIP, eb_s[2], eb_e[2])
                _ctx_set(ctx, C_FILING, eb_s[9], eb_e[9])
            elif loop == LOOP_CLAIM or loop == LOOP_OTHER_PAYER:
                loop = LOOP_OTHER_PAYER
                n_other += 1
                if n_other <= MAX_OTHER_PAYERS:
                    others[n_other - 1, 0] = others[n_other - 1, 1] = 0
                    others[n_other - 1, 2] = eb_s[1]
                    others[n_other - 1, 3] = eb_e[1]
                other_first = npr
                set_span(op_s, O_RESPONSIBILITY, nop, eb_s[1], eb_e[1])
                set_span(op_s, O_FILING, nop, eb_s[9], eb_e[9])
                set_number(op_i, OI_CLAIM, nop, cl)
                set_number(op_i, OI_INDEX, nop, n_other)
                set_number(op_i, OI_SEG, nop, seg)
                nop += 1
            else:
                return fail(err, E_UNEXPECTED_SEGMENT, seg, 0, pos, 10 + loop, 0, 0, 0)
        elif tag == REF:
            s1, e1 = eb_s[1], eb_e[1]
            if loop == LOOP_BILLING:
                if (is_literal(buf, s1, e1, 69, 73, 0) or is_literal(buf, s1, e1, 83, 89, 0)) and (
                    ctx[2 * C_BILLING_TAX_ID + 1] == 0
                ):  # EI, SY
                    _ctx_set(ctx, C_BILLING_TAX_ID, eb_s[2], eb_e[2])
            elif loop == LOOP_CLAIM:
                if is_literal(buf, s1, e1, 70, 56, 0):  # F8 original reference
                    set_span(cl_s, C_ORIGINAL_REF, cl, eb_s[2], eb_e[2])
                elif is_literal(buf, s1, e1, 71, 49, 0):  # G1 prior authorization
                    set_span(cl_s, C_PRIOR_AUTH, cl, eb_s[2], eb_e[2])
            elif in_line and li >= 0 and is_literal(buf, s1, e1, 54, 82, 0):  # 6R
                set_span(li_s, L_CONTROL, li, eb_s[2], eb_e[2])
        elif tag == DTP:
            s1, e1 = eb_s[1], eb_e[1]
            which = 0
            if is_literal(buf, s1, e1, 52, 51, 52) and loop == LOOP_CLAIM:  # 434 statement
                which = 1
            elif is_literal(buf, s1, e1, 52, 55, 50):  # 472 service
                if loop == LOOP_CLAIM:
                    which = 2
                elif in_line and li >= 0:
                    which = 3
            elif is_literal(buf, s1, e1, 53, 55, 51):  # 573 adjudication
                if loop == LOOP_OTHER_PAYER or loop == LOOP_LINE_ADJUDICATION:
                    which = 4
            if which != 0:
                status, d1, d2 = parse_dtp(buf, eb_s[2], eb_e[2], eb_s[3], eb_e[3])
                if status == 2:
                    nfn = add_finding(fn, nfn, F_INVALID_DATE, seg, 3, tx, cl, li, 0, 0, pos)
                elif status == 0:
                    d1 += DATE_BIAS
                    d2 += DATE_BIAS
                    if which == 1:
                        set_number(cl_i, CI_FROM, cl, d1)
                        set_number(cl_i, CI_TO, cl, d2)
                    elif which == 2:
                        set_number(cl_i, CI_SVC_FROM, cl, d1)
                        set_number(cl_i, CI_SVC_TO, cl, d2)
                    elif which == 3:
                        set_number(li_i, LI_FROM, li, d1)
                        set_number(li_i, LI_TO, li, d2)
                    else:
                        first = other_first if loop == LOOP_OTHER_PAYER else svd_first
                        for r in range(first, npr):
                            set_number(pr_i, PI_DATE, r, d1)
        elif tag == HI:
            if loop != LOOP_CLAIM:
                return fail(err, E_UNEXPECTED_SEGMENT, seg, 0, pos, 10 + loop, 0, 0, 0)
            for k in range(1, ne):
                if eb_e[k] <= eb_s[k]:
                    continue
                nc, sep, odd = split_composite(buf, eb_s[k], eb_e[k], comp, cb)
                if odd and not comp_noted:
                    nfn = add_finding(
                        fn, nfn, F_COMPONENT_SEPARATOR, seg, k, tx, cl, li, 0, 0, pos
                    )
                    comp_noted = True
                dx_pos += 1
                r = ndx
                ndx += 1
                set_span(dx_s, D_QUAL, r, cb[0], cb[1])
                if nc > 1:
                    set_span(dx_s, D_CODE, r, cb[2], cb[3])
                set_number(dx_i, DI_CLAIM, r, cl)
                set_number(dx_i, DI_POSITION, r, dx_pos)
                set_number(dx_i, DI_SEG, r, seg)
        elif tag == LX:
            if loop < LOOP_CLAIM:
                return fail(err, E_UNEXPECTED_SEGMENT, seg, 0, pos, 10 + loop, 0, 0, 0)
            loop = LOOP_LINE
            li = -1
            v = parse_uint(buf, eb_s[1], eb_e[1])
            line_number = v if 0 <= v < 2**31 else NULL32
        elif tag == SV1 or tag == SV2:
            if loop != LOOP_LINE:
                return fail(err, E_UNEXPECTED_SEGMENT, seg, 0, pos, 10 + loop, 0, 0, 0)
            prof = tag == SV1
            proc = 1 if prof else 2
            money = 2 if prof else 3
            status, v = parse_cents(buf, eb_s[money], eb_e[money])
            if status != 0:
                return _money_error(err, status, seg, money, pos)
            q_el = 4 if prof else 5
            qs, q = _quantity(buf, eb_s[q_el], eb_e[q_el])
            if qs == 2:
                return fail(err, E_QUANTITY, seg, q_el, pos, 0, 0, 0, 0)
            li = nli
            nli += 1
            init_row(li_n, li, NULL)
            set_number(li_n, LN_CHARGE, li, v)
            set_number(li_i, LI_CLAIM, li, cl)
            set_number(li_i, LI_NUMBER, li, line_number)
            set_number(li_i, LI_SEG, li, seg)
            if qs == 0:
                set_number(li_f, LF_UNITS, li, q)
            if eb_e[proc] > eb_s[proc]:
                nc, sep, odd = split_composite(buf, eb_s[proc], eb_e[proc], comp, cb)
                if odd and not comp_noted:
                    nfn = add_finding(
                        fn, nfn, F_COMPONENT_SEPARATOR, seg, proc, tx, cl, li, 0, 0, pos
                    )
                    comp_noted = True
                set_span(li_s, L_QUAL, li, cb[0], cb[1])
                if nc > 1:
                    set_span(li_s, L_CODE, li, cb[2], cb[3])
                last = -1
                for c in range(2, min(nc, 6)):
                    if cb[2 * c + 1] > cb[2 * c]:
                        last = c
                if last >= 2:
                    set_span(li_s, L_MODS, li, cb[4], cb[2 * last + 1])
                    set_number(li_i, LI_MODSEP, li, sep + 1)
            elif prof:
                return fail(err, E_MISSING, seg, 1, pos, 0, 0, 0, 0)
            set_span(li_s, L_UNIT_BASIS, li, eb_s[q_el - 1], eb_e[q_el - 1])
            if prof:
                set_span(li_s, L_PLACE, li, eb_s[5], eb_e[5])
                if eb_e[7] > eb_s[7]:
                    set_span(li_s, L_POINTERS, li, eb_s[7], eb_e[7])
                    set_number(li_i, LI_PTRSEP, li, comp + 1)
            else:
                if eb_e[1] <= eb_s[1]:
                    return fail(err, E_MISSING, seg, 1, pos, 0, 0, 0, 0)
                set_span(li_s, L_REVENUE, li, eb_s[1], eb_e[1])
        elif tag == LIN:
            if in_line and li >= 0 and is_literal(buf, eb_s[2], eb_e[2], 78, 52, 0):  # N4
                set_span(li_s, L_NDC, li, eb_s[3], eb_e[3])
        elif tag == SVD:
            if not in_line or li < 0:
                return fail(err, E_UNEXPECTED_SEGMENT, seg, 0, pos, 10 + loop, 0, 0, 0)
            status, v = parse_cents(buf, eb_s[2], eb_e[2])
            if status != 0:
                return _money_error(err, status, seg, 2, pos)
            qs, q = _quantity(buf, eb_s[5], eb_e[5])
            if qs == 2:
                return fail(err, E_QUANTITY, seg, 5, pos, 0, 0, 0, 0)
            loop = LOOP_LINE_ADJUDICATION
            svd_s, svd_e = eb_s[1], eb_e[1]
            svd_other = NULL32
            svd_rs = svd_re = 0
            for o in range(min(n_other, MAX_OTHER_PAYERS)):
                if same_value(buf, svd_s, svd_e, others[o, 0], others[o, 1]):
                    svd_other = o + 1
                    svd_rs, svd_re = others[o, 2], others[o, 3]
                    break
            r = npr
            npr += 1
            svd_first = r
            _prior_row(pr_s, pr_n, pr_i, r, cl, li, SOURCE_SVD, svd_other, seg, svd_s, svd_e,
                       svd_rs, svd_re)  # fmt: skip
            set_number(pr_n, PN_AMOUNT, r, v)
            if qs == 0:
                set_number(pr_f, PF_QUANTITY, r, q)
            if eb_e[3] > eb_s[3]:
                nc, sep, odd = split_composite(buf, eb_s[3], eb_e[3], comp, cb)
                if odd and not comp_noted:
                    nfn = add_finding(
                        fn, nfn, F_COMPONENT_SEPARATOR, seg, 3, tx, cl, li, 0, 0, pos
                    )
                    comp_noted = True
                set_span(pr_s, P_PROC_QUAL, r, cb[0], cb[1])
                if nc > 1:
                    set_span(pr_s, P_PROC_CODE, r, cb[2], cb[3])
        elif tag == CAS or tag == AMT:
            if loop == LOOP_OTHER_PAYER:
                line, other = NULL32, n_other
                pay_s = others[n_other - 1, 0] if n_other <= MAX_OTHER_PAYERS else 0
                pay_e = others[n_other - 1, 1] if n_other <= MAX_OTHER_PAYERS else 0
                rs = others[n_other - 1, 2] if n_other <= MAX_OTHER_PAYERS else 0
                re = others[n_other - 1, 3] if n_other <= MAX_OTHER_PAYERS else 0
            elif loop == LOOP_LINE_ADJUDICATION:
                line, other = li, svd_other
                pay_s, pay_e, rs, re = svd_s, svd_e, svd_rs, svd_re
            elif tag == AMT:
                continue  # AMT of the claim or line itself (patient paid, ...): not read
            else:
                return fail(err, E_UNEXPECTED_SEGMENT, seg, 0, pos, 10 + loop, 0, 0, 0)
            if tag == AMT:
                status, v = parse_cents(buf, eb_s[2], eb_e[2])
                if status != 0:
                    return _money_error(err, status, seg, 2, pos)
                if eb_e[1] <= eb_s[1]:
                    return fail(err, E_MISSING, seg, 1, pos, 0, 0, 0, 0)
                r = npr
                npr += 1
                _prior_row(pr_s, pr_n, pr_i, r, cl, line, SOURCE_AMT, other, seg, pay_s, pay_e,
                           rs, re)  # fmt: skip
                set_number(pr_n, PN_AMOUNT, r, v)
                set_span(pr_s, P_AMOUNT_QUAL, r, eb_s[1], eb_e[1])
                continue
            if eb_e[1] <= eb_s[1]:
                return fail(err, E_MISSING, seg, 1, pos, 0, 0, 0, 0)
            if ne > 20:
                return fail(err, E_TOO_MANY_ELEMENTS, seg, 20, pos, 0, 0, 0, 0)
            for k in range(2, ne, 3):
                has_reason = eb_e[k] > eb_s[k]
                status, v = parse_cents(buf, eb_s[k + 1], eb_e[k + 1])
                if not has_reason and status == 1:
                    continue
                if not has_reason:
                    return fail(err, E_MISSING, seg, k, pos, 0, 0, 0, 0)
                if status != 0:
                    return _money_error(err, status, seg, k + 1, pos)
                qs, q = _quantity(buf, eb_s[k + 2], eb_e[k + 2])
                if qs == 2:
                    return fail(err, E_QUANTITY, seg, k + 2, pos, 0, 0, 0, 0)
                r = npr
                npr += 1
                _prior_row(pr_s, pr_n, pr_i, r, cl, line, SOURCE_CAS, other, seg, pay_s, pay_e,
                           rs, re)  # fmt: skip
                set_number(pr_n, PN_AMOUNT, r, v)
                set_span(pr_s, P_GROUP, r, eb_s[1], eb_e[1])
                set_span(pr_s, P_CARC, r, eb_s[k], eb_e[k])
                if qs == 0:
                    set_number(pr_f, PF_QUANTITY, r, q)
        elif tag == BHT:
            if loop == LOOP_HEADER:
                set_span(tx_s, X_PURPOSE, tx, eb_s[2], eb_e[2])
                set_span(tx_s, X_BHT_REFERENCE, tx, eb_s[3], eb_e[3])
                set_span(tx_s, X_CLAIM_OR_ENC, tx, eb_s[6], eb_e[6])
                status, d = parse_date(buf, eb_s[4], eb_e[4])
                if status == 0:
                    set_number(tx_n, XN_CREATED, tx, d)
        # every other segment (N3, N4, DMG, PER, PRV, CL1, PAT, OI, ...) has nothing to keep
    if seg == 0:
        return fail(err, E_EMPTY, 0, 0, 0, 0, 0, 0, 0)
    if env == 3 or (env != 0 and not no_env):
        return fail(err, E_TRUNCATED, seg, last_ne - 1, st_pos, env, st_pos, 0, 0)
    counts[Q_TX] = ntx
    counts[Q_CLM] = ncl
    counts[Q_LIN] = nli
    counts[Q_DX] = ndx
    counts[Q_PRIOR] = npr
    counts[Q_FND] = nfn
    counts[Q_SEG] = seg
    counts[Q_OTHER] = nop
    return E_OK
