"""Compile every kernel family once, so that no user's first call is a compile.

Numba keeps compiled kernels on disk (``cache=True``, see ``_kernels/_njit.py``):
a process that finds them there loads machine code in milliseconds instead of
compiling for seconds. ``make setup`` runs ``ledgerkit warm`` once after
installing, on a tiny synthetic ledger, through the same public calls the
notebooks make. Numba compiles in one thread, so the families compile in two
processes at once (:data:`LANES`).
"""

from __future__ import annotations

import contextlib
import gc
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["WarmTimes", "warm_up"]


class WarmTimes(dict):
    """``{family: wall seconds}`` in the order of :data:`FAMILIES`, with where the time went.

    Attributes
    ----------
    cpu : dict
        ``{family: CPU seconds}``. On a busy machine the wall time grows with the load
        while the CPU time stays near what an idle machine would need.
    lanes : list of (tuple, float, float)
        One ``(families, wall seconds, CPU seconds)`` per process, its start-up
        (imports, the synthetic ledger) included: with two lanes the whole takes about
        as long as the slower one.

    Examples
    --------
    >>> times = WarmTimes({"posting": 2.0}, {"posting": 1.5}, [(("posting",), 2.5, 1.9)])
    >>> times["posting"], times.cpu["posting"], times.lanes[0][2]
    (2.0, 1.5, 1.9)
    """

    def __init__(self, seconds=(), cpu=None, lanes=None):
        super().__init__(seconds)
        self.cpu = dict(cpu or {})
        self.lanes = list(lanes or [])


def warm_up(n_encounters: int = 60, report=None, *, jobs: int | None = None) -> WarmTimes:
    """Run each kernel family once on a tiny synthetic ledger.

    Parameters
    ----------
    n_encounters : int
        Size of the synthetic ledger the kernels run on.
    report : callable, optional
        ``report(step, total, family, seconds)`` is called before each family
        (``seconds`` None) and after it (its seconds), so a caller can say
        what is compiling while it compiles (``ledgerkit warm`` prints it). With
        several jobs the families run at once: both calls come once a family and
        every family before it have finished, still in the order of :data:`FAMILIES`.
    jobs : int, optional
        Processes compiling at once (default: 2, or 1 on a one-core machine; more
        than 2 changes nothing). With an empty cache two processes take about half
        the time on two cores: posting's kernels and the 835 reader's and writer's in
        one, every other family in the other (:data:`LANES`).

    Returns
    -------
    WarmTimes
        ``{family: seconds}`` in the order of :data:`FAMILIES`: compile time with an
        empty Numba cache, load time once the cache is filled; ``.cpu`` and ``.lanes``
        say how much CPU each family and each process took.

    Examples
    --------
    >>> timings = warm_up(jobs=1)
    >>> list(timings)[:3]
    ['ledger and classify', '835 read and write', 'posting']
    >>> [len(families) for families, wall, cpu in timings.lanes]  # one process did all
    [7]
    """
    if jobs is None:
        jobs = min(2, os.cpu_count() or 1)
    if jobs <= 1:
        t, cpu = time.perf_counter(), time.process_time()
        timings = _run_families(list(FAMILIES), n_encounters, report)
        lane = (tuple(FAMILIES), time.perf_counter() - t, time.process_time() - cpu)
        return WarmTimes(timings, timings.cpu, [lane])
    return _in_processes(jobs, n_encounters, report)


def _run_families(names: list, n_encounters: int, report=None, on_done=None) -> WarmTimes:
    import ledgerkit as lk

    ledger = lk.synth.generate(n_encounters, seed=0)
    timings = WarmTimes()
    with _compiling() as settle:
        for i, name in enumerate(names, start=1):
            settle()
            _run_family(i, name, names, lk, ledger, timings, report, on_done)
    return timings


