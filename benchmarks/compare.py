"""Encounter classification: ledgerkit vs polars vs DuckDB on the same in-memory ledger.

Each engine computes, per encounter, the class (DENIAL / PARTIAL_DENIAL /
UNRESOLVED / PAID / AWAITING), the stage, and the balance, allowed, open PR and
payer balance figures of DOMAIN.md, written the way that engine is meant to be
used (polars lazy expressions; one DuckDB SQL query over the Arrow tables). All
three must agree exactly before any time is printed.

    python benchmarks/compare.py --procedures 10000000

Times are medians of ``--runs`` runs after one warm-up run. Peak memory is the
peak RSS sampled during an engine's runs minus the RSS before them (measured in a fresh
child process per engine, so engines do not hide each other's peaks).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import statistics
import sys
import tempfile
import time

import pyarrow as pa

import ledgerkit as lk
from ledgerkit.synth.ledgers import MEAN_PROCEDURES_PER_ENCOUNTER

CHECK = ["class", "stage", "balance", "allowed", "open_pr", "payer_balance"]


def policy_table(ledger) -> pa.Table:
    t = ledger.policy.table
    return pa.table({"group_code": t["group_code"], "carc": t["carc"], "bucket": t["bucket"]})


# ---------------------------------------------------------------------- polars
def classify_polars(ledger):
    import polars as pl

    e = pl.from_arrow(ledger.entries).lazy()
    enc = pl.from_arrow(ledger.encounters).lazy()
    pol = pl.from_arrow(policy_table(ledger))
    exact = pol.filter(pl.col("carc") != "*").lazy()
    fallback = pol.filter(pl.col("carc") == "*").select("group_code", fb="bucket").lazy()
    negated = e.select(pl.col("negates").drop_nulls().alias("entry_id"), neg=pl.lit(True))
    e = (
        e.with_columns(
            pl.col("kind").cast(pl.String),
            pl.col("group_code").cast(pl.String),
            pl.col("carc").cast(pl.String),
        )
        .join(exact, on=["group_code", "carc"], how="left")
        .join(fallback, on="group_code", how="left")
        .join(negated, on="entry_id", how="left")
        .with_columns(
            bucket=pl.when(pl.col("kind") == "adjustment")
            .then(pl.coalesce("bucket", "fb"))
            .when((pl.col("kind") == "write_off") & (pl.col("payer_seq") == 0))
            .then(pl.lit("pr_written_off"))
            .otherwise(pl.col("kind")),
            live=pl.col("negates").is_null() & pl.col("neg").is_null(),
        )
    )
    adjudicates = (
        pl.col("live")
        & (pl.col("payer_seq") >= 1)
        & pl.col("kind").is_in(["payment", "adjustment"])
    )
    e = e.with_columns(
        last=pl.when(adjudicates)
        .then(pl.col("payer_seq"))
        .otherwise(0)
        .max()
        .over("encounter_id", "line")
    )
    at_last = pl.col("payer_seq") == pl.col("last")

    def total(bucket, only_last=False):
        cond = pl.col("bucket") == bucket
        if only_last:
            cond = cond & at_last
        return pl.col("amount_cents").filter(cond).sum()

    proc = e.group_by("encounter_id", "line").agg(
        charge=total("charge"),
        paid=total("payment"),
        contractual=total("contractual"),
        pr123=total("pr_deductible", True)
        + total("pr_coinsurance", True)
        + total("pr_copay", True),
        pr=total("pr_deductible", True)
        + total("pr_coinsurance", True)
        + total("pr_copay", True)
        + total("pr_other", True),
        # Every payer's live denials (Settled question 1); the patient is no payer.
        denied=pl.col("amount_cents")
        .filter((pl.col("bucket") == "denied") & (pl.col("payer_seq") >= 1))
        .sum(),
        written_off=total("write_off"),
        pr_written_off=total("pr_written_off"),
        pushed=total("transfer_to_pr"),
        patient_paid=total("patient_payment"),
        last=pl.col("last").first(),
    )
    n_payers = (
        pl.when(pl.col("payer1_id").is_null())
        .then(0)
        .when(pl.col("payer2_id").is_null())
        .then(1)
        .when(pl.col("payer3_id").is_null())
        .then(2)
        .otherwise(3)
    )
    encs = enc.select("encounter_id", n_payers=n_payers)
    proc = (
        proc.join(encs, on="encounter_id")
        .with_columns(
            allowed=pl.col("paid") + pl.col("pr123"),
            balance=pl.col("charge")
            - pl.col("paid")
            - pl.col("patient_paid")
            - pl.col("contractual")
            - pl.col("written_off")
            - pl.col("pr_written_off"),
        )
        .with_columns(
            open_pr=pl.when(pl.col("n_payers") == 0)
            .then(pl.col("balance"))
            .otherwise(
                pl.col("pr") + pl.col("pushed") - pl.col("patient_paid") - pl.col("pr_written_off")
            )
        )
    )
    adj = pl.col("last") > 0
    out = proc.group_by("encounter_id").agg(
        balance=pl.col("balance").sum(),
        allowed=pl.col("allowed").sum(),
        open_pr=pl.col("open_pr").sum(),
        n_payers=pl.col("n_payers").first(),
        last=pl.col("last").max(),
        n_adj=adj.sum(),
        allowed_adj=pl.col("allowed").filter(adj).sum(),
        # Denied entirely: allowed 0 and a live denial (Settled question 2).
        any_whole=(adj & (pl.col("allowed") <= 0) & (pl.col("denied") > 0)).any(),
        any_denied=(adj & (pl.col("denied") > 0)).any(),
    )
    out = enc.select("encounter_id").join(out, on="encounter_id", how="left")
    zero = pl.lit(0, pl.Int64)
    out = out.with_columns(
        pl.col(c).fill_null(zero) for c in ("balance", "allowed", "open_pr", "n_adj", "last")
    ).with_columns(
        pl.col("n_payers").fill_null(0),
        payer_balance=pl.col("balance") - pl.col("open_pr"),
    )
    cls = (
        pl.when(pl.col("n_adj") == 0)
        .then(pl.lit("AWAITING"))
        .when(pl.col("any_whole") & (pl.col("allowed_adj") <= 0))
        .then(pl.lit("DENIAL"))
        .when(pl.col("any_whole"))
        .then(pl.lit("PARTIAL_DENIAL"))
        .when(pl.col("any_denied"))
        .then(pl.lit("UNRESOLVED"))
        .otherwise(pl.lit("PAID"))
    )
    stage = (
        pl.when(pl.col("balance") == 0)
        .then(pl.lit("finalized"))
        .when(pl.col("n_payers") == 0)
        .then(pl.lit("patient"))
        .when(pl.col("payer_balance") != 0)
        .then(pl.format("payer_{}", pl.max_horizontal("last", pl.lit(1))))
        .when((pl.col("open_pr") != 0) & (pl.col("last") < pl.col("n_payers")))
        .then(pl.format("payer_{}", pl.col("last") + 1))
        .otherwise(pl.lit("patient"))
    )
    return out.select(
        "encounter_id",
        cls.alias("class"),
        stage.alias("stage"),
        "balance",
        "allowed",
        "open_pr",
        "payer_balance",
    ).collect()


# ---------------------------------------------------------------------- duckdb
DUCKDB_SQL = """
with pol as (select * from policy),
neg as (select distinct negates as entry_id from entries where negates is not null),
e as (
  select e.encounter_id, e.line, e.payer_seq, e.amount_cents as amt,
    case when e.kind = 'adjustment' then coalesce(x.bucket, f.bucket)
         when e.kind = 'write_off' and e.payer_seq = 0 then 'pr_written_off'
         else e.kind end as bucket,
    (e.negates is null and n.entry_id is null) as live,
    e.kind
  from entries e
  left join pol x on x.group_code = e.group_code and x.carc = e.carc
  left join pol f on f.group_code = e.group_code and f.carc = '*'
  left join neg n on n.entry_id = e.entry_id
),
e2 as (
  select *, max(case when live and payer_seq >= 1 and kind in ('payment', 'adjustment')
                     then payer_seq else 0 end) over (partition by encounter_id, line) as last
  from e
),
proc as (
  select encounter_id, line, any_value(last) as last,
    sum(amt) filter (where bucket = 'charge') as charge,
    sum(amt) filter (where bucket = 'payment') as paid,
    sum(amt) filter (where bucket = 'contractual') as contractual,
    sum(amt) filter (where bucket in ('pr_deductible','pr_coinsurance','pr_copay')
                     and payer_seq = last) as pr123,
    sum(amt) filter (where bucket in ('pr_deductible','pr_coinsurance','pr_copay','pr_other')
                     and payer_seq = last) as pr,
    sum(amt) filter (where bucket = 'denied' and payer_seq >= 1) as denied,
    sum(amt) filter (where bucket = 'write_off') as written_off,
    sum(amt) filter (where bucket = 'pr_written_off') as pr_written_off,
    sum(amt) filter (where bucket = 'transfer_to_pr') as pushed,
    sum(amt) filter (where bucket = 'patient_payment') as patient_paid
  from e2 group by encounter_id, line
),
encs as (
  select encounter_id,
    case when payer1_id is null then 0 when payer2_id is null then 1
         when payer3_id is null then 2 else 3 end as n_payers
  from encounters
),
p as (
  select proc.encounter_id, last, encs.n_payers,
    coalesce(denied, 0) as denied,
    coalesce(paid, 0) + coalesce(pr123, 0) as allowed,
    coalesce(charge, 0) - coalesce(paid, 0) - coalesce(patient_paid, 0)
      - coalesce(contractual, 0) - coalesce(written_off, 0) - coalesce(pr_written_off, 0)
      as balance,
    coalesce(pr, 0) + coalesce(pushed, 0) - coalesce(patient_paid, 0)
      - coalesce(pr_written_off, 0) as pr_open
  from proc join encs using (encounter_id)
),
agg as (
  select encounter_id,
    sum(balance) as balance, sum(allowed) as allowed,
    sum(case when n_payers = 0 then balance else pr_open end) as open_pr,
    max(last) as last,
    count(*) filter (where last > 0) as n_adj,
    coalesce(sum(allowed) filter (where last > 0), 0) as allowed_adj,
    bool_or(last > 0 and allowed <= 0 and denied > 0) as any_whole,
    bool_or(last > 0 and denied > 0) as any_denied
  from p group by encounter_id
),
r as (
  select encs.encounter_id, encs.n_payers,
    coalesce(balance, 0)::bigint as balance, coalesce(allowed, 0)::bigint as allowed,
    coalesce(open_pr, 0)::bigint as open_pr, coalesce(last, 0) as last,
    coalesce(n_adj, 0) as n_adj, allowed_adj, any_whole, any_denied
  from encs left join agg using (encounter_id)
)
select encounter_id,
  case when n_adj = 0 then 'AWAITING' when any_whole and allowed_adj <= 0 then 'DENIAL'
       when any_whole then 'PARTIAL_DENIAL' when any_denied then 'UNRESOLVED'
       else 'PAID' end as class,
  case when balance = 0 then 'finalized' when n_payers = 0 then 'patient'
       when balance - open_pr != 0 then 'payer_' || greatest(last, 1)
       when open_pr != 0 and last < n_payers then 'payer_' || (last + 1)
       else 'patient' end as stage,
  balance, allowed, open_pr, balance - open_pr as payer_balance
