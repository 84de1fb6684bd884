"""``RuleTuner``: size the TAA and small-balance write-off rules with sliders.

Every update dry-runs the WHOLE tuned rule set (:func:`ledgerkit.rules.dry_run`
of :meth:`RuleTuner.tuned`: every enabled rule, first match wins, in
evaluation order) and shows that run's figures, so the tuner reports exactly
what the engine would post. The ledger's derived data and the TAAs per
percentile are cached, so an update costs one pass of the rules kernel.

Plain functions (:func:`tunable_rules`, :func:`tuned_rules`,
:func:`live_totals`, :func:`totals_html`) do the work; the widget only wires
them to controls.
"""

from __future__ import annotations

import dataclasses
import html
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from ledgerkit.core.arrow import numpy_array
from ledgerkit.report.format import count, money
from ledgerkit.rules.engine import DryRun, RuleSet, default_rules, dry_run, save_rules
from ledgerkit.rules.taa import CONTRACT_FRACTION, suggest_taa
from ledgerkit.rules.whatif import rule_figures, taa_sweep, threshold_sweep
from ledgerkit.widgets.status import BuildProgress, StatusLine, error_text

__all__ = ["RuleTuner", "tunable_rules", "tuned_rules", "live_totals", "totals_html"]


def tunable_rules(rules: RuleSet) -> tuple[str | None, str | None]:
    """Names of the TAA write-off rule and the small-balance rule of ``rules``.

    The TAA rule writes off the payer balance when allowed ``>=`` the TAA; the
    small-balance rule writes off the whole balance between 1 cent and a
    maximum. ``None`` where the set has no such rule.

    Examples
    --------
    >>> from ledgerkit.rules import default_rules
    >>> tunable_rules(default_rules())
    ('taa_write_off', 'small_balance')
    """
    taa = small = None
    for r in rules:
        w, t = r.when, r.then
        if (
            taa is None
            and w.allowed_vs_taa == ">="
            and t.action == "write_off"
            and t.target == "payer_balance"
        ):
            taa = r.name
        elif (
            small is None
            and w.balance_min == 1
            and w.balance_max is not None
            and t.action == "write_off"
            and t.target == "balance"
        ):
            small = r.name
    return taa, small


def tuned_rules(
    rules: RuleSet,
    *,
    taa_percentile: float | None = None,
    taa_fraction: float | None = None,
    small_balance: int | None = None,
    enabled: dict | None = None,
    taa_min_claims: int | None = None,
) -> RuleSet:
    """``rules`` with the tuned TAA level, small-balance maximum and on/off switches.

    Examples
    --------
    >>> from ledgerkit.rules import default_rules
    >>> r = tuned_rules(default_rules(), taa_percentile=40, small_balance=999,
    ...                 enabled={"taa_write_off": True})
    >>> r["taa_write_off"].enabled, r["taa_write_off"].when.taa_percentile
    (True, 40.0)
    >>> r["small_balance"].when.balance_max
    999
    """
    taa, small = tunable_rules(rules)
    out = []
    for r in rules:
        when = r.when
        if r.name == taa:
            changes = {}
            if taa_percentile is not None:
                changes["taa_percentile"] = float(taa_percentile)
            if taa_fraction is not None:
                changes["taa_fraction"] = float(taa_fraction)
            if taa_min_claims is not None:
                changes["taa_min_claims"] = int(taa_min_claims)
            when = dataclasses.replace(when, **changes)
        elif r.name == small and small_balance is not None:
            when = dataclasses.replace(when, balance_max=max(int(small_balance), 1))
        on = (enabled or {}).get(r.name, r.enabled)
        out.append(dataclasses.replace(r, when=when, enabled=bool(on)))
    return RuleSet(tuple(out))


def live_totals(run: DryRun) -> pa.Table:
    """The tuner's figures: one row per enabled rule of ``run`` then a ``TOTAL`` row.

    ``run`` is a :func:`ledgerkit.rules.dry_run` of the tuned rule set; the
    figures are read off it (see :func:`ledgerkit.whatif.rule_figures`).
    Columns: ``rule``, ``action``, ``procedures``, ``encounters_hit``,
    ``encounters_closed``, ``written_off_cents``, ``ar_closed_cents`` (the
    balance of the encounters closed) and ``to_pr_cents``.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> from ledgerkit.rules import default_rules, dry_run
    >>> run = dry_run(lk.synth.generate(300, seed=4), default_rules())
    >>> live_totals(run)["rule"].to_pylist()[-1]
    'TOTAL'
    """
    return rule_figures(run)


