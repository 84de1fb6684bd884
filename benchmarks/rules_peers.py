"""The 20-rule dry run written by its peers: polars expressions and DuckDB SQL.

Both read the same per-procedure data the kernel reads (the feature arrays, the
compiled rules' TAA and "matched" columns, whether a line is denied entirely) and
must produce the dry run's summary exactly: procedures, encounters, cents written
off and moved to PR, and encounters closed per rule. The rule chain is first match
in rule order: a rule applies to a procedure when all its conditions hold and, for
a write-off or transfer, it has cents to move after the caps (DOMAIN, Settled
question 3); a money-moving TAA rule skips lines denied entirely (question 5).
"""

from __future__ import annotations

import numpy as np

from ledgerkit import rules as R
from ledgerkit._kernels import rules as K
from ledgerkit.analytics.derived import ledger_features
from ledgerkit.rules.taa import denied_entirely

SUMMARY_COLUMNS = (
    "procedures",
    "encounters",
    "written_off_cents",
    "to_pr_cents",
    "encounters_closed",
)


# A rule's set conditions: (feature column, compiled table, code offset); both peers
# read them the same way (a feature's code is the table's column index minus the offset).
SET_FILTERS = (
    ("payer", "r_payer", 1),
    ("pclass", "r_pclass", 0),
    ("site", "r_site", 1),
    ("class", "r_class", 0),
    ("stage", "r_stage", 0),
    ("cpt", "r_cpt", 0),
)


def polars_frames(ledger, rules):
    """The kernel's inputs as polars frames (not timed: the same data both engines read)."""
    import polars as pl

    f = ledger_features(ledger)
    compiled = R.compile_rules(rules, f, ledger)
    enc = pl.DataFrame(
        {
            "enc": np.arange(f.n_encounters, dtype=np.int64),
            "payer": f.enc_payer,
            "pclass": f.enc_pclass,
            "site": f.enc_site,
            "class": f.enc_class,
            "stage": f.enc_stage,
            "enc_balance": f.enc_balance,
            "allowed": f.enc_allowed,
            "last_remit": f.enc_last_remit,
            **{f"taa{v}": compiled.enc_taa[v] for v in range(compiled.enc_taa.shape[0])},
        }
    )
    proc = pl.DataFrame(
        {
            "proc": np.arange(f.n_procedures, dtype=np.int64),
            "enc": f.proc_encounter(),
            "cpt": f.proc_cpt,
            "service_day": f.proc_service_day,
            "payer_balance": f.proc_payer_balance,
            "open_pr": f.proc_open_pr,
            "balance": f.proc_balance,
            # Settled question 5: money-moving TAA rules leave lines denied entirely alone
            "denied_entirely": denied_entirely(ledger),
            **{f"matched{v}": m for v, m in enumerate(compiled.proc_matched)},
        }
    )
    counts = np.diff(f.proc_entry_start)
    entries = pl.DataFrame(
        {
            "proc": np.repeat(np.arange(f.n_procedures, dtype=np.int64), counts),
            "pair": f.entry_pair,
        }
    )
    return f, compiled, enc, proc, entries


def _in(col, table_row, offset=0):
    import polars as pl

    codes = (np.flatnonzero(table_row) - offset).tolist()
    return pl.col(col).is_in(codes)


