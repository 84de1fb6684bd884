"""The set-based core of posting in polars and in DuckDB, for ``compare_posting.py``.

Both peers get the same Arrow tables ledgerkit gets (the ledger's encounters,
procedures and entries; the batch's transactions, claims, service lines and
adjustments) and do, each in its own idiomatic form (joins and one aggregation,
no Python loop):

1. claim -> encounter (patient control number) and payer position (the 835 payer
   against the encounter's payer1..3); claims matching neither are flagged;
2. service line -> procedure by line item control number within the encounter;
   a claim with an unmatched line is flagged;
3. the touched procedures' balance (charge - paid - patient paid - contractual -
   write-offs, contractual = CO-45 and CO-253 here) and whether a live remit of
   the same payer is on them, from the ledger's entries of those procedures only;
   a claim that would take a balance below 0, or meets a live remit, is flagged;
4. the new entries (one payment per line, one adjustment per line-level CAS) of
   the claims left, appended to the entries.

What they leave out, and ledgerkit does: remit fingerprints and duplicates,
reversals and corrections decided in payment-date order (each claim seeing the
claims before it), claim-level amounts, matching by code/date/charge when a line
has no control number, the whole-policy buckets, and validation of what is
appended. Their times are a lower bound for a full posting in that engine.
"""

from __future__ import annotations

CONTRACTUAL = ("45", "253")
LEDGER = ("encounters", "procedures", "entries")
BATCH = ("transactions", "claims", "service_lines", "adjustments")


# ---------------------------------------------------------------------- polars
def polars_frames(tables: dict) -> dict:
    """Preparation: the Arrow tables as polars frames, categoricals decoded to strings
    (by polars: no decoded Arrow copy of each table on the way)."""
    import polars as pl

    return {
        name: pl.from_arrow(table).with_columns(pl.col(pl.Categorical).cast(pl.String))
        for name, table in tables.items()
    }


def post_polars(f: dict) -> dict:
    """The peer's posting of the batch in ``f``: counts and the new entries' cents."""
    import polars as pl

    claims = (
        f["claims"]
        .select("claim_id", "transaction_id", "encounter_id")
        .join(f["transactions"].select("transaction_id", "payer_id"), on="transaction_id")
        .join(
            f["encounters"].select("encounter_id", "payer1_id", "payer2_id", "payer3_id"),
            on="encounter_id",
        )
        .with_columns(
            payer_seq=pl.when(pl.col("payer_id") == pl.col("payer1_id"))
            .then(1)
            .when(pl.col("payer_id") == pl.col("payer2_id"))
            .then(2)
            .when(pl.col("payer_id") == pl.col("payer3_id"))
            .then(3)
            .otherwise(0)
        )
        .filter(pl.col("payer_seq") > 0)
        .select("claim_id", "encounter_id", "payer_id", "payer_seq")
    )
    lines = (
        f["service_lines"]
        .select("line_id", "claim_id", "line_control_number", "paid_cents")
        .join(claims, on="claim_id")
        .join(
            f["procedures"].select("encounter_id", "line", "line_control_number"),
            on=["encounter_id", "line_control_number"],
            how="left",
        )
    )
    adj = (
        f["adjustments"]
        .filter(pl.col("line_id").is_not_null())
        .select("line_id", "group_code", "carc", "amount_cents")
        .join(lines.select("line_id", "claim_id", "encounter_id", "line"), on="line_id")
    )
    touched = lines.select("encounter_id", "line").unique()
    state = (
        f["entries"]
        .join(touched, on=["encounter_id", "line"], how="semi")
        .with_columns(
            remit_live=(pl.col("source") == "remit") & pl.col("negates").is_null(),
            lowers=pl.col("kind").is_in(["payment", "patient_payment", "write_off"])
            | ((pl.col("group_code") == "CO") & pl.col("carc").is_in(CONTRACTUAL)),
        )
        .group_by("encounter_id", "line")
        .agg(
            balance=pl.when(pl.col("kind") == "charge")
            .then(pl.col("amount_cents"))
            .when(pl.col("lowers"))
            .then(-pl.col("amount_cents"))
            .otherwise(0)
            .sum(),
            live_seqs=pl.col("payer_seq").filter(pl.col("remit_live")).unique(),
        )
    )
    lowers = (
        adj.filter((pl.col("group_code") == "CO") & pl.col("carc").is_in(CONTRACTUAL))
        .group_by("line_id")
        .agg(contractual=pl.col("amount_cents").sum())
    )
    per_line = (
        lines.join(lowers, on="line_id", how="left")
        .join(state, on=["encounter_id", "line"], how="left")
        .with_columns(
            bad=pl.col("line").is_null()
            | (
                pl.col("balance").fill_null(0)
                - pl.col("paid_cents").fill_null(0)
                - pl.col("contractual").fill_null(0)
                < 0
            )
            | pl.col("live_seqs").list.contains(pl.col("payer_seq")).fill_null(False)
        )
    )
    flagged = per_line.filter(pl.col("bad")).select("claim_id").unique()
    ok_lines = per_line.join(flagged, on="claim_id", how="anti")
    ok_adj = adj.join(flagged, on="claim_id", how="anti")
    payments = ok_lines.select(
        "encounter_id", "line", "payer_seq", "payer_id", pl.lit("payment").alias("kind"),
        pl.col("paid_cents").alias("amount_cents"), "claim_id",
    )  # fmt: skip
    adjustments = ok_adj.join(
        claims.select("claim_id", "payer_id", "payer_seq"), on="claim_id"
    ).select(
        "encounter_id", "line", "payer_seq", "payer_id", pl.lit("adjustment").alias("kind"),
        "group_code", "carc", "amount_cents", "claim_id",
    )  # fmt: skip
    new = pl.concat([payments, adjustments], how="diagonal_relaxed")
    start = f["entries"]["entry_id"].max() + 1
    new = new.with_columns(entry_id=pl.int_range(start, start + new.height, dtype=pl.Int64))
    entries = pl.concat([f["entries"], new], how="diagonal_relaxed")
    return {
        "posted": new["claim_id"].n_unique(),
        "entries": new.height,
        "cents": int(new["amount_cents"].sum()),
        "ledger_entries": entries.height,
    }


