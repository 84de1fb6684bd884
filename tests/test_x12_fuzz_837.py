"""Fuzz read_837: random mutations of valid claim files give a result or an X12Error,
never another exception or a hang, and no identifying value in any message."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_x12_fuzz import mutate, mutation
from x12_837_fixtures import CANARY, FIXTURES

from ledgerkit.x12 import Claims, X12Error, read_837
from ledgerkit.x12.claim_codes import CLAIM_CODE_RULES

SEEDS = [FIXTURES[name] for name in sorted(FIXTURES)]
BUDGET_SECONDS = 30


def _messages(c: Claims) -> list[str]:
    return c.findings.column("message").to_pylist() + [msg for _, msg in c.skipped]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(range(len(SEEDS))), mutations=st.lists(mutation, min_size=1, max_size=6)
)
def test_mutated_claim_files_read_or_raise_x12error(seed, mutations):
    data = mutate(SEEDS[seed], mutations)
    start = time.perf_counter()
    try:
        c = read_837(data, salt="s")
    except X12Error as e:
        assert e.file == "<bytes>"
        assert CANARY[2:8] not in str(e)
        return
    finally:
        assert time.perf_counter() - start < BUDGET_SECONDS
    assert isinstance(c, Claims)
    assert all(CANARY[2:8] not in m for m in _messages(c))
    # an identifying value moved by the damage never stays in a code column
    for table, rules in CLAIM_CODE_RULES.items():
        t = getattr(c, table)
        for rule in rules:
            values = t[rule.column].to_pylist()
            assert all(v is None or CANARY[2:8] not in v for v in values), (table, rule.column)
    # a result is internally consistent
    n_claims, n_lines = c.claims.num_rows, c.service_lines.num_rows
    assert all(0 <= x < n_claims for x in c.service_lines.column("claim_id").to_pylist())
    assert all(x is None or 0 <= x < n_lines for x in c.prior_adjudication["line_id"].to_pylist())
    assert sum(c.claims.column("line_count").to_pylist()) == n_lines


@settings(max_examples=80, deadline=None)
@given(data=st.binary(max_size=400))
def test_random_bytes_read_or_raise_x12error(data):
    try:
        read_837(data)
    except X12Error:
        pass


def test_long_segment_without_terminator_is_an_error():
    with pytest.raises(X12Error, match="truncated|segment"):
        read_837(b"ST*837*1*" + b"A" * 200_000)
