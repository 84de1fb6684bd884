"""Encounter classification: ledgerkit vs polars vs DuckDB, warm in memory and cold from Parquet.

Each engine computes, per encounter, the class (DENIAL / PARTIAL_DENIAL /
UNRESOLVED / PAID / AWAITING), the stage, and the balance, allowed, open PR and
payer balance figures of DOMAIN.md, written the way that engine is meant to be
used (``benchmarks/peers.py``). All engines must agree exactly before any time is
printed. Two tables:

* **warm**: each engine in a fresh child process gets the ledger's Arrow tables, does
  its own preparation (ledgerkit: validation and integer keys, ``Ledger.from_arrow``;
  polars: ``from_arrow``; DuckDB: registering the tables), timed and shown, then one
  warm-up call (JIT compilation from an empty Numba cache, or query planning) and the
  median of ``--runs`` calls. Added MB = peak RSS during the calls minus before them;
  peak MB = the child's whole peak RSS.
* **cold**: where a notebook starts. A fresh interpreter per run reads the ledger
  folder's Parquet files and produces the table (``Ledger.from_parquet`` + ``classify``;
  ``scan_parquet``; ``read_parquet``), Numba's on-disk cache warm. Wall time from
  process start to exit (median of ``--cold-runs``) and the process's peak RSS.
  ledgerkit is shown twice: reading the folder ``to_parquet`` wrote (with its keys
  sidecar) and reading the same four Parquet files without it (keys built from
  strings, every table validated).

    python benchmarks/compare.py --procedures 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ledgerkit as lk  # noqa: E402
from benchmarks import children, cold, peers  # noqa: E402
from benchmarks._data import _run_child, ledger_folder  # noqa: E402
from ledgerkit.core import sidecar  # noqa: E402

CHECK = ["class", "stage", "balance", "allowed", "open_pr", "payer_balance"]
ROOT_DIR = Path(__file__).resolve().parents[1]
LEDGER_TABLES = ("encounters", "procedures", "entries", "payers")


# ---------------------------------------------------------------------- warm
def _prepare_ledgerkit(tables):
    ledger = lk.Ledger.from_arrow(**{name: tables[name] for name in LEDGER_TABLES})
    ledger.packed_codes()
    return ledger


def _ledgerkit(ledger):
    # the figures the peers compute (CHECK): classify writes only those
    return lk.classify(ledger, figures=CHECK[2:])


def _prepare_polars(tables):
    return peers.polars_frames(tables["entries"], tables["encounters"], tables["policy"])


def _polars(frames):
    return peers.classify_polars(
        frames["entries"].lazy(), frames["encounters"].lazy(), frames["policy"]
    )


def _prepare_duckdb(tables):
    con = peers.duckdb_connection()
    for name in ("entries", "encounters", "policy"):
        con.register(name, tables[name])
    return con


def _duckdb(con):
    return con.sql(peers.DUCKDB_SQL).to_arrow_table()


def bandwidth_floor(ledger):
    """One parallel pass over the bytes classify must read (``_kernels/bandwidth.py``)."""
    from ledgerkit._kernels.bandwidth import touch_nb

    keys = ledger.keys
    codes = ledger.packed_codes()
    return touch_nb(
        codes, keys.amounts, keys.proc_entry_start, keys.enc_proc_start, keys.enc_n_payers
    )


def procedure_loop(ledger):
    """Classify's walk over procedures and entries, nothing decided (``_kernels/bandwidth.py``)."""
    import numpy as np

    from ledgerkit._kernels.balances import ENCOUNTER_SLOTS
    from ledgerkit._kernels.bandwidth import procedure_loop_nb
    from ledgerkit._kernels.chunks import CHUNK, n_chunks

    keys = ledger.keys
    n_enc = keys.n_encounters
    totals, lasts = np.empty(n_enc, np.int64), np.empty(n_enc, np.int8)
    scratch = np.zeros((n_chunks(n_enc, CHUNK), ENCOUNTER_SLOTS), np.int64)
    procedure_loop_nb(ledger.packed_codes(), keys.amounts, keys.enc_proc_start,
                      keys.proc_entry_start, totals, lasts, scratch)  # fmt: skip
    return totals


