"""X12 835 tokenizer and parser kernels: bytes in, offsets and typed columns out.

``parse_835_nb`` walks the bytes of one file once. It finds segment and
element boundaries with the delimiters of the current ISA header (or the
defaults sniffed by the caller for a file without an envelope), checks the
envelope and the loop structure, parses amounts to int64 cents, dates to days
since 1970-01-01 and quantities to float64, and writes one row per
transaction, claim, service line, CAS triplet, remark, PLB adjustment and
finding into preallocated arrays. Strings are not copied here: a string field
is a ``(start, end)`` pair of byte offsets into the file (absent when
``end <= start``: the wrapper allocates span arrays zeroed, so a field that
never occurs costs no memory) that ``gather_table_nb`` later packs into Arrow
string buffers. Money is int64 cents (``NULL`` when absent); ids, dates,
segment numbers and other small integers are int32, quantities float64 (see
"layouts" below for how absent values are marked: rarely present fields are
never written, so their zeroed pages are never touched either). The number
arrays are handed to Arrow without a copy.

The caller estimates the rows of each table (``count_835_nb``, on samples of a
large file), allocates, and runs ``parse_835_nb``, which checks everything and
counts rows past the capacity so the caller can retry with the exact numbers.
No validation or defaults happen outside these functions and the Python
wrapper in ``ledgerkit.x12.tokenize``.

Every array index written here is bounds-checked against the array's size
first: the fuzz tests feed mutated bytes, and Numba does not check bounds.
"""

from __future__ import annotations

import inspect

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from ledgerkit._kernels._njit import njit

NULL = -9223372036854775808  # int64 min: an absent amount (or a date of a transaction)
NULL32 = -2147483648  # int32 min: an absent id or line number
DATE_BIAS = 1 << 20  # dates in "i" arrays are days + DATE_BIAS (0 = absent; never a date)
MAXE = 64  # most elements a segment may have (BPR has 21, MIA 24)


def _tag(segment_id: str) -> int:
    v = 0
    for c in segment_id.encode():
        v = (v << 8) | c
    return v


# Segment ids, packed big-endian into an int ("CLP" -> 0x434C50).
ISA, IEA, GS, GE, ST, SE = (_tag(s) for s in ("ISA", "IEA", "GS", "GE", "ST", "SE"))
BPR, TRN, CUR, REF, DTM, N1, N2, N3, N4, PER, RDM = (
    _tag(s) for s in ("BPR", "TRN", "CUR", "REF", "DTM", "N1", "N2", "N3", "N4", "PER", "RDM")
)
LX, TS3, TS2, CLP, CAS, NM1, MIA, MOA, AMT, QTY, SVC, LQ, PLB = (
    _tag(s)
    for s in (
        "LX",
        "TS3",
        "TS2",
        "CLP",
        "CAS",
        "NM1",
        "MIA",
        "MOA",
        "AMT",
        "QTY",
        "SVC",
        "LQ",
        "PLB",
    )
)

# Loops, as the reader tracks them inside one ST..SE.
LOOP_HEADER, LOOP_CLAIM, LOOP_LINE, LOOP_PLB, LOOP_LX = 0, 1, 2, 3, 4

# ----------------------------------------------------------------------------- layouts
# String fields: rows 2k (start) and 2k+1 (end) of a table's "s" array.
# Money: rows of its "n" array (int64, NULL when absent); transactions keep their
# dates there too (a few rows). Other integers: rows of its "i" array (int32):
# ids (NULL32 when absent), dates as days + DATE_BIAS and separators as byte + 1
# (0 when absent). Quantities: rows of its "f" array (float64; +0.0 when absent,
# a zero quantity is written -0.0). The "i" and "f" arrays are zeroed by the
# wrapper, so rows of fields that are rarely present are never touched.
T_ISA_SENDER, T_ISA_RECEIVER, T_ISA_CONTROL, T_GS_SENDER, T_GS_RECEIVER = 0, 1, 2, 3, 4
T_GS_CONTROL, T_VERSION, T_ST_CONTROL, T_PAYER_NAME, T_PAYER_QUAL = 5, 6, 7, 8, 9
T_PAYER_ID, T_PAYER_REF, T_PAYEE_NAME, T_PAYEE_QUAL, T_PAYEE_ID = 10, 11, 12, 13, 14
T_HANDLING, T_CREDIT_DEBIT, T_METHOD, T_TRACE, T_TRACE_ORIG = 15, 16, 17, 18, 19
N_TS = 20
TN_PAYMENT, TN_PAY_DATE, TN_PROD_DATE, TN_GS_DATE, TN_SEG = 0, 1, 2, 3, 4
N_TN = 5

C_ENCOUNTER, C_STATUS, C_FILING, C_PAYER_CLAIM, C_FACILITY, C_FREQUENCY = 0, 1, 2, 3, 4, 5
C_PAT_LAST, C_PAT_FIRST, C_PAT_MIDDLE, C_PAT_QUAL, C_PAT_ID = 6, 7, 8, 9, 10
C_SUB_LAST, C_SUB_FIRST, C_SUB_MIDDLE, C_SUB_QUAL, C_SUB_ID, C_RENDERING = 11, 12, 13, 14, 15, 16
N_CS = 17
CN_CHARGE, CN_PAID, CN_PR_REPORTED = 0, 1, 2
N_CN = 3
CI_TX, CI_FROM, CI_TO, CI_RECEIVED, CI_SEG = 0, 1, 2, 3, 4
N_CI = 5

L_QUAL, L_CODE, L_MODS, L_REVENUE, L_OQUAL, L_OCODE, L_OMODS, L_CONTROL = range(8)
N_LS = 8
LN_CHARGE, LN_PAID, LN_ALLOWED = 0, 1, 2
N_LN = 3
LI_CLAIM, LI_NUMBER, LI_DATE, LI_START, LI_END, LI_SEG, LI_MODSEP, LI_OMODSEP = range(8)
N_LI = 8
LF_UNITS, LF_OUNITS = 0, 1
N_LF = 2

A_GROUP, A_CARC = 0, 1
N_AS = 2
AN_AMOUNT = 0
N_AN = 1
AI_CLAIM, AI_LINE, AI_SEG = 0, 1, 2
N_AI = 3
AF_QTY = 0
N_AF = 1

R_QUAL, R_CODE = 0, 1
N_RS = 2
RI_CLAIM, RI_LINE, RI_SOURCE, RI_SEG = 0, 1, 2, 3
N_RI = 4
SOURCE_LQ, SOURCE_MOA, SOURCE_MIA = 0, 1, 2

P_PROVIDER, P_REASON, P_REFERENCE = 0, 1, 2
N_PS = 3
PN_AMOUNT = 0
N_PN = 1
PI_TX, PI_DATE, PI_SEG = 0, 1, 2
N_PI = 3

# present[table, row]: how many values were written to a row of an "i" or "f" array,
# or to an optional string field of an "s" array (always-present string fields get
# 1). 0: the column is null and its pages were never touched, so they are not read.
PR_CL_I, PR_LI_I, PR_LI_F, PR_AD_F, PR_CL_S, PR_LI_S = 0, 1, 2, 3, 4, 5
N_PR = 6
PR_WIDTH = 24  # at least the most fields of a table

FN_CODE, FN_SEG, FN_ELEM, FN_TX, FN_CLAIM, FN_LINE, FN_VS, FN_VE, FN_POS = range(9)
N_FN = 9

K_TX, K_CLM, K_LIN, K_ADJ, K_REM, K_PLB, K_FND, K_SEG, K_ISA, K_ESEP, K_TERM = range(11)
N_K = 11

ERR_CODE, ERR_SEG, ERR_ELEM, ERR_POS, ERR_A, ERR_B, ERR_VS, ERR_VE = range(8)
N_ERR = 8

# Error codes (the wrapper turns them into X12Error messages).
E_OK = 0
E_EMPTY = 1
E_BAD_ISA = 2
E_SEGMENT_ID = 3
E_TOO_MANY_ELEMENTS = 4
E_UNKNOWN_SEGMENT = 5
E_UNEXPECTED_SEGMENT = 6
E_NOT_835 = 7
E_SE_COUNT = 8
E_SE_CONTROL = 9
E_GE_COUNT = 10
E_GE_CONTROL = 11
E_IEA_COUNT = 12
E_IEA_CONTROL = 13
E_TRUNCATED = 14
E_MISSING = 15
E_NUMBER = 16
E_SUBCENT = 17
E_QUANTITY = 18
E_CAPACITY = 19

