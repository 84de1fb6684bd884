"""``PostingReview``: work the flagged remits of a :class:`~ledgerkit.store.LedgerStore`.

The flagged remits are a paged table (sort, filter by reason, payer and paid
amount). Selecting one shows the encounter's ledger (every entry, negations
visible) beside the conflicting remits (the flagged one and the ones of the
same payer already posted). Post, archive, negate and adjust each need a note
and are committed to the store at once: the store's commit is durable before
the button's callback returns, so nothing is lost if the kernel dies after
the click.

:func:`flagged_worklist`, :func:`review_context` and :func:`apply_action` are
plain functions the widget calls and the tests exercise directly.
"""

from __future__ import annotations

import getpass
import html

import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.errors import LedgerError
from ledgerkit.report.format import carc_text, claim_status_text, money
from ledgerkit.widgets.encounter_view import encounter_html, encounter_ledger
from ledgerkit.widgets.status import error_text

__all__ = [
    "PostingReview",
    "flagged_worklist",
    "review_context",
    "coverage_payers",
    "apply_action",
    "ACTIONS",
]

ACTIONS = ("post", "archive", "negate", "adjust")
COLUMNS = (
    "remit_id",
    "encounter_id",
    "payer_id",
    "reason_code",
    "charge_cents",
    "paid_cents",
    "decided_at",
)


def flagged_worklist(store) -> pa.Table:
    """The review queue: one row per flagged remit (latest decision ``flagged``)."""
    return store.flagged()


def _remits_html(store, decisions: pa.Table) -> str:
    if decisions.num_rows == 0:
        return "<i>no remits</i>"
    out = []
    for d in decisions.to_pylist():
        rid = d["remit_id"]
        r = store.remittances([rid])
        if r.claims.num_rows == 0:
            continue
        c = r.claims.to_pylist()[0]
        lines = r.service_lines.filter(pc.equal(r.service_lines["claim_id"], c["claim_id"]))
        adj = r.adjustments.filter(pc.equal(r.adjustments["claim_id"], c["claim_id"]))
        cas = {}
        for a in adj.to_pylist():
            cas.setdefault(a["line_id"], []).append(
                f"{carc_text(a['carc'], a['group_code'])} {money(a['amount_cents'])}"
            )
        remarks = r.remarks.filter(pc.equal(r.remarks["claim_id"], c["claim_id"]))
        for m in remarks.to_pylist():  # RARC (LQ, MOA, MIA): why, in the payer's words
            cas.setdefault(m["line_id"], []).append(f"remark {m['code']}")
        rows = "".join(
            f"<tr><td>{li['line_number']}</td><td>{html.escape(li['procedure_code'] or '')}</td>"
            f"<td style='text-align:right'>{money(li['charge_cents'] or 0)}</td>"
            f"<td style='text-align:right'>{money(li['paid_cents'] or 0)}</td>"
            f"<td>{html.escape('; '.join(cas.get(li['line_id'], [])))}</td></tr>"
            for li in lines.to_pylist()
        )
        claim_cas = "; ".join(cas.get(None, []))
        colour = "#b00020" if d.get("decision") == "flagged" else "#1b5e20"
        out.append(
            f"<div class='lk-remit' style='border-left:4px solid {colour};padding-left:6px;"
            "margin-bottom:8px'>"
            f"<b>{html.escape(d.get('decision', '?'))}</b> "
            f"({html.escape(d.get('reason_code', ''))}) &nbsp; {html.escape(rid)}<br>"
            f"payer {html.escape(str(d.get('payer_id')))}, claim no "
            f"{html.escape(str(c.get('payer_claim_control_number')))}, claim status "
            f"<span class='lk-claim-status'>{html.escape(claim_status_text(c.get('status_code')))}"
            f"</span>, charge {money(c['charge_cents'])}, "
            f"paid <b>{money(c['paid_cents'])}</b>"
            + (f", claim-level {html.escape(claim_cas)}" if claim_cas else "")
            + "<table style='font-size:12px'><tr><th>Line</th><th>CPT</th><th>Charge ($)</th>"
            f"<th>Paid ($)</th><th>Adjustments</th></tr>{rows}</table></div>"
        )
    return "".join(out)