def dry_run_polars(f, compiled, enc, proc, entries, as_of_day):
    """First-match rule chain and per-rule summary, as polars expressions."""
    import polars as pl

    t = compiled.tables
    lf = proc.lazy().join(enc.lazy(), on="enc", how="left")
    pair_rules = [r for r in range(len(compiled.rules)) if compiled.r_int[r, K.R_HAS_PAIR]]
    if pair_rules:  # one pass over the entries: which procedures carry each rule's pairs
        has = (
            entries.lazy()
            .filter(pl.col("pair") >= 0)
            .group_by("proc")
            .agg(*(_in("pair", t["r_pair"][r]).any().alias(f"pair{r}") for r in pair_rules))
        )
        lf = lf.join(has, on="proc", how="left").with_columns(
            *(pl.col(f"pair{r}").fill_null(False) for r in pair_rules)
        )
    pb = pl.max_horizontal(pl.col("payer_balance"), 0)
    pr = pl.max_horizontal(pl.col("open_pr"), 0)
    room = pl.max_horizontal(pl.col("balance"), 0)  # a write-off never exceeds the balance
    wo_payer = pl.min_horizontal(pb, room)
    chain = None
    amounts = {}
    for r, rule in enumerate(compiled.rules):
        ri = compiled.r_int[r]
        c = pl.lit(True)
        for col, name, off in SET_FILTERS:
            if not t[name][r].all():
                c = c & _in(col, t[name][r], off)
        if ri[K.R_BAL_MIN] > -(1 << 62) or ri[K.R_BAL_MAX] < (1 << 62):
            c = c & pl.col("enc_balance").is_between(int(ri[K.R_BAL_MIN]), int(ri[K.R_BAL_MAX]))
        if ri[K.R_AGE_FROM]:
            day = (
                pl.col("service_day")
                if ri[K.R_AGE_FROM] == K.AGE_SERVICE
                else pl.col("last_remit")
            )
            age = as_of_day - day
            c = c & (day >= 0) & age.is_between(int(ri[K.R_AGE_MIN]), int(ri[K.R_AGE_MAX]))
        if ri[K.R_TAA_VAR] >= 0:
            taa = pl.col(f"taa{int(ri[K.R_TAA_VAR])}")
            reached = pl.col("allowed") * 10000 >= taa * int(ri[K.R_TAA_BP])
            c = c & (taa >= 0) & (reached if ri[K.R_TAA_OP] == K.TAA_GE else ~reached)
        action, target = ri[K.R_ACTION], ri[K.R_TARGET]
        # amount = "matched": what the rule matched, capped like the rest.
        want = pl.col(f"matched{ri[K.R_MATCHED_VAR]}") if ri[K.R_MATCHED_VAR] >= 0 else pb
        if action == K.A_WRITE_OFF:
            a_payer = pl.min_horizontal(want, wo_payer) if target != K.T_PR else pl.lit(0)
            a_pr = pl.min_horizontal(pr, room - a_payer)
            a_pr = a_pr if target != K.T_PAYER_BALANCE else pl.lit(0)
        elif action == K.A_TRANSFER_TO_PR:
            a_payer, a_pr = pl.min_horizontal(want, pb), pl.lit(0)
        else:
            a_payer = a_pr = pl.lit(0)
        if action <= K.A_TRANSFER_TO_PR:
            c = c & ((a_payer + a_pr) > 0)
        if ri[K.R_HAS_PAIR]:
            c = c & pl.col(f"pair{r}")
        if compiled.skips_denied_lines[r]:
            c = c & ~pl.col("denied_entirely")
        amounts[r] = (a_payer, a_pr)
        chain = (pl.when(c) if chain is None else chain.when(c)).then(pl.lit(r))
    lf = lf.with_columns(chain.otherwise(pl.lit(-1)).alias("rule"))
    a_payer = a_pr = None
    for r, (ap, apr) in amounts.items():
        cond = pl.col("rule") == r
        a_payer = (pl.when(cond) if a_payer is None else a_payer.when(cond)).then(ap)
        a_pr = (pl.when(cond) if a_pr is None else a_pr.when(cond)).then(apr)
    actions = np.array([compiled.r_int[r, K.R_ACTION] for r in range(len(compiled.rules))])
    hits = (
        lf.filter(pl.col("rule") >= 0)
        .with_columns(
            a_payer.otherwise(0).alias("from_payer"),
            a_pr.otherwise(0).alias("from_pr"),
            pl.col("rule")
            .replace_strict(list(range(len(actions))), actions.tolist())
            .alias("act"),
        )
        .select("enc", "rule", "act", "from_payer", "from_pr", "enc_balance")
        .collect()
    )
    written = pl.when(pl.col("act") == K.A_WRITE_OFF).then(
        pl.col("from_payer") + pl.col("from_pr")
    )
    summary = hits.group_by("rule").agg(
        pl.len().alias("procedures"),
        pl.col("enc").n_unique().alias("encounters"),
        written.otherwise(0).sum().alias("written_off_cents"),
        pl.when(pl.col("act") == K.A_TRANSFER_TO_PR)
        .then(pl.col("from_payer"))
        .otherwise(0)
        .sum()
        .alias("to_pr_cents"),
    )
    closed = (
        hits.filter(pl.col("act") == K.A_WRITE_OFF)
        .group_by("enc")
        .agg(
            pl.col("rule").min().alias("rule"),
            (pl.col("from_payer") + pl.col("from_pr")).sum().alias("written"),
            pl.col("enc_balance").first(),
        )
        .filter((pl.col("enc_balance") != 0) & (pl.col("enc_balance") == pl.col("written")))
        .group_by("rule")
        .agg(pl.len().alias("encounters_closed"))
    )
    return summary.join(closed, on="rule", how="left").with_columns(
        pl.col("encounters_closed").fill_null(0)
    )


