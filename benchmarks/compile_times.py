"""Where ``ledgerkit warm`` spends its time: Numba compile CPU seconds per kernel.

Runs the lanes of ``ledgerkit.warmup.LANES`` as ``ledgerkit warm`` does (one process
each, at once, one empty Numba cache shared by both), and in each process records every
compile Numba reports (its ``numba:compile`` events) with the thread's CPU time, so a
busy machine inflates the figures little. Prints per process its wall and CPU seconds,
the kernels that cost most to compile (their own time: callees compiled meanwhile are
counted in their own row), and the kernels compiled for more than one signature: each
extra signature is a compile that a single type (int64 rather than int32, a writable
array rather than a read-only view, a plain int rather than a literal) would save.

    python benchmarks/compile_times.py [--top 25]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict


class CompileRecorder:
    """Own CPU seconds and signatures of every function Numba compiles while installed.

    A compile nested in another (a callee typed while its caller compiles) is taken
    out of the caller's time and counted in its own row.
    """

    def __init__(self):
        self.seconds = defaultdict(float)
        self.signatures = defaultdict(list)
        self._stack = []

    def install(self) -> CompileRecorder:
        from numba.core import event

        recorder = self

        class _Listener(event.Listener):
            def on_start(self, ev):
                recorder._stack.append([time.thread_time(), 0.0])

            def on_end(self, ev):
                started, nested = recorder._stack.pop()
                spent = time.thread_time() - started
                function = ev.data["dispatcher"].py_func
                name = f"{function.__module__}.{function.__qualname__}"
                recorder.seconds[name] += spent - nested
                recorder.signatures[name].append(str(ev.data["args"]))
                if recorder._stack:
                    recorder._stack[-1][1] += spent

        self._listener = _Listener()
        event.register("numba:compile", self._listener)
        return self

    def uninstall(self) -> None:
        from numba.core import event

        event.unregister("numba:compile", self._listener)

    def several_signatures(self) -> dict:
        """``{kernel: [signature, ...]}`` of the kernels compiled more than once."""
        return {k: v for k, v in self.signatures.items() if len(v) > 1}


def _lane(families: list[str]) -> None:
    """One process of ``ledgerkit warm`` with the recorder: prints one JSON line."""
    recorder = CompileRecorder().install()
    import ledgerkit as lk
    from ledgerkit.warmup import FAMILIES, _compiling

    t0 = time.perf_counter()
    ledger = lk.synth.generate(60, seed=0)  # as `ledgerkit warm` does
    family_cpu = {}
    with _compiling() as settle:  # as `ledgerkit warm` compiles
        for family in families:
            settle()
            cpu = time.process_time()
            FAMILIES[family](lk, ledger)
            family_cpu[family] = time.process_time() - cpu
    print(
        json.dumps(
            {
                "families": families,
                "wall": time.perf_counter() - t0,
                "cpu": time.process_time(),
                "family_cpu": family_cpu,
                "seconds": recorder.seconds,
                "several": recorder.several_signatures(),
            }
        )
    )


def run(top: int = 25) -> list[dict]:
    """Both lanes at once in fresh processes with an empty Numba cache; their records."""
    import os

    from ledgerkit.warmup import LANES

    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--lane", *lane],
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )  # fmt: skip
            for lane in LANES
        ]
        outs = [proc.communicate()[0] for proc in procs]
    if any(proc.returncode for proc in procs):
        raise RuntimeError("a lane failed")
    return [json.loads(out.splitlines()[-1]) for out in outs]


def format_records(records: list[dict], top: int = 25) -> str:
    lines = []
    for i, record in enumerate(records, start=1):
        compiled = sum(record["seconds"].values())
        lines.append(
            f"process {i} ({', '.join(record['families'])}): {record['wall']:.1f} s wall, "
            f"CPU {record['cpu']:.1f} s, of which compiling {compiled:.1f} s"
        )
        for family, cpu in record["family_cpu"].items():
            lines.append(f"    {family:<24} CPU {cpu:6.2f} s")
    seconds, several = defaultdict(float), defaultdict(list)
    for record in records:
        for name, s in record["seconds"].items():
            seconds[name] += s
        for name, sigs in record["several"].items():
            several[name] += sigs
    lines.append(f"\nmost costly compiles (own CPU seconds, both processes), top {top}:")
    for name, s in sorted(seconds.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {s:6.2f} s  {name}")
    lines.append("\ncompiled for several signatures (distinct ones listed):")
    for name, sigs in sorted(several.items(), key=lambda kv: -seconds[kv[0]]):
        distinct = sorted(set(sigs))
        lines.append(f"  {name}: {len(sigs)} compiles, {seconds[name]:.2f} s")
        lines.extend(f"      {sig}" for sig in distinct)
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--lane", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.lane:
        _lane(args.lane)
        return
    print(format_records(run(args.top), args.top))


if __name__ == "__main__":
    main()
