"""``read_835``: X12 835 remittance files straight into Arrow tables.

The bytes are scanned by a compiled kernel (``ledgerkit._kernels.x12``); this
module only turns its offset and value arrays into Arrow arrays, computes the
derived columns and the balancing checks with vectorised operations, and
deals with paths, folders and errors.
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._kernels.groupsums import group_sum_nb
from ledgerkit._kernels.x12 import (
    adjustment_sums_nb,
)
from ledgerkit._kernels.x12 import layout as k
from ledgerkit.x12.codes import ENTITY_ID_QUALIFIERS, withhold_invalid_codes
from ledgerkit.x12.errors import X12Error
from ledgerkit.x12.kernel_columns import number_column as _column
from ledgerkit.x12.kernel_columns import person_keys
from ledgerkit.x12.kernel_columns import string_columns as _string_columns
from ledgerkit.x12.kernel_columns import whole_block as _whole
from ledgerkit.x12.payer_map import apply_payer_map, as_payer_map
from ledgerkit.x12.remittances import (
    IDENTIFIER_COLUMNS,
    TABLE_NAMES,
    Remittances,
    schema,
)
from ledgerkit.x12.sources import read_sources
from ledgerkit.x12.tables import (
    NullArrays,
    arrow_ints,
    findings_table,
    table_from_columns,
)
from ledgerkit.x12.text import as_utf8, check_isa_delimiters, check_x12_start
from ledgerkit.x12.tokenize import (
    FINDING_CODES,
    Parsed,
    claim_skipped_message,
    segment_id_at,
    tokenize,
)

__all__ = ["read_835", "person_keys"]

NULL = k.NULL
FILE_SUFFIXES = (".835", ".edi", ".x12", ".txt", ".era", ".dat")
# Findings whose value the kernel validated (a date, a segment count): only these
# quote it. Every other finding withholds the value (see the reader's docstring).
QUOTED_FINDINGS = frozenset({"bpr_date_position", "se_count"})


def _ids(n: int) -> pa.Array:
    return pa.array(np.arange(n, dtype=np.int32))


# ----------------------------------------------------------------------------- one file
def _derived(p: Parsed) -> dict:
    """Computed columns and balancing residuals, straight from the kernel arrays.

    The same values as :func:`ledgerkit.x12.remittances.derived_columns` on the
    built tables (``claim_pr``, ``claim_allowed``, ``line_allowed``,
    ``line_residual``, ``claim_residual``), without converting any column.
    """
    ncl, nli, nad = p.cl_n.shape[1], p.li_n.shape[1], p.ad_n.shape[1]
    claim_pr, claim_pr123, claim_cas = (np.zeros(ncl, np.int64) for _ in range(3))
    line_cas, line_pr123 = np.zeros(nli, np.int64), np.zeros(nli, np.int64)
    adjustment_sums_nb(
        p.buf, _whole(p.ad_s), _whole(p.ad_i), _whole(p.ad_n), nad,
        claim_pr, claim_pr123, claim_cas, line_cas, line_pr123,
    )  # fmt: skip
    c_charge, c_paid = p.cl_n[k.CN_CHARGE], p.cl_n[k.CN_PAID]
    l_charge, l_paid = p.li_n[k.LN_CHARGE], p.li_n[k.LN_PAID]
    paid_ok = l_paid != NULL
    line_ok = paid_ok & (l_charge != NULL)
    line_pr123 += l_paid
    line_pr123[~paid_ok] = NULL
    line_cas -= l_charge - l_paid
    np.negative(line_cas, out=line_cas)
    line_cas[~line_ok] = NULL
    claim_pr123 += c_paid
    claim_cas -= c_charge - c_paid
    np.negative(claim_cas, out=claim_cas)
    return {
        "claim_pr": claim_pr,
        "claim_allowed": claim_pr123,
        "line_allowed": line_pr123,
        "line_residual": line_cas,
        "claim_residual": claim_cas,
    }


def _build(p: Parsed, file: str, salt, keep_identifiers: bool) -> Remittances:
    """Arrow tables from the kernel's arrays.

    Number columns are the kernel's rows, handed to Arrow without a copy; string
    columns are gathered from the file one table at a time, and each table's
    span array is released once its strings are built, so the peak holds the
    bytes, the number arrays (which become columns) and the spans not yet
    converted.
    """
    nulls = NullArrays()
    d = _derived(p)
    # failed balancing checks: found before the number rows get zeros under their nulls
    r = d.pop("line_residual")
    bad_lines = np.flatnonzero((r != NULL) & (r != 0))
    unbalanced = {"lines": (bad_lines, r[bad_lines])}
    r = d.pop("claim_residual")
    bad_claims = np.flatnonzero(r != 0)
    unbalanced["claims"] = (bad_claims, r[bad_claims])
    del r
    adjustments = _adjustments_table(p, nulls)
    lines = _lines_table(p, nulls, d.pop("line_allowed"))
    claims = _claims_table(p, nulls, d, salt, keep_identifiers)
    transactions = _transactions_table(p, nulls, file)
    remarks = _remarks_table(p, nulls)
    plb = _provider_adjustments_table(p, nulls)
    tables = {
        "transactions": transactions, "claims": claims, "service_lines": lines,
        "adjustments": adjustments, "remarks": remarks, "provider_adjustments": plb,
    }  # fmt: skip
    code_rows = []
    for name in _CODE_TABLES:
        # where each row came from is worked out only for a table holding an invalid code
        # (the six tables' row origins cost a fifth of a clean file's read)
        where = functools.partial(_code_places, p, name, tables[name])
        tables[name], rows = withhold_invalid_codes(name, tables[name], where)
        code_rows += rows
    keep = {
        "line_seg": p.li_i[k.LI_SEG],
        "line_claim": p.li_i[k.LI_CLAIM],
        "claim_seg": p.cl_i[k.CI_SEG],
        "claim_tx": p.cl_i[k.CI_TX],
        "tx_seg": p.tx_n[k.TN_SEG],
        "unbalanced": unbalanced,
    }
    findings = _findings(p, keep, file, code_rows)
    return Remittances(*(tables[t] for t in TABLE_NAMES[:-1]), findings)


_CODE_TABLES = (
    "transactions", "claims", "service_lines", "adjustments", "remarks", "provider_adjustments",
)  # fmt: skip


def _code_places(p: Parsed, table: str, built: pa.Table) -> dict:
    """Where each row of ``table`` came from (see ``withhold_invalid_codes``); ``built``
    is that table as read."""

    def ids(a):  # NULL32 (absent) -> -1
        a = a.astype(np.int64)
        return np.where(a == k.NULL32, -1, a)

    def line_of(built):  # from the column: building it turned the kernel's absent marker into 0
        return pc.fill_null(built["line_id"], -1).to_numpy().astype(np.int64)

    def rows_of(seg, claim, line, **extra):  # rows of a claim: its transaction
        claim_tx = ids(p.cl_i[k.CI_TX])
        tx = claim_tx[claim] if len(claim_tx) else np.full(len(claim), -1)
        return dict(seg=seg, tx=tx, claim=claim, line=line, **extra)

    if table == "transactions":
        ntx = p.tx_n.shape[1]
        return dict(seg=p.tx_n[k.TN_SEG], tx=np.arange(ntx), claim=np.full(ntx, -1),
                    line=np.full(ntx, -1))  # fmt: skip
    if table == "claims":
        claim_tx = ids(p.cl_i[k.CI_TX])
        n = len(claim_tx)
        return dict(seg=ids(p.cl_i[k.CI_SEG]), tx=claim_tx, claim=np.arange(n),
                    line=np.full(n, -1))  # fmt: skip
    if table == "service_lines":
        claim = ids(p.li_i[k.LI_CLAIM])
        return rows_of(ids(p.li_i[k.LI_SEG]), claim, np.arange(len(claim)))
    if table == "adjustments":
        return rows_of(ids(p.ad_i[k.AI_SEG]), ids(p.ad_i[k.AI_CLAIM]), line_of(built))
    if table == "remarks":
        return rows_of(ids(p.re_i[k.RI_SEG]), ids(p.re_i[k.RI_CLAIM]), line_of(built),
                       source=p.re_i[k.RI_SOURCE])  # fmt: skip
    npl = p.pl_i.shape[1]  # provider_adjustments
    return dict(seg=ids(p.pl_i[k.PI_SEG]), tx=ids(p.pl_i[k.PI_TX]), claim=np.full(npl, -1),
                line=np.full(npl, -1))  # fmt: skip


def _num(arr, f: int, nulls: NullArrays, typ=pa.int64(), present=None) -> pa.Array:
    """Row ``f`` of a kernel number array as a column (``present``: the kernel's counts)."""
    return _column(arr[f], typ, nulls, -1 if present is None else int(present[f]))


def _adjustments_table(p: Parsed, nulls: NullArrays) -> pa.Table:
    ad_i, ad_n = p.ad_i, p.ad_n
    sc = _string_columns(p.buf, p.ad_s, [k.A_GROUP, k.A_CARC], nulls)
    p.ad_s = None
    return table_from_columns(
        "adjustments",
        {
            "claim_id": _num(ad_i, k.AI_CLAIM, nulls, pa.int32()),
            "line_id": _num(ad_i, k.AI_LINE, nulls, pa.int32()),
            "group_code": sc[k.A_GROUP],
            "carc": sc[k.A_CARC],
            "amount_cents": _num(ad_n, k.AN_AMOUNT, nulls),
            "quantity": _num(p.ad_f, k.AF_QTY, nulls, pa.float64(), p.present[k.PR_AD_F]),
        },
        nulls,
    )


def _lines_table(p: Parsed, nulls: NullArrays, allowed: np.ndarray) -> pa.Table:
    li_i, li_n, li_f = p.li_i, p.li_n, p.li_f
    pr_li, pr_lf = p.present[k.PR_LI_I], p.present[k.PR_LI_F]
    sc = _string_columns(
        p.buf, p.li_s, range(k.N_LS), nulls, p.present[k.PR_LI_S], li_i,
        [k.LI_OMODSEP if f == k.L_OMODS else k.LI_MODSEP if f == k.L_MODS else -1
         for f in range(k.N_LS)],
    )  # fmt: skip
    p.li_s = None
    return table_from_columns(
        "service_lines",
        {
            "line_id": _ids(li_n.shape[1]),
            "claim_id": _num(li_i, k.LI_CLAIM, nulls, pa.int32()),
            "line_number": _num(li_i, k.LI_NUMBER, nulls, pa.int32()),
            "procedure_qualifier": sc[k.L_QUAL],
            "procedure_code": sc[k.L_CODE],
            "modifiers": sc[k.L_MODS],
            "charge_cents": _num(li_n, k.LN_CHARGE, nulls),
            "paid_cents": _num(li_n, k.LN_PAID, nulls),
            "revenue_code": sc[k.L_REVENUE],
            "units": _num(li_f, k.LF_UNITS, nulls, pa.float64(), pr_lf),
            "original_procedure_qualifier": sc[k.L_OQUAL],
            "original_procedure_code": sc[k.L_OCODE],
            "original_modifiers": sc[k.L_OMODS],
            "original_units": _num(li_f, k.LF_OUNITS, nulls, pa.float64(), pr_lf),
            "service_date": _num(li_i, k.LI_DATE, nulls, pa.date32(), pr_li),
            "service_start": _num(li_i, k.LI_START, nulls, pa.date32(), pr_li),
            "service_end": _num(li_i, k.LI_END, nulls, pa.date32(), pr_li),
            "line_control_number": sc[k.L_CONTROL],
            "reported_allowed_cents": _num(li_n, k.LN_ALLOWED, nulls),
            "allowed_cents": _column(allowed, pa.int64(), nulls),
        },
        nulls,
    )


def _claims_table(p: Parsed, nulls: NullArrays, d: dict, salt, keep_identifiers) -> pa.Table:
    b, pr = p.buf, p.present
    cl_i, cl_n = p.cl_i, p.cl_n
    pr_cl = pr[k.PR_CL_I]
    ncl = cl_n.shape[1]
    c_fields = [k.C_ENCOUNTER, k.C_STATUS, k.C_FILING, k.C_PAYER_CLAIM, k.C_FACILITY]
    c_fields += [k.C_FREQUENCY, k.C_RENDERING]
    if keep_identifiers:
        c_fields += [k.C_PAT_LAST + i for i in range(len(IDENTIFIER_COLUMNS))]
    sc = _string_columns(b, p.cl_s, c_fields, nulls, pr[k.PR_CL_S])

    def keys(first):  # a person never named in the file (no NM1 of that kind) is not read
        if pr[k.PR_CL_S, first] == 0 and ncl:
            return nulls(ncl, pa.string())
        return person_keys(b, p.cl_s, salt, first)

    claim_cols = {
        "claim_id": _ids(ncl),
        "transaction_id": _num(cl_i, k.CI_TX, nulls, pa.int32()),
        "encounter_id": sc[k.C_ENCOUNTER],
        "status_code": sc[k.C_STATUS],
        "charge_cents": _num(cl_n, k.CN_CHARGE, nulls),
        "paid_cents": _num(cl_n, k.CN_PAID, nulls),
        "patient_responsibility_cents": pa.array(d.pop("claim_pr")),
        "reported_patient_responsibility_cents": _num(cl_n, k.CN_PR_REPORTED, nulls),
        "allowed_cents": pa.array(d.pop("claim_allowed")),
        "claim_filing_indicator": sc[k.C_FILING],
        "payer_claim_control_number": sc[k.C_PAYER_CLAIM],
        "facility_type": sc[k.C_FACILITY],
        "frequency_code": sc[k.C_FREQUENCY],
        "statement_from": _num(cl_i, k.CI_FROM, nulls, pa.date32(), pr_cl),
        "statement_to": _num(cl_i, k.CI_TO, nulls, pa.date32(), pr_cl),
        "received_date": _num(cl_i, k.CI_RECEIVED, nulls, pa.date32(), pr_cl),
        "rendering_provider_id": sc[k.C_RENDERING],
        "patient_key": keys(k.C_PAT_LAST),
        "subscriber_key": keys(k.C_SUB_LAST),
    }
    if keep_identifiers:
        for i, name in enumerate(IDENTIFIER_COLUMNS):
            claim_cols[name] = sc[k.C_PAT_LAST + i]
    del sc
    p.cl_s = None
    return table_from_columns("claims", claim_cols, nulls)


def _transactions_table(p: Parsed, nulls: NullArrays, file: str) -> pa.Table:
    tx_s, tx_n = p.tx_s, p.tx_n
    ntx = tx_s.shape[1]
    sc = _string_columns(p.buf, tx_s, range(k.N_TS), nulls)
    # N104 is an id only when N103 says what kind: after a lost terminator, N103 and
    # N104 hold the N3 that followed (an address). ledgerkit.x12.codes reports N103.
    payer_id = _id_if_qualified(sc[k.T_PAYER_ID], sc[k.T_PAYER_QUAL])
    payee_id = _id_if_qualified(sc[k.T_PAYEE_ID], sc[k.T_PAYEE_QUAL])
    if payer_id.null_count:
        payer_id = pc.coalesce(payer_id, sc[k.T_PAYER_REF])
    return table_from_columns(
        "transactions",
        {
            "transaction_id": _ids(ntx),
            "file": pa.array(np.full(ntx, file, dtype=object), pa.string()),
            "isa_sender": sc[k.T_ISA_SENDER],
            "isa_receiver": sc[k.T_ISA_RECEIVER],
            "isa_control": sc[k.T_ISA_CONTROL],
            "gs_sender": sc[k.T_GS_SENDER],
            "gs_receiver": sc[k.T_GS_RECEIVER],
            "gs_control": sc[k.T_GS_CONTROL],
            "gs_date": arrow_ints(tx_n[k.TN_GS_DATE], pa.date32()),
            "version": sc[k.T_VERSION],
            "st_control": sc[k.T_ST_CONTROL],
            "payer_id": payer_id,
            "payer_id_qualifier": sc[k.T_PAYER_QUAL],
            "payer_name": sc[k.T_PAYER_NAME],
            "payee_name": sc[k.T_PAYEE_NAME],
            "payee_id_qualifier": sc[k.T_PAYEE_QUAL],
            "payee_id": payee_id,
            "handling_code": sc[k.T_HANDLING],
            "payment_cents": arrow_ints(tx_n[k.TN_PAYMENT]),
            "credit_debit": sc[k.T_CREDIT_DEBIT],
            "payment_method": sc[k.T_METHOD],
            "payment_date": arrow_ints(tx_n[k.TN_PAY_DATE], pa.date32()),
            "trace_number": sc[k.T_TRACE],
            "trace_originator": sc[k.T_TRACE_ORIG],
            "production_date": arrow_ints(tx_n[k.TN_PROD_DATE], pa.date32()),
        },
    )


def _id_if_qualified(ids: pa.Array, qualifiers: pa.Array) -> pa.Array:
    """N104 ids, null where N103 is not a known id qualifier."""
    if qualifiers.null_count == len(qualifiers):
        return ids
    known = pc.is_in(qualifiers, pa.array(ENTITY_ID_QUALIFIERS))
    return pc.if_else(pc.fill_null(known, True), ids, pa.scalar(None, pa.string()))


def _remarks_table(p: Parsed, nulls: NullArrays) -> pa.Table:
    re_i = p.re_i
    if re_i.shape[1] == 0:
        return schema("remarks").empty_table()
    sc = _string_columns(p.buf, p.re_s, [k.R_QUAL, k.R_CODE], nulls)
    sources = np.array(["LQ", "MOA", "MIA"], dtype=object)
    return table_from_columns(
        "remarks",
        {
            "claim_id": _num(re_i, k.RI_CLAIM, nulls, pa.int32()),
            "line_id": _num(re_i, k.RI_LINE, nulls, pa.int32()),
            "source": pa.DictionaryArray.from_arrays(
                pa.array(re_i[k.RI_SOURCE].astype(np.int8)), pa.array(sources)
            ).cast(pa.string()),
            "qualifier": sc[k.R_QUAL],
            "code": sc[k.R_CODE],
        },
        nulls,
    )


def _provider_adjustments_table(p: Parsed, nulls: NullArrays) -> pa.Table:
    pl_i, pl_n = p.pl_i, p.pl_n
    if pl_i.shape[1] == 0:
        return schema("provider_adjustments").empty_table()
    sc = _string_columns(p.buf, p.pl_s, [k.P_PROVIDER, k.P_REASON, k.P_REFERENCE], nulls)
    return table_from_columns(
        "provider_adjustments",
        {
            "transaction_id": _num(pl_i, k.PI_TX, nulls, pa.int32()),
            "provider_id": sc[k.P_PROVIDER],
            "fiscal_period_date": _num(pl_i, k.PI_DATE, nulls, pa.date32()),
            "reason_code": sc[k.P_REASON],
            "reference": sc[k.P_REFERENCE],
            "amount_cents": _num(pl_n, k.PN_AMOUNT, nulls),
        },
        nulls,
    )


# ----------------------------------------------------------------------------- findings
def _findings(p: Parsed, keep: dict, file: str, code_rows: list) -> pa.Table:
    """Kernel findings, invalid codes (``code_rows``) and the three balancing checks."""
    rows = list(code_rows)  # small: one tuple per finding, never per segment
    fn = p.fn
    for i in range(fn.shape[1]):
        code, seg, elem, tx, cl, li, vs, ve, pos = (int(x) for x in fn[:, i])
        name, what = FINDING_CODES[code]
        sid = segment_id_at(p.buf, pos)
        if code == k.F_CLAIM_SKIPPED:  # vs: the error, ve: the claim's CLP segment
            if vs in (k.E_SEGMENT_ID, k.E_UNKNOWN_SEGMENT):
                sid = None  # the "id" is damaged text: it could be part of a name
            msg = claim_skipped_message(sid, elem, vs, ve)
            rows.append((seg, sid, elem or None, name, tx, None, None, None, msg))
            continue
        # Only a value the kernel validated as a date or a count is quoted; any other
        # (a date that is not one, a malformed SVC) may be name text shifted there.
        value = ""
        if name in QUOTED_FINDINGS and 0 < ve - vs <= 12:
            raw = bytes(p.buf[vs:ve])
            value = raw.decode("ascii") if raw.isdigit() else ""
        if value:
            msg = f"{sid}{elem:02d} {value!r}: {what}"
        else:
            msg = f"{sid}{elem:02d}: {what}" if elem else f"{sid}: {what}"
        rows.append((seg, sid, elem or None, name, tx, cl, li, None, msg))

    line_seg = keep["line_seg"]
    claim_seg = keep["claim_seg"]
    line_claim = keep["line_claim"]
    claim_tx = keep["claim_tx"]
    for li, diff in zip(*keep["unbalanced"]["lines"], strict=True):
        li, diff = int(li), int(diff)
        cl = int(line_claim[li])
        rows.append(
            (int(line_seg[li]), "SVC", None, "unbalanced_line", int(claim_tx[cl]), cl,
             int(li), diff,
             f"service line charge - paid - line adjustments = {diff / 100:.2f}, not 0")
        )  # fmt: skip
    for cl, diff in zip(*keep["unbalanced"]["claims"], strict=True):
        cl, diff = int(cl), int(diff)
        rows.append(
            (int(claim_seg[cl]), "CLP", None, "unbalanced_claim", int(claim_tx[cl]),
             int(cl), None, diff,
             f"claim charge - paid - claim and line adjustments = {diff / 100:.2f}, not 0")
        )  # fmt: skip
    for tx, diff in _transaction_residuals(p):
        rows.append(
            (int(keep["tx_seg"][tx]), "BPR", 2, "unbalanced_transaction", int(tx), None, None,
             diff, f"BPR02 - (sum of CLP04 - sum of PLB) = {diff / 100:.2f}, not 0")
        )  # fmt: skip
    rows.sort(key=lambda r: (-1 if r[0] is None else r[0], r[3]))
    return findings_table(file, rows)


def _transaction_residuals(p: Parsed):
    """(transaction, BPR02 - (sum of CLP04 - sum of PLB)) where not 0, from the kernel arrays."""
    ntx = p.tx_n.shape[1]
    if ntx == 0:
        return []
    paid = np.zeros(ntx, np.int64)
    # int64 groups (the kernel rows are int32), as every other caller's: one compile
    group_sum_nb(p.cl_n[k.CN_PAID], p.cl_i[k.CI_TX].astype(np.int64), paid)
    plb_sum = np.zeros(ntx, np.int64)
    group_sum_nb(p.pl_n[k.PN_AMOUNT], p.pl_i[k.PI_TX].astype(np.int64), plb_sum)
    has = p.tx_n[k.TN_PAYMENT] != NULL
    bpr = np.where(has, p.tx_n[k.TN_PAYMENT], 0)
    s, e = p.tx_s[2 * k.T_CREDIT_DEBIT], p.tx_s[2 * k.T_CREDIT_DEBIT + 1]
    debit = (e - s == 1) & (p.buf[s] == ord("D"))  # BPR03 "D"
    expected = paid - plb_sum
    residual = np.where(debit, -bpr, bpr) - expected
    out = np.flatnonzero(has & (residual != 0))
    return [(int(t), int(residual[t])) for t in out]


# ----------------------------------------------------------------------------- public
def _read_bytes(buf: np.ndarray, name: str, salt, keep_identifiers, strict) -> Remittances:
    check_isa_delimiters(buf, name)
    check_x12_start(buf, name)
    parsed = tokenize(as_utf8(buf), name, strict)
    r = _build(parsed, name, salt, keep_identifiers)
    if strict and r.findings.num_rows:
        f = r.findings.slice(0, 1).to_pylist()[0]
        raise X12Error(
            name,
            f["segment_number"],
            f["segment_id"],
            f["element"],
            f"{f['code']}: {f['message']}",
        )
    return r


def read_835(
    source,
    *,
    salt: str | bytes | None = None,
    keep_identifiers: bool = False,
    strict: bool = False,
    on_error: str = "raise",
    payer_map=None,
) -> Remittances:
    """Read X12 835 remittances into Arrow tables.

    Parameters
    ----------
    source : path, folder, list of paths, or bytes
        One file, every ``.835/.edi/.x12/.txt/.era/.dat`` file of a folder
        (sorted by name), a list of files or folders, or the bytes of one file.
    salt : str or bytes, optional
        Secret that keys the pseudonyms ``patient_key`` and ``subscriber_key``
        (keyed SipHash of name and member id). Without a salt the keys are null
        (ids that are already ledgerkit keys, as ``write_835`` writes them,
        are kept). Use the same salt everywhere to link the same patient.
    keep_identifiers : bool
        Also keep patient and subscriber names and member ids (``NM1*QC``,
        ``NM1*IL``) in the claims table. Off by default: they are PHI.
    strict : bool
        Raise :class:`X12Error` on the first finding (odd content or a failed
        balancing check) instead of returning it in ``findings``. Also makes
        damage inside a claim (an empty required element, an amount that is
        not a number, a segment out of place...) and a wrong SE01 segment
        count errors. By default damage costs only its claim: the claim
        (with its lines, adjustments and remarks) is left out, a
        ``claim_skipped`` finding names the damaged segment and element and
        the claim's CLP segment, and the rest of the file is read. The
        payment's balancing check (``unbalanced_transaction``) then shows
        the money of the claims left out.
    on_error : {"raise", "skip"}
        With several files, ``"skip"`` reads the good ones and lists the bad
        ones (with the error) in ``Remittances.skipped``; ``"raise"`` stops at
        the first bad file.
    payer_map : mapping, PayerMap or path, optional
        File payer id or name -> the ledger's payer id, for files that name the
        payer without an id (``N1*PR`` without N104 or REF*2U) or with an id
        the ledger does not use; ``payer_id`` then holds the ledger's id (see
        :func:`ledgerkit.x12.payer_map.apply_payer_map`).

    Returns
    -------
    Remittances

    Raises
    ------
    X12Error
        A file cannot be read (truncated, broken ISA, a delimiter that is not
        a single ASCII byte, not an 835, wrong GE/IEA counts or control
        numbers, damage outside a claim, ...): the message names the file,
        segment number, segment id and element.
    FileNotFoundError, TypeError
        Missing path; unsupported ``source`` type.

    Notes
    -----
    Every string column is valid UTF-8: UTF-8 in the file is kept, any other
    byte 0x80-0xFF is read as Latin-1 (see :mod:`ledgerkit.x12.text`). Segment
    terminators may be followed by a line break (LF or CRLF), and a line break
    may come before each terminator (``...\n~GS*...``).

    No patient identifier ever reaches a message, a finding or a default
    column. Messages and findings quote a value only once it is validated as
    a count, an amount, a date or a known code. Code fields (claim status,
    filing indicator, CLP08, CLP09, SVC qualifiers, procedure codes,
    modifiers, revenue codes, CAS group codes and CARCs, remark codes, PLB
    reasons, BPR01/03/04, N103) are checked (``ledgerkit.x12.codes``): a
    value that is not a code is null, with an ``invalid_code`` finding that
    withholds it (so ``strict=True`` refuses the file).

    Examples
    --------
    >>> raw = (b"ST*835*0001~BPR*I*80*C*CHK************20250110~TRN*1*CHK1*1999~"
    ...        b"N1*PR*ACME HEALTH*XV*ACME1~N1*PE*CLINIC*XX*1234567893~"
    ...        b"CLP*ENC1*1*150*80*30*12*PCN1~NM1*QC*1*DOE*JANE****MI*M123~"
    ...        b"SVC*HC:99213:25*150*80**1~DTM*472*20250102~CAS*CO*45*40~CAS*PR*2*20*1*3*10~"
    ...        b"AMT*B6*110~SE*13*0001~")
    >>> r = read_835(raw, salt="clinic-secret")
    >>> claim = r.claims.to_pylist()[0]
    >>> claim["encounter_id"], claim["paid_cents"], claim["allowed_cents"]
    ('ENC1', 8000, 11000)
    >>> claim["patient_responsibility_cents"]
    3000
    >>> r.adjustments.column("carc").to_pylist()
    ['45', '2', '3']
    >>> r.service_lines.column("modifiers").to_pylist()
    ['25']
    >>> r.claims.column("patient_key")[0].as_py()[:2], r.claims.column("patient_id")[0].as_py()
    ('LK', None)
    >>> r.findings.column("code").to_pylist()
    ['no_envelope']
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
    payer_map = as_payer_map(payer_map)  # a bad map fails before any file is read
    parts, skipped = read_sources(
        source,
        FILE_SUFFIXES,
        lambda buf, name: _read_bytes(buf, name, salt, keep_identifiers, strict),
        on_error,
    )
    out = Remittances.concat(parts)
    if skipped:
        out = Remittances(*(getattr(out, t) for t in TABLE_NAMES), skipped=skipped)
    return apply_payer_map(out, payer_map)