def _run_family(i, name, names, lk, ledger, timings, report, on_done) -> None:
    if report is not None:
        report(i, len(names), name, None)
    t, cpu = time.perf_counter(), time.process_time()
    FAMILIES[name](lk, ledger)
    timings[name] = time.perf_counter() - t
    timings.cpu[name] = time.process_time() - cpu
    if report is not None:
        report(i, len(names), name, timings[name])
    if on_done is not None:
        on_done(name, timings[name], timings.cpu[name])


@contextlib.contextmanager
def _compiling() -> Iterator[Callable[[], None]]:
    """Numba compiles faster inside: fewer garbage collections, cheaper flag comparisons.

    Yields ``settle()``, to call before each family. Everything is as before on leaving.
    """
    with _few_collections() as settle, _flags_compared_quickly():
        yield settle


@contextlib.contextmanager
def _few_collections() -> Iterator[Callable[[], None]]:
    """Fewer and cheaper garbage collections while compiling.

    Numba's compiler makes millions of short-lived objects; Python's collector ran
    ~2,000 times a lane and its full passes rescanned every object the imports and
    earlier compiles left: about 10% of each lane's CPU (5 s of 50-70 s, empty cache,
    3 December 2026). ``settle()`` freezes what is alive (never scanned again; unfrozen
    on leaving). With it before each family and the youngest generation collected 30x
    less often, the collector's time fell by half to three quarters (835 family
    alone: 2.7 -> 1.4 s), peak memory +5%.
    """

    ours = gc.get_freeze_count() == 0  # else the caller froze objects: leave them so

    def settle():
        if ours:
            gc.collect()
            gc.freeze()

    thresholds = gc.get_threshold()
    gc.set_threshold(20_000, 20, 20)
    try:
        yield settle
    finally:
        gc.set_threshold(*thresholds)
        if ours:
            gc.unfreeze()


@contextlib.contextmanager
def _flags_compared_quickly() -> Iterator[None]:
    """Numba's compile flags (``TargetConfig``) compared in under 1 us instead of 11.

    Numba looks up each typed call of an overload in a cache whose key holds the
    compile flags: every lookup compares two flag objects, each comparison builds
    both objects' ``values()`` through 22 properties. 250,000 comparisons in the
    posting and 835 process, ~3 s of its CPU (numba 0.68). The same dict, built as
    the defaults updated with the values set; the original is back on leaving, and
    nothing is changed if Numba no longer has this shape.
    """
    from numba.core.compiler import Flags
    from numba.core.targetconfig import TargetConfig as cls

    original = cls.__dict__.get("values")
    defaults: dict = {}

    def values(self):
        kind = type(self)
        base = defaults.get(kind)
        if base is None:
            base = defaults[kind] = {k: o.default for k, o in kind.options.items()}
        return {**base, **self._values}

    try:
        probe = Flags()
        probe.nrt = True
        same = original is not None and values(probe) == original(probe)
    except Exception:  # another Numba: leave it alone
        same = False
    if not same:
        yield
        return
    cls.values = values
    try:
        yield
    finally:
        cls.values = original


