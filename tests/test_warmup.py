"""``ledgerkit warm`` (issue #19): kernel families compiled in two processes at once."""

from __future__ import annotations

import time

from ledgerkit.warmup import FAMILIES, LANES, warm_up


def test_two_processes_run_every_family_once_and_report_each():
    reported = []
    t0 = time.perf_counter()
    timings = warm_up(20, lambda *call: reported.append(call), jobs=2)
    wall = time.perf_counter() - t0
    assert list(timings) == list(FAMILIES)
    assert all(seconds > 0 for seconds in timings.values())
    # every family reported once, in order: a start (None), then its seconds
    total = len(FAMILIES)
    want = []
    for step, name in enumerate(FAMILIES, start=1):
        want += [(step, total, name, None), (step, total, name, timings[name])]
    assert reported == want
    assert max(timings.values()) <= wall  # families overlap; none outlasts the whole


def test_the_lanes_hold_every_family_once():
    assert sorted(name for lane in LANES for name in lane) == sorted(FAMILIES)
