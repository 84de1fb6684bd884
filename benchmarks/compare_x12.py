"""read_835 against the peers a user would pick instead: oxedi and edi-835-parser.

Run (after ``pip install -e .[bench]``)::

    python benchmarks/compare_x12.py            # 200+ MB file, 400k synthetic encounters
    python benchmarks/compare_x12.py --small    # quick check, ~25 MB
    python benchmarks/compare_x12.py --cold     # also: first read in a fresh process, no cache

The large file is made once by ``write_835`` from ``synth`` (``ledgerkit.synth.generate``
-> ``remittances_from_ledger`` -> ``write_835``) and cached in ``$LEDGERKIT_BENCH_DIR``
(default ``/tmp/ledgerkit-bench``). Each reader is timed end to end from a path into its
own output (ledgerkit: Arrow tables; oxedi: its Arrow tables; edi-835-parser: its
transaction objects, then ``to_dataframe`` as a user would), best of a few runs after a
warm-up, on one thread. edi-835-parser is pure Python and slow, so it reads a ~1 MB slice
(a whole 835 file written from a smaller synthetic ledger); the ratio is computed on that
same slice. Peak memory of read_835 is the growth of the peak RSS of a fresh process.
``--cold`` also times the first ``read_835`` of a fresh process whose Numba cache
directory is empty (what a user waits for after installing or upgrading). The last line
is ``write_835``'s speed: the big file's remittances written again (the same bytes).

One thread: Numba's thread count is set to 1 when the script runs (never at import: the
test session imports this module), and the peers read on one thread too. Beside each
wall time the CPU time of the same best run is shown: on a loaded shared machine the
wall time also counts waiting for a core, so the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(os.environ.get("LEDGERKIT_BENCH_DIR", "/tmp/ledgerkit-bench"))


def make_file(n_encounters: int, seed: int = 7, numeric_payer_ids: bool = False) -> Path:
    """An 835 file written by write_835 from a synthetic ledger (cached).

    ``numeric_payer_ids``: the slice for edi-835-parser, which reads N1*PR N104 as an
    integer and one transaction (ST..SE) per file: one payment of every claim, payer
    id 10001.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    import ledgerkit as lk
    from ledgerkit.synth.remits import remittances_from_ledger
    from ledgerkit.x12 import write_835

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    suffix = "_numeric" if numeric_payer_ids else ""
    path = BENCH_DIR / f"synth_{n_encounters}_{seed}{suffix}.835"
    if not path.exists():
        t = time.perf_counter()
        r = remittances_from_ledger(lk.synth.generate(n_encounters, seed=seed))
        if numeric_payer_ids:
            total = pc.sum(r.claims["paid_cents"]).as_py()
            tx = r.transactions.slice(0, 1)
            for name, value in (("payer_id", "10001"), ("payment_cents", abs(total)),
                                ("credit_debit", "D" if total < 0 else "C")):  # fmt: skip
                i = tx.schema.get_field_index(name)
                tx = tx.set_column(
                    i, tx.schema.field(i), pa.array([value], tx.schema.field(i).type)
                )
            r.transactions = tx
            i = r.claims.schema.get_field_index("transaction_id")
            r.claims = r.claims.set_column(
                i, r.claims.schema.field(i), pa.array([0] * r.claims.num_rows, pa.int32())
            )
        write_835(r, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").rename(path)
        took = time.perf_counter() - t
        print(f"  wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {took:.0f} s")
    return path


def best_of(fn, repeat: int) -> float:
    return best_of_cpu(fn, repeat)[0]


def best_of_cpu(fn, repeat: int) -> tuple[float, float]:
    """(best wall time, best CPU time of the process) of ``repeat`` calls."""
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return min(wall), min(cpu)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:  # pragma: no cover - not Linux
        return "unknown"


def read_ledgerkit(path):
    from ledgerkit.x12 import read_835

    return read_835(path)


def write_speed(path: Path, repeat: int) -> dict:
    """write_835 of the remittances read from ``path`` (the same bytes again), best of a few."""
    from ledgerkit.x12 import read_835, write_835

    r = read_835(path)
    out = BENCH_DIR / "write_speed.835"
    write_835(r, out)  # JIT warm-up
    seconds, cpu = best_of_cpu(lambda: write_835(r, out), repeat)
    mb = out.stat().st_size / 1e6
    return {"write_mb": mb, "write_s": seconds, "write_mb_s": mb / seconds,
            "write_cpu_s": cpu, "write_cpu_mb_s": mb / cpu}  # fmt: skip


def read_oxedi(path):
    import oxedi
    import pyarrow as pa

    res = oxedi.parse_file(str(path))
    return {name: pa.table(res.tables[name]) for name in res.tables.keys()}


def read_edi835parser(path):
    import edi_835_parser

    return edi_835_parser.parse(str(path)).to_dataframe()


def peak_memory(path: Path) -> dict:
    """Peak RSS growth while reading ``path`` in a fresh process (after imports and JIT).

    Linux: the peak (VmHWM) is reset through /proc/self/clear_refs after warm-up, so the
    compiler's own peak does not hide the reader's.
    """
    code = f"""
import json
from ledgerkit.x12 import read_835
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
read_835({str(Path(__file__).parents[1] / "data/samples/835")!r})
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
r = read_835({str(path)!r})
print(json.dumps({{"before_mb": before, "peak_mb": status("VmHWM")}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_start() -> dict:
    """Import and first read_835 (of the 1 MB slice) in a fresh process with an empty cache."""
    import tempfile

    code = f"""
import json, time
t = time.perf_counter()
from ledgerkit.x12 import read_835
t1 = time.perf_counter()
read_835({str(make_file(2_000, numeric_payer_ids=True))!r})
print(json.dumps({{"import_s": t1 - t, "first_read_s": time.perf_counter() - t1}}))
"""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", action="store_true", help="25 MB instead of 200+ MB")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cold", action="store_true", help="also time a cold start (compile)")
    args = ap.parse_args(argv)
    import numba

    numba.set_num_threads(1)  # at run time: see the module docstring
    from ledgerkit.x12 import read_835

    big = make_file(50_000 if args.small else 400_000)
    slice_ = make_file(2_000, numeric_payer_ids=True)
    size = big.stat().st_size / 1e6
    read_835(slice_)  # JIT warm-up (compiled kernels are cached on disk too)
    r = read_835(big)
    n_claims = r.claims.num_rows
    del r
    print(f"load average {load_average()} (1, 5, 15 min); one thread; best of {args.repeat}")
    t_lk, cpu_lk = best_of_cpu(lambda: read_ledgerkit(big), args.repeat)
    print(f"ledgerkit read_835   {size:7.1f} MB  {t_lk:6.2f} s  {size / t_lk:7.1f} MB/s  "
          f"{n_claims / t_lk:,.0f} claims/s  (CPU {cpu_lk:.2f} s: {size / cpu_lk:.1f} MB/s)"
          )  # fmt: skip
    results = {"file_mb": size, "claims": n_claims, "ledgerkit_s": t_lk,
               "ledgerkit_mb_s": size / t_lk, "ledgerkit_claims_s": n_claims / t_lk,
               "ledgerkit_cpu_s": cpu_lk, "ledgerkit_cpu_mb_s": size / cpu_lk}  # fmt: skip

    # oxedi on the same big file when it can, else on the 25 MB file.
    try:
        ox_path = big
        t_ox, cpu_ox = best_of_cpu(lambda: read_oxedi(ox_path), max(1, args.repeat - 1))
    except MemoryError:  # pragma: no cover
        ox_path = make_file(50_000)
        t_ox, cpu_ox = best_of_cpu(lambda: read_oxedi(ox_path), args.repeat)
    ox_mb = ox_path.stat().st_size / 1e6
    t_lk_ox, cpu_lk_ox = (
        (t_lk, cpu_lk)
        if ox_path == big
        else best_of_cpu(lambda: read_ledgerkit(ox_path), args.repeat)
    )
    print(f"oxedi parse_file     {ox_mb:7.1f} MB  {t_ox:6.2f} s  {ox_mb / t_ox:7.1f} MB/s  "
          f"-> ledgerkit is {t_ox / t_lk_ox:.1f}x oxedi (CPU {cpu_ox:.2f} s: "
          f"{cpu_ox / cpu_lk_ox:.1f}x)")  # fmt: skip
    results.update(
        oxedi_mb=ox_mb, oxedi_s=t_ox, oxedi_mb_s=ox_mb / t_ox, ratio_oxedi=t_ox / t_lk_ox,
        oxedi_cpu_s=cpu_ox, ratio_oxedi_cpu=cpu_ox / cpu_lk_ox,
    )  # fmt: skip

    sl_mb = slice_.stat().st_size / 1e6
    # both best of several runs; ledgerkit reads the slice in a few ms, so it gets more
    # runs to be as robust to a loaded machine as edi-835-parser's half-second ones
    t_ep = best_of(lambda: read_edi835parser(slice_), args.repeat)
    t_lk_sl = best_of(lambda: read_ledgerkit(slice_), 10 * max(args.repeat, 3))
    print(f"edi-835-parser       {sl_mb:7.1f} MB  {t_ep:6.2f} s  {sl_mb / t_ep:7.2f} MB/s  "
          f"-> ledgerkit is {t_ep / t_lk_sl:.0f}x edi-835-parser (same slice, ledgerkit "
          f"{sl_mb / t_lk_sl:.0f} MB/s)")  # fmt: skip
    results.update(edi835_mb=sl_mb, edi835_s=t_ep, edi835_mb_s=sl_mb / t_ep,
                   ledgerkit_slice_s=t_lk_sl, ratio_edi835=t_ep / t_lk_sl)  # fmt: skip

    mem = peak_memory(big)
    growth = mem["peak_mb"] - mem["before_mb"]
    print(f"peak memory of read_835: +{growth:.0f} MB RSS = {growth / size:.2f}x the file "
          f"({size:.0f} MB); load average now {load_average()}")  # fmt: skip
    results.update(peak_growth_mb=growth, peak_ratio=growth / size)
    if args.cold:
        cold = cold_start()
        print(f"cold start: import {cold['import_s']:.1f} s, first read_835 (compiles the "
              f"kernels, empty cache) {cold['first_read_s']:.1f} s")  # fmt: skip
        results.update(cold_import_s=cold["import_s"], cold_first_read_s=cold["first_read_s"])
    results.update(write_speed(big, args.repeat))
    print(f"ledgerkit write_835  {results['write_mb']:7.1f} MB  {results['write_s']:6.2f} s  "
          f"{results['write_mb_s']:7.1f} MB/s  (CPU {results['write_cpu_s']:.2f} s, "
          f"{results['write_cpu_mb_s']:.1f} MB/s; the big file's remittances written again; "
          f"load {load_average()})")  # fmt: skip
    return results


if __name__ == "__main__":
    main()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script
    from benchmarks._data import print_peak_rss

    print_peak_rss()