def totals_html(totals: pa.Table) -> str:
    """The totals as HTML: a headline (with stable classes) and a table by rule."""
    rows = totals.to_pylist()
    total = rows[-1]
    head = (
        '<div class="lk-headline" style="font-size:14px;margin:4px 0">'
        f'<b>Encounters closed:</b> <span class="lk-total-closed">'
        f"{count(total['encounters_closed'])}</span> &nbsp; "
        f'<b>Written off:</b> <span class="lk-total-written-off">'
        f"{money(total['written_off_cents'])}</span> &nbsp; "
        f'<b>Pushed to PR:</b> <span class="lk-total-to-pr">'
        f"{money(total['to_pr_cents'])}</span> &nbsp; "
        f'<b>A/R removed:</b> <span class="lk-total-ar">{money(total["ar_closed_cents"])}'
        f"</span> &nbsp; <b>Encounters hit:</b> {count(total['encounters_hit'])}</div>"
    )
    columns = (
        ("rule", "left"),
        ("action", "left"),
        ("hit", "right"),
        ("closed", "right"),
        ("written off", "right"),
        ("to PR", "right"),
        ("A/R removed", "right"),
    )
    th = "".join(f'<th style="text-align:{a};padding:1px 8px">{h}</th>' for h, a in columns)
    body = []
    for r in rows:
        bold = "font-weight:bold;border-top:1px solid #999" if r["rule"] == "TOTAL" else ""
        cells = [
            html.escape(r["rule"]),
            html.escape(r["action"] or ""),
            count(r["encounters_hit"]),
            count(r["encounters_closed"]),
            money(r["written_off_cents"]),
            money(r["to_pr_cents"]),
            money(r["ar_closed_cents"]),
        ]
        body.append(
            f'<tr style="{bold}">'
            + "".join(
                f'<td style="text-align:{a};padding:1px 8px">{c}</td>'
                for c, (_, a) in zip(cells, columns, strict=True)
            )
            + "</tr>"
        )
    return head + f'<table class="lk-totals-table"><tr>{th}</tr>{"".join(body)}</table>'


