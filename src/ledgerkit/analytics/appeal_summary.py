"""Appeal summaries, ``ledgerkit.appeal_summary``: one denied claim, written up
for the letter or portal form of an appeal (issue #16).

The summary is a starting draft a person edits: the claim (encounter, payer,
dates, totals), its lines, the live denials on them (group code and CARC with
the catalogue's description, remark codes with theirs, amounts in dollars), the
deadline from the worklist, what changed since the denial (entries posted
after it, the work recorded on it) and a request paragraph.

It names the claim the user chose to look at, so the library never logs or
prints it: it is only returned (and shown by the dashboard on request).
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.analytics.balances import balances
from ledgerkit.core.catalog import DENIAL_CATEGORIES, CarcCatalog
from ledgerkit.core.ledger import Ledger
from ledgerkit.core.limits import dollars
from ledgerkit.core.remark_codes import rarc_description
from ledgerkit.errors import LedgerError

__all__ = ["AppealSummary", "appeal_summary"]

_PAYER_ORDER = {0: "patient", 1: "primary", 2: "secondary", 3: "tertiary"}


@dataclass(frozen=True)
class AppealSummary:
    """An appeal summary as plain text and as HTML (the same content).

    Attributes
    ----------
    text : str
        Plain text, for a Textarea, a letter or a portal form.
    html : str
        The same as an HTML fragment (every value escaped).
    """

    text: str
    html: str

    def __repr__(self) -> str:  # never the content: it names a claim
        return f"AppealSummary({self.text.count(chr(10)) + 1} lines; see .text and .html)"

    def _repr_html_(self) -> str:
        return self.html


def appeal_summary(
    ledger, encounter_id: str, *, line=None, carc=None, today=None, catalog=None, work=None
) -> AppealSummary:
    """Draft an appeal summary for one denied claim (encounter).

    Parameters
    ----------
    ledger : Ledger or LedgerStore
        A store gives its latest ledger and its work events.
    encounter_id : str
        The claim (the practice's claim id, 835 CLP01).
    line, carc : optional
        Narrow the request to one line and/or CARC (default: every live denial).
    today : date or str, optional
        For the days left to the deadline (default: as :func:`ledgerkit.worklist`).
    catalog : CarcCatalog, optional
        CARC descriptions (default: the shipped catalogue).
    work : LedgerStore, pyarrow.Table or list of dict, optional
        Work events to list under "what changed" (a store's own by default).

    Returns
    -------
    AppealSummary
        ``.text`` and ``.html``.

    Raises
    ------
    LedgerError
        No such encounter (the id is not quoted).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(300, seed=5)
    >>> row = lk.worklist(ledger).to_pylist()[0]
    >>> s = lk.appeal_summary(ledger, row["encounter_id"])
    >>> s.text.splitlines()[0].startswith("Appeal summary: claim ")
    True
    >>> s  # the repr never shows the claim
    AppealSummary(... lines; see .text and .html)
    """
    if hasattr(ledger, "work_events"):
        work = ledger if work is None else work
        ledger = ledger.ledger()
    catalog = CarcCatalog.default() if catalog is None else catalog
    sub = _one_encounter(ledger, encounter_id)
    enc = sub.encounters.to_pylist()[0]
    procs = balances(sub).join(sub.procedures.select(["line", "cpt", "modifiers"]), "line")
    procs = procs.sort_by("line").to_pylist()
    entries = sub.entries.sort_by("entry_id").to_pylist()
    denials = _live_denials(entries, catalog, line, carc)
    payers = {r["payer_id"]: r for r in ledger.payers.to_pylist()}
    row = _worklist_row(ledger, encounter_id, today, catalog)
    events = _events(work, encounter_id)
    # since the first denial of these lines, even if a reprocessed claim reposted it
    since = min(
        (d["posted_at"] for d in _live_denials(entries, catalog, line, carc, live=False)),
        default=None,
    )
    # the denying remits' own entries are the denial, not a change since
    denying = {
        d["remit_ref"]
        for d in _live_denials(entries, catalog, line, carc, live=False)
        if d["posted_at"] == since and d["remit_ref"] is not None
    }
    changed = [
        e
        for e in entries
        if since is not None
        and e["posted_at"] > since
        and e["remit_ref"] not in denying
        and e["amount_cents"] != 0
    ]

    sections = [
        ("claim", _claim_lines(enc, procs, payers)),
        ("lines", [_line_text(p) for p in procs]),
        ("denials", [_denial_text(d, payers) for d in denials] or ["no live denial"]),
        ("deadline", [_deadline_text(row)]),
        ("changed", _changed_lines(since, changed, events)),
        ("request", [_request_text(enc, denials, payers)]),
    ]
    titles = {
        "claim": None,
        "lines": "Lines",
        "denials": "Denials (live)",
        "deadline": "Appeal deadline",
        "changed": "What changed since the denial",
        "request": "Request",
    }
    head = f"Appeal summary: claim {enc['encounter_id']}"
    text = [head, ""]
    parts = [f"<div class='lk-appeal-summary'><h4>{html.escape(head)}</h4>"]
    for key, body in sections:
        if titles[key]:
            text.append(titles[key])
            parts.append(f"<b>{html.escape(titles[key])}</b>")
        indent = "  " if titles[key] else ""
        text.extend(indent + b for b in body)
        text.append("")
        items = "".join(f"<li>{html.escape(b)}</li>" for b in body)
        parts.append(f"<ul class='lk-appeal-{key}'>{items}</ul>")
    parts.append("</div>")
    return AppealSummary("\n".join(text).rstrip() + "\n", "".join(parts))


def _one_encounter(ledger, encounter_id) -> Ledger:
    def only(t: pa.Table) -> pa.Table:
        return t.filter(pc.equal(t["encounter_id"].cast(pa.string()), str(encounter_id)))

    enc = only(ledger.encounters)
    if enc.num_rows == 0:
        raise LedgerError("appeal_summary: no such encounter in the ledger")
    return Ledger.from_arrow(
        enc, only(ledger.procedures), only(ledger.entries), ledger.payers, policy=ledger.policy
    )


def _day(value) -> str:
    return value.date().isoformat() if isinstance(value, dt.datetime) else str(value)


def _payer_name(payer_id, payers) -> str:
    name = (payers.get(payer_id) or {}).get("name")
    return f"{payer_id} ({name})" if name else str(payer_id)


def _claim_lines(enc, procs, payers) -> list[str]:
    coverage = [
        f"{_PAYER_ORDER[k]} {_payer_name(enc[f'payer{k}_id'], payers)}"
        for k in (1, 2, 3)
        if enc.get(f"payer{k}_id") is not None
    ]
    total = {k: sum(p[k] for p in procs)
             for k in ("charge", "paid", "patient_paid", "denied", "balance")}  # fmt: skip
    where = [
        f"{label} {enc[k]}"
        for label, k in (("provider", "provider_id"), ("site", "site_id"),
                         ("place of service", "place_of_service"))
        if enc.get(k) is not None
    ]  # fmt: skip
    return [
        f"Service date: {enc['service_date']}" + (f"; {', '.join(where)}" if where else ""),
        "Coverage: " + ("; ".join(coverage) if coverage else "self-pay"),
        f"Billed {dollars(total['charge'])}; "
        f"paid by payers {dollars(total['paid'])}, "
        f"by the patient {dollars(total['patient_paid'])}; "
        f"denied {dollars(total['denied'])}; open balance {dollars(total['balance'])}",
    ]


def _line_text(p: dict) -> str:
    code = p["cpt"] + (f"-{p['modifiers']}" if p.get("modifiers") else "")
    return (
        f"line {p['line']}: {code}, billed {dollars(p['charge'])}, "
        f"payers paid {dollars(p['paid'])}, "
        f"denied {dollars(p['denied'])}, open {dollars(p['balance'])}"
    )


def _live_denials(entries: list, catalog, line, carc, *, live=True) -> list[dict]:
    """Adjustments in a denial category, > 0, not negations, and (``live``) not negated."""
    negated = {e["negates"] for e in entries if e["negates"] is not None} if live else set()
    out = []
    for e in entries:
        if e["kind"] != "adjustment" or e["negates"] is not None or e["entry_id"] in negated:
            continue
        if e["amount_cents"] <= 0 or e["carc"] is None:
            continue
        if catalog.category_of(e["carc"], e["group_code"]) not in DENIAL_CATEGORIES:
            continue
        if (line is not None and e["line"] != int(line)) or (
            carc is not None and e["carc"] != str(carc)
        ):
            continue
        out.append(
            {**e, "description": catalog.lookup([e["carc"]])["description"][0].as_py(),
             "category": catalog.category_of(e["carc"], e["group_code"])}
        )  # fmt: skip
    return out


def _denial_text(d: dict, payers) -> str:
    text = (
        f"line {d['line']}: {d['group_code']}-{d['carc']} {dollars(d['amount_cents'])} "
        f"({d['category']}) by {_payer_name(d['payer_id'], payers)} on {_day(d['posted_at'])}: "
        f"{d['description']}"
    )
    if d.get("rarc"):
        said = rarc_description(d["rarc"]) or "no description in the catalogue"
        text += f"; remark {d['rarc']}: {said}"
    return text


def _worklist_row(ledger, encounter_id, today, catalog) -> dict | None:
    from ledgerkit.analytics.worklist import worklist

    wl = worklist(ledger, today, catalog=catalog)
    mine = wl.filter(pc.equal(wl["encounter_id"].cast(pa.string()), str(encounter_id)))
    return mine.to_pylist()[0] if mine.num_rows else None


def _deadline_text(row) -> str:
    if row is None:
        return "not on the worklist: no open denial with money at stake"
    kind = "appeal window" if row["deadline_kind"] == "appeal" else "timely filing limit"
    left = row["days_left"]
    when = f"{left} days left" if left >= 0 else f"expired {-left} days ago"
    return (
        f"{row['deadline']} ({kind}; {when}); at stake {dollars(row['at_stake_cents'])}; "
        f"usual next action: {row['next_action']}"
    )


def _events(work, encounter_id) -> list[dict]:
    if work is None:
        return []
    from ledgerkit.core.work_events import events_table

    if hasattr(work, "work_events"):
        work = work.work_events()
    elif isinstance(work, list):  # event rows as dicts, as work_items takes them
        work = pa.Table.from_pylist(work, schema=events_table(pa.table({})).schema)
    t = events_table(work)
    t = t.filter(pc.equal(t["encounter_id"], str(encounter_id)))
    return sorted(t.to_pylist(), key=lambda e: e["at"])


def _event_text(e: dict) -> str:
    where = f" line {e['line']}" if e["line"] is not None else ""
    kind = e["kind"]
    what = {
        "assign": lambda: f"assigned to {e['owner']}",
        "status": lambda: f"status {e['status']}",
        "follow_up": lambda: f"follow up on {e['follow_up']}",
        "note": lambda: "note",
        "appeal": lambda: (
            f"appeal level {e['appeal_level']} filed {e['appeal_filed']} by {e['appeal_method']}"
        ),
        "outcome": lambda: f"outcome {e['outcome']}, {dollars(e['outcome_cents'] or 0)}",
    }[kind]()
    note = f" ({e['note']})" if e.get("note") else ""
    return f"{_day(e['at'])}{where}: {what}{note}"


def _changed_lines(since, changed: list, events: list) -> list[str]:
    if since is None:
        return ["no live denial to compare with"]
    out = [f"denied on {_day(since)}"]
    for e in changed:
        what = e["kind"].replace("_", " ") + (
            f" {e['group_code']}-{e['carc']}" if e["carc"] else ""
        )
        if e["negates"] is not None:
            what = f"reversal of entry {e['negates']}"
        who = "patient" if e["payer_seq"] == 0 else e["payer_id"]
        out.append(
            f"{_day(e['posted_at'])} line {e['line']}: {what} {dollars(e['amount_cents'])} ({who})"
        )
    out += [_event_text(e) for e in events]
    if len(out) == 1:
        out.append("nothing posted or recorded since")
    return out


def _request_text(enc, denials, payers) -> str:
    if not denials:
        return "(no live denial to appeal)"
    payer = _payer_name(denials[0]["payer_id"], payers)
    items = "; ".join(
        f"line {d['line']} ({d['group_code']}-{d['carc']}, {dollars(d['amount_cents'])})"
        for d in denials
    )
    total = sum(d["amount_cents"] for d in denials)
    return (
        f"We ask {payer} to reconsider the denial of claim {enc['encounter_id']}: {items}; "
        f"{dollars(total)} in all. [Add why the service was covered and correctly billed, "
        "and list the records attached.]"
    )
