"""``write_835``: remittances back to X12 835 text that ``read_835`` reads identically.

Everything the reader keeps is written (and nothing else), so
``read_835(write_835(r))`` gives the same tables as ``r`` when ``r`` came from
``read_835`` or a builder (see ``tests/test_x12_roundtrip.py``). Identifiers
are written only when present: a claim with only a ``patient_key`` gets
``NM1*QC*1******MI*<key>``, which the reader keeps as the key.

What the reader does not keep is not invented: payer and payee addresses
(N3/N4), the bank details of ACH payments (BPR05-15) and contact segments are
left out, so the text is valid X12 and balances, but it is not a complete
implementation-guide 835 for a payment network.

How: the tables become columns (``write_columns``: text as bounds into one byte
pool, cents and day numbers as int64, the nesting as row lists) and one compiled
pass writes every transaction into one buffer (``_kernels/x12/emit_835.py``);
Python writes only the ISA/GS envelopes, one per run of transactions. The
writer this replaced (one Python step per segment, ~150 us a claim) is kept as
``tests/reference_write_835.py``, and the two are compared byte for byte.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit._kernels.x12.emit_835 import emit_835_nb
from ledgerkit.core.arrow import string_buffers
from ledgerkit.x12.remittances import Remittances
from ledgerkit.x12.write_columns import DEFAULT_VERSION, kernel_arguments

__all__ = ["write_835", "format_835"]


def _money(c: int) -> str:
    sign = "-" if c < 0 else ""
    c = -c if c < 0 else c
    whole, cents = divmod(c, 100)
    if cents == 0:
        return f"{sign}{whole}"
    if cents % 10 == 0:
        return f"{sign}{whole}.{cents // 10}"
    return f"{sign}{whole}.{cents:02d}"


@functools.lru_cache(maxsize=4096)
def _date(d) -> str:
    return "" if d is None else f"{d.year:04d}{d.month:02d}{d.day:02d}"


_JOINED = ("modifiers", "original_modifiers", "reference")  # ':'-joined components


def _holds_any(column: pa.ChunkedArray, chars: str) -> bool:
    """Whether any byte of the column's text is one of ``chars`` (ASCII): a byte scan."""
    wanted = np.zeros(256, bool)
    wanted[list(chars.encode())] = True
    for chunk in column.chunks:
        offsets, data = string_buffers(chunk)
        if wanted[data[offsets[0] : offsets[-1]]].any():
            return True
    return False


def _check_text(r: Remittances, forbidden: str) -> None:
    for name, table in r.tables.items():
        if name == "findings":
            continue
        for col in table.column_names:
            if col == "file" or not pa.types.is_string(table.schema.field(col).type):
                continue
            chars = forbidden.replace(":", "") if col in _JOINED else forbidden
            if not _holds_any(table.column(col), chars):
                continue
            pattern = "[" + "".join("\\" + c for c in chars) + "]"
            hit = pc.match_substring_regex(table.column(col), pattern)
            if pc.any(hit).as_py():
                row = pc.index(hit, True).as_py()
                raise ValueError(
                    f"{name}.{col} row {row} contains a delimiter ({forbidden!r}); "
                    "write with other separators (element_separator=..., ...)"
                )


# Code columns an 835 cannot do without; read_835 leaves them null when the file held
# something that was not a code (an invalid_code finding).
_REQUIRED_CODES = {
    "claims": "status_code",
    "adjustments": ("group_code", "carc"),
    "remarks": "code",
    "provider_adjustments": "reason_code",
}


def _check_required_codes(r: Remittances) -> None:
    for name, cols in _REQUIRED_CODES.items():
        table = getattr(r, name)
        for col in (cols,) if isinstance(cols, str) else cols:
            if table.num_rows and table.column(col).null_count:
                row = pc.index(pc.is_null(table.column(col)), True).as_py()
                raise ValueError(
                    f"{name}.{col} row {row} is null (read_835 withholds a value that is not "
                    "a valid code: see its invalid_code findings); an 835 needs one"
                )


# Values an 835 cannot be written without (the schema's non-null columns that are written).
_REQUIRED_VALUES = {
    "transactions": ("st_control",),
    "claims": ("encounter_id", "charge_cents", "paid_cents"),
    "adjustments": ("amount_cents",),
    "provider_adjustments": ("provider_id", "amount_cents"),
}


