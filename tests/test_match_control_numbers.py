"""Line item control numbers (REF*6R) matched by a scan of the encounter's procedures."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerkit._kernels.posting import match_control_numbers_nb
from ledgerkit.core.arrow import string_buffers, valid_array


def match_control_numbers_ref(line_enc, line_lcn, enc_proc_start, proc_rows, proc_lcn):
    """Plain Python: the first procedure of the line's encounter with an equal, non-null number."""
    out = []
    for e, lcn in zip(line_enc, line_lcn, strict=True):
        hit = -1
        if e >= 0 and lcn is not None:
            for p in range(enc_proc_start[e], enc_proc_start[e + 1]):
                if proc_lcn[proc_rows[p]] == lcn:
                    hit = p
                    break
        out.append(hit)
    return out


CODES = st.one_of(st.none(), st.sampled_from(["A-1", "A-2", "B-1", "", "é-1", "A-12"]))


@st.composite
def cases(draw):
    sizes = draw(st.lists(st.integers(0, 4), min_size=1, max_size=6))
    enc_proc_start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n_proc = int(enc_proc_start[-1])
    proc_lcn = draw(st.lists(CODES, min_size=n_proc, max_size=n_proc))
    shuffled = draw(st.booleans())
    proc_rows = np.arange(n_proc, dtype=np.int64)
    if shuffled:
        proc_rows = np.array(draw(st.permutations(list(range(n_proc)))), np.int64)
    n_lines = draw(st.integers(0, 12))
    line_enc = np.array(
        draw(st.lists(st.integers(-1, len(sizes) - 1), min_size=n_lines, max_size=n_lines)),
        np.int64,
    )
    line_lcn = draw(st.lists(CODES, min_size=n_lines, max_size=n_lines))
    return line_enc, line_lcn, enc_proc_start, proc_rows, shuffled, proc_lcn


@given(cases(), st.integers(0, 2), st.randoms(use_true_random=False), st.booleans())
@settings(max_examples=80)
def test_match_control_numbers_matches_the_reference(case, offset, rng, narrow):
    line_enc, line_lcn, enc_proc_start, proc_rows, shuffled, proc_lcn = case
    # any visiting order gives the same answer (the caller visits in encounter order)
    line_order = list(range(len(line_enc)))
    rng.shuffle(line_order)
    line_order = np.array(line_order, np.int64)
    # sliced arrays: the kernel must honour the chunk's offset
    lines = pa.array(["pad"] * offset + line_lcn, pa.string()).slice(offset)
    procs = pa.array(["pad"] * offset + proc_lcn, pa.string()).slice(offset)
    lo, ld = string_buffers(lines)
    po, pd = string_buffers(procs)
    if narrow:  # the procedures' own int32 offsets, as the posting passes them
        po = po.astype(np.int32)
    out = np.full(len(line_enc), -1, np.int64)
    match_control_numbers_nb(
        line_order, line_enc, lo, ld, valid_array(lines), enc_proc_start,
        proc_rows if shuffled else np.empty(0, np.int64), shuffled,
        po, pd, valid_array(procs), out,
    )  # fmt: skip
    expected = match_control_numbers_ref(line_enc, line_lcn, enc_proc_start, proc_rows, proc_lcn)
    assert out.tolist() == expected


def test_a_line_without_a_match_keeps_what_was_there():
    lines = pa.array(["X-9", "A-1"])
    procs = pa.array(["A-1"])
    lo, ld = string_buffers(lines)
    po, pd = string_buffers(procs)
    out = np.array([7, -1], np.int64)
    match_control_numbers_nb(
        np.array([1, 0]), np.array([0, 0]), lo, ld, valid_array(lines), np.array([0, 1]),
        np.empty(0, np.int64), False, po, pd, valid_array(procs), out,
    )  # fmt: skip
    assert out.tolist() == [7, 0]


def test_string_views_are_the_buffers_without_a_copy():
    from ledgerkit.core.arrow import string_views

    column = pa.array(["pad", "A-1", None, "", "é-2"]).slice(1)
    offsets, data = string_views(column)
    wide_offsets, wide_data = string_buffers(column)
    assert offsets.dtype == np.int32 and not offsets.flags.owndata
    assert offsets.tolist() == wide_offsets.tolist()
    assert bytes(data) == bytes(wide_data)
    empty = pa.array(["", ""])
    assert string_views(empty)[0].tolist() == [0, 0, 0]
