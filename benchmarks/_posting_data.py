"""Seeded posting workloads: a ledger without payer decisions and N remitted claims."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import ledgerkit as lk
from ledgerkit.synth.ledgers import MEAN_PROCEDURES_PER_ENCOUNTER
from ledgerkit.synth.remits import remittances_from_ledger

from ._data import CACHE_FROM, cached_ledger

SEED = 0
CLAIMS_PER_ENCOUNTER = 1.36  # synth: primary, some secondaries, reversals + corrections


def _decisions(entries):
    return pc.and_(
        pc.and_(
            pc.equal(entries["source"].cast(pa.string()), "remit"),
            pc.greater(entries["payer_seq"], 0),
        ),
        pc.is_in(entries["kind"].cast(pa.string()), pa.array(["payment", "adjustment"])),
    )


def posting_workload(n_procedures: int, n_claims: int):
    """(ledger of ~n_procedures procedures without payer decisions, Remittances of
    ~n_claims claims of its first encounters)."""
    n_enc = max(1, round(n_procedures / MEAN_PROCEDURES_PER_ENCOUNTER))
    if n_procedures >= CACHE_FROM:  # generated once by a child process, read lean
        full = cached_ledger(n_procedures, seed=SEED, credits=False)
    else:
        full = lk.synth.generate(n_enc, seed=SEED, credits=False)
    encounters, procedures, payers, e = full.encounters, full.procedures, full.payers, full.entries
    del full  # its keys are not needed: the base ledger builds its own
    decided = _decisions(e)
    k = min(n_enc, int(n_claims / CLAIMS_PER_ENCOUNTER) + 1)
    last = encounters["encounter_id"][k - 1]
    some = e.filter(pc.and_(decided, pc.less_equal(e["encounter_id"], last)))
    remits = remittances_from_ledger(lk.Ledger(encounters, procedures, some, payers))
    del some
    if remits.claims.num_rows > n_claims:
        remits = _first_claims(remits, n_claims)
    # one entries table at a time: the full one is let go before the base ledger's keys
    # are built (at 10M procedures each entries table is several GB)
    kept = e.filter(pc.invert(decided))
    del e, decided
    base = lk.Ledger.from_arrow(encounters, procedures, kept, payers)
    return base, remits


def _first_claims(r, n):
    from ledgerkit.x12 import Remittances

    claims = r.claims.slice(0, n)
    top = claims["claim_id"][n - 1].as_py()

    def keep(t):
        return t.filter(pc.less_equal(t["claim_id"], top))

    tx_top = pc.max(claims["transaction_id"]).as_py()
    tx = r.transactions.filter(pc.less_equal(r.transactions["transaction_id"], tx_top))
    return Remittances(
        tx, claims, keep(r.service_lines), keep(r.adjustments), keep(r.remarks),
        r.provider_adjustments, r.findings,
    )  # fmt: skip


def posting_counts(result) -> dict:
    return {k: v[0] for k, v in result.counts().items()} | {
        "entries": result.entries.num_rows,
        "claims": int(np.int64(result.decisions.num_rows)),
    }