def _check_required_values(r: Remittances) -> None:
    for name, cols in _REQUIRED_VALUES.items():
        table = getattr(r, name)
        for col in cols:
            if table.num_rows and table.column(col).null_count:
                row = pc.index(pc.is_null(table.column(col)), True).as_py()
                raise ValueError(f"{name}.{col} row {row} is null; an 835 needs a value there")


def _seg(element: str, end: str, *elements) -> str:
    """One segment; trailing empty elements are dropped."""
    els = list(elements)
    while len(els) > 1 and els[-1] == "":
        els.pop()
    return element.join(els) + end


def _run_starts(table: pa.Table, keys: tuple) -> np.ndarray:
    """True where a row's ``keys`` differ from the row before (nulls equal each other)."""
    starts = np.zeros(table.num_rows, bool)
    starts[:1] = True
    for key in keys:
        column = table.column(key).combine_chunks()
        codes = pc.dictionary_encode(column, null_encoding="encode").indices
        codes = codes.to_numpy(zero_copy_only=False)
        starts[1:] |= codes[1:] != codes[:-1]
    return starts


def format_835(
    r: Remittances,
    *,
    element_separator: str = "*",
    component_separator: str = ":",
    repetition_separator: str = "^",
    segment_terminator: str = "~",
    newline: bool = True,
) -> bytes:
    """The 835 text of ``r`` as bytes (see :func:`write_835`).

    The transactions are written by one compiled pass over the tables' columns
    (``ledgerkit._kernels.x12.emit_835``); only the interchange and group
    envelopes (ISA/GS .. GE/IEA, one per run of transactions) are Python.

    Examples
    --------
    >>> from ledgerkit.x12 import read_835
    >>> r = read_835(b"ST*835*1~BPR*I*10*C*CHK************20250101~CLP*E1*1*10*10~SE*4*1~")
    >>> text = format_835(r, newline=False)
    >>> text[:3], text.count(b"~CLP*E1*1*10*10~")
    (b'ISA', 1)
    """
    pieces = _pieces(
        r,
        element_separator=element_separator,
        component_separator=component_separator,
        repetition_separator=repetition_separator,
        segment_terminator=segment_terminator,
        newline=newline,
    )
    return b"".join(pieces)


def _pieces(
    r: Remittances,
    *,
    element_separator: str = "*",
    component_separator: str = ":",
    repetition_separator: str = "^",
    segment_terminator: str = "~",
    newline: bool = True,
) -> list:
    """The 835 text in pieces (bytes and views of the kernel's buffer), checked first."""
    E, C, T = element_separator, component_separator, segment_terminator
    seps = {E, C, T, repetition_separator}
    if len(seps) != 4 or any(len(s) != 1 or s.isalnum() or not s.isascii() for s in seps):
        raise ValueError(
            "separators must be four different single non-alphanumeric ASCII characters"
        )
    _check_text(r, "".join(sorted(seps)))
    _check_required_codes(r)
    _check_required_values(r)
    end = T + ("\n" if newline and T != "\n" else "")
    body, tx_end = _transactions(r, E, C, end)
    tx = r.transactions
    isa_starts = _run_starts(tx, ("isa_control", "isa_sender", "isa_receiver"))
    gs_starts = isa_starts | _run_starts(tx, ("gs_control", "gs_sender", "gs_receiver"))
    groups = np.flatnonzero(gs_starts)
    heads = tx.select(_ENVELOPE).take(pa.array(groups, pa.int64())).to_pylist()
    bounds = np.append(tx_end, 0)  # bounds[t - 1] is where transaction t starts; [-1] is 0
    today = dt.datetime.now().date()
    out: list = []
    n_isa = 0
    for i, g in enumerate(groups):
        if isa_starts[g]:
            n_isa += 1
            isa = _isa(out, heads[i], n_isa, E, end, repetition_separator, C, today)
            n_gs = 0
        n_gs += 1
        g_end = int(groups[i + 1]) if i + 1 < groups.size else tx.num_rows
        gs_ctl = _gs(out, heads[i], isa, n_gs, E, end, today)
        out.append(body[int(bounds[g - 1]) : int(bounds[g_end - 1])])
        out.append(_seg(E, end, "GE", str(g_end - g), gs_ctl).encode())
        if g_end == tx.num_rows or isa_starts[g_end]:
            out.append(_seg(E, end, "IEA", str(n_gs), isa["control"]).encode())
    return out


