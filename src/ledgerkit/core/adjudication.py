"""What one payer decided on each line of some encounters, from the live ledger entries.

The secondary claim carries the primary's decision (seed 003): per service
line, the payer's payments and its adjustments by group code and CARC, which
must account for the whole fee (fee - paid = total adjustments). Both the
analytics view (``ledgerkit.analytics.secondary``) and the 837 writer
(``ledgerkit.x12.write_secondary``) read it from here.

Only live entries count: a negation and the entry it negates cancel out (a
reversed remit's correction is what the next payer sees). Write-offs and
transfers to PR are the practice's moves, not the payer's decision.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from ledgerkit.core.compute import pc
from ledgerkit.errors import LedgerError

__all__ = ["payer_adjudication"]

LINES_SCHEMA = pa.schema(
    [
        ("encounter_id", pa.string()),
        ("line", pa.int32()),
        ("charge_cents", pa.int64()),
        ("paid_cents", pa.int64()),
        ("adjustments_cents", pa.int64()),
        ("adjudicated", pa.bool_()),
        ("last_posted", pa.date32()),
    ]
)
ADJUSTMENTS_SCHEMA = pa.schema(
    [
        ("encounter_id", pa.string()),
        ("line", pa.int32()),
        ("group_code", pa.string()),
        ("carc", pa.string()),
        ("amount_cents", pa.int64()),
        ("count", pa.int32()),
    ]
)


def payer_adjudication(ledger, encounter_ids, payer_seq: int) -> tuple[pa.Table, pa.Table]:
    """Payer ``payer_seq``'s live decision on every line of ``encounter_ids``.

    Parameters
    ----------
    ledger : Ledger
    encounter_ids : iterable of str
        Encounters, in the order the result keeps.
    payer_seq : int
        1 primary, 2 secondary, 3 tertiary.

    Returns
    -------
    (lines, adjustments) : tuple of pyarrow.Table
        ``lines``: one row per procedure (encounters as given, lines in
        order) with ``charge_cents`` (the live charge), ``paid_cents`` and
        ``adjustments_cents`` of this payer, ``adjudicated`` (the payer has a
        live payment or adjustment on the line) and ``last_posted`` (date of
        its latest such entry, null if none). ``adjustments``: one row per
        (encounter, line, group_code, carc) with the summed ``amount_cents``
        and the ``count`` of entries, sorted like the lines, then by group
        code and CARC.

    Raises
    ------
    LedgerError
        An encounter that is not in the ledger, named by its position in
        ``encounter_ids`` (an encounter id is the practice's key; it is not
        quoted).
    ValueError
        ``payer_seq`` not 1, 2 or 3.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(20, seed=2)
    >>> eid = ledger.encounters["encounter_id"][0].as_py()
    >>> lines, adjustments = payer_adjudication(ledger, [eid], 1)
    >>> lines.column_names[:4]
    ['encounter_id', 'line', 'charge_cents', 'paid_cents']
    """
    if payer_seq not in (1, 2, 3):
        raise ValueError(f"payer_seq must be 1, 2 or 3, got {payer_seq!r}")
    ids = list(encounter_ids)
    order_of: dict[str, int] = {}
    for i, e in enumerate(ids):
        order_of.setdefault(e, i)
    known = set(
        pc.filter(
            ledger.encounters["encounter_id"],
            pc.is_in(ledger.encounters["encounter_id"], value_set=pa.array(ids, pa.string())),
        ).to_pylist()
    )
    for i, e in enumerate(ids):
        if e not in known:
            raise LedgerError(f"encounter_ids[{i}] is not an encounter of the ledger")
    value_set = pa.array(ids, pa.string())
    procs = (
        ledger.procedures.filter(pc.is_in(ledger.procedures["encounter_id"], value_set=value_set))
        .select(["encounter_id", "line"])
        .to_pylist()
    )
    entries = (
        ledger.entries.filter(pc.is_in(ledger.entries["encounter_id"], value_set=value_set))
        .select(
            [
                "entry_id",
                "encounter_id",
                "line",
                "payer_seq",
                "kind",
                "group_code",
                "carc",
                "amount_cents",
                "posted_at",
                "negates",
            ]
        )  # fmt: skip
        .to_pylist()
    )
    negated = {r["negates"] for r in entries if r["negates"] is not None}
    keys = sorted(
        {(p["encounter_id"], p["line"]) for p in procs}, key=lambda k: (order_of[k[0]], k[1])
    )
    charge = dict.fromkeys(keys, 0)
    paid = dict.fromkeys(keys, 0)
    total = dict.fromkeys(keys, 0)
    posted: dict[tuple, dt.datetime] = {}
    cas: dict[tuple, tuple[int, int]] = {}
    for r in entries:
        if r["negates"] is not None or r["entry_id"] in negated:
            continue
        key = (r["encounter_id"], r["line"])
        if key not in charge:
            continue
        if r["kind"] == "charge":
            charge[key] += r["amount_cents"]
        if r["payer_seq"] != payer_seq or r["kind"] not in ("payment", "adjustment"):
            continue
        if key not in posted or r["posted_at"] > posted[key]:
            posted[key] = r["posted_at"]
        if r["kind"] == "payment":
            paid[key] += r["amount_cents"]
        else:
            total[key] += r["amount_cents"]
            k = (*key, r["group_code"], (r["carc"] or "").strip())
            amount, count = cas.get(k, (0, 0))
            cas[k] = (amount + r["amount_cents"], count + 1)
    lines = pa.table(
        {
            "encounter_id": [k[0] for k in keys],
            "line": [k[1] for k in keys],
            "charge_cents": [charge[k] for k in keys],
            "paid_cents": [paid[k] for k in keys],
            "adjustments_cents": [total[k] for k in keys],
            "adjudicated": [k in posted for k in keys],
            "last_posted": [posted[k].date() if k in posted else None for k in keys],
        },
        schema=LINES_SCHEMA,
    )
    cas_keys = sorted(cas, key=lambda k: (order_of[k[0]], k[1], k[2] or "", k[3]))
    adjustments = pa.table(
        {
            "encounter_id": [k[0] for k in cas_keys],
            "line": [k[1] for k in cas_keys],
            "group_code": [k[2] for k in cas_keys],
            "carc": [k[3] for k in cas_keys],
            "amount_cents": [cas[k][0] for k in cas_keys],
            "count": [cas[k][1] for k in cas_keys],
        },
        schema=ADJUSTMENTS_SCHEMA,
    )
    return lines, adjustments
