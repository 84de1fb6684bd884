"""Posting N remitted claims into a ledger of M procedures: ledgerkit vs polars vs DuckDB.

    python benchmarks/compare_posting.py --procedures 1000000 --claims 100000
    python benchmarks/compare_posting.py --procedures 10000000 --claims 1000000 --store

Data generation (synth + remittances_from_ledger) is not timed: a child process
writes the ledger with ``Ledger.to_parquet`` and the batch's tables as Parquet, and
every engine starts from those files in a child process of its own
(``benchmarks/children.py``); this process never holds a ledger. Two tables, then
every process's peak RSS (a plain line says whether any went over 8 GB):

* **warm**: each engine in a fresh child process gets the Arrow tables, does its
  own preparation, timed and shown (ledgerkit: ``Ledger.from_arrow`` validation and
  integer keys, packed codes, the encounter id index; polars: ``from_arrow``;
  DuckDB: the ledger loaded into its tables), one warm-up, then the median of
  ``--runs`` posts of the whole batch into the same ledger. ledgerkit's stages are
  shown below the table (flatten + remit fingerprints, matching, the decision
  pass, building the entries, the append with its validation and key update).
* **cold**: a fresh interpreter reads the files and posts (``Ledger.from_parquet``
  + ``post``; ``pl.read_parquet``; DuckDB ``read_parquet``), Numba's cache warm.

The peers (``benchmarks/posting_peers.py``) do the set-based core of posting only
(matching, negative balance and live-remit checks, the new entries appended):
no remit fingerprints, duplicates, reversals in payment-date order, claim-level
amounts or validation. Their times are a lower bound for a full posting; the
posted claims, entries and cents are printed for each engine to compare.

``--store`` also times the same batch through a ``LedgerStore`` on Delta Lake (in the
data's child process, in a temporary folder under ``$LEDGERKIT_BENCH_DIR``, default
``/tmp/ledgerkit-bench``):
creating the store, the post with its commit, posting the batch again (all
archived), and a fresh process's first ``store.ledger()`` (its peak RSS in the table
too). A store child of its own, reading the written folder, peaked higher at 1M
procedures (1,188 MB against 1,091 for data and store in one child), so the round stays
where the workload already is.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import children, cold  # noqa: E402
from benchmarks import posting_peers as peers  # noqa: E402

BENCH_DIR = Path(os.environ.get("LEDGERKIT_BENCH_DIR", "/tmp/ledgerkit-bench"))
ENGINES = ("ledgerkit", "polars", "duckdb")


def _timed(label: str, fn):
    t = time.perf_counter()
    out = fn()
    print(f"  {label:<44} {time.perf_counter() - t:8.2f} s", flush=True)
    return out


# ---------------------------------------------------------------------- warm (child)
def _ledgerkit_stages(ledger, remits) -> dict:
    """One post cut at its stages (what ``post_batch`` does, step by step), seconds each."""
    from ledgerkit.core.keys_append import extend_keys
    from ledgerkit.posting import match
    from ledgerkit.posting.batch import flatten
    from ledgerkit.posting.decide import evaluate_batch
    from ledgerkit.posting.engine import _now
    from ledgerkit.posting.entries import build_entries, decisions_table

    times = {}

    def stage(name, fn):
        t = time.perf_counter()
        out = fn()
        times[name] = times.get(name, 0.0) + time.perf_counter() - t
        return out

    batch = stage("flatten + remit fingerprints", lambda: flatten(remits))
    inner = match._match_lines

    def timed_match(*args):  # the matching inside evaluate_batch, timed on its own
        return stage("match lines to procedures", lambda: inner(*args))

    import ledgerkit.posting.decide as decide

    decide._match_lines = timed_match
    try:
        t = time.perf_counter()
        ev = evaluate_batch(ledger, batch, ledger.policy)
        times["decide (checks, decision pass)"] = (
            time.perf_counter() - t - times["match lines to procedures"]
        )
    finally:
        decide._match_lines = inner
    when = _now(None)
    entries, per_claim, entry_procs = stage(
        "build entries", lambda: build_entries(ledger, batch, ev, "bench", None, when)
    )
    new = stage(
        "append (validation + key update)",
        lambda: ledger.append_located(entries, entry_procs, at=when),
    )
    combined = new.entries
    times["  of which key update"] = _seconds(
        lambda: extend_keys(
            ledger.keys, ledger.encounters, combined, ledger.policy, ids_increase=True,
            new_procedures=entry_procs,
        )  # as append builds them: the packed codes carried, the procedures known
    )  # fmt: skip
    stage("decisions table", lambda: decisions_table(batch, ev, per_claim, when, "bench", None))
    return times


def _seconds(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def warm_engine(engine: str, ledger_folder: str, batch_folder: str, runs: int) -> dict:
    """In a child process: preparation, warm-up and ``runs`` timed posts of one engine.
    Each engine reads only the files it uses and keeps one copy of them (the Arrow
    tables are let go once the engine prepared its own)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ledger_folder, batch_folder = Path(ledger_folder), Path(batch_folder)
    names = peers.LEDGER + ("payers",) if engine == "ledgerkit" else peers.LEDGER
    tables = {n: pq.read_table(ledger_folder / f"{n}.parquet") for n in names}
    batch = peers.read_batch(batch_folder)
    out = {"stages": {}}
    if engine == "ledgerkit":
        import ledgerkit as lk
        from ledgerkit.x12 import Remittances

        remits = Remittances(**batch)

        def prepare():
            ledger = lk.Ledger.from_arrow(
                tables["encounters"], tables["procedures"], tables["entries"], tables["payers"]
            )
            ledger.packed_codes()
            ledger.keys.encounter_positions(
                ledger.encounters["encounter_id"], pa.array([], pa.string())
            )
            return ledger

        t = time.perf_counter()
        prepared = prepare()
        out["prep"] = time.perf_counter() - t
        del tables, batch

        def call():
            result = lk.post(prepared, remits)
            return _ledgerkit_figures(result)

        call()  # warm-up: Numba kernels from the on-disk cache
        out["stages"] = _ledgerkit_stages(prepared, remits)
    elif engine == "polars":
        t = time.perf_counter()
        inputs = tables | {k: batch[k] for k in peers.BATCH}
        del tables, batch
        frames = {}
        while inputs:  # one table at a time: each Arrow table freed once polars has its own
            frames |= peers.polars_frames(dict([inputs.popitem()]))
            pa.default_memory_pool().release_unused()  # back to the system, not kept pooled
        out["prep"] = time.perf_counter() - t

        def call():
            return peers.post_polars(frames)

        call()
    else:
        t = time.perf_counter()
        con = peers.duckdb_connection(tables | {k: batch[k] for k in peers.BATCH})
        out["prep"] = time.perf_counter() - t
        del tables, batch  # the ledger is in DuckDB's own tables; the batch stays registered
        pa.default_memory_pool().release_unused()

        def call():
            return peers.post_duckdb(con)

        call()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out["figures"] = call()
        times.append(time.perf_counter() - t)
    out["post"] = statistics.median(times)
    return children.json_ready(out)


