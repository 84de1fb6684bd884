"""Pseudonyms of patients and subscribers: keyed SipHash-2-4 of their name and id fields."""

from __future__ import annotations

import numpy as np

from ledgerkit._kernels._njit import njit
from ledgerkit._kernels.x12.columns import AHEAD
from ledgerkit._kernels.x12.jit import helper
from ledgerkit._kernels.x12.words import all_hex8, copy8, load8, prefetch


@helper
def _rotl(x, b):
    return (x << np.uint64(b)) | (x >> np.uint64(64 - b))


@njit
def _sipround(v0, v1, v2, v3):
    v0 = v0 + v1
    v1 = _rotl(v1, 13)
    v1 ^= v0
    v0 = _rotl(v0, 32)
    v2 = v2 + v3
    v3 = _rotl(v3, 16)
    v3 ^= v2
    v0 = v0 + v3
    v3 = _rotl(v3, 21)
    v3 ^= v0
    v2 = v2 + v1
    v1 = _rotl(v1, 17)
    v1 ^= v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


@njit
def _siphash_parts(k0, k1, buf, spans, r0, nparts, row):
    """SipHash-2-4 of ``nparts`` spans of one row (from span row ``r0``), upper-cased
    and trimmed, joined by 0x1F."""
    v0 = k0 ^ np.uint64(0x736F6D6570736575)
    v1 = k1 ^ np.uint64(0x646F72616E646F6D)
    v2 = k0 ^ np.uint64(0x6C7967656E657261)
    v3 = k1 ^ np.uint64(0x7465646279746573)
    m = np.uint64(0)
    cnt = 0
    for f in range(nparts + nparts - 1):
        if f % 2 == 1:
            s = 0
            e = 1
            sep = True
        else:
            s = spans[r0 + f, row]
            e = spans[r0 + f + 1, row]
            sep = False
            if e <= s:
                s = 0
                e = 0
            while s < e and buf[s] == 32:
                s += 1
            while e > s and buf[e - 1] == 32:
                e -= 1
        for j in range(s, e):
            if sep:
                c = np.uint64(31)
            else:
                b = buf[j]
                if 97 <= b <= 122:
                    b -= 32
                c = np.uint64(b)
            m |= c << np.uint64(8 * (cnt % 8))
            cnt += 1
            if cnt % 8 == 0:
                v3 ^= m
                v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
                v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
                v0 ^= m
                m = np.uint64(0)
    m |= np.uint64(cnt & 0xFF) << np.uint64(56)
    v3 ^= m
    v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
    v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
    v0 ^= m
    v2 ^= np.uint64(0xFF)
    for _ in range(4):
        v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


@njit
def _is_key(buf, s, e):
    """The span is already a ledgerkit pseudonym ("LK" + 24 upper-case hex digits)."""
    if e - s != 26:
        return False
    lk = (load8(buf, s) & np.uint64(0xFFFF)) == np.uint64(0x4B4C)  # "LK"
    return (
        lk
        & all_hex8(load8(buf, s + 2))
        & all_hex8(load8(buf, s + 10))
        & all_hex8(load8(buf, s + 18))
    )


@njit
def person_keys_nb(buf, spans, r0, nparts, id_field, keys, salted, out, bits):
    """Fill ``out`` (26 bytes per row, flat) with the pseudonym of each row's person.

    ``spans`` rows ``r0 ..`` hold (start, end) of ``nparts`` fields: last,
    first, middle, id qualifier, id (``id_field``, counted from ``r0``). A row
    with no name and an id that is already a key keeps it; otherwise, when
    ``salted``, the key is "LK" + hex of two keyed SipHash-2-4 values
    (keys[0:2] and keys[2:4]); rows with nothing to hash are null. Writes the
    validity bitmap ``bits`` (zeroed) and returns the number of nulls.
    """
    hexd = np.frombuffer(b"0123456789ABCDEF", np.uint8)
    n = out.shape[0] // 26
    n_null = 0
    id_s = r0 + 2 * id_field
    for r in range(n):
        if r + AHEAD < n:  # the id of a row ahead (see words.prefetch): a miss per row else
            prefetch(buf, spans[id_s, r + AHEAD])
        ids = spans[id_s, r]
        ide = spans[id_s + 1, r]
        # the id first: when it is already a key the row has a field, and only the name
        # fields remain to look at (a person's five spans are five rows of ``spans``)
        is_key = _is_key(buf, ids, ide)
        no_name = True
        any_field = is_key
        for f in range(nparts):
            is_name = f < id_field - 1
            if (is_name or not is_key) and spans[r0 + 2 * f + 1, r] > spans[r0 + 2 * f, r]:
                any_field = True
                if is_name:
                    no_name = False
        ok = False
        if is_key and no_name:
            o = 26 * r
            copy8(out, o, buf, ids)
            copy8(out, o + 8, buf, ids + 8)
            copy8(out, o + 16, buf, ids + 16)
            out[o + 24] = buf[ids + 24]
            out[o + 25] = buf[ids + 25]
            ok = True
        elif any_field and salted:
            h1 = _siphash_parts(keys[0], keys[1], buf, spans, r0, nparts, r)
            h2 = _siphash_parts(keys[2], keys[3], buf, spans, r0, nparts, r)
            o = 26 * r
            out[o] = 76
            out[o + 1] = 75
            for j in range(16):
                out[o + 2 + j] = hexd[np.int64((h1 >> np.uint64(60 - 4 * j)) & np.uint64(15))]
            for j in range(8):
                out[o + 18 + j] = hexd[np.int64((h2 >> np.uint64(60 - 4 * j)) & np.uint64(15))]
            ok = True
        if ok:
            bits[r >> 3] |= np.uint8(1 << (r & 7))
        else:
            n_null += 1
    return n_null
