"""Cold runs: one answer computed by a fresh interpreter, as a notebook's first cell does.

``run_cold(code)`` runs ``code`` in a new ``python -c`` process and returns its wall time
(process start to exit, imports included), its CPU time (user + system, all threads: the
figure a loaded machine disturbs least), its peak RSS and the time to the answer (process
start to the end of ``code``: what a notebook's user waits for; the interpreter's exit
after it, which tears down every module, is not). Shared by the comparison scripts' cold
tables.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import children

ROOT = Path(__file__).resolve().parents[1]

# The moment the answer is ready (CLOCK_MONOTONIC is one clock for every process), then
# the process's own peak RSS (VmHWM starts afresh at exec; a child's ru_maxrss may not)
PRINT_DONE = (
    "import time as _time\nprint(_time.clock_gettime(_time.CLOCK_MONOTONIC))\n"
    "print(next(l.split()[1] for l in open('/proc/self/status') if l[:6] == 'VmHWM:'))"
)


def run_cold(code: str) -> tuple[float, float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MB, seconds to the answer) of ``code`` run by
    a fresh interpreter (with the repository root on its path, so ``benchmarks`` imports).
    """
    script = f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n{code}\n{PRINT_DONE}\n"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.clock_gettime(time.CLOCK_MONOTONIC)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise RuntimeError(f"cold run failed:\n{code}\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    done, peak = proc.stdout.split()[-2:]
    return wall, cpu, int(peak) / 1024, float(done) - started


def median_cold(code: str, runs: int) -> dict:
    """Medians of wall, answer and CPU time over ``runs`` fresh processes, and the largest
    peak."""
    results = [run_cold(code) for _ in range(runs)]
    return {
        "wall": statistics.median(r[0] for r in results),
        "cpu": statistics.median(r[1] for r in results),
        "peak_mb": max(r[2] for r in results),
        "answer": statistics.median(r[3] for r in results),
    }


def print_cold_rows(rows: list, *, base: str | None = None) -> None:
    """``rows`` of (label, median_cold result); ratios to the row labelled ``base``."""
    header = (
        f"{'first answer, fresh process':<52}{'answer s':>9}{'wall s':>9}{'cpu s':>8}"
        f"{'peak MB':>9}"
    )
    if base:
        header += f"{'x answer':>9}{'x wall':>8}"
    print(header)
    print("-" * len(header))
    ref = dict(rows).get(base) if base else None
    for label, r in rows:
        children.record(f"cold: {label}", r["peak_mb"])
        line = (
            f"{label:<52}{r['answer']:>9.2f}{r['wall']:>9.2f}{r['cpu']:>8.2f}{r['peak_mb']:>9.0f}"
        )
        if ref:
            line += f"{r['answer'] / ref['answer']:>9.2f}{r['wall'] / ref['wall']:>8.2f}"
        print(line, flush=True)
    print("(answer: process start to the answer; wall: to the process's exit)")
