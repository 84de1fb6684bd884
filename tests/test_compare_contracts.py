"""benchmarks/compare_contracts.py end to end, small: engines in children, peaks (#19)."""

from __future__ import annotations

import pytest

from benchmarks import compare_contracts


@pytest.mark.slow
def test_compare_contracts_runs_each_engine_in_a_child(capsys):
    assert compare_contracts.main(["--procedures", "2000", "--runs", "1"]) == 0
    out = capsys.readouterr().out
    assert "# same answer on every procedure:" in out
    table = out.split("peak MB")[1].split("(median")[0]
    assert [line.split()[0] for line in table.strip().splitlines()] == ["ledgerkit", "polars"]
    peaks = out.split("peak RSS of every process")[1]
    for label in ("inputs (ledger, contracts, polars lines)", "ledgerkit", "polars"):
        assert f"\n  {label} " in peaks
    assert "compare_contracts.py (parent)" in peaks
    assert out.splitlines()[-1] == "every process stayed under 8 GB"