def _ledgerkit_figures(result) -> dict:
    import numpy as np

    entries = result.entries
    counts = result.counts()
    return {
        "posted": counts["posted"][0],
        "flagged": counts["flagged"][0],
        "entries": entries.num_rows,
        "cents": int(np.asarray(entries["amount_cents"]).sum()) if entries.num_rows else 0,
        "ledger_entries": result.ledger.entries.num_rows,
    }


def warm_table(ledger_folder, batch_folder, engines, runs: int, sizes) -> list:
    header = (
        f"{'engine':<12}{'prep s':>9}{'post s':>9}{'x ledgerkit':>13}{'claims/s':>12}"
        f"{'posted':>10}{'entries':>10}{'cents':>16}{'peak MB':>9}"
    )
    print(f"\nwarm: {sizes[1]:,} claims into {sizes[0]:,} procedures, in memory\n{header}")
    print("-" * len(header), flush=True)
    rows, base = [], None
    for engine in engines:
        r = children.run_child("compare_posting", "warm_engine", engine, str(ledger_folder),
                               str(batch_folder), runs, label=f"warm {engine}")  # fmt: skip
        r["engine"] = engine
        rows.append(r)
        base = base or (r if engine == "ledgerkit" else None)
        ratio = f"{r['post'] / base['post']:>13.2f}" if base else f"{'-':>13}"
        f = r["figures"]
        print(
            f"{engine:<12}{r['prep']:>9.2f}{r['post']:>9.2f}{ratio}{sizes[1] / r['post']:>12,.0f}"
            f"{f['posted']:>10,}{f['entries']:>10,}{f['cents']:>16,}{r['peak_mb']:>9,.0f}",
            flush=True,
        )
    print(
        f"(prep: each engine's own preparation from the Arrow tables, not in 'post s'; post: "
        f"median of {runs}; peak MB: the child process's peak RSS; peers do the set-based "
        "core only, see the docstring)"
    )
    for r in rows:
        if r["stages"]:
            print(f"{r['engine']} stages of one post:")
            for name, seconds in r["stages"].items():
                print(f"  {name:<40}{seconds:>8.3f} s")
    return rows


