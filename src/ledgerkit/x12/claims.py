"""``Claims``: the Arrow tables read from X12 837 claim files, and their columns.

Seven tables, linked by integer ids that are row numbers at read time
(``transaction_id`` -> ``claim_id`` -> ``line_id``):

- ``transactions``: one row per ST..SE (submitter, receiver, version);
- ``claims``: one row per CLM, with its payer (SBR/NM1*PR of its subscriber
  loop), billing and rendering providers and dates;
- ``service_lines``: one row per SV1 (professional) or SV2 (institutional);
- ``diagnoses``: one row per HI composite (qualifier and code, in order);
- ``other_payers``: the claim's other coverage, one row per 2320 loop (SBR
  and the 2330B payer);
- ``prior_adjudication``: what earlier payers decided, on claims sent to a
  later payer (COB): 2320 CAS and AMT (claim level), 2430 SVD, CAS and AMT
  (line level);
- ``findings``: what is readable but odd, and every failed balancing check.

Money is int64 cents. Patient and subscriber names and member ids are not
kept unless asked for (``read_837(..., keep_identifiers=True)``);
``patient_key`` and ``subscriber_key`` are salted pseudonyms instead, the same
as ``read_835`` makes for the same person and salt.
"""

from __future__ import annotations

import functools

import pyarrow as pa

from ledgerkit.core.schema import Column
from ledgerkit.x12.remittances import FINDINGS
from ledgerkit.x12.tableset import TableSet

__all__ = ["Claims", "CLAIM_TABLE_NAMES", "claims_schema", "describe_claims"]

S, I8, I32, I64, F64, D = pa.string(), pa.int8(), pa.int32(), pa.int64(), pa.float64(), pa.date32()

TRANSACTIONS = (
    Column("transaction_id", I32, False, "row id of the transaction (ST..SE) in this object"),
    Column("file", S, False, "file the transaction was read from"),
    Column("isa_sender", S, True, "ISA06 interchange sender id (trailing spaces removed)"),
    Column("isa_receiver", S, True, "ISA08 interchange receiver id"),
    Column("isa_control", S, True, "ISA13 interchange control number"),
    Column("gs_control", S, True, "GS06 group control number"),
    Column("gs_date", D, True, "GS04 date the group was created"),
    Column("version", S, True, "GS08 (or ST03), e.g. 005010X222A1, 005010X223A2, 004010X098A1"),
    Column("claim_type", S, True, "professional (837P) or institutional (837I), from the version"),
    Column("st_control", S, False, "ST02 transaction set control number"),
    Column("purpose", S, True, "BHT02: 00 original, 18 reissue"),
    Column("reference", S, True, "BHT03 originator's reference"),
    Column("created_date", D, True, "BHT04 date the transaction was created"),
    Column("claim_or_encounter", S, True, "BHT06: CH chargeable, RP reporting (encounter)"),
    Column("submitter_id", S, True, "NM1*41 NM109 submitter id"),
    Column("receiver_name", S, True, "NM1*40 NM103 receiver (clearinghouse or payer)"),
    Column("receiver_id", S, True, "NM1*40 NM109"),
)

