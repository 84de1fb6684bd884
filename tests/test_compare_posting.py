"""benchmarks/compare_posting.py: warm and cold tables, and peers that agree (issue #19)."""

from __future__ import annotations

import numpy as np
import pytest

import ledgerkit as lk
from benchmarks import compare_posting
from benchmarks import posting_peers as peers
from benchmarks._posting_data import posting_workload


def test_peers_post_what_ledgerkit_posts():
    """On a batch without conflicts or reversal interplay, the peers' set-based core posts
    the same claims, entries and cents as ledgerkit (exact cents)."""
    base, remits = posting_workload(3000, 400)
    result = lk.post(base, remits)
    counts = result.counts()
    assert counts["flagged"][0] == 0  # the peers' subset of the rules suffices here
    tables = {n: getattr(base, n) for n in peers.LEDGER} | {
        n: getattr(remits, n) for n in peers.BATCH
    }
    expected = {
        "posted": counts["posted"][0],
        "entries": result.entries.num_rows,
        "cents": int(np.asarray(result.entries["amount_cents"]).sum()),
        "ledger_entries": result.ledger.entries.num_rows,
    }
    assert peers.post_polars(peers.polars_frames(tables)) == expected
    con = peers.duckdb_connection(tables)
    assert peers.post_duckdb(con) == expected
    assert peers.post_duckdb(con) == expected  # rolled back: the same ledger each run


@pytest.mark.slow
def test_compare_posting_prints_warm_and_cold_tables(capsys):
    assert compare_posting.main(["--procedures", "2000", "--claims", "200", "--runs", "1",
                                 "--cold-runs", "1"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "warm: " in out and "cold: a fresh process" in out
    warm = out.split("warm: ")[1].split("(prep:")[0]
    assert [line.split()[0] for line in warm.splitlines()[3:]] == list(compare_posting.ENGINES)
    assert "ledgerkit stages of one post:" in out and "of which key update" in out
    cold = out.split("cold: ")[1]
    assert all(engine in cold for engine in compare_posting.ENGINES)
    # the data and every engine in children; each process's peak RSS closes the output
    peaks = out.split("peak RSS of every process")[1]
    for label in ("data", *(f"warm {e}" for e in compare_posting.ENGINES)):
        assert f"\n  {label} " in peaks
    assert "compare_posting.py (parent)" in peaks
    assert out.splitlines()[-1] == "every process stayed under 8 GB"


@pytest.mark.slow
def test_compare_posting_store_round_lists_its_fresh_process_peak(capsys):
    """--store: the store round (in the data child) and the fresh process that opens the
    store are both in the peak RSS table."""
    assert compare_posting.main(["--procedures", "2000", "--claims", "200", "--runs", "1",
                                 "--cold-runs", "0", "--engines", "ledgerkit",
                                 "--store"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    store = out.split("LedgerStore (Delta Lake):")[1]
    assert "the same batch again (all archived)" in store and "store on disk" in store
    peaks = out.split("peak RSS of every process")[1]
    for label in ("data (+ store)", "store: fresh process, open + ledger()"):
        assert f"\n  {label} " in peaks
    assert out.splitlines()[-1] == "every process stayed under 8 GB"