# ---------------------------------------------------------------------- cold
def cold_code(engine: str, ledger_folder: Path, batch_folder: Path) -> str:
    """What a fresh interpreter runs: read the files, post the batch."""
    paths = f"Path({str(ledger_folder)!r}), Path({str(batch_folder)!r})"
    if engine == "ledgerkit":
        return (
            "from pathlib import Path\nimport ledgerkit as lk\n"
            "from benchmarks import posting_peers as peers\n"
            "from ledgerkit.x12 import Remittances\n"
            f"ledger = lk.Ledger.from_parquet(Path({str(ledger_folder)!r}))\n"
            f"remits = Remittances(**peers.read_batch(Path({str(batch_folder)!r})))\n"
            "lk.post(ledger, remits)"
        )
    if engine == "polars":
        return (
            "from pathlib import Path\nfrom benchmarks import posting_peers as peers\n"
            f"peers.post_polars(peers.polars_read({paths}))"
        )
    return (
        "from pathlib import Path\nfrom benchmarks import posting_peers as peers\n"
        f"peers.post_duckdb(peers.duckdb_read({paths}))"
    )


def cold_table(ledger_folder, batch_folder, engines, runs: int) -> None:
    cold.run_cold(cold_code("ledgerkit", ledger_folder, batch_folder))  # fill caches, untimed
    rows = [(e, cold.median_cold(cold_code(e, ledger_folder, batch_folder), runs))
            for e in engines]  # fmt: skip
    print("\ncold: a fresh process reads the ledger folder and the batch's Parquet, posts")
    cold.print_cold_rows(rows, base="ledgerkit" if "ledgerkit" in engines else None)
    print(f"(median of {runs} fresh processes, interpreter start to exit, imports included)")


# ---------------------------------------------------------------------- data (child)
def prepare_workload(procedures: int, claims: int, root: str, store: bool) -> dict:
    """In a child process: the seeded workload written as the ledger folder (with its keys
    sidecar) and the batch's Parquet files under ``root``; the store round when asked
    (``fresh_peak_mb``: the peak RSS of its fresh ``store.ledger()`` process)."""
    from benchmarks._posting_data import posting_workload

    t = time.perf_counter()
    base, remits = posting_workload(procedures, claims)
    print(f"data: {base} and {remits} in {time.perf_counter() - t:.1f} s", flush=True)
    base.to_parquet(Path(root) / "ledger")
    peers.write_batch(remits, Path(root) / "batch")
    out = {"procedures": base.procedures.num_rows, "claims": remits.claims.num_rows}
    if store:
        out["fresh_peak_mb"] = store_round(base, remits)
    return out


# ---------------------------------------------------------------------- store
def store_round(base, remits) -> float:
    """Create, post, post again, and a fresh process's first ``store.ledger()``; that
    process's peak RSS, MB."""
    from benchmarks._posting_data import posting_counts
    from ledgerkit.store.ledger_store import LedgerStore

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=BENCH_DIR, prefix="store_"))
    try:
        print("\nLedgerStore (Delta Lake):")
        store = _timed(
            "create (write the ledger)",
            lambda: LedgerStore.create(folder / "s", base, actor="bench", note="load"),
        )
        result = _timed(
            f"post {remits.claims.num_rows:,} claims + commit",
            lambda: store.post(remits, actor="bench", note="batch"),
        )
        print(f"    {posting_counts(result)}")
        again = _timed("the same batch again (all archived)",
                       lambda: store.post(remits, actor="bench", note="again"))  # fmt: skip
        assert again.entries.num_rows == 0
        code = (  # VmHWM, not ru_maxrss: that one keeps the forking parent's peak
            "import time, ledgerkit as lk; t = time.perf_counter(); "
            f"s = lk.LedgerStore({str(folder / 's')!r}); n = s.ledger().entries.num_rows; "
            "from benchmarks.children import vmhwm_mb; "
            "print(f'{time.perf_counter() - t:.2f} {n} {vmhwm_mb():.0f}')"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=children.ROOT, check=True).stdout.split()  # fmt: skip
        print(f"  {'fresh process: open + ledger() (' + f'{int(out[1]):,} entries)':<44} "
              f"{float(out[0]):8.2f} s")  # fmt: skip
        size = sum(f.stat().st_size for f in (folder / "s").rglob("*") if f.is_file())
        print(f"  store on disk: {size / 1e6:,.0f} MB")
        return float(out[2])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procedures", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="timed warm posts per engine")
    parser.add_argument("--cold-runs", type=int, default=1)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--store", action="store_true", help="also time a LedgerStore")
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(dir=BENCH_DIR, prefix="posting_"))
    try:
        ledger_folder, batch_folder = root / "ledger", root / "batch"
        # the data (and the store round) in a child: this process never holds a ledger
        data = children.run_child(
            "compare_posting", "prepare_workload", args.procedures, args.claims, str(root),
            args.store, label="data (+ store)" if args.store else "data",
        )  # fmt: skip
        sizes = (data["procedures"], data["claims"])
        if args.store:
            children.record("store: fresh process, open + ledger()", data["fresh_peak_mb"])
        warm_table(ledger_folder, batch_folder, engines, args.runs, sizes)
        if args.cold_runs:
            cold_table(ledger_folder, batch_folder, engines, args.cold_runs)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    children.print_peaks("compare_posting.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
