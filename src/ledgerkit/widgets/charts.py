"""Payer-behaviour charts the notebooks show: remit lag per payer, denial trend by category.

Plain plotly figures built from ``ledgerkit.payer_behaviour`` tables, so a
test can check what each draws (one box row per payer; hover labels that say
p10/p90, not min/max; the category a picker chose).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.report.format import SELF_PAY, days, rate

__all__ = ["remit_lag_figure", "TrendChart"]


def remit_lag_figure(lag: pa.Table):
    """Days from service to the first remit: one horizontal box per payer.

    The box spans the 25th to 75th percentile with the median inside; the
    whiskers end at the 10th and 90th percentiles (not the minimum and
    maximum, and the hover says so).

    Parameters
    ----------
    lag : pyarrow.Table
        :func:`ledgerkit.payer_behaviour.remit_lag`.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> lag = lk.payer_behaviour.remit_lag(lk.synth.generate(300, seed=1))
    >>> fig = remit_lag_figure(lag)
    >>> len({t.y[0] for t in fig.data if t.type == "box"}) == lag.num_rows
    True
    """
    import plotly.graph_objects as go

    fig = go.FigureWidget(
        layout={
            "height": 60 + 34 * max(lag.num_rows, 1),
            "title": {"text": "Days from service to the first remit (whiskers: p10 and p90)"},
            "xaxis": {"title": {"text": "days"}},
            "yaxis": {"title": {"text": "payer"}, "autorange": "reversed"},
            "showlegend": False,
            "margin": {"l": 80, "r": 20, "t": 50, "b": 40},
        }
    )
    for r in lag.to_pylist():
        name = r["payer_id"] or SELF_PAY
        fig.add_trace(
            go.Box(
                y=[name],
                q1=[r["p25_days"]],
                median=[r["median_days"]],
                q3=[r["p75_days"]],
                lowerfence=[r["p10_days"]],
                upperfence=[r["p90_days"]],
                orientation="h",
                name=name,
                hoverinfo="skip",  # plotly would call the whiskers min and max
            )
        )
        text = (
            f"<b>{name}</b><br>p10 {days(r['p10_days'])} days<br>p25 {days(r['p25_days'])}"
            f"<br>median {days(r['median_days'])}<br>p75 {days(r['p75_days'])}"
            f"<br>p90 {days(r['p90_days'])}<br>{r['remits']:,} remits"
        )
        fig.add_trace(
            go.Scatter(
                x=[r["median_days"]],
                y=[name],
                mode="markers",
                marker={"size": 14, "opacity": 0},
                hovertemplate=text + "<extra></extra>",
                name=f"{name} percentiles",
            )
        )
    return fig


class TrendChart:
    """The denial rate by month and payer for one category, with a category picker.

    Parameters
    ----------
    trend : pyarrow.Table
        :func:`ledgerkit.payer_behaviour.denial_trend`.
    category : str, optional
        The category shown first; default the one with the most denied dollars.

    Attributes
    ----------
    widget : ipywidgets.VBox
    category : ipywidgets.Dropdown
    figure : plotly FigureWidget

    Examples
    --------
    >>> import ledgerkit as lk
    >>> chart = TrendChart(lk.payer_behaviour.denial_trend(lk.synth.generate(300, seed=1)))
    >>> chart.category.value in chart.category.options
    True
    """

    def __init__(self, trend: pa.Table, category: str | None = None):
        import ipywidgets as W
        import plotly.graph_objects as go

        self.trend = trend
        totals = (
            trend.group_by("category")
            .aggregate([("denied_cents", "sum")])
            .sort_by([("denied_cents_sum", "descending"), ("category", "ascending")])
        )
        options = totals["category"].to_pylist()
        self.category = W.Dropdown(
            options=options,
            value=category if category in options else (options[0] if options else None),
            description="Category",
            style={"description_width": "initial"},
        )
        self.category.add_class("lk-trend-category")
        self.figure = go.FigureWidget(
            layout={
                "height": 340,
                "yaxis": {"tickformat": ".0%", "title": {"text": "denial rate"}},
                "xaxis": {"title": {"text": "month"}},
                "margin": {"l": 70, "r": 20, "t": 50, "b": 40},
            }
        )
        self.category.observe(lambda _: self.draw(), "value")
        self.widget = W.VBox([self.category, self.figure])
        self.widget.add_class("lk-trend-chart")
        self.draw()

    def draw(self) -> pa.Table:
        """Draw the chosen category; returns its rows of the trend table."""
        import plotly.graph_objects as go

        cat = self.category.value
        part = self.trend.filter(pc.equal(self.trend["category"], cat))
        with self.figure.batch_update():
            self.figure.data = []
            for payer in sorted({p for p in part["payer"].to_pylist()}, key=lambda p: p or ""):
                rows = part.filter(
                    pc.is_null(part["payer"]) if payer is None else pc.equal(part["payer"], payer)
                )
                self.figure.add_trace(
                    go.Scatter(
                        x=rows["month"].to_pylist(),
                        y=rows["denial_rate"].to_pylist(),
                        mode="lines+markers",
                        name=payer or SELF_PAY,
                        text=[rate(v) for v in rows["denial_rate"].to_pylist()],
                        hovertemplate="%{x}: %{text}<extra>%{fullData.name}</extra>",
                    )
                )
            self.figure.layout.title = f"Denial rate by payer: {cat}"
        return part

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
