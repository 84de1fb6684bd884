"""The Python side of the compiled 835 tokenizer: allocate, call, explain errors.

:func:`tokenize` estimates the rows of each table with
:func:`ledgerkit._kernels.x12.scan.count_835_nb` (the whole of a small file, samples
of a large one), allocates, and runs :func:`ledgerkit._kernels.x12.parse.parse_835_nb`
over the bytes of one file (again, with exact sizes, if an estimate was too
small); it returns a :class:`Parsed` bundle of numpy arrays. Python never loops
over segments: it only sniffs default delimiters for files without an ISA
header, allocates, and turns a kernel error code into an :class:`X12Error`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ledgerkit._kernels.x12 import count_835_nb, count_samples_nb, parse_835_nb
from ledgerkit._kernels.x12 import layout as k
from ledgerkit.x12.errors import X12Error

__all__ = ["Parsed", "tokenize", "sniff_delimiters", "FINDING_CODES", "delimiter_error"]

# Finding code -> (name, what it means). Names are the ``code`` column of findings.
FINDING_CODES = {
    k.F_INVALID_DATE: ("invalid_date", "not a valid CCYYMMDD date; read as null"),
    k.F_BPR_DATE_POSITION: (
        "bpr_date_position",
        "BPR has 15 elements: the payment date was taken from BPR15 instead of BPR16",
    ),
    k.F_BPR_NO_DATE: ("bpr_no_date", "BPR16 (payment date) is missing"),
    k.F_SVC_MALFORMED: ("svc_malformed", "SVC is malformed; the line is read as far as it goes"),
    k.F_COMPONENT_SEPARATOR: (
        "component_separator",
        "composites use a separator other than ISA16; it was inferred per element",
    ),
    k.F_ISA_WIDTH: ("isa_width", "ISA elements are not fixed width (106 bytes)"),
    k.F_NO_ENVELOPE: (
        "no_envelope",
        "no ISA/GS envelope: the file starts at ST; delimiters were inferred",
    ),
    k.F_SE_COUNT: (
        "se_count",
        "SE01 does not match the number of segments in the transaction set; read anyway",
    ),
    k.F_CLAIM_SKIPPED: (
        "claim_skipped",
        "the claim is damaged and was left out (its lines, adjustments and payment are in "
        "no table); the rest of the file was read",
    ),
}

_LOOP_NAMES = {
    k.LOOP_HEADER: "in the header (before the first LX/CLP)",
    k.LOOP_CLAIM: "in the claim payment loop 2100 (after CLP)",
    k.LOOP_LINE: "in the service payment loop 2110 (after SVC)",
    k.LOOP_PLB: "in the provider adjustment (PLB) trailer",
    k.LOOP_LX: "in the header number loop 2000 (after LX/TS3/TS2, before CLP)",
}
_ENV_NAMES = {
    0: "outside an interchange: expected ISA",
    1: "inside an interchange but outside a functional group: expected GS or IEA",
    2: "between transaction sets: expected ST or GE",
    3: "inside a transaction set: the previous one needs its SE (and GE, IEA) first",
}


@dataclass
class Parsed:
    """Arrays filled by the kernel for one file (see the layouts in ``_kernels/x12/layout.py``)."""

    buf: np.ndarray
    counts: np.ndarray
    tx_s: np.ndarray
    tx_n: np.ndarray
    cl_s: np.ndarray
    cl_n: np.ndarray
    cl_i: np.ndarray
    li_s: np.ndarray
    li_n: np.ndarray
    li_i: np.ndarray
    li_f: np.ndarray
    ad_s: np.ndarray
    ad_n: np.ndarray
    ad_i: np.ndarray
    ad_f: np.ndarray
    re_s: np.ndarray
    re_i: np.ndarray
    pl_s: np.ndarray
    pl_n: np.ndarray
    pl_i: np.ndarray
    fn: np.ndarray
    present: np.ndarray


def sniff_delimiters(buf: np.ndarray) -> tuple[int, int, int]:
    """Element separator, component separator and segment terminator to assume.

    Only used for a file with no ISA header (the ISA sets them otherwise):
    the element separator is the byte after ``ST``, the terminator the first
    byte after the ST control number that is not part of it.

    Examples
    --------
    >>> sniff_delimiters(np.frombuffer(b"ST|835|0001\\nBPR|I", np.uint8))
    (124, 58, 10)
    """
    head = bytes(buf[:512]).lstrip(b"\xef\xbb\xbf").lstrip()
    esep, comp, term = ord("*"), ord(":"), ord("~")
    if head.startswith(b"ST") and len(head) > 2:
        esep = head[2]
        j = 3
        while j < len(head) and (chr(head[j]).isalnum() or head[j] == esep or head[j] == 32):
            j += 1
        if j < len(head):
            term = head[j]
    return esep, comp, term


def _arrays(counts, int_dtype):
    """Output arrays of the kernel, one (fields x rows) array per kind of field.

    Span, "i" and "f" arrays are zeroed (``np.zeros``: pages the kernel never
    writes, such as a field absent from the whole file, cost no memory); the
    kernel writes every row of the other number arrays. Spans and the "i" arrays are int32
    (int64 only for a file of 2 GB or more). Rows are rounded up to a multiple
    of 16 so each field's row is aligned for Arrow, which gets it without copy.
    """

    def two(rows, n, dtype, zero=False):
        n = -(-n // 16) * 16
        return (np.zeros if zero else np.empty)((rows, n), dtype)

    ntx, ncl, nli, nad, nre, npl, nfn = (int(counts[i]) for i in range(7))
    i = int_dtype
    return dict(
        tx_s=two(2 * k.N_TS, ntx, i, True),
        tx_n=two(k.N_TN, ntx, np.int64),
        cl_s=two(2 * k.N_CS, ncl, i, True),
        cl_n=two(k.N_CN, ncl, np.int64),
        cl_i=two(k.N_CI, ncl, i, True),
        li_s=two(2 * k.N_LS, nli, i, True),
        li_n=two(k.N_LN, nli, np.int64),
        li_i=two(k.N_LI, nli, i, True),
        li_f=two(k.N_LF, nli, np.float64, True),
        ad_s=two(2 * k.N_AS, nad, i, True),
        ad_n=two(k.N_AN, nad, np.int64),
        ad_i=two(k.N_AI, nad, i),
        ad_f=two(k.N_AF, nad, np.float64, True),
        re_s=two(2 * k.N_RS, nre, i, True),
        re_i=two(k.N_RI, nre, i),
        pl_s=two(2 * k.N_PS, npl, i, True),
        pl_n=two(k.N_PN, npl, np.int64),
        pl_i=two(k.N_PI, npl, i),
        fn=two(k.N_FN, nfn, np.int64),
        present=np.zeros((k.N_PR, k.PR_WIDTH), np.int64),
    )


def _run(buf, delims, strict, counts, err, arrays):
    a = arrays
    return parse_835_nb(
        buf, *delims, bool(strict), counts, err,
        a["tx_s"], a["tx_n"], a["cl_s"], a["cl_n"], a["cl_i"], a["li_s"], a["li_n"], a["li_i"],
        a["li_f"], a["ad_s"], a["ad_n"], a["ad_i"], a["ad_f"], a["re_s"], a["re_i"], a["pl_s"],
        a["pl_n"], a["pl_i"], a["fn"], a["present"],
    )  # fmt: skip


SAMPLED_ABOVE = 256 << 10  # smaller files are counted whole
SAMPLES = 16
SAMPLE_BYTES = 128 << 10  # per sample, at most (a 128th of a smaller file)
SAMPLE_MARGIN = 1.1  # +0.25 with samples smaller than SAMPLE_BYTES


def _estimate_rows(buf: np.ndarray, delims) -> np.ndarray:
    """Rows to allocate for each table (``counts`` layout of the kernel).

    A small file is counted whole (``count_835_nb``: upper bounds). A larger one
    is counted on ``SAMPLES`` evenly spaced slices (``SAMPLE_BYTES``, or a 128th
    of the file): their rows per byte, times the file size, plus a margin.
    Counting the whole file cost a quarter of the parse; an estimate that is too
    small costs one more parse with the exact numbers (the parser counts rows
    past its capacity), and one too large costs no memory (pages that are never
    written are not allocated).
    """
    n = len(buf)
    counts = np.zeros(k.N_K, np.int64)
    size = min(SAMPLE_BYTES, max(n // 128, 1))
    if n < max(SAMPLED_ABOVE, 2 * SAMPLES * size):
        count_835_nb(buf, delims[0], delims[2], -1, counts)
        return counts
    # the first slice reads the ISA header, which sets the delimiters of the others
    count_835_nb(buf[:size], delims[0], delims[2], -1, counts)
    esep, term, lead = (int(counts[i]) for i in (k.K_ESEP, k.K_TERM, k.K_LEAD))
    starts = np.linspace(size, n - size, SAMPLES - 1).astype(np.int64)
    sampled = size + count_samples_nb(buf, starts, size, esep, term, lead, counts)
    rows = counts[: k.K_PLB + 1]
    margin = SAMPLE_MARGIN + (0.25 if size < SAMPLE_BYTES else 0.0)
    counts[: k.K_PLB + 1] = (rows * (n / max(sampled, 1)) * margin).astype(np.int64) + 64
    return counts


def tokenize(buf: np.ndarray, file: str = "<bytes>", strict: bool = False) -> Parsed:
    """Parse the bytes of one 835 file into arrays, or raise :class:`X12Error`.

    Parameters
    ----------
    buf : numpy.ndarray of uint8
        The file's bytes.
    file : str
        Name used in error messages.
    strict : bool
        Damage inside a claim, and a wrong SE count, raise instead of costing
        that claim (a ``claim_skipped`` finding) or being a finding.

    Examples
    --------
    >>> raw = b"ST*835*1~BPR*I*10*C*CHK~CLP*E1*1*10*10~SE*4*1~"
    >>> p = tokenize(np.frombuffer(raw, np.uint8))
    >>> int(p.counts[k.K_CLM]), int(p.cl_n[k.CN_PAID, 0])
    (1, 1000)
    """
    buf = np.ascontiguousarray(buf, dtype=np.uint8)
    delims = sniff_delimiters(buf)
    if max(delims) >= 128:  # a file without ISA: ST is followed by a non-ASCII byte
        raise X12Error(
            file, 1, "ST", None,
            "the element separator after 'ST', or the segment terminator after ST02, is "
            "not a single ASCII byte: X12 delimiters are single ASCII bytes",
        )  # fmt: skip
    counts = _estimate_rows(buf, delims)
    counts[k.K_FND] = 16 + int(counts[k.K_LIN]) // 64  # findings are rare; grown below
    err = np.zeros(k.N_ERR, np.int64)
    int_dtype = np.int32 if len(buf) < 2**31 - 1 else np.int64
    while True:
        arrays = _arrays(counts, int_dtype)
        capacity = -(-counts // 16) * 16  # rows as allocated
        code = _run(buf, delims, strict, counts, err, arrays)
        if code != k.E_OK:
            raise _error(buf, file, err)
        # The parser counts every row, also those that did not fit: retry with the
        # exact numbers if any did not.
        if (counts[: k.K_FND + 1] <= capacity[: k.K_FND + 1]).all():
            break
        arrays = None
    # Rows actually used (the estimate is an upper bound).
    used = {
        "tx": k.K_TX, "cl": k.K_CLM, "li": k.K_LIN, "ad": k.K_ADJ, "re": k.K_REM,
        "pl": k.K_PLB, "fn": k.K_FND,
    }  # fmt: skip
    for name, arr in list(arrays.items()):
        if name != "present":
            arrays[name] = arr[:, : int(counts[used[name.split("_")[0]]])]
    return Parsed(buf=buf, counts=counts, **arrays)


# Every segment id the reader knows (the 835's and its envelope's). Only these are
# ever repeated in a message: anything else in segment-id position may be a
# fragment of a name or member id that damage moved there.
KNOWN_SEGMENT_IDS = frozenset(
    "ISA IEA GS GE ST SE BPR TRN CUR REF DTM N1 N2 N3 N4 PER RDM LX TS3 TS2 CLP CAS NM1 "
    "MIA MOA AMT QTY SVC LQ PLB".split()
)


def _digits(buf, s, e, limit=12) -> str | None:
    """The element as text if it is a plain count (1-``limit`` digits), else None.

    Messages quote a value only when it has been validated as closed,
    non-identifying content; a count or a transaction set id is, once it is
    all digits.
    """
    if e <= s or s < 0 or e - s > limit:
        return None
    raw = bytes(buf[s:e])
    return raw.decode("ascii") if raw.isdigit() else None


def _amount_text(buf, s, e) -> str | None:
    """The element as text if it is a decimal number (an amount), else None."""
    if e <= s or s < 0 or e - s > 18:
        return None
    raw = bytes(buf[s:e]).decode("latin-1")
    return raw if re.fullmatch(r"-?[0-9]*\.?[0-9]+", raw) else None


def segment_id_at(buf, pos):
    """The segment id starting at byte ``pos``, or None unless it is a known segment id.

    An unknown id (``'BURCK'``, ``'LIZ'``) is never repeated: damage may have
    put a name there.

    Examples
    --------
    >>> segment_id_at(np.frombuffer(b"CLP*1", np.uint8), 0)
    'CLP'
    >>> segment_id_at(np.frombuffer(b"LIZ*1", np.uint8), 0) is None
    True
    """
    out = []
    for c in bytes(buf[pos : pos + 3]):
        if chr(c).isalnum():
            out.append(chr(c))
        else:
            break
    sid = "".join(out)
    if pos + len(out) < len(buf) and chr(buf[pos + len(out)]).isalnum():
        return None  # longer than 3 characters: not a segment id at all
    return sid if sid in KNOWN_SEGMENT_IDS else None


def _error(buf, file, err) -> X12Error:
    """The X12Error for a kernel error; no element value is quoted unless validated."""
    code, seg, elem, pos, a, b, vs, ve = (int(x) for x in err)
    sid = segment_id_at(buf, pos) if seg else None
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
            "the segment id is not a segment id (2-3 upper-case letters or digits): the "
            "file is cut, or its delimiters are not the ones in its ISA",
        )  # fmt: skip
    if code == k.E_TOO_MANY_ELEMENTS:
        return X12Error(
            file,
            seg,
            sid,
            elem,
            f"{sid or 'the segment'} has too many elements (at most {elem - 1})",
        )
    if code == k.E_UNKNOWN_SEGMENT:
        return X12Error(
            file, seg, None, 0,
            "the segment id is not a segment of the 835 (005010X221A1 or 004010X091A1)",
        )  # fmt: skip
    if code == k.E_UNEXPECTED_SEGMENT:
        where = _LOOP_NAMES[a - 10] if a >= 10 else _ENV_NAMES.get(a, "here")
        if sid is None:
            return X12Error(
                file, seg, None, 0, f"the segment id is not a segment of the 835 ({where})"
            )
        return X12Error(file, seg, sid, 0, f"{sid} is not allowed {where}")
    if code == k.E_NOT_835:
        ts = _digits(buf, vs, ve, 3)
        what = f"transaction set {ts!r}" if ts else "the transaction set"
        return X12Error(file, seg, "ST", 1, f"{what} is not an 835 remittance (ST01 must be 835)")
    if code == k.E_SE_COUNT:
        said = _digits(buf, vs, ve)
        says = f"SE01 says {said!r} segments" if said else "SE01 is not a segment count"
        return X12Error(
            file, seg, "SE", 1,
            f"{says} but the transaction set starting at segment {b} has {a}: segments are "
            "missing or extra",
        )  # fmt: skip
    if code in (k.E_SE_CONTROL, k.E_GE_CONTROL, k.E_IEA_CONTROL):
        opener = {k.E_SE_CONTROL: "ST02", k.E_GE_CONTROL: "GS06", k.E_IEA_CONTROL: "ISA13"}
        return X12Error(
            file, seg, sid, elem,
            f"the control number does not match {opener[code]} (values withheld: damage may "
            "have put other text there)",
        )  # fmt: skip
    if code == k.E_GE_COUNT:
        said = _digits(buf, vs, ve)
        says = f"GE01 says {said!r} transaction sets" if said else "GE01 is not a count"
        return X12Error(file, seg, "GE", 1, f"{says} but the group opened at segment {b} has {a}")
    if code == k.E_IEA_COUNT:
        said = _digits(buf, vs, ve)
        says = f"IEA01 says {said!r} functional groups" if said else "IEA01 is not a count"
        return X12Error(
            file, seg, "IEA", 1, f"{says} but the interchange opened at segment {b} has {a}"
        )
    if code == k.E_TRUNCATED:
        what = {
            3: "a transaction set (no SE)",
            2: "a functional group (no GE)",
            1: "an interchange (no IEA)",
        }.get(a, "an envelope")
        return X12Error(
            file, seg, sid, elem,
            f"the file ends inside {what}: it is truncated; nothing was read",
        )  # fmt: skip
    if code == k.E_MISSING:
        return X12Error(file, seg, sid, element, "a required element is empty")
    if code == k.E_NUMBER:
        return X12Error(
            file, seg, sid, element,
            "the value is not a number (amounts are decimal dollars like 123.45)",
        )  # fmt: skip
    if code == k.E_SUBCENT:
        amount = _amount_text(buf, vs, ve)
        what = repr(amount) if amount else "the amount"
        return X12Error(
            file, seg, sid, element,
            f"{what} has fractions of a cent; money is read exactly, in cents",
        )  # fmt: skip
    if code == k.E_QUANTITY:
        return X12Error(file, seg, sid, element, "the value is not a quantity (a decimal number)")
    return X12Error(file, seg, sid, element, f"internal parser error {code}")  # pragma: no cover


_DELIMITERS = {
    k.D_ELEMENT: ("the element separator (the byte after 'ISA')", None),
    k.D_REPETITION: ("the repetition separator ISA11", 11),
    k.D_COMPONENT: ("the component separator ISA16", 16),
    k.D_TERMINATOR: ("the segment terminator (the byte after ISA16)", None),
}


def delimiter_error(file, segment_number, which: int, offset: int, byte: int) -> X12Error:
    """The error for an ISA delimiter that is not a single ASCII byte.

    ``which`` is a ``D_*`` code of the kernel layout, ``offset`` the 1-based
    byte of the ISA segment, ``byte`` its value.

    Examples
    --------
    >>> str(delimiter_error("a.835", 1, k.D_COMPONENT, 105, 0xE9))[:62]
    'a.835: segment 1 (ISA), element ISA16: the component separator'
    """
    name, element = _DELIMITERS[which]
    return X12Error(
        file, segment_number, "ISA", element,
        f"{name}, byte {offset} of the ISA, is 0x{byte:02X}: X12 delimiters are single "
        "ASCII bytes (not a byte above 0x7F, nor a character such as 'é' or '€' that "
        "takes several bytes in UTF-8)",
    )  # fmt: skip


_SKIP_REASONS = {
    k.E_MISSING: "a required element is empty",
    k.E_NUMBER: "an amount is not a number",
    k.E_SUBCENT: "an amount has fractions of a cent",
    k.E_QUANTITY: "a quantity is not a number",
    k.E_TOO_MANY_ELEMENTS: "the segment has too many elements",
    k.E_UNKNOWN_SEGMENT: "a segment that is not of the 835",
    k.E_UNEXPECTED_SEGMENT: "a segment out of place in the claim",
    k.E_SEGMENT_ID: "a segment without a valid segment id",
}


def claim_skipped_message(segment_id, element, error_code: int, clp_segment: int) -> str:
    """Message of a ``claim_skipped`` finding: where, what, and which claim (no values).

    Examples
    --------
    >>> claim_skipped_message("CLP", 3, k.E_MISSING, 40)[:44]
    'CLP03: a required element is empty; the clai'
    """
    where = f"{segment_id or 'segment'}{element:02d}" if element else segment_id or "segment"
    reason = _SKIP_REASONS.get(error_code, "damaged")
    return (
        f"{where}: {reason}; the claim whose CLP is segment {clp_segment} was left out (its "
        "lines, adjustments and payment are in no table) and the rest of the file was read"
    )