# name: (preparation from Arrow tables, the timed call on what it prepared)
ENGINES = {
    "ledgerkit": (_prepare_ledgerkit, _ledgerkit),
    "polars": (_prepare_polars, _polars),
    "duckdb": (_prepare_duckdb, _duckdb),
    "bandwidth floor": (_prepare_ledgerkit, bandwidth_floor),
    "procedure loop": (_prepare_ledgerkit, procedure_loop),
}


def _normalise(table) -> dict:
    import pyarrow.compute as pc

    if not isinstance(table, pa.Table):
        table = table.to_arrow()
    table = table.sort_by("encounter_id")
    return {
        c: pc.cast(table[c], pa.string() if c in ("class", "stage") else pa.int64()).to_pylist()
        for c in CHECK
    }


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


class _PeakRss:
    """Samples this process's RSS every 2 ms; ``peak`` is the largest seen."""

    def __enter__(self):
        import threading

        self.peak = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# The columns the peers' queries read: a peer's child reads only these (as scan_parquet
# and read_parquet do in the cold table), not the ledger's notes, actors and timestamps.
PEER_COLUMNS = {
    "entries": ["entry_id", "encounter_id", "line", "payer_seq", "amount_cents", "negates",
                "kind", "group_code", "carc"],
    "encounters": ["encounter_id", "payer1_id", "payer2_id", "payer3_id"],
}  # fmt: skip


def _arrow_tables(folder: Path, columns: dict | None = None) -> dict:
    """The ledger folder's tables (``columns``: table -> the columns to read; else all)."""
    if columns is None:
        names, columns = LEDGER_TABLES, {}
    else:
        names = tuple(columns)
    tables = {name: pq.read_table(folder / f"{name}.parquet", columns=columns.get(name))
              for name in names}  # fmt: skip
    tables["policy"] = pq.read_table(folder.parent / "policy.parquet")
    return tables


def warm_engine(name: str, folder: str, runs: int) -> dict:
    """In a child process (``children.run_child``): one engine's preparation, warm-up
    and ``runs`` timed calls on the folder's Arrow tables."""
    prepare, fn = ENGINES[name]
    tables = _arrow_tables(Path(folder), PEER_COLUMNS if name in ("polars", "duckdb") else None)
    t0 = time.perf_counter()
    prepared = prepare(tables)
    prep = time.perf_counter() - t0
    base = _rss_mb()
    with _PeakRss() as rss:
        t0 = time.perf_counter()
        fn(prepared)  # warm-up (includes JIT compile or query planning)
        first = time.perf_counter() - t0
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn(prepared)
            times.append(time.perf_counter() - t0)
    return {
        "engine": name,
        "prep": prep,
        "median": statistics.median(times),
        "first": first,
        "added_mb": rss.peak - base,
    }


