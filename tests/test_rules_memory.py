"""Rules, TAA and what-if on a Parquet folder read only the columns they need.

At 10M procedures the entries table is about 5 GB in memory: a dry run that read
it whole (the TAA history's negation flags did, through ``ledger.entries``) put
compare_rules' ledgerkit child over 8 GB (issue #19 item 6). These tests pin that
the folder's entries (and procedures) tables stay unread through a dry run, its
hits, the sweeps and a what-if, and that every answer equals the in-memory ledger's.
"""

from __future__ import annotations

import ledgerkit as lk
from benchmarks._rules_data import twenty_rules
from ledgerkit import whatif
from ledgerkit.core import sidecar
from ledgerkit.rules import engine as R


def _negated_ledger():
    ledger = lk.synth.generate(400, seed=11)
    entries = ledger.entries.to_pydict()
    paid = [
        e
        for e, k, n in zip(entries["entry_id"], entries["kind"], entries["negates"], strict=True)
        if k == "payment" and n is None
    ]
    # negated payments make the TAA history's "not reversed" test read the negates column
    return ledger.negate(paid[5:60:7], actor="t", note="x")


def test_dry_run_and_sweeps_leave_the_entries_table_unread(tmp_path):
    ledger = _negated_ledger()
    folder = ledger.to_parquet(tmp_path / "l")
    back = lk.Ledger.from_parquet(folder)
    rules = twenty_rules()
    run, expected = R.dry_run(back, rules), R.dry_run(ledger, rules)
    assert run.summary.equals(expected.summary)
    assert sum(run.summary["procedures"].to_pylist()) > 0
    for mode in ("percentile", "fraction"):
        assert whatif.taa_sweep(back, mode=mode).equals(whatif.taa_sweep(ledger, mode=mode))
    assert whatif.threshold_sweep(back).equals(whatif.threshold_sweep(ledger))
    assert isinstance(back._tables["entries"], sidecar.LazyTable)
    assert run.hits.equals(expected.hits)
    assert run.entries.equals(expected.entries)
    assert isinstance(back._tables["entries"], sidecar.LazyTable)
