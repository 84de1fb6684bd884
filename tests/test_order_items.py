"""``order_items_nb`` (items by claim rank, then procedure slot) against a stable argsort."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerkit._kernels.posting import order_items_nb


def order_items_ref(item_rank, item_u, n):
    """The stable argsort of the (rank, slot) pairs and the first item of every rank."""
    order = sorted(range(len(item_rank)), key=lambda i: (item_rank[i], item_u[i]))
    ranks = [item_rank[i] for i in order]
    starts = [sum(1 for r in ranks if r < k) for k in range(n + 1)]
    return order, starts


def ordered(item_rank, item_u, n):
    order = np.empty(len(item_rank), np.int64)
    starts = np.empty(n + 1, np.int64)
    order_items_nb(np.asarray(item_rank, np.int64), np.asarray(item_u, np.int64), starts, order)
    return order.tolist(), starts.tolist()


@st.composite
def items(draw):
    n = draw(st.integers(1, 8))
    m = draw(st.integers(0, 60))
    ranks = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    slots = draw(st.lists(st.integers(0, 5), min_size=m, max_size=m))
    return ranks, slots, n


@given(items())
@settings(max_examples=150, derandomize=True)
def test_order_items_matches_the_reference(case):
    ranks, slots, n = case
    assert ordered(ranks, slots, n) == order_items_ref(ranks, slots, n)


def test_long_runs_and_random_batches_match_a_stable_argsort():
    rng = np.random.default_rng(7)
    for n, m in ((1, 200), (5, 1000), (300, 2000), (50, 0)):
        ranks = rng.integers(0, n, m)
        slots = rng.integers(0, 40, m)
        order, starts = ordered(ranks, slots, n)
        expected = np.argsort((ranks << 32) | slots, kind="stable")
        assert order == expected.tolist()
        assert starts == np.searchsorted(ranks[expected], np.arange(n + 1)).tolist()


def test_ranks_without_items_start_where_the_next_one_does():
    order, starts = ordered([2, 0, 2], [1, 0, 0], 4)
    assert order == [1, 2, 0]
    assert starts == [0, 1, 1, 3, 3]