def _in_processes(jobs: int, n_encounters: int, report) -> dict:
    """The lanes of :data:`LANES` in fresh interpreters (``python -m ledgerkit.warmup N
    FAMILY...``), at most ``jobs`` at a time; each prints one JSON line per family as
    it finishes and one with its own CPU time at the end. Plain subprocesses, not
    multiprocessing: a user's script calling :func:`warm_up` needs no main guard."""
    import json
    import queue
    import subprocess
    import sys
    import threading

    finished: queue.Queue = queue.Queue()

    def follow(proc, started: float):
        lane_cpu = None
        for line in proc.stdout:
            if line.startswith("{"):  # a family's seconds or the lane's CPU; else not ours
                message = json.loads(line)
                if "lane_cpu" in message:
                    lane_cpu = message["lane_cpu"]
                else:
                    finished.put(message)
        proc.stdout.close()
        code = proc.wait()
        lane = (tuple(proc.args[4:]), time.perf_counter() - started, lane_cpu)
        finished.put({"exit": code, "lane": lane})

    waiting, timings, running, reported = list(LANES), WarmTimes(), 0, 0
    while waiting or running:
        while waiting and running < jobs:
            cmd = [sys.executable, "-m", "ledgerkit.warmup", str(n_encounters), *waiting.pop(0)]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            started = time.perf_counter()
            threading.Thread(target=follow, args=(proc, started), daemon=True).start()
            running += 1
        message = finished.get()
        if "exit" in message:
            running -= 1
            if message["exit"]:
                lane = ", ".join(message["lane"][0])
                raise RuntimeError(f"ledgerkit warm: {lane} failed (exit code {message['exit']})")
            timings.lanes.append(message["lane"])
            continue
        timings[message["family"]] = message["seconds"]
        timings.cpu[message["family"]] = message["cpu"]
        # reported in the order of FAMILIES, each once every family before it is done
        while report is not None and reported < len(FAMILIES):
            name = list(FAMILIES)[reported]
            if name not in timings:
                break
            reported += 1
            report(reported, len(FAMILIES), name, None)
            report(reported, len(FAMILIES), name, timings[name])
    lane_order = {lane: i for i, lane in enumerate(LANES)}
    lanes = sorted(timings.lanes, key=lambda lane: lane_order[lane[0]])
    return WarmTimes(
        {name: timings[name] for name in FAMILIES},
        {name: timings.cpu[name] for name in FAMILIES},
        lanes,
    )


def _classify(lk, ledger) -> None:
    lk.classify(ledger)
    for level in ("procedure", "payer", "encounter"):
        lk.balances(ledger, level=level)
    from ledgerkit.core.sidecar import SIDECAR

    # where notebooks start: a Parquet folder, with its keys sidecar and without
    with tempfile.TemporaryDirectory() as folder:
        ledger.to_parquet(folder)
        lk.classify(lk.Ledger.from_parquet(folder))
        (Path(folder) / SIDECAR).unlink()
        lk.classify(lk.Ledger.from_parquet(folder))
        # scale-out (notebook 06): partitions by hashed encounter id, one classified
        from ledgerkit.partitioning import partition

        parts = partition(ledger, Path(folder) / "parts", 2)
        lk.classify(parts.read(0))


def _x12(lk, ledger) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = lk.write_835(lk.synth.remittances(ledger), Path(folder) / "warm.835")
        lk.read_835(path)
        # a large file's rows are estimated from samples of it: read this one so too
        from ledgerkit.x12 import tokenize

        counted_whole_below = tokenize.SAMPLED_ABOVE
        tokenize.SAMPLED_ABOVE = 0
        try:
            lk.read_835(path)
        finally:
            tokenize.SAMPLED_ABOVE = counted_whole_below


def _posting(lk, ledger) -> None:
    import pyarrow.compute as pc

    entries = ledger.entries
    charges = entries.filter(pc.equal(entries["source"].cast("string"), "charge"))
    base = lk.Ledger.from_arrow(ledger.encounters, ledger.procedures, charges, ledger.payers)
    lk.post(base, lk.synth.remittances(ledger))


def _rules(lk, ledger) -> None:
    rules = lk.default_rules().enable("taa_write_off")
    lk.dry_run(ledger, rules).entries
    lk.suggest_taa(ledger, min_claims=1)
    lk.taa_sweep(ledger, min_claims=1)
    lk.threshold_sweep(ledger)
    from ledgerkit.widgets import RuleTuner

    tuner = RuleTuner(ledger, rules, min_claims=1)
    tuner.taa_percentile.value = 40


def _analytics(lk, ledger) -> None:
    from ledgerkit.analytics import metrics
    from ledgerkit.analytics import payer_behaviour as pb

    metrics.initial_denial_rate(ledger, by="payer")
    metrics.denial_dollars(ledger, by=("payer", "category"))
    metrics.aging(ledger)
    lk.worklist(ledger)
    lk.root_causes(ledger)
    pb.remit_lag(ledger)
    pb.allowed_by_cpt(ledger)
    pb.underpayments(ledger)
    pb.denial_trend(ledger)


