"""``EncounterView``: the payment ledger of one encounter, per procedure.

:func:`encounter_ledger` gathers everything (class, stage, explanation, bucket
figures per procedure, every entry with negations); :func:`encounter_html`
renders it. The widget is a text box for the encounter id and that HTML.
"""

from __future__ import annotations

import html

import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.analytics.balances import balances
from ledgerkit.analytics.classify import classify
from ledgerkit.core.ledger import Ledger
from ledgerkit.errors import LedgerError
from ledgerkit.report.format import carc_text, label, money

__all__ = ["EncounterView", "encounter_ledger", "encounter_html", "entries_html"]

BUCKETS = (
    "charge",
    "paid",
    "contractual",
    "pr",
    "denied",
    "written_off",
    "pushed_to_pr",
    "patient_paid",
    "other",
    "allowed",
    "balance",
    "open_pr",
    "payer_balance",
)
ENTRY_COLUMNS = (
    "entry_id",
    "line",
    "payer_seq",
    "payer_id",
    "kind",
    "group_code",
    "carc",
    "amount_cents",
    "posted_at",
    "source",
    "negates",
    "actor",
    "note",
)


def _only(table: pa.Table, encounter_id: str) -> pa.Table:
    return table.filter(pc.equal(table["encounter_id"], encounter_id))


def encounter_ledger(ledger: Ledger, encounter_id: str) -> dict:
    """One encounter's class, stage, explanation, procedures and entries.

    Returns
    -------
    dict
        ``summary`` (the encounter's ``classify`` row as a dict), ``procedures``
        (``balances`` per procedure, with ``cpt``) and ``entries`` (every
        entry in posting order, with a ``negated_by`` column).

    Raises
    ------
    LedgerError
        No encounter with that id.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(20, seed=1)
    >>> out = encounter_ledger(ledger, "E0000001")
    >>> out["summary"]["encounter_id"], out["procedures"].num_rows > 0
    ('E0000001', True)
    """
    enc = _only(ledger.encounters, encounter_id)
    if enc.num_rows == 0:
        raise LedgerError(f"no encounter {encounter_id!r} in this ledger")
    sub = Ledger.from_arrow(
        enc,
        _only(ledger.procedures, encounter_id),
        _only(ledger.entries, encounter_id),
        ledger.payers,
        policy=ledger.policy,
    )
    summary = classify(sub).to_pylist()[0]
    procs = balances(sub, level="procedure")
    cpt = sub.procedures.select(["line", "cpt", "modifiers"])
    procs = procs.join(cpt, "line").sort_by("line")
    entries = sub.entries.sort_by("entry_id")
    negates = entries["negates"]
    negated_by = {}
    for eid, n in zip(entries["entry_id"].to_pylist(), negates.to_pylist(), strict=True):
        if n is not None:
            negated_by[n] = eid
    entries = entries.append_column(
        "negated_by",
        pa.array([negated_by.get(e) for e in entries["entry_id"].to_pylist()], pa.int64()),
    )
    return {"summary": summary, "procedures": procs, "entries": entries}


def _money(cents) -> str:
    return money(cents)


def _table(headers, rows, css="") -> str:
    th = "".join(f'<th style="padding:1px 6px;text-align:left">{h}</th>' for h in headers)
    return (
        f'<table class="{css}" style="border-collapse:collapse;font-size:12px">'
        f"<tr>{th}</tr>{''.join(rows)}</table>"
    )


