"""The RuleTuner tells the same truth as dry_run (issue #13, finding 6).

The tuner is moved to 20 seeded random settings (levels and on/off switches);
each time its headline, per-rule rows and TOTAL row must equal what
``dry_run(ledger, tuner.tuned())`` reports, exact to the cent, the
encounters-hit and A/R figures recomputed here from the run's hits and the
classified balances.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

import ledgerkit as lk
from ledgerkit.rules import default_rules, dry_run

pytest.importorskip("ipywidgets")


def _expected(ledger, rules) -> dict:
    """Per enabled rule and TOTAL, from a dry run, its hits and lk.classify."""
    run = dry_run(ledger, rules)
    rows = [r for r in run.summary.to_pylist() if r["enabled"]]
    balance = {r["encounter_id"]: r["balance"] for r in lk.classify(ledger).to_pylist()}
    written = defaultdict(int)
    hit = set()
    for h in run.hits.to_pylist():
        hit.add(h["encounter_id"])
        if h["action"] == "write_off":
            written[h["encounter_id"]] += h["amount_cents"]
    closed = [e for e, w in written.items() if balance[e] != 0 and balance[e] == w]
    total = {
        "rule": "TOTAL",
        "encounters_hit": len(hit),
        "encounters_closed": sum(r["encounters_closed"] for r in rows),
        "written_off_cents": sum(r["written_off_cents"] for r in rows),
        "to_pr_cents": sum(r["to_pr_cents"] for r in rows),
        "ar_closed_cents": sum(balance[e] for e in closed),
    }
    assert total["encounters_closed"] == len(closed)
    per_rule = [
        {
            "rule": r["rule"],
            "encounters_hit": r["encounters"],
            "encounters_closed": r["encounters_closed"],
            "written_off_cents": r["written_off_cents"],
            "to_pr_cents": r["to_pr_cents"],
        }
        for r in rows
    ]
    return {"per_rule": per_rule, "total": total}


def _move(tuner, rng) -> None:
    """One random setting: every switch, then the three sliders (each runs an update)."""
    for cb in tuner.toggles.values():
        cb.value = bool(rng.integers(0, 2))
    tuner.taa_percentile.value = float(rng.integers(0, 101))
    tuner.taa_fraction.value = round(float(rng.integers(50, 151)) / 100, 2)
    tuner.small_balance.value = round(float(rng.integers(0, 5001)) / 100, 2)


def _check(tuner) -> None:
    want = _expected(tuner.ledger, tuner.tuned())
    rows = tuner.totals.to_pylist()
    total = rows[-1]
    assert {k: total[k] for k in want["total"]} == want["total"]
    keys = want["per_rule"][0].keys() if want["per_rule"] else ()
    assert [{k: r[k] for k in keys} for r in rows[:-1]] == want["per_rule"]
    html = tuner.totals_out.value
    assert f'lk-total-closed">{total["encounters_closed"]:,}<' in html
    assert f'lk-total-written-off">${total["written_off_cents"] / 100:,.2f}<' in html
    assert f'lk-total-to-pr">${total["to_pr_cents"] / 100:,.2f}<' in html


@pytest.mark.parametrize(
    ("name", "make_ledger", "min_claims"),
    [
        ("notebook_03_sample", lk.synth.load_sample, 3),
        ("synth_3000_seed_4", lambda: lk.synth.generate(3000, seed=4), 5),
    ],
)
def test_tuner_headline_equals_dry_run_at_20_random_settings(name, make_ledger, min_claims):
    from ledgerkit.widgets import RuleTuner

    ledger = make_ledger()
    rules = default_rules().enable("taa_write_off")  # as notebook 03 sets it up
    tuner = RuleTuner(ledger, rules, min_claims=min_claims, export_path="unused.toml")
    _check(tuner)
    rng = np.random.default_rng(20261201)
    seen = set()
    for _ in range(20):
        _move(tuner, rng)
        _check(tuner)
        seen.add(tuple(tuner.totals["rule"].to_pylist()))
    assert len(seen) > 5  # the settings really varied the rule set


def test_notebook_03_setting_is_what_the_notebook_dry_run_shows():
    """Notebook 03 sets TAA p50 and $9.99, then dry-runs tuner.tuned(): same figures."""
    from ledgerkit.widgets import RuleTuner

    ledger = lk.synth.load_sample()
    tuner = RuleTuner(ledger, default_rules().enable("taa_write_off"), min_claims=3)
    tuner.taa_percentile.value = 50
    tuner.small_balance.value = 9.99
    run = dry_run(ledger, tuner.tuned())
    total = tuner.totals.to_pylist()[-1]
    summary = run.summary.to_pylist()
    assert total["encounters_closed"] == sum(r["encounters_closed"] for r in summary)
    assert total["written_off_cents"] == sum(r["written_off_cents"] for r in summary)
    assert total["to_pr_cents"] == sum(r["to_pr_cents"] for r in summary)
    assert total["written_off_cents"] == sum(
        a for a, k in zip(run.entries["amount_cents"].to_pylist(),
                          run.entries["kind"].to_pylist(), strict=True) if k == "write_off"
    )  # fmt: skip