# Finding codes (readable but odd).
F_INVALID_DATE = 1
F_BPR_DATE_POSITION = 2
F_BPR_NO_DATE = 3
F_SVC_MALFORMED = 4
F_COMPONENT_SEPARATOR = 5
F_ISA_WIDTH = 6
F_NO_ENVELOPE = 7
F_SE_COUNT = 8


# ----------------------------------------------------------------------------- bytes
def copy8(dst, o, src, s):
    """``dst[o:o+8] = src[s:s+8]`` (uint8 arrays); compiled as one unaligned 8-byte move.

    Numba copies bytes one at a time (with an index check each) and cannot use
    wider moves because it cannot prove the arrays do not overlap: gathering
    short strings that way was ~5x slower. No bounds check: callers make sure
    both ranges are inside their arrays.
    """
    dst[o : o + 8] = src[s : s + 8]


@intrinsic
def _copy8(typingctx, dst, o, src, s):
    sig = types.void(dst, o, src, s)

    def codegen(context, builder, signature, args):
        d = context.make_array(signature.args[0])(context, builder, args[0])
        r = context.make_array(signature.args[2])(context, builder, args[2])
        oi = context.cast(builder, args[1], signature.args[1], types.intp)
        si = context.cast(builder, args[3], signature.args[3], types.intp)
        p64 = ir.IntType(64).as_pointer()
        v = builder.load(builder.bitcast(builder.gep(r.data, [si]), p64), align=1)
        builder.store(v, builder.bitcast(builder.gep(d.data, [oi]), p64), align=1)
        return context.get_dummy_value()

    return sig, codegen


@overload(copy8, jit_options={"cache": True})
def _copy8_overload(dst, o, src, s):
    if dst.dtype == types.uint8 and src.dtype == types.uint8:
        return lambda dst, o, src, s: _copy8(dst, o, src, s)


def load8(src, s):
    """The 8 bytes ``src[s:s+8]`` (uint8 array) as a little-endian uint64; one load.

    No bounds check: callers make sure the range is inside the array.
    """
    return np.uint64(int.from_bytes(bytes(src[s : s + 8]), "little"))


@intrinsic
def _load8(typingctx, src, s):
    sig = types.uint64(src, s)

    def codegen(context, builder, signature, args):
        r = context.make_array(signature.args[0])(context, builder, args[0])
        si = context.cast(builder, args[1], signature.args[1], types.intp)
        p64 = ir.IntType(64).as_pointer()
        return builder.load(builder.bitcast(builder.gep(r.data, [si]), p64), align=1)

    return sig, codegen


@overload(load8, jit_options={"cache": True})
def _load8_overload(src, s):
    if src.dtype == types.uint8:
        return lambda src, s: _load8(src, s)


_B80 = np.uint64(0x8080808080808080)


@njit
def _hex8(w):
    """All 8 bytes of ``w`` are upper-case hex digits (SWAR range checks, no branch)."""
    digit = (w + np.uint64(0x5050505050505050)) & ~(w + np.uint64(0x4646464646464646))
    upper = (w + np.uint64(0x3F3F3F3F3F3F3F3F)) & ~(w + np.uint64(0x3939393939393939))
    return ((w & _B80) == 0) & (((digit | upper) & _B80) == _B80)


# ----------------------------------------------------------------------------- helpers
def _helper(fn):
    """Make ``fn`` a helper of the kernels, compiled once per argument *types*.

    An @njit function called from a kernel with integer constants (field numbers,
    error codes) is compiled once per combination of their values: ``_sets`` had
    50 variants, ``_fail`` 34, 130 in all, a third of the tokenizer's cold
    compile. An ``overload`` tries non-literal types first. ``fn`` stays a plain
    Python function outside compiled code.
    """

    def typing(*args):
        return fn

    typing.__signature__ = inspect.signature(fn)
    overload(fn, jit_options={"error_model": "numpy"}, prefer_literal=False)(typing)
    return fn


# ----------------------------------------------------------------------------- scalars
# Helpers are plain @njit functions, not inline="always": Numba IR inlining copied
# each helper into every call site (about 150 of them in parse_835_nb) and type
# checked every copy, which was most of the tokenizer's compile time. As calls,
# LLVM still inlines them and Numba's reference-count pruning removes the array
# increfs; measured on the 26 MB benchmark file (numba 0.68): first tokenize in
# a fresh process with an empty cache ~42 s -> ~20 s CPU, parse 0.072 -> 0.064 s.
@njit
def _is_alnum(c):
    return (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122)


@njit
def _is_ws(c):
    return c == 32 or c == 9 or c == 10 or c == 13


@njit
def _skip_ws(buf, p, n):
    while p < n and _is_ws(buf[p]):
        p += 1
    return p


@njit
def _cents(buf, s, e):
    """(status, cents): 0 ok, 1 empty, 2 not a number, 3 finer than a cent."""
    if s >= e:
        return 1, 0
    i = s
    neg = False
    if buf[i] == 45:  # '-'
        neg = True
        i += 1
    elif buf[i] == 43:  # '+'
        i += 1
    v = 0
    nd = 0
    frac = -1
    while i < e:
        c = buf[i]
        if 48 <= c <= 57:
            if frac >= 2:
                if c != 48:
                    return 3, 0
            else:
                if frac >= 0:
                    frac += 1
                v = v * 10 + (c - 48)
                nd += 1
                if nd > 17:
                    return 2, 0
        elif c == 46 and frac < 0:
            frac = 0
        else:
            return 2, 0
        i += 1
    if nd == 0:
        return 2, 0
    if frac <= 0:
        v *= 100
    elif frac == 1:
        v *= 10
    return 0, -v if neg else v


@njit
def _decimal(buf, s, e):
    """(status, value) of an X12 R (decimal) element: 0 ok, 1 empty, 2 not a number."""
    if s >= e:
        return 1, np.nan
    i = s
    neg = False
    if buf[i] == 45:
        neg = True
        i += 1
    elif buf[i] == 43:
        i += 1
    v = 0
    nd = 0
    frac = -1
    while i < e:
        c = buf[i]
        if 48 <= c <= 57:
            if nd < 18:
                v = v * 10 + (c - 48)
                nd += 1
                if frac >= 0:
                    frac += 1
            elif frac < 0:
                return 2, np.nan
        elif c == 46 and frac < 0:
            frac = 0
        else:
            return 2, np.nan
        i += 1
    if nd == 0:
        return 2, np.nan
    x = float(v)
    if frac > 0:
        x = x / 10.0**frac
    return 0, -x if neg else x


@_helper
def _uint(buf, s, e):
    """A non-negative integer element, or -1."""
    if s >= e or e - s > 18:
        return -1
    v = 0
    for i in range(s, e):
        c = buf[i]
        if c < 48 or c > 57:
            return -1
        v = v * 10 + (c - 48)
    return v