def entries_html(entries: pa.Table, highlight=()) -> str:
    """Entries as an HTML table; negated entries struck through, negations in red.

    ``highlight`` entry ids get a yellow background (e.g. a remit in question).
    """
    highlight = set(highlight)
    rows = []
    cols = [c for c in ENTRY_COLUMNS if c in entries.column_names]
    for e in entries.to_pylist():
        style = []
        if e.get("negated_by") is not None:
            style.append("text-decoration:line-through;color:#888")
        if e.get("negates") is not None:
            style.append("color:#b00020")
        if e["entry_id"] in highlight:
            style.append("background:#fff3b0")
        cells = []
        for c in cols:
            v = e[c]
            if c == "amount_cents":
                v = _money(v)
            elif c == "posted_at" and v is not None:
                v = v.strftime("%Y-%m-%d")
            elif c == "negates" and v is not None:
                v = f"negates #{v}"
            tip = ""
            if c == "carc" and v is not None:  # the code's meaning on hover
                tip = f' title="{html.escape(carc_text(v, e.get("group_code")), quote=True)}"'
            cells.append(
                f'<td style="padding:1px 6px;white-space:nowrap"{tip}>'
                f"{html.escape('' if v is None else str(v))}</td>"
            )
        rows.append(f'<tr style="{";".join(style)}">{"".join(cells)}</tr>')
    heads = [label(c) for c in cols]
    return _table(heads, rows, "lk-entries")


def encounter_html(data: dict, highlight=()) -> str:
    """The HTML of :func:`encounter_ledger`'s result (``highlight``: entry ids to mark)."""
    s = data["summary"]
    expl = ""
    if s.get("explain_line") is not None:
        expl = (
            f"line {s['explain_line']}, "
            f"{carc_text(s.get('explain_carc'), s.get('explain_group'))} "
            f"{_money(s.get('explain_amount'))}"
        )
    head = (
        f'<div class="lk-encounter-head" style="font-size:13px">'
        f"<b>{html.escape(s['encounter_id'])}</b> &nbsp; class <b>{s['class']}</b> &nbsp; "
        f"stage <b>{s['stage']}</b> &nbsp; balance <b>{_money(s['balance'])}</b> &nbsp; "
        f"{'balanced' if s['balanced'] else 'not balanced'}"
        + (f" &nbsp; <i>why: {html.escape(expl)}</i>" if expl else "")
        + "</div>"
    )
    procs = data["procedures"]
    rows = []
    for p in procs.to_pylist():
        cells = [p["line"], p["cpt"], p.get("modifiers") or ""] + [
            _money(p[b]) for b in BUCKETS if b in p
        ]
        rows.append(
            "<tr>"
            + "".join(
                f'<td style="padding:1px 6px;text-align:right">{html.escape(str(c))}</td>'
                for c in cells
            )
            + "</tr>"
        )
    heads = ["Line", "CPT", "Modifiers"] + [label(b) for b in BUCKETS if b in procs.column_names]
    return (
        head
        + "<div><b>Per procedure</b></div>"
        + _table(heads, rows, "lk-procedures")
        + "<div style='margin-top:6px'><b>Every entry</b> (negated entries struck through; "
        "negations in red)</div>" + entries_html(data["entries"], highlight)
    )


class EncounterView:
    """One encounter's ledger: class, stage, explanation, buckets per procedure and
    every entry (negations visible). Type another id in the box to switch.

    Attributes
    ----------
    widget : ipywidgets.VBox
    data : dict
        The current :func:`encounter_ledger` result.
    """

    def __init__(self, ledger: Ledger, encounter_id: str):
        import ipywidgets as W

        self.ledger = ledger
        self.encounter_id = W.Text(
            value=encounter_id, description="Encounter", continuous_update=False
        )
        self.encounter_id.add_class("lk-encounter-id")
        self.out = W.HTML()
        self.out.add_class("lk-encounter-view")
        self.encounter_id.observe(lambda ch: self.show(ch["new"]), "value")
        self.widget = W.VBox([self.encounter_id, self.out])
        self.show(encounter_id)

    def show(self, encounter_id: str) -> None:
        """Show another encounter (an unknown id shows the error)."""
        try:
            self.data = encounter_ledger(self.ledger, encounter_id.strip())
        except LedgerError as exc:
            self.out.value = f'<span style="color:#b00020">{html.escape(str(exc))}</span>'
            return
        self.out.value = encounter_html(self.data)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
