"""The bytes of an 835 before the tokenizer: ASCII delimiters, UTF-8 text.

X12 delimiters are single ASCII bytes: :func:`check_isa_delimiters` refuses a
file whose ISA says otherwise (before any byte is reinterpreted, so the error
names the byte of the file's own ISA). :func:`as_utf8` makes the bytes valid
UTF-8, so every string column of every table is, whatever the file holds:

- valid UTF-8 is kept as it is (an element holding "é" reads "é");
- every other byte 0x80-0xFF is read as Latin-1, one character per byte
  (0xE9 reads "é"): 835 files from older systems are Latin-1 or Windows-1252.

This is the same in every element. Elements with closed content are then
checked as usual: such a byte makes an amount, quantity or count "not a
number", and a date invalid, like any other stray character.
"""

from __future__ import annotations

import codecs

import numpy as np

from ledgerkit._kernels.x12 import layout as k
from ledgerkit.x12.errors import X12Error
from ledgerkit.x12.tokenize import delimiter_error

__all__ = ["as_utf8", "check_isa_delimiters", "check_x12_start"]


def _latin1(err: UnicodeDecodeError):
    return err.object[err.start : err.end].decode("latin-1"), err.end


codecs.register_error("ledgerkit.latin1", _latin1)


def _has_high_bytes(buf: np.ndarray) -> bool:
    m = len(buf) // 8 * 8
    if m and np.bitwise_or.reduce(buf[:m].view(np.uint64)) & np.uint64(0x8080808080808080):
        return True
    return bool(len(buf) > m and (buf[m:] >= 128).any())


def as_utf8(buf: np.ndarray) -> np.ndarray:
    """The bytes as valid UTF-8: UTF-8 sequences kept, any other high byte read as Latin-1.

    Examples
    --------
    >>> raw = "CAFÉ ".encode() + b"M\\xdcLLER"
    >>> bytes(as_utf8(np.frombuffer(raw, np.uint8))).decode()
    'CAFÉ MÜLLER'
    """
    if not _has_high_bytes(buf):
        return buf
    raw = buf.tobytes()
    try:
        raw.decode("utf-8")
        return buf
    except UnicodeDecodeError:
        fixed = raw.decode("utf-8", "ledgerkit.latin1").encode("utf-8")
        return np.frombuffer(fixed, np.uint8)


def check_isa_delimiters(buf: np.ndarray, file: str) -> None:
    """Raise :class:`~ledgerkit.x12.X12Error` if the file's ISA has a non-ASCII delimiter.

    Checks the element separator (ISA byte 4), the repetition separator ISA11,
    the component separator ISA16 and the segment terminator after it. An ISA
    broken in any other way is left to the tokenizer, which says how.

    Examples
    --------
    >>> isa = b"ISA\\xe900"  # 0xE9 as the element separator
    >>> check_isa_delimiters(np.frombuffer(isa, np.uint8), "a.835")
    Traceback (most recent call last):
    ...
    ledgerkit.x12.errors.X12Error: a.835: segment 1 (ISA): the element separator (the byte \
after 'ISA'), byte 4 of the ISA, is 0xE9: X12 delimiters are single ASCII bytes (not a byte \
above 0x7F, nor a character such as 'é' or '€' that takes several bytes in UTF-8)
    """
    head = bytes(buf[:1024])
    start = len(head) - len(head.lstrip(b"\xef\xbb\xbf").lstrip())
    if head[start : start + 3] != b"ISA" or len(head) < start + 4:
        return
    esep = head[start + 3]
    if esep >= 128:
        raise delimiter_error(file, 1, k.D_ELEMENT, 4, esep)
    seps = []
    for i in range(start + 3, len(head)):
        c = head[i]
        if c in (10, 13) or len(seps) == 16:
            break
        if c == esep:
            seps.append(i)
    if len(seps) < 16 or seps[15] + 2 >= len(head):
        return  # broken otherwise: the tokenizer says how
    for i in range(seps[10] + 1, seps[11]):
        if head[i] >= 128:
            raise delimiter_error(file, 1, k.D_REPETITION, i - start + 1, head[i])
    at = seps[15] + 1
    for which, i in ((k.D_COMPONENT, at), (k.D_TERMINATOR, at + 1)):
        if head[i] >= 128:
            raise delimiter_error(file, 1, which, i - start + 1, head[i])


_X12_STARTS = (b"ISA", b"GS", b"ST")


def check_x12_start(buf: np.ndarray, file: str) -> None:
    """Raise :class:`~ledgerkit.x12.X12Error` unless the file begins like an X12 file.

    An X12 file begins (after a byte-order mark or blank lines) with an ISA
    segment, or GS or ST for a file without its envelope, followed by the
    element separator. A README, a CSV or a PDF given as an 835 is refused
    here, with words that say so, before the tokenizer reads it. An empty file
    is left to the tokenizer.

    Examples
    --------
    >>> check_x12_start(np.frombuffer(b"ISA*00*", np.uint8), "a.835")
    >>> check_x12_start(np.frombuffer(b"# Remits", np.uint8), "README.md")
    Traceback (most recent call last):
    ...
    ledgerkit.x12.errors.X12Error: README.md: not an X12 file: it does not begin with an ISA \
segment (nor GS or ST); is it the file you meant?
    """
    head = bytes(buf[:64]).lstrip(b"\xef\xbb\xbf").lstrip()
    if not head:
        return
    for start in _X12_STARTS:
        n = len(start)
        # a delimiter follows (a non-ASCII one is check_isa_delimiters' or the tokenizer's)
        if head.startswith(start) and len(head) > n and not bytes(head[n : n + 1]).isalnum():
            return
    raise X12Error(
        file, None, None, None,
        "not an X12 file: it does not begin with an ISA segment (nor GS or ST); is it the "
        "file you meant?",
    )  # fmt: skip