CLAIMS = (
    Column("claim_id", I32, False, "row id of the claim in this object"),
    Column("transaction_id", I32, False, "transaction of the claim"),
    Column("encounter_id", S, False, "CLM01 the practice's claim id (= 835 CLP01)"),
    Column("charge_cents", I64, False, "CLM02 total claim charge, cents"),
    Column("facility_code", S, True, "CLM05-1 place of service (837P) or facility type (837I)"),
    Column("facility_code_qualifier", S, True, "CLM05-2: B place of service, A facility type"),
    Column("place_of_service", S, True, "CLM05-1 when CLM05-2 is B (professional claims)"),
    Column("frequency_code", S, True, "CLM05-3: 1 original, 7 replacement, 8 void"),
    Column("payer_responsibility", S, True, "SBR01: P primary, S secondary, T tertiary, ..."),
    Column("payer_seq", I8, True, "SBR01 as a number: P 1, S 2, T 3, A-H 4-11"),
    Column("relationship_code", S, True, "SBR02 patient's relationship to the insured (18 self)"),
    Column("claim_filing_indicator", S, True, "SBR09: MB Medicare B, MC Medicaid, CI, BL, ..."),
    Column("payer_id", S, True, "NM1*PR NM109 (loop 2010BB) payer id"),
    Column("payer_name", S, True, "NM1*PR NM103 payer name"),
    Column("billing_provider_npi", S, True, "NM1*85 NM109 when NM108 is XX"),
    Column("billing_provider_tax_id", S, True, "REF*EI/SY of the billing provider (4010: NM109)"),
    Column("rendering_provider_id", S, True, "NM1*82 NM109 of the claim (2310B)"),
    Column("attending_provider_id", S, True, "NM1*71 NM109 (837I attending)"),
    Column("service_facility_id", S, True, "NM1*77 NM109 service facility location"),
    Column("original_reference", S, True, "REF*F8 payer claim number of the claim replaced"),
    Column("prior_authorization", S, True, "REF*G1 prior authorization number"),
    Column("statement_from", D, True, "DTP*434 statement period start (837I)"),
    Column("statement_to", D, True, "DTP*434 statement period end"),
    Column("service_from", D, True, "first service date: claim DTP*472, else its lines'"),
    Column("service_to", D, True, "last service date: claim DTP*472, else its lines'"),
    Column("line_count", I32, False, "number of service lines"),
    Column("patient_key", S, True, "salted pseudonym of the patient (NM1*QC, else NM1*IL)"),
    Column("subscriber_key", S, True, "salted pseudonym of the subscriber (NM1*IL)"),
    Column("patient_last_name", S, True, "NM1*QC NM103, with keep_identifiers"),
    Column("patient_first_name", S, True, "NM1*QC NM104, with keep_identifiers"),
    Column("patient_middle_name", S, True, "NM1*QC NM105, with keep_identifiers"),
    Column("patient_id_qualifier", S, True, "NM1*QC NM108, with keep_identifiers"),
    Column("patient_id", S, True, "NM1*QC NM109, with keep_identifiers"),
    Column("subscriber_last_name", S, True, "NM1*IL NM103, with keep_identifiers"),
    Column("subscriber_first_name", S, True, "NM1*IL NM104, with keep_identifiers"),
    Column("subscriber_middle_name", S, True, "NM1*IL NM105, with keep_identifiers"),
    Column("subscriber_id_qualifier", S, True, "NM1*IL NM108, with keep_identifiers"),
    Column("subscriber_id", S, True, "NM1*IL NM109 member id, with keep_identifiers"),
)

SERVICE_LINES = (
    Column("line_id", I32, False, "row id of the line in this object"),
    Column("claim_id", I32, False, "claim of the line"),
    Column("line_number", I32, True, "LX01 line counter within the claim"),
    Column("procedure_qualifier", S, True, "SV101-1 / SV202-1: HC (CPT/HCPCS), ER, IV, ..."),
    Column("procedure_code", S, True, "SV101-2 / SV202-2 procedure code; null on revenue-only"),
    Column("modifiers", S, True, "SV101-3..6 / SV202-3..6 joined by ':' in billed order"),
    Column("revenue_code", S, True, "SV201 revenue code (837I)"),
    Column("charge_cents", I64, False, "SV102 / SV203 line charge, cents"),
    Column("unit_basis", S, True, "SV103 / SV204: UN units, MJ minutes, DA days"),
    Column("units", F64, True, "SV104 / SV205 units or minutes"),
    Column("place_of_service", S, True, "SV105 (837P), when it differs from the claim's"),
    Column("diagnosis_pointers", S, True, "SV107 pointers into the claim's HI codes, ':'-joined"),
    Column("service_from", D, True, "DTP*472 of the line, else of the claim"),
    Column("service_to", D, True, "end of a DTP*472 range (RD8), else service_from"),
    Column("line_control_number", S, True, "REF*6R line item control number (= 835 REF*6R)"),
    Column("ndc", S, True, "LIN*N4 national drug code of a drug line"),
    Column("rendering_provider_id", S, True, "NM1*82 NM109 of the line (2420A), if any"),
)

DIAGNOSES = (
    Column("claim_id", I32, False, "claim of the HI code"),
    Column("position", I32, False, "1-based order of the code within the claim's HI segments"),
    Column("qualifier", S, True, "ABK/BK principal, ABF/BF other (ICD-10/ICD-9), BE, BH, ..."),
    Column("code", S, True, "the code, as sent (ICD codes without their dot)"),
)

OTHER_PAYERS = (
    Column("claim_id", I32, False, "claim naming the other coverage"),
    Column("other_payer", I32, False, "1-based 2320 loop within the claim"),
    Column("responsibility", S, True, "2320 SBR01: P, S, T, ... of that payer"),
    Column("payer_seq", I8, True, "SBR01 as a number: P 1, S 2, T 3, A-H 4-11"),
    Column("claim_filing_indicator", S, True, "2320 SBR09 of that payer"),
    Column("payer_id", S, True, "2330B NM1*PR NM109"),
    Column("payer_name", S, True, "2330B NM1*PR NM103"),
)

