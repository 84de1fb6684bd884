"""``WorkActions``: work a selected denial from the dashboard (issue #16).

Assign it, set its status or follow-up date, record an appeal (filed date,
level, method) or an outcome (overturned / upheld / partial, with dollars).
Each action writes one work event to the :class:`~ledgerkit.store.LedgerStore`
(the store's rule: an actor and a note), committed before the click returns;
the worklist and the worked items then show the new state. Without a store
every action is refused with a message in the status line. The appeal summary
(:func:`ledgerkit.appeal_summary`) is drafted into an editable text box.

:func:`work_event` and :func:`record_action` are the plain functions the panel
calls and the tests exercise directly.
"""

from __future__ import annotations

import datetime as dt
import getpass
import html

import pyarrow as pa

from ledgerkit.analytics.appeal_summary import appeal_summary
from ledgerkit.analytics.work_items import work_items
from ledgerkit.core.limits import dollars
from ledgerkit.core.work_events import (
    APPEAL_LEVELS,
    APPEAL_METHODS,
    OUTCOMES,
    STATUSES,
    WORK_EVENTS_SCHEMA,
)
from ledgerkit.errors import LedgerError

__all__ = ["WorkActions", "work_event", "record_action", "ACTIONS", "ITEM_COLUMNS", "NO_STORE"]

ACTIONS = ("assign", "status", "follow_up", "appeal", "outcome")
NO_STORE = (
    "no store: work is recorded in a LedgerStore; open the dashboard as "
    "DenialDashboard(store) or DenialDashboard(ledger, store=store)"
)
ITEM_COLUMNS = (
    "encounter_id", "line", "carc", "owner", "status", "follow_up", "appeal_level",
    "outcome", "recovered_cents", "last_event", "last_event_at",
)  # fmt: skip
_RED, _GREEN = "#b00020", "#1b5e20"


def work_event(action: str, row: dict, *, whole_claim: bool = False, **fields) -> dict:
    """The work event ``action`` makes on a worklist row's item.

    The item is the row's encounter, line and CARC (``whole_claim``: the
    encounter). ``fields`` are the kind's own (``owner``, ``status``,
    ``follow_up``, ``appeal_level``/``appeal_method``/``appeal_filed``,
    ``outcome``/``outcome_cents``); ``None`` values are left out.

    Examples
    --------
    >>> work_event("assign", {"encounter_id": "E1", "line": 2, "carc": "197"}, owner="ana")
    {'kind': 'assign', 'encounter_id': 'E1', 'line': 2, 'carc': '197', 'owner': 'ana'}
    """
    if action not in ACTIONS:
        raise LedgerError(f"unknown work action {action!r}; one of {', '.join(ACTIONS)}")
    event = {"kind": action, "encounter_id": row["encounter_id"]}
    if not whole_claim:
        event.update(line=row.get("line"), carc=row.get("carc"))
    event.update(fields)
    return {k: v for k, v in event.items() if v is not None}


def record_action(store, action: str, row, *, actor: str, note: str, whole_claim=False,
                  **fields) -> str:  # fmt: skip
    """Record one work action on a worklist row's item in ``store``; returns a message.

    Raises
    ------
    LedgerError
        No store, no row, no note, or what the store refuses (the message
        names the field; values are not quoted).

    Examples
    --------
    >>> record_action(None, "assign", {"encounter_id": "E1"}, actor="ana", note="mine",
    ...               owner="ana")
    Traceback (most recent call last):
    ...
    ledgerkit.errors.LedgerError: no store: work is recorded in a LedgerStore; ...
    """
    if store is None:
        raise LedgerError(NO_STORE)
    if row is None:
        raise LedgerError("select a worklist row first")
    if not note or not str(note).strip():
        raise LedgerError(f"{action}: write a note first (why); it is stored with the event")
    note = str(note).strip()
    event = work_event(action, row, whole_claim=whole_claim, note=note, **fields)
    stored = store.record_work(event, actor=actor, note=note).to_pylist()[0]
    where = "the claim" if whole_claim else "the denial"
    said = {
        "assign": lambda: f"assigned {where} to {stored['owner']}",
        "status": lambda: f"{where} is {stored['status']}",
        "follow_up": lambda: f"follow up on {stored['follow_up']}",
        "appeal": lambda: (
            f"level {stored['appeal_level']} appeal filed {stored['appeal_filed']} "
            f"by {stored['appeal_method']}"
        ),
        "outcome": lambda: (
            f"outcome {stored['outcome']}, {dollars(stored['outcome_cents'])} recovered"
        ),
    }[action]()
    return f"{said} (store version {store.version})"