def review_context(store, row: dict, ledger=None) -> dict:
    """What a reviewer needs for one flagged remit.

    Returns
    -------
    dict
        ``row`` (the flagged decision), ``remits`` (decisions of the flagged
        remit and of the same encounter and payer that were posted),
        ``encounter`` (:func:`~ledgerkit.widgets.encounter_view.encounter_ledger`,
        or ``None`` when the encounter is unknown), ``conflicting_entries``
        (live entry ids posted from those earlier remits: what to negate first),
        ``coverage`` (the encounter's payers as ``(payer_seq, payer_id)``: whom a
        remit flagged ``payer_not_in_coverage`` can be posted as).
    """
    ledger = store.ledger() if ledger is None else ledger
    dec = store.decisions()
    same = pc.and_(
        pc.equal(dec["encounter_id"], row["encounter_id"]),
        pc.equal(dec["payer_id"], row["payer_id"] or ""),
    )
    posted = pc.and_(pc.fill_null(same, False), pc.is_in(dec["decision"], pa.array(["posted"])))
    earlier = dec.filter(posted)
    flagged = dec.filter(pc.equal(dec["remit_id"], row["remit_id"])).slice(0, 1)
    flagged = flagged.slice(flagged.num_rows - 1) if flagged.num_rows else flagged
    remits = pa.concat_tables([flagged, earlier])
    try:
        enc = encounter_ledger(ledger, row["encounter_id"])
    except LedgerError:
        enc = None
    conflicting = []
    if enc is not None and earlier.num_rows:
        e = enc["entries"]
        refs = e["remit_ref"].cast(pa.string())
        live = pc.and_(pc.is_null(e["negated_by"]), pc.is_null(e["negates"]))
        m = pc.and_(live, pc.fill_null(pc.is_in(refs, value_set=earlier["remit_id"]), False))
        conflicting = e.filter(m)["entry_id"].to_pylist()
    return {
        "row": row,
        "remits": remits,
        "encounter": enc,
        "conflicting_entries": conflicting,
        "coverage": coverage_payers(ledger, row["encounter_id"]),
    }


def coverage_payers(ledger, encounter_id) -> list[tuple[int, str]]:
    """The encounter's payers in order, as ``(payer_seq, payer_id)`` (empty when unknown).

    Examples
    --------
    >>> import ledgerkit as lk
    >>> led = lk.synth.generate(5, seed=1)
    >>> enc = led.encounters.slice(0, 1).to_pylist()[0]
    >>> coverage_payers(led, enc["encounter_id"])[0] == (1, enc["payer1_id"])
    True
    """
    enc = ledger.encounters
    one = enc.filter(pc.equal(enc["encounter_id"].cast(pa.string()), encounter_id or ""))
    if one.num_rows == 0:
        return []
    row = one.slice(0, 1).to_pylist()[0]
    return [(k, row[f"payer{k}_id"]) for k in (1, 2, 3) if row[f"payer{k}_id"] is not None]


def apply_action(
    store,
    action: str,
    row: dict,
    *,
    actor: str,
    note: str,
    entry_ids=(),
    line=None,
    amount_cents=None,
    kind="write_off",
    payer_seq=None,
    payer_id=None,
) -> str:
    """Run one review action on the store (committed at once); returns a message.

    Raises
    ------
    LedgerError
        No note, an unknown action, or what the store refuses (the message says why).
    """
    if action not in ACTIONS:
        raise LedgerError(f"unknown action {action!r}; one of {ACTIONS}")
    if not note or not str(note).strip():
        raise LedgerError(f"{action}: write a note first (why), it is stored with the entry")
    note = str(note).strip()
    rid = row["remit_id"]
    if action == "post":
        result = store.post_flagged(rid, actor=actor, note=note, payer_id=payer_id)
        as_payer = f" as payer {payer_id}" if payer_id else ""
        return f"posted {rid}{as_payer}: {result.entries.num_rows} entries added"
    if action == "archive":
        store.archive(rid, actor=actor, note=note)
        return f"archived {rid}"
    if action == "negate":
        ids = [int(i) for i in entry_ids]
        if not ids:
            raise LedgerError("negate: select the entries to negate first")
        store.negate(ids, actor=actor, note=note)
        return f"negated {len(ids)} entries of {row['encounter_id']}"
    if line is None or not amount_cents:
        raise LedgerError("adjust: choose a line and an amount first")
    group, carc = ("CO", "A2") if kind == "write_off" else ("PR", "204")
    store.adjust(
        row["encounter_id"],
        int(line),
        int(amount_cents),
        kind=kind,
        group_code=group,
        carc=carc,
        payer_seq=int(payer_seq or 1),
        actor=actor,
        note=note,
    )
    return f"{kind} ${int(amount_cents) / 100:,.2f} on {row['encounter_id']} line {line}"


