"""Work events: what people do about a denial, as rows (issue #16).

One row per event on an encounter, optionally narrowed to a line and a CARC
(the *item* the event is about). The store keeps them append-only in its
``work_events`` table (:meth:`ledgerkit.store.LedgerStore.record_work`); the
current state of every item is a fold over its events
(:func:`ledgerkit.work_items`).

Kinds and the fields each one takes (every other kind-specific field must be
empty):

``assign``     ``owner`` (who works the item)
``status``     ``status``, one of :data:`STATUSES`
``follow_up``  ``follow_up`` (a date)
``note``       ``note`` (free text; never shown in messages)
``appeal``     ``appeal_level`` (``"1"``, ``"2"`` or ``"external"``),
               ``appeal_method`` (one of :data:`APPEAL_METHODS`), ``appeal_filed``
               (a date; the event's day when omitted)
``outcome``    ``outcome`` (one of :data:`OUTCOMES`) and ``outcome_cents``, the
               cents recovered: > 0 for ``overturned`` and ``partial``, 0 (or
               omitted) for ``upheld``; at most the charge of the line (or of the
               encounter, when no line is named)
``unlink``     ``note`` (why): the payers' payments are not the outcome of the
               item's current appeal or resubmission (say, the payer paid for
               another reason); its recovered cents come from a person's outcome
               only, until a ``link``
``link``       ``note`` (why): undo an ``unlink``, payments after the current
               appeal or resubmission count as its outcome again (the default)

Every event may carry a ``note``, a ``line``, a ``carc`` and ``at`` (when it
happened; the time it is recorded by default, never in the future).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import numpy as np
import pyarrow as pa

from ledgerkit.core.arrow import utc_timestamp
from ledgerkit.core.compute import pc
from ledgerkit.core.schema import TIMESTAMP
from ledgerkit.errors import LedgerError

__all__ = [
    "APPEAL_LEVELS",
    "APPEAL_METHODS",
    "CLOSED_STATUSES",
    "KINDS",
    "OUTCOMES",
    "STATUSES",
    "WORK_EVENTS_SCHEMA",
    "events_table",
    "work_event_rows",
]

KINDS = ("assign", "status", "follow_up", "note", "appeal", "outcome", "link", "unlink")
STATUSES = (
    "new", "in_progress", "appealed", "resubmitted", "waiting_payer", "resolved", "written_off",
)  # fmt: skip
CLOSED_STATUSES = ("resolved", "written_off")
APPEAL_LEVELS = ("1", "2", "external")
APPEAL_METHODS = ("portal", "fax", "mail", "electronic", "phone")
OUTCOMES = ("overturned", "upheld", "partial")

WORK_EVENTS_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), False),
        pa.field("at", TIMESTAMP, False),
        pa.field("encounter_id", pa.string(), False),
        pa.field("line", pa.int32()),
        pa.field("carc", pa.string()),
        pa.field("kind", pa.string(), False),
        pa.field("owner", pa.string()),
        pa.field("status", pa.string()),
        pa.field("follow_up", pa.date32()),
        pa.field("appeal_level", pa.string()),
        pa.field("appeal_method", pa.string()),
        pa.field("appeal_filed", pa.date32()),
        pa.field("outcome", pa.string()),
        pa.field("outcome_cents", pa.int64()),
        pa.field("note", pa.string()),
        pa.field("actor", pa.string(), False),
    ]
)

# The fields each kind takes (required first; the rest optional).
_FIELDS = {
    "assign": ("owner",),
    "status": ("status",),
    "follow_up": ("follow_up",),
    "note": ("note",),
    "appeal": ("appeal_level", "appeal_method", "appeal_filed"),
    "outcome": ("outcome", "outcome_cents"),
    "link": ("note",),
    "unlink": ("note",),
}
_SPECIFIC = {f for fields in _FIELDS.values() for f in fields} - {"note"}
_INPUT = set(WORK_EVENTS_SCHEMA.names) - {"event_id", "actor"}
_CARC = re.compile(r"[A-Z0-9]{1,3}")


def work_event_rows(events, ledger, *, actor: str, now=None) -> pa.Table:
    """Validate work events against ``ledger`` and return them as stored rows.

    Parameters
    ----------
    events : list of dict, pyarrow.Table or pandas.DataFrame
        One event per row, with ``kind``, ``encounter_id`` and the fields of
        its kind (module notes).
    ledger : Ledger
        The encounters and lines events may name.
    actor : str
        Who records them (every row's ``actor``).
    now : datetime, optional
        The recording time (default: now): ``at`` when a row has none, and the
        latest ``at`` allowed.

    Raises
    ------
    LedgerError
        Naming the row (from 0) and field of the first problem; values are
        never quoted (they may identify a patient).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(5, seed=1)
    >>> enc = ledger.encounters["encounter_id"][0].as_py()
    >>> rows = work_event_rows([{"kind": "assign", "encounter_id": enc, "owner": "ana"}],
    ...                        ledger, actor="ana")
    >>> rows["kind"].to_pylist(), rows["status"].to_pylist()
    (['assign'], [None])
    """
    if not actor:
        raise LedgerError("work events: every store commit needs an actor (who)")
    now = dt.datetime.now(dt.UTC) if now is None else utc_timestamp(now)
    rows = _as_rows(events)
    if not rows:
        raise LedgerError("work events: no events given")
    charges = _charges(ledger, rows)
    out = [_validate(i, row, charges, now) for i, row in enumerate(rows)]
    for r in out:
        r["event_id"] = uuid.uuid4().hex
        r["actor"] = str(actor)
    return pa.Table.from_pylist(out, schema=WORK_EVENTS_SCHEMA)


def _as_rows(events) -> list:
    if isinstance(events, dict):
        return [events]
    if isinstance(events, pa.Table):
        return events.to_pylist()
    if hasattr(events, "to_dict") and hasattr(events, "columns"):  # a pandas DataFrame
        return [{k: (None if _missing(v) else v) for k, v in r.items()}
                for r in events.to_dict("records")]  # fmt: skip
    return list(events)


def _missing(value) -> bool:
    try:
        return bool(value != value) or value is None  # NaN, NaT
    except (TypeError, ValueError):
        return False


def _charges(ledger, rows: list) -> dict:
    """``{encounter_id: [encounter charge, {line: charge}]}`` in cents, for the
    encounters the rows name that the ledger has (only those: a click in a
    dashboard should not walk a million procedures)."""
    named = {str(r.get("encounter_id")) for r in rows if isinstance(r, dict)}
    named = pa.array(sorted(named), pa.string())
    encs = ledger.encounters["encounter_id"].cast(pa.string())
    out = {e: [0, {}] for e in encs.filter(pc.is_in(encs, value_set=named)).to_pylist()}
    procs = ledger.procedures
    mine = procs.filter(pc.is_in(procs["encounter_id"].cast(pa.string()), value_set=named))
    for e, line, c in zip(mine["encounter_id"].cast(pa.string()).to_pylist(),
                          mine["line"].to_pylist(), mine["charge_cents"].to_pylist(),
                          strict=True):  # fmt: skip
        if e in out:
            out[e][0] += c
            out[e][1][line] = c
    return out


def _validate(i: int, row, charges: dict, now: dt.datetime) -> dict:
    def fail(field, problem):
        raise LedgerError(f"work events row {i}, field '{field}': {problem}")

    if not isinstance(row, dict):
        raise LedgerError(f"work events row {i}: expected a mapping of field names to values")
    unknown = sorted(set(row) - _INPUT)
    if unknown:
        fail(unknown[0], f"not a work event field (fields: {', '.join(sorted(_INPUT))})")
    row = {k: (None if _missing(v) else v) for k, v in row.items()}
    kind = row.get("kind")
    if kind not in KINDS:
        fail("kind", f"must be one of {', '.join(KINDS)}")
    out = dict.fromkeys(WORK_EVENTS_SCHEMA.names)
    out["kind"] = kind

    enc = row.get("encounter_id")
    if enc is None or str(enc) == "":
        fail("encounter_id", "required")
    enc = str(enc)
    if enc not in charges:
        fail("encounter_id", "no such encounter in the ledger")
    out["encounter_id"] = enc
    total, line_charges = charges[enc]
    charge = total
    if row.get("line") is not None:
        line = _integer(row["line"], lambda p: fail("line", p))
        if line not in line_charges:
            fail("line", "the encounter has no such line")
        out["line"], charge = line, line_charges[line]
    if row.get("carc") is not None:
        carc = str(row["carc"]).strip().upper()
        if not _CARC.fullmatch(carc):
            fail("carc", "must be a CARC code: 1 to 3 letters or digits, e.g. 45 or B7")
        out["carc"] = carc

    at = row.get("at")
    if at is None:
        out["at"] = now
    else:
        try:
            out["at"] = utc_timestamp(at)
        except (TypeError, ValueError):
            fail("at", "must be a date, datetime or ISO time")
        if out["at"] > now:
            fail("at", "an event cannot happen in the future (follow-up dates go in follow_up)")
    if row.get("note") is not None:
        if not isinstance(row["note"], str):
            fail("note", "must be text")
        out["note"] = row["note"] if row["note"].strip() else None

    allowed = _FIELDS[kind]
    for field in sorted(_SPECIFIC - set(allowed)):
        if row.get(field) is not None:
            fail(field, f"does not belong to a {kind} event (a {kind} takes {', '.join(allowed)})")
    if kind == "assign":
        owner = row.get("owner")
        if not isinstance(owner, str) or not owner.strip():
            fail("owner", "required: who works the item")
        out["owner"] = owner.strip()
    elif kind == "status":
        if row.get("status") not in STATUSES:
            fail("status", f"must be one of {', '.join(STATUSES)}")
        out["status"] = row["status"]
    elif kind == "follow_up":
        if row.get("follow_up") is None:
            fail("follow_up", "required: the date to follow up")
        out["follow_up"] = _date(row["follow_up"], lambda p: fail("follow_up", p))
    elif kind in ("note", "link", "unlink"):
        if out["note"] is None:
            fail("note", f"required for a {kind} event (why)")
    elif kind == "appeal":
        level = row.get("appeal_level")
        level = str(level) if isinstance(level, int | str) else None
        if level not in APPEAL_LEVELS:
            fail("appeal_level", f"must be one of {', '.join(APPEAL_LEVELS)}")
        if row.get("appeal_method") not in APPEAL_METHODS:
            fail("appeal_method", f"must be one of {', '.join(APPEAL_METHODS)}")
        filed = row.get("appeal_filed")
        filed = (
            out["at"].date() if filed is None else _date(filed, lambda p: fail("appeal_filed", p))
        )
        if filed > now.date():
            fail("appeal_filed", "an appeal cannot be filed in the future")
        out.update(appeal_level=level, appeal_method=row["appeal_method"], appeal_filed=filed)
    else:  # outcome
        outcome = row.get("outcome")
        if outcome not in OUTCOMES:
            fail("outcome", f"must be one of {', '.join(OUTCOMES)}")
        cents = row.get("outcome_cents")
        cents = 0 if cents is None else _integer(cents, lambda p: fail("outcome_cents", p))
        if outcome == "upheld" and cents != 0:
            fail("outcome_cents", "an upheld denial recovers nothing: 0 or omitted")
        if outcome != "upheld" and cents <= 0:
            fail("outcome_cents", f"required for {outcome}: the cents recovered, > 0")
        if cents > charge:
            where = "line" if out["line"] is not None else "encounter"
            fail("outcome_cents", f"more than the {where}'s charge")
        out.update(outcome=outcome, outcome_cents=cents)
    return out


def _integer(value, fail) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return int(value)
        fail("must be a whole number (cents are integers)")
    return int(value)


def _date(value, fail) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    fail("must be a date (YYYY-MM-DD)")
    raise AssertionError  # unreachable: fail raises


def events_table(table: pa.Table) -> pa.Table:
    """Work-event rows (stored or given) in :data:`WORK_EVENTS_SCHEMA`'s columns,
    every column nullable; extra columns are dropped."""
    schema = pa.schema([f.with_nullable(True) for f in WORK_EVENTS_SCHEMA])
    n = table.num_rows
    cols = [table[f.name].cast(f.type) if f.name in table.column_names else pa.nulls(n, f.type)
            for f in schema]  # fmt: skip
    return pa.Table.from_arrays(cols, schema=schema)
