"""The library calls the notebooks in notebooks/ make, on the bundled sample, and the
kernels they need that ``ledgerkit warm`` does not compile (issue #19: none).

``python tests/notebook_calls.py`` runs them once and prints every kernel Numba
compiled meanwhile: run it with the ``NUMBA_CACHE_DIR`` that a ``ledgerkit warm`` into
an empty cache filled. ``python tests/notebook_calls.py --after-warm`` runs the warm-up's
families, then the notebook calls, and prints (one JSON line) the kernel signatures
the notebooks needed beyond the warm-up's, whatever the cache held before
(tests/test_cli.py).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def recorded_compiles():
    """Yield a list that collects ``(kernel, argument types)`` of every Numba compile.

    Numba fires ``numba:compile`` only for a compile, not for an overload loaded from
    its on-disk cache or already in memory.
    """
    from numba.core import event

    compiled: list = []

    class _Listener(event.Listener):
        def on_start(self, ev):
            function = ev.data["dispatcher"].py_func
            compiled.append((f"{function.__module__}.{function.__qualname__}", ev.data["args"]))

        def on_end(self, ev):
            pass

    listener = _Listener()
    event.register("numba:compile", listener)
    try:
        yield compiled
    finally:
        event.unregister("numba:compile", listener)


def run_notebook_calls(folder) -> None:
    """What notebooks 01-06 compute (not their display), in ``folder`` for stores."""
    import pyarrow as pa
    import pyarrow.compute as pc

    import ledgerkit as lk
    from ledgerkit import metrics
    from ledgerkit import payer_behaviour as pb
    from ledgerkit.synth.appeals import overturn_remit
    from ledgerkit.widgets import (
        DenialDashboard,
        EncounterView,
        PostingReview,
        RuleTuner,
        TrendChart,
        remit_lag_figure,
        sample_store,
    )
    from ledgerkit.widgets.work_actions import record_action

    folder = Path(folder)
    ledger = lk.synth.load_sample()

    # 01 quickstart
    classified = lk.classify(ledger)
    lk.format_summary(classified)
    work = classified.filter(
        pc.and_(
            pc.invert(classified["balanced"]),
            pc.is_in(classified["class"].cast("string"), value_set=pa.array(lk.WORKLIST_CLASSES)),
        )
    ).sort_by([("balance", "descending")])
    encounter = work["encounter_id"][0].as_py()
    lk.balances(ledger, level="procedure")
    ledger.entries_of(encounter)
    EncounterView(ledger, encounter)

    # 02 posting review
    store = sample_store(folder / "review")
    store.history()
    PostingReview(store, actor="analyst")
    lk.classify(store.ledger())

    # 03 rule tuning
    rules = lk.default_rules().enable("taa_write_off")
    tuner = RuleTuner(ledger, rules, min_claims=3)
    tuner.taa_percentile.value = 50
    tuner.small_balance.value = 9.99
    tuned = tuner.tuned()
    lk.dry_run(ledger, tuned).entries
    lk.report.proposal(ledger, tuned, title="proposal")

    # 04 payer behaviour
    remit_lag_figure(pb.remit_lag(ledger))
    under = pb.underpayments(ledger)
    pb.allowed_by_cpt(ledger)
    EncounterView(ledger, under["encounter_id"][0].as_py())
    TrendChart(pb.denial_trend(ledger))
    contracts = lk.synth.sample_contracts()
    priced = lk.synth.generate(5_000, seed=2026, contracts=contracts, underpay_rate=0.03)
    lk.underpayments(priced, contracts, by="payer")
    lk.underpayments(priced, contracts, by="cpt")
    lk.underpaid_lines(priced, contracts)
    lk.worklist(priced, contracts=contracts)

    # 05 denial worklist
    metrics.initial_denial_rate(ledger, by="payer")
    dashboard = DenialDashboard(ledger)
    metrics.denial_dollars(ledger, by=("payer", "category"))
    as_of = dt.date(2025, 12, 31)
    metrics.aging(ledger.as_of(as_of), today=as_of)
    dashboard.worklist_table
    store = sample_store(folder / "denials", conflicts=0, unmatched=0, unbalanced=0)
    worked = DenialDashboard(store, actor="analyst")
    wl = worked.worklist_table
    row = wl.filter(pc.equal(wl["class"], "DENIAL")).to_pylist()[-1]
    record_action(store, "assign", row, actor="analyst", note="mine", owner="analyst")
    record_action(
        store, "appeal", row, actor="analyst", note="on file", appeal_level="1",
        appeal_method="portal",
    )  # fmt: skip
    store.post(overturn_remit(store, row["encounter_id"], row["line"], row["carc"]), actor="era")
    worked.refresh_work()
    lk.work_items(store)
    lk.appeal_summary(store, row["encounter_id"], line=row["line"], carc=row["carc"])

    # 06 scale-out, with Dask's workers as threads of this process (Dask is optional:
    # without it, what a worker runs on one partition)
    from ledgerkit.partitioning import partition

    parts = partition(ledger, folder / "parts", 4)
    try:
        from distributed import Client
    except ImportError:
        lk.classify(parts.read(0))
    else:
        import ledgerkit.dask as lkd

        with Client(
            processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0"
        ) as c:
            lkd.classify(parts, client=c)
            lkd.suggest_taa(parts, percentile=25, min_claims=5, client=c)
            lkd.taa_sweep(parts, [10, 25, 50, 75, 90], min_claims=5, by_payer=False, client=c)
            lkd.initial_denial_rate(parts, "payer", client=c)
    lk.suggest_taa(ledger, 25, 5)
    lk.taa_sweep(ledger, [10, 25, 50, 75, 90], min_claims=5, by_payer=False)


def kernel_signatures() -> set:
    """``(kernel, signature)`` of every Numba signature ledgerkit's dispatchers hold
    in this process, compiled or loaded from the cache."""
    import sys

    from numba.core.registry import CPUDispatcher

    seen = set()
    for name, module in list(sys.modules.items()):
        if not name.startswith("ledgerkit") or module is None:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, CPUDispatcher):
                qualname = f"{value.py_func.__module__}.{value.py_func.__qualname__}"
                seen.update((qualname, str(sig)) for sig in value.signatures)
    return seen


def needed_beyond_warm() -> list:
    """Run every family of ``ledgerkit warm`` here, then the notebook calls: the
    kernel signatures only the latter needed, sorted."""
    import ledgerkit as lk
    from ledgerkit.warmup import FAMILIES

    ledger = lk.synth.generate(60, seed=0)  # as warm_up's default
    for family in FAMILIES.values():
        family(lk, ledger)
    warmed = kernel_signatures()
    with tempfile.TemporaryDirectory() as tmp:
        run_notebook_calls(tmp)
    return sorted(kernel_signatures() - warmed)


if __name__ == "__main__":
    import json
    import sys
    import time

    if sys.argv[1:] == ["--after-warm"]:
        print(json.dumps(needed_beyond_warm()))
        sys.exit(0)
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, recorded_compiles() as compiled:
        run_notebook_calls(tmp)
    for name, args in compiled:
        print(f"compiled {name} {args}")
    print(f"{len(compiled)} compiles, {time.perf_counter() - t:.1f} s")
