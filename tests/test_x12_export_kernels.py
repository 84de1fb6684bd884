"""The 835 export kernels against plain Python twins, on random files and spans.

``string_columns`` (``table_offsets_nb`` + ``gather_table_nb``, which prefetches the
bytes of rows ahead), ``person_keys`` (``person_keys_nb``: the id is looked at first)
and ``adjustment_sums_nb`` read the file's bytes at the spans the parser found; each
is compared here with a slow, obviously correct reading of the same spans.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerkit._kernels.x12 import adjustment_sums_nb
from ledgerkit._kernels.x12 import layout as k
from ledgerkit.x12.kernel_columns import _salt_keys, person_keys, string_columns
from ledgerkit.x12.tables import NullArrays

TEXT = st.binary(min_size=0, max_size=40)


def _file_and_spans(pieces: list[list[bytes | None]], pad: int = 0):
    """A byte buffer holding every piece, and (2 * fields, rows) int32 spans to them.

    ``None`` is an absent field (span 0, 0); pieces are separated by '*' as in a file.
    """
    nf = len(pieces[0]) if pieces else 0
    spans = np.zeros((2 * nf, len(pieces)), np.int32)
    out = bytearray(b"ISA")
    for r, row in enumerate(pieces):
        for f, piece in enumerate(row):
            if piece is None:
                continue
            out += b"*"
            spans[2 * f, r] = len(out)
            out += piece
            spans[2 * f + 1, r] = len(out)
    out += b"~" * pad
    return np.frombuffer(bytes(out), np.uint8).copy(), spans


# ----------------------------------------------------------------------------- string_columns
def _x19_strings_twin(buf, spans, f, seps=None):
    out = []
    for r in range(spans.shape[1]):
        s, e = int(spans[2 * f, r]), int(spans[2 * f + 1, r])
        if e <= s:
            out.append(None)
            continue
        raw = bytes(buf[s:e])
        if seps is not None and seps[r] > 0:
            raw = raw.replace(bytes([seps[r] - 1]), b":")
        out.append(raw.decode("latin-1"))
    return out


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.lists(st.one_of(st.none(), TEXT), min_size=3, max_size=3), max_size=60),
    sep_bytes=st.lists(
        st.sampled_from([0, ord("^") + 1, ord(">") + 1, ord(":") + 1]), min_size=60, max_size=60
    ),
    pad=st.sampled_from([0, 3, 16]),
)
def test_string_columns_match_their_twin(rows, sep_bytes, pad):
    rows = [[None if p is None else bytes(c & 0x7F for c in p) for p in row] for row in rows]
    buf, spans = _file_and_spans(rows, pad)
    if not rows:
        spans = np.zeros((6, 0), np.int32)
    n = spans.shape[1]
    seps = np.zeros((1, max(n, 1)), np.int32)
    seps[0, :n] = sep_bytes[:n]
    got = string_columns(buf, spans, [0, 1, 2], NullArrays(), None, seps, [-1, 0, -1])
    for f in range(3):
        want = _x19_strings_twin(buf, spans, f, seps[0] if f == 1 else None)
        assert got[f].to_pylist() == want


# ----------------------------------------------------------------------------- person_keys
def _siphash24(k0: int, k1: int, data: bytes) -> int:
    mask = (1 << 64) - 1

    def rotl(x, b):
        return ((x << b) | (x >> (64 - b))) & mask

    def rounds(v, n):
        v0, v1, v2, v3 = v
        for _ in range(n):
            v0 = (v0 + v1) & mask
            v1 = rotl(v1, 13) ^ v0
            v0 = rotl(v0, 32)
            v2 = (v2 + v3) & mask
            v3 = rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & mask
            v3 = rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & mask
            v1 = rotl(v1, 17) ^ v2
            v2 = rotl(v2, 32)
        return [v0, v1, v2, v3]

    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D]
    v += [k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]
    tail = len(data) % 8
    for i in range(0, len(data) - tail, 8):
        m = int.from_bytes(data[i : i + 8], "little")
        v[3] ^= m
        v = rounds(v, 2)
        v[0] ^= m
    m = int.from_bytes(data[len(data) - tail :], "little") | ((len(data) & 0xFF) << 56)
    v[3] ^= m
    v = rounds(v, 2)
    v[0] ^= m
    v[2] ^= 0xFF
    v = rounds(v, 4)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def _x19_key_twin(fields: list[bytes | None], keys) -> str | None:
    """The pseudonym of one person (last, first, middle, id qualifier, id), or None."""
    values = [b"" if f is None else f for f in fields]
    ident = values[4].decode("latin-1")
    is_key = (
        len(ident) == 26
        and ident.startswith("LK")
        and all(c in "0123456789ABCDEF" for c in ident[2:])
    )
    if is_key and not any(values[:3]):
        return ident
    if keys is None or not any(values):
        return None
    msg = b"\x1f".join(v.strip(b" ").upper() for v in values)
    h1 = _siphash24(int(keys[0]), int(keys[1]), msg)
    h2 = _siphash24(int(keys[2]), int(keys[3]), msg)
    return f"LK{h1:016X}{h2 >> 32:08X}"


NAME = st.one_of(
    st.none(), st.just(b""), st.binary(max_size=12), st.sampled_from([b" doe ", b"Jane"])
)
IDENT = st.one_of(
    NAME,
    st.text("0123456789ABCDEF", min_size=24, max_size=24).map(lambda h: ("LK" + h).encode()),
    st.text("0123456789abcdefG", min_size=24, max_size=24).map(lambda h: ("LK" + h).encode()),
)


@settings(max_examples=60, deadline=None)
@given(
    people=st.lists(st.tuples(NAME, NAME, NAME, NAME, IDENT), max_size=50),
    salt=st.sampled_from([None, "clinic-secret"]),
    pad=st.sampled_from([0, 30]),
)
def test_person_keys_match_their_twin(people, salt, pad):
    rows = [
        [b"X"] + [None if p is None else bytes(c & 0x7F for c in p) for p in person]
        for person in people
    ]
    if not rows:
        return
    buf, spans = _file_and_spans(rows, pad)
    keys = _salt_keys(salt) if salt is not None else None
    got = person_keys(buf, spans, salt, first=1).to_pylist()
    assert got == [_x19_key_twin(row[1:], keys) for row in rows]


# ----------------------------------------------------------------------------- adjustment sums
@settings(max_examples=60, deadline=None)
@given(
    adjustments=st.lists(
        st.tuples(
            st.sampled_from([b"PR", b"CO", b"OA", b"P", b"PRX", None]),
            st.sampled_from([b"1", b"2", b"3", b"4", b"45", b"23", b"0", None]),
            st.integers(-(10**9), 10**9),
            st.integers(-1, 4),  # claim (-1: none, 4: past the claims)
            st.integers(-1, 6),  # line
        ),
        max_size=60,
    ),
)
def test_adjustment_sums_match_their_twin(adjustments):
    n = len(adjustments)
    buf, spans = _file_and_spans([[a[0], a[1]] for a in adjustments] or [[None, None]])
    ad_s = np.zeros((2 * k.N_AS, max(n, 1)), np.int32)
    ad_s[2 * k.A_GROUP : 2 * k.A_GROUP + 2] = spans[0:2, : max(n, 1)]
    ad_s[2 * k.A_CARC : 2 * k.A_CARC + 2] = spans[2:4, : max(n, 1)]
    ad_i = np.zeros((k.N_AI, max(n, 1)), np.int32)
    ad_n = np.zeros((k.N_AN, max(n, 1)), np.int64)
    for a, (_, _, amount, claim, line) in enumerate(adjustments):
        ad_n[k.AN_AMOUNT, a] = amount
        ad_i[k.AI_CLAIM, a] = claim if claim >= 0 else k.NULL32
        ad_i[k.AI_LINE, a] = line if line >= 0 else k.NULL32
    got = [np.zeros(4, np.int64) for _ in range(3)] + [np.zeros(6, np.int64) for _ in range(2)]
    adjustment_sums_nb(buf, ad_s, ad_i, ad_n, n, *got)
    want = [[0] * 4 for _ in range(3)] + [[0] * 6 for _ in range(2)]
    for group, carc, amount, claim, line in adjustments:
        is_pr = group == b"PR"
        pr123 = is_pr and carc in (b"1", b"2", b"3")
        if 0 <= claim < 4:
            want[2][claim] += amount
            want[0][claim] += amount if is_pr else 0
            want[1][claim] += amount if pr123 else 0
        if 0 <= line < 6:
            want[3][line] += amount
            want[4][line] += amount if pr123 else 0
    assert [g.tolist() for g in got] == want
