"""``read_837``: X12 837 claim files (837P and 837I, 5010 and 4010) into Arrow tables.

The bytes are scanned by a compiled kernel (``ledgerkit._kernels.x12.parse_837``)
made of the 835 reader's pieces; this module allocates its arrays, turns its
offsets and values into Arrow columns (with the 835 reader's column builders),
computes the derived columns and balancing checks with vectorised operations,
and deals with paths, folders and errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._kernels.groupsums import group_sum_nb
from ledgerkit._kernels.x12 import layout as k
from ledgerkit._kernels.x12 import layout_837 as m
from ledgerkit._kernels.x12.parse_837 import parse_837_nb
from ledgerkit.x12.claims import (
    CLAIM_IDENTIFIER_COLUMNS,
    CLAIM_TABLE_NAMES,
    Claims,
    claims_schema,
)
from ledgerkit.x12.errors import X12Error
from ledgerkit.x12.read import _as_utf8, _column, _files, _string_columns, person_keys
from ledgerkit.x12.tables import NullArrays, arrow_ints, findings_table
from ledgerkit.x12.tokenize import sniff_delimiters

__all__ = ["read_837", "KNOWN_SEGMENTS"]

NULL = k.NULL

# Segment ids of the 837P/837I guides (5010 and 4010): only these are named in
# messages, so a damaged file never has a piece of a value quoted as an "id".
KNOWN_SEGMENTS = frozenset(
    "ISA IEA GS GE ST SE BHT REF NM1 N2 N3 N4 PER HL PRV SBR PAT DMG CLM DTP CL1 PWK CN1 "
    "AMT K3 NTE CR1 CR2 CR3 CR4 CR5 CR6 CR7 CR8 CRC HI HCP QTY MEA LX SV1 SV2 SV5 TOO CAS "
    "OI MIA MOA SVD LIN CTP PS1 HSD LQ FRM MOA QTY".split()
)

_LOOP_NAMES = {
    m.LOOP_HEADER: "in the header (before the billing provider HL)",
    m.LOOP_BILLING: "in the billing provider loop 2000A",
    m.LOOP_SUBSCRIBER: "in the subscriber loop 2000B before a claim",
    m.LOOP_PATIENT: "in the patient loop 2000C before a claim",
    m.LOOP_CLAIM: "in the claim loop 2300",
    m.LOOP_OTHER_PAYER: "in the other subscriber loop 2320",
    m.LOOP_LINE: "in the service line loop 2400",
    m.LOOP_LINE_ADJUDICATION: "in the line adjudication loop 2430",
}
_ENV_NAMES = {
    0: "outside an interchange: expected ISA",
    1: "inside an interchange but outside a functional group: expected GS or IEA",
    2: "between transaction sets: expected ST or GE",
    3: "inside a transaction set: the previous one needs its SE (and GE, IEA) first",
}
FINDING_CODES_837 = {
    k.F_INVALID_DATE: ("invalid_date", "not a valid date (D8 CCYYMMDD, RD8 range); read as null"),
    k.F_COMPONENT_SEPARATOR: (
        "component_separator",
        "composites use a separator other than ISA16; it was inferred per element",
    ),
    k.F_ISA_WIDTH: ("isa_width", "ISA elements are not fixed width (106 bytes)"),
    k.F_NO_ENVELOPE: (
        "no_envelope",
        "no ISA/GS envelope: the file starts at ST; delimiters were inferred",
    ),
    k.F_SE_COUNT: ("se_count", "SE01 does not match the number of segments (no envelope)"),
}


# ----------------------------------------------------------------------------- kernel
def _arrays(cap: dict, int_dtype) -> dict:
    def two(rows, n, dtype):
        return np.zeros((rows, -(-n // 16) * 16), dtype)

    i = int_dtype
    return dict(
        tx_s=two(2 * m.N_XS, cap["tx"], i), tx_n=two(m.N_XN, cap["tx"], np.int64),
        cl_s=two(2 * m.N_CS, cap["cl"], i), cl_n=two(m.N_CN, cap["cl"], np.int64),
        cl_i=two(m.N_CI, cap["cl"], i),
        li_s=two(2 * m.N_LS, cap["li"], i), li_n=two(m.N_LN, cap["li"], np.int64),
        li_i=two(m.N_LI, cap["li"], i), li_f=two(m.N_LF, cap["li"], np.float64),
        dx_s=two(2 * m.N_DS, cap["dx"], i), dx_i=two(m.N_DI, cap["dx"], i),
        pr_s=two(2 * m.N_PS, cap["pr"], i), pr_n=two(m.N_PN, cap["pr"], np.int64),
        pr_i=two(m.N_PI, cap["pr"], i), pr_f=two(m.N_PF, cap["pr"], np.float64),
        op_s=two(2 * m.N_OS, cap["op"], i), op_i=two(m.N_OI, cap["op"], i),
        fn=two(k.N_FN, cap["fn"], np.int64),
    )  # fmt: skip


_COUNT_OF = {"tx": m.Q_TX, "cl": m.Q_CLM, "li": m.Q_LIN, "dx": m.Q_DX, "pr": m.Q_PRIOR,
             "op": m.Q_OTHER, "fn": m.Q_FND}  # fmt: skip


def _rows(arrays: dict, table: str) -> int:
    """Rows allocated for ``table`` (every array of a table has the same)."""
    first = next(v for name, v in arrays.items() if name.split("_")[0] == table)
    return first.shape[1]


def _parse(buf: np.ndarray, file: str) -> dict:
    """Run the kernel over one file's bytes; arrays trimmed to the rows used."""
    n = len(buf)
    # Rows by size (typical claims take ~1 KB, lines ~150 bytes): pages never written
    # cost nothing, and a file denser than that is parsed again with exact numbers.
    cap = {"tx": n // 400 + 4, "cl": n // 300 + 16, "li": n // 60 + 16, "dx": n // 60 + 16,
           "pr": n // 60 + 16, "op": n // 300 + 16, "fn": n // 1000 + 16}  # fmt: skip
    delims = sniff_delimiters(buf)
    int_dtype = np.int32 if n < 2**31 - 1 else np.int64
    counts = np.zeros(m.N_Q, np.int64)
    err = np.zeros(k.N_ERR, np.int64)
    while True:
        a = _arrays(cap, int_dtype)
        code = parse_837_nb(
            buf, *delims, counts, err, a["tx_s"], a["tx_n"], a["cl_s"], a["cl_n"], a["cl_i"],
            a["li_s"], a["li_n"], a["li_i"], a["li_f"], a["dx_s"], a["dx_i"], a["pr_s"],
            a["pr_n"], a["pr_i"], a["pr_f"], a["op_s"], a["op_i"], a["fn"],
        )  # fmt: skip
        if code != k.E_OK:
            raise _error(buf, file, err)
        # the kernel counts the rows past a capacity too: retry with the exact numbers
        short = {t: int(counts[q]) for t, q in _COUNT_OF.items() if counts[q] > _rows(a, t)}
        if not short:
            break
        cap.update(short)
    for name in list(a):
        a[name] = a[name][:, : int(counts[_COUNT_OF[name.split("_")[0]]])]
    a["buf"] = buf
    return a


def _segment_name(buf, pos) -> str | None:
    out = []
    for c in bytes(buf[pos : pos + 3]):
        if not chr(c).isalnum():
            break
        out.append(chr(c))
    sid = "".join(out)
    return sid if sid in KNOWN_SEGMENTS else None


def _error(buf, file, err) -> X12Error:
    """The kernel's error as an X12Error; no value of the file is quoted."""
    code, seg, elem, pos, a, b, _vs, _ve = (int(x) for x in err)
    sid = _segment_name(buf, pos) if seg else None
    element = elem or None
    if code == k.E_EMPTY:
        return X12Error(file, None, None, None, "the input holds no X12 segments")
    if code == k.E_BAD_ISA:
        return X12Error(
            file, seg, "ISA", elem,
            "the ISA header is broken: it must be 16 elements (ISA09 6 digits, ISA10 4 "
            "digits, ISA13 9 digits, ISA12 5 characters) followed by the component "
            "separator and the segment terminator",
        )  # fmt: skip
    if code == k.E_SEGMENT_ID:
        return X12Error(
            file, seg, None, 0,
            "this is not a segment id (2-3 upper-case letters or digits): the file is cut, "
            "or its delimiters are not the ones in its ISA",
        )  # fmt: skip
    what = sid or "this segment"
    if code == k.E_TOO_MANY_ELEMENTS:
        return X12Error(file, seg, sid, elem, f"{what} has too many elements (at most {elem - 1})")
    if code == k.E_UNEXPECTED_SEGMENT:
        if a == 20:
            return X12Error(file, seg, sid, 3, "HL03 must be 20 (billing provider), 22 "
                            "(subscriber) or 23 (patient)")  # fmt: skip
        where = _LOOP_NAMES[a - 10] if a >= 10 else _ENV_NAMES.get(a, "here")
        return X12Error(file, seg, sid, elem or 0, f"{what} is not allowed {where}")
    if code == k.E_NOT_835:
        return X12Error(file, seg, "ST", 1, "the transaction set is not an 837 (ST01 must be 837)")
    if code == k.E_SE_COUNT:
        return X12Error(
            file, seg, "SE", 1,
            f"SE01 does not match the {a} segments of the transaction set starting at "
            f"segment {b}: segments are missing or extra",
        )  # fmt: skip
    if code in (k.E_SE_CONTROL, k.E_GE_CONTROL, k.E_IEA_CONTROL):
        opener = {k.E_SE_CONTROL: "ST02", k.E_GE_CONTROL: "GS06", k.E_IEA_CONTROL: "ISA13"}
        return X12Error(file, seg, sid, elem, f"the control number does not match {opener[code]}")
    if code == k.E_GE_COUNT:
        return X12Error(
            file, seg, "GE", 1,
            f"GE01 does not match the {a} transaction sets of the group opened at segment {b}",
        )  # fmt: skip
    if code == k.E_IEA_COUNT:
        return X12Error(
            file, seg, "IEA", 1,
            f"IEA01 does not match the {a} functional groups of the interchange opened at "
            f"segment {b}",
        )  # fmt: skip
    if code == k.E_TRUNCATED:
        inside = {3: "a transaction set (no SE)", 2: "a functional group (no GE)",
                  1: "an interchange (no IEA)"}.get(a, "an envelope")  # fmt: skip
        why = f"the file ends inside {inside}: it is truncated; nothing was read"
        return X12Error(file, seg, sid, elem, why)
    if code == k.E_MISSING:
        return X12Error(file, seg, sid, element, "a required element is empty")
    if code == k.E_NUMBER:
        return X12Error(
            file, seg, sid, element, "not a number (amounts are decimal dollars like 123.45)"
        )
    if code == k.E_SUBCENT:
        return X12Error(
            file, seg, sid, element, "the amount has fractions of a cent; money is read in cents"
        )
    if code == k.E_QUANTITY:
        return X12Error(file, seg, sid, element, "not a quantity (a decimal number)")
    return X12Error(file, seg, sid, element, f"internal parser error {code}")  # pragma: no cover


# ----------------------------------------------------------------------------- tables
def _table(name: str, cols: dict, n: int, nulls: NullArrays) -> pa.Table:
    sch = claims_schema(name)
    arrays = [cols[f.name] if f.name in cols else nulls(n, f.type) for f in sch]
    return pa.Table.from_arrays(arrays, schema=sch)


def _num(arr, f, nulls, typ=pa.int64()):
    return _column(arr[f], typ, nulls)


def _ids(n: int) -> pa.Array:
    return pa.array(np.arange(n, dtype=np.int32))


def _claim_type(version: pa.Array) -> pa.Array:
    """professional (X222, 4010 X098) or institutional (X223, 4010 X096) from the version."""
    prof = pc.match_substring_regex(version, "X222|X098")
    inst = pc.match_substring_regex(version, "X223|X096")
    none = pa.scalar(None, pa.string())
    return pc.if_else(prof, "professional", pc.if_else(inst, "institutional", none))


def _transactions(a, nulls, file) -> pa.Table:
    sc = _string_columns(a["buf"], a["tx_s"], range(m.N_XS), nulls)
    ntx = a["tx_s"].shape[1]
    tx_n = a["tx_n"]
    return _table(
        "transactions",
        {
            "transaction_id": _ids(ntx),
            "file": pa.array([file] * ntx, pa.string()),
            "isa_sender": sc[m.X_ISA_SENDER],
            "isa_receiver": sc[m.X_ISA_RECEIVER],
            "isa_control": sc[m.X_ISA_CONTROL],
            "gs_control": sc[m.X_GS_CONTROL],
            "gs_date": arrow_ints(tx_n[m.XN_GS_DATE], pa.date32()),
            "version": sc[m.X_VERSION],
            "claim_type": _claim_type(sc[m.X_VERSION]),
            "st_control": sc[m.X_ST_CONTROL],
            "purpose": sc[m.X_PURPOSE],
            "reference": sc[m.X_BHT_REFERENCE],
            "created_date": arrow_ints(tx_n[m.XN_CREATED], pa.date32()),
            "claim_or_encounter": sc[m.X_CLAIM_OR_ENC],
            "submitter_id": sc[m.X_SUBMITTER_ID],
            "receiver_name": sc[m.X_RECEIVER_NAME],
            "receiver_id": sc[m.X_RECEIVER_ID],
        },
        ntx,
        nulls,
    )


def _payer_seq(resp: pa.Array) -> pa.Array:
    letters = "PSTABCDEFGH"
    codes = pa.array(list(letters))
    idx = pc.index_in(resp, value_set=codes)
    return pc.add(idx, pa.scalar(1, pa.int32())).cast(pa.int8())


def _dates(values: np.ndarray) -> np.ndarray:
    """Kernel date row (days + DATE_BIAS, 0 absent) as days with NULL absent."""
    v = values.astype(np.int64)
    return np.where(v == 0, NULL, v - k.DATE_BIAS)


def _line_dates(a) -> tuple[np.ndarray, np.ndarray]:
    """Line service dates, from the claim's DTP*472 where the line has none."""
    li_i, cl_i = a["li_i"], a["cl_i"]
    frm, to = _dates(li_i[m.LI_FROM]), _dates(li_i[m.LI_TO])
    claim = li_i[m.LI_CLAIM].astype(np.int64)
    none = frm == NULL
    if none.any() and len(claim):
        cf, ct = _dates(cl_i[m.CI_SVC_FROM]), _dates(cl_i[m.CI_SVC_TO])
        frm = np.where(none, cf[claim], frm)
        to = np.where(none, ct[claim], to)
    return frm, to


def _claim_dates(a, line_from, line_to) -> tuple[np.ndarray, np.ndarray]:
    """Claim service dates: its DTP*472, else the first and last of its lines."""
    ncl = a["cl_n"].shape[1]
    cf, ct = _dates(a["cl_i"][m.CI_SVC_FROM]), _dates(a["cl_i"][m.CI_SVC_TO])
    claim = a["li_i"][m.LI_CLAIM].astype(np.int64)
    big = np.iinfo(np.int64).max
    first = np.full(ncl, big, np.int64)
    last = np.full(ncl, NULL, np.int64)
    ok = line_from != NULL
    np.minimum.at(first, claim[ok], line_from[ok])
    np.maximum.at(last, claim[ok], np.where(line_to[ok] == NULL, line_from[ok], line_to[ok]))
    first[first == big] = NULL
    return np.where(cf == NULL, first, cf), np.where(cf == NULL, last, ct)


def _lines(a, nulls, line_from, line_to) -> pa.Table:
    li_i = a["li_i"]
    nli = li_i.shape[1]
    sep_rows = [m.LI_MODSEP if f == m.L_MODS else m.LI_PTRSEP if f == m.L_POINTERS else -1
                for f in range(m.N_LS)]  # fmt: skip
    sc = _string_columns(a["buf"], a["li_s"], range(m.N_LS), nulls, None, li_i, sep_rows)
    return _table(
        "service_lines",
        {
            "line_id": _ids(nli),
            "claim_id": _num(li_i, m.LI_CLAIM, nulls, pa.int32()),
            "line_number": _num(li_i, m.LI_NUMBER, nulls, pa.int32()),
            "procedure_qualifier": sc[m.L_QUAL],
            "procedure_code": sc[m.L_CODE],
            "modifiers": sc[m.L_MODS],
            "revenue_code": sc[m.L_REVENUE],
            "charge_cents": pa.array(a["li_n"][m.LN_CHARGE]),
            "unit_basis": sc[m.L_UNIT_BASIS],
            "units": _num(a["li_f"], m.LF_UNITS, nulls, pa.float64()),
            "place_of_service": sc[m.L_PLACE],
            "diagnosis_pointers": sc[m.L_POINTERS],
            "service_from": arrow_ints(line_from, pa.date32()),
            "service_to": arrow_ints(np.where(line_to == NULL, line_from, line_to), pa.date32()),
            "line_control_number": sc[m.L_CONTROL],
            "ndc": sc[m.L_NDC],
            "rendering_provider_id": sc[m.L_RENDERING],
        },
        nli,
        nulls,
    )


def _claims(a, nulls, salt, keep_identifiers, claim_from, claim_to, line_count) -> pa.Table:
    buf, cl_s, cl_i = a["buf"], a["cl_s"], a["cl_i"]
    ncl = cl_s.shape[1]
    fields = list(range(m.C_SUB_LAST))
    if keep_identifiers:
        fields += list(range(m.C_SUB_LAST, m.N_CS))
    sc = _string_columns(buf, cl_s, fields, nulls)
    qual_b = pc.equal(sc[m.C_FACILITY_QUAL], "B")
    cols = {
        "claim_id": _ids(ncl),
        "transaction_id": _num(cl_i, m.CI_TX, nulls, pa.int32()),
        "encounter_id": sc[m.C_ID],
        "charge_cents": pa.array(a["cl_n"][m.CN_CHARGE]),
        "facility_code": sc[m.C_FACILITY],
        "facility_code_qualifier": sc[m.C_FACILITY_QUAL],
        "place_of_service": pc.if_else(qual_b, sc[m.C_FACILITY], None),
        "frequency_code": sc[m.C_FREQUENCY],
        "payer_responsibility": sc[m.C_RESPONSIBILITY],
        "payer_seq": _payer_seq(sc[m.C_RESPONSIBILITY]),
        "relationship_code": sc[m.C_RELATIONSHIP],
        "claim_filing_indicator": sc[m.C_FILING],
        "payer_id": sc[m.C_PAYER_ID],
        "payer_name": sc[m.C_PAYER_NAME],
        "billing_provider_npi": sc[m.C_BILLING_NPI],
        "billing_provider_tax_id": sc[m.C_BILLING_TAX_ID],
        "rendering_provider_id": sc[m.C_RENDERING],
        "attending_provider_id": sc[m.C_ATTENDING],
        "service_facility_id": sc[m.C_FACILITY_ID],
        "original_reference": sc[m.C_ORIGINAL_REF],
        "prior_authorization": sc[m.C_PRIOR_AUTH],
        "statement_from": _num(cl_i, m.CI_FROM, nulls, pa.date32()),
        "statement_to": _num(cl_i, m.CI_TO, nulls, pa.date32()),
        "service_from": arrow_ints(claim_from, pa.date32()),
        "service_to": arrow_ints(claim_to, pa.date32()),
        "line_count": pa.array(line_count.astype(np.int32)),
        "patient_key": person_keys(buf, cl_s, salt, m.C_PAT_LAST),
        "subscriber_key": person_keys(buf, cl_s, salt, m.C_SUB_LAST),
    }
    if keep_identifiers:
        order = [m.C_PAT_LAST + i for i in range(5)] + [m.C_SUB_LAST + i for i in range(5)]
        for name, f in zip(CLAIM_IDENTIFIER_COLUMNS, order, strict=True):
            cols[name] = sc[f]
    return _table("claims", cols, ncl, nulls)


def _diagnoses(a, nulls) -> pa.Table:
    dx_i = a["dx_i"]
    n = dx_i.shape[1]
    sc = _string_columns(a["buf"], a["dx_s"], [m.D_QUAL, m.D_CODE], nulls)
    return _table(
        "diagnoses",
        {
            "claim_id": _num(dx_i, m.DI_CLAIM, nulls, pa.int32()),
            "position": _num(dx_i, m.DI_POSITION, nulls, pa.int32()),
            "qualifier": sc[m.D_QUAL],
            "code": sc[m.D_CODE],
        },
        n,
        nulls,
    )


def _other_payers(a, nulls) -> pa.Table:
    op_i = a["op_i"]
    n = op_i.shape[1]
    sc = _string_columns(a["buf"], a["op_s"], range(m.N_OS), nulls)
    return _table(
        "other_payers",
        {
            "claim_id": _num(op_i, m.OI_CLAIM, nulls, pa.int32()),
            "other_payer": _num(op_i, m.OI_INDEX, nulls, pa.int32()),
            "responsibility": sc[m.O_RESPONSIBILITY],
            "payer_seq": _payer_seq(sc[m.O_RESPONSIBILITY]),
            "claim_filing_indicator": sc[m.O_FILING],
            "payer_id": sc[m.O_PAYER_ID],
            "payer_name": sc[m.O_PAYER_NAME],
        },
        n,
        nulls,
    )


def _prior(a, nulls) -> pa.Table:
    pr_i = a["pr_i"]
    n = pr_i.shape[1]
    sc = _string_columns(a["buf"], a["pr_s"], range(m.N_PS), nulls)
    sources = pa.array(["AMT", "SVD", "CAS"])
    return _table(
        "prior_adjudication",
        {
            "claim_id": _num(pr_i, m.PI_CLAIM, nulls, pa.int32()),
            "line_id": _num(pr_i, m.PI_LINE, nulls, pa.int32()),
            "source": pc.take(sources, pa.array(pr_i[m.PI_SOURCE].astype(np.int32))),
            "other_payer": _num(pr_i, m.PI_OTHER, nulls, pa.int32()),
            "other_payer_responsibility": sc[m.P_RESPONSIBILITY],
            "other_payer_id": sc[m.P_PAYER_ID],
            "group_code": sc[m.P_GROUP],
            "carc": sc[m.P_CARC],
            "amount_qualifier": sc[m.P_AMOUNT_QUAL],
            "amount_cents": pa.array(a["pr_n"][m.PN_AMOUNT]),
            "quantity": _num(a["pr_f"], m.PF_QUANTITY, nulls, pa.float64()),
            "procedure_qualifier": sc[m.P_PROC_QUAL],
            "procedure_code": sc[m.P_PROC_CODE],
            "adjudication_date": _num(pr_i, m.PI_DATE, nulls, pa.date32()),
        },
        n,
        nulls,
    )


# ----------------------------------------------------------------------------- checks
def _prior_residuals(a, claim_tx):
    """Rows of failed COB balancing checks (seed 003): per line and per other payer,
    charge - SVD paid - that payer's line CAS; per claim and other payer with AMT*D,
    charge - AMT*D - that payer's claim and line CAS."""
    pr_i, pr_n, buf, pr_s = a["pr_i"], a["pr_n"], a["buf"], a["pr_s"]
    if pr_i.shape[1] == 0:
        return []
    src = pr_i[m.PI_SOURCE].astype(np.int64)
    claim = pr_i[m.PI_CLAIM].astype(np.int64)
    line = pr_i[m.PI_LINE].astype(np.int64)
    other = pr_i[m.PI_OTHER].astype(np.int64)
    amount = pr_n[m.PN_AMOUNT]
    qs, qe = pr_s[2 * m.P_AMOUNT_QUAL], pr_s[2 * m.P_AMOUNT_QUAL + 1]
    is_d = (qe - qs == 1) & (buf[np.minimum(qs, len(buf) - 1)] == ord("D"))
    rows = []
    charge_l, charge_c = a["li_n"][m.LN_CHARGE], a["cl_n"][m.CN_CHARGE]
    # line level: an SVD opens a group of rows (its CAS follow it), in file order
    svd = np.flatnonzero(src == m.SOURCE_SVD)
    group = np.cumsum(src == m.SOURCE_SVD) - 1
    is_line = line != k.NULL32
    cas_sum = np.zeros(len(svd), np.int64)
    sel = is_line & (src == m.SOURCE_CAS) & (group >= 0)
    group_sum_nb(amount[sel], group[sel], cas_sum)
    diff = charge_l[line[svd]] - amount[svd] - cas_sum
    for j in np.flatnonzero(diff):
        r, d = svd[j], int(diff[j])
        cl, li = int(claim[r]), int(line[r])
        rows.append((int(pr_i[m.PI_SEG, r]), "SVD", None, "unbalanced_prior_line",
                     int(claim_tx[cl]), cl, li, d,
                     f"line charge - SVD02 paid - the payer's line CAS = {d / 100:.2f}, "
                     "not 0"))  # fmt: skip
    # claim level: per (claim, other payer) that reports AMT*D, all of that payer's CAS
    known = other > 0
    width = int(other.max(initial=0)) + 1
    key = claim * width + other
    cas = known & (src == m.SOURCE_CAS)
    keys, inverse = np.unique(key[cas], return_inverse=True)
    sums = np.zeros(len(keys), np.int64)
    group_sum_nb(amount[cas], inverse.astype(np.int64), sums)
    paid = np.flatnonzero(known & (src == m.SOURCE_AMT) & ~is_line & is_d)
    at = np.minimum(np.searchsorted(keys, key[paid]), max(len(keys) - 1, 0))
    found = (keys[at] == key[paid]) if len(keys) else np.zeros(len(paid), bool)
    adjusted = np.where(found, sums[at] if len(keys) else 0, 0)
    diff = charge_c[claim[paid]] - amount[paid] - adjusted
    for j in np.flatnonzero(diff):
        r, d = paid[j], int(diff[j])
        cl = int(claim[r])
        rows.append((int(pr_i[m.PI_SEG, r]), "AMT", 2, "unbalanced_prior_claim",
                     int(claim_tx[cl]), cl, None, d,
                     f"claim charge - AMT*D paid - the payer's claim and line CAS = "
                     f"{d / 100:.2f}, not 0"))  # fmt: skip
    return rows


def _findings(a, file, line_count) -> pa.Table:
    buf, fn = a["buf"], a["fn"]
    rows = []
    for i in range(fn.shape[1]):
        code, seg, elem, tx, cl, li, _vs, _ve, pos = (int(x) for x in fn[:, i])
        name, what = FINDING_CODES_837[code]
        sid = _segment_name(buf, pos)
        msg = f"{sid}{elem:02d}: {what}" if elem else f"{sid}: {what}"
        rows.append((seg, sid, elem or None, name, tx, cl, li, None, msg))
    claim_tx = a["cl_i"][m.CI_TX].astype(np.int64)
    claim_seg = a["cl_i"][m.CI_SEG].astype(np.int64)
    line_claim = a["li_i"][m.LI_CLAIM].astype(np.int64)
    ncl = len(claim_tx)
    line_sum = np.zeros(ncl, np.int64)
    group_sum_nb(a["li_n"][m.LN_CHARGE], line_claim, line_sum)
    diff = a["cl_n"][m.CN_CHARGE] - line_sum
    for cl in np.flatnonzero((diff != 0) & (line_count > 0)):
        cl = int(cl)
        rows.append((int(claim_seg[cl]), "CLM", 2, "unbalanced_claim", int(claim_tx[cl]), cl,
                     None, int(diff[cl]), f"CLM02 - sum of line charges = {diff[cl] / 100:.2f}, "
                     "not 0"))  # fmt: skip
    for cl in np.flatnonzero(line_count == 0):
        cl = int(cl)
        rows.append((int(claim_seg[cl]), "CLM", None, "claim_without_lines", int(claim_tx[cl]),
                     cl, None, None, "the claim has no service line (SV1/SV2)"))  # fmt: skip
    rows += _prior_residuals(a, claim_tx)
    rows.sort(key=lambda r: (r[0], r[3]))
    return findings_table(file, rows)


def _build(a, file, salt, keep_identifiers) -> Claims:
    nulls = NullArrays()
    ncl = a["cl_n"].shape[1]
    line_count = np.bincount(a["li_i"][m.LI_CLAIM].astype(np.int64), minlength=ncl)[:ncl]
    findings = _findings(a, file, line_count)
    line_from, line_to = _line_dates(a)
    claim_from, claim_to = _claim_dates(a, line_from, line_to)
    return Claims(
        _transactions(a, nulls, file),
        _claims(a, nulls, salt, keep_identifiers, claim_from, claim_to, line_count),
        _lines(a, nulls, line_from, line_to),
        _diagnoses(a, nulls),
        _other_payers(a, nulls),
        _prior(a, nulls),
        findings,
    )


# ----------------------------------------------------------------------------- public
def _read_bytes(buf, name, salt, keep_identifiers, strict) -> Claims:
    arrays = _parse(_as_utf8(np.ascontiguousarray(buf, dtype=np.uint8)), name)
    c = _build(arrays, name, salt, keep_identifiers)
    if strict and c.findings.num_rows:
        f = c.findings.slice(0, 1).to_pylist()[0]
        raise X12Error(name, f["segment_number"], f["segment_id"], f["element"],
                       f"{f['code']}: {f['message']}")  # fmt: skip
    return c


def read_837(
    source,
    *,
    salt: str | bytes | None = None,
    keep_identifiers: bool = False,
    strict: bool = False,
    on_error: str = "raise",
) -> Claims:
    """Read X12 837 claims (837P professional, 837I institutional) into Arrow tables.

    Reads the 5010 guides (005010X222A1/A2, 005010X223A2/A3) and the 4010 ones
    (004010X098A1, 004010X096A1), whose claim, line, diagnosis and COB
    segments are the same.

    Parameters
    ----------
    source : path, folder, list of paths, or bytes
        One file, every ``.837/.837i/.837p/.edi/.x12/.txt/.dat`` file of a
        folder (sorted by name), a list of files or folders, or the bytes of
        one file.
    salt : str or bytes, optional
        Secret that keys ``patient_key`` and ``subscriber_key`` (the same keys
        ``read_835`` makes for the same person and salt). Without a salt the
        keys are null.
    keep_identifiers : bool
        Also keep patient and subscriber names, id qualifiers and member ids
        in the claims table. Off by default: they are PHI. Addresses and
        birth dates are never read.
    strict : bool
        Raise :class:`X12Error` on the first finding instead of returning it.
    on_error : {"raise", "skip"}
        With several files, ``"skip"`` reads the good ones and lists the bad
        ones (with the error) in ``Claims.skipped``.

    Returns
    -------
    Claims

    Raises
    ------
    X12Error
        A file cannot be read (truncated, broken ISA, not an 837, wrong
        segment counts, a segment out of place, a non-numeric amount, ...):
        the message names the file, segment number, segment id and element,
        and never quotes a value of the file.

    Examples
    --------
    >>> raw = (b"ST*837*1*005010X222A1~BHT*0019*00*B1*20250110*1200*CH~HL*1**20*1~"
    ...        b"NM1*85*2*CLINIC*****XX*1234567893~HL*2*1*22*0~SBR*P*18*******CI~"
    ...        b"NM1*IL*1*DOE*JANE****MI*M123~NM1*PR*2*ACME*****PI*ACME1~"
    ...        b"CLM*ENC1*150***11:B:1~HI*ABK:J029~LX*1~SV1*HC:99213:25*150*UN*1***1~"
    ...        b"DTP*472*D8*20250102~REF*6R*L1~SE*15*1~")
    >>> c = read_837(raw, salt="clinic-secret")
    >>> claim = c.claims.to_pylist()[0]
    >>> claim["encounter_id"], claim["charge_cents"], claim["payer_id"], claim["payer_seq"]
    ('ENC1', 15000, 'ACME1', 1)
    >>> claim["place_of_service"], claim["patient_key"][:2], claim["patient_id"]
    ('11', 'LK', None)
    >>> line = c.service_lines.to_pylist()[0]
    >>> line["procedure_code"], line["modifiers"], line["line_control_number"]
    ('99213', '25', 'L1')
    >>> c.diagnoses.column("code").to_pylist()
    ['J029']
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
    files = _claim_files(source)
    parts, skipped = [], []
    for f in files:
        if isinstance(f, (bytes, bytearray, memoryview)):
            name, buf = "<bytes>", np.frombuffer(bytes(f), np.uint8)
        else:
            name = str(f)
            if not Path(f).is_file():
                raise FileNotFoundError(f"{name}: no such file")
            buf = np.fromfile(f, dtype=np.uint8)
        try:
            parts.append(_read_bytes(buf, name, salt, keep_identifiers, strict))
        except X12Error as e:
            if on_error == "raise":
                raise
            skipped.append((name, str(e)))
    out = Claims.concat(parts)
    if skipped:
        out = Claims(*(getattr(out, t) for t in CLAIM_TABLE_NAMES), skipped=skipped)
    return out


CLAIM_FILE_SUFFIXES = (".837", ".837i", ".837p", ".edi", ".x12", ".txt", ".dat")


def _claim_files(source) -> list:
    """Files to read: a folder's claim files (by suffix), else as ``read_835`` takes them."""
    if isinstance(source, (str, Path)) and Path(source).is_dir():
        return sorted(
            f
            for f in Path(source).iterdir()
            if f.is_file()
            and not f.name.startswith(".")
            and f.suffix.lower() in CLAIM_FILE_SUFFIXES
        )
    if isinstance(source, (list, tuple)):
        out = []
        for s in source:
            out.extend(_claim_files(s))
        return out
    return _files(source)
