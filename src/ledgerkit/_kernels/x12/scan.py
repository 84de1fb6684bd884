"""Segment and element boundaries, the ISA header, and row estimates before the parse.

``count_835_nb`` and ``count_samples_nb`` estimate the rows of each table so
the wrapper can allocate before ``parse_835_nb`` runs.
"""

from __future__ import annotations

import numpy as np

from ledgerkit._kernels._njit import njit
from ledgerkit._kernels.x12.fields import is_alnum, is_ws, parse_uint, skip_ws
from ledgerkit._kernels.x12.layout import (
    D_COMPONENT,
    D_ELEMENT,
    D_REPETITION,
    D_TERMINATOR,
    ISA_OUT,
    K_ADJ,
    K_CLM,
    K_ESEP,
    K_LEAD,
    K_LIN,
    K_PLB,
    K_REM,
    K_SEG,
    K_TERM,
    K_TX,
    MAXE,
    N_K,
)


@njit
def split_elements(buf, p, n, esep, t1, t2, eb_s, eb_e):
    """Element boundaries of the segment starting at p: (next position, n elements).

    One pass over the segment's bytes, ending at a terminator (``t1`` or
    ``t2``: both are the segment terminator, or CR and LF when it is a line
    break). The element count includes the segment id as element 0; -1 when
    there are more than MAXE elements. A plain byte loop here, inside the
    parse loop, was ~3x faster than locating all delimiters of a block first.
    """
    ne = 0
    eb_s[0] = p
    i = p
    while i < n:
        c = buf[i]
        if c == esep:
            eb_e[ne] = i
            ne += 1
            if ne >= MAXE:
                return i + 1, -1
            eb_s[ne] = i + 1
        elif c == t1 or c == t2:
            eb_e[ne] = i
            return i + 1, ne + 1
        i += 1
    eb_e[ne] = n
    return n, ne + 1


@njit
def lead_after(buf, i, n, esep, comp):
    """The byte that starts every segment after a line-break terminator, or -1.

    Some files put the line break before the real terminator, so each segment
    after the ISA reads ``~GS*...``: the ISA's terminator byte is then the line
    break and ``~`` leads the next segment. ``i`` is just after that line break;
    the lead is a punctuation byte followed by a segment id.
    """
    i = skip_ws(buf, i, n)
    if i + 1 >= n:
        return -1
    c = buf[i]
    if c >= 128 or is_alnum(c) or is_ws(c) or c == esep or c == comp:
        return -1
    return c if is_alnum(buf[i + 1]) else -1


@njit
def skip_segment(buf, p, n, t1, t2):
    """The position after the next terminator (``t1`` or ``t2``) from ``p``, or ``n``."""
    while p < n:
        c = buf[p]
        p += 1
        if c == t1 or c == t2:
            break
    return p


@njit
def parse_isa(buf, p, n, eb_s, eb_e, out):
    """Read the ISA at p. Returns 0, the (1-based) ISA element at fault, or minus a
    ``D_*`` code: that delimiter is not a single ASCII byte (X12 requires one).

    out (``ISA_OUT`` slots): element separator, repetition separator (-1 none),
    component separator, segment terminator, next position, fixed-width flag (0 =
    the standard 106 bytes), lead byte of the next segments (-1 none, see
    ``lead_after``).
    """
    if p + 4 > n:
        return 1
    esep = buf[p + 3]
    if esep >= 128:
        return -D_ELEMENT
    if is_alnum(esep) or is_ws(esep):
        return 1
    eb_s[0] = p
    eb_e[0] = p + 3
    cnt = 0
    i = p + 3
    while i < n and cnt < 16:
        c = buf[i]
        if c == esep:
            if cnt > 0:
                eb_e[cnt] = i
            cnt += 1
            eb_s[cnt] = i + 1
        elif c == 10 or c == 13:
            return cnt if cnt > 0 else 1
        i += 1
    if cnt < 16 or i + 1 >= n:
        return max(cnt, 1)
    # i is just after the 16th separator: ISA16, then the terminator.
    comp = buf[i]
    term = buf[i + 1]
    eb_e[16] = i + 1
    for j in range(eb_s[11], eb_e[11]):
        if buf[j] >= 128:
            return -D_REPETITION
    if comp >= 128:
        return -D_COMPONENT
    if term >= 128:
        return -D_TERMINATOR
    if is_alnum(comp) or comp == esep or is_ws(comp):
        return 16
    if is_alnum(term) or term == esep or term == comp or term == 32:
        return 16
    # Fixed-size elements.
    widths = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
    fixed = 1
    for k in range(1, 17):
        w = eb_e[k] - eb_s[k]
        if w != widths[k - 1]:
            fixed = 0
        for j in range(eb_s[k], eb_e[k]):
            if buf[j] == term:
                return k
    for k in (9, 10, 13):
        if parse_uint(buf, eb_s[k], eb_e[k]) < 0 or eb_e[k] - eb_s[k] != widths[k - 1]:
            return k
    for k in (12, 14, 15):
        if eb_e[k] - eb_s[k] != widths[k - 1]:
            return k
    rep = -1
    if eb_e[11] - eb_s[11] == 1:
        r = buf[eb_s[11]]
        if not is_alnum(r) and r != esep and r != comp and r != term:
            rep = r
    out[0] = esep
    out[1] = rep
    out[2] = comp
    out[3] = term
    out[4] = i + 2
    out[5] = 0 if fixed == 1 and i + 1 - p == 105 else 1
    out[6] = -1
    if term == 10 or term == 13:  # int64 arguments, as the other callers': one compile
        out[6] = lead_after(buf, i + 2, n, np.int64(esep), np.int64(comp))
    return 0


