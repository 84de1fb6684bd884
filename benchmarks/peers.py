"""Encounter classification written for polars and for DuckDB, from Arrow tables or Parquet.

Each engine computes, per encounter, the class, the stage and the balance, allowed,
open PR and payer balance of DOMAIN.md (Settled questions included) the way that
engine is meant to be used: polars lazy expressions (``scan_parquet`` pushes the
column selection into the reader), one DuckDB SQL query over Arrow tables registered
without a copy (``read_parquet`` likewise). Both take the same inputs as ledgerkit:
the ledger's tables and its CARC policy table, nothing precomputed.

Shape of both (issue #19, "honest peers"):

* **Buckets on the dictionary, not on the entries.** The policy (group code + CARC,
  with a ``'*'`` fallback per group code) is joined, as strings, to the ~25 distinct
  (group code, CARC) pairs of the adjustments only, giving a small integer bucket
  code; every entry meets that code through one join on the small table (polars: on
  a 64-bit key made of the categoricals' physical codes), the other kinds take theirs
  from the kind. No string comparison or string join runs per entry.
* **One hash aggregation per level, integer conditions, few sums.** Per procedure:
  the balance, the paid amount, the PR movements (pushed - patient paid - PR written
  off) and the live denials as signed sums of one ``when``/``CASE`` each, PR (1-3 and
  all) per payer 0..3, and the last adjudicating payer; the PR of that payer is
  picked afterwards (no window). Per encounter: one more aggregation, then the
  encounters table (payer count) joined once at encounter level, not per procedure.
* **Negated entries are not live** through a semi-join on the negated ids.
* polars: the warm preparation casts ``encounter_id`` to Categorical (timed, shown in
  the 'prep' column, like ledgerkit's integer keys), so the group keys hash integers;
  class and stage come out as Enums. DuckDB: ``sum(CASE ...)`` rather than
  ``sum(...) FILTER (...)``, both threads (DuckDB's default here).

Forms tried at 1M procedures (4.75M entries), same data, one process, this 2-core
machine at load 10-13 (so wall ~3-4x CPU; CPU s of all threads are the steadier
figure), 2 December 2026:

=====================================================================  ==========  =====
form                                                                   wall s      CPU s
=====================================================================  ==========  =====
polars, before: kind/group/CARC cast to String, 3 joins per entry       11.2-18.3   4.6-5.5
  (policy exact, fallback, negated ids), 17 ``filter().sum()``,
  payer count joined per procedure, ``pl.format`` stage strings
polars, buckets via the distinct triples, 17 ``when().sum()``           11.1-12.6   2.8
  same, streaming engine                                                 7.7-8.0     2.5-2.7
  same, ``encounter_id`` Categorical (prep 1.1 s wall)                   5.5-6.3     1.8-1.9
  same, streaming engine                                                 3.9-4.9     1.6-1.9
  pieces: triple join per entry 0.45 CPU s; physical-code u64 key
  join 0.18-0.25; ``filter().sum()`` x17 1.6-2.4 vs ``when().sum()`` 1.0-1.2
DuckDB, before: string joins per entry, 20 ``sum() FILTER``             11.4-12.7   3.3-3.5
DuckDB, buckets via the distinct triples, 20 ``sum() FILTER``            9.2-11.2   2.8-3.0
  pieces: procedure GROUP BY with 16 FILTER sums 1.4-3.2 CPU s,
  16 ``sum(CASE)`` 1.05; tables copied into DuckDB (prep 3.9 s) no faster;
  ``preserve_insertion_order = false`` no faster
**kept** polars: adjustment pairs by u64 physical key, 12 signed          3.7-5.0     1.3-1.5
  ``when().sum()``, Categorical ids (prep 2.3-3.0 s wall)
  same, streaming engine                                                 3.8-4.3     1.2-1.4
**kept** DuckDB: adjustment pairs only, 12 signed ``sum(CASE)``          5.8-10.0    2.0-2.2
=====================================================================  ==========  =====

What is left is each engine's own hash aggregation over the 4.75M entries, keyed by
(encounter, line): in DuckDB's EXPLAIN ANALYZE that GROUP BY is 6.5 s of the 7.2 s of
operator time (BIGINT sums over an Arrow scan, which has no statistics to let DuckDB
use 64-bit accumulators). polars'
streaming engine is no faster here (``POLARS_ENGINE`` flips it). No
module-level import of an engine, so a fresh process running one engine loads only
that engine.
"""

