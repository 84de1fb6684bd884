"""The Python side of the compiled 837 parser: allocate, call, explain errors.

:func:`parse` runs :func:`ledgerkit._kernels.x12.parse_837.parse_837_nb` over
the bytes of one file into arrays sized from the file's length (parsed again
with the exact numbers when a file is denser than that) and turns a kernel
error code into an :class:`X12Error` that names the place and never quotes a
value of the file.
"""

from __future__ import annotations

import numpy as np

from ledgerkit._kernels.x12 import layout as k
from ledgerkit._kernels.x12 import layout_837 as m
from ledgerkit._kernels.x12.parse_837 import parse_837_nb
from ledgerkit.x12.errors import X12Error
from ledgerkit.x12.tokenize import delimiter_error, sniff_delimiters

__all__ = ["parse", "segment_name", "KNOWN_SEGMENTS", "FINDING_CODES_837"]

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


def parse(buf: np.ndarray, file: str) -> dict:
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


def segment_name(buf, pos) -> str | None:
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
    sid = segment_name(buf, pos) if seg else None
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
    if code == k.E_DELIMITER:
        return delimiter_error(file, seg, elem, a, b)
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
