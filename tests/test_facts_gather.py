"""The facts' one-pass gather of four per-entry columns (issue #19, item 5) against
numpy's take, and the facts of an appended (ungrouped) ledger against the facts computed
with the entry day gathered first (the other path through ``Derived.facts``)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import ledgerkit as lk
from ledgerkit._kernels.entry_codes import gather_four_nb
from ledgerkit.analytics.derived import Derived


@settings(max_examples=40)
@given(st.integers(0, 400), st.integers(0, 2**32 - 1))
def test_gather_four_is_four_takes(n, seed):
    rng = np.random.default_rng(seed)
    order = rng.permutation(n).astype(np.int64)
    if n and seed % 3 == 0:  # repeated rows too: a gather, not only a permutation
        order = rng.integers(0, n, n).astype(np.int64)
    cols = (
        rng.integers(-(2**31), 2**31 - 1, n).astype(np.int32),
        rng.random(n) < 0.5,
        rng.integers(-1, 400, n).astype(np.int16),
        rng.integers(-1, 100, n).astype(np.int8),
    )
    outs = [np.empty(n, c.dtype) for c in cols]
    gather_four_nb(order, *cols, *outs)
    for got, col in zip(outs, cols, strict=True):
        assert got.dtype == col.dtype
        assert got.tolist() == [col[r] for r in order.tolist()]


def test_facts_of_an_appended_ledger_do_not_depend_on_what_was_computed_first():
    base = lk.synth.generate(400, seed=3)
    ledger = lk.synth.lifecycle(base, seed=2).ledger
    assert ledger.keys.entry_order is not None  # appended entries: not grouped
    fused = Derived(ledger, ledger.policy).facts
    first = Derived(ledger, ledger.policy)
    first.entry_day  # noqa: B018 - the day gathered alone first: the other path
    separate = first.facts
    for name in ("entry_day", "entry_carc", "entry_payer", "first_denied", "first_reason",
                 "later_paid", "last_day", "top_reason", "enc_first_day"):  # fmt: skip
        a, b = getattr(fused, name), getattr(separate, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    order = ledger.keys.entry_order
    want_day = (ledger.entries["posted_at"].cast("int64").to_numpy() // 86_400_000_000)[order]
    assert fused.entry_day.tolist() == want_day.tolist()
    assert fused.first_denied.sum() > 0