from __future__ import annotations

from pathlib import Path

# The buckets the classification sums, as small integer codes (0: one it never sums,
# "other"). A payer-0 write-off is the patient's part written off (DOMAIN.md).
SUMMED = (
    "charge", "payment", "contractual", "denied", "write_off", "pr_written_off",
    "transfer_to_pr", "patient_payment", "pr_deductible", "pr_coinsurance", "pr_copay",
    "pr_other",
)  # fmt: skip
CODE = {name: i + 1 for i, name in enumerate(SUMMED)}
PR123 = (CODE["pr_deductible"], CODE["pr_copay"])  # code range: deductible..copay
PR_ALL = (CODE["pr_deductible"], CODE["pr_other"])  # ..and other PR
BALANCE_DOWN = ("payment", "patient_payment", "contractual", "write_off", "pr_written_off")
PR_DOWN = ("patient_payment", "pr_written_off")  # against the patient's part
SEQS = (0, 1, 2, 3)
CLASSES = ("DENIAL", "PARTIAL_DENIAL", "UNRESOLVED", "PAID", "AWAITING")
STAGES = ("finalized", "patient", "payer_1", "payer_2", "payer_3")
# polars' engine for the query: 'streaming' measured no faster than the default
# engine on the final form (module docstring); kept a name so a reviewer can flip it.
POLARS_ENGINE = "auto"


def policy_table(policy):
    """The policy's (group code, CARC, bucket) rows as an Arrow table ('*' = any CARC)."""
    import pyarrow as pa

    t = policy.table
    return pa.table({"group_code": t["group_code"], "carc": t["carc"], "bucket": t["bucket"]})


# ---------------------------------------------------------------------- polars
def _polars_pair_key():
    """(group code, CARC) as one UInt64 of the categoricals' physical codes (null: all ones)."""
    import polars as pl

    def physical(name):
        return pl.col(name).to_physical().cast(pl.UInt64).fill_null(2**32 - 1)

    return physical("group_code") * 2**32 + physical("carc")


def _polars_adjustment_buckets(entries, policy):
    """Bucket code of every distinct adjustment (group code, CARC) pair, by pair key."""
    import polars as pl

    exact = policy.filter(pl.col("carc") != "*").lazy()
    fallback = policy.filter(pl.col("carc") == "*").select("group_code", fb="bucket").lazy()
    pairs = (
        entries.filter(pl.col("kind") == "adjustment")
        .select("group_code", "carc")
        .unique()
        .with_columns(key=_polars_pair_key())
        .with_columns(pl.col("group_code", "carc").cast(pl.String))
    )
    bucket = pl.coalesce("bucket", "fb").replace_strict(CODE, default=0, return_dtype=pl.Int8)
    return (
        pairs.join(exact, on=["group_code", "carc"], how="left")
        .join(fallback, on="group_code", how="left")
        .select("key", adj_bucket=bucket)
    )


