"""Arrow buffers from the parser's arrays: string offsets, gathered bytes, validity bitmaps.

The wrapper (``ledgerkit.x12.read``) wraps these buffers into Arrow arrays
without another copy.
"""

from __future__ import annotations

import numpy as np

from ledgerkit._kernels._njit import njit
from ledgerkit._kernels.x12.layout import NULL
from ledgerkit._kernels.x12.words import copy8, prefetch

AHEAD = 16  # rows between a prefetch of the file's bytes and their use (8-32 measured alike)


@njit
def span_offsets_nb(starts, ends, out_offsets, valid):
    """Arrow offsets and validity of spans (absent spans, ``end <= start``, are null).

    Returns the total length as int64: the caller checks that it fits the
    type of ``out_offsets`` (int32 unless a column holds 2 GB).
    """
    total = 0
    out_offsets[0] = 0
    for i in range(starts.shape[0]):
        m = ends[i] - starts[i]
        ok = m > 0
        if ok:
            total += m
        valid[i] = ok
        out_offsets[i + 1] = total
    return total


@njit
def gather_strings_nb(buf, starts, ends, out_offsets, out_data):
    """Copy each span into Arrow string data (only for a column of 2 GB or more)."""
    for i in range(starts.shape[0]):
        s = starts[i]
        o = out_offsets[i]
        for j in range(ends[i] - s):
            out_data[o + j] = buf[s + j]


@njit
def table_offsets_nb(spans, n, fields, out_offsets, bits, n_null, totals, rows):
    """Arrow offsets and validity bitmaps of several span fields of one table.

    Field ``fields[j]`` of ``spans`` is rows 2f and 2f+1 (only the first ``n``
    columns are rows of the table; ``end <= start`` is null). Its offsets and
    bitmap (LSB first; ``bits`` is zeroed) go to row ``rows[j]`` of
    ``out_offsets``/``bits``; a field with no value at all gets ``rows[j] = -1``
    and its row is reused, so the rows of all-null fields are never kept.
    ``n_null[j]`` counts nulls and ``totals[j]`` bytes (int64: the caller checks
    the type).
    """
    r = 0
    for j in range(fields.shape[0]):
        f = fields[j]
        total = 0
        nulls = 0
        out_offsets[r, 0] = 0
        for i in range(n):
            m = spans[2 * f + 1, i] - spans[2 * f, i]
            if m > 0:
                total += m
                bits[r, i >> 3] |= np.uint8(1 << (i & 7))
            else:
                nulls += 1
            out_offsets[r, i + 1] = total
        totals[j] = total
        n_null[j] = nulls
        if nulls == n and n > 0:
            rows[j] = -1
        else:
            rows[j] = r
            r += 1


@njit
def gather_table_nb(buf, spans, n, fields, rows, bases, seps, sep_rows, offsets, out_data):
    """Copy several span fields of one table into one data buffer, row by row.

    Field j's offsets are row ``rows[j]`` of ``offsets`` (see ``table_offsets_nb``)
    and its bytes start at ``bases[j]`` of ``out_data``, with 8 spare bytes
    after each field: spans are copied in 8-byte blocks while the file has 8
    bytes to spare after them (the excess is overwritten by the next span or
    left in the gap), which avoids a branch misprediction per short string.
    Going row by row reads the file once per table, with the spans of a row
    close together; the bytes of the row ``AHEAD`` rows on are prefetched
    (one line per segment). When ``sep_rows[j] >= 0``, bytes equal to
    ``seps[sep_rows[j], i] - 1`` become ':'.
    """
    nf = fields.shape[0]
    nbuf = buf.shape[0]
    for i in range(n):
        if i + AHEAD < n:  # the row ahead's bytes, a line per segment (see words.prefetch)
            last = -64
            for j in range(nf):
                ahead = spans[2 * fields[j], i + AHEAD]
                if ahead - last >= 64 or ahead < last:
                    prefetch(buf, ahead)
                    last = ahead
        for j in range(nf):
            f = fields[j]
            s = spans[2 * f, i]
            m = spans[2 * f + 1, i] - s
            if m <= 0:
                continue
            o = bases[j] + offsets[rows[j], i]
            r = sep_rows[j]
            sep = seps[r, i] - 1 if r >= 0 else -1
            if sep >= 0 and sep != 58:  # a separator other than ':' to rewrite
                for q in range(m):
                    c = buf[s + q]
                    if c == sep:
                        c = 58
                    out_data[o + q] = c
            elif s + m + 8 <= nbuf:
                for q in range(0, m, 8):
                    copy8(out_data, o + q, buf, s + q)
            else:
                for q in range(m):
                    out_data[o + q] = buf[s + q]


@njit
def validity_nb(values, null, bias, bits):
    """Validity bitmap (``bits``, LSB first) of ``values != null``; nulls become 0.

    ``bias`` is subtracted from the valid values (see DATE_BIAS). Returns the
    number of nulls. The values array is then an Arrow data buffer as it is (no
    copy), with zeros under the nulls.
    """
    n = values.shape[0]
    n_null = 0
    for b in range((n + 7) // 8):
        byte = 0
        for t in range(min(8, n - 8 * b)):
            i = 8 * b + t
            v = values[i]
            if v == null:
                values[i] = 0
                n_null += 1
            else:
                values[i] = v - bias
                byte |= 1 << t
        bits[b] = byte
    return n_null


@njit
def float_validity_nb(values, bits):
    """Validity bitmap of a float64 row given as its int64 view (``arr.view(np.int64)``).

    +0.0 (all bits 0) is absent; -0.0 (the bits of int64 min) is a zero quantity
    and becomes +0.0. Returns the number of nulls.
    """
    n = values.shape[0]
    n_null = 0
    for b in range((n + 7) // 8):
        byte = 0
        for t in range(min(8, n - 8 * b)):
            i = 8 * b + t
            v = values[i]
            if v == 0:
                n_null += 1
            else:
                if v == NULL:
                    values[i] = 0
                byte |= 1 << t
        bits[b] = byte
    return n_null
