"""The facts of an appended (ungrouped) ledger against the facts computed with the entry
day gathered first (issue #19, item 5; the kernel itself: tests/test_facts_kernel.py)."""

import numpy as np

import ledgerkit as lk
from ledgerkit.analytics.derived import Derived


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
