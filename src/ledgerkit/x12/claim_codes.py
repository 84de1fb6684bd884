"""Code fields of the 837 checked like the 835's (``ledgerkit.x12.codes``); a bad one is withheld.

A lost terminator or a shifted element can move a patient's name or member id
into a field that holds a code (a procedure code, a modifier, a diagnosis).
Every code column of the claims tables is checked against its closed list or
the shape its codes have: CPT/HCPCS (with their qualifier), modifiers,
revenue codes, place of service and facility type, frequency, SBR codes,
ICD-10 and ICD-9 diagnosis shapes (by HI qualifier), NDCs, and the prior
payers' group codes, CARCs and SVD procedures. A value that fails becomes
null, with an ``invalid_code`` finding that names the segment and element and
never the value.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._kernels.x12 import layout as k
from ledgerkit._kernels.x12 import layout_837 as m
from ledgerkit.x12.codes import (
    CARC,
    FILING_INDICATORS,
    GROUP_CODES,
    MODIFIERS,
    PROCEDURE,
    PROCEDURE_QUALIFIERS,
    CodeRule,
    withhold_invalid_codes,
)

__all__ = ["CLAIM_CODE_RULES", "DIAGNOSIS", "withhold_invalid_claim_codes"]

RESPONSIBILITY = tuple("PSTABCDEFGHU")
FACILITY_QUALIFIERS = ("A", "B")
PURPOSES = ("00", "18")
CLAIM_OR_ENCOUNTER = ("CH", "RP", "31")
AMOUNT_QUALIFIERS = r"[0-9A-Z]{1,3}"
ICD10_CM = r"[A-Z][0-9][0-9A-Z]{1,5}"  # 3-7 characters, no dot
ICD9_CM = r"[0-9]{3,5}|V[0-9]{2,4}|E[0-9]{3,4}"
# HI qualifier and code, checked together ("ABK:J069"): ICD-10-CM and ICD-9-CM
# diagnoses, ICD-10-PCS and ICD-9 procedures, CPT/HCPCS principal procedures,
# DRG, and the two-character value, occurrence, occurrence-span and condition codes.
DIAGNOSIS = (
    rf"(ABK|ABF|ABJ|ABN|APR|ABU):({ICD10_CM})|(BK|BF|BJ|BN|PR):({ICD9_CM})"
    r"|(BBR|BBQ):[0-9A-HJ-NP-Z]{7}|(BR|BQ):[0-9]{3,4}|(BP|BO):([0-9]{4}[0-9FTUM]|[A-Z][0-9]{4})"
    r"|DR:[0-9]{3,4}|(BE|BH|BI|BG):[0-9A-Z]{2}|TC:[0-9A-Z]{1,30}"
)
HI_QUALIFIERS = tuple(
    "ABK ABF ABJ ABN APR ABU BK BF BJ BN PR BBR BBQ BR BQ BP BO DR BE BH BI BG TC".split()
)

CLAIM_CODE_RULES = {
    "transactions": (
        CodeRule("purpose", "BHT", 2, "transaction set purpose code", PURPOSES, located=False),
        CodeRule(
            "claim_or_encounter", "BHT", 6, "claim or encounter identifier", CLAIM_OR_ENCOUNTER,
            located=False,
        ),
    ),
    "claims": (
        CodeRule(
            "facility_code", "CLM", 5, "place of service or facility type (2 digits)",
            pattern="[0-9]{2}",
        ),
        CodeRule("facility_code_qualifier", "CLM", 5, "facility code qualifier",
                 FACILITY_QUALIFIERS),
        CodeRule("frequency_code", "CLM", 5, "claim frequency code (1 digit)", pattern="[0-9]"),
        CodeRule("payer_responsibility", "SBR", 1, "payer responsibility code", RESPONSIBILITY,
                 located=False),
        CodeRule("relationship_code", "SBR", 2, "individual relationship code",
                 pattern="[0-9]{2}|G8", located=False),
        CodeRule("claim_filing_indicator", "SBR", 9, "claim filing indicator", FILING_INDICATORS,
                 located=False),
    ),
    "service_lines": (
        CodeRule("procedure_qualifier", "SV1", 1, "procedure code qualifier",
                 PROCEDURE_QUALIFIERS),
        CodeRule("procedure_code", "SV1", 1, "procedure code for its qualifier",
                 pattern=PROCEDURE, with_column="procedure_qualifier"),
        CodeRule("modifiers", "SV1", 1, "list of procedure modifiers", pattern=MODIFIERS),
        CodeRule("revenue_code", "SV2", 1, "revenue code (3-4 digits)", pattern="[0-9]{3,4}"),
        CodeRule("unit_basis", "SV1", 3, "unit or basis for measurement code",
                 pattern="[A-Z0-9]{2}"),
        CodeRule("place_of_service", "SV1", 5, "place of service code (2 digits)",
                 pattern="[0-9]{2}"),
        CodeRule("ndc", "LIN", 3, "national drug code (11 digits)", pattern="[0-9]{11}",
                 located=False),
    ),
    "diagnoses": (
        CodeRule("qualifier", "HI", None, "HI code list qualifier", HI_QUALIFIERS),
        CodeRule("code", "HI", None, "diagnosis or other HI code for its qualifier",
                 pattern=DIAGNOSIS, with_column="qualifier"),
    ),
    "other_payers": (
        CodeRule("responsibility", "SBR", 1, "payer responsibility code", RESPONSIBILITY),
        CodeRule("claim_filing_indicator", "SBR", 9, "claim filing indicator",
                 FILING_INDICATORS),
    ),
    "prior_adjudication": (
        CodeRule("group_code", "CAS", 1, "claim adjustment group code", GROUP_CODES),
        CodeRule("carc", "CAS", None, "claim adjustment reason code", pattern=CARC),
        CodeRule("amount_qualifier", "AMT", 1, "amount qualifier code",
                 pattern=AMOUNT_QUALIFIERS),
        CodeRule("procedure_qualifier", "SVD", 3, "procedure code qualifier",
                 PROCEDURE_QUALIFIERS),
        CodeRule("procedure_code", "SVD", 3, "procedure code for its qualifier",
                 pattern=PROCEDURE, with_column="procedure_qualifier"),
    ),
}  # fmt: skip

# On institutional claims the procedure is SV202 and the unit basis SV204.
_INSTITUTIONAL_PLACE = {("SV1", 1): ("SV2", 2), ("SV1", 3): ("SV2", 4)}


def _ids(values: np.ndarray) -> np.ndarray:
    v = values.astype(np.int64)
    return np.where(v == k.NULL32, -1, v)


def _places(a, tables) -> dict:
    """Per table: where each row came from (see ``withhold_invalid_codes``)."""
    claim_tx = _ids(a["cl_i"][m.CI_TX])

    def tx_of(claims):
        return np.where(claims >= 0, claim_tx[np.maximum(claims, 0)], -1) if len(claim_tx) else (
            np.full(len(claims), -1)
        )  # fmt: skip

    ntx = tables["transactions"].num_rows
    li_claim = _ids(a["li_i"][m.LI_CLAIM])
    dx_claim = _ids(a["dx_i"][m.DI_CLAIM])
    op_claim = _ids(a["op_i"][m.OI_CLAIM])
    pr_claim = _ids(a["pr_i"][m.PI_CLAIM])
    none = np.full
    return {
        "transactions": dict(seg=none(ntx, -1), tx=np.arange(ntx), claim=none(ntx, -1),
                             line=none(ntx, -1)),
        "claims": dict(seg=_ids(a["cl_i"][m.CI_SEG]), tx=claim_tx, claim=np.arange(len(claim_tx)),
                       line=none(len(claim_tx), -1)),
        "service_lines": dict(seg=_ids(a["li_i"][m.LI_SEG]), tx=tx_of(li_claim), claim=li_claim,
                              line=np.arange(len(li_claim))),
        "diagnoses": dict(seg=_ids(a["dx_i"][m.DI_SEG]), tx=tx_of(dx_claim), claim=dx_claim,
                          line=none(len(dx_claim), -1)),
        "other_payers": dict(seg=_ids(a["op_i"][m.OI_SEG]), tx=tx_of(op_claim), claim=op_claim,
                             line=none(len(op_claim), -1)),
        "prior_adjudication": dict(seg=_ids(a["pr_i"][m.PI_SEG]), tx=tx_of(pr_claim),
                                   claim=pr_claim, line=_ids(a["pr_i"][m.PI_LINE])),
    }  # fmt: skip


def _institutional_rows(rows, tables) -> list:
    """Line findings of institutional claims name SV2's elements, not SV1's."""
    kinds = tables["transactions"]["claim_type"].to_pylist()
    out = []
    for row in rows:
        seg, sid, elem, code, tx, cl, li, diff, msg = row
        if li is not None and li >= 0 and 0 <= tx < len(kinds) and kinds[tx] == "institutional":
            new = _INSTITUTIONAL_PLACE.get((sid, elem))
            if new is not None:
                old_place, place = f"{sid}{elem:02d}", f"{new[0]}{new[1]:02d}"
                row = (seg, new[0], new[1], code, tx, cl, li, diff,
                       msg.replace(old_place, place, 1))  # fmt: skip
        out.append(row)
    return out


def withhold_invalid_claim_codes(a, tables: dict) -> tuple[dict, list]:
    """The claims tables with invalid codes nulled, and their ``invalid_code`` finding rows.

    ``a`` holds the kernel arrays of one file (row places), ``tables`` the
    built tables by name. ``place_of_service`` of a claim follows its
    ``facility_code``.
    """
    rows: list = []
    for name in CLAIM_CODE_RULES:
        # where the rows came from is worked out only for a file with a bad code
        where = lambda name=name: _places(a, tables)[name]  # noqa: E731
        tables[name], found = withhold_invalid_codes(name, tables[name], where, CLAIM_CODE_RULES)
        rows += found
    c = tables["claims"]
    if c.num_rows:
        i = c.schema.get_field_index("place_of_service")
        pos = pc.if_else(pc.is_null(c["facility_code"]), pa.scalar(None, pa.string()),
                         c["place_of_service"])  # fmt: skip
        tables["claims"] = c.set_column(i, c.schema.field(i), pos)
    return tables, (_institutional_rows(rows, tables) if rows else rows)