def warm_table(folder: Path, engines, runs: int, sizes) -> list:
    header = (
        f"{'engine':<16}{'procedures':>12}{'entries':>12}{'prep s':>8}{'median s':>10}"
        f"{'x ledgerkit':>13}{'first call s':>14}{'added MB':>10}{'peak MB':>9}"
    )
    print(f"\nwarm: in memory, after each engine's own preparation\n{header}")
    print("-" * len(header), flush=True)
    rows, lk_time = [], None
    saved = os.environ.get("NUMBA_CACHE_DIR")
    for name in engines:
        # An empty Numba cache makes 'first call' include real compilation.
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="lk-numba-")
        try:
            row = children.run_child("compare", "warm_engine", name, str(folder), runs,
                                     label=f"warm {name}")  # fmt: skip
        except RuntimeError as exc:
            print(f"{name:<16} failed: {str(exc).splitlines()[0]}")
            continue
        finally:
            shutil.rmtree(os.environ["NUMBA_CACHE_DIR"], ignore_errors=True)
        rows.append(row)
        if name == "ledgerkit":
            lk_time = row["median"]
        ratio = f"{row['median'] / lk_time:>13.2f}" if lk_time else f"{'-':>13}"
        print(
            f"{name:<16}{sizes[0]:>12,}{sizes[1]:>12,}{row['prep']:>8.2f}{row['median']:>10.3f}"
            f"{ratio}{row['first']:>14.2f}{row['added_mb']:>10,.0f}{row['peak_mb']:>9,.0f}",
            flush=True,
        )
    floor = next((r["median"] for r in rows if r["engine"] == "bandwidth floor"), None)
    loop = next((r["median"] for r in rows if r["engine"] == "procedure loop"), None)
    if lk_time and floor:
        print(f"ledgerkit's classify takes {lk_time / floor:.1f}x the bandwidth floor")
    if loop and floor:
        print(f"the procedure loop alone, nothing decided, takes {loop / floor:.1f}x the floor")
    if saved is None:
        os.environ.pop("NUMBA_CACHE_DIR", None)
    else:
        os.environ["NUMBA_CACHE_DIR"] = saved
    print(
        f"(median of {runs} runs after one warm-up; 'prep' is the engine's preparation of "
        "the Arrow tables (ledgerkit: validation + integer keys); 'first call' includes JIT "
        "compilation from an empty cache, or query planning; added MB = peak RSS during the "
        "calls minus RSS before them; peak MB = the engine's child process's whole peak RSS; "
        f"DuckDB memory_limit={peers.DUCKDB_MEMORY_LIMIT})"
    )
    return rows


# ---------------------------------------------------------------------- cold
def cold_code(engine: str, folder: Path) -> str:
    """What a fresh interpreter runs for one cold answer (nothing imported before)."""
    policy = folder.parent / "policy.parquet"
    if engine.startswith("ledgerkit"):
        # the figures the peers compute (CHECK), as in the warm table: the same table
        return (
            "import ledgerkit as lk\n"
            f"lk.classify(lk.Ledger.from_parquet({str(folder)!r}), figures={CHECK[2:]!r})"
        )
    return (
        "from pathlib import Path\nfrom benchmarks import peers\n"
        f"peers.{engine}_from_parquet(Path({str(folder)!r}), Path({str(policy)!r}))"
    )


def run_cold(engine: str, folder: Path) -> tuple[float, float, float, float]:
    """(wall s from process start to exit, CPU s, peak RSS MB, s to the answer) of one
    cold answer."""
    return cold.run_cold(cold_code(engine, folder))


def plain_copy(folder: Path, name: str = "plain") -> Path:
    """The four Parquet files of ``folder`` without the keys sidecar (hard links)."""
    plain = folder.parent / name
    plain.mkdir(exist_ok=True)
    for name in LEDGER_TABLES:
        target = plain / f"{name}.parquet"
        if not target.exists():
            try:
                os.link(folder / f"{name}.parquet", target)
            except OSError:
                shutil.copy(folder / f"{name}.parquet", target)
    return plain


def keyed_copy(folder: Path) -> Path:
    """Hard links of ``folder``'s Parquet files with a keys sidecar of this code version.

    The benchmark cache is shared by checkouts of other code versions, each rewriting
    the cached folder's own sidecar when it finds another version's: a row timed on that
    folder could have read no sidecar at all (it did, 2 December, and cost more than the
    plain row). A folder per code version keeps its sidecar.
    """
    own = plain_copy(folder, f"ledger-{sidecar.code_version()}")
    if sidecar.read_keys(own) is None and sidecar.read_keys(folder) is not None:
        shutil.copy(folder / sidecar.SIDECAR, own / sidecar.SIDECAR)  # just rebuilt: ours
    if sidecar.read_keys(own) is None:
        _run_child(["--keys", str(own)], f"the keys of {own}")
    return own


