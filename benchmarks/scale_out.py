"""Scale-out benchmark: generate, classify and TAA-sweep a partitioned ledger on Dask.

    python benchmarks/scale_out.py --procedures 100000000 --partitions 100

Generates the ledger partition by partition (never whole in memory), then runs
``ledgerkit.dask.classify`` (results written as Parquet) and
``ledgerkit.dask.taa_sweep`` (percentiles 0..100, by payer) on a local cluster
of ``--workers`` processes x 1 thread with ``--memory-limit`` each. Prints the
wall time of each step and the peak resident memory of every worker during
that step (Linux ``VmHWM``, reset before each step through
``/proc/self/clear_refs``), plus the peak of this client process.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path


def _reset_peak():  # runs on each worker
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:  # pragma: no cover - not Linux, or not allowed
        pass


def _peak_mib():  # runs on each worker
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover


def _step(client, name, fn, report):
    client.run(_reset_peak)
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    peaks = client.run(_peak_mib)
    report[name] = {
        "seconds": round(seconds, 1),
        "peak_worker_mib": {addr: round(v) for addr, v in sorted(peaks.items())},
    }
    print(
        f"{name:>10}: {seconds:8.1f} s   peak per worker (MiB): "
        + ", ".join(f"{v:.0f}" for _, v in sorted(peaks.items())),
        flush=True,
    )
    return result


def run(client, procedures: int, partitions: int, folder, *, seed: int = 0, progress=None):
    """Run the three steps on ``client``; returns the report (a dict)."""
    import ledgerkit.scale.api as lkd

    folder = Path(folder)
    report = {"procedures_target": procedures, "partitions": partitions}
    ds = _step(
        client,
        "generate",
        lambda: lkd.generate(
            folder / "ledger",
            procedures,
            partitions,
            seed=seed,
            client=client,
            progress=progress,
            overwrite=True,
        ),
        report,
    )
    report["totals"] = ds.manifest["totals"]
    print("   dataset:", ds, flush=True)
    out = folder / "classified"
    if out.exists():
        shutil.rmtree(out)
    _step(
        client,
        "classify",
        lambda: lkd.classify(ds, client=client, out=out, progress=progress),
        report,
    )
    report["classes"] = lkd.class_counts(out)
    print("   classes:", report["classes"], flush=True)
    curve = _step(
        client,
        "taa_sweep",
        lambda: lkd.taa_sweep(ds, client=client, min_claims=10, progress=progress),
        report,
    )
    at25 = curve.filter(curve["level"].to_numpy() == 25.0)
    report["sweep_rows"] = curve.num_rows
    report["sweep_p25_written_off_cents"] = int(sum(at25["written_off_cents"].to_pylist()))
    report["client_peak_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procedures", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="4GiB")
    parser.add_argument("--folder", default=None, help="where the dataset goes (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the dataset afterwards")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from distributed import Client

    import ledgerkit.scale.api as lkd

    folder = Path(args.folder or tempfile.mkdtemp(prefix="lk-scale-out-"))
    print(
        f"scale_out: {args.procedures:,} procedures in {args.partitions} partitions, "
        f"{args.workers} workers x 1 thread, memory limit {args.memory_limit} each, "
        f"folder {folder}",
        flush=True,
    )
    try:
        with (
            lkd.local_cluster(args.workers, 1, memory_limit=args.memory_limit) as cluster,
            Client(cluster) as client,
        ):
            report = run(
                client, args.procedures, args.partitions, folder, seed=args.seed, progress=True
            )
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
