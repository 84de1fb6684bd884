"""Every column of every ledger table: name, Arrow type and meaning, in one place.

The ledger is four Arrow tables. ``ENCOUNTERS``, ``PROCEDURES``, ``ENTRIES`` and
``PAYERS`` below are the single source of truth: validation, the Parquet layout,
synthetic data and the documentation all read them.

Money is always ``int64`` cents. Categorical strings (kind, group code, CARC,
payer id, ...) are stored dictionary-encoded: they read as strings in pandas,
polars and DuckDB, and cost one byte or two per row instead of a heap string.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

__all__ = [
    "Column",
    "ENCOUNTERS",
    "PROCEDURES",
    "ENTRIES",
    "PAYERS",
    "TABLES",
    "KINDS",
    "GROUP_CODES",
    "PAYER_CLASSES",
    "SOURCES",
    "arrow_schema",
    "describe",
]

DICT8 = pa.dictionary(pa.int8(), pa.string())
DICT16 = pa.dictionary(pa.int16(), pa.string())
DICT32 = pa.dictionary(pa.int32(), pa.string())
TIMESTAMP = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Column:
    """One documented column: name, Arrow type, whether nulls are allowed, meaning."""

    name: str
    type: pa.DataType
    nullable: bool
    doc: str


# Entry kinds. The order is the integer code the kernels see (see keys.py).
KINDS = ("charge", "payment", "adjustment", "patient_payment", "write_off", "transfer_to_pr")
# CR exists only in 4010 835s (correction/reversal); kept as reported.
GROUP_CODES = ("CO", "PR", "OA", "PI", "CR")
PAYER_CLASSES = (
    "medicare",
    "medicaid",
    "medicare_advantage",
    "commercial",
    "workers_comp",
    "self_pay",
    "other",
)
# Where an entry came from.
SOURCES = ("charge", "remit", "rule", "manual")

ENCOUNTERS = (
    Column("encounter_id", pa.string(), False, "the practice's claim id (835 CLP01); unique"),
    Column("patient_key", pa.string(), True, "salted hash of the patient; never a name or id"),
    Column("site_id", DICT32, True, "practice site (rules can be site-specific)"),
    Column("provider_id", DICT32, True, "rendering provider"),
    Column("location_id", DICT32, True, "service location"),
    Column("place_of_service", DICT8, True, "CMS place-of-service code, e.g. '11' office"),
    Column("service_date", pa.date32(), False, "first date of service"),
    Column("payer1_id", DICT32, True, "primary payer (payer_seq 1); null = self-pay"),
    Column("payer2_id", DICT32, True, "secondary payer (payer_seq 2), if any"),
    Column("payer3_id", DICT32, True, "tertiary payer (payer_seq 3), if any"),
)

PROCEDURES = (
    Column("encounter_id", pa.string(), False, "encounter this service line belongs to"),
    Column("line", pa.int32(), False, "service line number within the encounter, from 1"),
    Column("cpt", DICT32, False, "CPT/HCPCS code as billed"),
    Column("modifiers", DICT32, True, "up to 4 modifiers joined by ':' in billed order"),
    Column("units", pa.int32(), False, "units of service"),
    Column("charge_cents", pa.int64(), False, "billed charge of the line, cents"),
    Column("service_date", pa.date32(), False, "line date of service"),
    Column("line_control_number", pa.string(), True, "837/835 REF*6R line item control number"),
)

ENTRIES = (
    Column("entry_id", pa.int64(), False, "unique, increasing with posting order"),
    Column("encounter_id", pa.string(), False, "encounter of the procedure"),
    Column("line", pa.int32(), False, "procedure line within the encounter"),
    Column("payer_seq", pa.int8(), False, "0 patient, 1 primary, 2 secondary, 3 tertiary"),
    Column("payer_id", DICT32, True, "payer of the entry; null for the patient"),
    Column("kind", DICT8, False, "one of KINDS"),
    Column("group_code", DICT8, True, "CO/PR/OA/PI/CR on adjustments; null otherwise"),
    Column("carc", DICT16, True, "claim adjustment reason code, alphanumeric ('45', 'B7')"),
    Column("rarc", DICT16, True, "remark code (RARC), if any"),
    Column("amount_cents", pa.int64(), False, "signed amount, cents (see the sign note below)"),
    Column("posted_at", TIMESTAMP, False, "when the entry was posted (UTC)"),
    Column("negates", pa.int64(), True, "entry_id this entry negates, if it is a negation"),
    Column("source", DICT8, False, "one of SOURCES: charge, remit, rule or manual"),
    Column("remit_ref", DICT32, True, "835 file and claim (or remit id) for remit entries"),
    Column("rule_id", DICT32, True, "rule that proposed the entry, for rule entries"),
    Column("actor", DICT32, True, "person or process that posted it"),
    Column("note", pa.string(), True, "free-text reason"),
)

PAYERS = (
    Column("payer_id", pa.string(), False, "payer identifier (835 N1*PR id); unique"),
    Column("name", pa.string(), True, "display name"),
    Column("payer_class", DICT8, False, "one of PAYER_CLASSES"),
    Column("timely_filing_days", pa.int32(), False, "days from service to file a claim"),
    Column("appeal_days", pa.int32(), False, "days from a denial to file an appeal"),
)

TABLES = {
    "encounters": ENCOUNTERS,
    "procedures": PROCEDURES,
    "entries": ENTRIES,
    "payers": PAYERS,
}

SIGN_NOTE = """\
Amounts are positive in the direction the kind names: a charge of $150 is
+15000, a payment of $80 is +8000, a CO-45 adjustment of $40 is +4000. A
negation carries the opposite sign of the entry it negates. 835 reversals
(claim status 22) arrive as negative amounts and are posted as negations.
"""


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of one ledger table.

    Examples
    --------
    >>> arrow_schema("payers").names
    ['payer_id', 'name', 'payer_class', 'timely_filing_days', 'appeal_days']
    """
    return pa.schema([pa.field(c.name, c.type, c.nullable) for c in TABLES[table]])


def describe() -> str:
    """A plain-text reference of every table and column.

    Examples
    --------
    >>> "amount_cents" in describe()
    True
    """
    lines = []
    for name, columns in TABLES.items():
        lines.append(f"{name}")
        for c in columns:
            null = "nullable" if c.nullable else "required"
            lines.append(f"  {c.name:<22} {str(c.type):<36} {null:<9} {c.doc}")
    lines.append("")
    lines.append(SIGN_NOTE)
    return "\n".join(lines)