@njit
def days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date."""
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit
def _date(buf, s, e):
    """(status, days) of a CCYYMMDD element: 0 ok, 1 empty, 2 invalid."""
    if s >= e:
        return 1, 0
    if e - s != 8:
        return 2, 0
    v = _uint(buf, s, e)
    if v < 0:
        return 2, 0
    y = v // 10000
    m = (v // 100) % 100
    d = v % 100
    if y < 1800 or y > 2999 or m < 1 or m > 12 or d < 1:
        return 2, 0
    if m == 2:
        leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
        md = 29 if leap else 28
    elif m == 4 or m == 6 or m == 9 or m == 11:
        md = 30
    else:
        md = 31
    if d > md:
        return 2, 0
    return 0, days_from_civil(y, m, d)


@_helper
def _eq(buf, s1, e1, s2, e2):
    """Two byte spans are equal (as numbers when both are digits)."""
    a = _uint(buf, s1, e1)
    b = _uint(buf, s2, e2)
    if a >= 0 and b >= 0:
        return a == b
    if e1 - s1 != e2 - s2:
        return False
    for k in range(e1 - s1):
        if buf[s1 + k] != buf[s2 + k]:
            return False
    return True


@_helper
def _is(buf, s, e, a, b, c):
    """The span is the 1-3 byte literal a, b, c (c = 0 for two bytes, b = c = 0 for one)."""
    n = 1 if b == 0 else (2 if c == 0 else 3)
    if e - s != n:
        return False
    if buf[s] != a:
        return False
    if n > 1 and buf[s + 1] != b:
        return False
    if n > 2 and buf[s + 2] != c:
        return False
    return True


@njit
def _trim(buf, s, e):
    while e > s and buf[e - 1] == 32:
        e -= 1
    return e


@njit
def _segment_tag(buf, s, e):
    """Packed id of a 2-3 character alphanumeric segment id, or -1."""
    if e - s < 2 or e - s > 3:
        return -1
    v = 0
    for i in range(s, e):
        c = buf[i]
        if not (48 <= c <= 57 or 65 <= c <= 90):
            return -1
        v = (v << 8) | c
    return v


# ----------------------------------------------------------------------------- segments
@njit
def _split(buf, p, n, esep, t1, t2, eb_s, eb_e):
    """Element boundaries of the segment starting at p: (next position, n elements).

    One pass over the segment's bytes, ending at a terminator (``t1`` or
    ``t2``: both are the segment terminator, or CR and LF when it is a line
    break). The element count includes the segment id as element 0; -1 when
    there are more than MAXE elements. A plain byte loop here, inside the
    parse loop, was ~3x faster than locating all delimiters of a block first.
    """
    ne = 0
    eb_s[0] = p
    i = p
    while i < n:
        c = buf[i]
        if c == esep:
            eb_e[ne] = i
            ne += 1
            if ne >= MAXE:
                return i + 1, -1
            eb_s[ne] = i + 1
        elif c == t1 or c == t2:
            eb_e[ne] = i
            return i + 1, ne + 1
        i += 1
    eb_e[ne] = n
    return n, ne + 1


@njit
def _parse_isa(buf, p, n, eb_s, eb_e, out):
    """Read the ISA at p. Returns 0 or the (1-based) ISA element at fault.

    out: element separator, repetition separator (-1 none), component
    separator, segment terminator, next position, fixed-width flag (0 = the
    standard 106 bytes).
    """
    if p + 4 > n:
        return 1
    esep = buf[p + 3]
    if _is_alnum(esep) or _is_ws(esep):
        return 1
    eb_s[0] = p
    eb_e[0] = p + 3
    cnt = 0
    i = p + 3
    while i < n and cnt < 16:
        c = buf[i]
        if c == esep:
            if cnt > 0:
                eb_e[cnt] = i
            cnt += 1
            eb_s[cnt] = i + 1
        elif c == 10 or c == 13:
            return cnt if cnt > 0 else 1
        i += 1
    if cnt < 16 or i + 1 >= n:
        return max(cnt, 1)
    # i is just after the 16th separator: ISA16, then the terminator.
    comp = buf[i]
    term = buf[i + 1]
    eb_e[16] = i + 1
    if _is_alnum(comp) or comp == esep or _is_ws(comp):
        return 16
    if _is_alnum(term) or term == esep or term == comp or term == 32:
        return 16
    # Fixed-size elements.
    widths = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
    fixed = 1
    for k in range(1, 17):
        w = eb_e[k] - eb_s[k]
        if w != widths[k - 1]:
            fixed = 0
        for j in range(eb_s[k], eb_e[k]):
            if buf[j] == term:
                return k
    for k in (9, 10, 13):
        if _uint(buf, eb_s[k], eb_e[k]) < 0 or eb_e[k] - eb_s[k] != widths[k - 1]:
            return k
    for k in (12, 14, 15):
        if eb_e[k] - eb_s[k] != widths[k - 1]:
            return k
    rep = -1
    if eb_e[11] - eb_s[11] == 1:
        r = buf[eb_s[11]]
        if not _is_alnum(r) and r != esep and r != comp and r != term:
            rep = r
    out[0] = esep
    out[1] = rep
    out[2] = comp
    out[3] = term
    out[4] = i + 2
    out[5] = 0 if fixed == 1 and i + 1 - p == 105 else 1
    return 0


@njit
def _composite(buf, s, e, comp, cb):
    """Components of a composite element into cb (start, end pairs); returns (n, sep, odd).

    When the component separator does not occur but the third byte is a
    separator-like character after a two-letter qualifier ("HC>99213" in a
    file whose ISA16 is ':'), that byte is used and ``odd`` is True.
    """
    sep = comp
    odd = False
    found = False
    for i in range(s, e):
        if buf[i] == comp:
            found = True
            break
    if not found and e - s >= 3:
        c = buf[s + 2]
        if not _is_alnum(c) and not _is_ws(c) and c != 45 and c != 46:
            sep = c
            odd = True
    k = 0
    cb[0] = s
    for i in range(s, e):
        if buf[i] == sep:
            cb[2 * k + 1] = i
            k += 1
            if k >= 8:
                return 8, sep, odd
            cb[2 * k] = i + 1
    cb[2 * k + 1] = e
    return k + 1, sep, odd


@njit
def _terminators(term):
    """The two bytes that end a segment: the terminator twice, or CR and LF."""
    if term == 10 or term == 13:
        return 10, 13
    return term, term


# ----------------------------------------------------------------------------- writers
@_helper
def _sets(a, f, row, s, e):
    if row < a.shape[1] and s < e:
        a[2 * f, row] = s
        a[2 * f + 1, row] = e


@_helper
def _init_row(a, row, v):
    """Set every field of a new row (the wrapper allocates without initialising)."""
    if row < a.shape[1]:
        for f in range(a.shape[0]):
            a[f, row] = v


@_helper
def _setn(a, f, row, v):
    if row < a.shape[1]:
        a[f, row] = v


@_helper
def _find(fn, k, code, seg, elem, tx, cl, li, vs, ve, pos):
    if k < fn.shape[1]:
        fn[FN_CODE, k] = code
        fn[FN_SEG, k] = seg
        fn[FN_ELEM, k] = elem
        fn[FN_TX, k] = tx
        fn[FN_CLAIM, k] = cl
        fn[FN_LINE, k] = li
        fn[FN_VS, k] = vs
        fn[FN_VE, k] = ve
        fn[FN_POS, k] = pos
    return k + 1


@_helper
def _fail(err, code, seg, elem, pos, a, b, vs, ve):
    err[ERR_CODE] = code
    err[ERR_SEG] = seg
    err[ERR_ELEM] = elem
    err[ERR_POS] = pos
    err[ERR_A] = a
    err[ERR_B] = b
    err[ERR_VS] = vs
    err[ERR_VE] = ve
    return code


# ----------------------------------------------------------------------------- counting
@njit
def count_835_nb(buf, d_esep, d_term, counts):
    """Estimate the rows each table needs (segments by id; CAS and PLB by elements).

    Only terminators are located and the first bytes of each segment read, so
    this costs a fraction of the parse (for a large file the wrapper runs it on
    samples only). The estimate is checked afterwards: the parser counts real
    rows past any capacity and the wrapper retries. ``counts[K_ESEP]`` and
    ``counts[K_TERM]`` receive the delimiters in force at the end (an ISA
    header sets them).
    """
    n = buf.shape[0]
    esep = d_esep
    t1, t2 = _terminators(d_term)
    isa = np.zeros(6, np.int64)
    eb_s = np.zeros(MAXE + 1, np.int64)
    eb_e = np.zeros(MAXE + 1, np.int64)
    n_seg = n_tx = n_cl = n_li = n_ad = n_re = n_pl = 0
    p = 0
    while p < n:
        s = p
        while s < n and _is_ws(buf[s]):
            s += 1
        if s >= n:
            break
        e = s
        while e < n and buf[e] != t1 and buf[e] != t2:
            e += 1
        p = e + 1
        n_seg += 1
        if s + 3 < n and buf[s] == 73 and buf[s + 1] == 83 and buf[s + 2] == 65:
            if not _is_alnum(buf[s + 3]):
                if _parse_isa(buf, s, n, eb_s, eb_e, isa) != 0:
                    break
                esep = isa[0]
                t1, t2 = _terminators(isa[3])
                p = isa[4]
                continue
        b0 = buf[s]
        b1 = buf[s + 1] if s + 1 < e else 0
        b2 = buf[s + 2] if s + 2 < e else 0
        if b0 == 67 and b1 == 65 and b2 == 83:  # CAS
            ne = 1
            for i in range(s, e):
                ne += buf[i] == esep
            n_ad += ne // 3
        elif b0 == 83 and b1 == 86 and b2 == 67:  # SVC
            n_li += 1
        elif b0 == 67 and b1 == 76 and b2 == 80:  # CLP
            n_cl += 1
        elif b0 == 83 and b1 == 84 and (b2 == esep or s + 2 == e):  # ST
            n_tx += 1
        elif b0 == 76 and b1 == 81:  # LQ
            n_re += 1
        elif b0 == 77 and (b1 == 73 or b1 == 79) and b2 == 65:  # MIA, MOA
            n_re += 5
        elif b0 == 80 and b1 == 76 and b2 == 66:  # PLB
            ne = 1
            for i in range(s, e):
                ne += buf[i] == esep
            n_pl += max(ne - 2, 0) // 2
    counts[K_TX] = n_tx
    counts[K_CLM] = n_cl
    counts[K_LIN] = n_li
    counts[K_ADJ] = n_ad
    counts[K_REM] = n_re
    counts[K_PLB] = n_pl
    counts[K_SEG] = n_seg
    counts[K_ESEP] = esep  # the delimiters in force at the end
    counts[K_TERM] = t1
    return 0


@njit
def count_samples_nb(buf, starts, size, esep, term, counts):
    """``count_835_nb`` over ``buf[s:s + size]`` for each ``s`` in ``starts``, summed.

    Each slice starts just after its first terminator. Returns the number of
    bytes counted.
    """
    part = np.zeros(N_K, np.int64)
    n = buf.shape[0]
    total = 0
    for j in range(starts.shape[0]):
        s = starts[j]
        e = min(s + size, n)
        while s < e and buf[s] != term:
            s += 1
        s += 1
        if s >= e:
            continue
        count_835_nb(buf[s:e], esep, term, part)
        for f in range(K_PLB + 1):
            counts[f] += part[f]
        total += e - s
    return total


# ----------------------------------------------------------------------------- the parser
@njit
def parse_835_nb(
    buf,
    d_esep,
    d_comp,
    d_term,
    counts,
    err,
    tx_s,
    tx_n,
    cl_s,
    cl_n,
    cl_i,
    li_s,
    li_n,
    li_i,
    li_f,
    ad_s,
    ad_n,
    ad_i,
    ad_f,
    re_s,
    re_i,
    pl_s,
    pl_n,
    pl_i,
    fn,
    present,
):
    """Parse one 835 file; returns an error code (0 = read) and fills the arrays.

    Everything is checked; rows are written while they fit and ``counts``
    holds the actual numbers of rows (also those past the capacity of an array:
    the caller then retries with larger arrays). Span arrays must be zeroed;
    number rows are initialised here.
    """
    n = buf.shape[0]
    eb_s = np.zeros(MAXE + 1, np.int64)
    eb_e = np.zeros(MAXE + 1, np.int64)
    cb = np.zeros(16, np.int64)
    isa = np.zeros(6, np.int64)
    p = 0
    if n >= 3 and buf[0] == 0xEF and buf[1] == 0xBB and buf[2] == 0xBF:
        p = 3
    esep = d_esep
    comp = d_comp
    term = d_term
    t1, t2 = _terminators(term)
    env = 0  # 0 outside, 1 in ISA, 2 in GS, 3 in ST
    no_env = False
    n_isa = 0
    loop = LOOP_HEADER
    seg_no = 0
    n_tx = 0
    n_cl = 0
    n_li = 0
    n_ad = 0
    n_re = 0
    n_pl = 0
    n_fn = 0
    tx = -1
    cl = -1
    li = -1
    st_count = 0
    gs_st = 0
    isa_gs = 0
    st_pos = 0
    st_seg = 0
    gs_seg = 0
    isa_seg = 0
    line_no = 0
    n1 = 0
    comp_noted = False
    n_mods = n_svc06 = n_revenue = n_control = n_pat = n_sub = n_rendering = 0
    n_qty = n_units = n_ounits = 0
    n_dates = np.zeros(2 * PR_WIDTH, np.int64)  # claim rows, then line rows
    # the last DTM date read: its 8 bytes, status and days (dates repeat within claims)
    last_date = np.uint64(0)
    last_st = 2
    last_days = 0
    # envelope values copied into each transaction row
    isa_snd_s = isa_snd_e = isa_rcv_s = isa_rcv_e = isa_ctl_s = isa_ctl_e = 0
    gs_snd_s = gs_snd_e = gs_rcv_s = gs_rcv_e = gs_ctl_s = gs_ctl_e = 0
    gs_ver_s = gs_ver_e = 0
    gs_date = NULL
    st_ctl_s = st_ctl_e = 0
    last_pos = 0
    last_ne = 1
    dirty = MAXE + 1
    while True:
        p = _skip_ws(buf, p, n)
        if p >= n:
            break
        seg_no += 1
        pos = p
        last_pos = p
        # ---------------------------------------------------------------- ISA
        if (
            p + 3 < n
            and buf[p] == 73
            and buf[p + 1] == 83
            and buf[p + 2] == 65
            and not _is_alnum(buf[p + 3])
        ):
            if env != 0 or no_env:
                return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, env, 0, 0, 0)
            bad = _parse_isa(buf, p, n, eb_s, eb_e, isa)
            if bad != 0:
                return _fail(err, E_BAD_ISA, seg_no, bad, pos, 0, 0, 0, 0)
            esep = isa[0]
            comp = isa[2]
            t1, t2 = _terminators(isa[3])
            if isa[5] != 0:
                n_fn = _find(fn, n_fn, F_ISA_WIDTH, seg_no, 0, -1, -1, -1, 0, 0, pos)
            isa_snd_s = eb_s[6]
            isa_snd_e = _trim(buf, eb_s[6], eb_e[6])
            isa_rcv_s = eb_s[8]
            isa_rcv_e = _trim(buf, eb_s[8], eb_e[8])
            isa_ctl_s = eb_s[13]
            isa_ctl_e = eb_e[13]
            env = 1
            n_isa += 1
            isa_gs = 0
            isa_seg = seg_no
            dirty = 17
            p = isa[4]
            continue
        p, ne = _split(buf, p, n, esep, t1, t2, eb_s, eb_e)
        if ne < 0:
            return _fail(err, E_TOO_MANY_ELEMENTS, seg_no, MAXE, pos, 0, 0, 0, 0)
        last_ne = ne
        tag = _segment_tag(buf, eb_s[0], eb_e[0])
        if tag < 0:
            return _fail(err, E_SEGMENT_ID, seg_no, 0, pos, 0, 0, eb_s[0], eb_e[0])
        for k in range(ne, dirty):
            eb_s[k] = 0
            eb_e[k] = 0
        dirty = ne
        # ---------------------------------------------------------------- envelope
        if tag == GS:
            if env != 1:
                return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, env, 0, 0, 0)
            env = 2
            gs_st = 0
            isa_gs += 1
            gs_seg = seg_no
            gs_snd_s, gs_snd_e = eb_s[2], eb_e[2]
            gs_rcv_s, gs_rcv_e = eb_s[3], eb_e[3]
            st, d = _date(buf, eb_s[4], eb_e[4])
            gs_date = d if st == 0 else NULL
            gs_ctl_s, gs_ctl_e = eb_s[6], eb_e[6]
            gs_ver_s, gs_ver_e = eb_s[8], eb_e[8]
            continue
        if tag == GE:
            if env != 2 or no_env:
                return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, env, 0, 0, 0)
            if _uint(buf, eb_s[1], eb_e[1]) != gs_st:
                return _fail(err, E_GE_COUNT, seg_no, 1, pos, gs_st, gs_seg, eb_s[1], eb_e[1])
            if not _eq(buf, eb_s[2], eb_e[2], gs_ctl_s, gs_ctl_e):
                return _fail(
                    err, E_GE_CONTROL, seg_no, 2, pos, gs_ctl_s, gs_ctl_e, eb_s[2], eb_e[2]
                )
            env = 1
            continue
        if tag == IEA:
            if env != 1:
                return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, env, 0, 0, 0)
            if _uint(buf, eb_s[1], eb_e[1]) != isa_gs:
                return _fail(err, E_IEA_COUNT, seg_no, 1, pos, isa_gs, isa_seg, eb_s[1], eb_e[1])
            if not _eq(buf, eb_s[2], eb_e[2], isa_ctl_s, isa_ctl_e):
                return _fail(
                    err, E_IEA_CONTROL, seg_no, 2, pos, isa_ctl_s, isa_ctl_e, eb_s[2], eb_e[2]
                )
            env = 0
            continue
        if tag == ST:
            if env == 0 and n_isa == 0 and (seg_no == 1 or no_env):
                if not no_env:
                    n_fn = _find(fn, n_fn, F_NO_ENVELOPE, seg_no, 0, -1, -1, -1, 0, 0, pos)
                no_env = True
                env = 2
            if env != 2:
                return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, env, 0, 0, 0)
            if not _is(buf, eb_s[1], eb_e[1], 56, 51, 53):  # "835"
                return _fail(err, E_NOT_835, seg_no, 1, pos, 0, 0, eb_s[1], eb_e[1])
            tx = n_tx
            n_tx += 1
            _init_row(tx_n, tx, NULL)
            env = 3
            loop = LOOP_HEADER
            st_count = 1
            st_pos = pos
            st_seg = seg_no
            gs_st += 1
            n1 = 0
            cl = -1
            li = -1
            st_ctl_s, st_ctl_e = eb_s[2], eb_e[2]
            _sets(tx_s, T_ISA_SENDER, tx, isa_snd_s, isa_snd_e)
            _sets(tx_s, T_ISA_RECEIVER, tx, isa_rcv_s, isa_rcv_e)
            _sets(tx_s, T_ISA_CONTROL, tx, isa_ctl_s, isa_ctl_e)
            _sets(tx_s, T_GS_SENDER, tx, gs_snd_s, gs_snd_e)
            _sets(tx_s, T_GS_RECEIVER, tx, gs_rcv_s, gs_rcv_e)
            _sets(tx_s, T_GS_CONTROL, tx, gs_ctl_s, gs_ctl_e)
            if gs_ver_e > gs_ver_s and not no_env:
                _sets(tx_s, T_VERSION, tx, gs_ver_s, gs_ver_e)
            else:
                _sets(tx_s, T_VERSION, tx, eb_s[3], eb_e[3])
            _sets(tx_s, T_ST_CONTROL, tx, st_ctl_s, st_ctl_e)
            _setn(tx_n, TN_GS_DATE, tx, gs_date if not no_env else NULL)
            continue
        if env != 3:
            return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, env, 0, 0, 0)
        st_count += 1
        if tag == SE:
            if _uint(buf, eb_s[1], eb_e[1]) != st_count:
                if no_env and _uint(buf, eb_s[1], eb_e[1]) >= 0:
                    n_fn = _find(
                        fn, n_fn, F_SE_COUNT, seg_no, 1, tx, -1, -1, eb_s[1], eb_e[1], pos
                    )
                else:
                    return _fail(
                        err, E_SE_COUNT, seg_no, 1, pos, st_count, st_seg, eb_s[1], eb_e[1]
                    )
            if not _eq(buf, eb_s[2], eb_e[2], st_ctl_s, st_ctl_e):
                return _fail(
                    err, E_SE_CONTROL, seg_no, 2, pos, st_ctl_s, st_ctl_e, eb_s[2], eb_e[2]
                )
            env = 2
            continue
        # ---------------------------------------------------------------- loops
        if tag == CLP:
            if loop == LOOP_PLB:
                return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, 10 + loop, 0, 0, 0)
            for k in (1, 2):
                if eb_e[k] <= eb_s[k]:
                    return _fail(err, E_MISSING, seg_no, k, pos, 0, 0, 0, 0)
            cl = n_cl
            n_cl += 1
            li = -1
            line_no = 0
            loop = LOOP_CLAIM
            for k in (3, 4, 5):
                st, v = _cents(buf, eb_s[k], eb_e[k])
                if st == 1 and k == 5:
                    v = NULL
                elif st == 1:
                    return _fail(err, E_MISSING, seg_no, k, pos, 0, 0, 0, 0)
                elif st == 2:
                    return _fail(err, E_NUMBER, seg_no, k, pos, 0, 0, eb_s[k], eb_e[k])
                elif st == 3:
                    return _fail(err, E_SUBCENT, seg_no, k, pos, 0, 0, eb_s[k], eb_e[k])
                _setn(cl_n, CN_CHARGE + (k - 3), cl, v)
            _setn(cl_i, CI_TX, cl, tx)
            _setn(cl_i, CI_SEG, cl, seg_no)
            _sets(cl_s, C_ENCOUNTER, cl, eb_s[1], eb_e[1])
            _sets(cl_s, C_STATUS, cl, eb_s[2], eb_e[2])
            _sets(cl_s, C_FILING, cl, eb_s[6], eb_e[6])
            _sets(cl_s, C_PAYER_CLAIM, cl, eb_s[7], eb_e[7])
            _sets(cl_s, C_FACILITY, cl, eb_s[8], eb_e[8])
            _sets(cl_s, C_FREQUENCY, cl, eb_s[9], eb_e[9])
            continue
        if tag == CAS:
            if loop != LOOP_CLAIM and loop != LOOP_LINE:
                return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, 10 + loop, 0, 0, 0)
            if eb_e[1] <= eb_s[1]:
                return _fail(err, E_MISSING, seg_no, 1, pos, 0, 0, 0, 0)
            if ne > 20:
                return _fail(err, E_TOO_MANY_ELEMENTS, seg_no, 20, pos, 0, 0, 0, 0)
            for t in range(6):
                k = 2 + 3 * t
                if k >= ne:
                    break
                has_code = eb_e[k] > eb_s[k]
                st, v = _cents(buf, eb_s[k + 1], eb_e[k + 1])
                qs, q = _decimal(buf, eb_s[k + 2], eb_e[k + 2])
                if not has_code:
                    if st == 1 and qs == 1:
                        continue
                    return _fail(err, E_MISSING, seg_no, k, pos, 0, 0, 0, 0)
                if st == 1:
                    return _fail(err, E_MISSING, seg_no, k + 1, pos, 0, 0, 0, 0)
                if st == 2:
                    return _fail(err, E_NUMBER, seg_no, k + 1, pos, 0, 0, eb_s[k + 1], eb_e[k + 1])
                if st == 3:
                    return _fail(
                        err, E_SUBCENT, seg_no, k + 1, pos, 0, 0, eb_s[k + 1], eb_e[k + 1]
                    )
                if qs == 2:
                    return _fail(
                        err, E_QUANTITY, seg_no, k + 2, pos, 0, 0, eb_s[k + 2], eb_e[k + 2]
                    )
                a = n_ad
                n_ad += 1
                if a < ad_n.shape[1]:
                    ad_i[AI_CLAIM, a] = cl
                    ad_i[AI_LINE, a] = li if loop == LOOP_LINE else NULL32
                    ad_i[AI_SEG, a] = seg_no
                    ad_n[AN_AMOUNT, a] = v
                    if qs == 0:
                        ad_f[AF_QTY, a] = q if q != 0.0 else -0.0
                        n_qty += 1
                    _sets(ad_s, A_GROUP, a, eb_s[1], eb_e[1])
                    _sets(ad_s, A_CARC, a, eb_s[k], eb_e[k])
            continue
        if tag == SVC:
            if loop != LOOP_CLAIM and loop != LOOP_LINE:
                return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, 10 + loop, 0, 0, 0)
            li = n_li
            n_li += 1
            line_no += 1
            loop = LOOP_LINE
            bad = 0
            charge = NULL
            paid = NULL
            for k in (2, 3):
                st, v = _cents(buf, eb_s[k], eb_e[k])
                if st == 1:
                    v = NULL
                    if bad == 0:
                        bad = k
                elif st == 2:
                    return _fail(err, E_NUMBER, seg_no, k, pos, 0, 0, eb_s[k], eb_e[k])
                elif st == 3:
                    return _fail(err, E_SUBCENT, seg_no, k, pos, 0, 0, eb_s[k], eb_e[k])
                if k == 2:
                    charge = v
                else:
                    paid = v
            us, units = _decimal(buf, eb_s[5], eb_e[5])
            if us == 2:
                return _fail(err, E_QUANTITY, seg_no, 5, pos, 0, 0, eb_s[5], eb_e[5])
            os_, ounits = _decimal(buf, eb_s[7], eb_e[7])
            if os_ == 2:
                return _fail(err, E_QUANTITY, seg_no, 7, pos, 0, 0, eb_s[7], eb_e[7])
            nc, sep, odd = _composite(buf, eb_s[1], eb_e[1], comp, cb)
            if nc < 2 or cb[3] <= cb[2] or cb[1] <= cb[0]:
                bad = 1
            if odd and not comp_noted:
                comp_noted = True
                n_fn = _find(
                    fn, n_fn, F_COMPONENT_SEPARATOR, seg_no, 1, tx, cl, li, eb_s[1], eb_e[1], pos
                )
            if li < li_n.shape[1]:
                li_i[LI_CLAIM, li] = cl
                li_n[LN_CHARGE, li] = charge
                li_n[LN_PAID, li] = paid
                li_n[LN_ALLOWED, li] = NULL
                li_i[LI_SEG, li] = seg_no
                li_i[LI_NUMBER, li] = line_no
                if us == 0:
                    li_f[LF_UNITS, li] = units if units != 0.0 else -0.0
                    n_units += 1
                if os_ == 0:
                    li_f[LF_OUNITS, li] = ounits if ounits != 0.0 else -0.0
                    n_ounits += 1
                _sets(li_s, L_QUAL, li, cb[0], cb[1])
                if nc >= 2:
                    _sets(li_s, L_CODE, li, cb[2], cb[3])
                if nc >= 3:
                    last = min(nc, 6) - 1
                    _sets(li_s, L_MODS, li, cb[4], cb[2 * last + 1])
                    n_mods += 1
                    li_i[LI_MODSEP, li] = sep + 1
                _sets(li_s, L_REVENUE, li, eb_s[4], eb_e[4])
                n_revenue += eb_e[4] > eb_s[4]
            if eb_e[6] > eb_s[6]:
                n_svc06 += 1
                nc, sep, odd = _composite(buf, eb_s[6], eb_e[6], comp, cb)
                if (nc < 2 or cb[3] <= cb[2]) and bad == 0:
                    bad = 6
                _sets(li_s, L_OQUAL, li, cb[0], cb[1])
                if nc >= 2:
                    _sets(li_s, L_OCODE, li, cb[2], cb[3])
                if nc >= 3:
                    last = min(nc, 6) - 1
                    _sets(li_s, L_OMODS, li, cb[4], cb[2 * last + 1])
                    _setn(li_i, LI_OMODSEP, li, sep + 1)
            if ne > 8 and bad == 0:
                bad = 8
            if bad != 0:
                n_fn = _find(
                    fn, n_fn, F_SVC_MALFORMED, seg_no, bad, tx, cl, li, eb_s[1], eb_e[ne - 1], pos
                )
            continue
        if tag == DTM:
            if loop == LOOP_PLB or loop == LOOP_LX:
                return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, 10 + loop, 0, 0, 0)
            q = _uint(buf, eb_s[1], eb_e[1])
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
            if target >= 0:
                if eb_e[2] - eb_s[2] == 8 and eb_s[2] + 8 <= n:
                    w = load8(buf, eb_s[2])
                    if w != last_date:
                        last_st, last_days = _date(buf, eb_s[2], eb_e[2])
                        last_date = w
                    st, d = last_st, last_days
                else:
                    st, d = _date(buf, eb_s[2], eb_e[2])
                if st == 2:
                    n_fn = _find(
                        fn, n_fn, F_INVALID_DATE, seg_no, 2, tx, cl, li, eb_s[2], eb_e[2], pos
                    )
                if st == 0:
                    if loop == LOOP_HEADER:
                        _setn(tx_n, target, tx, d)
                    elif loop == LOOP_CLAIM:
                        _setn(cl_i, target, cl, d + DATE_BIAS)
                        n_dates[target] += 1
                    else:
                        _setn(li_i, target, li, d + DATE_BIAS)
                        n_dates[PR_WIDTH + target] += 1
            continue
        if tag == REF:
            if loop == LOOP_PLB or loop == LOOP_LX:
                return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, 10 + loop, 0, 0, 0)
            if loop == LOOP_HEADER and n1 == 1 and _is(buf, eb_s[1], eb_e[1], 50, 85, 0):
                _sets(tx_s, T_PAYER_REF, tx, eb_s[2], eb_e[2])  # REF*2U
            elif loop == LOOP_LINE and _is(buf, eb_s[1], eb_e[1], 54, 82, 0):
                _sets(li_s, L_CONTROL, li, eb_s[2], eb_e[2])  # REF*6R
                n_control += 1
            continue
        if tag == AMT:
            if loop != LOOP_CLAIM and loop != LOOP_LINE:
                return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, 10 + loop, 0, 0, 0)
            st, v = _cents(buf, eb_s[2], eb_e[2])
            if st == 1:
                return _fail(err, E_MISSING, seg_no, 2, pos, 0, 0, 0, 0)
            if st == 2:
                return _fail(err, E_NUMBER, seg_no, 2, pos, 0, 0, eb_s[2], eb_e[2])
            if st == 3:
                return _fail(err, E_SUBCENT, seg_no, 2, pos, 0, 0, eb_s[2], eb_e[2])
            if loop == LOOP_LINE and _is(buf, eb_s[1], eb_e[1], 66, 54, 0):  # B6
                _setn(li_n, LN_ALLOWED, li, v)
            continue
        if tag == NM1:
            if loop != LOOP_CLAIM:
                return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, 10 + loop, 0, 0, 0)
            who = -1
            if _is(buf, eb_s[1], eb_e[1], 81, 67, 0):  # QC patient
                who = C_PAT_LAST
            elif _is(buf, eb_s[1], eb_e[1], 73, 76, 0):  # IL insured
                who = C_SUB_LAST
            elif _is(buf, eb_s[1], eb_e[1], 56, 50, 0):  # 82 rendering provider
                _sets(cl_s, C_RENDERING, cl, eb_s[9], eb_e[9])
                n_rendering += 1
            if who == C_PAT_LAST:
                n_pat += 1
            elif who == C_SUB_LAST:
                n_sub += 1
            if who >= 0:
                _sets(cl_s, who, cl, eb_s[3], eb_e[3])
                _sets(cl_s, who + 1, cl, eb_s[4], eb_e[4])
                _sets(cl_s, who + 2, cl, eb_s[5], eb_e[5])
                _sets(cl_s, who + 3, cl, eb_s[8], eb_e[8])
                _sets(cl_s, who + 4, cl, eb_s[9], eb_e[9])
            continue
        if tag == MOA or tag == MIA:
            if loop != LOOP_CLAIM:
                return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, 10 + loop, 0, 0, 0)
            for j in range(5):
                if tag == MOA:
                    k = 3 + j
                else:
                    k = 5 if j == 0 else 19 + j
                if k < ne and eb_e[k] > eb_s[k]:
                    r = n_re
                    n_re += 1
                    if r < re_i.shape[1]:
                        re_i[RI_CLAIM, r] = cl
                        re_i[RI_LINE, r] = NULL32
                        re_i[RI_SOURCE, r] = SOURCE_MOA if tag == MOA else SOURCE_MIA
                        re_i[RI_SEG, r] = seg_no
                        _sets(re_s, R_CODE, r, eb_s[k], eb_e[k])
            continue
        if tag == LQ:
            if loop != LOOP_LINE:
                return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, 10 + loop, 0, 0, 0)
            for k in (1, 2):
                if eb_e[k] <= eb_s[k]:
                    return _fail(err, E_MISSING, seg_no, k, pos, 0, 0, 0, 0)
            r = n_re
            n_re += 1
            if r < re_i.shape[1]:
                re_i[RI_CLAIM, r] = cl
                re_i[RI_LINE, r] = li
                re_i[RI_SOURCE, r] = SOURCE_LQ
                re_i[RI_SEG, r] = seg_no
                _sets(re_s, R_QUAL, r, eb_s[1], eb_e[1])
                _sets(re_s, R_CODE, r, eb_s[2], eb_e[2])
            continue
        if tag == PLB:
            loop = LOOP_PLB
            li = -1
            if eb_e[1] <= eb_s[1]:
                return _fail(err, E_MISSING, seg_no, 1, pos, 0, 0, 0, 0)
            ds, d = _date(buf, eb_s[2], eb_e[2])
            if ds == 2:
                n_fn = _find(
                    fn, n_fn, F_INVALID_DATE, seg_no, 2, tx, -1, -1, eb_s[2], eb_e[2], pos
                )
            if ne > 15:
                return _fail(err, E_TOO_MANY_ELEMENTS, seg_no, 15, pos, 0, 0, 0, 0)
            for t in range(6):
                k = 3 + 2 * t
                if k >= ne:
                    break
                has_code = eb_e[k] > eb_s[k]
                st, v = _cents(buf, eb_s[k + 1], eb_e[k + 1])
                if not has_code:
                    if st == 1:
                        continue
                    return _fail(err, E_MISSING, seg_no, k, pos, 0, 0, 0, 0)
                if st == 1:
                    return _fail(err, E_MISSING, seg_no, k + 1, pos, 0, 0, 0, 0)
                if st == 2:
                    return _fail(err, E_NUMBER, seg_no, k + 1, pos, 0, 0, eb_s[k + 1], eb_e[k + 1])
                if st == 3:
                    return _fail(
                        err, E_SUBCENT, seg_no, k + 1, pos, 0, 0, eb_s[k + 1], eb_e[k + 1]
                    )
                r = n_pl
                n_pl += 1
                if r < pl_n.shape[1]:
                    nc, sep, odd = _composite(buf, eb_s[k], eb_e[k], comp, cb)
                    pl_i[PI_TX, r] = tx
                    pl_i[PI_DATE, r] = d + DATE_BIAS if ds == 0 else 0
                    pl_i[PI_SEG, r] = seg_no
                    pl_n[PN_AMOUNT, r] = v
                    _sets(pl_s, P_PROVIDER, r, eb_s[1], eb_e[1])
                    _sets(pl_s, P_REASON, r, cb[0], cb[1])
                    if nc >= 2:
                        _sets(pl_s, P_REFERENCE, r, cb[2], cb[2 * nc - 1])
            continue
        if tag == LX or tag == TS3 or tag == TS2:
            if loop == LOOP_PLB:
                return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, 10 + loop, 0, 0, 0)
            loop = LOOP_LX
            cl = -1
            li = -1
            continue
        if tag == QTY:
            if loop != LOOP_CLAIM and loop != LOOP_LINE:
                return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, 10 + loop, 0, 0, 0)
            continue
        if tag == PER:
            if loop != LOOP_HEADER and loop != LOOP_CLAIM:
                return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, 10 + loop, 0, 0, 0)
            continue
        # header-only segments
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
            if loop != LOOP_HEADER:
                return _fail(err, E_UNEXPECTED_SEGMENT, seg_no, 0, pos, 10 + loop, 0, 0, 0)
            if tag == BPR:
                st, v = _cents(buf, eb_s[2], eb_e[2])
                if st == 1:
                    return _fail(err, E_MISSING, seg_no, 2, pos, 0, 0, 0, 0)
                if st == 2:
                    return _fail(err, E_NUMBER, seg_no, 2, pos, 0, 0, eb_s[2], eb_e[2])
                if st == 3:
                    return _fail(err, E_SUBCENT, seg_no, 2, pos, 0, 0, eb_s[2], eb_e[2])
                d = NULL
                if ne > 16:
                    ds, dv = _date(buf, eb_s[16], eb_e[16])
                    if ds == 0:
                        d = dv
                    else:
                        n_fn = _find(
                            fn,
                            n_fn,
                            F_INVALID_DATE if ds == 2 else F_BPR_NO_DATE,
                            seg_no,
                            16,
                            tx,
                            -1,
                            -1,
                            eb_s[16],
                            eb_e[16],
                            pos,
                        )
                else:
                    ds, dv = _date(buf, eb_s[15], eb_e[15])
                    if ds == 0 and ne == 16:
                        d = dv
                        n_fn = _find(
                            fn,
                            n_fn,
                            F_BPR_DATE_POSITION,
                            seg_no,
                            15,
                            tx,
                            -1,
                            -1,
                            eb_s[15],
                            eb_e[15],
                            pos,
                        )
                    else:
                        n_fn = _find(fn, n_fn, F_BPR_NO_DATE, seg_no, 16, tx, -1, -1, 0, 0, pos)
                _setn(tx_n, TN_PAYMENT, tx, v)
                _setn(tx_n, TN_SEG, tx, seg_no)
                _setn(tx_n, TN_PAY_DATE, tx, d)
                _sets(tx_s, T_HANDLING, tx, eb_s[1], eb_e[1])
                _sets(tx_s, T_CREDIT_DEBIT, tx, eb_s[3], eb_e[3])
                _sets(tx_s, T_METHOD, tx, eb_s[4], eb_e[4])
            elif tag == TRN:
                _sets(tx_s, T_TRACE, tx, eb_s[2], eb_e[2])
                _sets(tx_s, T_TRACE_ORIG, tx, eb_s[3], eb_e[3])
            elif tag == N1:
                n1 = 0
                if _is(buf, eb_s[1], eb_e[1], 80, 82, 0):  # PR payer
                    n1 = 1
                    _sets(tx_s, T_PAYER_NAME, tx, eb_s[2], eb_e[2])
                    _sets(tx_s, T_PAYER_QUAL, tx, eb_s[3], eb_e[3])
                    _sets(tx_s, T_PAYER_ID, tx, eb_s[4], eb_e[4])
                elif _is(buf, eb_s[1], eb_e[1], 80, 69, 0):  # PE payee
                    n1 = 2
                    _sets(tx_s, T_PAYEE_NAME, tx, eb_s[2], eb_e[2])
                    _sets(tx_s, T_PAYEE_QUAL, tx, eb_s[3], eb_e[3])
                    _sets(tx_s, T_PAYEE_ID, tx, eb_s[4], eb_e[4])
            continue
        return _fail(err, E_UNKNOWN_SEGMENT, seg_no, 0, pos, 0, 0, eb_s[0], eb_e[0])
    if seg_no == 0:
        return _fail(err, E_EMPTY, 0, 0, 0, 0, 0, 0, 0)
    if env == 3 or (env != 0 and not no_env):
        return _fail(
            err, E_TRUNCATED, seg_no, last_ne - 1, last_pos, env, st_pos, st_ctl_s, st_ctl_e
        )
    counts[K_TX] = n_tx
    counts[K_CLM] = n_cl
    counts[K_LIN] = n_li
    counts[K_ADJ] = n_ad
    counts[K_REM] = n_re
    counts[K_PLB] = n_pl
    counts[K_FND] = n_fn
    counts[K_SEG] = seg_no
    counts[K_ISA] = n_isa
    for f in range(present.shape[1]):
        present[PR_CL_S, f] = 1
        present[PR_LI_S, f] = 1
        present[PR_CL_I, f] = n_dates[f]
        present[PR_LI_I, f] = n_dates[PR_WIDTH + f]
    present[PR_AD_F, AF_QTY] = n_qty
    present[PR_LI_F, LF_UNITS] = n_units
    present[PR_LI_F, LF_OUNITS] = n_ounits
    present[PR_LI_S, L_MODS] = n_mods
    present[PR_LI_S, L_REVENUE] = n_revenue
    for f in (L_OQUAL, L_OCODE, L_OMODS):
        present[PR_LI_S, f] = n_svc06
    present[PR_LI_S, L_CONTROL] = n_control
    for f in range(5):
        present[PR_CL_S, C_PAT_LAST + f] = n_pat
        present[PR_CL_S, C_SUB_LAST + f] = n_sub
    present[PR_CL_S, C_RENDERING] = n_rendering
    return E_OK


# ----------------------------------------------------------------------------- strings
@njit
def span_offsets_nb(starts, ends, out_offsets, valid):
    """Arrow offsets and validity of spans (absent spans, ``end <= start``, are null).

    Returns the total length as int64: the caller checks that it fits the
    type of ``out_offsets`` (int32 unless a column holds 2 GB).
    """
    total = 0
    out_offsets[0] = 0
    for i in range(starts.shape[0]):
        m = ends[i] - starts[i]
        ok = m > 0
        if ok:
            total += m
        valid[i] = ok
        out_offsets[i + 1] = total
    return total


@njit
def gather_strings_nb(buf, starts, ends, out_offsets, out_data):
    """Copy each span into Arrow string data (only for a column of 2 GB or more)."""
    for i in range(starts.shape[0]):
        s = starts[i]
        o = out_offsets[i]
        for j in range(ends[i] - s):
            out_data[o + j] = buf[s + j]


@njit
def table_offsets_nb(spans, n, fields, out_offsets, bits, n_null, totals, rows):
    """Arrow offsets and validity bitmaps of several span fields of one table.

    Field ``fields[j]`` of ``spans`` is rows 2f and 2f+1 (only the first ``n``
    columns are rows of the table; ``end <= start`` is null). Its offsets and
    bitmap (LSB first; ``bits`` is zeroed) go to row ``rows[j]`` of
    ``out_offsets``/``bits``; a field with no value at all gets ``rows[j] = -1``
    and its row is reused, so the rows of all-null fields are never kept.
    ``n_null[j]`` counts nulls and ``totals[j]`` bytes (int64: the caller checks
    the type).
    """
    r = 0
    for j in range(fields.shape[0]):
        f = fields[j]
        total = 0
        nulls = 0
        out_offsets[r, 0] = 0
        for i in range(n):
            m = spans[2 * f + 1, i] - spans[2 * f, i]
            if m > 0:
                total += m
                bits[r, i >> 3] |= np.uint8(1 << (i & 7))
            else:
                nulls += 1
            out_offsets[r, i + 1] = total
        totals[j] = total
        n_null[j] = nulls
        if nulls == n and n > 0:
            rows[j] = -1
        else:
            rows[j] = r
            r += 1


@njit
def gather_table_nb(buf, spans, n, fields, rows, bases, seps, sep_rows, offsets, out_data):
    """Copy several span fields of one table into one data buffer, row by row.

    Field j's offsets are row ``rows[j]`` of ``offsets`` (see ``table_offsets_nb``)
    and its bytes start at ``bases[j]`` of ``out_data``, with 8 spare bytes
    after each field: spans are copied in 8-byte blocks while the file has 8
    bytes to spare after them (the excess is overwritten by the next span or
    left in the gap), which avoids a branch misprediction per short string.
    Going row by row reads the file once per table, with the spans of a row
    close together. When ``sep_rows[j] >= 0``, bytes equal to
    ``seps[sep_rows[j], i] - 1`` become ':'.
    """
    nf = fields.shape[0]
    nbuf = buf.shape[0]
    for i in range(n):
        for j in range(nf):
            f = fields[j]
            s = spans[2 * f, i]
            m = spans[2 * f + 1, i] - s
            if m <= 0:
                continue
            o = bases[j] + offsets[rows[j], i]
            r = sep_rows[j]
            if r >= 0:
                sep = seps[r, i] - 1
                for q in range(m):
                    c = buf[s + q]
                    if sep >= 0 and c == sep:
                        c = 58
                    out_data[o + q] = c
            elif s + m + 8 <= nbuf:
                for q in range(0, m, 8):
                    copy8(out_data, o + q, buf, s + q)
            else:
                for q in range(m):
                    out_data[o + q] = buf[s + q]


@njit
def validity_nb(values, null, bias, bits):
    """Validity bitmap (``bits``, LSB first) of ``values != null``; nulls become 0.

    ``bias`` is subtracted from the valid values (see DATE_BIAS). Returns the
    number of nulls. The values array is then an Arrow data buffer as it is (no
    copy), with zeros under the nulls.
    """
    n = values.shape[0]
    n_null = 0
    for b in range((n + 7) // 8):
        byte = 0
        for t in range(min(8, n - 8 * b)):
            i = 8 * b + t
            v = values[i]
            if v == null:
                values[i] = 0
                n_null += 1
            else:
                values[i] = v - bias
                byte |= 1 << t
        bits[b] = byte
    return n_null


@njit
def float_validity_nb(values, bits):
    """Validity bitmap of a float64 row given as its int64 view (``arr.view(np.int64)``).

    +0.0 (all bits 0) is absent; -0.0 (the bits of int64 min) is a zero quantity
    and becomes +0.0. Returns the number of nulls.
    """
    n = values.shape[0]
    n_null = 0
    for b in range((n + 7) // 8):
        byte = 0
        for t in range(min(8, n - 8 * b)):
            i = 8 * b + t
            v = values[i]
            if v == 0:
                n_null += 1
            else:
                if v == NULL:
                    values[i] = 0
                byte |= 1 << t
        bits[b] = byte
    return n_null


# ----------------------------------------------------------------------------- keys
@_helper
def _rotl(x, b):
    return (x << np.uint64(b)) | (x >> np.uint64(64 - b))


@njit
def _sipround(v0, v1, v2, v3):
    v0 = v0 + v1
    v1 = _rotl(v1, 13)
    v1 ^= v0
    v0 = _rotl(v0, 32)
    v2 = v2 + v3
    v3 = _rotl(v3, 16)
    v3 ^= v2
    v0 = v0 + v3
    v3 = _rotl(v3, 21)
    v3 ^= v0
    v2 = v2 + v1
    v1 = _rotl(v1, 17)
    v1 ^= v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


@njit
def _siphash_parts(k0, k1, buf, spans, r0, nparts, row):
    """SipHash-2-4 of ``nparts`` spans of one row (from span row ``r0``), upper-cased
    and trimmed, joined by 0x1F."""
    v0 = k0 ^ np.uint64(0x736F6D6570736575)
    v1 = k1 ^ np.uint64(0x646F72616E646F6D)
    v2 = k0 ^ np.uint64(0x6C7967656E657261)
    v3 = k1 ^ np.uint64(0x7465646279746573)
    m = np.uint64(0)
    cnt = 0
    for f in range(nparts + nparts - 1):
        if f % 2 == 1:
            s = 0
            e = 1
            sep = True
        else:
            s = spans[r0 + f, row]
            e = spans[r0 + f + 1, row]
            sep = False
            if e <= s:
                s = 0
                e = 0
            while s < e and buf[s] == 32:
                s += 1
            while e > s and buf[e - 1] == 32:
                e -= 1
        for j in range(s, e):
            if sep:
                c = np.uint64(31)
            else:
                b = buf[j]
                if 97 <= b <= 122:
                    b -= 32
                c = np.uint64(b)
            m |= c << np.uint64(8 * (cnt % 8))
            cnt += 1
            if cnt % 8 == 0:
                v3 ^= m
                v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
                v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
                v0 ^= m
                m = np.uint64(0)
    m |= np.uint64(cnt & 0xFF) << np.uint64(56)
    v3 ^= m
    v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
    v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
    v0 ^= m
    v2 ^= np.uint64(0xFF)
    for _ in range(4):
        v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


@njit
def _is_key(buf, s, e):
    """The span is already a ledgerkit pseudonym ("LK" + 24 upper-case hex digits)."""
    if e - s != 26:
        return False
    lk = (load8(buf, s) & np.uint64(0xFFFF)) == np.uint64(0x4B4C)  # "LK"
    return lk & _hex8(load8(buf, s + 2)) & _hex8(load8(buf, s + 10)) & _hex8(load8(buf, s + 18))


@njit
def person_keys_nb(buf, spans, r0, nparts, id_field, keys, salted, out, bits):
    """Fill ``out`` (26 bytes per row, flat) with the pseudonym of each row's person.

    ``spans`` rows ``r0 ..`` hold (start, end) of ``nparts`` fields: last,
    first, middle, id qualifier, id (``id_field``, counted from ``r0``). A row
    with no name and an id that is already a key keeps it; otherwise, when
    ``salted``, the key is "LK" + hex of two keyed SipHash-2-4 values
    (keys[0:2] and keys[2:4]); rows with nothing to hash are null. Writes the
    validity bitmap ``bits`` (zeroed) and returns the number of nulls.
    """
    hexd = np.frombuffer(b"0123456789ABCDEF", np.uint8)
    n = out.shape[0] // 26
    n_null = 0
    for r in range(n):
        ids = spans[r0 + 2 * id_field, r]
        ide = spans[r0 + 2 * id_field + 1, r]
        any_field = False
        no_name = True
        for f in range(nparts):
            if spans[r0 + 2 * f + 1, r] > spans[r0 + 2 * f, r]:
                any_field = True
                if f < id_field - 1:
                    no_name = False
        ok = False
        if any_field and no_name and _is_key(buf, ids, ide):
            o = 26 * r
            copy8(out, o, buf, ids)
            copy8(out, o + 8, buf, ids + 8)
            copy8(out, o + 16, buf, ids + 16)
            out[o + 24] = buf[ids + 24]
            out[o + 25] = buf[ids + 25]
            ok = True
        elif any_field and salted:
            h1 = _siphash_parts(keys[0], keys[1], buf, spans, r0, nparts, r)
            h2 = _siphash_parts(keys[2], keys[3], buf, spans, r0, nparts, r)
            o = 26 * r
            out[o] = 76
            out[o + 1] = 75
            for j in range(16):
                out[o + 2 + j] = hexd[np.int64((h1 >> np.uint64(60 - 4 * j)) & np.uint64(15))]
            for j in range(8):
                out[o + 18 + j] = hexd[np.int64((h2 >> np.uint64(60 - 4 * j)) & np.uint64(15))]
            ok = True
        if ok:
            bits[r >> 3] |= np.uint8(1 << (r & 7))
        else:
            n_null += 1
    return n_null


# ----------------------------------------------------------------------------- sums
@njit
def group_sum_nb(values, group, out):
    """out[g] += values[i] for group[i] = g >= 0 (exact int64; NULL values skipped)."""
    for i in range(values.shape[0]):
        g = group[i]
        v = values[i]
        if g >= 0 and g < out.shape[0] and v != NULL:
            out[g] += v


@njit
def adjustment_sums_nb(
    buf, ad_s, ad_i, ad_n, n, claim_pr, claim_pr123, claim_cas, line_cas, line_pr123
):
    """Per claim and per line sums of the first ``n`` CAS rows, read from the kernel arrays.

    ``claim_pr``: group PR; ``*_pr123``: PR with CARC 1, 2 or 3 (deductible,
    coinsurance, copay); ``*_cas``: every adjustment. ``line_*`` only take
    line-level rows. Outputs are zeroed by the caller.
    """
    nc = claim_cas.shape[0]
    nl = line_cas.shape[0]
    for a in range(n):
        v = ad_n[AN_AMOUNT, a]
        gs = ad_s[2 * A_GROUP, a]
        is_pr = ad_s[2 * A_GROUP + 1, a] - gs == 2 and buf[gs] == 80 and buf[gs + 1] == 82
        cs = ad_s[2 * A_CARC, a]
        pr123 = is_pr and ad_s[2 * A_CARC + 1, a] - cs == 1 and 49 <= buf[cs] <= 51
        c = ad_i[AI_CLAIM, a]
        if 0 <= c < nc:
            claim_cas[c] += v
            if is_pr:
                claim_pr[c] += v
            if pr123:
                claim_pr123[c] += v
        li = ad_i[AI_LINE, a]
        if 0 <= li < nl:
            line_cas[li] += v
            if pr123:
                line_pr123[li] += v
