"""A consultant's proposal from a rule set: what switching the rules on would do.

:func:`proposal` dry-runs the rule set (nothing is posted) and gathers, as
plain Arrow tables, every part a client needs to decide:

``rules``
    one row per enabled rule then ``TOTAL`` (the tuner's live figures,
    :func:`ledgerkit.rules.whatif.rule_figures`);
``payers``
    per primary payer (null: self-pay): open balance, encounters hit and
    closed, written off, pushed to PR, A/R removed, balance left to collect
    and the denials excluded;
``taas``
    every claim configuration's TAA at the rule's percentile and its
    ``taa_source`` (:func:`ledgerkit.rules.taa.suggest_taa`);
``taa_curve`` / ``small_balance_curve``
    each rule alone over its range (:mod:`ledgerkit.rules.whatif` sweeps);
``samples``
    a few encounters per rule, largest amount moved first;
``assumptions`` / ``definitions``
    the settings behind the figures and the words they use (docs/glossary.md).

Writers live beside it (:mod:`~ledgerkit.report.excel`,
:mod:`~ledgerkit.report.html`); every money column is int64 cents and
becomes dollars only when written for reading.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledgerkit.analytics.balances import balances
from ledgerkit.analytics.classify import classify
from ledgerkit.core.arrow import numpy_array
from ledgerkit.report.definitions import DEFINITIONS, GLOSSARY
from ledgerkit.report.flat import write_table
from ledgerkit.rules.engine import DryRun, RuleSet, default_rules, dry_run
from ledgerkit.rules.taa import suggest_taa
from ledgerkit.rules.whatif import dry_run_figures, rule_figures, taa_sweep, threshold_sweep

__all__ = ["Proposal", "proposal", "PARTS"]

PARTS = (
    "rules",
    "payers",
    "taas",
    "taa_curve",
    "small_balance_curve",
    "samples",
    "assumptions",
    "definitions",
)
SMALL_BALANCE_LEVELS = np.arange(0, 5001, 25)  # cents: $0.00 .. $50.00
PAYER_FIGURES = (
    "encounters_hit",
    "encounters_closed",
    "written_off_cents",
    "to_pr_cents",
    "ar_closed_cents",
)


@dataclass(frozen=True)
class Proposal:
    """A proposal's parts (Arrow tables, money in int64 cents) and its writers.

    Attributes
    ----------
    title : str
    rules, payers, taas, taa_curve, small_balance_curve, samples, assumptions,
    definitions : pyarrow.Table
        The parts (:data:`PARTS`; module docstring).
    rule_set : RuleSet
        The rules the figures come from.
    """

    title: str
    rules: pa.Table
    payers: pa.Table
    taas: pa.Table
    taa_curve: pa.Table
    small_balance_curve: pa.Table
    samples: pa.Table
    assumptions: pa.Table
    definitions: pa.Table
    rule_set: RuleSet = field(repr=False, default=None)

    def parts(self) -> dict[str, pa.Table]:
        """``{part name: table}`` in reading order."""
        return {name: getattr(self, name) for name in PARTS}

    def to_excel(self, path) -> Path:
        """An Excel workbook: one sheet per part, dollars formatted, headers frozen,
        line charts for the curves (see :func:`ledgerkit.report.excel.write_excel`)."""
        from ledgerkit.report.excel import write_excel

        return write_excel(self, path)

    def to_html(self, path) -> Path:
        """One self-contained HTML file (plotly embedded, no external URL)."""
        from ledgerkit.report.html import write_html

        return write_html(self, path)

    def to_csv(self, folder) -> list[Path]:
        """One CSV per part in ``folder`` (created), list columns flattened."""
        return self._write(folder, ".csv")

    def to_parquet(self, folder) -> list[Path]:
        """One Parquet file per part in ``folder`` (created)."""
        return self._write(folder, ".parquet")

    def _write(self, folder, suffix: str) -> list[Path]:
        folder = Path(folder).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        return [write_table(t, folder / f"{name}{suffix}") for name, t in self.parts().items()]


def _curve(sweep: pa.Table, level_name: str, level_type) -> pa.Table:
    """A whole-ledger sweep with its level named (the payer column is all null)."""
    sweep = sweep.drop_columns(["payer_id"])
    return sweep.set_column(0, level_name, pc.cast(sweep["level"], level_type))


def _taa_rule(rules: RuleSet):
    for r in rules:
        if r.enabled and r.when.allowed_vs_taa == ">=" and r.then.action == "write_off":
            return r
    return None


def _payers(ledger, run: DryRun) -> pa.Table:
    """Per primary payer: open balance, the run's figures, left to collect, denials excluded."""
    enc = ledger.encounters
    payer_of = dict(
        zip(
            enc["encounter_id"].to_pylist(),
            pc.cast(enc["payer1_id"], pa.string()).to_pylist(),
            strict=True,
        )
    )
    classes = classify(ledger)
    open_cents: dict = {}
    open_count: dict = {}
    for e, bal in zip(
        classes["encounter_id"].to_pylist(), numpy_array(classes["balance"]).tolist(), strict=True
    ):
        p = payer_of[e]
        open_cents.setdefault(p, 0)
        open_count.setdefault(p, 0)
        if bal != 0:
            open_cents[p] += bal
            open_count[p] += 1
    figures = {r["payer_id"]: r for r in dry_run_figures(run, by_payer=True).to_pylist()}

    # Lines denied entirely on hit encounters that no rule moved: left to appeal.
    hits = run.hits
    moved = {
        (e, ln)
        for e, ln, a in zip(
            hits["encounter_id"].to_pylist(),
            hits["line"].to_pylist(),
            hits["amount_cents"].to_pylist(),
            strict=True,
        )
        if a > 0
    }
    hit_encounters = set(hits["encounter_id"].to_pylist())
    lines = balances(ledger, level="procedure")
    excluded_lines: dict = {}
    excluded_cents: dict = {}
    for e, ln, allowed, denied in zip(
        lines["encounter_id"].to_pylist(),
        lines["line"].to_pylist(),
        numpy_array(lines["allowed"]).tolist(),
        numpy_array(lines["denied"]).tolist(),
        strict=True,
    ):
        if allowed == 0 and denied > 0 and e in hit_encounters and (e, ln) not in moved:
            p = payer_of[e]
            excluded_lines[p] = excluded_lines.get(p, 0) + 1
            excluded_cents[p] = excluded_cents.get(p, 0) + denied

    payers = sorted(open_cents, key=lambda p: (p is None, p or ""))
    cols: dict = {"payer_id": pa.array(payers, pa.string())}
    cols["open_encounters"] = pa.array([open_count[p] for p in payers], pa.int64())
    cols["open_balance_cents"] = pa.array([open_cents[p] for p in payers], pa.int64())
    for name in PAYER_FIGURES:
        cols[name] = pa.array([figures.get(p, {}).get(name, 0) for p in payers], pa.int64())
    cols["left_to_collect_cents"] = pa.array(
        [open_cents[p] - figures.get(p, {}).get("written_off_cents", 0) for p in payers],
        pa.int64(),
    )
    cols["denied_lines_excluded"] = pa.array(
        [excluded_lines.get(p, 0) for p in payers], pa.int64()
    )
    cols["denied_excluded_cents"] = pa.array(
        [excluded_cents.get(p, 0) for p in payers], pa.int64()
    )
    return pa.table(cols)


