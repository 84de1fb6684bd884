"""``DenialDashboard``: denial rate and dollars by payer x category over months,
the top root causes and the prioritised worklist; built with a
:class:`~ledgerkit.store.LedgerStore`, a work panel records assignments,
statuses, follow-ups, appeals and outcomes (:mod:`ledgerkit.widgets.work_actions`).

:func:`denial_series` picks the numbers a chart shows (a plain function tests
call); the widget draws them in a plotly ``FigureWidget`` (offline).
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.analytics.facts import today_day
from ledgerkit.analytics.metrics import denial_dollars, initial_denial_rate
from ledgerkit.analytics.payer_behaviour import denial_trend
from ledgerkit.analytics.rootcause import root_causes
from ledgerkit.analytics.worklist import worklist
from ledgerkit.core.catalog import DENIAL_CATEGORIES
from ledgerkit.report.flat import write_table
from ledgerkit.report.format import carc_text, count, label, money, rate
from ledgerkit.widgets.status import StatusLine, error_text

__all__ = ["DenialDashboard", "denial_series", "root_causes_html", "ALL_CATEGORIES"]

ALL_CATEGORIES = "all categories"
METRICS = ("rate", "dollars")
WORKLIST_COLUMNS = (
    "rank",
    "encounter_id",
    "class",
    "payer_id",
    "reason",
    "category",
    "next_action",
    "at_stake_cents",
    "days_left",
    "priority",
)
# With a store: the work columns of each row's item.
WORK_COLUMNS_SHOWN = (
    "owner", "status", "follow_up", "last_event", "last_event_at", "recovered_cents",
)  # fmt: skip


def denial_series(
    ledger, metric: str = "rate", category: str = ALL_CATEGORIES, *, _cache=None
) -> pa.Table:
    """``month``, ``payer`` and ``value``: the initial denial rate (claims denied on
    the first response / claims responded) or denied dollars, for one denial
    category or all of them.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> s = denial_series(lk.synth.generate(300, seed=2), "dollars", "coding")
    >>> s.column_names
    ['month', 'payer', 'value']
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    cache = _cache if _cache is not None else {}
    if category == ALL_CATEGORIES:
        t = cache.get("all")
        if t is None:
            t = cache["all"] = initial_denial_rate(ledger, by=("month", "payer"))
    else:
        t = cache.get("trend")
        if t is None:
            t = cache["trend"] = denial_trend(ledger)
        t = t.filter(pc.equal(t["category"], category))
    value = (
        t["denial_rate"]
        if metric == "rate"
        else pc.divide(t["denied_cents"].cast(pa.float64()), 100.0)
    )
    out = pa.table({"month": t["month"], "payer": t["payer"], "value": value})
    return out.sort_by([("payer", "ascending"), ("month", "ascending")])


def root_causes_html(causes: pa.Table, top: int = 10) -> str:
    """The top denial patterns as an HTML table (CARCs with their description)."""
    cols = [
        c
        for c in ("rank", "payer", "carc", "cpt", "provider", "category")
        if c in causes.column_names
    ]
    head = "".join(f"<th style='padding:1px 6px'>{label(c)}</th>" for c in cols)
    head += (
        f"<th>{label('denials')}</th><th>{label('denied_cents')}</th>"
        f"<th>{label('share')}</th><th>Trend</th>"
    )
    rows = []
    for r in causes.slice(0, top).to_pylist():
        trend = _trend_label(r["slope_cents_per_month"])
        cells = {c: "" if r[c] is None else str(r[c]) for c in cols}
        if "carc" in cells:
            cells["carc"] = carc_text(r["carc"])
        rows.append(
            "<tr>"
            + "".join(f"<td style='padding:1px 6px'>{html.escape(cells[c])}</td>" for c in cols)
            + f"<td style='text-align:right'>{count(r['denials'])}</td>"
            f"<td style='text-align:right'>{money(r['denied_cents'])}</td>"
            f"<td style='text-align:right'>{rate(r['share'])}</td><td>{trend}</td></tr>"
        )
    table = "<table class='lk-root-causes' style='font-size:12px'>"
    return f"{table}<tr>{head}</tr>{''.join(rows)}</table>"


def _trend_label(slope_cents_per_month: float) -> str:
    """Every pattern has a direction: a stopped pattern reads "declining", not blank."""
    if slope_cents_per_month > 0:
        return "\u2197 growing"
    if slope_cents_per_month < 0:
        return "\u2198 declining"
    return "\u2192 flat"


def _with_reasons(wl: pa.Table) -> pa.Table:
    """The worklist with a ``reason`` column to show: the CARC with its group and meaning."""
    reasons = [
        carc_text(c, g)
        for c, g in zip(wl["carc"].to_pylist(), wl["group_code"].to_pylist(), strict=True)
    ]
    return wl.append_column("reason", pa.array(reasons, pa.string()))


