"""A server-side paged table: sort, filter and page in Arrow, show one page.

The browser only ever holds one page (``page_size`` rows), so a 100k-row
worklist renders as fast as a 25-row one. The logic lives in plain functions
(:func:`view_indices`, :func:`page_of`, :func:`format_page`) that pytest calls
directly; :class:`PagedTable` wires them to core ipywidgets.

Cells and headers go through the one formatter (:mod:`ledgerkit.report.format`):
money columns (``*_cents`` and the bucket figures) in dollars, rates in %,
days whole, column names in words. Range filters are typed in dollars (empty:
any amount) and applied in cents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.core.arrow import bool_array, numpy_array
from ledgerkit.report.format import column_kind, format_value, label

__all__ = ["TableState", "view_indices", "page_of", "format_page", "PagedTable"]

ALL = "(all)"
NBSP = "\u00a0"
MAX_WIDTH = 30


@dataclass
class TableState:
    """What the user asked for: sort, filters and page.

    Attributes
    ----------
    sort_by : str or None
        Column to sort on; ``None`` keeps the table's own order.
    descending : bool
    equals : dict
        ``{column: value}``; rows whose column equals the value (as text).
    ranges : dict
        ``{column: (lo, hi)}``, inclusive, either end ``None`` for open.
    page : int
        Zero-based page number (clipped to the pages there are).
    page_size : int
    """

    sort_by: str | None = None
    descending: bool = False
    equals: dict = field(default_factory=dict)
    ranges: dict = field(default_factory=dict)
    page: int = 0
    page_size: int = 25


def _filter_mask(table: pa.Table, state: TableState):
    mask = None
    for col, value in state.equals.items():
        if value is None or value == ALL:
            continue
        m = pc.equal(table[col].cast(pa.string()), str(value))
        mask = m if mask is None else pc.and_(mask, m)
    for col, (lo, hi) in state.ranges.items():
        for bound, op in ((lo, pc.greater_equal), (hi, pc.less_equal)):
            if bound is None:
                continue
            m = op(table[col], pa.scalar(bound).cast(table.schema.field(col).type))
            mask = m if mask is None else pc.and_(mask, m)
    return None if mask is None else pc.fill_null(mask, False)


def view_indices(table: pa.Table, state: TableState) -> np.ndarray:
    """Row positions of ``table`` after filtering and sorting (int64).

    Sorting is stable: ties keep the table's order. Nulls go last.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"payer": ["A", "B", "A"], "amount_cents": [300, 100, 200]})
    >>> view_indices(t, TableState(sort_by="amount_cents")).tolist()
    [1, 2, 0]
    >>> view_indices(t, TableState(sort_by="amount_cents", equals={"payer": "A"})).tolist()
    [2, 0]
    """
    for col in [state.sort_by, *state.equals, *state.ranges]:
        if col is not None and col not in table.column_names:
            raise KeyError(f"no column {col!r}; the table has {table.column_names}")
    mask = _filter_mask(table, state)
    if mask is None:
        rows = np.arange(table.num_rows, dtype=np.int64)
        sub = table
    else:
        rows = np.flatnonzero(bool_array(mask)).astype(np.int64)
        sub = table.take(pa.array(rows))
    if state.sort_by is not None and len(rows) > 1:
        col = sub[state.sort_by]
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        order = "descending" if state.descending else "ascending"
        idx = _sort_indices(pa.table({"k": col}), order)
        rows = rows[numpy_array(idx)]
    return rows


def _sort_indices(t: pa.Table, order: str) -> pa.Array:
    try:  # pyarrow >= 25: null placement per sort key
        return pc.sort_indices(t, sort_keys=[("k", order, "at_end")])
    except (TypeError, ValueError, pa.ArrowInvalid):  # older pyarrow
        return pc.sort_indices(t, sort_keys=[("k", order)], null_placement="at_end")


def page_of(n_rows: int, page: int, page_size: int) -> tuple[int, int, int]:
    """``(page, start, stop)`` with the page clipped to ``0 .. n_pages - 1``.

    Examples
    --------
    >>> page_of(101, 5, 25)
    (4, 100, 101)
    >>> page_of(0, 3, 25)
    (0, 0, 0)
    """
    if page_size < 1:
        raise ValueError(f"page_size must be >= 1, got {page_size}")
    n_pages = max(1, math.ceil(n_rows / page_size))
    page = min(max(int(page), 0), n_pages - 1)
    start = page * page_size
    return page, start, min(start + page_size, n_rows)


def _text(value, name: str, type_=None) -> str:
    if isinstance(value, np.integer):
        value = int(value)
    s = format_value(value, name, type_)
    return s if len(s) <= MAX_WIDTH else s[: MAX_WIDTH - 1] + "\u2026"


def _label(name: str) -> str:
    return label(name)


def dollars_to_cents(text) -> int | None:
    """A typed dollar amount as cents; empty means "any" (``None``).

    Examples
    --------
    >>> dollars_to_cents("1,234.5"), dollars_to_cents(" $0.07 "), dollars_to_cents("")
    (123450, 7, None)
    """
    if text is None:
        return None
    if isinstance(text, int | float) and not isinstance(text, bool):
        text = repr(float(text))
    t = str(text).strip().replace(",", "").replace("$", "")
    if not t:
        return None
    try:
        d = Decimal(t)
    except InvalidOperation:
        raise ValueError(f"not a dollar amount: {str(text).strip()[:20]!r}") from None
    if not d.is_finite():
        raise ValueError(f"not a dollar amount: {str(text).strip()[:20]!r}")
    return int((d * 100).to_integral_value())


def format_page(page: pa.Table, columns=None) -> tuple[str, list[str]]:
    """A fixed-width header and one text line per row (non-breaking spaces pad).

    Examples
    --------
    >>> import pyarrow as pa
    >>> head, rows = format_page(pa.table({"id": ["a", "bb"], "paid_cents": [150, 20000]}))
    >>> head.replace("\\u00a0", " ")
    'Id  Paid ($)'
    >>> rows[1].replace("\\u00a0", " ")
    'bb   $200.00'
    """
    columns = list(columns or page.column_names)
    types = {}
    for c in columns:
        t = page.schema.field(c).type
        types[c] = t.value_type if pa.types.is_dictionary(t) else t
    cells = {c: [_text(v, c, types[c]) for v in page[c].to_pylist()] for c in columns}
    widths = {c: max([len(_label(c))] + [len(s) for s in cells[c]]) for c in columns}
    right = {
        c: column_kind(c, types[c]) != "text" or pa.types.is_integer(types[c]) for c in columns
    }

    def pad(s, c):
        return s.rjust(widths[c]) if right[c] else s.ljust(widths[c])

    sep = NBSP * 2
    head = sep.join(pad(_label(c), c) for c in columns).rstrip().replace(" ", NBSP)
    rows = [
        sep.join(pad(cells[c][i], c) for c in columns).rstrip().replace(" ", NBSP)
        for i in range(page.num_rows)
    ]
    return head, rows


_CSS = """<style>
.lk-table select, .lk-table .lk-table-head {
  font-family: var(--jp-code-font-family, monospace); font-size: 12px; white-space: pre;
}
.lk-table .lk-table-head { font-weight: bold; padding-left: 4px; }
</style>"""


class PagedTable:
    """A sortable, filterable, paged table of an Arrow table, with row selection.

    Parameters
    ----------
    table : pyarrow.Table
    columns : list of str, optional
        Columns shown (all by default); filters and sorting may use any column.
    filter_columns : list of str
        Columns with an equality filter (a dropdown of their values).
    range_column : str, optional
        A ``*_cents`` column with a minimum/maximum filter in dollars (empty:
        any; a typo is shown in red beside the boxes).
    page_size : int
    css_class : str
        Extra class for the outer box (the browser test selects by it).

    Attributes
    ----------
    widget : ipywidgets.VBox
    selected : dict or None
        The selected row (all columns), or ``None``.
    """

    def __init__(
        self,
        table,
        columns=None,
        *,
        filter_columns=(),
        range_column=None,
        page_size: int = 25,
        sort_by=None,
        descending=False,
        css_class="lk-table",
    ):
        import ipywidgets as W

        self.columns = list(columns or table.column_names)
        self.filter_columns = list(filter_columns)
        self.range_column = range_column
        self.state = TableState(sort_by=sort_by, descending=descending, page_size=page_size)
        self._callbacks = []
        self._rows = np.empty(0, np.int64)
        self._page_rows = np.empty(0, np.int64)
        self.selected = None
        self._quiet = False

        self.sort_by = W.Dropdown(
            options=[("(ledger order)", None)] + [(_label(c), c) for c in self.columns],
            value=sort_by,
            description="Sort by",
            layout=W.Layout(width="260px"),
        )
        self.sort_by.add_class("lk-sort-by")
        self.descending = W.ToggleButton(
            value=descending,
            description="descending",
            icon="sort-amount-desc",
            layout=W.Layout(width="130px"),
        )
        self.descending.add_class("lk-sort-desc")
        self.filters = {}
        for c in self.filter_columns:
            dd = W.Dropdown(
                description=_label(c),
                style={"description_width": "initial"},  # the whole label, never "reason_co…"
                layout=W.Layout(width="auto", min_width="200px"),
            )
            dd.add_class(f"lk-filter-{c}")
            self.filters[c] = dd
        self.min_amount = self.max_amount = None
        if range_column:
            what = _label(range_column)
            self.min_amount = W.Text(
                value="",
                placeholder="any",
                description=f"{what} from",
                style={"description_width": "initial"},
                layout=W.Layout(width="auto"),
            )
            self.max_amount = W.Text(
                value="",
                placeholder="any",
                description="to",
                style={"description_width": "initial"},
                layout=W.Layout(width="120px"),
            )
            self.min_amount.add_class("lk-min-amount")
            self.max_amount.add_class("lk-max-amount")
        self.amount_error = W.HTML()
        self.amount_error.add_class("lk-amount-error")
        self.prev = W.Button(description="\u25c0 prev", layout=W.Layout(width="80px"))
        self.next = W.Button(description="next \u25b6", layout=W.Layout(width="80px"))
        self.prev.add_class("lk-page-prev")
        self.next.add_class("lk-page-next")
        self.info = W.HTML()
        self.info.add_class("lk-page-info")
        self.head = W.HTML()
        self.body = W.Select(options=[], rows=page_size, layout=W.Layout(width="100%"))
        self.body.add_class("lk-table-rows")

        controls = [self.sort_by, self.descending, *self.filters.values()]
        if range_column:
            controls += [self.min_amount, self.max_amount, self.amount_error]
        self.widget = W.VBox(
            [
                W.HTML(_CSS),
                W.HBox(controls, layout=W.Layout(flex_flow="row wrap")),
                self.head,
                self.body,
                W.HBox([self.prev, self.next, self.info]),
            ],
        )
        self.widget.add_class(css_class)
        self.widget.add_class("lk-table")

        self.sort_by.observe(self._on_sort, "value")
        self.descending.observe(self._on_sort, "value")
        for dd in self.filters.values():
            dd.observe(self._on_filter, "value")
        if range_column:
            self.min_amount.observe(self._on_filter, "value")
            self.max_amount.observe(self._on_filter, "value")
        self.prev.on_click(lambda _: self.go(self.state.page - 1))
        self.next.on_click(lambda _: self.go(self.state.page + 1))
        self.body.observe(self._on_select, "value")
        self.set_table(table)

    # ------------------------------------------------------------------ data
    def set_table(self, table: pa.Table, *, keep_page: bool = False) -> None:
        """Show a new table (e.g. after a review action), keeping sort and filters."""
        self.table = table
        self._quiet = True
        try:
            for c, dd in self.filters.items():
                values = sorted({str(v) for v in pc.unique(table[c]).to_pylist() if v is not None})
                keep = dd.value if dd.value in values else ALL
                dd.options = [ALL] + values
                dd.value = keep
        finally:
            self._quiet = False
        self._refresh(reset_page=not keep_page)

    def _read_filters(self) -> None:
        self.state.equals = {c: dd.value for c, dd in self.filters.items()}
        if self.range_column:
            bounds = []
            errors = []
            for box in (self.min_amount, self.max_amount):
                try:
                    bounds.append(dollars_to_cents(box.value))
                except ValueError as exc:
                    bounds.append(None)  # a typo filters nothing, and says so
                    errors.append(str(exc))
            self.amount_error.value = (
                f"<span style='color:#b00020'>{'; '.join(errors)}</span>" if errors else ""
            )
            self.state.ranges = {self.range_column: tuple(bounds)}

    def _refresh(self, reset_page=True) -> None:
        self._read_filters()
        self._rows = view_indices(self.table, self.state)
        if reset_page:
            self.state.page = 0
        self._show_page()

    def _show_page(self) -> None:
        page, start, stop = page_of(len(self._rows), self.state.page, self.state.page_size)
        self.state.page = page
        self._page_rows = self._rows[start:stop]
        shown = self.table.select(self.columns).take(pa.array(self._page_rows))
        head, lines = format_page(shown, self.columns)
        self.head.value = f'<div class="lk-table-head">{head}</div>'
        n_pages = max(1, math.ceil(len(self._rows) / self.state.page_size))
        self.info.value = (
            f"rows {start + 1 if stop else 0:,}\u2013{stop:,} of {len(self._rows):,} "
            f"(page {page + 1:,} of {n_pages:,}; {self.table.num_rows:,} in all)"
        )
        self._quiet = True
        try:
            self.body.options = [(line, i) for i, line in enumerate(lines)]
            self.body.value = None
        finally:
            self._quiet = False
        self.prev.disabled = page == 0
        self.next.disabled = page >= n_pages - 1

    # ------------------------------------------------------------------ events
    def _on_sort(self, _change) -> None:
        if self._quiet:
            return
        self.state.sort_by = self.sort_by.value
        self.state.descending = self.descending.value
        self._refresh()

    def _on_filter(self, _change) -> None:
        if not self._quiet:
            self._refresh()

    def _on_select(self, change) -> None:
        if self._quiet or change["new"] is None:
            return
        self.select(int(change["new"]))

    # ------------------------------------------------------------------ API
    @property
    def n_rows(self) -> int:
        """Rows after filtering."""
        return len(self._rows)

    @property
    def view_table(self) -> pa.Table:
        """Every row after filtering and sorting (all columns): what an export writes."""
        return self.table.take(pa.array(self._rows))

    @property
    def page_table(self) -> pa.Table:
        """The rows on the current page (all columns)."""
        return self.table.take(pa.array(self._page_rows))

    def go(self, page: int) -> None:
        """Show page ``page`` (clipped)."""
        self.state.page = page
        self._show_page()

    def select(self, i: int) -> dict:
        """Select row ``i`` of the current page; call the ``on_select`` callbacks."""
        row = int(self._page_rows[i])
        self.selected = self.table.slice(row, 1).to_pylist()[0]
        if self.body.value != i:
            self._quiet = True
            try:
                self.body.value = i
            finally:
                self._quiet = False
        for cb in self._callbacks:
            cb(self.selected)
        return self.selected

    def on_select(self, callback) -> None:
        """Call ``callback(row_dict)`` when a row is selected."""
        self._callbacks.append(callback)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