@njit
def split_composite(buf, s, e, comp, cb):
    """Components of a composite element into cb (start, end pairs); returns (n, sep, odd).

    When the component separator does not occur but the third byte is a
    separator-like character after a two-letter qualifier ("HC>99213" in a
    file whose ISA16 is ':'), that byte is used and ``odd`` is True.
    """
    sep = comp
    odd = False
    found = False
    for i in range(s, e):
        if buf[i] == comp:
            found = True
            break
    if not found and e - s >= 3:
        c = buf[s + 2]
        # ASCII only: a byte of a multi-byte UTF-8 character is never a separator
        if c < 128 and not is_alnum(c) and not is_ws(c) and c != 45 and c != 46:
            sep = c
            odd = True
    k = 0
    cb[0] = s
    for i in range(s, e):
        if buf[i] == sep:
            cb[2 * k + 1] = i
            k += 1
            if k >= 8:
                return 8, sep, odd
            cb[2 * k] = i + 1
    cb[2 * k + 1] = e
    return k + 1, sep, odd


@njit
def terminators(term):
    """The two bytes that end a segment: the terminator twice, or CR and LF."""
    if term == 10 or term == 13:
        return 10, 13
    return term, term


@njit
def count_835_nb(buf, d_esep, d_term, d_lead, counts):
    """Estimate the rows each table needs (segments by id; CAS and PLB by elements).

    Only terminators are located and the first bytes of each segment read, so
    this costs a fraction of the parse (for a large file the wrapper runs it on
    samples only). The estimate is checked afterwards: the parser counts real
    rows past any capacity and the wrapper retries. ``counts[K_ESEP]``,
    ``counts[K_TERM]`` and ``counts[K_LEAD]`` receive the delimiters in force at
    the end (an ISA header sets them; ``d_lead``: see ``lead_after``).
    """
    n = buf.shape[0]
    esep = d_esep
    lead = d_lead
    t1, t2 = terminators(d_term)
    isa = np.zeros(ISA_OUT, np.int64)
    eb_s = np.zeros(MAXE + 1, np.int64)
    eb_e = np.zeros(MAXE + 1, np.int64)
    n_seg = n_tx = n_cl = n_li = n_ad = n_re = n_pl = 0
    p = 0
    while p < n:
        s = p
        while s < n and is_ws(buf[s]):
            s += 1
        if s < n and buf[s] == lead:  # -1 when there is none: never a byte (see parse)
            s += 1
            while s < n and is_ws(buf[s]):
                s += 1
        if s >= n:
            break
        e = s
        while e < n and buf[e] != t1 and buf[e] != t2:
            e += 1
        p = e + 1
        n_seg += 1
        if s + 3 < n and buf[s] == 73 and buf[s + 1] == 83 and buf[s + 2] == 65:
            if not is_alnum(buf[s + 3]):
                if parse_isa(buf, s, n, eb_s, eb_e, isa) != 0:
                    break
                esep = isa[0]
                t1, t2 = terminators(isa[3])
                lead = isa[6]
                p = isa[4]
                continue
        if n_seg == 1 and lead < 0 and t1 == 10:  # a file without ISA: see lead_after
            lead = lead_after(buf, p, n, esep, np.int64(-1))
        b0 = buf[s]
        b1 = buf[s + 1] if s + 1 < e else 0
        b2 = buf[s + 2] if s + 2 < e else 0
        if b0 == 67 and b1 == 65 and b2 == 83:  # CAS
            ne = 1
            for i in range(s, e):
                ne += buf[i] == esep
            n_ad += ne // 3
        elif b0 == 83 and b1 == 86 and b2 == 67:  # SVC
            n_li += 1
        elif b0 == 67 and b1 == 76 and b2 == 80:  # CLP
            n_cl += 1
        elif b0 == 83 and b1 == 84 and (b2 == esep or s + 2 == e):  # ST
            n_tx += 1
        elif b0 == 76 and b1 == 81:  # LQ
            n_re += 1
        elif b0 == 77 and (b1 == 73 or b1 == 79) and b2 == 65:  # MIA, MOA
            n_re += 5
        elif b0 == 80 and b1 == 76 and b2 == 66:  # PLB
            ne = 1
            for i in range(s, e):
                ne += buf[i] == esep
            n_pl += max(ne - 2, 0) // 2
    counts[K_TX] = n_tx
    counts[K_CLM] = n_cl
    counts[K_LIN] = n_li
    counts[K_ADJ] = n_ad
    counts[K_REM] = n_re
    counts[K_PLB] = n_pl
    counts[K_SEG] = n_seg
    counts[K_ESEP] = esep  # the delimiters in force at the end
    counts[K_TERM] = t1
    counts[K_LEAD] = lead
    return 0


@njit
def count_samples_nb(buf, starts, size, esep, term, lead, counts):
    """``count_835_nb`` over ``buf[s:s + size]`` for each ``s`` in ``starts``, summed.

    Each slice starts just after its first terminator. Returns the number of
    bytes counted.
    """
    part = np.zeros(N_K, np.int64)
    n = buf.shape[0]
    total = 0
    for j in range(starts.shape[0]):
        s = starts[j]
        e = min(s + size, n)
        while s < e and buf[s] != term:
            s += 1
        s += 1
        if s >= e:
            continue
        count_835_nb(buf[s:e], esep, term, lead, part)
        for f in range(K_PLB + 1):
            counts[f] += part[f]
        total += e - s
    return total