def cold_table(folder: Path, engines, runs: int, sizes) -> list:
    variants = []
    for name in engines:
        if name == "ledgerkit":
            keyed = keyed_copy(folder)
            variants += [("ledgerkit", keyed), ("ledgerkit, plain", plain_copy(folder))]
        elif name in ("polars", "duckdb"):
            variants.append((name, folder))
    for name, path in variants:  # fill the Numba cache (and the page cache) untimed
        if name.startswith("ledgerkit"):
            run_cold(name, path)
    header = (
        f"{'engine':<18}{'procedures':>12}{'entries':>12}{'answer s':>10}{'x ledgerkit':>13}"
        f"{'wall s':>9}{'x ledgerkit':>13}{'cpu s':>8}{'x ledgerkit':>13}{'peak MB':>9}"
    )
    print(f"\ncold: a fresh process reads the Parquet folder and classifies\n{header}")
    print("-" * len(header), flush=True)
    rows, base = [], None
    for name, path in variants:
        runs_of = [run_cold(name, path) for _ in range(runs)]
        row = {"engine": name, "peak_mb": max(r[2] for r in runs_of)}
        for key, at in (("wall", 0), ("cpu", 1), ("answer", 3)):
            row[key] = statistics.median(r[at] for r in runs_of)
        children.record(f"cold: {name}", row["peak_mb"])
        rows.append(row)
        if name == "ledgerkit":
            base = row
        ratio = {k: f"{row[k] / base[k]:>13.2f}" if base else f"{'-':>13}"
                 for k in ("answer", "wall", "cpu")}  # fmt: skip
        print(
            f"{name:<18}{sizes[0]:>12,}{sizes[1]:>12,}{row['answer']:>10.2f}{ratio['answer']}"
            f"{row['wall']:>9.2f}{ratio['wall']}{row['cpu']:>8.2f}{ratio['cpu']}"
            f"{row['peak_mb']:>9.0f}",
            flush=True,
        )
    if any(n == "ledgerkit" for n, _ in variants) and sidecar.read_keys(keyed) is None:
        print("WARNING: the 'ledgerkit' row's keys sidecar changed during the runs")
    print(
        f"(medians of {runs} fresh processes: answer = interpreter start to the answer, "
        "what a notebook waits for; wall = to the process's exit; CPU time to exit; "
        "imports included; Numba's cache warm; peak MB = the process's peak RSS; "
        "'ledgerkit' reads the folder Ledger.to_parquet wrote, with its keys sidecar; "
        "'ledgerkit, plain' the "
        "same four Parquet files without it: keys built, every table validated)"
    )
    return rows


# ---------------------------------------------------------------------- main
def check_agreement(ledger) -> None:
    want = _normalise(lk.classify(ledger))
    tables = {name: getattr(ledger, name) for name in ("entries", "encounters")}
    tables["policy"] = peers.policy_table(ledger.policy)
    for name in ("polars", "duckdb"):
        prepare, fn = ENGINES[name]
        got = _normalise(fn(prepare(tables)))
        for c in CHECK:
            if got[c] != want[c]:
                bad = next(i for i, (a, b) in enumerate(zip(got[c], want[c])) if a != b)
                raise SystemExit(
                    f"{name} disagrees with ledgerkit on {c!r} at row {bad}: "
                    f"{got[c][bad]!r} != {want[c][bad]!r}"
                )


def check_cold_agreement(folder: Path) -> None:
    """The cold paths answer what the warm ones do (checked on the small ledger)."""
    want = _normalise(lk.classify(lk.Ledger.from_parquet(folder)))
    policy = folder.parent / "policy.parquet"
    for name in ("polars", "duckdb"):
        got = _normalise(getattr(peers, f"{name}_from_parquet")(folder, policy))
        if got != want:
            raise SystemExit(f"{name} reading Parquet disagrees with ledgerkit")


def write_folder(ledger, root: Path) -> Path:
    """The ledger folder (with its sidecar) and the policy table beside it."""
    folder = ledger.to_parquet(root / "ledger")
    write_policy(folder, ledger.policy)
    return folder


def write_policy(folder: Path, policy) -> Path:
    """The CARC policy table the peers read, beside the ledger folder."""
    path = folder.parent / "policy.parquet"
    if not path.exists():
        tmp = path.with_name(f".policy.{os.getpid()}.tmp")
        pq.write_table(peers.policy_table(policy), tmp)
        tmp.replace(path)
    return path


