"""``Remittances``: the Arrow tables read from X12 835 files, and their columns.

Seven tables, linked by integer ids that are row numbers at read time
(``transaction_id`` -> ``claim_id`` -> ``line_id``):

- ``transactions``: one row per ST..SE (one payment: BPR, TRN, payer, payee);
- ``claims``: one row per CLP;
- ``service_lines``: one row per SVC;
- ``adjustments``: one row per CAS triplet (group, CARC, amount, quantity), at
  claim level (``line_id`` null) or line level;
- ``remarks``: remark codes (RARC) from LQ (line), MOA and MIA (claim);
- ``provider_adjustments``: one row per PLB reason/amount pair;
- ``findings``: what is readable but odd, and every failed balancing check.

Code columns (claim status, CLP08, CLP09, group codes, CARCs, RARCs, procedure
codes and qualifiers, modifiers, ...) hold only valid codes: a value that is
not one is null there, with an ``invalid_code`` finding that never quotes it
(see ``ledgerkit.x12.codes``). Money is int64 cents. Patient names and member
ids are not kept unless asked for (``read_835(..., keep_identifiers=True)``):
``patient_key`` and ``subscriber_key`` are salted pseudonyms instead. ``describe()`` prints every
column with its meaning.
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._kernels.groupsums import group_sum_nb
from ledgerkit.core.arrow import numpy_array
from ledgerkit.core.schema import Column
from ledgerkit.x12.tableset import TableSet

__all__ = ["Remittances", "SCHEMAS", "TABLE_NAMES", "describe", "schema"]

S, I32, I64, F64, D = pa.string(), pa.int32(), pa.int64(), pa.float64(), pa.date32()

TRANSACTIONS = (
    Column("transaction_id", I32, False, "row id of the transaction (ST..SE) in this object"),
    Column("file", S, False, "file the transaction was read from"),
    Column("isa_sender", S, True, "ISA06 interchange sender id (trailing spaces removed)"),
    Column("isa_receiver", S, True, "ISA08 interchange receiver id"),
    Column("isa_control", S, True, "ISA13 interchange control number"),
    Column("gs_sender", S, True, "GS02 application sender code"),
    Column("gs_receiver", S, True, "GS03 application receiver code"),
    Column("gs_control", S, True, "GS06 group control number"),
    Column("gs_date", D, True, "GS04 date the group was created"),
    Column("version", S, True, "GS08 (or ST03) version, e.g. 005010X221A1, 004010X091A1"),
    Column("st_control", S, False, "ST02 transaction set control number"),
    Column("payer_id", S, True, "payer id: N1*PR N104, else REF*2U"),
    Column("payer_id_qualifier", S, True, "N1*PR N103 (XV = CMS plan id, FI = tax id)"),
    Column("payer_name", S, True, "N1*PR N102"),
    Column("payee_name", S, True, "N1*PE N102"),
    Column("payee_id_qualifier", S, True, "N1*PE N103 (XX = NPI, FI = tax id)"),
    Column("payee_id", S, True, "N1*PE N104"),
    Column("handling_code", S, True, "BPR01: I remittance only, C payment with remittance, ..."),
    Column("payment_cents", I64, True, "BPR02 total payment, cents"),
    Column("credit_debit", S, True, "BPR03: C credit, D debit"),
    Column("payment_method", S, True, "BPR04: ACH, CHK, BOP, FWT, NON"),
    Column("payment_date", D, True, "BPR16 check issue or EFT effective date"),
    Column("trace_number", S, True, "TRN02 check or EFT trace number"),
    Column("trace_originator", S, True, "TRN03 payer identifier (1 + tax id)"),
    Column("production_date", D, True, "DTM*405 production date"),
)

CLAIMS = (
    Column("claim_id", I32, False, "row id of the claim"),
    Column("transaction_id", I32, False, "transaction (payment) the claim belongs to"),
    Column("encounter_id", S, False, "CLP01 patient control number = the practice's claim id"),
    Column(
        "status_code",
        S,
        True,
        "CLP02: 1 primary, 2 secondary, 3 tertiary, 4 denied, 22 reversal, ... (null: invalid)",
    ),
    Column("charge_cents", I64, False, "CLP03 total claim charge, cents"),
    Column("paid_cents", I64, False, "CLP04 claim payment, cents"),
    Column("patient_responsibility_cents", I64, False, "sum of PR-group CAS (claim and lines)"),
    Column("reported_patient_responsibility_cents", I64, True, "CLP05 as reported"),
    Column("allowed_cents", I64, False, "computed: paid + PR-1/2/3 (claim and lines)"),
    Column("claim_filing_indicator", S, True, "CLP06: MA, MB, MC, 12, 16, CI, ..."),
    Column("payer_claim_control_number", S, True, "CLP07 payer's claim number (ICN)"),
    Column("facility_type", S, True, "CLP08 facility type code (place of service)"),
    Column("frequency_code", S, True, "CLP09 claim frequency code"),
    Column("statement_from", D, True, "DTM*232 claim statement period start"),
    Column("statement_to", D, True, "DTM*233 claim statement period end"),
    Column("received_date", D, True, "DTM*050 date the payer received the claim"),
    Column("rendering_provider_id", S, True, "NM1*82 NM109 rendering provider id"),
    Column("patient_key", S, True, "salted pseudonym of the patient (NM1*QC); see read_835"),
    Column("subscriber_key", S, True, "salted pseudonym of the insured (NM1*IL)"),
    Column("patient_last_name", S, True, "NM1*QC NM103; null unless keep_identifiers"),
    Column("patient_first_name", S, True, "NM1*QC NM104; null unless keep_identifiers"),
    Column("patient_middle_name", S, True, "NM1*QC NM105; null unless keep_identifiers"),
    Column("patient_id_qualifier", S, True, "NM1*QC NM108; null unless keep_identifiers"),
    Column("patient_id", S, True, "NM1*QC NM109 member id; null unless keep_identifiers"),
    Column("subscriber_last_name", S, True, "NM1*IL NM103; null unless keep_identifiers"),
    Column("subscriber_first_name", S, True, "NM1*IL NM104; null unless keep_identifiers"),
    Column("subscriber_middle_name", S, True, "NM1*IL NM105; null unless keep_identifiers"),
    Column("subscriber_id_qualifier", S, True, "NM1*IL NM108; null unless keep_identifiers"),
    Column("subscriber_id", S, True, "NM1*IL NM109 member id; null unless keep_identifiers"),
)

SERVICE_LINES = (
    Column("line_id", I32, False, "row id of the service line"),
    Column("claim_id", I32, False, "claim the line belongs to"),
    Column("line_number", I32, False, "position of the SVC within its claim, from 1"),
    Column("procedure_qualifier", S, True, "SVC01-1: HC (CPT/HCPCS), NU (revenue), ..."),
    Column("procedure_code", S, True, "SVC01-2 adjudicated procedure code"),
    Column("modifiers", S, True, "SVC01-3..6 joined by ':' in order"),
    Column("charge_cents", I64, True, "SVC02 line charge (null only in a malformed SVC)"),
    Column("paid_cents", I64, True, "SVC03 line payment (null only in a malformed SVC)"),
    Column("revenue_code", S, True, "SVC04 NUBC revenue code"),
    Column("units", F64, True, "SVC05 paid units; absent means 1 in the guide"),
    Column("original_procedure_qualifier", S, True, "SVC06-1 when the payer re-coded"),
    Column("original_procedure_code", S, True, "SVC06-2 procedure as submitted"),
    Column("original_modifiers", S, True, "SVC06-3..6 joined by ':'"),
    Column("original_units", F64, True, "SVC07 units as submitted"),
    Column("service_date", D, True, "DTM*472 line date of service"),
    Column("service_start", D, True, "DTM*150 service period start"),
    Column("service_end", D, True, "DTM*151 service period end"),
    Column("line_control_number", S, True, "REF*6R line item control number"),
    Column("reported_allowed_cents", I64, True, "AMT*B6 allowed amount as reported"),
    Column("allowed_cents", I64, True, "computed: paid + line PR-1/2/3"),
)

ADJUSTMENTS = (
    Column("claim_id", I32, False, "claim of the CAS"),
    Column("line_id", I32, True, "service line of the CAS; null for claim-level CAS"),
    Column("group_code", S, True, "CAS01: CO, PR, OA, PI (CR in 4010 files); null: invalid"),
    Column("carc", S, True, "claim adjustment reason code, alphanumeric; null: invalid"),
    Column("amount_cents", I64, False, "adjustment amount, cents (negative allowed)"),
    Column("quantity", F64, True, "adjustment quantity (units), if any"),
)

REMARKS = (
    Column("claim_id", I32, False, "claim of the remark"),
    Column("line_id", I32, True, "service line (LQ); null for claim-level (MOA/MIA)"),
    Column("source", S, False, "segment the code came from: LQ, MOA or MIA"),
    Column("qualifier", S, True, "LQ01: HE (RARC) or RX (NCPDP); null for MOA/MIA (RARC)"),
    Column("code", S, True, "remark code (null: invalid)"),
)

PROVIDER_ADJUSTMENTS = (
    Column("transaction_id", I32, False, "transaction (payment) of the PLB"),
    Column("provider_id", S, False, "PLB01 provider identifier"),
    Column("fiscal_period_date", D, True, "PLB02 last day of the provider's fiscal year"),
    Column("reason_code", S, True, "PLB03-1 adjustment reason (WO, L6, CV, FB, 72, ...)"),
    Column("reference", S, True, "PLB03-2 reference identifier"),
    Column("amount_cents", I64, False, "adjustment amount; positive lowers the payment"),
)

FINDINGS = (
    Column("file", S, True, "file of the finding"),
    Column("segment_number", I64, True, "1-based segment position in the file"),
    Column("segment_id", S, True, "segment id, e.g. SVC"),
    Column("element", I32, True, "element position within the segment"),
    Column("code", S, False, "what kind of finding (see FINDING_CODES and the unbalanced_*)"),
    Column("transaction_id", I32, True, "transaction concerned"),
    Column("claim_id", I32, True, "claim concerned"),
    Column("line_id", I32, True, "service line concerned"),
    Column("difference_cents", I64, True, "for balancing checks: how far from balanced"),
    Column("message", S, False, "the finding in words"),
)

SCHEMAS = {
    "transactions": TRANSACTIONS,
    "claims": CLAIMS,
    "service_lines": SERVICE_LINES,
    "adjustments": ADJUSTMENTS,
    "remarks": REMARKS,
    "provider_adjustments": PROVIDER_ADJUSTMENTS,
    "findings": FINDINGS,
}
TABLE_NAMES = tuple(SCHEMAS)
IDENTIFIER_COLUMNS = tuple(c.name for c in CLAIMS if c.doc.endswith("keep_identifiers"))


@functools.cache  # schemas are immutable; read_835 asks for each one per file
def schema(table: str) -> pa.Schema:
    """Arrow schema of one remittance table.

    Examples
    --------
    >>> schema("adjustments").names
    ['claim_id', 'line_id', 'group_code', 'carc', 'amount_cents', 'quantity']
    """
    return pa.schema([pa.field(c.name, c.type, c.nullable) for c in SCHEMAS[table]])


def describe() -> str:
    """Every column of every remittance table, with its meaning.

    Examples
    --------
    >>> "encounter_id" in describe()
    True
    """
    out = []
    for name, cols in SCHEMAS.items():
        out.append(name)
        for c in cols:
            null = "nullable" if c.nullable else "required"
            out.append(f"  {c.name:<38} {str(c.type):<8} {null:<9} {c.doc}")
    return "\n".join(out)


def empty_table(table: str) -> pa.Table:
    return schema(table).empty_table()


class Remittances(TableSet):
    """Remittances read from 835 files: seven Arrow tables and what was skipped.

    Build one with :func:`ledgerkit.x12.read_835` (or
    :func:`ledgerkit.x12.remittances_from_ledger`); write one with
    :func:`ledgerkit.x12.write_835`.

    Attributes
    ----------
    transactions, claims, service_lines, adjustments, remarks, provider_adjustments, findings
        ``pyarrow.Table`` s; see :func:`describe` for every column. Built by
        position or by name; ``tables``, ``equals`` and ``concat`` come from
        :class:`ledgerkit.x12.tableset.TableSet`.
    skipped : list of (str, str)
        Files that could not be read, with the error, when reading with
        ``on_error="skip"``.

    Examples
    --------
    >>> from ledgerkit.x12 import read_835
    >>> r = read_835(b"ST*835*1~BPR*I*10*C*CHK************20250101~CLP*E1*1*12*10~"
    ...              b"CAS*CO*45*2~SE*5*1~")
    >>> r
    Remittances(1 transactions, 1 claims, 0 service lines, 1 adjustments, 1 findings)
    >>> r.findings.column("code").to_pylist()  # the file has no ISA/GS envelope
    ['no_envelope']
    >>> r.claims.column("paid_cents").to_pylist()
    [1000]
    """

    TABLE_NAMES = TABLE_NAMES
    SHOWN = (
        ("transactions", "transactions"),
        ("claims", "claims"),
        ("service_lines", "service lines"),
        ("adjustments", "adjustments"),
        ("findings", "findings"),
    )

    @classmethod
    def empty_table(cls, name: str) -> pa.Table:
        return empty_table(name)

    @classmethod
    def concat(cls, parts: list[Remittances]) -> Remittances:
        """Concatenate several objects, renumbering ids so they stay unique.

        Examples
        --------
        >>> from ledgerkit.x12 import read_835
        >>> r = read_835(b"ST*835*1~BPR*I*10*C*CHK************20250101~CLP*E1*1*10*10~SE*4*1~")
        >>> Remittances.concat([r, r]).claims.column("claim_id").to_pylist()
        [0, 1]
        """
        return super().concat(parts)


# ----------------------------------------------------------------------------- derived
def _np(col) -> np.ndarray:
    """A column as numpy (nulls -> INT64 min for ints); chunks combined."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_integer(arr.type):
        return numpy_array(arr.cast(pa.int64()), fill=-9223372036854775808)
    return numpy_array(arr)


