"""asv benchmarks of read_835 / write_835 / read_837 on files written from synthetic ledgers.

The files are made once by ``write_835`` from ``ledgerkit.synth`` (see
``compare_x12.make_file``, cached in ``$LEDGERKIT_BENCH_DIR``). ``track_*`` report
milliseconds per MB and microseconds per claim beside the times: throughput as a time
per unit, so that higher is worse, as asv reads every figure. Every body also runs
once, small, in tests/test_x12_bench.py so the benchmarks cannot rot. The peer comparisons
are benchmarks/compare_x12.py (oxedi, edi-835-parser) and compare_837.py (pyx12,
linuxforhealth-x12; its ``make_file`` writes the 837P files read here).
"""

from __future__ import annotations

import time

from ledgerkit.synth.remits import remittances_from_ledger
from ledgerkit.x12 import read_835, read_837, write_835

from ._data import by_size
from .compare_837 import make_file as make_837_file
from .compare_x12 import BENCH_DIR, make_file

# synthetic encounters -> roughly 0.5 KB of 835 text each (400k: ~210 MB)
SIZES = by_size([300], [50_000], [50_000, 400_000])


class Read835:
    params = [SIZES]
    param_names = ["encounters"]
    timeout = 1800
    number = 1
    repeat = 3

    def setup(self, encounters):
        self.path = make_file(encounters)
        self.mb = self.path.stat().st_size / 1e6
        read_835(self.path)  # JIT warm-up, page cache warm

    def time_read_835(self, encounters):
        read_835(self.path)

    def time_read_835_salted(self, encounters):
        read_835(self.path, salt="benchmark-salt")

    def track_ms_per_mb(self, encounters):
        t = time.perf_counter()
        read_835(self.path)
        return 1e3 * (time.perf_counter() - t) / self.mb

    track_ms_per_mb.unit = "ms/MB"

    def track_us_per_claim(self, encounters):
        t = time.perf_counter()
        r = read_835(self.path)
        return 1e6 * (time.perf_counter() - t) / r.claims.num_rows

    track_us_per_claim.unit = "us/claim"

    def peakmem_read_835(self, encounters):
        read_835(self.path)


# megabytes of 837P written by write_837 (~440 bytes per encounter; 100 MB: ~230k
# encounters, ~520k lines); read_837's speed class is 100 MB/s on one core (10 ms/MB)
SIZES_837 = by_size([0.2], [50], [50, 100])


class Read837:
    params = [SIZES_837]
    param_names = ["megabytes"]
    timeout = 1800
    number = 1
    repeat = 3

    def setup(self, megabytes):
        self.path = make_837_file(megabytes, seed=11)
        self.mb = self.path.stat().st_size / 1e6
        read_837(self.path)  # JIT warm-up, page cache warm

    def time_read_837(self, megabytes):
        read_837(self.path)

    def track_ms_per_mb(self, megabytes):
        t = time.perf_counter()
        read_837(self.path)
        return 1e3 * (time.perf_counter() - t) / self.mb

    track_ms_per_mb.unit = "ms/MB"

    def track_us_per_claim(self, megabytes):
        t = time.perf_counter()
        c = read_837(self.path)
        return 1e6 * (time.perf_counter() - t) / c.claims.num_rows

    track_us_per_claim.unit = "us/claim"

    def peakmem_read_837(self, megabytes):
        read_837(self.path)


class Write835:
    """write_835 from synthetic remittances (80k encounters: ~110k claims, ~41 MB of 835)."""

    params = [by_size([200], [80_000], [20_000, 80_000])]
    param_names = ["encounters"]
    timeout = 1800
    number = 1
    repeat = 3

    def setup(self, encounters):
        import ledgerkit as lk

        self.r = remittances_from_ledger(lk.synth.generate(encounters, seed=7))
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        self.path = BENCH_DIR / f"write_bench_{encounters}.835"
        write_835(self.r, self.path)  # JIT warm-up
        self.mb = self.path.stat().st_size / 1e6

    def time_write_835(self, encounters):
        write_835(self.r, self.path)

    def track_ms_per_mb(self, encounters):
        t = time.perf_counter()
        write_835(self.r, self.path)
        return 1e3 * (time.perf_counter() - t) / self.mb

    track_ms_per_mb.unit = "ms/MB"

    def track_us_per_claim(self, encounters):
        t = time.perf_counter()
        write_835(self.r, self.path)
        return 1e6 * (time.perf_counter() - t) / self.r.claims.num_rows

    track_us_per_claim.unit = "us/claim"

    def time_remittances_from_ledger(self, encounters):
        import ledgerkit as lk

        remittances_from_ledger(lk.synth.generate(encounters, seed=7))


def timeraw_import_x12():
    return "import ledgerkit.x12"


def timeraw_first_read_835():
    # fresh process: import + loading the compiled kernels from the cache + one small read
    return """
from ledgerkit.x12 import read_835
read_835(b"ST*835*1~BPR*I*10*C*CHK************20250101~CLP*E1*1*10*10~SE*4*1~")
"""
