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
    # each family reported once as it finished: a start (None) then its seconds
    assert sorted(call[2] for call in reported if call[3] is None) == sorted(FAMILIES)
    assert [call[0] for call in reported if call[3] is not None] == list(
        range(1, len(FAMILIES) + 1)
    )
    assert {call[2]: call[3] for call in reported if call[3] is not None} == timings
    assert max(timings.values()) <= wall  # families overlap; none outlasts the whole


def test_the_lanes_hold_every_family_once():
    assert sorted(name for lane in LANES for name in lane) == sorted(FAMILIES)
