"""Encounter classification written for polars and for DuckDB, from Arrow tables or Parquet.

Each engine computes, per encounter, the class, the stage and the balance, allowed,
open PR and payer balance of DOMAIN.md the way that engine is meant to be used: polars
lazy expressions (``scan_parquet`` pushes the column selection into the reader), one
DuckDB SQL query (``read_parquet`` likewise). Both take the same inputs as ledgerkit:
the ledger's tables and its CARC policy table, nothing precomputed.

Reviewed for speed (issue #19): one hash aggregation per level and no window. The
amounts of the last adjudicating payer are summed per payer (``payer_seq`` 0..3) in
the same pass that finds that payer, then picked, instead of a window over every
entry followed by a second aggregation. No module-level import of an engine, so a
fresh process running one engine loads only that engine.
"""

from __future__ import annotations

from pathlib import Path

PR123 = ("pr_deductible", "pr_coinsurance", "pr_copay")
PR_ALL = (*PR123, "pr_other")
SEQS = (0, 1, 2, 3)


def policy_table(policy):
    """The policy's (group code, CARC, bucket) rows as an Arrow table ('*' = any CARC)."""
    import pyarrow as pa

    t = policy.table
    return pa.table({"group_code": t["group_code"], "carc": t["carc"], "bucket": t["bucket"]})


