"""Every analytics benchmark body runs once, small, so the benchmarks cannot rot."""

import pytest

from benchmarks import bench_analytics as B

SMALL = 3_000


@pytest.mark.parametrize("operation", list(B.OPERATIONS))
def test_metric_benchmark_runs(operation):
    bench = B.Metrics()
    bench.setup(SMALL, operation)
    bench.time_operation(SMALL, operation)


def test_facts_benchmark_runs():
    bench = B.Facts()
    bench.setup(SMALL)
    bench.time_facts(SMALL)


def test_compare_script_runs(capsys):
    from benchmarks import compare_analytics

    compare_analytics.main(["--procedures", "4000", "--runs", "1", "--cold-runs", "1"])
    out = capsys.readouterr().out
    assert "facts (first call)" in out and "worklist" in out
    assert "facts (first call) CPU: user " in out and "minor page faults" in out
    assert "cold: a fresh process" in out and "from_parquet + worklist" in out
    # the operations ran in a child; every process's peak RSS closes the output
    peaks = out.split("peak RSS of every process")[1]
    assert "\n  ledgerkit (the operations) " in peaks
    assert "compare_analytics.py (parent)" in peaks
    assert out.splitlines()[-1] == "every process stayed under 8 GB"
