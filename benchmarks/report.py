"""The offline benchmark report: one self-contained HTML page from asv's results JSON.

asv's own HTML loads jQuery, flot and friends from CDNs and is blank without internet.
This page inlines plotly.js (from the plotly wheel) once and draws one chart per
benchmark: x is the commit (oldest to newest by commit date), y the median with its
interquartile range, one line per parameter set. Nothing is fetched when it is viewed.

``python -m benchmarks.asv_runs report --size tiny`` writes ``.asv/html/<size>/index.html``.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path

from .regressions import rows

UNITS = {"time": "seconds", "peakmem": "bytes"}


def load_results(folders) -> list[dict]:
    """Every asv results file in ``folders`` (later folders do not override a commit
    already found), oldest commit first."""
    seen, results = set(), []
    for folder in folders:
        for path in sorted(Path(folder).glob("*.json")) if Path(folder).is_dir() else []:
            if path.name == "machine.json":
                continue
            data = json.loads(path.read_text())
            key = (data["commit_hash"], data.get("env_name"))
            if key not in seen:
                seen.add(key)
                results.append(data)
    return sorted(results, key=lambda r: (r.get("date") or 0, r["commit_hash"]))


def unit_of(name: str) -> str:
    method = name.rsplit(".", 1)[-1]
    if method.startswith("peakmem_"):
        return "bytes"
    if method.startswith("track_"):
        return method.removeprefix("track_").replace("_per_", "/")
    return "seconds"


def series(results: list[dict]) -> dict:
    """``{benchmark: {params: [(commit label, median, q25, q75), ...]}}``."""
    out: dict = {}
    for result in results:
        when = dt.datetime.fromtimestamp((result.get("date") or 0) / 1000, dt.UTC)
        label = f"{result['commit_hash'][:8]} {when:%Y-%m-%d %H:%M}"
        for (name, params), row in rows(result).items():
            if row.median is None:
                continue
            point = (label, row.median, row.q25, row.q75)
            out.setdefault(name, {}).setdefault(params, []).append(point)
    return out


def figure(name: str, by_params: dict):
    import plotly.graph_objects as go

    fig = go.Figure()
    for params, points in sorted(by_params.items()):
        labels, medians, lows, highs = zip(*points, strict=True)
        plus = [h - m if h is not None else 0 for m, h in zip(medians, highs, strict=True)]
        minus = [m - lo if lo is not None else 0 for m, lo in zip(medians, lows, strict=True)]
        fig.add_trace(
            go.Scatter(
                x=list(labels),
                y=list(medians),
                name=params or name.rsplit(".", 1)[-1],
                mode="lines+markers",
                error_y={"type": "data", "array": plus, "arrayminus": minus, "visible": True},
            )
        )
    fig.update_layout(
        title=name,
        height=360,
        margin={"l": 60, "r": 20, "t": 50, "b": 60},
        xaxis={"title": "commit", "type": "category"},
        yaxis={"title": unit_of(name), "rangemode": "tozero"},
        legend={"title": {"text": "parameters"}},
    )
    return fig


def write_report(folders, out: Path, size: str) -> Path:
    """Write the report of the results in ``folders`` to ``out`` (one HTML file)."""
    results = load_results(folders)
    charts = series(results)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>ledgerkit benchmarks ({html.escape(size)})</title>",
        "<style>body{font-family:sans-serif;margin:1em 2em} .chart{margin-bottom:1em}"
        " li{font-family:monospace}</style></head><body>",
        f"<h1>ledgerkit benchmarks, size {html.escape(size)}</h1>",
        f"<p>{len(results)} commit(s), {len(charts)} benchmark(s); machine "
        "<code>ledgerkit-bench</code>. Figures from different machines are not comparable "
        "(see README, How fast).</p>",
    ]
    if not charts:
        parts.append("<p class='empty'>No results yet: run <code>make bench</code>.</p>")
    parts.append("<ul>")
    parts += [f"<li><a href='#{_anchor(n)}'>{html.escape(n)}</a></li>" for n in sorted(charts)]
    parts.append("</ul>")
    first = True
    for name in sorted(charts):
        div = figure(name, charts[name]).to_html(
            full_html=False, include_plotlyjs=first, div_id=f"chart-{_anchor(name)}"
        )  # plotly.js inlined once, with the first chart: the page needs no network
        first = False
        parts.append(f"<div class='chart' id='{_anchor(name)}'>{div}</div>")
    parts.append("</body></html>")
    out.write_text("\n".join(parts), encoding="utf-8")
    return out


def _anchor(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name)