class RuleTuner:
    """Sliders for the TAA percentile and fraction and the small-balance threshold,
    on/off switches for every rule, live totals of a dry run of the whole tuned
    rule set (per rule and in total), the what-if curves of each rule alone
    with the current setting marked, and an export of the tuned rule set.

    Parameters
    ----------
    ledger : Ledger
    rules : RuleSet, optional
        Defaults to :func:`ledgerkit.rules.default_rules` (TAA rule switched on).
    min_claims : int, optional
        Claims a configuration needs for a TAA; defaults to the TAA rule's.
    export_path : str or Path
        Where the export button writes the tuned rules (TOML).
    contracts : Contracts, path or table, optional
        Adds a "TAA % of contract" slider: configurations too thin for a TAA
        from history get that percent of their contract rate
        (:func:`ledgerkit.suggest_taa` with ``contracts``), and the dry run
        uses those TAAs. The line under the totals counts TAAs by source.
    proposal_path : str or Path
        Where "Export proposal" writes the proposal: this path with ``.xlsx``
        and with ``.html`` (:func:`ledgerkit.report.proposal`).

    Attributes
    ----------
    widget : ipywidgets.VBox
    status : StatusLine
        The line at the top: failures in red (an export to a missing folder),
        progress, what was written.
    run : DryRun
        The dry run of :meth:`tuned` the figures come from.
    totals : pyarrow.Table
        The live figures (see :func:`live_totals`).
    last_update_s : float
        Seconds the last update took (dry run, figures and redraw).
    """

    def __init__(
        self,
        ledger,
        rules: RuleSet | None = None,
        *,
        min_claims=None,
        export_path="tuned_rules.toml",
        contracts=None,
        proposal_path="proposal",
    ):
        import ipywidgets as W

        progress = BuildProgress("the rule tuner", 2)
        self.status = StatusLine()

        if rules is None:
            rules = default_rules().enable("taa_write_off")
        self.ledger = ledger
        self.rules = rules
        self.taa_name, self.small_name = tunable_rules(rules)
        taa_rule = rules[self.taa_name] if self.taa_name else None
        small_rule = rules[self.small_name] if self.small_name else None
        if min_claims is None:
            min_claims = taa_rule.when.taa_min_claims if taa_rule else 10
        self.min_claims = int(min_claims)

        style = {"description_width": "170px"}
        wide = W.Layout(width="520px")
        self.taa_percentile = W.FloatSlider(
            value=taa_rule.when.taa_percentile if taa_rule else 50.0,
            min=0,
            max=100,
            step=1,
            description="TAA percentile",
            continuous_update=False,
            style=style,
            layout=wide,
            readout_format=".0f",
        )
        self.taa_percentile.add_class("lk-taa-slider")
        self.taa_fraction = W.FloatSlider(
            value=taa_rule.when.taa_fraction if taa_rule else 1.0,
            min=0.5,
            max=1.5,
            step=0.01,
            description="TAA fraction",
            continuous_update=False,
            style=style,
            layout=wide,
        )
        self.taa_fraction.add_class("lk-taa-fraction")
        self.small_balance = W.FloatSlider(
            value=(small_rule.when.balance_max / 100) if small_rule else 4.99,
            min=0,
            max=50,
            step=0.01,
            description="Small balance up to $",
            continuous_update=False,
            style=style,
            layout=wide,
        )
        self.small_balance.add_class("lk-small-balance")
        self.contracts, self.contract_percent = _contract_control(W, contracts, style, wide)
        self.taa_sources = W.HTML()
        self.taa_sources.add_class("lk-taa-sources")
        self.toggles = {}
        for r in rules:
            cb = W.Checkbox(
                value=r.enabled, description=r.name, indent=False, layout=W.Layout(width="auto")
            )
            cb.add_class(f"lk-rule-{r.name.replace('_', '-')}")
            cb.tooltip = r.description or r.name
            self.toggles[r.name] = cb
        self.totals_out = W.HTML()
        self.totals_out.add_class("lk-totals")
        self.timing = W.HTML()
        self.timing.add_class("lk-timing")
        self.export_path = W.Text(
            value=str(export_path), description="Export to", layout=W.Layout(width="420px")
        )
        self.export_button = W.Button(
            description="Export rule set", icon="download", button_style="primary"
        )
        self.export_button.add_class("lk-export")
        self.export_status = W.HTML()
        self.export_status.add_class("lk-export-status")
        self.proposal_path = W.Text(
            value=str(proposal_path),
            description="Proposal to",
            layout=W.Layout(width="420px"),
            tooltip="writes this path with .xlsx and .html",
        )
        self.proposal_button = W.Button(
            description="Export proposal", icon="file-excel-o", button_style="primary"
        )
        self.proposal_button.add_class("lk-export-proposal")
        progress.step("the curves of each rule alone (TAA and small balance)")
        self.figure = self._figure()

        sliders = [self.taa_percentile, self.taa_fraction, self.small_balance]
        for s in sliders + ([self.contract_percent] if self.contract_percent else []):
            s.observe(self._on_slider, "value")
        for cb in self.toggles.values():
            cb.observe(self._on_toggle, "value")
        self.export_button.on_click(lambda _: self._quietly(self.export))
        self.proposal_button.on_click(lambda _: self._quietly(self.export_proposal))

        self.widget = W.VBox(
            [
                self.status.widget,
                W.HTML("<b>Rules</b> (switch on/off):"),
                W.HBox(list(self.toggles.values()), layout=W.Layout(flex_flow="row wrap")),
                self.taa_percentile,
                self.taa_fraction,
                *([self.contract_percent] if self.contract_percent else []),
                self.small_balance,
                W.VBox([self.totals_out, self.taa_sources, self.timing]),
                self.figure,
                W.HBox([self.export_path, self.export_button, self.export_status]),
                W.HBox([self.proposal_path, self.proposal_button]),
            ]
        )
        self.widget.add_class("lk-rule-tuner")
        progress.step("the first dry run of the tuned rules")
        self.update()
        progress.close()

    # ----------------------------------------------------------------- state
    def settings(self) -> dict:
        """The current settings: TAA percentile/fraction (``None`` when off),
        small-balance maximum in cents (``None`` when off) and, with contracts,
        the TAA percent of contract for thin configurations (else ``None``)."""
        taa_on = self.taa_name is not None and self.toggles[self.taa_name].value
        small_on = self.small_name is not None and self.toggles[self.small_name].value
        return {
            "taa_percentile": float(self.taa_percentile.value) if taa_on else None,
            "taa_fraction": float(self.taa_fraction.value),
            "small_balance": int(round(self.small_balance.value * 100)) if small_on else None,
            "contract_percent": (
                float(self.contract_percent.value) if self.contract_percent else None
            ),
        }

    def tuned(self) -> RuleSet:
        """The rule set as tuned (levels and switches)."""
        s = self.settings()
        return tuned_rules(
            self.rules,
            taa_percentile=self.taa_percentile.value,
            taa_fraction=s["taa_fraction"],
            small_balance=int(round(self.small_balance.value * 100)),
            enabled={n: cb.value for n, cb in self.toggles.items()},
            taa_min_claims=self.min_claims,
        )

    # ----------------------------------------------------------------- actions
    def update(self) -> pa.Table:
        """Dry-run the tuned rule set and redraw totals and markers."""
        t0 = time.perf_counter()
        s = self.settings()
        taa = self._contract_taa(s)
        self.run = dry_run(self.ledger, self.tuned(), taa=taa)
        self.totals = live_totals(self.run)
        self.totals_out.value = totals_html(self.totals)
        self._mark(s)
        self.last_update_s = time.perf_counter() - t0
        self.timing.value = (
            f"<small>dry run of the tuned rules in {self.last_update_s * 1000:.0f} ms "
            f"({self.ledger.encounters.num_rows:,} encounters)</small>"
        )
        self.taa_percentile.disabled = s["taa_percentile"] is None
        self.taa_fraction.disabled = s["taa_percentile"] is None
        self.small_balance.disabled = s["small_balance"] is None
        if self.contract_percent:
            self.contract_percent.disabled = s["taa_percentile"] is None
        return self.totals

    def export(self, path=None) -> Path:
        """Write the tuned rule set as TOML (``load_rules`` reads it back).

        A failure (a missing folder, no permission) is shown in red in the
        status line and raised.
        """
        try:
            path = Path(path or self.export_path.value).expanduser()
            out = save_rules(self.tuned(), path)
        except Exception as exc:
            self._failed("export of the rule set", exc)
            raise
        self.export_status.value = f"wrote <code>{html.escape(str(out))}</code>"
        self.status.done(f"wrote {out}")
        return out

    def proposal(self, **kwargs):
        """The proposal of the tuned rules (:func:`ledgerkit.report.proposal`)."""
        from ledgerkit.report.proposal import proposal

        return proposal(self.ledger, self.tuned(), **kwargs)

    def export_proposal(self, path=None) -> tuple[Path, Path]:
        """Write the proposal of the tuned rules as ``path.xlsx`` and ``path.html``.

        A failure is shown in red in the status line and raised.
        """
        try:
            base = Path(path or self.proposal_path.value).expanduser()
            if base.suffix.lower() in (".xlsx", ".html"):
                base = base.with_suffix("")
            self.status.busy("building the proposal (a dry run, the curves, per payer)")
            p = self.proposal()
            xlsx = p.to_excel(base.with_name(base.name + ".xlsx"))
            page = p.to_html(base.with_name(base.name + ".html"))
        except Exception as exc:
            self._failed("export of the proposal", exc)
            raise
        self.status.done(f"wrote {xlsx} and {page}")
        return xlsx, page

    # ----------------------------------------------------------------- internals
    def _contract_taa(self, s: dict):
        """The TAA table with the contract fallback, or None (the engine's own TAAs)."""
        if self.contracts is None or s["taa_percentile"] is None:
            self.taa_sources.value = ""
            return None
        taa = suggest_taa(
            self.ledger,
            s["taa_percentile"],
            self.min_claims,
            contracts=self.contracts,
            contract_fraction=s["contract_percent"] / 100,
        )
        counts = taa.group_by("taa_source").aggregate([("config", "count")]).to_pylist()
        by = {r["taa_source"] or "none": r["config_count"] for r in counts}
        self.taa_sources.value = (
            "<small>TAAs by source: "
            + ", ".join(
                f"{name} {by.get(name, 0):,}"
                for name in ("history", "contract", "cpt_set_any_pos", "none")
            )
            + " configurations</small>"
        )
        return taa

    def _failed(self, what: str, exc: BaseException) -> None:
        msg = f"{what} failed: {error_text(exc)}"
        self.status.error(msg)
        self.export_status.value = (
            f"<span class='lk-error' style='color:#b00020'>{html.escape(msg)}</span>"
        )

    def _quietly(self, action) -> None:
        """A button's action: a failure is already shown in the status line."""
        try:
            action()
        except Exception:  # noqa: BLE001 - shown in red by the action itself
            pass

    def _on_slider(self, _change) -> None:
        with self.status.guard("update"):
            self.update()

    def _on_toggle(self, _change) -> None:
        with self.status.guard("update"):
            self.update()

    def _figure(self):
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        taa = taa_sweep(self.ledger, by_payer=False, min_claims=self.min_claims)
        small = threshold_sweep(self.ledger, np.arange(0, 5001, 25), by_payer=False)
        self._taa_curve = taa
        self._small_curve = small
        fig = make_subplots(
            rows=1,
            cols=2,
            horizontal_spacing=0.12,
            subplot_titles=(
                "TAA rule alone: by TAA percentile",
                "Small-balance rule alone: by threshold",
            ),
        )
        x = numpy_array(taa["level"])
        fig.add_trace(
            go.Scatter(
                x=x,
                y=numpy_array(taa["written_off_cents"]) / 100,
                name="written off $",
                line={"color": "#d62728"},
            ),
            1,
            1,
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=numpy_array(taa["ar_closed_cents"]) / 100,
                name="A/R removed $",
                line={"color": "#1f77b4"},
            ),
            1,
            1,
        )
        xs = numpy_array(small["level"]) / 100
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=numpy_array(small["written_off_cents"]) / 100,
                name="written off $ (small)",
                showlegend=False,
                line={"color": "#d62728"},
            ),
            1,
            2,
        )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=numpy_array(small["ar_closed_cents"]) / 100,
                name="A/R removed $ (small)",
                showlegend=False,
                line={"color": "#1f77b4"},
            ),
            1,
            2,
        )
        marker = {"size": 12, "color": "black", "symbol": "diamond"}
        fig.add_trace(
            go.Scatter(x=[0], y=[0], mode="markers", marker=marker, name="current setting"), 1, 1
        )
        fig.add_trace(
            go.Scatter(
                x=[0],
                y=[0],
                mode="markers",
                marker=marker,
                showlegend=False,
                name="current threshold",
            ),
            1,
            2,
        )
        fig.update_xaxes(title_text="TAA percentile", row=1, col=1)
        fig.update_xaxes(title_text="balance up to $", row=1, col=2)
        fig.update_yaxes(title_text="dollars", tickprefix="$", tickformat=",.0f", row=1, col=1)
        fig.update_yaxes(title_text="dollars", tickprefix="$", tickformat=",.0f", row=1, col=2)
        fig.update_layout(
            height=330,
            width=980,
            margin={"l": 60, "r": 20, "t": 40, "b": 40},
            legend={"orientation": "h", "y": -0.2},
        )
        widget = go.FigureWidget(fig)
        widget.add_class("lk-whatif-curve")
        return widget

    def _mark(self, s: dict) -> None:
        taa_x = float(self.taa_percentile.value)
        levels = numpy_array(self._taa_curve["level"])
        i = int(np.abs(levels - taa_x).argmin())
        taa_y = self._taa_curve["written_off_cents"][i].as_py() / 100
        thr = numpy_array(self._small_curve["level"])
        sb = int(round(self.small_balance.value * 100))
        j = int(np.abs(thr - sb).argmin())
        small_y = self._small_curve["written_off_cents"][j].as_py() / 100
        with self.figure.batch_update():
            self.figure.data[4].x = [taa_x]
            self.figure.data[4].y = [taa_y]
            self.figure.data[4].visible = s["taa_percentile"] is not None
            self.figure.data[5].x = [sb / 100]
            self.figure.data[5].y = [small_y]
            self.figure.data[5].visible = s["small_balance"] is not None

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def _contract_control(W, contracts, style, layout):
    """(loaded contracts, "TAA % of contract" slider), or (None, None) without contracts."""
    if contracts is None:
        return None, None
    from ledgerkit.contracts import Contracts, load

    if not isinstance(contracts, Contracts):
        contracts = load(contracts)
    slider = W.FloatSlider(
        value=CONTRACT_FRACTION * 100,
        min=50,
        max=110,
        step=1,
        description="TAA % of contract",
        continuous_update=False,
        style=style,
        layout=layout,
        readout_format=".0f",
    )
    slider.add_class("lk-taa-contract")
    return contracts, slider