class WorkActions:
    """The work panel: act on the selected worklist row, see the worked items.

    Parameters
    ----------
    store : LedgerStore or None
        Where events go; ``None`` refuses every action with a message.
    ledger : Ledger
        For the appeal summary (a store's own ledger by default).
    actor : str, optional
        Who is working (stored on every event); defaults to the login name.
    on_change : callable, optional
        Called with no argument after each recorded action (the dashboard
        recomputes its worklist).

    Attributes
    ----------
    widget : ipywidgets.VBox
    row : dict or None
        The worklist row acted on.
    items : PagedTable or None
        The worked items (:func:`ledgerkit.work_items`), with a store.
    summary : ipywidgets.Textarea
        The editable appeal summary of the row (after "Draft appeal summary").
    """

    def __init__(self, store, ledger=None, *, actor: str | None = None, on_change=None):
        import ipywidgets as W

        from ledgerkit.widgets.table import PagedTable

        self.store = store
        self.ledger = ledger
        self.actor = actor or getpass.getuser() or "worker"
        self.on_change = on_change
        self.row = None
        self.selected = W.HTML("<i>select a worklist row to work it</i>")
        self.selected.add_class("lk-work-selected")
        self.scope = W.Dropdown(
            options=[("this denial (line, CARC)", False), ("whole claim", True)],
            value=False, description="scope", layout=W.Layout(width="300px"),
        )  # fmt: skip
        self.note = W.Textarea(
            placeholder="note (required): why", layout=W.Layout(width="420px", height="56px")
        )
        self.owner = W.Text(placeholder="owner", layout=W.Layout(width="200px"))
        self.status_value = W.Dropdown(
            options=list(STATUSES), value="in_progress", layout=W.Layout(width="200px")
        )
        self.follow_up = W.DatePicker(
            value=dt.date.today() + dt.timedelta(days=7), layout=W.Layout(width="200px")
        )
        self.appeal_level = W.Dropdown(
            options=list(APPEAL_LEVELS),
            value="1",
            description="level",
            layout=W.Layout(width="170px"),
        )
        self.appeal_method = W.Dropdown(
            options=list(APPEAL_METHODS),
            value="portal",
            description="method",
            layout=W.Layout(width="200px"),
        )
        self.appeal_filed = W.DatePicker(
            value=dt.date.today(), description="filed", layout=W.Layout(width="230px")
        )
        self.outcome = W.Dropdown(
            options=list(OUTCOMES), value="overturned", layout=W.Layout(width="160px")
        )
        self.outcome_dollars = W.BoundedFloatText(
            value=0, min=0, max=10**9, description="$", layout=W.Layout(width="170px")
        )
        for name in (
            "note",
            "owner",
            "status_value",
            "follow_up",
            "appeal_level",
            "appeal_method",
            "appeal_filed",
            "outcome",
            "outcome_dollars",
            "scope",
        ):
            getattr(self, name).add_class(f"lk-work-{name.replace('_', '-')}")  # fmt: skip
        self.buttons = {}
        for action, label in (("assign", "Assign"), ("status", "Set status"),
                              ("follow_up", "Set follow-up"), ("appeal", "Record appeal"),
                              ("outcome", "Record outcome")):  # fmt: skip
            b = W.Button(description=label, layout=W.Layout(width="140px"))
            b.add_class(f"lk-work-btn-{action.replace('_', '-')}")
            b.on_click(lambda _b, a=action: self.act(a))
            self.buttons[action] = b
        self.status = W.HTML()
        self.status.add_class("lk-work-status")
        self.draft = W.Button(description="Draft appeal summary", layout=W.Layout(width="200px"))
        self.draft.add_class("lk-work-btn-summary")
        self.draft.on_click(lambda _b: self.draft_summary())
        self.summary = W.Textarea(layout=W.Layout(width="980px", height="260px"))
        self.summary.add_class("lk-appeal-summary-text")
        self.items = None
        rows = [
            W.HTML("<b>Work the selected denial</b> (each action is stored with your note)"),
            self.selected,
            W.HBox([self.note, self.scope]),
            W.HBox(
                [self.owner, self.buttons["assign"], self.status_value, self.buttons["status"]]
            ),  # fmt: skip
            W.HBox([self.follow_up, self.buttons["follow_up"]]),
            W.HBox(
                [self.appeal_level, self.appeal_method, self.appeal_filed, self.buttons["appeal"]]
            ),  # fmt: skip
            W.HBox([self.outcome, self.outcome_dollars, self.buttons["outcome"]]),
            self.status,
            W.HBox([self.draft]),
            self.summary,
        ]
        if store is not None:
            self.items = PagedTable(
                self._items_table(), list(ITEM_COLUMNS), filter_columns=["owner", "status"],
                range_column="recovered_cents", css_class="lk-work-items", page_size=8,
            )  # fmt: skip
            rows += [W.HTML("<b>Worked items</b> (latest state of each)"), self.items.widget]
        self.widget = W.VBox(rows)
        self.widget.add_class("lk-work-actions")

    def _items_table(self) -> pa.Table:
        items = work_items(self.store)
        return items.select(list(ITEM_COLUMNS)) if items.num_rows else _empty_items()

    def show(self, row: dict | None) -> None:
        """Act on this worklist row from now on."""
        self.row = row
        if row is None:
            self.selected.value = "<i>select a worklist row to work it</i>"
            return
        state = ", ".join(
            f"{k} {row[k]}" for k in ("owner", "status", "follow_up") if row.get(k) is not None
        )
        self.selected.value = (
            f"<div class='lk-work-row'>claim <b>{html.escape(str(row['encounter_id']))}</b>, "
            f"line {html.escape(str(row.get('line')))}, "
            f"{html.escape(str(row.get('group_code')))}-{html.escape(str(row.get('carc')))}, "
            f"{dollars(row.get('at_stake_cents') or 0)} at stake"
            + (f"; {html.escape(state)}" if state else "")
            + "</div>"
        )

    def act(self, action: str) -> str | None:
        """Record ``action`` on the selected row with the fields and note typed."""
        fields = {
            "assign": lambda: {"owner": self.owner.value.strip() or None},
            "status": lambda: {"status": self.status_value.value},
            "follow_up": lambda: {"follow_up": self.follow_up.value},
            "appeal": lambda: {"appeal_level": self.appeal_level.value,
                               "appeal_method": self.appeal_method.value,
                               "appeal_filed": self.appeal_filed.value},  # fmt: skip
            "outcome": lambda: {"outcome": self.outcome.value,
                                "outcome_cents": int(round(self.outcome_dollars.value * 100))},
        }[action]()  # fmt: skip
        try:
            msg = record_action(self.store, action, self.row, actor=self.actor,
                                note=self.note.value, whole_claim=self.scope.value,
                                **fields)  # fmt: skip
        except LedgerError as exc:
            self.status.value = f"<span style='color:{_RED}'>{html.escape(str(exc))}</span>"
            return None
        self.note.value = ""
        if self.on_change is not None:
            self.on_change()  # the dashboard refreshes its worklist and this panel
        else:
            self.refresh()
        self.status.value = (
            f"<span class='lk-done' style='color:{_GREEN}'>{html.escape(msg)}</span>"
        )
        return msg

    def refresh(self) -> None:
        """Reload the worked items from the store."""
        if self.items is not None:
            self.items.set_table(self._items_table(), keep_page=True)

    def draft_summary(self) -> str:
        """Draft the selected row's appeal summary into the text box (edit it there)."""
        if self.row is None:
            self.status.value = f"<span style='color:{_RED}'>select a worklist row first</span>"
            return ""
        source = self.store if self.store is not None else self.ledger
        line = None if self.scope.value else self.row.get("line")
        carc = None if self.scope.value else self.row.get("carc")
        self.summary.value = appeal_summary(source, self.row["encounter_id"], line=line,
                                            carc=carc).text  # fmt: skip
        return self.summary.value

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def _empty_items() -> pa.Table:
    f = {x.name: x.type for x in WORK_EVENTS_SCHEMA}
    types = dict(
        encounter_id=pa.string(), line=pa.int32(), carc=pa.string(), owner=pa.string(),
        status=pa.string(), follow_up=pa.date32(), appeal_level=pa.string(),
        outcome=pa.string(), recovered_cents=pa.int64(), last_event=pa.string(),
        last_event_at=f["at"],
    )  # fmt: skip
    return pa.table({k: pa.array([], t) for k, t in types.items()})
