"""asv benchmarks of ledgerkit.widgets (kernel side: what a widget callback costs).

Targets: one ``RuleTuner`` update at 1M encounters under 150 ms; a 100k-row
``PagedTable`` built (first page shown) under 2 s, and a sort or a page turn
under 200 ms. The browser only ever receives one page, so its rendering cost
does not grow with the row count.

Run directly for a quick report: ``.venv/bin/python -m benchmarks.bench_widgets``.
"""

import time

import numpy as np
import pyarrow as pa

from ._data import TUNER_PROCEDURES, by_size, ledger_with_procedures

REASONS = (
    "conflict",
    "negative_balance",
    "unmatched_claim",
    "unbalanced_remit",
    "unmatched_line",
    "payer_not_in_coverage",
)
PAYERS = ("MCR01", "MCD01", "BCBS1", "AETNA", "UHC01", "SUPP1", "CIGNA")


def flagged_table(n: int, seed: int = 0) -> pa.Table:
    """A flagged-remit worklist of ``n`` rows shaped like ``PostingReview``'s."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("R", np.arange(n).astype(str))
    enc = np.char.add("E", rng.integers(0, n, n).astype(str))
    return pa.table(
        {
            "remit_id": pa.array(ids.tolist(), pa.string()),
            "encounter_id": pa.array(enc.tolist(), pa.string()),
            "payer_id": pa.array(np.array(PAYERS)[rng.integers(0, len(PAYERS), n)].tolist()),
            "reason_code": pa.array(np.array(REASONS)[rng.integers(0, len(REASONS), n)].tolist()),
            "charge_cents": pa.array(rng.integers(1_000, 500_000, n)),
            "paid_cents": pa.array(rng.integers(0, 300_000, n)),
            "decided_at": pa.array(
                (np.int64(1_767_225_600_000_000) + rng.integers(0, 10**13, n)).astype(
                    "datetime64[us]"
                )
            ),
        }
    )


class RuleTunerUpdate:
    """One slider move (TAA percentile); full: 1M encounters (2.3M procedures)."""

    params = [TUNER_PROCEDURES]
    param_names = ["procedures"]
    timeout = 900
    number = 1
    repeat = 20

    def setup(self, procedures):
        from ledgerkit.widgets import RuleTuner

        self.tuner = RuleTuner(ledger_with_procedures(procedures))
        self.level = 20.0

    def time_update(self, procedures):
        self.level = 20.0 if self.level >= 80 else self.level + 1
        self.tuner.taa_percentile.value = self.level  # the observer runs update()


class PagedTable100k:
    params = [by_size([2_000], [100_000], [100_000])]
    param_names = ["rows"]
    number = 1
    repeat = 10

    def setup(self, rows):
        from ledgerkit.widgets import PagedTable

        self.table = flagged_table(rows)
        self.cls = PagedTable
        self.widget = PagedTable(
            self.table, filter_columns=["reason_code", "payer_id"], range_column="paid_cents"
        )
        self.desc = False

    def time_render(self, rows):
        self.cls(self.table, filter_columns=["reason_code", "payer_id"], range_column="paid_cents")

    def time_sort(self, rows):
        self.desc = not self.desc
        self.widget.sort_by.value = "paid_cents"
        self.widget.descending.value = self.desc

    def time_page(self, rows):
        self.widget.go(self.widget.state.page + 1)

    def time_filter(self, rows):
        f = self.widget.filters["reason_code"]
        f.value = "conflict" if f.value != "conflict" else "(all)"


def _report():
    def t(fn, repeat=10):
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return np.median(times) * 1000, np.max(times) * 1000

    t0 = time.perf_counter()
    b = PagedTable100k()
    b.setup(100_000)
    print(
        "PagedTable 100k rows: first build (incl. imports) "
        f"{1000 * (time.perf_counter() - t0):.0f} ms"
    )
    for name in ("render", "sort", "page", "filter"):
        med, worst = t(lambda name=name: getattr(b, f"time_{name}")(100_000))
        print(f"  {name:7s} median {med:7.1f} ms   max {worst:7.1f} ms")
    t0 = time.perf_counter()
    r = RuleTunerUpdate()
    r.setup(2_300_000)
    print(f"RuleTuner at 1M encounters: build {time.perf_counter() - t0:.1f} s (ledger cached)")
    med, worst = t(lambda: r.time_update(2_300_000), repeat=20)
    print(
        f"  update  median {med:7.1f} ms   max {worst:7.1f} ms "
        f"(kernel side: WhatIf + totals + figure marker)"
    )


if __name__ == "__main__":
    _report()
