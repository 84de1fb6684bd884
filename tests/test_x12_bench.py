"""Run every benchmark body of benchmarks/bench_x12.py once, small (835 and 837)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest


@pytest.fixture
def bench(tmp_path, monkeypatch):
    monkeypatch.setenv("LEDGERKIT_BENCH_DIR", str(tmp_path))
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1]))
    for name in ("benchmarks.compare_x12", "benchmarks.compare_837", "benchmarks.bench_x12"):
        sys.modules.pop(name, None)
    return importlib.import_module("benchmarks.bench_x12")


def test_bench_bodies_run(bench):
    b = bench.Read835()
    b.setup(300)
    b.time_read_835(300)
    b.time_read_835_salted(300)
    assert b.track_ms_per_mb(300) > 0 and b.track_us_per_claim(300) > 0
    b.peakmem_read_835(300)
    r = bench.Read837()
    r.setup(0.2)
    r.time_read_837(0.2)
    assert r.track_ms_per_mb(0.2) > 0 and r.track_us_per_claim(0.2) > 0
    r.peakmem_read_837(0.2)
    w = bench.Write835()
    w.setup(200)
    w.time_write_835(200)
    assert w.track_ms_per_mb(200) > 0 and w.track_us_per_claim(200) > 0
    w.time_remittances_from_ledger(200)
    assert "ledgerkit.x12" in bench.timeraw_import_x12()
    compile(bench.timeraw_first_read_835(), "<timeraw>", "exec")