def digest(table) -> str:
    """A hash of the compared columns, rows in encounter order (what agreement compares,
    without a Python object per value: it runs at 10M procedures in a child)."""
    import hashlib

    import pyarrow.compute as pc

    if not isinstance(table, pa.Table):
        table = table.to_arrow()
    table = table.sort_by("encounter_id")
    h = hashlib.sha256(str(table.num_rows).encode())
    for c in CHECK:
        col = table[c]
        if c in ("class", "stage"):
            col = pc.cast(col, pa.string())
            values = pc.unique(col).drop_null()
            values = values.take(pc.sort_indices(values))
            h.update(json.dumps(values.to_pylist()).encode())
            col = pc.index_in(col, value_set=values)
        col = pc.cast(col, pa.int64()).fill_null(-(2**63)).combine_chunks()
        h.update(col.to_numpy().tobytes())
    return h.hexdigest()


def check_folder_agreement(folder: Path) -> None:
    """Every engine's cold answer on the big folder, hashed in a child process each (the
    ledger is never loaded in this one). Once they agreed, a marker named by a hash of
    every ledgerkit source file and of the peers' queries spares the next run the check
    while neither changed."""
    import hashlib
    import subprocess

    digest = hashlib.sha256((ROOT_DIR / "benchmarks" / "peers.py").read_bytes())
    for path in sorted(Path(lk.__file__).resolve().parent.rglob("*.py")):
        digest.update(path.read_bytes())
    marker = folder.parent / f"agreed-{digest.hexdigest()[:16]}"
    if marker.exists():
        return
    digests = {}
    for engine in ("ledgerkit", "polars", "duckdb"):
        code = cold_code(engine, folder).replace("lk.classify(", "out = lk.classify(")
        code = code.replace(f"peers.{engine}_from_parquet(", f"out = peers.{engine}_from_parquet(")
        script = (
            f"import sys\nsys.path.insert(0, {str(cold.ROOT)!r})\n{code}\n"
            "from benchmarks.compare import digest\nprint(digest(out))"
        )
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(f"{engine} failed on {folder}:\n{proc.stderr[-2000:]}")
        digests[engine] = proc.stdout.split()[-1]
    if len(set(digests.values())) != 1:
        raise SystemExit(f"the engines disagree on {folder}: {digests}")
    marker.write_text(json.dumps(digests))


def folder_sizes(folder: Path) -> tuple[int, int]:
    """(procedures, entries) from the Parquet footers."""
    return tuple(pq.ParquetFile(folder / f"{t}.parquet").metadata.num_rows
                 for t in ("procedures", "entries"))  # fmt: skip


def main(argv=None):
    from ledgerkit.synth.ledgers import MEAN_PROCEDURES_PER_ENCOUNTER

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procedures", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--tables", default="warm,cold", help="warm, cold or both")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    n_enc = max(1, round(args.procedures / MEAN_PROCEDURES_PER_ENCOUNTER))
    engines = args.engines.split(",")

    t0 = time.perf_counter()
    small = lk.synth.generate(min(n_enc, 3000), seed=args.seed)
    check_agreement(small)
    root = Path(tempfile.mkdtemp(prefix="lk-agree-"))
    check_cold_agreement(write_folder(small, root))
    shutil.rmtree(root, ignore_errors=True)
    if n_enc <= 3000:
        root = Path(tempfile.mkdtemp(prefix="lk-compare-"))
        folder = write_folder(small, root)
    else:
        # generated once by a child process into the benchmark cache; never loaded here
        root = None
        folder = ledger_folder(args.procedures, seed=args.seed)
        write_policy(folder, small.policy)
        check_folder_agreement(folder)
    del small
    sizes = folder_sizes(folder)
    print(
        f"ledger: {n_enc:,} encounters, {sizes[0]:,} procedures, {sizes[1]:,} entries "
        f"({folder}; ready and checked in {time.perf_counter() - t0:.1f} s)\n"
        "all engines agree on class, stage, balance, allowed, open_pr, payer_balance "
        "(in memory and from Parquet)"
    )
    result = {"sizes": sizes}
    try:
        if "warm" in args.tables:
            result["warm"] = warm_table(folder, engines, args.runs, sizes)
        if "cold" in args.tables:
            result["cold"] = cold_table(folder, engines, args.cold_runs, sizes)
    finally:
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)
    children.print_peaks("compare.py")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