def _worked_store(lk, ledger) -> None:
    """Denial work on a LedgerStore (notebooks 02 and 05): its ledger's entries are in
    posting order, not grouped, and work items link appeals to later payments. Posts
    to the store, so it comes after the posting family (:data:`LANES`)."""
    import pyarrow.compute as pc

    from ledgerkit.synth.appeals import overturn_remit
    from ledgerkit.widgets import DenialDashboard, PostingReview, sample_store
    from ledgerkit.widgets.work_actions import record_action

    with tempfile.TemporaryDirectory() as folder:
        store = sample_store(folder, ledger, conflicts=1, unmatched=1, unbalanced=1)
        PostingReview(store, actor="warm")
        worked = DenialDashboard(store, actor="warm")
        wl = worked.worklist_table
        row = wl.filter(pc.equal(wl["class"], "DENIAL")).to_pylist()[-1]
        record_action(
            store, "appeal", row, actor="warm", note="warm-up", appeal_level="1",
            appeal_method="portal",
        )  # fmt: skip
        remit = overturn_remit(store, row["encounter_id"], row["line"], row["carc"])
        store.post(remit, actor="warm", note="payer's answer")
        worked.refresh_work()
        lk.work_items(store)
        lk.appeal_summary(store, row["encounter_id"], line=row["line"], carc=row["carc"])


def _contracts(lk, ledger) -> None:
    from ledgerkit.contracts import expected

    contracts = lk.contracts.load(
        {"payer_class": ["medicare"], "code_from": ["0"], "code_to": ["Z"],
         "percent_of_base": [110.0], "base_schedule": ["base"],
         "mppr_family": ["all"], "mppr_percent": [50.0]},
        schedules={"base": {"code_from": ["0"], "code_to": ["Z"], "rate_cents_per_unit": [100]}},
    )  # fmt: skip
    lk.expected_allowed(ledger, contracts)
    # Large ledgers run the parallel kernels: compile those too.
    serial_below = expected.PARALLEL_FROM
    expected.PARALLEL_FROM = 0
    try:
        lk.expected_allowed(ledger, contracts)
    finally:
        expected.PARALLEL_FROM = serial_below


# Each kernel family and the public calls that compile it, most widely shared first.
FAMILIES = {
    "ledger and classify": _classify,
    "835 read and write": _x12,
    "posting": _posting,
    "rules, TAA, what-if": _rules,
    "denial analytics": _analytics,
    "denial work on a store": _worked_store,
    "contracts": _contracts,
}

# How warm_up(jobs=2) splits the families. CPU seconds of each from an empty cache, both
# processes at once (`ledgerkit warm`, 2-core development machine, 3 December 2026, load
# 1.4-1.8): classify about 10, the 835 family 27, posting 23, rules 20, the denial
# families 10 and contracts 6. The 835 family shares no kernel with the others.
# Classify, the 835 family, contracts (which calls classify's kernels) and the ledger's
# denial analytics in one process; posting, then rules and denial work on a store in
# the other: by the time rules starts (~20 s in) the first process has cached
# classify's kernels, so rules loads them, and the worked store (it posts) loads
# posting's from its own process. With all the denial analytics in the second process
# it took 52-56 s CPU against the first's 46-48 (55-59 s wall).
LANES = (
    ("ledger and classify", "835 read and write", "contracts", "denial analytics"),
    ("posting", "rules, TAA, what-if", "denial work on a store"),
)

if __name__ == "__main__":  # one lane of warm_up: python -m ledgerkit.warmup N FAMILY...
    import json
    import sys

    def _print(name: str, seconds: float, cpu: float) -> None:
        print(json.dumps({"family": name, "seconds": seconds, "cpu": cpu}), flush=True)

    _run_families(sys.argv[2:], int(sys.argv[1]), on_done=_print)
    print(json.dumps({"lane_cpu": time.process_time()}), flush=True)  # start-up included
