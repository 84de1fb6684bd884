"""A proposal as one self-contained HTML file: tables, and plotly curves embedded.

plotly.js travels inside the file (``include_plotlyjs=True``), so the file
opens offline and sends nothing anywhere: no script or stylesheet is loaded
from a URL.
"""

from __future__ import annotations

import html
from pathlib import Path

import pyarrow as pa

from ledgerkit.core.arrow import numpy_array
from ledgerkit.report.format import column_kind, format_value, label

__all__ = ["write_html", "SECTIONS"]

SECTIONS = {
    "rules": "What the rules would do",
    "payers": "Impact per payer",
    "taa_curve": "TAA rule alone, by TAA percentile",
    "small_balance_curve": "Small-balance rule alone, by threshold",
    "taas": "Target allowed amount per claim configuration",
    "samples": "Sample encounters per rule",
    "assumptions": "Assumptions",
    "definitions": "Definitions",
}
_CSS = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; font-size: 13px; margin-bottom: 8px; }
th { background: #dde5f0; text-align: left; padding: 3px 8px; position: sticky; top: 0; }
td { padding: 2px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; border-top: 1px solid #999; }
.scroll { max-height: 420px; overflow: auto; }
"""


def table_html(table: pa.Table, *, css_class: str = "lk-report-table") -> str:
    """``table`` as an HTML table through the one formatter (money in dollars, words)."""
    names = table.column_names
    kinds = [
        column_kind(n, t.value_type if pa.types.is_dictionary(t) else t)
        for n, t in zip(names, table.schema.types, strict=True)
    ]
    head = "".join(f"<th>{html.escape(label(n))}</th>" for n in names)
    rows = []
    columns = [table[n].to_pylist() for n in names]
    for i in range(table.num_rows):
        total = ' class="total"' if names[0] == "rule" and columns[0][i] == "TOTAL" else ""
        cells = "".join(
            f"<td{' class=num' if k != 'text' else ''}>"
            f"{html.escape(format_value(col[i], n, t))}</td>"
            for col, n, k, t in zip(columns, names, kinds, table.schema.types, strict=True)
        )
        rows.append(f"<tr{total}>{cells}</tr>")
    return f'<table class="{css_class}"><tr>{head}</tr>{"".join(rows)}</table>'


def _curve_html(table: pa.Table, x_title: str, x_scale: float, first: bool) -> str:
    import plotly.graph_objects as go

    x = numpy_array(table[table.column_names[0]]) / x_scale
    fig = go.Figure()
    for name, color in (("written_off_cents", "#d62728"), ("ar_closed_cents", "#1f77b4")):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=numpy_array(table[name]) / 100,
                name=label(name),
                line={"color": color},
            )
        )
    fig.update_layout(
        height=320,
        width=900,
        margin={"l": 70, "r": 20, "t": 20, "b": 50},
        xaxis={"title": {"text": x_title}},
        yaxis={"title": {"text": "dollars"}, "tickprefix": "$", "tickformat": ",.0f"},
    )
    return fig.to_html(full_html=False, include_plotlyjs=bool(first), include_mathjax=False)


def write_html(proposal, path) -> Path:
    """Write ``proposal`` as one HTML file that needs no network.

    Examples
    --------
    >>> import tempfile, ledgerkit as lk
    >>> p = lk.report.proposal(lk.synth.generate(300, seed=1))
    >>> text = p.to_html(Path(tempfile.mkdtemp()) / "proposal.html").read_text()
    >>> "<script src=" in text
    False
    """
    path = Path(path).expanduser()
    if not path.parent.is_dir():
        raise FileNotFoundError(f"no folder {path.parent} to write {path.name} into")
    parts = proposal.parts()
    body = [f"<h1>{html.escape(proposal.title)}</h1>"]
    first_chart = True
    for name, heading in SECTIONS.items():
        body.append(f'<h2 id="{name}">{html.escape(heading)}</h2>')
        table = parts[name]
        if name in ("taa_curve", "small_balance_curve"):
            x_title, scale = (
                ("TAA percentile", 1.0) if name == "taa_curve" else ("balance up to ($)", 100.0)
            )
            body.append(_curve_html(table, x_title, scale, first_chart))
            first_chart = False
            continue
        scroll = table.num_rows > 20
        inner = table_html(table)
        body.append(f'<div class="scroll">{inner}</div>' if scroll else inner)
    text = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(proposal.title)}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>"
    )
    path.write_text(text, encoding="utf-8")
    return path