# ---------------------------------------------------------------------- DuckDB
def duckdb_connection(tables: dict):
    """Preparation: the batch's Arrow tables registered, the ledger's loaded as tables
    (posting appends to a DuckDB table, its own storage)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    for name, table in tables.items():
        con.register(f"arrow_{name}", table)
    _ledger_tables(con)
    for name in LEDGER:  # copied into DuckDB's own tables: the Arrow ones can go
        con.unregister(f"arrow_{name}")
    return con


def _ledger_tables(con):
    for name in BATCH:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM arrow_{name}")
    con.execute(
        "CREATE TABLE encounters AS SELECT encounter_id, payer1_id::VARCHAR AS payer1_id, "
        "payer2_id::VARCHAR AS payer2_id, payer3_id::VARCHAR AS payer3_id FROM arrow_encounters"
    )
    con.execute(
        "CREATE TABLE procedures AS SELECT encounter_id, line, line_control_number "
        "FROM arrow_procedures"
    )
    con.execute(ENTRIES_SQL.format(source="arrow_entries"))
    return con


ENTRIES_SQL = """
CREATE TABLE entries AS
SELECT entry_id, encounter_id, line, payer_seq, payer_id::VARCHAR AS payer_id,
       kind::VARCHAR AS kind, group_code::VARCHAR AS group_code, carc::VARCHAR AS carc,
       amount_cents, negates, source::VARCHAR AS source, remit_ref::VARCHAR AS remit_ref
