"""A small ledger store with flagged remits, for the posting-review notebook and tests.

:func:`sample_store` builds it from a synthetic ledger: the charges go in
first, then every remit of the ledger (all posted), then a second batch in
which payers send different amounts for claims already paid (flagged as
conflicts), claims for encounters the practice does not know (unmatched) and
remits that do not balance in themselves.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.core.arrow import bool_array, numpy_array, plain
from ledgerkit.core.ledger import Ledger

__all__ = ["sample_store", "split_remits"]


def split_remits(ledger: Ledger):
    """``(charges-only ledger, remittances)``: the ledger without the payer decisions
    that ``ledgerkit.synth.remits`` expresses as 835 claims, and those claims."""
    from ledgerkit.synth.ledgers import remittances

    e = ledger.entries
    remit = pc.and_(
        pc.and_(pc.equal(e["source"].cast(pa.string()), "remit"), pc.greater(e["payer_seq"], 0)),
        pc.is_in(e["kind"].cast(pa.string()), pa.array(["payment", "adjustment"])),
    )
    base = Ledger.from_arrow(
        ledger.encounters,
        ledger.procedures,
        e.filter(pc.invert(remit)),
        ledger.payers,
        policy=ledger.policy,
    )
    return base, remittances(ledger)


def _set(t: pa.Table, **columns) -> pa.Table:
    for name, values in columns.items():
        i = t.column_names.index(name)
        t = t.set_column(i, t.schema.field(i), pa.array(values, t.schema.field(i).type))
    return t


def _one_claim(r, pos: int):
    """The remittances of claim ``pos`` alone, ids renumbered from 0."""
    from ledgerkit.x12 import Remittances

    claim = r.claims.slice(pos, 1)
    cid, tid = claim["claim_id"][0].as_py(), claim["transaction_id"][0].as_py()
    tx = r.transactions.filter(pc.equal(r.transactions["transaction_id"], tid))
    lines = r.service_lines.filter(pc.equal(r.service_lines["claim_id"], cid))
    adj = r.adjustments.filter(pc.equal(r.adjustments["claim_id"], cid))
    old_lines = lines["line_id"].combine_chunks()
    tx = _set(tx, transaction_id=[0], payment_cents=[claim["paid_cents"][0].as_py()])
    claim = _set(claim, claim_id=[0], transaction_id=[0])
    lines = _set(lines, claim_id=[0] * lines.num_rows, line_id=list(range(lines.num_rows)))
    new_line = pc.index_in(adj["line_id"], value_set=old_lines).to_pylist()
    adj = _set(adj, claim_id=[0] * adj.num_rows, line_id=new_line)
    return Remittances(
        tx,
        claim,
        lines,
        adj,
        r.remarks.slice(0, 0),
        r.provider_adjustments.slice(0, 0),
        r.findings.slice(0, 0),
    )


def _shifted(one, delta: int, *, balanced: bool = True, encounter_id=None):
    """A different remit for the same claim: line 1 pays ``delta`` more (a CO-45
    of ``-delta`` keeps it balanced unless ``balanced=False``)."""
    from ledgerkit.x12 import Remittances

    c, lines = one.claims, one.service_lines
    pccn = (c["payer_claim_control_number"][0].as_py() or "") + "-2"
    claims = _set(
        c, paid_cents=[c["paid_cents"][0].as_py() + delta], payer_claim_control_number=[pccn]
    )
    if encounter_id is not None:
        claims = _set(claims, encounter_id=[encounter_id])
    paid = lines["paid_cents"].to_pylist()
    paid[0] += delta
    lines = _set(lines, paid_cents=paid)
    adj = one.adjustments
    if balanced:
        extra = pa.Table.from_pylist(
            [
                {
                    "claim_id": 0,
                    "line_id": 0,
                    "group_code": "CO",
                    "carc": "45",
                    "amount_cents": -delta,
                    "quantity": None,
                }
            ],
            schema=adj.schema,
        )
        adj = pa.concat_tables([adj, extra])
    tx = _set(one.transactions, payment_cents=[claims["paid_cents"][0].as_py()])
    return Remittances(tx, claims, lines, adj, one.remarks, one.provider_adjustments, one.findings)


def sample_store(
    folder,
    ledger: Ledger | None = None,
    *,
    conflicts: int = 30,
    unmatched: int = 6,
    unbalanced: int = 6,
    seed: int = 7,
):
    """Create a :class:`~ledgerkit.store.LedgerStore` with flagged remits in ``folder``.

    Parameters
    ----------
    folder : str or Path
        A new or empty folder.
    ledger : Ledger, optional
        Defaults to the bundled sample (``ledgerkit.synth.load_sample()``).
    conflicts, unmatched, unbalanced : int
        How many flagged remits of each kind the second batch holds.

    Returns
    -------
    LedgerStore
        Version 2: created (charges), first batch posted, second batch posted
        (its remits flagged).
    """
    from ledgerkit import synth
    from ledgerkit.store.ledger_store import LedgerStore
    from ledgerkit.x12 import Remittances

    ledger = synth.load_sample() if ledger is None else ledger
    base, r = split_remits(ledger)
    store = LedgerStore.create(Path(folder), base, actor="setup", note="charges loaded")
    store.post(r, actor="era import", note="835 batch 1")
    # primary claims paid > 0, not reversals: candidates for a second, different remit
    primary = bool_array(pc.equal(plain(r.claims["status_code"]), "1"))
    paid = numpy_array(r.claims["paid_cents"], fill=0)
    ok = np.flatnonzero(primary & (paid > 0))
    rng = np.random.default_rng(seed)
    pick = rng.choice(ok, size=min(len(ok), conflicts + unmatched + unbalanced), replace=False)
    parts = []
    for k, pos in enumerate(pick.tolist()):
        one = _one_claim(r, pos)
        delta = int(rng.integers(5, 60)) * 100
        if k < conflicts:
            parts.append(_shifted(one, delta))
        elif k < conflicts + unmatched:
            parts.append(_shifted(one, 0, encounter_id=f"X{9_000_000 + k}"))
        else:
            parts.append(_shifted(one, delta, balanced=False))
    if parts:
        store.post(Remittances.concat(parts), actor="era import", note="835 batch 2")
    return store