class PostingReview:
    """The flagged-remit worklist of a store, with post / archive / negate / adjust.

    Parameters
    ----------
    store : LedgerStore
    actor : str, optional
        Who is reviewing (stored on every action); defaults to the login name.
    page_size : int

    Attributes
    ----------
    widget : ipywidgets.VBox
    table : PagedTable
    context : dict
        :func:`review_context` of the selected remit.
    """

    def __init__(self, store, *, actor: str | None = None, page_size: int = 15):
        import ipywidgets as W

        from ledgerkit.widgets.table import PagedTable

        self.store = store
        self.actor = actor or getpass.getuser() or "reviewer"
        self.context = None
        flagged = flagged_worklist(store)
        self.table = PagedTable(
            flagged,
            list(COLUMNS),
            filter_columns=["reason_code", "payer_id"],
            range_column="paid_cents",
            page_size=page_size,
            sort_by="reason_code",
            css_class="lk-review-table",
        )
        self.reason = W.HTML()
        # The ledger pane takes the width its tables need and the remits wrap
        # below it when both do not fit (fixed 58%/40% plus a gap clipped the
        # ledger's right-hand columns); a pane wider than the page scrolls.
        self.ledger_out = W.HTML(
            layout=W.Layout(flex="0 1 auto", max_width="100%", overflow="auto")
        )
        self.ledger_out.add_class("lk-review-ledger")
        self.remits_out = W.HTML(
            layout=W.Layout(flex="1 1 380px", max_width="100%", overflow="auto")
        )
        self.remits_out.add_class("lk-review-remits")
        self.note = W.Textarea(
            placeholder="note (required): why", layout=W.Layout(width="420px", height="56px")
        )
        self.note.add_class("lk-note")
        self.negate_entries = W.SelectMultiple(
            options=[], rows=5, description="negate", layout=W.Layout(width="420px")
        )
        self.negate_entries.add_class("lk-negate-entries")
        self.adjust_line = W.Dropdown(
            options=[], description="line", layout=W.Layout(width="150px")
        )
        self.adjust_line.add_class("lk-adjust-line")
        self.adjust_amount = W.BoundedFloatText(
            value=0, min=0, max=10**9, description="amount $", layout=W.Layout(width="190px")
        )
        self.adjust_amount.add_class("lk-adjust-amount")
        self.adjust_kind = W.Dropdown(
            options=[("write off", "write_off"), ("transfer to PR", "transfer_to_pr")],
            layout=W.Layout(width="150px"),
        )
        self.adjust_kind.add_class("lk-adjust-kind")
        # Shown only for remits flagged payer_not_in_coverage: post them as one of
        # the encounter's payers (files that name the payer without its id).
        self.post_payer = W.Dropdown(
            options=[], description="as payer", layout=W.Layout(width="260px", display="none")
        )
        self.post_payer.add_class("lk-post-payer")
        self.buttons = {}
        for action, style, icon in (
            ("post", "success", "check"),
            ("archive", "", "archive"),
            ("negate", "warning", "undo"),
            ("adjust", "info", "pencil"),
        ):
            b = W.Button(
                description=action.capitalize(),
                button_style=style,
                icon=icon,
                layout=W.Layout(width="110px"),
            )
            b.add_class(f"lk-btn-{action}")
            b.on_click(lambda _b, a=action: self.act(a))
            self.buttons[action] = b
        # one status model shown twice: sticky at the top (in view after any
        # click) and under the buttons
        self.status = W.HTML()
        self.status.add_class("lk-status")
        self.status.add_class("lk-widget-status")
        sticky = W.HTML(
            "<style>.lk-posting-review > .lk-widget-status{position:sticky;top:0;z-index:5;"
            "background:var(--jp-layout-color0,#fff)}</style>"
        )
        self.count = W.HTML()
        self.count.add_class("lk-flagged-count")
        actions = W.VBox(
            [
                self.note,
                W.HBox([self.buttons["post"], self.post_payer, self.buttons["archive"]]),
                W.HBox([self.negate_entries, self.buttons["negate"]]),
                W.HBox(
                    [
                        self.adjust_line,
                        self.adjust_amount,
                        self.adjust_kind,
                        self.buttons["adjust"],
                    ]
                ),
                self.status,
            ]
        )
        self.widget = W.VBox(
            [
                sticky,
                self.status,
                self.count,
                self.table.widget,
                self.reason,
                W.HBox(
                    [self.ledger_out, self.remits_out],
                    layout=W.Layout(width="100%", flex_flow="row wrap", grid_gap="12px"),
                ),
                actions,
            ]
        )
        self.widget.add_class("lk-posting-review")
        self.table.on_select(self._show_guarded)
        self._count()
        if self.table.n_rows:
            self.table.select(0)

    # ------------------------------------------------------------------ display
    def _count(self):
        n = self.table.table.num_rows
        self.count.value = f"<b>{n:,} flagged remits</b> in store version {self.store.version}"

    def _show_guarded(self, row: dict) -> None:
        try:
            self.show(row)
        except Exception as exc:  # noqa: BLE001 - shown in red, the queue stays usable
            self.status.value = (
                "<span class='lk-error' style='color:#b00020'>showing the remit failed: "
                f"{html.escape(error_text(exc))}</span>"
            )

    def show(self, row: dict) -> dict:
        """Show one flagged remit (a row of :func:`flagged_worklist`)."""
        ctx = review_context(self.store, row)
        self.context = ctx
        self.reason.value = (
            f"<div class='lk-review-reason' style='margin:4px 0'><b>"
            f"{html.escape(row['encounter_id'])}</b>: "
            f"{html.escape(row['reason'])}</div>"
        )
        enc = ctx["encounter"]
        if enc is None:
            self.ledger_out.value = "<i>This remit matches no encounter in the ledger.</i>"
            self.negate_entries.options = []
            self.adjust_line.options = []
        else:
            self.ledger_out.value = encounter_html(enc, highlight=ctx["conflicting_entries"])
            e = enc["entries"]
            live = e.filter(pc.and_(pc.is_null(e["negated_by"]), pc.is_null(e["negates"])))
            self.negate_entries.options = [
                (
                    f"#{x['entry_id']} line {x['line']} {x['kind']} "
                    + (f"{x['group_code']}-{x['carc']} " if x["carc"] else "")
                    + money(x["amount_cents"]),
                    x["entry_id"],
                )
                for x in live.to_pylist()
            ]
            self.negate_entries.value = tuple(ctx["conflicting_entries"])
            lines = enc["procedures"]["line"].to_pylist()
            self.adjust_line.options = lines
            self.adjust_line.value = lines[0] if lines else None
        choose = row.get("reason_code") == "payer_not_in_coverage" and ctx["coverage"]
        self.post_payer.options = (
            [(f"{pid} (payer {seq})", pid) for seq, pid in ctx["coverage"]] if choose else []
        )
        self.post_payer.value = ctx["coverage"][0][1] if choose else None
        self.post_payer.layout.display = None if choose else "none"
        self.remits_out.value = (
            "<b>The flagged remit and this payer's posted remits</b>"
            + _remits_html(self.store, ctx["remits"])
        )
        return ctx

    # ------------------------------------------------------------------ actions
    def act(self, action: str) -> str | None:
        """Run ``action`` on the selected remit with the note typed; refresh."""
        row = self.table.selected
        if row is None:
            self.status.value = "<span style='color:#b00020'>select a flagged remit first</span>"
            return None
        try:
            msg = apply_action(
                self.store,
                action,
                row,
                actor=self.actor,
                note=self.note.value,
                entry_ids=self.negate_entries.value,
                line=self.adjust_line.value,
                amount_cents=int(round(self.adjust_amount.value * 100)),
                kind=self.adjust_kind.value,
                payer_seq=row.get("payer_seq"),
                payer_id=self.post_payer.value if self.post_payer.options else None,
            )
        except LedgerError as exc:
            self.status.value = (
                f"<span class='lk-error' style='color:#b00020'>{html.escape(str(exc))}</span>"
            )
            return None
        except Exception as exc:  # noqa: BLE001 - an unexpected failure is shown, not lost
            self.status.value = (
                f"<span class='lk-error' style='color:#b00020'>{action} failed: "
                f"{html.escape(error_text(exc))}</span>"
            )
            return None
        self.note.value = ""
        self.refresh(keep=row["remit_id"])
        self.status.value = (
            f"<span class='lk-done' style='color:#1b5e20'>{html.escape(msg)} "
            f"(store version {self.store.version})</span>"
        )
        return msg

    def refresh(self, keep: str | None = None) -> None:
        """Reload the flagged remits from the store; keep ``keep`` selected if still flagged."""
        self.table.set_table(flagged_worklist(self.store), keep_page=True)
        self._count()
        ids = self.table.page_table["remit_id"].to_pylist()
        if keep in ids:
            self.table.select(ids.index(keep))
        elif ids:
            self.table.select(0)
        else:
            self.context = None
            self.ledger_out.value = self.remits_out.value = self.reason.value = ""

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
