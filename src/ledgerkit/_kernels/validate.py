"""Row checks of a ledger's entries in one pass over the flat columns.

``core.validate.check_entries`` maps the dictionary columns to small integer codes
(from their few distinct values), then this kernel finds, for every check at once,
the first row that fails it. The core words the errors; the kernel only finds rows.
"""

from ledgerkit._kernels._njit import njit

# Checks, in the order core.validate raises them; first_bad[check] = first failing row.
BAD_KIND = 0  # kind code < 0: not one of KINDS
BAD_SOURCE = 1  # source code < 0: not one of SOURCES
BAD_GROUP = 2  # group code == UNKNOWN: not one of GROUP_CODES
BAD_SEQ = 3  # payer_seq outside 0..3
ADJUSTMENT_NO_GROUP = 4  # an adjustment whose group code is null
ADJUSTMENT_NO_CARC = 5  # an adjustment whose CARC is null
PAYER_NOT_NAMED = 6  # payer_seq > 0 and payer_id null
ID_NOT_INCREASING = 7  # entry_id <= the previous row's (duplicates are looked for then)
AMOUNT_BEYOND_LIMIT = 8  # |amount| above the limit
NEGATIVE_CHARGE = 9  # a charge below 0 that is not a negation
N_CHECKS = 10

UNKNOWN = -1  # a code for a value outside the allowed list
NULL = -2  # a code for a null


@njit
def entry_checks_nb(
    kind, source, group, seq, carc_valid, payer_valid, amounts, negation, ids,
    adjustment, charge, limit, first_bad,
):  # fmt: skip
    """Fill ``first_bad`` (int64[N_CHECKS]) with the first row failing each check, or -1.

    ``kind``, ``source``, ``group``: int8 codes (:data:`UNKNOWN`, :data:`NULL`);
    ``adjustment`` and ``charge`` are the kind codes of those kinds; ``limit`` the
    largest absolute amount allowed.
    """
    for c in range(N_CHECKS):
        first_bad[c] = -1
    left = N_CHECKS
    for i in range(kind.shape[0]):
        k = kind[i]
        if first_bad[BAD_KIND] < 0 and k < 0:
            first_bad[BAD_KIND] = i
            left -= 1
        if first_bad[BAD_SOURCE] < 0 and source[i] < 0:
            first_bad[BAD_SOURCE] = i
            left -= 1
        g = group[i]
        if first_bad[BAD_GROUP] < 0 and g == UNKNOWN:
            first_bad[BAD_GROUP] = i
            left -= 1
        s = seq[i]
        if first_bad[BAD_SEQ] < 0 and (s < 0 or s > 3):
            first_bad[BAD_SEQ] = i
            left -= 1
        if k == adjustment:
            if first_bad[ADJUSTMENT_NO_GROUP] < 0 and g == NULL:
                first_bad[ADJUSTMENT_NO_GROUP] = i
                left -= 1
            if first_bad[ADJUSTMENT_NO_CARC] < 0 and not carc_valid[i]:
                first_bad[ADJUSTMENT_NO_CARC] = i
                left -= 1
        if first_bad[PAYER_NOT_NAMED] < 0 and s > 0 and not payer_valid[i]:
            first_bad[PAYER_NOT_NAMED] = i
            left -= 1
        if first_bad[ID_NOT_INCREASING] < 0 and i > 0 and ids[i] <= ids[i - 1]:
            first_bad[ID_NOT_INCREASING] = i
            left -= 1
        a = amounts[i]
        if first_bad[AMOUNT_BEYOND_LIMIT] < 0 and (a > limit or a < -limit):
            first_bad[AMOUNT_BEYOND_LIMIT] = i
            left -= 1
        if first_bad[NEGATIVE_CHARGE] < 0 and k == charge and a < 0 and not negation[i]:
            first_bad[NEGATIVE_CHARGE] = i
            left -= 1
        if left == 0:
            break
