"""Expected allowed against contracts: ledgerkit's kernels vs a polars join-based equivalent.

    python benchmarks/compare_contracts.py --procedures 200000

A child process reads the cached ledger folder, builds synthetic contracts
(``benchmarks/_contracts_data.py``) and writes them and polars' per-line frame as
Parquet; then each engine runs in its own child process (``benchmarks/children.py``):
the median warm time of ``--runs`` runs after a first call, the peak RSS the calls
added and the child's whole peak. Both engines start from the same per-line inputs
kept with the ledger (ledgerkit: the cached ledger with its line keys and allowed
figures; polars: the procedures joined to their encounter's payer, class and place
of service as one frame), so neither pays for reading the ledger. The parent only
compares a hash per result column: the engines must agree cent for cent on every
procedure (expected, variance, contract row, reason). Last, every process's peak RSS.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ledgerkit as lk  # noqa: E402
from benchmarks._contracts_data import synthetic_contract_tables  # noqa: E402
from benchmarks._data import cached_ledger  # noqa: E402
from benchmarks.children import column_digests, print_peaks, run_child  # noqa: E402
from benchmarks.compare import _PeakRss, _rss_mb  # noqa: E402
from ledgerkit.analytics.derived import derived  # noqa: E402
from ledgerkit.core.arrow import day_numbers  # noqa: E402


# ---------------------------------------------------------------------- polars inputs
def polars_lines(ledger):
    """One row per procedure (table order) with everything a contract row is matched on."""
    import polars as pl

    d = derived(ledger)
    allowed = d.figures.proc["allowed"]
    order = ledger.keys.proc_order
    if order is not None:
        allowed = allowed.copy()
        allowed[order] = d.figures.proc["allowed"]
    procedures = pl.from_arrow(
        ledger.procedures.select(
            ["encounter_id", "line", "cpt", "modifiers", "units", "charge_cents"]
        )
    )
    encounters = pl.from_arrow(
        ledger.encounters.select(["encounter_id", "payer1_id", "place_of_service"])
    )
    payers = pl.from_arrow(ledger.payers.select(["payer_id", "payer_class"]))
    return (
        procedures.with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("proc"),
            pl.Series("day", day_numbers(ledger.procedures["service_date"])),
            pl.Series("allowed", allowed),
        )
        .join(encounters, on="encounter_id", how="left")
        .with_columns(pl.col("payer1_id").cast(pl.String))
        .join(payers, left_on="payer1_id", right_on="payer_id", how="left")
        .select(
            "proc", "encounter_id", "line", "day", "units", "allowed",
            pl.col("charge_cents").alias("charge"),
            pl.col("cpt").cast(pl.String).str.strip_chars().str.to_uppercase().alias("code"),
            pl.col("modifiers").cast(pl.String).str.split(":").list.first()
            .str.strip_chars().str.to_uppercase().replace("", None).alias("mod"),
            pl.col("place_of_service").cast(pl.String).alias("pos"),
            pl.col("payer1_id").cast(pl.String).alias("payer"),
            pl.when(pl.col("payer1_id").is_null()).then(pl.lit("self_pay"))
            .otherwise(pl.col("payer_class").cast(pl.String).fill_null("other")).alias("pclass"),
        )
    )  # fmt: skip


def polars_rows(contracts):
    """Contract rows (``row`` = index in the table) with their precedence rank."""
    import polars as pl

    t = (
        pl.from_arrow(contracts.table)
        .with_row_index("row")
        .with_columns(pl.col("row").cast(pl.Int32))
    )
    level = (
        pl.when(pl.col("payer").is_not_null()).then(2)
        .when(pl.col("payer_class").is_not_null()).then(1).otherwise(0)
    )  # fmt: skip
    return t.with_columns(
        level.alias("level"),
        pl.col("effective_from").cast(pl.Int32).fill_null(np.iinfo(np.int32).min).alias("from"),
        pl.col("effective_to").cast(pl.Int32).fill_null(np.iinfo(np.int32).max).alias("to"),
        pl.Series("span", contracts.code_to - contracts.code_from),
    )


# ---------------------------------------------------------------------- polars engine
MATCH_COLUMNS = ["row", "code", "modifier", "place_of_service", "from", "to", "level", "span"]


def _candidates(rows, codes):
    """Contract rows expanded to the ledger codes they cover (ranges are not equi-joinable)."""
    import polars as pl

    return rows.join(codes, how="cross").filter(
        pl.col("code").is_between(pl.col("code_from"), pl.col("code_to"))
    )


def _best(lines, candidates, keys):
    """(winning row per line, lines whose rows matched all but the date), lazily."""
    import polars as pl

    joined = [
        lines.select("proc", "day", "mod", "pos", "code", line_key.alias("key")).join(
            candidates.filter(row_filter).select(*MATCH_COLUMNS, row_key.alias("key")),
            on=["key", "code"],
        )
        for line_key, row_filter, row_key in keys
    ]
    hits = pl.concat(joined).filter(
        (pl.col("modifier").is_null() | (pl.col("modifier") == pl.col("mod")))
        & (pl.col("place_of_service").is_null() | (pl.col("place_of_service") == pl.col("pos")))
    )
    dated = pl.col("day").is_between(pl.col("from"), pl.col("to"))
    won = (
        hits.filter(dated)
        .sort(
            ["proc", "level", "span", pl.col("modifier").is_null(),
             pl.col("place_of_service").is_null(), "from"],
            descending=[False, True, False, False, False, True],
        )
        .unique("proc", keep="first")
        .select("proc", "row")
    )  # fmt: skip
    outside = hits.filter(~dated).select("proc").unique().with_columns(outside=pl.lit(True))
    return won, outside


def expected_polars(lines, rows, base_rows, codes):
    """The same answer as ``lk.expected_allowed``, written as polars joins and windows."""
    import polars as pl

    lazy = lines.lazy()
    payer, payer_class = pl.col("payer"), pl.col("payer_class")
    any_payer = pl.when(payer.is_not_null()).then(pl.lit("*"))  # self-pay: no any-payer rows
    won, outside = _best(
        lazy,
        _candidates(rows, codes).lazy(),
        [
            (payer, payer.is_not_null(), payer),
            (pl.col("pclass"), payer.is_null() & payer_class.is_not_null(), payer_class),
            (any_payer, payer.is_null() & payer_class.is_null(), pl.lit("*")),
        ],
    )
    base_won, _ = _best(
        lazy, _candidates(base_rows, codes).lazy(), [(pl.lit("*"), pl.lit(True), pl.lit("*"))]
    )
    base_rate = base_rows.lazy().select("row", pl.col("rate_cents_per_unit").alias("base_rate"))
    terms = rows.lazy().select(
        pl.col("row").alias("contract_row"), "rate_cents_per_unit", "carve_out",
        "mppr_family", "cap_at_charge",
        (pl.col("percent_of_base") * 100).round().cast(pl.Int64).alias("percent_bp"),
        (pl.col("mppr_percent") * 100).round().cast(pl.Int64).alias("mppr_bp"),
    )  # fmt: skip
    units = pl.max_horizontal(pl.col("units"), 0).cast(pl.Int64)
    amount = (
        pl.when(pl.col("carve_out")).then(None)
        .when(pl.col("rate_cents_per_unit").is_not_null())
        .then(pl.col("rate_cents_per_unit") * units)
        .otherwise((pl.col("base_rate") * units * pl.col("percent_bp") + 5000) // 10000)
    )  # fmt: skip
    family = ["encounter_id", "mppr_family"]
    in_family = pl.col("mppr_family").is_not_null() & pl.col("amount").is_not_null()
    reduced = (pl.col("amount") * pl.col("mppr_bp") + 5000) // 10000
    value = pl.when(in_family & (pl.col("rank") > 0)).then(reduced).otherwise(pl.col("amount"))
    capped = (
        pl.when(pl.col("cap_at_charge") & value.is_not_null())
        .then(pl.min_horizontal(value, pl.col("charge")))
        .otherwise(value)
    )  # fmt: skip
    reason = (
        pl.when(pl.col("contract_row").is_null() & pl.col("outside").fill_null(False))
        .then(pl.lit("outside_dates"))
        .when(pl.col("contract_row").is_null()).then(pl.lit("no_contract"))
        .when(pl.col("carve_out")).then(pl.lit("carve_out"))
        .when(pl.col("amount").is_null()).then(pl.lit("no_base_rate"))
    )  # fmt: skip
    return (
        lazy.join(won.rename({"row": "contract_row"}), on="proc", how="left")
        .join(outside, on="proc", how="left")
        .join(terms, on="contract_row", how="left")
        .join(base_won.join(base_rate, on="row").drop("row"), on="proc", how="left")
        .with_columns(amount.alias("amount"))
        # MPPR: within an encounter and family, highest amount first, then lower line.
        .sort(
            ["encounter_id", "mppr_family", "amount", "line"],
            descending=[False, False, True, False],
        )
        .with_columns(pl.int_range(pl.len()).over(family).alias("rank"))
        .with_columns(
            pl.when(pl.col("carve_out")).then(0).otherwise(capped).alias("expected_allowed_cents"),
            reason.alias("reason"),
        )
        .with_columns(
            (pl.col("allowed") - pl.col("expected_allowed_cents")).alias("variance_cents")
        )
        .select("proc", "expected_allowed_cents", "variance_cents", "contract_row", "reason")
        .sort("proc")
        .collect()
    )


# ---------------------------------------------------------------------- run
RESULT_COLUMNS = ("expected_allowed_cents", "variance_cents", "contract_row", "reason")


def prepare_inputs(procedures: int, seed: int, out: str) -> dict:
    """In a child: the contracts and the polars engine's per-line frame, written to ``out``
    (built from the cached ledger with ledgerkit; neither engine's time or memory)."""
    import pyarrow.parquet as pq

    t = time.perf_counter()
    ledger = cached_ledger(procedures, seed=seed)  # generated once, by a child
    table, schedules = synthetic_contract_tables(ledger, seed=seed)
    folder = Path(out)
    pq.write_table(table, folder / "contracts.parquet")
    pq.write_table(schedules["medicare"], folder / "medicare.parquet")
    polars_lines(ledger).write_parquet(folder / "lines.parquet")
    return {
        "procedures": ledger.procedures.num_rows,
        "contract_rows": table.num_rows,
        "base_rows": schedules["medicare"].num_rows,
        "seconds": time.perf_counter() - t,
    }


def _contracts(out: str):
    import pyarrow.parquet as pq

    folder = Path(out)
    medicare = pq.read_table(folder / "medicare.parquet")
    return lk.contracts.load(
        pq.read_table(folder / "contracts.parquet"), schedules={"medicare": medicare}
    )


def ledgerkit_engine(procedures: int, seed: int, out: str, runs: int) -> dict:
    """In a child: ``lk.expected_allowed`` on the cached ledger, its allowed figures kept."""
    ledger = cached_ledger(procedures, seed=seed)
    contracts = _contracts(out)
    derived(ledger).figures  # allowed: kept with the ledger, as polars gets it in its frame
    result, first, median, added = timed(lambda: lk.expected_allowed(ledger, contracts), runs)
    counts = result["reason"].cast(pa.string()).value_counts().to_pylist()
    return {
        "first": first, "median": median, "added_mb": added,
        "digests": column_digests(result, RESULT_COLUMNS),
        "reasons": [(c["values"] or "priced", c["counts"]) for c in counts],
    }  # fmt: skip


def polars_engine(out: str, runs: int) -> dict:
    """In a child: the polars equivalent on the per-line frame ``prepare_inputs`` wrote."""
    import polars as pl

    contracts = _contracts(out)
    lines = pl.read_parquet(Path(out) / "lines.parquet")
    rows = polars_rows(contracts)
    base_rows = polars_rows(contracts.schedules["medicare"])
    codes = lines.select("code").unique()
    result, first, median, added = timed(
        lambda: expected_polars(lines, rows, base_rows, codes), runs
    )
    digests = column_digests(result, RESULT_COLUMNS)
    return {"first": first, "median": median, "added_mb": added, "digests": digests,
            "version": pl.__version__}  # fmt: skip


def agree(ours: dict, theirs: dict) -> None:
    """Stop unless both engines gave the same cents, rows and reasons for every procedure."""
    for name in RESULT_COLUMNS:
        if ours["digests"][name] != theirs["digests"][name]:
            raise SystemExit(f"polars and ledgerkit disagree on {name}")


def timed(fn, runs):
    base = _rss_mb()
    with _PeakRss() as rss:
        t = time.perf_counter()
        out = fn()
        first = time.perf_counter() - t
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return out, first, statistics.median(times), rss.peak - base


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procedures", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="lk-contracts-") as out:
        prep = run_child("compare_contracts", "prepare_inputs", args.procedures, args.seed,
                         out, label="inputs (ledger, contracts, polars lines)")  # fmt: skip
        print(f"# {prep['procedures']:,} procedures, {prep['contract_rows']} contract rows "
              f"(+{prep['base_rows']} base), inputs written in {prep['seconds']:.1f} s",
              flush=True)  # fmt: skip
        ours = run_child("compare_contracts", "ledgerkit_engine", args.procedures, args.seed,
                         out, args.runs, label="ledgerkit")  # fmt: skip
        theirs = run_child("compare_contracts", "polars_engine", out, args.runs, label="polars")
    agree(ours, theirs)
    print("# same answer on every procedure:", ", ".join(
        f"{reason} {count:,}" for reason, count in ours["reasons"]))  # fmt: skip
    print(
        f"\n{'engine':<24}{'first call s':>14}{'median s':>10}{'x ledgerkit':>13}"
        f"{'added MB':>10}{'peak MB':>9}"
    )
    for name, r in (("ledgerkit (numba)", ours), (f"polars {theirs['version']}", theirs)):
        ratio = r["median"] / ours["median"]
        print(f"{name:<24}{r['first']:>14.3f}{r['median']:>10.3f}{ratio:>13.1f}"
              f"{r['added_mb']:>10,.0f}{r['peak_mb']:>9,.0f}")  # fmt: skip
    print(
        f"(median of {args.runs} runs after a first call; each engine in its own child "
        "process; added MB: peak RSS during the calls minus RSS before them; peak MB: the "
        "child's whole peak RSS)"
    )
    print_peaks("compare_contracts.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
