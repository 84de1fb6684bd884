"""Benchmark engines in child processes, and the peak RSS of every process of a run.

A comparison script's parent process only reads small results (figures, digests);
each engine runs in a fresh interpreter that reads the cached Parquet folder (or
files the parent named) itself, so no engine's memory shows in another's figure and
the parent never holds a ledger. :func:`run_child` calls a function of a
``benchmarks`` module in such a child and returns its JSON answer with the child's
own peak RSS (``VmHWM``: it starts afresh at exec). :func:`print_peaks` closes every
comparison script: each child's peak, the parent's, the largest child the kernel
saw (``RUSAGE_CHILDREN``, which also covers the cold runs and the cache's children)
and, plainly, whether any process went over :data:`LIMIT_MB`.

    >>> out = run_child("children", "_echo", 2, label="echo")  # doctest: +SKIP
    >>> out["value"], out["peak_mb"] > 0                         # doctest: +SKIP
    (2, True)
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT_MB = 8 * 1024  # issue #19: every 10M benchmark under 8 GB, whole process
RESULT = "RESULT "

# (label, peak MB) of every child this process ran, in order
PEAKS: list[tuple[str, float]] = []


def vmhwm_mb() -> float:
    """This process's peak resident set size, MB (``VmHWM``)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024


def record(label: str, peak_mb: float) -> None:
    """Remember one child's peak for :func:`print_peaks`."""
    PEAKS.append((label, float(peak_mb)))


def run_child(module: str, function: str, *args, label: str | None = None) -> dict:
    """``benchmarks.<module>.<function>(*args)`` in a fresh interpreter.

    ``args`` and the function's answer (a dict) travel as JSON. The child's other output
    is printed here as it was; the answer gains ``peak_mb``, the child's peak RSS, which
    is also recorded under ``label`` (default: the function's name).

    Examples
    --------
    >>> run_child("children", "_echo", 3)["value"]  # doctest: +SKIP
    3
    """
    label = label or function
    code = (
        f"import json, sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        f"from benchmarks import {module} as m\n"
        f"from benchmarks.children import vmhwm_mb\n"
        f"out = m.{function}(*json.loads({json.dumps(json.dumps(args))}))\n"
        f"out['peak_mb'] = vmhwm_mb()\n"
        f"print({RESULT!r} + json.dumps(out), flush=True)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        record(label + " (failed)", float("nan"))
        raise RuntimeError(
            f"{label} failed in its child process (exit code {proc.returncode}; -9: killed, "
            f"usually for memory):\n{proc.stderr[-3000:]}"
        )
    answer = None
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT):
            answer = json.loads(line[len(RESULT) :])
        else:
            print(line, flush=True)
    record(label, answer["peak_mb"])
    return answer


def largest_child_mb() -> float:
    """The largest peak RSS among this process's finished children, MB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def print_peaks(parent: str = "this script") -> list[str]:
    """Print every recorded child's peak RSS, the parent's and the largest child's, and
    say whether any went over :data:`LIMIT_MB`; the labels over it."""
    rows = [*PEAKS, (f"{parent} (parent)", vmhwm_mb())]
    rows.append(("largest child of all (RUSAGE_CHILDREN)", largest_child_mb()))
    print(f"\npeak RSS of every process (limit {LIMIT_MB:,} MB)")
    for label, mb in rows:
        print(f"  {label:<56}{mb:>9,.0f} MB", flush=True)
    over = [label for label, mb in rows if mb > LIMIT_MB]
    if over:
        print(f"OVER 8 GB: {', '.join(over)}", flush=True)
    else:
        print("every process stayed under 8 GB", flush=True)
    return over


def json_ready(value):
    """numpy scalars and containers of them as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value


def _echo(value) -> dict:  # the tests' smallest child
    return {"value": value, "pid": os.getpid()}


def column_digests(table, columns) -> dict:
    """A hash per column of ``table`` (pyarrow or polars), rows in table order: what a
    child sends its parent to compare instead of the rows. Integers are hashed as int64
    with their nulls, everything else as its string values (nulls apart)."""
    import hashlib

    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(table, pa.Table):
        table = table.to_arrow()
    digests = {}
    for name in columns:
        col = table[name].combine_chunks()
        h = hashlib.sha256(str(len(col)).encode())
        h.update(col.is_null().to_numpy(zero_copy_only=False).tobytes())
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if pa.types.is_integer(col.type):
            col = pc.cast(col, pa.int64()).fill_null(0)
        else:  # few distinct values (reasons, classes): hashed as indices into them, sorted
            col = pc.cast(col, pa.string())
            values = pc.unique(col).drop_null()
            values = values.take(pc.sort_indices(values))
            h.update(json.dumps(values.to_pylist()).encode())
            col = pc.index_in(col, value_set=values).fill_null(-1).cast(pa.int64())
        h.update(col.to_numpy(zero_copy_only=False).tobytes())
        digests[name] = h.hexdigest()
    return digests
