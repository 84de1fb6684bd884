"""Fuzz: random byte mutations of valid files give a result or an X12Error, nothing else."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgerkit.x12 import Remittances, X12Error, read_835

FIXTURES = Path(__file__).parent / "data" / "x12"
SEEDS = [
    (FIXTURES / name).read_bytes()
    for name in ("base.835", "pipe_separators.835", "no_envelope.835", "newline_terminated.835",
                 "two_interchanges.835", "plb.835", "claim_level_cas_only.835")
]  # fmt: skip
# Bytes that matter to the parser, so mutations hit delimiters and digits often.
INTERESTING = b"*~:|^>\n\r 0123456789.-ISAGECLPSVCAST\x00\xff"

mutation = st.tuples(
    st.sampled_from(["replace", "insert", "delete", "truncate", "duplicate"]),
    st.floats(0, 1, exclude_max=True),
    st.one_of(st.sampled_from(list(INTERESTING)), st.integers(0, 255)),
    st.integers(1, 40),
)


def mutate(data: bytes, mutations) -> bytes:
    b = bytearray(data)
    for kind, where, byte, length in mutations:
        if not b:
            break
        i = int(where * len(b))
        if kind == "replace":
            b[i] = byte
        elif kind == "insert":
            b[i:i] = bytes([byte])
        elif kind == "delete":
            del b[i : i + length]
        elif kind == "truncate":
            del b[i:]
        else:
            b[i:i] = b[i : i + length]
    return bytes(b)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(range(len(SEEDS))), mutations=st.lists(mutation, min_size=1, max_size=6)
)
def test_mutated_files_read_or_raise_x12error(seed, mutations):
    data = mutate(SEEDS[seed], mutations)
    try:
        r = read_835(data)
    except X12Error as e:
        assert e.file == "<bytes>"
        return
    assert isinstance(r, Remittances)
    # a result is internally consistent
    assert r.claims.column("transaction_id").to_pylist() == sorted(
        r.claims.column("transaction_id").to_pylist()
    )
    n_lines = r.service_lines.num_rows
    assert all(x is None or 0 <= x < n_lines for x in r.adjustments.column("line_id").to_pylist())


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300))
def test_random_bytes_read_or_raise_x12error(data):
    try:
        read_835(data)
    except X12Error:
        pass


def test_long_segment_without_terminator():
    # one segment longer than the scanner's block, no terminator anywhere
    data = b"ST*835*1*" + b"A" * 200_000
    try:
        read_835(data)
    except X12Error as e:
        assert "ends inside" in str(e) or "segment" in str(e)