def classify_polars(entries, encounters, policy):
    """``entries`` and ``encounters`` as polars LazyFrames, ``policy`` a DataFrame.

    ``encounter_id`` may be String or Categorical (the same type in both frames).
    """
    import polars as pl

    c, seq, amount = pl.col, pl.col("payer_seq"), pl.col("amount_cents")
    e = entries.select(
        "entry_id", "encounter_id", "line", "payer_seq", "amount_cents", "negates",
        *(c(name).cast(pl.Categorical) for name in ("kind", "group_code", "carc")),
    )  # fmt: skip
    e = e.with_columns(key=_polars_pair_key()).join(
        _polars_adjustment_buckets(e, policy), on="key", how="left"
    )
    kind = c("kind")
    bucket = (
        pl.when(kind == "adjustment")
        .then(c("adj_bucket").fill_null(0))
        .when((kind == "write_off") & (seq == 0))
        .then(CODE["pr_written_off"])
    )
    for name in ("charge", "payment", "patient_payment", "write_off", "transfer_to_pr"):
        bucket = bucket.when(kind == name).then(CODE[name])
    negated = c("negates").drop_nulls().implode()
    live = c("negates").is_null() & ~c("entry_id").is_in(negated)
    adjudicating = kind.is_in(["payment", "adjustment"]) & live & (seq >= 1)
    e = e.select(
        "encounter_id", "line", "payer_seq", "amount_cents",
        b=bucket.otherwise(0).cast(pl.Int8),
        adj_seq=pl.when(adjudicating).then(seq).otherwise(0),
    )  # fmt: skip
    b = c("b")

    def total(cond):
        return pl.when(cond).then(amount).otherwise(0).sum()

    def signed(up, down):
        return pl.when(b.is_in(up)).then(amount).when(b.is_in(down)).then(-amount).otherwise(0)

    def codes(*names):
        return [CODE[n] for n in names]

    per_seq = {}
    for k in SEQS:
        per_seq[f"pr123_{k}"] = total(b.is_between(*PR123) & (seq == k))
        per_seq[f"pr_{k}"] = total(b.is_between(*PR_ALL) & (seq == k))
    proc = e.group_by("encounter_id", "line").agg(
        last=c("adj_seq").max(),
        balance=signed(codes("charge"), codes(*BALANCE_DOWN)).sum(),
        paid=total(b == CODE["payment"]),
        pr_moved=signed(codes("transfer_to_pr"), codes(*PR_DOWN)).sum(),
        # Every payer's live denials (Settled question 1); the patient is no payer.
        denied=total((b == CODE["denied"]) & (seq >= 1)),
        **per_seq,
    )

    def at_last(name):
        expr = c(f"{name}_0")
        for k in SEQS[1:]:
            expr = pl.when(c("last") == k).then(c(f"{name}_{k}")).otherwise(expr)
        return expr

    proc = proc.select(
        "encounter_id", "last", "balance", "denied",
        allowed=c("paid") + at_last("pr123"),  # PR of the last adjudicating payer only
        pr_open=at_last("pr") + c("pr_moved"),
    )  # fmt: skip
    adj = c("last") > 0
    per_encounter = proc.group_by("encounter_id").agg(
        balance=c("balance").sum(),
        allowed=c("allowed").sum(),
        pr_open=c("pr_open").sum(),
        last=c("last").max(),
        n_adj=adj.sum(),
        allowed_adj=pl.when(adj).then(c("allowed")).otherwise(0).sum(),
        # Denied entirely: allowed 0 and a live denial (Settled question 2).
        any_whole=(adj & (c("allowed") <= 0) & (c("denied") > 0)).any(),
        any_denied=(adj & (c("denied") > 0)).any(),
    )
    n_payers = (
        pl.when(c("payer1_id").is_null())
        .then(0)
        .when(c("payer2_id").is_null())
        .then(1)
        .when(c("payer3_id").is_null())
        .then(2)
        .otherwise(3)
    )
    out = encounters.select("encounter_id", n_payers=n_payers).join(
        per_encounter, on="encounter_id", how="left", maintain_order="left"
    )
    zero = pl.lit(0, pl.Int64)
    figures = ("balance", "allowed", "pr_open", "n_adj", "last", "allowed_adj")
    out = (
        out.with_columns(c(name).fill_null(zero) for name in figures)
        .with_columns(
            # Self-pay: everything open is the patient's.
            open_pr=pl.when(c("n_payers") == 0).then(c("balance")).otherwise(c("pr_open"))
        )
        .with_columns(payer_balance=c("balance") - c("open_pr"))
    )
    cls = (
        pl.when(c("n_adj") == 0)
        .then(pl.lit("AWAITING"))
        .when(c("any_whole") & (c("allowed_adj") <= 0))
        .then(pl.lit("DENIAL"))
        .when(c("any_whole"))
        .then(pl.lit("PARTIAL_DENIAL"))
        .when(c("any_denied"))
        .then(pl.lit("UNRESOLVED"))
        .otherwise(pl.lit("PAID"))
    )
    payer = (
        pl.when(c("payer_balance") != 0)
        .then(pl.max_horizontal("last", 1))
        .when((c("open_pr") != 0) & (c("last") < c("n_payers")))
        .then(c("last") + 1)
        .otherwise(0)
    )
    stage = (
        pl.when(c("balance") == 0)
        .then(pl.lit("finalized"))
        .when(c("n_payers") == 0)
        .then(pl.lit("patient"))
    )
    for k in (1, 2, 3):
        stage = stage.when(payer == k).then(pl.lit(f"payer_{k}"))
    stage = stage.otherwise(pl.lit("patient"))
    return out.select(
        c("encounter_id").cast(pl.String),  # the ids as the ledger has them
        cls.cast(pl.Enum(CLASSES)).alias("class"),
        stage.cast(pl.Enum(STAGES)).alias("stage"),
        "balance",
        "allowed",
        "open_pr",
        "payer_balance",
    ).collect(engine=POLARS_ENGINE)