def check_same(run, peer_summary, compiled, peer="polars"):
    """Assert that a peer's per-rule summary (a polars frame) equals the dry run's."""
    names = [r.name for r in compiled.rules]
    check_summary(run.summary.to_pylist(), names, peer_summary.to_dicts(), peer)


def check_summary(want_rows: list, names: list, peer_rows: list, peer="polars") -> None:
    """:func:`check_same` on plain rows: the dry run's summary rows, the compiled rules'
    names in order, and the peer's rows (``rule``: index into ``names``)."""
    got = {r["rule"]: r for r in want_rows}
    for row in peer_rows:
        want = got[names[row["rule"]]]
        for k in SUMMARY_COLUMNS:
            assert row[k] == want[k], (peer, names[row["rule"]], k, row[k], want[k])
    n_hit = sum(1 for r in got.values() if r["procedures"] > 0)
    assert len(peer_rows) == n_hit, (peer, "rules hit", len(peer_rows), n_hit)


# ---------------------------------------------------------------------- duckdb
def duckdb_tables(enc, proc, entries):
    """A DuckDB connection holding the three frames as its own tables (the preparation)."""
    from benchmarks.peers import duckdb_connection

    con = duckdb_connection()
    for name, frame in (("enc", enc), ("proc", proc), ("entries", entries)):
        con.register(f"{name}_src", frame)
        con.execute(f"create table {name} as select * from {name}_src")
        con.unregister(f"{name}_src")
    return con


def _sql_in(col, table_row, offset=0):
    codes = np.flatnonzero(table_row) - offset
    return f"{col} in ({', '.join(str(int(c)) for c in codes)})" if codes.size else "false"


def _sql_rule(compiled, r, as_of_day):
    """(condition, cents from payer balance, cents from open PR) of rule ``r`` as SQL."""
    t, ri = compiled.tables, compiled.r_int[r]
    conds = []
    for col, name, off in SET_FILTERS:
        if not t[name][r].all():
            conds.append(_sql_in(col, t[name][r], off))
    if ri[K.R_BAL_MIN] > -(1 << 62) or ri[K.R_BAL_MAX] < (1 << 62):
        conds.append(f"enc_balance between {int(ri[K.R_BAL_MIN])} and {int(ri[K.R_BAL_MAX])}")
    if ri[K.R_AGE_FROM]:
        day = "service_day" if ri[K.R_AGE_FROM] == K.AGE_SERVICE else "last_remit"
        lo, hi = int(ri[K.R_AGE_MIN]), int(ri[K.R_AGE_MAX])
        conds.append(f"{day} >= 0 and {as_of_day} - {day} between {lo} and {hi}")
    if ri[K.R_TAA_VAR] >= 0:
        taa = f"taa{int(ri[K.R_TAA_VAR])}"
        reached = f"allowed * 10000 >= {taa} * {int(ri[K.R_TAA_BP])}"
        conds.append(f"{taa} >= 0 and {'' if ri[K.R_TAA_OP] == K.TAA_GE else 'not '}({reached})")
    action, target = ri[K.R_ACTION], ri[K.R_TARGET]
    want = f"matched{int(ri[K.R_MATCHED_VAR])}" if ri[K.R_MATCHED_VAR] >= 0 else "pb"
    if action == K.A_WRITE_OFF:
        a_payer = f"least({want}, pb, room)" if target != K.T_PR else "0"
        a_pr = f"least(pr, room - {a_payer})" if target != K.T_PAYER_BALANCE else "0"
    elif action == K.A_TRANSFER_TO_PR:
        a_payer, a_pr = f"least({want}, pb)", "0"
    else:
        a_payer = a_pr = "0"
    if action <= K.A_TRANSFER_TO_PR:
        conds.append(f"{a_payer} + {a_pr} > 0")
    if ri[K.R_HAS_PAIR]:
        conds.append(f"pair{r}")
    if compiled.skips_denied_lines[r]:
        conds.append("not denied_entirely")
    return " and ".join(f"({c})" for c in conds) or "true", a_payer, a_pr


