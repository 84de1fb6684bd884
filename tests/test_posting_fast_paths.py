"""Posting's shortcuts for already ordered input give what the general path gives."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
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


def test_post_appends_with_the_procedures_it_knows():
    """The key update after a post takes each new entry's procedure from the posting
    (``Ledger.append_located``): the keys equal a rebuild from the tables, with the
    batch's reversals negating entries of the ledger and of the batch itself."""
    from ledgerkit.core.keys import build_keys
    from ledgerkit.posting.batch import flatten
    from ledgerkit.posting.decide import evaluate_batch
    from ledgerkit.posting.entries import build_entries

    full = lk.synth.generate(400, seed=6, credits=False)
    base, r = split(full)
    half = r.claims.num_rows // 2
    first = lk.post(base, _claims(r, slice(0, half)))
    batch = flatten(_claims(r, slice(half, None)))
    ev = evaluate_batch(first.ledger, batch, first.ledger.policy)
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    entries, _, procs = build_entries(first.ledger, batch, ev, "bench", None, when)
    assert entries.num_rows and (entries["negates"].null_count < entries.num_rows)
    keys = first.ledger.keys
    rows = pa.array(keys.proc_rows(np.asarray(procs, np.int64)))  # the procedures named
    named_by = first.ledger.procedures.take(rows)
    named = list(
        zip(named_by["encounter_id"].to_pylist(), named_by["line"].to_pylist(), strict=True)
    )
    assert named == list(
        zip(entries["encounter_id"].to_pylist(), entries["line"].to_pylist(), strict=True)
    )
    second = lk.post(first.ledger, _claims(r, slice(half, None)))
    assert second.entries.num_rows == entries.num_rows
    rebuilt = build_keys(second.ledger.encounters, second.ledger.procedures, second.ledger.entries)
    k = second.ledger.keys
    for name in ("entry_proc", "proc_entry_start", "entry_seq", "entry_kind", "entry_live",
                 "amounts"):  # fmt: skip
        assert np.array_equal(getattr(k, name), getattr(rebuilt, name)), name


def _claims(r, which):
    from posting_data import subset

    return subset(r, np.arange(r.claims.num_rows)[which])


def test_remit_ids_stay_those_stored_by_earlier_versions():
    """Ledgers and stores hold remit ids as ``remit_ref``: a change of the fingerprint
    would post the same files twice. These are the ids of version 2026-12-02."""
    import hashlib

    _, r = split(lk.synth.generate(300, seed=4, credits=False))
    ids = remit_ids(r).to_pylist()
    assert ids[:2] == ["R051311de493c26d8e44252d42ef958d4", "Ra4e4fab7cafbe6b459f72d97d7e55a30"]
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()
    assert digest == "59afa366f0f73fba09d5a1fb909fa322b6d5b89f3e5b1abdc51f712d2c1ea636"


@pytest.mark.parametrize("hashes", ["own", "one for all", "none"])
def test_duplicates_within_a_batch_are_found_whatever_the_first_hashes(hashes):
    """A batch's duplicates are found by the ids' first hash, the ids compared only where
    it repeats: every claim sharing one hash (as if all collided), or no hashes at all
    (ids made elsewhere), gives the same first claims as the ids themselves."""
    from ledgerkit.posting.batch import first_index, flatten
    from ledgerkit.posting.decide import _first_in_batch

    _, r = split(lk.synth.generate(120, seed=2, credits=False))
    b = flatten(Remittances.concat([r, r]))
    order = np.random.default_rng(3).permutation(b.n)
    rank = np.empty(b.n, np.int64)
    rank[order] = np.arange(b.n)
    if hashes == "one for all":
        b.remit_hash = np.zeros(b.n, np.uint64)
    elif hashes == "none":
        b.remit_hash = None
    from ledgerkit.core.arrow import encode

    want = first_index(encode(b.remit_id)[0], order)
    assert 0 < want.sum() < b.n
    assert np.array_equal(_first_in_batch(b, order, rank), want)