def polars_frames(entries, encounters, policy) -> dict:
    """polars' own preparation of the Arrow tables (the warm table's 'prep'): frames,
    with the encounter ids as one Categorical so the group keys hash integers."""
    import polars as pl

    frames = {
        "entries": pl.from_arrow(entries),
        "encounters": pl.from_arrow(encounters),
        "policy": pl.from_arrow(policy),
    }
    for name in ("entries", "encounters"):
        frames[name] = frames[name].with_columns(pl.col("encounter_id").cast(pl.Categorical))
    return frames


def polars_from_arrow(entries, encounters, policy):
    """The polars query over in-memory Arrow tables, after polars' preparation."""
    frames = polars_frames(entries, encounters, policy)
    return classify_polars(frames["entries"].lazy(), frames["encounters"].lazy(), frames["policy"])


def polars_from_parquet(folder: Path, policy_file: Path):
    """The polars query reading the ledger folder's Parquet files (the cold table's input)."""
    import polars as pl

    return classify_polars(
        pl.scan_parquet(folder / "entries.parquet"),
        pl.scan_parquet(folder / "encounters.parquet"),
        pl.read_parquet(policy_file),
    )


# ---------------------------------------------------------------------- duckdb
def _sql_codes(names) -> str:
    return ", ".join(str(CODE[n]) for n in names)


def _sql_signed(up, down) -> str:
    return (
        f"sum(case when b in ({_sql_codes(up)}) then amt "
        f"when b in ({_sql_codes(down)}) then -amt else 0 end)"
    )


def _sql_pr_sums() -> str:
    parts = []
    for k in SEQS:
        for name, (lo, hi) in (("pr123", PR123), ("pr", PR_ALL)):
            parts.append(
                f"sum(case when payer_seq = {k} and b between {lo} and {hi} then amt else 0 end)"
                f" as {name}_{k}"
            )
    return ",\n    ".join(parts)


def _sql_at_last(name: str) -> str:
    whens = " ".join(f"when {k} then {name}_{k}" for k in SEQS[1:])
    return f"(case last {whens} else {name}_0 end)"


