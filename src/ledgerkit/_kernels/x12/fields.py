"""Element values read from the bytes: amounts in cents, decimals, integers, dates, literals.

Each reader takes the file and the element's (start, end) byte offsets and
returns a status with the value: nothing is allocated and nothing is copied.
"""

from __future__ import annotations

import numpy as np

from ledgerkit._kernels._njit import njit
from ledgerkit._kernels.x12.jit import helper


# Helpers are plain @njit functions, not inline="always": Numba IR inlining copied
# each helper into every call site (about 150 of them in parse_835_nb) and type
# checked every copy, which was most of the tokenizer's compile time. As calls,
# LLVM still inlines them and Numba's reference-count pruning removes the array
# increfs; measured on the 26 MB benchmark file (numba 0.68): first tokenize in
# a fresh process with an empty cache ~42 s -> ~20 s CPU, parse 0.072 -> 0.064 s.
@njit
def is_alnum(c):
    return (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122)


@njit
def is_ws(c):
    return c == 32 or c == 9 or c == 10 or c == 13


@njit
def skip_ws(buf, p, n):
    while p < n and is_ws(buf[p]):
        p += 1
    return p


@njit
def parse_cents(buf, s, e):
    """(status, cents): 0 ok, 1 empty, 2 not a number, 3 finer than a cent."""
    if s >= e:
        return 1, 0
    i = s
    neg = False
    if buf[i] == 45:  # '-'
        neg = True
        i += 1
    elif buf[i] == 43:  # '+'
        i += 1
    v = 0
    nd = 0
    frac = -1
    while i < e:
        c = buf[i]
        if 48 <= c <= 57:
            if frac >= 2:
                if c != 48:
                    return 3, 0
            else:
                if frac >= 0:
                    frac += 1
                v = v * 10 + (c - 48)
                nd += 1
                if nd > 17:
                    return 2, 0
        elif c == 46 and frac < 0:
            frac = 0
        else:
            return 2, 0
        i += 1
    if nd == 0:
        return 2, 0
    if frac <= 0:
        v *= 100
    elif frac == 1:
        v *= 10
    return 0, -v if neg else v


@njit
def parse_decimal(buf, s, e):
    """(status, value) of an X12 R (decimal) element: 0 ok, 1 empty, 2 not a number."""
    if s >= e:
        return 1, np.nan
    i = s
    neg = False
    if buf[i] == 45:
        neg = True
        i += 1
    elif buf[i] == 43:
        i += 1
    v = 0
    nd = 0
    frac = -1
    while i < e:
        c = buf[i]
        if 48 <= c <= 57:
            if nd < 18:
                v = v * 10 + (c - 48)
                nd += 1
                if frac >= 0:
                    frac += 1
            elif frac < 0:
                return 2, np.nan
        elif c == 46 and frac < 0:
            frac = 0
        else:
            return 2, np.nan
        i += 1
    if nd == 0:
        return 2, np.nan
    x = float(v)
    if frac > 0:
        x = x / 10.0**frac
    return 0, -x if neg else x


@helper
def parse_uint(buf, s, e):
    """A non-negative integer element, or -1."""
    if s >= e or e - s > 18:
        return -1
    v = 0
    for i in range(s, e):
        c = buf[i]
        if c < 48 or c > 57:
            return -1
        v = v * 10 + (c - 48)
    return v


@njit
def days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date."""
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit
def parse_date(buf, s, e):
    """(status, days) of a CCYYMMDD element: 0 ok, 1 empty, 2 invalid."""
    if s >= e:
        return 1, 0
    if e - s != 8:
        return 2, 0
    v = parse_uint(buf, s, e)
    if v < 0:
        return 2, 0
    y = v // 10000
    m = (v // 100) % 100
    d = v % 100
    if y < 1800 or y > 2999 or m < 1 or m > 12 or d < 1:
        return 2, 0
    if m == 2:
        leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
        md = 29 if leap else 28
    elif m == 4 or m == 6 or m == 9 or m == 11:
        md = 30
    else:
        md = 31
    if d > md:
        return 2, 0
    return 0, days_from_civil(y, m, d)


@helper
def same_value(buf, s1, e1, s2, e2):
    """Two byte spans are equal (as numbers when both are digits)."""
    a = parse_uint(buf, s1, e1)
    b = parse_uint(buf, s2, e2)
    if a >= 0 and b >= 0:
        return a == b
    if e1 - s1 != e2 - s2:
        return False
    for k in range(e1 - s1):
        if buf[s1 + k] != buf[s2 + k]:
            return False
    return True


@helper
def is_literal(buf, s, e, a, b, c):
    """The span is the 1-3 byte literal a, b, c (c = 0 for two bytes, b = c = 0 for one)."""
    n = 1 if b == 0 else (2 if c == 0 else 3)
    if e - s != n:
        return False
    if buf[s] != a:
        return False
    if n > 1 and buf[s + 1] != b:
        return False
    if n > 2 and buf[s + 2] != c:
        return False
    return True


@njit
def trim_right(buf, s, e):
    while e > s and buf[e - 1] == 32:
        e -= 1
    return e


@njit
def segment_tag(buf, s, e):
    """Packed id of a 2-3 character alphanumeric segment id, or -1."""
    if e - s < 2 or e - s > 3:
        return -1
    v = 0
    for i in range(s, e):
        c = buf[i]
        if not (48 <= c <= 57 or 65 <= c <= 90):
            return -1
        v = (v << 8) | c
    return v
