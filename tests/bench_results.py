"""Synthetic asv results files (the format asv 0.6 writes) for the benchmark tooling tests."""

COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a",
           "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number",
           "stats_repeat", "samples"]  # fmt: skip


def bench_result(commit: str, results: dict, date: int = 1_796_000_000_000) -> dict:
    """An asv results file; ``results``: name -> (params, [(median, low, high), ...])."""
    out = {}
    for name, (params, values) in results.items():
        medians = [v[0] for v in values]
        lows, highs = [v[1] for v in values], [v[2] for v in values]
        # the tests give one interval, used as asv's 99 % CI and as its quartiles
        out[name] = [medians, params, "v1", date, 1.0, lows, highs, lows, highs,
                     [1] * len(values), [10] * len(values)]  # fmt: skip
    return {"commit_hash": commit, "env_name": "ledgerkit-tiny", "date": date,
            "params": {"machine": "ledgerkit-bench"}, "python": "3.11", "requirements": {},
            "env_vars": {}, "result_columns": COLUMNS, "results": out, "version": 2}  # fmt: skip


SIZES_AND_LEVELS = [["3000", "10000"], ["'payer'", "'encounter'"]]


def sample_results() -> dict:
    """Results of six benchmarks at commit aaaa...: timings, params, memory, a track."""
    return bench_result("a" * 40, {
        "bench_core.Classify.time_classify": ([["3000"]], [(0.010, 0.009, 0.011)]),
        "bench_core.Balances.time_balances": (SIZES_AND_LEVELS, [
            (0.020, 0.019, 0.021), (0.030, 0.029, 0.031),
            (0.200, 0.190, 0.210), (0.300, 0.290, 0.310)]),
        "bench_core.Classify.peakmem_classify": ([["3000"]], [(1e8, None, None)]),
        "bench_x12.Read835.track_ms_per_mb": ([["300"]], [(5.0, None, None)]),
        "bench_core.timeraw_import_ledgerkit": ([], [(0.5, 0.45, 0.55)]),
        "bench_core.Keys.time_build_keys": ([["3000"]], [(0.004, 0.003, 0.005)]),
    })  # fmt: skip