def _sql_bucket_code(name: str) -> str:
    whens = " ".join(f"when '{n}' then {code}" for n, code in CODE.items())
    return f"(case {name} {whens} else 0 end)::tinyint"


_KINDS = ("charge", "payment", "patient_payment", "write_off", "transfer_to_pr")

DUCKDB_SQL = f"""
with pairs as (
  select distinct group_code, carc from entries where kind = 'adjustment'
),
adjustment_buckets as (
  select p.group_code, p.carc, {_sql_bucket_code("coalesce(x.bucket, f.bucket)")} as b
  from pairs p
  left join policy x on x.group_code = p.group_code and x.carc = p.carc
  left join policy f on f.group_code = p.group_code and f.carc = '*'
),
e as (
  select e.encounter_id, e.line, e.payer_seq, e.amount_cents as amt,
    case when e.kind = 'adjustment' then coalesce(a.b, 0)
         when e.kind = 'write_off' and e.payer_seq = 0 then {CODE["pr_written_off"]}
         {" ".join(f"when e.kind = '{k}' then {CODE[k]}" for k in _KINDS)}
         else 0 end as b,
    case when e.kind in ('payment', 'adjustment') and e.payer_seq >= 1
              and e.negates is null and not e.negated
         then e.payer_seq else 0 end as adj_seq
  from (select *, entry_id in (select negates from entries where negates is not null) as negated
        from entries) e
  left join adjustment_buckets a
    on e.kind = 'adjustment' and a.group_code is not distinct from e.group_code
   and a.carc is not distinct from e.carc
),
proc as (
  select encounter_id, max(adj_seq) as last,
    {_sql_signed(["charge"], BALANCE_DOWN)} as balance,
    sum(case when b = {CODE["payment"]} then amt else 0 end) as paid,
    {_sql_signed(["transfer_to_pr"], PR_DOWN)} as pr_moved,
    sum(case when b = {CODE["denied"]} and payer_seq >= 1 then amt else 0 end) as denied,
    {_sql_pr_sums()}
  from e group by encounter_id, line
),
p as (
  select encounter_id, last, balance, denied,
    paid + {_sql_at_last("pr123")} as allowed,
    {_sql_at_last("pr")} + pr_moved as pr_open
  from proc
),
agg as (
  select encounter_id,
    sum(balance) as balance, sum(allowed) as allowed, sum(pr_open) as pr_open,
    max(last) as last,
    count(*) filter (where last > 0) as n_adj,
    sum(case when last > 0 then allowed else 0 end) as allowed_adj,
    bool_or(last > 0 and allowed <= 0 and denied > 0) as any_whole,
    bool_or(last > 0 and denied > 0) as any_denied
  from p group by encounter_id
),
r as (
  select encounter_id,
    case when payer1_id is null then 0 when payer2_id is null then 1
         when payer3_id is null then 2 else 3 end as n_payers,
    coalesce(balance, 0)::bigint as balance, coalesce(allowed, 0)::bigint as allowed,
    coalesce(pr_open, 0)::bigint as pr_open, coalesce(last, 0) as last,
    coalesce(n_adj, 0) as n_adj, coalesce(allowed_adj, 0) as allowed_adj,
    any_whole, any_denied
  from encounters left join agg using (encounter_id)
),
s as (select *, case when n_payers = 0 then balance else pr_open end as open_pr from r)
select encounter_id,
  case when n_adj = 0 then 'AWAITING' when any_whole and allowed_adj <= 0 then 'DENIAL'
       when any_whole then 'PARTIAL_DENIAL' when any_denied then 'UNRESOLVED'
       else 'PAID' end as class,
  case when balance = 0 then 'finalized' when n_payers = 0 then 'patient'
       when balance - open_pr != 0 then 'payer_' || greatest(last, 1)
       when open_pr != 0 and last < n_payers then 'payer_' || (last + 1)
       else 'patient' end as stage,
  balance, allowed, open_pr, balance - open_pr as payer_balance
from s
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