def _samples(ledger, run: DryRun, per_rule: int) -> pa.Table:
    """Up to ``per_rule`` encounters per rule, the largest amount moved first."""
    hits = run.hits
    classes = classify(ledger)
    balance = dict(
        zip(
            classes["encounter_id"].to_pylist(),
            numpy_array(classes["balance"]).tolist(),
            strict=True,
        )
    )
    klass = dict(
        zip(
            classes["encounter_id"].to_pylist(),
            pc.cast(classes["class"], pa.string()).to_pylist(),
            strict=True,
        )
    )
    enc = ledger.encounters
    payer_of = dict(
        zip(
            enc["encounter_id"].to_pylist(),
            pc.cast(enc["payer1_id"], pa.string()).to_pylist(),
            strict=True,
        )
    )
    per: dict = {}  # (rule, encounter) -> [moved, action]
    written: dict = {}  # encounter -> cents written off by every rule
    for e, rule, action, amount in zip(
        hits["encounter_id"].to_pylist(),
        pc.cast(hits["rule"], pa.string()).to_pylist(),
        pc.cast(hits["action"], pa.string()).to_pylist(),
        hits["amount_cents"].to_pylist(),
        strict=True,
    ):
        row = per.setdefault((rule, e), [0, action])
        row[0] += amount
        if action == "write_off":
            written[e] = written.get(e, 0) + amount
    rows = []
    for rule in [r.name for r in run.rules if r.enabled]:
        mine = sorted(
            ((e, v) for (r, e), v in per.items() if r == rule),
            key=lambda item: (-item[1][0], item[0]),
        )
        for e, (amount, action) in mine[:per_rule]:
            after = balance[e] - written.get(e, 0)
            rows.append(
                {
                    "rule": rule,
                    "action": action,
                    "encounter_id": e,
                    "payer_id": payer_of[e],
                    "class": klass[e],
                    "balance_cents": balance[e],
                    "moved_cents": amount,
                    "balance_after_cents": after,
                    "closed": after == 0,
                }
            )
    schema = pa.schema(
        [
            ("rule", pa.string()),
            ("action", pa.string()),
            ("encounter_id", pa.string()),
            ("payer_id", pa.string()),
            ("class", pa.string()),
            ("balance_cents", pa.int64()),
            ("moved_cents", pa.int64()),
            ("balance_after_cents", pa.int64()),
            ("closed", pa.bool_()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _assumptions(ledger, rules: RuleSet, taa_rule, as_of) -> pa.Table:
    dates = ledger.encounters["service_date"]
    items = [
        ("prepared", dt.date.today().isoformat()),
        ("as of", "the last posting in the ledger" if as_of is None else str(as_of)),
        (
            "ledger",
            f"{ledger.encounters.num_rows:,} encounters, service dates "
            f"{pc.min(dates).as_py()} to {pc.max(dates).as_py()}",
        ),
        ("rules switched on", ", ".join(r.name for r in rules if r.enabled) or "none"),
    ]
    for r in rules:
        if r.enabled:
            items.append((f"rule {r.name}", r.description or f"{r.then.action}"))
    if taa_rule is not None:
        w = taa_rule.when
        items += [
            ("TAA percentile", f"{w.taa_percentile:g}"),
            ("TAA fraction", f"{w.taa_fraction:g} (allowed must reach fraction x TAA)"),
            ("TAA min claims", f"{w.taa_min_claims} claims of clean history per configuration"),
            (
                "TAA and denials",
                "lines denied entirely are written off too"
                if w.taa_includes_denied_lines
                else "lines denied entirely are never written off by the TAA rule",
            ),
        ]
    items += [
        ("nothing posted", "every figure is a dry run: the ledger is unchanged"),
        ("money", "whole cents in the data; dollars with 2 decimals for reading"),
        ("definitions", f"the Definitions part, from {GLOSSARY}"),
    ]
    return pa.table(
        {
            "assumption": pa.array([k for k, _ in items], pa.string()),
            "value": pa.array([v for _, v in items], pa.string()),
        }
    )


def proposal(
    ledger,
    rules: RuleSet | None = None,
    *,
    title: str = "Write-off rule proposal",
    samples_per_rule: int = 5,
    as_of=None,
    policy=None,
) -> Proposal:
    """A consultant's proposal: what the rule set would do, per rule, payer and configuration.

    Parameters
    ----------
    ledger : Ledger
    rules : RuleSet, optional
        Defaults to ``default_rules()``. From a ``RuleTuner``: ``tuner.tuned()``
        (or the tuner's own "Export proposal" button).
    title : str
    samples_per_rule : int
        Sample encounters per rule (ids are the practice's own keys).
    as_of, policy
        Passed to :func:`ledgerkit.rules.dry_run`.

    Returns
    -------
    Proposal
        ``.to_excel(path)``, ``.to_html(path)``, ``.to_csv(folder)``,
        ``.to_parquet(folder)``. Definitions: docs/glossary.md.

    Examples
    --------
    >>> import ledgerkit as lk
    >>> ledger = lk.synth.generate(400, seed=3)
    >>> p = lk.report.proposal(ledger, lk.rules.default_rules().enable("taa_write_off"))
    >>> list(p.parts())[:3]
    ['rules', 'payers', 'taas']
    >>> p.rules["rule"].to_pylist()[-1]
    'TOTAL'
    """
    if rules is None:
        rules = default_rules()
    if not isinstance(rules, RuleSet):
        raise TypeError(f"rules must be a RuleSet, got {type(rules).__name__}")
    if int(samples_per_rule) < 0:
        raise ValueError(f"samples_per_rule must be >= 0, got {samples_per_rule}")
    run = dry_run(ledger, rules, as_of=as_of, policy=policy)
    taa_rule = _taa_rule(rules)
    percentile = taa_rule.when.taa_percentile if taa_rule else 50.0
    min_claims = taa_rule.when.taa_min_claims if taa_rule else 10
    taas = suggest_taa(ledger, percentile, min_claims)
    return Proposal(
        title=title,
        rules=rule_figures(run),
        payers=_payers(ledger, run),
        taas=taas,
        taa_curve=_curve(
            taa_sweep(ledger, by_payer=False, min_claims=min_claims),
            "taa_percentile",
            pa.float64(),
        ),
        small_balance_curve=_curve(
            threshold_sweep(ledger, SMALL_BALANCE_LEVELS, by_payer=False),
            "threshold_cents",
            pa.int64(),
        ),
        samples=_samples(ledger, run, int(samples_per_rule)),
        assumptions=_assumptions(ledger, rules, taa_rule, as_of),
        definitions=pa.table(
            {
                "term": pa.array([t for t, _ in DEFINITIONS], pa.string()),
                "definition": pa.array([d for _, d in DEFINITIONS], pa.string()),
            }
        ),
        rule_set=rules,
    )