class DenialDashboard:
    """Denials over months by payer (pick a category and rate or dollars), denied
    dollars by payer x category, the top root causes, and the worklist.

    Parameters
    ----------
    ledger : Ledger or LedgerStore
        A store gives its latest ledger and takes the work recorded here.
    top : int
        Root causes shown.
    store : LedgerStore, optional
        Where work events go (when ``ledger`` is a Ledger). Without one, the
        work panel's actions are refused with a message.
    actor : str, optional
        Who records the work (default: the login name).
    today : date or str, optional
        The day the worklist's ``days_left`` and priorities count from
        (default: the ledger's last posting day). Shown above the worklist and
        settable there.
    export_path : str or Path
        Where "Export worklist" writes the worklist as filtered and sorted
        (``.csv`` or ``.parquet``).

    Attributes
    ----------
    widget : ipywidgets.VBox
    status : StatusLine
        The line at the top: failures in red, what was written.
    worklist : PagedTable
        The prioritised worklist (select a row to see its encounter below);
        with a store, its owner, status, follow-up, last event and recovered
        dollars, filterable by owner and status.
    work : WorkActions
        The work panel acting on the selected row.
    """

    def __init__(
        self,
        ledger,
        *,
        top: int = 10,
        store=None,
        actor: str | None = None,
        export_path="worklist.csv",
        today=None,
    ):
        import ipywidgets as W
        import plotly.graph_objects as go

        from ledgerkit.widgets.encounter_view import EncounterView
        from ledgerkit.widgets.table import PagedTable

        if hasattr(ledger, "work_events"):
            store, ledger = ledger, ledger.ledger()
        self.store = store
        self.ledger = ledger
        self.status = StatusLine()
        self._cache = {}
        trend = denial_trend(ledger)
        self._cache["trend"] = trend
        present = set(pc.unique(trend["category"]).to_pylist())
        cats = [c for c in DENIAL_CATEGORIES if c in present] + sorted(
            present - set(DENIAL_CATEGORIES)
        )
        self.metric = W.ToggleButtons(
            options=[("denial rate", "rate"), ("denied $", "dollars")], value="rate"
        )
        self.metric.add_class("lk-metric")
        self.category = W.Dropdown(
            options=[ALL_CATEGORIES] + cats, value=ALL_CATEGORIES, description="Category"
        )
        self.category.add_class("lk-category")
        self.lines = go.FigureWidget(
            layout={
                "height": 320,
                "width": 980,
                "margin": {"l": 60, "r": 20, "t": 40, "b": 40},
                "xaxis": {"title": {"text": "month (first remit)"}},
            }
        )
        self.lines.add_class("lk-denial-lines")
        by_cat = denial_dollars(ledger, by=("payer", "category"))
        payers = sorted(set(by_cat["payer"].to_pylist()) - {None})
        grid = {(r["payer"], r["category"]): r["denied_cents"] / 100 for r in by_cat.to_pylist()}
        self.heatmap = go.FigureWidget(
            go.Heatmap(
                x=cats,
                y=payers,
                z=[[grid.get((p, c), 0.0) for c in cats] for p in payers],
                colorscale="Reds",
                colorbar={"title": {"text": "$"}},
            ),
            layout={
                "height": 300,
                "width": 980,
                "title": {"text": "Denied dollars, payer x category"},
                "margin": {"l": 60, "r": 20, "t": 40, "b": 60},
            },
        )
        self.heatmap.add_class("lk-denial-heatmap")
        self.causes = root_causes(ledger, top=top)
        causes = W.HTML(root_causes_html(self.causes, top))
        self.as_of = dt.date(1970, 1, 1) + dt.timedelta(days=today_day(ledger, today))
        self.today = W.DatePicker(
            value=self.as_of,
            description="Days left as of",
            style={"description_width": "initial"},
        )
        self.today.add_class("lk-worklist-as-of")
        self._as_of_note = W.HTML()
        self._as_of_note.add_class("lk-as-of-note")
        wl = self._worklist()
        self.worklist_table = wl
        shown = WORKLIST_COLUMNS + (WORK_COLUMNS_SHOWN if store is not None else ())
        wl = _with_reasons(wl)
        self.worklist = PagedTable(
            wl,
            [c for c in shown if c in wl.column_names],
            filter_columns=["payer_id", "category"]
            + (["owner", "status"] if store is not None else []),
            range_column="at_stake_cents",
            css_class="lk-worklist",
            page_size=15,
        )
        first = wl["encounter_id"][0].as_py() if wl.num_rows else None
        self.encounter = EncounterView(ledger, first) if first else None
        if self.encounter is not None:
            self.worklist.on_select(lambda row: self.encounter.show(row["encounter_id"]))
        self.export_path = W.Text(
            value=str(export_path), description="Export to", layout=W.Layout(width="420px")
        )
        self.export_button = W.Button(
            description="Export worklist", icon="download", button_style="primary"
        )
        self.export_button.add_class("lk-export-worklist")
        self.export_button.on_click(lambda _: self._quietly(self.export_worklist))
        self.today.observe(lambda _: self._guarded(self._new_day, "new as-of date"), "value")
        self.metric.observe(lambda _: self._guarded_redraw(), "value")
        self.category.observe(lambda _: self._guarded_redraw(), "value")
        parts = [
            self.status.widget,
            W.HBox([self.metric, self.category]),
            self.lines,
            self.heatmap,
            W.HTML(f"<b>Top {top} root causes</b> (payer x CARC x CPT x provider, by dollars)"),
            causes,
            W.HTML(
                "<b>Worklist</b> (highest priority first; select a row to see its ledger below)"
            ),
            W.HBox([self.today, self._as_of_note]),
            self.worklist.widget,
            W.HBox([self.export_path, self.export_button]),
        ]
        if self.encounter is not None:
            parts.append(self.encounter.widget)
        self.work = self._work_panel(actor)
        parts.append(self.work.widget)
        self.widget = W.VBox(parts)
        self.widget.add_class("lk-denial-dashboard")
        self.redraw()

    def redraw(self) -> pa.Table:
        """Redraw the lines for the chosen metric and category; returns their data."""
        import plotly.graph_objects as go

        s = denial_series(self.ledger, self.metric.value, self.category.value, _cache=self._cache)
        self.series = s
        traces = []
        for payer in sorted(set(s["payer"].to_pylist()) - {None}):
            part = s.filter(pc.equal(s["payer"], payer))
            traces.append(
                go.Scatter(
                    x=part["month"].to_pylist(),
                    y=part["value"].to_pylist(),
                    mode="lines+markers",
                    name=payer,
                )
            )
        what = "initial denial rate" if self.metric.value == "rate" else "denied dollars"
        with self.lines.batch_update():
            self.lines.data = []
            for t in traces:
                self.lines.add_trace(t)
            self.lines.layout.title = f"{what}, {self.category.value}, by payer"
            self.lines.layout.yaxis.title = "rate" if self.metric.value == "rate" else "$"
            self.lines.layout.yaxis.tickformat = ".0%" if self.metric.value == "rate" else ","
        return s

    # ------------------------------------------------------------------ work
    def _worklist(self) -> pa.Table:
        """The worklist as of :attr:`as_of` (with the store's work), and its note."""
        day = self.as_of
        last = dt.date(1970, 1, 1) + dt.timedelta(days=today_day(self.ledger, None))
        self._as_of_note.value = (
            f"<small>days left, deadlines and priority count from <b>{day.isoformat()}</b>"
            + (" (the ledger's last posting day)" if day == last else "")
            + f"; the ledger's last posting: {last.isoformat()}</small>"
        )
        return (
            worklist(self.ledger, day, work=self.store)
            if self.store is not None
            else worklist(self.ledger, day)
        )

    def _work_panel(self, actor):
        from ledgerkit.widgets.work_actions import WorkActions

        panel = WorkActions(self.store, self.ledger, actor=actor, on_change=self.refresh_work)
        self.worklist.on_select(panel.show)
        return panel

    def refresh_work(self) -> pa.Table:
        """Recompute the worklist with the store's latest work (after an action),
        keeping the page, and the selected claim selected when it is on it."""
        keep = self.work.row["encounter_id"] if self.work.row else None
        self.ledger = self.store.ledger()
        self.worklist_table = self._worklist()
        self.worklist.set_table(_with_reasons(self.worklist_table), keep_page=True)
        self.work.refresh()
        ids = self.worklist.page_table["encounter_id"].to_pylist()
        if keep in ids:
            self.worklist.select(ids.index(keep))
        return self.worklist_table

    def export_worklist(self, path=None) -> Path:
        """Write the worklist as filtered and sorted on screen (``.csv``: list columns
        flattened; or ``.parquet``). A failure is shown in red and raised."""
        try:
            path = Path(path or self.export_path.value).expanduser()
            if not path.parent.is_dir():
                raise FileNotFoundError(f"no folder {path.parent} to write {path.name} into")
            out = write_table(self.worklist.view_table.drop_columns(["reason"]), path)
        except Exception as exc:
            self.status.error(f"export of the worklist failed: {error_text(exc)}")
            raise
        self.status.done(f"wrote {self.worklist.n_rows:,} worklist rows to {out}")
        return out

    def _new_day(self) -> None:
        day = self.today.value
        if day is None:
            raise ValueError("pick a date")
        self.as_of = day
        self.worklist_table = self._worklist()
        self.worklist.set_table(_with_reasons(self.worklist_table))
        self.status.done(f"worklist as of {day.isoformat()}")

    def _guarded(self, action, what: str) -> None:
        with self.status.guard(what):
            action()

    def _quietly(self, action) -> None:
        try:
            action()
        except Exception:  # noqa: BLE001 - shown in red by the action itself
            pass

    def _guarded_redraw(self) -> None:
        with self.status.guard("redraw"):
            self.redraw()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