from r
"""


def classify_duckdb(ledger):
    import duckdb

    # An explicit limit lets DuckDB spill instead of being killed on a shared machine.
    con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT})
    con.register("entries", ledger.entries)
    con.register("encounters", ledger.encounters)
    con.register("policy", policy_table(ledger))
    return con.sql(DUCKDB_SQL).to_arrow_table()


DUCKDB_MEMORY_LIMIT = "10GB"


def classify_ledgerkit(ledger):
    return lk.classify(ledger)


def bandwidth_floor(ledger):
    """One parallel pass over the columns classify reads: codes and amounts."""
    from ledgerkit._kernels.bandwidth import touch_nb

    keys = ledger.keys
    codes = keys.packed_codes(ledger.entries, ledger.policy)
    return touch_nb(codes, keys.amounts, keys.proc_entry_start, keys.enc_proc_start)


ENGINES = {
    "ledgerkit": classify_ledgerkit,
    "polars": classify_polars,
    "duckdb": classify_duckdb,
    "bandwidth floor": bandwidth_floor,
}


def _normalise(table: pa.Table) -> dict:
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


def _run_engine(name, folder, runs, queue):
    ledger = lk.Ledger.from_parquet(folder)
    ledger.keys.packed_codes(ledger.entries, ledger.policy)  # cached integer keys
    fn = ENGINES[name]
    base = _rss_mb()
    with _PeakRss() as rss:
        t0 = time.perf_counter()
        fn(ledger)  # warm-up (includes JIT compile or query planning)
        first = time.perf_counter() - t0
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn(ledger)
            times.append(time.perf_counter() - t0)
    queue.put(
        {
            "engine": name,
            "median": statistics.median(times),
            "first": first,
            "peak_mb": rss.peak - base,
        }
    )


def check_agreement(n_encounters, seed):
    ledger = lk.synth.generate(n_encounters, seed=seed)
    want = _normalise(classify_ledgerkit(ledger))
    for name in ("polars", "duckdb"):
        got = _normalise(ENGINES[name](ledger))
        for c in CHECK:
            if got[c] != want[c]:
                bad = next(i for i, (a, b) in enumerate(zip(got[c], want[c])) if a != b)
                raise SystemExit(
                    f"{name} disagrees with ledgerkit on {c!r} at row {bad}: "
                    f"{got[c][bad]!r} != {want[c][bad]!r}"
                )
    return ledger


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procedures", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    n_enc = max(1, round(args.procedures / MEAN_PROCEDURES_PER_ENCOUNTER))

    t0 = time.perf_counter()
    ledger = check_agreement(n_enc, args.seed)
    sizes = (ledger.procedures.num_rows, ledger.entries.num_rows)
    print(
        f"ledger: {n_enc:,} encounters, {sizes[0]:,} procedures, {sizes[1]:,} entries "
        f"(generated and checked in {time.perf_counter() - t0:.1f} s)"
    )
    t0 = time.perf_counter()
    from ledgerkit.core.keys import build_keys

    build_keys(ledger.encounters, ledger.procedures, ledger.entries)
    print(f"integer keys (built once per ledger, cached): {time.perf_counter() - t0:.2f} s")
    print("all engines agree on class, stage, balance, allowed, open_pr, payer_balance")
    # Children read the same ledger from Parquet instead of regenerating it.
    folder = ledger.to_parquet(tempfile.mkdtemp(prefix="lk-compare-"))
    del ledger

    ctx = mp.get_context("spawn")
    header = (
        f"{'engine':<16}{'procedures':>12}{'entries':>12}{'median s':>10}"
        f"{'x ledgerkit':>13}{'first call s':>14}{'peak MB':>9}"
    )
    print(header)
    print("-" * len(header), flush=True)
    rows = []
    lk_time = None
    for name in args.engines.split(","):
        # An empty Numba cache makes 'first call' include real compilation.
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="lk-numba-")
        queue = ctx.Queue()
        proc = ctx.Process(target=_run_engine, args=(name, folder, args.runs, queue))
        proc.start()
        row = None
        while row is None and (proc.is_alive() or not queue.empty()):
            try:
                row = queue.get(timeout=5)
            except Exception:  # queue.Empty: keep waiting while the child lives
                continue
        proc.join()
        if row is None:
            print(
                f"{name:<16} failed: the process exited with code {proc.exitcode} "
                "(-9: killed, usually out of memory)",
                flush=True,
            )
            continue
        rows.append(row)
        if name == "ledgerkit":
            lk_time = row["median"]
        ratio = f"{row['median'] / lk_time:>13.2f}" if lk_time else f"{'-':>13}"
        print(
            f"{row['engine']:<16}{sizes[0]:>12,}{sizes[1]:>12,}{row['median']:>10.3f}"
            f"{ratio}{row['first']:>14.2f}{row['peak_mb']:>9.0f}",
            flush=True,
        )
    print(
        f"(median of {args.runs} runs after one warm-up; 'first call' includes JIT "
        "compilation from an empty cache, or query planning; peak MB = peak RSS during "
        "the runs minus RSS before them, with the ledger and its cached keys loaded; "
        f"DuckDB memory_limit={DUCKDB_MEMORY_LIMIT})"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"sizes": sizes, "rows": rows}, f, indent=1)
    return rows


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