FROM {source}
"""


_CONTRACTUAL_SQL = "group_code = 'CO' AND carc IN ('45', '253')"

POST_SQL = f"""
CREATE OR REPLACE TEMP TABLE new_entries AS
WITH c AS (
    SELECT cl.claim_id, cl.encounter_id, t.payer_id,
           CASE WHEN t.payer_id = e.payer1_id THEN 1 WHEN t.payer_id = e.payer2_id THEN 2
                WHEN t.payer_id = e.payer3_id THEN 3 ELSE 0 END AS payer_seq
    FROM claims cl JOIN transactions t USING (transaction_id)
    JOIN encounters e USING (encounter_id)
), c_ok AS (SELECT * FROM c WHERE payer_seq > 0),
l AS (
    SELECT sl.line_id, sl.claim_id, sl.paid_cents, c_ok.encounter_id, c_ok.payer_id,
           c_ok.payer_seq, p.line
    FROM service_lines sl JOIN c_ok USING (claim_id)
    LEFT JOIN procedures p ON p.encounter_id = c_ok.encounter_id
         AND p.line_control_number = sl.line_control_number
), a AS (
    SELECT adj.line_id, adj.group_code, adj.carc, adj.amount_cents, l.claim_id,
           l.encounter_id, l.line, l.payer_id, l.payer_seq
    FROM adjustments adj JOIN l USING (line_id)
), touched AS (SELECT DISTINCT encounter_id, line FROM l WHERE line IS NOT NULL),
state AS (
    SELECT en.encounter_id, en.line,
           sum(CASE WHEN en.kind = 'charge' THEN en.amount_cents
                    WHEN en.kind IN ('payment', 'patient_payment', 'write_off')
                         OR (en.{_CONTRACTUAL_SQL.replace("carc", "en.carc")})
                    THEN -en.amount_cents ELSE 0 END) AS balance,
           list(DISTINCT en.payer_seq) FILTER (WHERE en.source = 'remit'
                AND en.negates IS NULL) AS live_seqs
    FROM entries en SEMI JOIN touched USING (encounter_id, line)
    GROUP BY ALL
), lowers AS (
    SELECT line_id, sum(amount_cents) AS contractual FROM a
    WHERE {_CONTRACTUAL_SQL} GROUP BY line_id
), bad AS (
    SELECT DISTINCT l.claim_id FROM l
    LEFT JOIN lowers USING (line_id) LEFT JOIN state USING (encounter_id, line)
    WHERE l.line IS NULL
       OR coalesce(state.balance, 0) - coalesce(l.paid_cents, 0)
          - coalesce(lowers.contractual, 0) < 0
       OR coalesce(list_contains(state.live_seqs, l.payer_seq), false)
)
SELECT encounter_id, line, payer_seq, payer_id, 'payment' AS kind, NULL AS group_code,
       NULL AS carc, paid_cents AS amount_cents, claim_id
FROM l ANTI JOIN bad USING (claim_id)
UNION ALL
SELECT encounter_id, line, payer_seq, payer_id, 'adjustment', group_code, carc,
       amount_cents, claim_id
FROM a ANTI JOIN bad USING (claim_id)
"""

APPEND_SQL = """
INSERT INTO entries
SELECT (SELECT max(entry_id) FROM entries) + row_number() OVER () AS entry_id,
       encounter_id, line, payer_seq, payer_id, kind, group_code, carc, amount_cents,
       NULL AS negates, 'remit' AS source, NULL AS remit_ref
FROM new_entries
"""


def post_duckdb(con, *, keep: bool = False) -> dict:
    """The peer's posting of the batch registered on ``con`` (rolled back unless ``keep``,
    so that every timed run posts into the same ledger)."""
    con.execute("BEGIN")
    con.execute(POST_SQL)
    con.execute(APPEND_SQL)
    posted, n, cents = con.execute(
        "SELECT count(DISTINCT claim_id), count(*), sum(amount_cents) FROM new_entries"
    ).fetchone()
    total = con.execute("SELECT count(*) FROM entries").fetchone()[0]
    con.execute("COMMIT" if keep else "ROLLBACK")
    return {"posted": posted, "entries": n, "cents": int(cents or 0), "ledger_entries": total}


# ---------------------------------------------------------------------- files
def write_batch(remits, folder) -> None:
    """Every table of the batch (``Remittances``) as a Parquet file in ``folder``."""
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    for name, table in remits.tables.items():
        pq.write_table(table, folder / f"{name}.parquet")


def read_batch(folder) -> dict:
    """Every table of the batch from ``folder`` (``Remittances(**read_batch(folder))``)."""
    import pyarrow.parquet as pq

    return {path.stem: pq.read_table(path) for path in sorted(folder.glob("*.parquet"))}


def polars_read(ledger_folder, batch_folder) -> dict:
    """polars' own reader on the same files, categoricals as strings."""
    import polars as pl

    out = {}
    for name in LEDGER + BATCH:
        folder = ledger_folder if name in LEDGER else batch_folder
        frame = pl.read_parquet(folder / f"{name}.parquet")
        out[name] = frame.with_columns(pl.col(pl.Categorical).cast(pl.String))
    return out


def duckdb_read(ledger_folder, batch_folder):
    """A DuckDB connection reading the same files (``read_parquet``), prepared as warm."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    for name in LEDGER + BATCH:
        folder = ledger_folder if name in LEDGER else batch_folder
        path = folder / f"{name}.parquet"
        con.execute(f"CREATE VIEW arrow_{name} AS SELECT * FROM read_parquet('{path}')")
    return _ledger_tables(con)
