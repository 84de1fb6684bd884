"""The regression check of ``make bench-check``: two asv results files, one verdict.

A timing (``time_*``, ``timeraw_*``) regressed from A to B when both hold:

* B's median is more than ``factor`` times A's, and
* the slowdown is beyond the noise: the 99 % confidence intervals asv recorded do not
  overlap (B's lower bound above A's upper bound), the test ``asv compare`` applies
  when it has no raw samples; a timing of one sample is judged on its median alone.

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


def rows(result: dict, low="stats_q_25", high="stats_q_75") -> dict:
    """``{(name, params): (median, low, high)}`` of one asv results file
    (``results/*.json``); ``low``, ``high``: which of asv's statistics (default the
    quartiles; ``stats_ci_99_a``, ``stats_ci_99_b``: the 99 % confidence interval).

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
        lows = field.get(low) or [None] * len(medians)
        highs = field.get(high) or [None] * len(medians)
        for combo, median, lo, hi in zip(combos, medians, lows, highs, strict=True):
            if median is not None and isinstance(median, float) and math.isnan(median):
                median = None
            out[(name, combo)] = (median, lo, hi)
    return out


def is_timing(name: str) -> bool:
    method = name.rsplit(".", 1)[-1]
    return method.startswith(TIMED_PREFIXES)


def compare_results(before: dict, after: dict, *, factor: float) -> list[Finding]:
    """The regressions from asv results ``before`` (A) to ``after`` (B), worst first."""
    if factor <= 1:
        raise ValueError(f"factor must be above 1, got {factor}")
    interval = {"low": "stats_ci_99_a", "high": "stats_ci_99_b"}
    a_rows, b_rows = rows(before, **interval), rows(after, **interval)
    findings = []
    for key, (a, a_low, a_high) in a_rows.items():
        if key not in b_rows or a is None or not is_timing(key[0]):
            continue
        b, b_low, b_high = b_rows[key]
        if b is None:
            findings.append(Finding(key[0], key[1], a, None))
            continue
        beyond_noise = b_low is None or a_high is None or b_low > a_high
        if b > factor * a and beyond_noise:
            findings.append(Finding(key[0], key[1], a, b))
    return sorted(findings, key=lambda f: -f.ratio)


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
