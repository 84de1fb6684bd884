"""Byte writers for the X12 writers' kernels: digits, money, dates, elements.

Everything writes at ``pos`` into a uint8 ``out`` and returns the position after
it; bytes past the end of ``out`` are counted, not written, so a caller can size
``out`` from the returned length when its first guess was short.

Elements: an empty element only counts a separator owed (``owed``), which is
written before the next non-empty one, so trailing empty elements vanish as X12
wants. Text is a ``[start, end)`` span of a byte ``pool`` (an empty span is an
absent value); numbers are int64 with :data:`NULL` for an absent value.
"""

from __future__ import annotations

import numpy as np

from ledgerkit._kernels.x12.jit import helper

NULL = np.iinfo(np.int64).min  # an absent number (cents, day number)

# Compiled without reference counting (they allocate nothing), as the reader's steps
# (parse.py): with it, every array a writer gets was counted in and out on each call,
# ~40 ns a call, 10x the work. Not forceinline: LLVM inlines what pays anyway, and
# forcing it into every segment writer made the kernel take minutes to compile.
# Helpers, not @njit: called with constants (literal_el with a literal's index) an
# @njit function compiled once per value (19 literal_el's, 5.6 s of `ledgerkit warm`).
writer = helper(nrt=False)


@writer
def put_byte(out, pos, b):
    if pos < out.size:
        out[pos] = b
    return pos + 1


@writer
def put_span(out, pos, pool, a, b):
    if pos + (b - a) <= out.size:
        for k in range(a, b):
            out[pos + k - a] = pool[k]
    return pos + (b - a)


@writer
def put_digits(out, pos, v):
    """The decimal digits of ``v >= 0``."""
    n = 1
    x = v // 10
    while x > 0:
        n += 1
        x //= 10
    end = pos + n
    if end <= out.size:
        for k in range(end - 1, pos - 1, -1):
            out[k] = 48 + v % 10
            v //= 10
    return end


@writer
def _two(out, pos, v):
    pos = put_byte(out, pos, 48 + v // 10)
    return put_byte(out, pos, 48 + v % 10)


@writer
def money_text(out, pos, cents):
    """Cents as X12 decimal: no point for whole amounts, no trailing zero (-1.5, 12, 0.05)."""
    if cents < 0:
        pos = put_byte(out, pos, 45)
        cents = -cents
    pos = put_digits(out, pos, cents // 100)
    c = cents % 100
    if c == 0:
        return pos
    pos = put_byte(out, pos, 46)
    if c % 10 == 0:
        return put_byte(out, pos, 48 + c // 10)
    return _two(out, pos, c)


@writer
def date_text(out, pos, days):
    """Days since 1970-01-01 as CCYYMMDD (the proleptic Gregorian civil date)."""
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    pos = _two(out, pos, year // 100)
    pos = _two(out, pos, year % 100)
    pos = _two(out, pos, month)
    return _two(out, pos, day)


@writer
def put_owed(out, pos, owed, sep):
    for _ in range(owed + 1):
        pos = put_byte(out, pos, sep)
    return pos


@writer
def text_el(out, pos, owed, sep, pool, a, b):
    """One text element; an empty one is only owed."""
    if a == b:
        return pos, owed + 1
    return put_span(out, put_owed(out, pos, owed, sep), pool, a, b), 0


@writer
def literal_el(out, pos, owed, sep, pool, lit, k):
    return text_el(out, pos, owed, sep, pool, lit[k, 0], lit[k, 1])


@writer
def money_el(out, pos, owed, sep, cents):
    if cents == NULL:
        return pos, owed + 1
    return money_text(out, put_owed(out, pos, owed, sep), cents), 0


@writer
def date_el(out, pos, owed, sep, days):
    if days == NULL:
        return pos, owed + 1
    return date_text(out, put_owed(out, pos, owed, sep), days), 0


@writer
def end_segment(out, pos, term):
    for k in range(term.size):
        pos = put_byte(out, pos, term[k])
    return pos


@writer
def same_text(pool, a0, b0, a1, b1):
    if b0 - a0 != b1 - a1:
        return False
    for k in range(b0 - a0):
        if pool[a0 + k] != pool[a1 + k]:
            return False
    return True