# ---------------------------------------------------------------------- polars
def classify_polars(entries, encounters, policy):
    """``entries`` and ``encounters`` as polars LazyFrames, ``policy`` a DataFrame."""
    import polars as pl

    exact = policy.filter(pl.col("carc") != "*").lazy()
    fallback = policy.filter(pl.col("carc") == "*").select("group_code", fb="bucket").lazy()
    e = entries.select(
        "entry_id", "encounter_id", "line", "payer_seq", "amount_cents", "negates",
        pl.col("kind").cast(pl.String),
        pl.col("group_code").cast(pl.String),
        pl.col("carc").cast(pl.String),
    )  # fmt: skip
    negated = e.select(pl.col("negates").drop_nulls().unique().alias("entry_id"), neg=pl.lit(1))
    e = (
        e.join(exact, on=["group_code", "carc"], how="left")
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
    amount, bucket, seq = pl.col("amount_cents"), pl.col("bucket"), pl.col("payer_seq")

    def total(cond):
        return amount.filter(cond).sum()

    adjudicates = pl.col("live") & (seq >= 1) & pl.col("kind").is_in(["payment", "adjustment"])
    per_seq = {}
    for k in SEQS:
        per_seq[f"pr123_{k}"] = total(bucket.is_in(PR123) & (seq == k))
        per_seq[f"pr_{k}"] = total(bucket.is_in(PR_ALL) & (seq == k))
    proc = e.group_by("encounter_id", "line").agg(
        charge=total(bucket == "charge"),
        paid=total(bucket == "payment"),
        contractual=total(bucket == "contractual"),
        # Every payer's live denials (Settled question 1); the patient is no payer.
        denied=total((bucket == "denied") & (seq >= 1)),
        written_off=total(bucket == "write_off"),
        pr_written_off=total(bucket == "pr_written_off"),
        pushed=total(bucket == "transfer_to_pr"),
        patient_paid=total(bucket == "patient_payment"),
        last=pl.when(adjudicates).then(seq).otherwise(0).max(),
        **per_seq,
    )

    def at_last(name):
        expr = pl.lit(0, pl.Int64)
        for k in SEQS:
            expr = pl.when(pl.col("last") == k).then(pl.col(f"{name}_{k}")).otherwise(expr)
        return expr

    n_payers = (
        pl.when(pl.col("payer1_id").is_null())
        .then(0)
        .when(pl.col("payer2_id").is_null())
        .then(1)
        .when(pl.col("payer3_id").is_null())
        .then(2)
        .otherwise(3)
    )
    encs = encounters.select("encounter_id", n_payers=n_payers)
    proc = (
        proc.join(encs, on="encounter_id")
        .with_columns(
            allowed=pl.col("paid") + at_last("pr123"),
            balance=pl.col("charge")
            - pl.col("paid")
            - pl.col("patient_paid")
            - pl.col("contractual")
            - pl.col("written_off")
            - pl.col("pr_written_off"),
            pr=at_last("pr"),
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
        last=pl.col("last").max(),
        n_adj=adj.sum(),
        allowed_adj=pl.col("allowed").filter(adj).sum(),
        # Denied entirely: allowed 0 and a live denial (Settled question 2).
        any_whole=(adj & (pl.col("allowed") <= 0) & (pl.col("denied") > 0)).any(),
        any_denied=(adj & (pl.col("denied") > 0)).any(),
    )
    out = encs.join(out, on="encounter_id", how="left", maintain_order="left")
    zero = pl.lit(0, pl.Int64)
    out = out.with_columns(
        pl.col(c).fill_null(zero) for c in ("balance", "allowed", "open_pr", "n_adj", "last")
    ).with_columns(payer_balance=pl.col("balance") - pl.col("open_pr"))
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


def polars_from_arrow(entries, encounters, policy):
    """The polars query over in-memory Arrow tables (the warm table's input)."""
    import polars as pl

    return classify_polars(
        pl.from_arrow(entries).lazy(), pl.from_arrow(encounters).lazy(), pl.from_arrow(policy)
    )


def polars_from_parquet(folder: Path, policy_file: Path):
    """The polars query reading the ledger folder's Parquet files (the cold table's input)."""
    import polars as pl

    return classify_polars(
        pl.scan_parquet(folder / "entries.parquet"),
        pl.scan_parquet(folder / "encounters.parquet"),
        pl.read_parquet(policy_file),
    )


# ---------------------------------------------------------------------- duckdb
def _pr_sums() -> str:
    parts = []
    for k in SEQS:
        pr123 = ", ".join(f"'{b}'" for b in PR123)
        pr_all = ", ".join(f"'{b}'" for b in PR_ALL)
        parts.append(
            f"sum(amt) filter (where bucket in ({pr123}) and payer_seq = {k}) as pr123_{k},\n"
            f"    sum(amt) filter (where bucket in ({pr_all}) and payer_seq = {k}) as pr_{k}"
        )
    return ",\n    ".join(parts)


def _at_last(name: str) -> str:
    whens = " ".join(f"when {k} then {name}_{k}" for k in SEQS)
    return f"coalesce(case last {whens} end, 0)"


DUCKDB_SQL = f"""
with neg as (select distinct negates as entry_id from entries where negates is not null),
e as (
  select e.encounter_id, e.line, e.payer_seq, e.amount_cents as amt,
    case when e.kind = 'adjustment' then coalesce(x.bucket, f.bucket)
         when e.kind = 'write_off' and e.payer_seq = 0 then 'pr_written_off'
         else e.kind end as bucket,
    (e.negates is null and n.entry_id is null) as live,
    e.kind
  from entries e
  left join policy x on x.group_code = e.group_code and x.carc = e.carc
  left join policy f on f.group_code = e.group_code and f.carc = '*'
  left join neg n on n.entry_id = e.entry_id
),
proc as (
  select encounter_id, line,
    max(case when live and payer_seq >= 1 and kind in ('payment', 'adjustment')
             then payer_seq else 0 end) as last,
    sum(amt) filter (where bucket = 'charge') as charge,
    sum(amt) filter (where bucket = 'payment') as paid,
    sum(amt) filter (where bucket = 'contractual') as contractual,
    sum(amt) filter (where bucket = 'denied' and payer_seq >= 1) as denied,
    sum(amt) filter (where bucket = 'write_off') as written_off,
    sum(amt) filter (where bucket = 'pr_written_off') as pr_written_off,
    sum(amt) filter (where bucket = 'transfer_to_pr') as pushed,
    sum(amt) filter (where bucket = 'patient_payment') as patient_paid,
    {_pr_sums()}
  from e group by encounter_id, line
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
    coalesce(paid, 0) + {_at_last("pr123")} as allowed,
    coalesce(charge, 0) - coalesce(paid, 0) - coalesce(patient_paid, 0)
      - coalesce(contractual, 0) - coalesce(written_off, 0) - coalesce(pr_written_off, 0)
      as balance,
    {_at_last("pr")} + coalesce(pushed, 0) - coalesce(patient_paid, 0)
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

# An explicit limit lets DuckDB spill instead of being killed on a shared machine.
DUCKDB_MEMORY_LIMIT = "10GB"


def duckdb_connection():
    import duckdb

    con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT})
    con.execute("set enable_progress_bar = false")  # a session option, not a global one
    return con


def duckdb_from_arrow(entries, encounters, policy):
    """The DuckDB query over in-memory Arrow tables (registered, not copied)."""
    con = duckdb_connection()
    con.register("entries", entries)
    con.register("encounters", encounters)
    con.register("policy", policy)
    return con.sql(DUCKDB_SQL).to_arrow_table()


def duckdb_from_parquet(folder: Path, policy_file: Path):
    """The DuckDB query reading the ledger folder's Parquet files."""
    con = duckdb_connection()
    for name in ("entries", "encounters"):
        con.sql(f"create view {name} as select * from read_parquet('{folder / name}.parquet')")
    con.sql(f"create view policy as select * from read_parquet('{policy_file}')")
    return con.sql(DUCKDB_SQL).to_arrow_table()
