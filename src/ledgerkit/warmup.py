"""Compile every kernel family once, so that no user's first call is a compile.

Numba keeps compiled kernels on disk (``cache=True``, see ``_kernels/_njit.py``):
a process that finds them there loads machine code in milliseconds instead of
compiling for seconds. ``make setup`` runs ``ledgerkit warm`` once after
installing, on a tiny synthetic ledger, through the same public calls the
notebooks make.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

__all__ = ["warm_up"]


def warm_up(n_encounters: int = 60, report=None) -> dict:
    """Run each kernel family once on a tiny synthetic ledger.

    Parameters
    ----------
    n_encounters : int
        Size of the synthetic ledger the kernels run on.
    report : callable, optional
        ``report(step, total, family, seconds)`` is called before each family
        (``seconds`` None) and after it (its seconds), so a caller can say
        what is compiling while it compiles (``ledgerkit warm`` prints it).

    Returns
    -------
    dict
        ``{family: seconds}``: compile time with an empty Numba cache, load time
        once the cache is filled.

    Examples
    --------
    >>> timings = warm_up()
    >>> list(timings)[:3]
    ['ledger and classify', '835 read and write', 'posting']
    """
    import ledgerkit as lk

    ledger = lk.synth.generate(n_encounters, seed=0)
    steps = {
        "ledger and classify": _classify,
        "835 read and write": _x12,
        "posting": _posting,
        "rules, TAA, what-if": _rules,
        "denial analytics": _analytics,
        "contracts": _contracts,
    }
    timings = {}
    for i, (name, step) in enumerate(steps.items(), start=1):
        if report is not None:
            report(i, len(steps), name, None)
        t = time.perf_counter()
        step(lk, ledger)
        timings[name] = time.perf_counter() - t
        if report is not None:
            report(i, len(steps), name, timings[name])
    return timings


def _classify(lk, ledger) -> None:
    lk.classify(ledger)
    for level in ("procedure", "payer", "encounter"):
        lk.balances(ledger, level=level)


def _x12(lk, ledger) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = lk.write_835(lk.synth.remittances(ledger), Path(folder) / "warm.835")
        lk.read_835(path)


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
