"""Numbers shared by the 835 kernels and their wrapper: segment tags, array layouts, codes.

Each table the parser fills is a few 2-D arrays, one row per field (see "layouts"
below); these constants name the rows, the errors and the findings.
"""

from __future__ import annotations

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

K_TX, K_CLM, K_LIN, K_ADJ, K_REM, K_PLB, K_FND, K_SEG, K_ISA, K_ESEP, K_TERM, K_LEAD = range(12)
N_K = 12

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
E_DELIMITER = 20  # an ISA delimiter that is not a single ASCII byte

# Finding codes (readable but odd).
F_INVALID_DATE = 1
F_BPR_DATE_POSITION = 2
F_BPR_NO_DATE = 3
F_SVC_MALFORMED = 4
F_COMPONENT_SEPARATOR = 5
F_ISA_WIDTH = 6
F_NO_ENVELOPE = 7
F_SE_COUNT = 8
F_CLAIM_SKIPPED = 9  # damage inside a claim: the claim is left out, the file read on

# ISA delimiters as ``scan.parse_isa`` reports one that is not a single ASCII byte
# (its return value, negated): the element separator, ISA11, ISA16, the terminator.
D_ELEMENT, D_REPETITION, D_COMPONENT, D_TERMINATOR = 1, 11, 16, 17
ISA_OUT = 7  # slots of parse_isa's ``out``
