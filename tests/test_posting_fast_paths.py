"""Posting's shortcuts for already ordered input give what the general path gives."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from posting_data import split

import ledgerkit as lk
from ledgerkit._kernels.posting import is_lex_sorted_nb
from ledgerkit.posting.batch import lex_order
from ledgerkit.posting.engine import remit_ids
from ledgerkit.x12.remittances import Remittances


@given(st.lists(st.tuples(st.integers(-1, 3), st.integers(0, 3)), max_size=30))
@settings(max_examples=80)
def testlex_order_is_a_stable_lexsort(pairs):
    major = np.array([p[0] for p in pairs], np.int64)
    minor = np.array([p[1] for p in pairs], np.int64)
    want = np.lexsort((np.arange(len(pairs)), minor, major))
    assert np.array_equal(lex_order(major, minor), want)
    in_order = sorted(range(len(pairs)), key=lambda i: (pairs[i], i)) == list(range(len(pairs)))
    assert is_lex_sorted_nb(major, minor) == in_order


def test_remit_ids_do_not_depend_on_the_order_of_claims_blocks(monkeypatch):
    """Synthetic remits list lines and adjustments claim by claim (no sort needed); the
    same remits with lines shuffled and the claims' adjustment blocks in reverse order
    (each claim's own in order: their order is part of the remit) are sorted first and
    get the same ids, as does the sorted input forced through the sort."""
    import ledgerkit.posting.batch as B

    _, r = split(lk.synth.generate(300, seed=4, credits=False))
    assert is_lex_sorted_nb(*_claim_and_line(r))  # the shortcut is taken
    ids = remit_ids(r)
    assert len(set(ids.to_pylist())) > 100
    lines = r.service_lines
    lines = lines.take(pa.array(np.random.default_rng(1).permutation(lines.num_rows)))
    adj_claim = B.positions(r.adjustments["claim_id"], r.claims["claim_id"])
    blocks = np.argsort(-adj_claim, kind="stable")
    shuffled = Remittances(
        r.transactions,
        r.claims,
        lines,
        r.adjustments.take(pa.array(blocks)),
        r.remarks,
        r.provider_adjustments,
        r.findings,
    )
    assert not is_lex_sorted_nb(*_claim_and_line(shuffled))
    assert remit_ids(shuffled).equals(ids)
    monkeypatch.setattr(B.K, "is_lex_sorted_nb", lambda major, minor: False)
    assert remit_ids(r).equals(ids)


def _claim_and_line(r):
    from ledgerkit.posting.batch import flatten, ints

    b = flatten(r)
    lnum = ints(b.lines["line_number"])
    adj_lnum = np.where(b.adj_line >= 0, lnum[np.maximum(b.adj_line, 0)], 0)
    return b.adj_claim.astype(np.int64), adj_lnum.astype(np.int64)
