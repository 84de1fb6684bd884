"""The exception the 835 reader raises on input it cannot read."""

from __future__ import annotations

__all__ = ["X12Error"]


class X12Error(ValueError):
    """An X12 file that cannot be read (or, with ``strict=True``, has a finding).

    The message names the file, the segment number (1-based, counted from the
    start of the file), the segment id and the element position, and says what
    is wrong. The same facts are attributes, so code can react to them. No
    value is quoted unless validated as a count, an amount or a known code, and
    ``segment_id`` is None unless it is a segment id the reader knows: damage
    can move a patient's name anywhere.

    Attributes
    ----------
    file : str
        File name (``"<bytes>"`` for in-memory input).
    segment_number : int or None
        1-based position of the segment in the file.
    segment_id : str or None
        Segment id, e.g. ``"CLP"``.
    element : int or None
        Element position within the segment (``CLP04`` is 4); 0 when the
        segment itself is at fault (an unknown or misplaced segment).
    reason : str
        What is wrong, in words.

    Examples
    --------
    >>> err = X12Error("a.835", 12, "CLP", 4, "the value is not a number")
    >>> str(err)
    'a.835: segment 12 (CLP), element CLP04: the value is not a number'
    >>> err.element
    4
    """

    def __init__(self, file, segment_number=None, segment_id=None, element=None, reason=""):
        self.file = str(file)
        self.segment_number = segment_number
        self.segment_id = segment_id
        self.element = element
        self.reason = reason
        where = self.file
        if segment_number is not None:
            where += f": segment {segment_number} ({segment_id or '?'})"
        if element == 0:
            where += ", element 0 (the segment id)"
        elif element is not None:
            where += f", element {segment_id or ''}{element:02d}"
        super().__init__(f"{where}: {reason}")

    def __reduce__(self):
        args = (self.file, self.segment_number, self.segment_id, self.element, self.reason)
        return (type(self), args)
