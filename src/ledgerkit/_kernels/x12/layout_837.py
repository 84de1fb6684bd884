"""Numbers shared by the 837 kernel and its wrapper: table layouts, loops, findings.

The same conventions as the 835 layouts (``layout.py``): string fields are rows
2k/2k+1 (start, end) of a table's "s" array, money rows of its "n" array (int64,
``NULL`` absent), ids and dates rows of its "i" array (int32 or int64, dates as
days + ``DATE_BIAS``, 0 absent; ids ``NULL32`` absent), quantities rows of its
"f" array (+0.0 absent, a zero written as -0.0). Envelope errors and the shared
finding codes are those of ``layout.py``.
"""

from __future__ import annotations

from ledgerkit._kernels.x12.layout import _tag

SBR, CLM, HI, LX, SV1, SV2, SVD, LIN, HL = (
    _tag(s) for s in ("SBR", "CLM", "HI", "LX", "SV1", "SV2", "SVD", "LIN", "HL")
)
NM1, REF, DTP, CAS, AMT, BHT = (_tag(s) for s in ("NM1", "REF", "DTP", "CAS", "AMT", "BHT"))

# Loops, as the reader tracks them inside one ST..SE.
LOOP_HEADER, LOOP_BILLING, LOOP_SUBSCRIBER, LOOP_PATIENT = 0, 1, 2, 3
LOOP_CLAIM, LOOP_OTHER_PAYER, LOOP_LINE, LOOP_LINE_ADJUDICATION = 4, 5, 6, 7

# transactions
X_ISA_SENDER, X_ISA_RECEIVER, X_ISA_CONTROL, X_GS_CONTROL, X_VERSION, X_ST_CONTROL = range(6)
X_SUBMITTER_ID, X_RECEIVER_ID, X_RECEIVER_NAME, X_BHT_REFERENCE, X_PURPOSE, X_CLAIM_OR_ENC = (
    6, 7, 8, 9, 10, 11,
)  # fmt: skip
N_XS = 12
XN_GS_DATE, XN_CREATED, XN_SEG = 0, 1, 2
N_XN = 3

# claims (a person is five consecutive fields: last, first, middle, id qualifier, id)
C_ID, C_FACILITY, C_FACILITY_QUAL, C_FREQUENCY, C_RESPONSIBILITY, C_RELATIONSHIP = range(6)
C_FILING, C_PAYER_NAME, C_PAYER_ID, C_BILLING_NPI, C_BILLING_TAX_ID, C_RENDERING = range(6, 12)
C_ATTENDING, C_FACILITY_ID, C_ORIGINAL_REF, C_PRIOR_AUTH = 12, 13, 14, 15
C_SUB_LAST, C_PAT_LAST = 16, 21
N_CS = 26
CN_CHARGE = 0
N_CN = 1
CI_TX, CI_FROM, CI_TO, CI_SVC_FROM, CI_SVC_TO, CI_SEG = range(6)
N_CI = 6

# service lines
L_QUAL, L_CODE, L_MODS, L_REVENUE, L_UNIT_BASIS, L_PLACE = range(6)
L_CONTROL, L_NDC, L_RENDERING, L_POINTERS = 6, 7, 8, 9
N_LS = 10
LN_CHARGE = 0
N_LN = 1
LI_CLAIM, LI_NUMBER, LI_FROM, LI_TO, LI_SEG, LI_MODSEP, LI_PTRSEP = range(7)
N_LI = 7
LF_UNITS = 0
N_LF = 1

# diagnoses (every HI composite)
D_QUAL, D_CODE = 0, 1
N_DS = 2
DI_CLAIM, DI_POSITION, DI_SEG = 0, 1, 2
N_DI = 3

# prior payers' adjudication (2320 CAS/AMT, 2430 SVD/CAS/AMT)
P_PAYER_ID, P_RESPONSIBILITY, P_GROUP, P_CARC, P_AMOUNT_QUAL, P_PROC_QUAL, P_PROC_CODE = range(7)
N_PS = 7
PN_AMOUNT = 0
N_PN = 1
PI_CLAIM, PI_LINE, PI_SOURCE, PI_OTHER, PI_DATE, PI_SEG = range(6)
N_PI = 6
PF_QUANTITY = 0
N_PF = 1
SOURCE_AMT, SOURCE_SVD, SOURCE_CAS = 0, 1, 2

# other payers (one row per 2320 loop: the claim's other coverage)
O_RESPONSIBILITY, O_FILING, O_PAYER_NAME, O_PAYER_ID = range(4)
N_OS = 4
OI_CLAIM, OI_INDEX, OI_SEG = range(3)
N_OI = 3

# counts
Q_TX, Q_CLM, Q_LIN, Q_DX, Q_PRIOR, Q_FND, Q_SEG, Q_OTHER = range(8)
N_Q = 8

MAX_OTHER_PAYERS = 16  # 2320 loops of one claim (the guides allow 10)

# Findings of the 837 (codes after those of layout.py)
F837_CLAIM_NO_LINES = 20
F837_LINE_DATE = 21  # a line with no service date of its own nor of its claim