PRIOR_ADJUDICATION = (
    Column("claim_id", I32, False, "claim sent to a later payer"),
    Column("line_id", I32, True, "service line (2430); null for claim level (2320)"),
    Column("source", S, False, "segment: SVD (line paid), CAS (adjustment) or AMT (amount)"),
    Column("other_payer", I32, True, "1-based 2320 loop of the claim this row belongs to"),
    Column("other_payer_responsibility", S, True, "2320 SBR01 of that payer (P, S, T, ...)"),
    Column("other_payer_id", S, True, "2330B NM1*PR NM109 (claim level) or SVD01 (line)"),
    Column("group_code", S, True, "CAS01 on CAS rows: CO, PR, OA, PI"),
    Column("carc", S, True, "CAS reason code on CAS rows"),
    Column("amount_qualifier", S, True, "AMT01 on AMT rows: D paid, EAF remaining, A8, ..."),
    Column("amount_cents", I64, False, "SVD02 paid, CAS amount or AMT02, cents"),
    Column("quantity", F64, True, "SVD05 paid units or CAS quantity"),
    Column("procedure_qualifier", S, True, "SVD03-1 on SVD rows"),
    Column("procedure_code", S, True, "SVD03-2 procedure the payer adjudicated"),
    Column("adjudication_date", D, True, "DTP*573 date the payer adjudicated"),
)

CLAIM_SCHEMAS = {
    "transactions": TRANSACTIONS,
    "claims": CLAIMS,
    "service_lines": SERVICE_LINES,
    "diagnoses": DIAGNOSES,
    "other_payers": OTHER_PAYERS,
    "prior_adjudication": PRIOR_ADJUDICATION,
    "findings": FINDINGS,
}
CLAIM_TABLE_NAMES = tuple(CLAIM_SCHEMAS)
CLAIM_IDENTIFIER_COLUMNS = tuple(c.name for c in CLAIMS if c.doc.endswith("keep_identifiers"))


@functools.cache
def claims_schema(table: str) -> pa.Schema:
    """Arrow schema of one claims table.

    Examples
    --------
    >>> claims_schema("diagnoses").names
    ['claim_id', 'position', 'qualifier', 'code']
    """
    return pa.schema([pa.field(c.name, c.type, c.nullable) for c in CLAIM_SCHEMAS[table]])


def describe_claims() -> str:
    """Every column of every claims table with its meaning, as text."""
    out = []
    for name, cols in CLAIM_SCHEMAS.items():
        out.append(name)
        out.extend(f"  {c.name:28} {str(c.type):8} {c.doc}" for c in cols)
    return "\n".join(out)


class Claims(TableSet):
    """Claims read from 837 files: seven Arrow tables and what was skipped.

    Build one with :func:`ledgerkit.x12.read_837`; put it in a ledger with
    :meth:`ledgerkit.Ledger.from_837` or :meth:`ledgerkit.Ledger.add_claims`.

    Attributes
    ----------
    transactions, claims, service_lines, diagnoses, other_payers, prior_adjudication, findings
        ``pyarrow.Table`` s; see :func:`describe_claims` for every column. Built by
        position or by name; ``tables``, ``equals`` and ``concat`` come from
        :class:`ledgerkit.x12.tableset.TableSet`.
    skipped : list of (str, str)
        Files that could not be read, with the error, when reading with
        ``on_error="skip"``.

    Examples
    --------
    >>> from ledgerkit.x12 import read_837
    >>> c = read_837(b"ST*837*1*005010X222A1~HL*1**20*1~HL*2*1*22*0~SBR*P*18~"
    ...              b"CLM*E1*100***11:B:1~LX*1~SV1*HC:99213*100*UN*1~SE*8*1~")
    >>> c
    Claims(1 transactions, 1 claims, 1 service lines, 0 diagnoses, 1 findings)
    >>> c.claims.column("charge_cents").to_pylist()
    [10000]
    """

    TABLE_NAMES = CLAIM_TABLE_NAMES
    SHOWN = (
        ("transactions", "transactions"),
        ("claims", "claims"),
        ("service_lines", "service lines"),
        ("diagnoses", "diagnoses"),
        ("findings", "findings"),
    )

    @classmethod
    def empty_table(cls, name: str) -> pa.Table:
        return claims_schema(name).empty_table()
