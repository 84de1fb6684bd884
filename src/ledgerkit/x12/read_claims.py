"""``read_837``: X12 837 claim files (837P and 837I, 5010 and 4010) into Arrow tables.

The bytes are scanned by a compiled kernel (``ledgerkit._kernels.x12.parse_837``,
called by ``tokenize_837``) made of the 835 reader's pieces; this module turns
its offsets and values into Arrow columns (with the 835 reader's column
builders), computes the derived columns with vectorised operations (the
balancing checks are in ``claims_checks``), and deals with paths, folders and
errors.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._kernels.x12 import layout as k
from ledgerkit._kernels.x12 import layout_837 as m
from ledgerkit.x12.claim_codes import withhold_invalid_claim_codes
from ledgerkit.x12.claims import (
    CLAIM_IDENTIFIER_COLUMNS,
    CLAIM_TABLE_NAMES,
    Claims,
    claims_schema,
)
from ledgerkit.x12.claims_checks import claim_finding_rows, findings_from_rows
from ledgerkit.x12.errors import X12Error
from ledgerkit.x12.kernel_columns import number_column, person_keys, string_columns
from ledgerkit.x12.sources import read_sources
from ledgerkit.x12.tables import NullArrays, arrow_ints
from ledgerkit.x12.text import as_utf8, check_isa_delimiters, check_x12_start
from ledgerkit.x12.tokenize_837 import parse

__all__ = ["read_837"]

NULL = k.NULL


# ----------------------------------------------------------------------------- tables
def _table(name: str, cols: dict, n: int, nulls: NullArrays) -> pa.Table:
    sch = claims_schema(name)
    arrays = [cols[f.name] if f.name in cols else nulls(n, f.type) for f in sch]
    return pa.Table.from_arrays(arrays, schema=sch)


def _num(arr, f, nulls, typ=pa.int64()):
    return number_column(arr[f], typ, nulls)


def _ids(n: int) -> pa.Array:
    return pa.array(np.arange(n, dtype=np.int32))


def _claim_type(version: pa.Array) -> pa.Array:
    """professional (X222, 4010 X098) or institutional (X223, 4010 X096) from the version."""
    prof = pc.match_substring_regex(version, "X222|X098")
    inst = pc.match_substring_regex(version, "X223|X096")
    none = pa.scalar(None, pa.string())
    return pc.if_else(prof, "professional", pc.if_else(inst, "institutional", none))


def _transactions(a, nulls, file) -> pa.Table:
    sc = string_columns(a["buf"], a["tx_s"], range(m.N_XS), nulls)
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
    sc = string_columns(a["buf"], a["li_s"], range(m.N_LS), nulls, None, li_i, sep_rows)
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
    sc = string_columns(buf, cl_s, fields, nulls)
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
    sc = string_columns(a["buf"], a["dx_s"], [m.D_QUAL, m.D_CODE], nulls)
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
    sc = string_columns(a["buf"], a["op_s"], range(m.N_OS), nulls)
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
    sc = string_columns(a["buf"], a["pr_s"], range(m.N_PS), nulls)
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


def _build(a, file, salt, keep_identifiers) -> Claims:
    nulls = NullArrays()
    ncl = a["cl_n"].shape[1]
    line_count = np.bincount(a["li_i"][m.LI_CLAIM].astype(np.int64), minlength=ncl)[:ncl]
    finding_rows = claim_finding_rows(a, line_count)  # before the tables fill absent numbers
    line_from, line_to = _line_dates(a)
    claim_from, claim_to = _claim_dates(a, line_from, line_to)
    tables = {
        "transactions": _transactions(a, nulls, file),
        "claims": _claims(a, nulls, salt, keep_identifiers, claim_from, claim_to, line_count),
        "service_lines": _lines(a, nulls, line_from, line_to),
        "diagnoses": _diagnoses(a, nulls),
        "other_payers": _other_payers(a, nulls),
        "prior_adjudication": _prior(a, nulls),
    }
    tables, code_rows = withhold_invalid_claim_codes(a, tables)
    tables["findings"] = findings_from_rows(file, finding_rows + code_rows)
    return Claims(*(tables[t] for t in CLAIM_TABLE_NAMES))


# ----------------------------------------------------------------------------- public
def _read_bytes(buf, name, salt, keep_identifiers, strict) -> Claims:
    buf = np.ascontiguousarray(buf, dtype=np.uint8)
    check_isa_delimiters(buf, name)
    check_x12_start(buf, name)
    arrays = parse(as_utf8(buf), name)
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

    Notes
    -----
    Code fields (procedure qualifiers and CPT/HCPCS codes, modifiers, revenue
    codes, unit basis, place of service and facility type, frequency, SBR01,
    SBR02, SBR09, HI qualifiers and ICD-10/ICD-9 shapes, NDCs, and the prior
    payers' CAS, AMT and SVD codes) are checked (``ledgerkit.x12.claim_codes``):
    a value that is not a code is null, with an ``invalid_code`` finding that
    withholds it (so ``strict=True`` refuses the file).

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
    parts, skipped = read_sources(
        source,
        CLAIM_FILE_SUFFIXES,
        lambda buf, name: _read_bytes(buf, name, salt, keep_identifiers, strict),
        on_error,
    )
    out = Claims.concat(parts)
    if skipped:
        out = Claims(*(getattr(out, t) for t in CLAIM_TABLE_NAMES), skipped=skipped)
    return out


CLAIM_FILE_SUFFIXES = (".837", ".837i", ".837p", ".edi", ".x12", ".txt", ".dat")
