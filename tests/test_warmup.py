"""``ledgerkit warm`` (issue #19): kernel families compiled in two processes at once."""

from __future__ import annotations

import time

from ledgerkit.warmup import FAMILIES, LANES, WarmTimes, warm_up


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
    # per process: its families in the order of LANES, its wall and CPU seconds
    assert [families for families, _, _ in timings.lanes] == list(LANES)
    for families, lane_wall, lane_cpu in timings.lanes:
        assert sum(timings[name] for name in families) <= lane_wall <= wall
        assert sum(timings.cpu[name] for name in families) <= lane_cpu
    assert list(timings.cpu) == list(FAMILIES) and all(c > 0 for c in timings.cpu.values())


def test_one_process_reports_one_lane():
    timings = warm_up(20, jobs=1)
    assert isinstance(timings, WarmTimes) and list(timings) == list(FAMILIES)
    [(families, lane_wall, lane_cpu)] = timings.lanes
    assert families == tuple(FAMILIES)
    assert sum(timings.values()) <= lane_wall and sum(timings.cpu.values()) <= lane_cpu


def test_the_lanes_hold_every_family_once():
    assert sorted(name for lane in LANES for name in lane) == sorted(FAMILIES)


def test_compiling_restores_the_collector_and_numba_as_they_were():
    import gc

    from numba.core.compiler import Flags
    from numba.core.targetconfig import TargetConfig

    from ledgerkit.warmup import _compiling

    thresholds, values = gc.get_threshold(), TargetConfig.values
    flags = Flags()
    flags.nrt = True
    flags.no_cpython_wrapper = True
    before = flags.values()
    with _compiling() as settle:
        settle()
        assert gc.get_threshold() != thresholds and gc.get_freeze_count() > 0
        # the faster flag values are the same dict, in the same order
        assert list(flags.values().items()) == list(before.items())
        assert Flags(flags) == flags and hash(Flags(flags)) == hash(flags)
        other = Flags(flags)
        other.nrt = False
        assert other != flags
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == 0
    assert TargetConfig.values is values