def _sum_by(values: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """Sums of ``values`` by ``group``; null values and groups outside ``0..n-1`` left out."""
    out = np.zeros(n, np.int64)
    keep = (group >= 0) & (group < n) & (values != np.iinfo(np.int64).min)
    group_sum_nb(values, np.where(keep, group, -1).astype(np.int64, copy=False), out)
    return out


def derived_columns(claims: pa.Table, lines: pa.Table, adjustments: pa.Table) -> dict:
    """Computed columns and balancing residuals from the stored columns.

    Returns numpy arrays: ``claim_pr``, ``claim_allowed``, ``line_allowed``,
    ``line_residual`` (charge - paid - line CAS; NULL where charge or paid is
    absent), ``claim_residual`` (charge - paid - all CAS of the claim).
    """
    nc, nl = claims.num_rows, lines.num_rows
    amount = _np(adjustments.column("amount_cents"))
    a_claim = _np(adjustments.column("claim_id"))
    a_line = _np(adjustments.column("line_id"))
    a_line = np.where(a_line == np.iinfo(np.int64).min, -1, a_line)
    group = adjustments.column("group_code")
    is_pr = _np(pc.equal(group, "PR"))
    is_pr123 = is_pr & _np(pc.is_in(adjustments.column("carc"), pa.array(["1", "2", "3"])))
    if nc and claims.column("claim_id").num_chunks:
        claim_ids = _np(claims.column("claim_id"))
        first_claim = int(claim_ids[0])
    else:
        first_claim = 0
    first_line = int(_np(lines.column("line_id"))[0]) if nl else 0
    a_claim = a_claim - first_claim
    a_line = np.where(a_line >= 0, a_line - first_line, -1)
    zero = np.zeros(len(amount), np.int64)
    claim_pr = _sum_by(np.where(is_pr, amount, zero), a_claim, nc)
    claim_pr123 = _sum_by(np.where(is_pr123, amount, zero), a_claim, nc)
    claim_cas = _sum_by(amount, a_claim, nc)
    line_cas = _sum_by(amount, a_line, nl)
    line_pr123 = _sum_by(np.where(is_pr123, amount, zero), a_line, nl)
    null = np.iinfo(np.int64).min
    c_charge = _np(claims.column("charge_cents"))
    c_paid = _np(claims.column("paid_cents"))
    l_charge = _np(lines.column("charge_cents"))
    l_paid = _np(lines.column("paid_cents"))
    l_ok = (l_charge != null) & (l_paid != null)
    return {
        "claim_pr": claim_pr,
        "claim_allowed": c_paid + claim_pr123,
        "line_allowed": np.where(l_paid != null, l_paid + line_pr123, null),
        "line_residual": np.where(l_ok, l_charge - l_paid - line_cas, null),
        "claim_residual": c_charge - c_paid - claim_cas,
    }
