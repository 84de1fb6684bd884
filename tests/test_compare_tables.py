"""benchmarks/compare.py prints a warm and a cold table, the engines agreeing (issue #19)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import compare, peers


@pytest.mark.slow
def test_compare_prints_warm_and_cold_tables(capsys):
    result = compare.main(
        ["--procedures", "3000", "--runs", "1", "--cold-runs", "1",
         "--engines", "ledgerkit,polars,duckdb"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "all engines agree" in out
    assert "warm: in memory" in out and "cold: a fresh process" in out
    assert [r["engine"] for r in result["warm"]] == ["ledgerkit", "polars", "duckdb"]
    cold = {r["engine"]: r for r in result["cold"]}
    assert list(cold) == ["ledgerkit", "ledgerkit, plain", "polars", "duckdb"]
    assert all(r["wall"] > 0 and r["cpu"] > 0 and r["peak_mb"] > 0 for r in cold.values())
    # the answer comes before the process's exit
    assert all(0 < r["answer"] <= r["wall"] for r in cold.values())


def test_cold_code_reads_the_folder_only(tmp_path):
    """Each cold run names the folder and imports only its own engine."""
    for engine in ("ledgerkit", "polars", "duckdb"):
        code = compare.cold_code(engine, tmp_path / "ledger")
        assert str(tmp_path / "ledger") in code
        others = {"polars", "duckdb"} - {engine}
        assert not any(f"import {o}" in code for o in others)
    # ledgerkit writes the figures the peers compute, no more (as in the warm table)
    assert f"figures={compare.CHECK[2:]!r}" in compare.cold_code("ledgerkit", tmp_path)
    header = Path(peers.__file__).read_text().split("\ndef ")[0]
    assert "import polars" not in header and "import duckdb" not in header