def dry_run_duckdb_sql(compiled, as_of_day) -> str:
    """The first-match rule chain and per-rule summary as one DuckDB query."""
    n = len(compiled.rules)
    pair_rules = [r for r in range(n) if compiled.r_int[r, K.R_HAS_PAIR]]
    parts = [_sql_rule(compiled, r, as_of_day) for r in range(n)]
    pairs = ", ".join(
        f"bool_or({_sql_in('pair', compiled.tables['r_pair'][r])}) as pair{r}" for r in pair_rules
    )
    pair_cols = "".join(f", coalesce(h.pair{r}, false) as pair{r}" for r in pair_rules)
    pair_cte = (
        f"has as (select proc, {pairs} from entries where pair >= 0 group by proc),"
        if pair_rules
        else "has as (select null::bigint as proc where false),"
    )
    chain = " ".join(f"when {c} then {r}" for r, (c, _, _) in enumerate(parts))
    written, to_pr = [], []
    for r, (_, ap, apr) in enumerate(parts):
        action = compiled.r_int[r, K.R_ACTION]
        if action == K.A_WRITE_OFF:
            written.append(f"when {r} then {ap} + {apr}")
        elif action == K.A_TRANSFER_TO_PR:
            to_pr.append(f"when {r} then {ap}")
    written_sql = f"case rule {' '.join(written)} else 0 end" if written else "0"
    to_pr_sql = f"case rule {' '.join(to_pr)} else 0 end" if to_pr else "0"
    wo_rules = [r for r in range(n) if compiled.r_int[r, K.R_ACTION] == K.A_WRITE_OFF]
    is_wo = f"rule in ({', '.join(map(str, wo_rules))})" if wo_rules else "false"
    return f"""
with {pair_cte}
j as (
  select p.*, e.* exclude (enc){pair_cols},
    greatest(p.payer_balance, 0) as pb, greatest(p.open_pr, 0) as pr,
    greatest(p.balance, 0) as room
  from proc p join enc e using (enc) left join has h using (proc)
),
ruled as (select *, case {chain} else -1 end as rule from j),
hits as (
  select enc, rule, enc_balance, {written_sql} as written, {to_pr_sql} as to_pr,
    {is_wo} as is_wo
  from ruled where rule >= 0
),
summary as (
  select rule, count(*) as procedures, count(distinct enc) as encounters,
    sum(written)::bigint as written_off_cents, sum(to_pr)::bigint as to_pr_cents
  from hits group by rule
),
closed as (
  select rule, count(*) as encounters_closed from (
    select min(rule) as rule, sum(written) as written, any_value(enc_balance) as enc_balance
    from hits where is_wo group by enc
  ) where enc_balance <> 0 and enc_balance = written group by rule
)
select s.*, coalesce(c.encounters_closed, 0) as encounters_closed
from summary s left join closed c using (rule)
"""


def dry_run_duckdb(con, compiled, as_of_day):
    """The dry run's per-rule summary computed by DuckDB, as a polars frame."""
    return con.sql(dry_run_duckdb_sql(compiled, as_of_day)).pl()
