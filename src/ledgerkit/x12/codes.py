"""Code fields of the 835 checked for what a code can be; a bad one is withheld.

Damage (a lost terminator, a shifted element) can move a patient's name or
member id into a field that holds a code: ``CLP08`` facility type, ``CLP09``
frequency code, a CARC. Such a value must never reach a default output column,
a finding or a stored table. So every code field is checked against its known
list (where the list is closed) or the shape its codes have (length and
characters); a value that fails becomes null in its column and a finding
``invalid_code`` that names file, segment number, segment id and element but
never the value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.core.arrow import bool_array, numpy_array

__all__ = [
    "CODE_RULES",
    "CLAIM_STATUS_WORDS",
    "CodeRule",
    "ENTITY_ID_QUALIFIERS",
    "claim_status_words",
    "invalid_codes",
    "withhold_invalid_codes",
]


def _words(text: str) -> tuple:
    return tuple(text.split())


CLAIM_STATUS = _words("1 2 3 4 5 10 13 15 16 17 19 20 21 22 23 25 27")  # 5010 + 4010
# What each claim status (CLP02) says, in words, for people reading a remit.
CLAIM_STATUS_WORDS = {
    "1": "processed as primary",
    "2": "processed as secondary",
    "3": "processed as tertiary",
    "4": "denied",
    "5": "pended",
    "10": "received, not in process",
    "13": "suspended",
    "15": "suspended: investigation with field",
    "16": "suspended: returned with material",
    "17": "suspended: review pending",
    "19": "processed as primary, forwarded to another payer",
    "20": "processed as secondary, forwarded to another payer",
    "21": "processed as tertiary, forwarded to another payer",
    "22": "reversal of a previous payment",
    "23": "not our claim, forwarded to another payer",
    "25": "predetermination pricing only, no payment",
    "27": "reviewed",
}


def claim_status_words(code) -> str:
    """A claim status code (CLP02) followed by its meaning in words.

    Examples
    --------
    >>> claim_status_words("22")
    '22 (reversal of a previous payment)'
    >>> claim_status_words(None), claim_status_words("99")
    ('unknown (withheld by the reader)', '99 (not a claim status code)')
    """
    if code is None:
        return "unknown (withheld by the reader)"
    return f"{code} ({CLAIM_STATUS_WORDS.get(str(code), 'not a claim status code')})"


FILING_INDICATORS = _words(
    "09 10 11 12 13 14 15 16 17 AM BL CH CI DS FI HM LI LM MA MB MC OF TV VA WC ZZ"
)
GROUP_CODES = _words("CO CR OA PI PR")
PROCEDURE_QUALIFIERS = _words("AD ER HC HP ID IV N1 N2 N3 N4 N6 NU RB UI WK ZZ")
REMARK_QUALIFIERS = _words("HE RX")
PLB_REASONS = _words(
    "50 51 72 90 AH AM AP B2 B3 BD BN C5 CR CS CT CV CW DM E3 FB FC GO HM IP IR IS J1 "
    "L3 L6 LE LS OA OB PI PL RA RE SL TL WO WU"
)
ENTITY_ID_QUALIFIERS = _words("1 9 FI NI PI XV XX ZZ")  # N103 (5010 and 4010)
HANDLING_CODES = _words("C D H I P U X")
CREDIT_DEBIT = _words("C D")
PAYMENT_METHODS = _words("ACH BOP CHK FWT NON")

# Procedure codes are checked with their qualifier ("HC:99213"): CPT (4 digits and a
# digit or F/T/U/M) or HCPCS (a letter and 4 digits), CDT, revenue codes and NDCs
# have fixed shapes; the other qualifiers' codes are letters, digits and '-'.
PROCEDURE = (
    r"HC:([0-9]{4}[0-9FTUM]|[A-Z][0-9]{4})|AD:D[0-9]{4}|NU:[0-9]{3,4}|N4:[0-9]{11}"
    r"|(ER|HP|ID|IV|N1|N2|N3|N6|RB|UI|WK|ZZ):[0-9A-Z-]{1,48}"
)
MODIFIERS = r"[0-9A-Z]{2}(:[0-9A-Z]{2}){0,3}"
CARC = r"[1-9][0-9]{0,2}|[A-Z][0-9]{1,2}"
REMARK = r"HE:(M|MA|N)[0-9]{1,3}|RX:[0-9A-Z]{1,3}"  # RARC (M, MA, N + digits), NCPDP


@dataclass(frozen=True)
class CodeRule:
    """One code column: where it comes from and what its values may be.

    ``known`` is the closed list of codes, or ``pattern`` (a regular expression
    the whole value must match) is the shape of an open one. ``with_column``
    names a qualifier column checked first and joined before the value
    (``"HC:99213"``); ``qualifier_default`` stands in where that column is
    null (MOA/MIA remarks are RARCs: ``"HE"``).
    """

    column: str
    segment_id: str
    element: int | None
    what: str
    known: tuple = ()
    pattern: str = ""
    with_column: str = ""
    qualifier_default: str = ""
    located: bool = True  # the row's segment number is this segment's (False: N1)


CODE_RULES = {
    "transactions": (
        CodeRule("handling_code", "BPR", 1, "transaction handling code", HANDLING_CODES),
        CodeRule("credit_debit", "BPR", 3, "credit/debit flag", CREDIT_DEBIT),
        CodeRule("payment_method", "BPR", 4, "payment method code", PAYMENT_METHODS),
        # N1 segments are not numbered in the tables: these findings have no segment number
        CodeRule(
            "payer_id_qualifier", "N1", 3, "payer id qualifier (N1*PR)", ENTITY_ID_QUALIFIERS,
            located=False,
        ),
        CodeRule(
            "payee_id_qualifier", "N1", 3, "payee id qualifier (N1*PE)", ENTITY_ID_QUALIFIERS,
            located=False,
        ),
    ),
    "claims": (
        CodeRule("status_code", "CLP", 2, "claim status code", CLAIM_STATUS),
        CodeRule("claim_filing_indicator", "CLP", 6, "claim filing indicator", FILING_INDICATORS),
        CodeRule("facility_type", "CLP", 8, "facility type code (2 digits)", pattern="[0-9]{2}"),
        CodeRule("frequency_code", "CLP", 9, "claim frequency code (1 digit)", pattern="[0-9]"),
    ),
    "service_lines": (
        CodeRule(
            "procedure_qualifier", "SVC", 1, "procedure code qualifier", PROCEDURE_QUALIFIERS
        ),
        CodeRule(
            "procedure_code", "SVC", 1, "procedure code for its qualifier",
            pattern=PROCEDURE, with_column="procedure_qualifier",
        ),
        CodeRule("modifiers", "SVC", 1, "list of procedure modifiers", pattern=MODIFIERS),
        CodeRule("revenue_code", "SVC", 4, "revenue code (3-4 digits)", pattern="[0-9]{3,4}"),
        CodeRule(
            "original_procedure_qualifier", "SVC", 6, "procedure code qualifier",
            PROCEDURE_QUALIFIERS,
        ),
        CodeRule(
            "original_procedure_code", "SVC", 6, "procedure code for its qualifier",
            pattern=PROCEDURE, with_column="original_procedure_qualifier",
        ),
        CodeRule("original_modifiers", "SVC", 6, "list of procedure modifiers", pattern=MODIFIERS),
    ),
    "adjustments": (
        CodeRule("group_code", "CAS", 1, "claim adjustment group code", GROUP_CODES),
        CodeRule("carc", "CAS", None, "claim adjustment reason code", pattern=CARC),
    ),
    "remarks": (
        CodeRule("qualifier", "LQ", 1, "remark code qualifier", REMARK_QUALIFIERS),
        CodeRule(
            "code", "LQ", 2, "remark code", pattern=REMARK, with_column="qualifier",
            qualifier_default="HE",
        ),
    ),
    "provider_adjustments": (
        CodeRule("reason_code", "PLB", None, "provider adjustment reason code", PLB_REASONS),
    ),
}  # fmt: skip


def _array(values) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _dictionary_ok(codes: pa.DictionaryArray, rule: CodeRule, qualifiers=None):
    """Validity of each (qualifier, code) the column holds, checked once per distinct value.

    Returns ``(table, qi, ci)``: ``table[qi[r], ci[r]]`` tells whether row ``r``
    holds a valid code (the last row and column stand for a null qualifier or
    code, never valid). ``qi`` is None without a qualifier column (then
    ``table`` has one row).
    """
    if not rule.with_column:
        if rule.known:
            ok = pc.is_in(codes.dictionary, pa.array(rule.known, pa.string()))
        else:
            ok = pc.match_substring_regex(codes.dictionary, f"^(?:{rule.pattern})$")
        table = np.zeros((1, len(codes.dictionary) + 1), np.bool_)
        table[0, :-1] = bool_array(ok)
        return table, None, codes.indices
    # each (qualifier, code) pair: "HC:99213"
    q = _array(qualifiers)
    if rule.qualifier_default:
        q = pc.fill_null(q, rule.qualifier_default)
    quals = pc.dictionary_encode(q)
    table = np.zeros((len(quals.dictionary) + 1, len(codes.dictionary) + 1), np.bool_)
    for i, qual in enumerate(quals.dictionary.to_pylist()):
        joined = pc.binary_join_element_wise(qual, codes.dictionary, ":")
        ok_i = pc.match_substring_regex(joined, f"^(?:{rule.pattern})$")
        table[i, :-1] = bool_array(ok_i)
    return table, quals.indices, codes.indices


def _indices(indices: pa.Array, null_index: int) -> np.ndarray:
    return numpy_array(indices.cast(pa.int64()), fill=null_index)


def invalid_codes(values, rule: CodeRule, qualifiers=None) -> np.ndarray:
    """Boolean mask of the values that are not valid codes under ``rule`` (nulls too).

    Examples
    --------
    >>> rule = CODE_RULES["claims"][2]  # CLP08 facility type
    >>> invalid_codes(pa.array(["11", "BURCK", None, "1"]), rule).tolist()
    [False, True, True, True]
    """
    # a column holds few distinct codes: each is checked once, not once per row
    codes = pc.dictionary_encode(_array(values))
    table, qi, ci = _dictionary_ok(codes, rule, qualifiers)
    ci = _indices(ci, table.shape[1] - 1)
    qi = np.zeros(len(ci), np.int64) if qi is None else _indices(qi, table.shape[0] - 1)
    return ~table[qi, ci]


def _all_valid(values: pa.Array, rule: CodeRule, qualifiers) -> bool:
    """True when every distinct code (with every distinct qualifier) is valid: no row to check."""
    codes = pc.unique(values).drop_null()
    if not rule.with_column:
        if rule.known:
            ok = pc.is_in(codes, pa.array(rule.known, pa.string()))
        else:
            ok = pc.match_substring_regex(codes, f"^(?:{rule.pattern})$")
        return bool(pc.all(ok).as_py() is not False)
    q = _array(qualifiers)
    if rule.qualifier_default:
        q = pc.fill_null(q, rule.qualifier_default)
    if q.null_count:
        return False
    for qual in pc.unique(q).to_pylist():
        joined = pc.binary_join_element_wise(qual, codes, ":")
        if pc.all(pc.match_substring_regex(joined, f"^(?:{rule.pattern})$")).as_py() is False:
            return False
    return True


def _bad_present(values, rule: CodeRule, qualifiers=None) -> np.ndarray | None:
    """Rows holding a value that is not a valid code, or None when there is none.

    The verdict is reached on the distinct values: when every code (and, for
    qualified codes, every qualifier the column's rows can meet) is valid, no
    row is looked at.
    """
    values = _array(values)
    if _all_valid(values, rule, qualifiers):
        return None
    codes = pc.dictionary_encode(values)
    table, qi, ci = _dictionary_ok(codes, rule, qualifiers)
    present = ci.is_valid().to_numpy(zero_copy_only=False)
    ci = _indices(ci, table.shape[1] - 1)
    qi = np.zeros(len(ci), np.int64) if qi is None else _indices(qi, table.shape[0] - 1)
    bad = ~table[qi, ci] & present
    return bad if bad.any() else None


def withhold_invalid_codes(
    name: str, table: pa.Table, where, rules: dict | None = None
) -> tuple[pa.Table, list]:
    """Table ``name`` with invalid codes nulled, and a finding row for each.

    ``rules`` maps table names to their :class:`CodeRule` s (default
    :data:`CODE_RULES`, the 835's; the 837's are in ``ledgerkit.x12.claim_codes``).

    ``where`` gives, per row of the table, numpy arrays ``seg`` (segment
    number), ``tx``, ``claim``, ``line`` (-1 where none) and, for remarks,
    ``source`` (0 LQ, 1 MOA, 2 MIA); it may be a callable returning that dict,
    called only when a code is invalid. Finding rows have the layout of
    :func:`ledgerkit.x12.tables.findings_table`; their messages name the
    element and never the value.

    Examples
    --------
    >>> from ledgerkit.x12.tables import table_from_columns
    >>> t = table_from_columns("claims", {"facility_type": pa.array(["11", "BURCK"])})
    >>> where = {"seg": np.array([7, 9]), "tx": np.zeros(2, int), "claim": np.arange(2),
    ...          "line": np.full(2, -1)}
    >>> out, rows = withhold_invalid_codes("claims", t, where)
    >>> out.column("facility_type").to_pylist()
    ['11', None]
    >>> rows[0][0], rows[0][8][:40]
    (9, 'CLP08: not a valid facility type code (2')
    """
    rows = []
    if table.num_rows == 0:
        return table, rows
    for rule in (CODE_RULES if rules is None else rules).get(name, ()):
        i = table.schema.get_field_index(rule.column)
        col = table.column(i)
        if col.null_count == len(col):
            continue
        quals = table.column(rule.with_column) if rule.with_column else None
        bad = _bad_present(col, rule, quals)
        if bad is None:
            continue
        table = table.set_column(
            i, table.schema.field(i), pc.if_else(pa.array(bad), pa.scalar(None, col.type), col)
        )
        if callable(where):
            where = where()
        for r in np.flatnonzero(bad):
            rows.append(_finding(rule, where, int(r)))
    return table, rows


def _finding(rule: CodeRule, where: dict, r: int) -> tuple:
    sid, elem = rule.segment_id, rule.element
    source = where.get("source")
    if source is not None and int(source[r]) != 0:  # a remark of MOA or MIA
        sid, elem = ("MOA", "MIA")[int(source[r]) - 1], None
    place = f"{sid}{elem:02d}" if elem else f"{sid}"
    msg = f"{place}: not a valid {rule.what}; the value is withheld and {rule.column} is null"
    seg = int(where["seg"][r]) if rule.located else None
    return (
        seg, sid, elem, "invalid_code", int(where["tx"][r]), int(where["claim"][r]),
        int(where["line"][r]), None, msg,
    )  # fmt: skip