_ENVELOPE = [
    "isa_control", "isa_sender", "isa_receiver", "version", "gs_date", "gs_sender",
    "gs_receiver", "gs_control",
]  # fmt: skip


def _transactions(r: Remittances, E: str, C: str, end: str) -> tuple[memoryview, np.ndarray]:
    """Every ST .. SE, one after another, and the byte where each transaction ends."""
    args, guess = kernel_arguments(r, C)
    seps = np.frombuffer((E + C).encode(), np.uint8)
    term = np.frombuffer(end.encode(), np.uint8)
    tx_end = np.zeros(r.transactions.num_rows, np.int64)
    out = np.empty(guess, np.uint8)
    size = emit_835_nb(out, tx_end, seps, term, *args)
    if size > out.size:  # the guess was short: write again into the exact size
        out = np.empty(size, np.uint8)
        emit_835_nb(out, tx_end, seps, term, *args)
    return memoryview(out)[:size], tx_end


def _isa(out: list, head: dict, n_isa: int, E: str, end: str, rep: str, C: str, today) -> dict:
    """ISA of the interchange that starts with the transaction ``head``; its fields."""
    ctl = head["isa_control"] or f"{n_isa:09d}"
    if not (len(ctl) == 9 and ctl.isdigit()):
        ctl = ctl.zfill(9) if ctl.isdigit() and len(ctl) < 9 else f"{n_isa:09d}"
    version = head["version"] or DEFAULT_VERSION
    is4010 = version.startswith("004010")
    gs_date = head["gs_date"] or today
    sender = (head["isa_sender"] or "LEDGERKIT")[:15]
    receiver = (head["isa_receiver"] or "RECEIVER")[:15]
    out.append(_seg(
        E, end, "ISA", "00", " " * 10, "00", " " * 10, "ZZ", f"{sender:<15}", "ZZ",
        f"{receiver:<15}", gs_date.strftime("%y%m%d"), "0000",
        "U" if is4010 else rep, "00401" if is4010 else "00501",
        ctl, "0", "P", C,
    ).encode())  # fmt: skip
    return {"control": ctl, "sender": sender, "receiver": receiver}


def _gs(out: list, head: dict, isa: dict, n_gs: int, E: str, end: str, today) -> str:
    """GS of the group that starts with the transaction ``head``; its control number."""
    gs_ctl = head["gs_control"] or str(n_gs)
    out.append(_seg(
        E, end, "GS", "HP", head["gs_sender"] or isa["sender"],
        head["gs_receiver"] or isa["receiver"], _date(head["gs_date"] or today), "0000",
        gs_ctl, "X", head["version"] or DEFAULT_VERSION,
    ).encode())  # fmt: skip
    return gs_ctl


def write_835(remittances: Remittances, path, **options) -> Path:
    """Write remittances as one X12 835 file (one ISA/GS per interchange/group).

    Parameters
    ----------
    remittances : Remittances
    path : str or os.PathLike
        File to write (overwritten).
    **options
        ``element_separator`` ("*"), ``component_separator`` (":"),
        ``repetition_separator`` ("^"), ``segment_terminator`` ("~"),
        ``newline`` (True: a line break after each segment).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        A text value contains one of the separators (choose others), or the
        separators are not four distinct non-alphanumeric characters.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ledgerkit.x12 import read_835
    >>> raw = b"ST*835*1~BPR*I*10*C*CHK************20250101~CLP*E1*1*10*10~SE*4*1~"
    >>> r = read_835(raw)
    >>> path = write_835(r, pathlib.Path(tempfile.mkdtemp()) / "out.835")
    >>> read_835(path).claims.equals(r.claims)
    True
    """
    path = Path(os.fspath(path))
    pieces = _pieces(remittances, **options)  # every check passed before the file is opened
    with open(path, "wb") as f:
        for piece in pieces:
            f.write(piece)
    return path
