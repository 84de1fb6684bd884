"""The regression check of ``make bench-check``: two asv results files, one verdict.

A timing (``time_*``, ``timeraw_*``) regressed from A to B when both hold:

* B's median is more than ``factor`` times A's, and
* the slowdown is beyond the noise, by the test ``asv compare`` applies (asv's own
  ``is_different``): a Mann-Whitney U test on the raw samples when asv recorded enough
  of them (``make bench-check`` records them), else the 99 % confidence intervals must
  not overlap; a timing without either is judged on its median alone.

A benchmark that ran in A and fails in B is a regression too (a crash is the largest
slowdown). Not judged: memory (``peakmem_*``), the ``track_*`` figures (one sample each;
``track_ms_per_mb`` and ``track_us_per_claim`` restate ``time_read_835``, which is
judged), and new or dropped benchmarks.

Example
-------
>>> a = {"result_columns": ["result", "params", "stats_ci_99_a", "stats_ci_99_b"],
...      "results": {"bench.time_x": [[1.0], [], [0.9], [1.1]]}}
>>> b = {"result_columns": ["result", "params", "stats_ci_99_a", "stats_ci_99_b"],
...      "results": {"bench.time_x": [[3.0], [], [2.9], [3.1]]}}
>>> [f.ratio for f in compare_results(a, b, factor=1.5)]
[3.0]
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import NamedTuple

TIMED_PREFIXES = ("time_", "timeraw_", "Timeraw")


@dataclass(frozen=True)
class Finding:
    """One benchmark and parameter set slower in B than in A beyond the factor."""

    name: str
    params: str
    before: float
    after: float | None  # None: the benchmark failed in B

    @property
    def ratio(self) -> float:
        return math.inf if self.after is None else self.after / self.before


class Row(NamedTuple):
    """One benchmark and parameter set of an asv results file."""

    median: float | None
    q25: float | None
    q75: float | None
    ci_low: float | None  # asv's 99 % confidence interval of the median
    ci_high: float | None
    samples: list | None  # raw samples, when asv recorded them


def rows(result: dict) -> dict[tuple[str, str], Row]:
    """``{(name, params): Row}`` of one asv results file (``results/*.json``).

    ``params`` is the benchmark's parameter set as asv prints it (``"3000, payer"``);
    a failed or skipped benchmark has median None.
    """
    columns = result["result_columns"]
    out = {}
    for name, values in result["results"].items():
        field = dict(zip(columns, values, strict=False))
        medians = field.get("result") or []
        combos = [", ".join(c) for c in itertools.product(*(field.get("params") or []))]
        if len(combos) != len(medians):  # unparametrized: one value
            combos = [""] * len(medians)
        stats = [
            field.get(column) or [None] * len(medians)
            for column in ("stats_q_25", "stats_q_75", "stats_ci_99_a", "stats_ci_99_b",
                           "samples")
        ]  # fmt: skip
        for combo, median, *rest in zip(combos, medians, *stats, strict=True):
            if median is not None and isinstance(median, float) and math.isnan(median):
                median = None
            out[(name, combo)] = Row(median, *rest)
    return out


def is_timing(name: str) -> bool:
    method = name.rsplit(".", 1)[-1]
    return method.startswith(TIMED_PREFIXES)


def compare_results(before: dict, after: dict, *, factor: float) -> list[Finding]:
    """The regressions from asv results ``before`` (A) to ``after`` (B), worst first."""
    if factor <= 1:
        raise ValueError(f"factor must be above 1, got {factor}")
    a_rows, b_rows = rows(before), rows(after)
    findings = []
    for key, a in a_rows.items():
        if key not in b_rows or a.median is None or not is_timing(key[0]):
            continue
        b = b_rows[key]
        if b.median is None:
            findings.append(Finding(key[0], key[1], a.median, None))
        elif b.median > factor * a.median and beyond_noise(a, b):
            findings.append(Finding(key[0], key[1], a.median, b.median))
    return sorted(findings, key=lambda f: -f.ratio)


def beyond_noise(a: Row, b: Row) -> bool:
    """Whether A and B differ by asv's own test (the one ``asv compare`` marks with)."""
    from asv import _stats  # asv's statistics: the same verdict as its compare table

    if None in (a.ci_low, a.ci_high, b.ci_low, b.ci_high):
        return True  # one sample: no statistics, the median alone decides
    stats_a = {"ci_99_a": a.ci_low, "ci_99_b": a.ci_high}
    stats_b = {"ci_99_a": b.ci_low, "ci_99_b": b.ci_high}
    return _stats.is_different(a.samples, b.samples, stats_a, stats_b)


def format_findings(findings: list[Finding], factor: float, label: str) -> str:
    """A short verdict for the terminal."""
    if not findings:
        return f"bench-check {label}: no timing slower than {factor:g}x beyond the noise"
    lines = [f"bench-check {label}: {len(findings)} regression(s) beyond {factor:g}x"]
    for f in findings:
        where = f"{f.name}({f.params})" if f.params else f.name
        after = "failed" if f.after is None else f"{f.after:.4g}"
        lines.append(f"  {f.ratio:6.2f}x  {where}: {f.before:.4g} -> {after}")
    return "\n".join(lines)
