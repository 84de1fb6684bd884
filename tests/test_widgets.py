"""Widget logic without a browser: set widget values, check the model and outputs.

The plain functions behind the widgets are checked against the library
(``dry_run``, ``balances``, ``denial_trend``, ``LedgerStore``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import ledgerkit as lk
from ledgerkit.errors import LedgerError
from ledgerkit.rules.engine import RuleSet, default_rules, dry_run, load_rules
from ledgerkit.store.ledger_store import LedgerStore
from ledgerkit.widgets.table import PagedTable, TableState, format_page, page_of, view_indices

NBSP = "\u00a0"


@pytest.fixture(scope="module")
def ledger():
    return lk.synth.generate(1500, seed=11)


# ----------------------------------------------------------------------------- paging
def _table(n=103, seed=0):
    rng = np.random.default_rng(seed)
    amount = rng.integers(0, 10_000, n)
    return pa.table(
        {
            "id": [f"R{i:04d}" for i in range(n)],
            "reason": pa.array(rng.choice(["conflict", "unmatched", "unbalanced"], n)),
            "payer": pa.array(rng.choice(["A", "B"], n)).dictionary_encode(),
            "paid_cents": pa.array(amount, mask=amount % 17 == 0),
        }
    )


def test_view_indices_sorts_filters_like_numpy():
    t = _table()
    paid = t["paid_cents"].to_numpy(zero_copy_only=False)  # float with nan for nulls
    rows = view_indices(t, TableState(sort_by="paid_cents"))
    valid = ~np.isnan(paid)
    expect = np.concatenate([np.flatnonzero(valid)[np.argsort(paid[valid], kind="stable")],
                             np.flatnonzero(~valid)])  # fmt: skip
    assert rows.tolist() == expect.tolist()  # nulls last, ties in table order
    desc = view_indices(t, TableState(sort_by="paid_cents", descending=True))
    assert paid[desc[: valid.sum()]].tolist() == sorted(paid[valid], reverse=True)
    state = TableState(sort_by="payer", equals={"reason": "conflict", "payer": "(all)"},
                       ranges={"paid_cents": (1000, 5000)})  # fmt: skip
    rows = view_indices(t, state)
    reason = np.asarray(t["reason"].to_pylist())
    keep = (reason == "conflict") & valid & (np.nan_to_num(paid) >= 1000) & (paid <= 5000)
    assert sorted(rows.tolist()) == np.flatnonzero(keep).tolist()
    payers = [t["payer"][int(i)].as_py() for i in rows]
    assert payers == sorted(payers)


def test_view_indices_unknown_column():
    with pytest.raises(KeyError, match="no column 'nope'"):
        view_indices(_table(), TableState(sort_by="nope"))


@pytest.mark.parametrize(
    ("n", "page", "size", "expect"),
    [(103, 0, 25, (0, 0, 25)), (103, 4, 25, (4, 100, 103)), (103, 9, 25, (4, 100, 103)),
     (103, -3, 25, (0, 0, 25)), (0, 2, 25, (0, 0, 0)), (25, 1, 25, (0, 0, 25))],
)  # fmt: skip
def test_page_of(n, page, size, expect):
    assert page_of(n, page, size) == expect


def test_page_of_rejects_bad_size():
    with pytest.raises(ValueError, match="page_size must be >= 1"):
        page_of(10, 0, 0)


def test_format_page_pads_and_shows_dollars():
    head, rows = format_page(pa.table({"id": ["a", "bbb"], "paid_cents": [5, 123456]}))
    # labels in words and dollars with their sign (the one formatter, issue #18)
    assert head == f"Id{NBSP * 4}Paid{NBSP}($)"
    assert rows == [f"a{NBSP * 4}{NBSP * 4}$0.05", f"bbb{NBSP * 2}$1,234.56"]
    assert all(" " not in r for r in rows)  # option text keeps its padding


def test_paged_table_widget_sorts_filters_pages_selects():
    t = _table()
    w = PagedTable(t, filter_columns=["reason"], range_column="paid_cents", page_size=10)
    assert w.n_rows == 103 and len(w.body.options) == 10
    assert w.info.value.startswith("rows 1\u201310 of 103")
    w.sort_by.value = "paid_cents"
    w.descending.value = True
    top = w.page_table["paid_cents"].to_pylist()
    assert top == sorted(top, reverse=True) and top[0] == pc.max(t["paid_cents"]).as_py()
    w.next.click()
    assert w.state.page == 1 and w.prev.disabled is False
    w.filters["reason"].value = "unmatched"
    assert w.state.page == 0  # filtering goes back to page 1
    assert set(w.table.take(pa.array(w._rows))["reason"].to_pylist()) == {"unmatched"}
    w.min_amount.value = "50"  # dollars, typed (empty: any)
    assert min(w.table.take(pa.array(w._rows))["paid_cents"].to_pylist()) >= 5000
    seen = []
    w.on_select(seen.append)
    w.body.value = 2  # as the browser does
    assert seen and seen[0]["id"] == w.page_table["id"][2].as_py() == w.selected["id"]
    for _ in range(20):
        w.next.click()
    assert w.next.disabled


# ----------------------------------------------------------------------------- RuleTuner
def test_tunable_and_tuned_rules():
    from ledgerkit.widgets.rule_tuner import tunable_rules, tuned_rules

    rules = default_rules()
    assert tunable_rules(RuleSet(())) == (None, None)
    tuned = tuned_rules(rules, taa_percentile=35, taa_fraction=0.9, small_balance=1999,
                        enabled={"taa_write_off": True, "noncovered_to_pr": False})  # fmt: skip
    assert tuned["taa_write_off"].enabled and tuned["taa_write_off"].when.taa_percentile == 35
    assert tuned["taa_write_off"].when.taa_fraction == 0.9
    assert tuned["small_balance"].when.balance_max == 1999
    assert not tuned["noncovered_to_pr"].enabled
    assert tuned["medicare_pr_write_off"] == rules["medicare_pr_write_off"]


def test_rule_tuner_slider_updates_totals_like_a_dry_run(ledger, tmp_path):
    from ledgerkit.widgets import RuleTuner

    tuner = RuleTuner(ledger, min_claims=3, export_path=tmp_path / "tuned.toml")
    first = tuner.totals_out.value
    assert "lk-total-written-off" in first and "lk-total-to-pr" in first
    for level in (10, 60):
        tuner.taa_percentile.value = level
        tuner.small_balance.value = 7.5
        total = tuner.totals.to_pylist()[-1]
        assert total["rule"] == "TOTAL"
        # the live figures are what dry_run reports for the whole tuned set
        summary = dry_run(ledger, tuner.tuned()).summary
        on = summary.filter(summary["enabled"])
        per_rule = tuner.totals.slice(0, tuner.totals.num_rows - 1)
        assert per_rule["rule"].to_pylist() == on["rule"].to_pylist()
        for name in ("written_off_cents", "to_pr_cents", "encounters_closed"):
            assert per_rule[name].to_pylist() == on[name].to_pylist()
            assert total[name] == int(pc.sum(on[name]).as_py())
        assert f"${total['written_off_cents'] / 100:,.2f}" in tuner.totals_out.value
        assert tuner.figure.data[4].x == (float(level),)  # the marker follows the slider
        assert tuner.figure.data[5].x == (7.5,)
    assert tuner.totals_out.value != first
    assert tuner.last_update_s < 1.0


def test_rule_tuner_switches_and_export(ledger, tmp_path):
    from ledgerkit.widgets import RuleTuner

    tuner = RuleTuner(ledger, min_claims=3, export_path=tmp_path / "tuned.toml")
    tuner.toggles["taa_write_off"].value = False
    tuner.toggles["small_balance"].value = False
    assert tuner.taa_percentile.disabled and tuner.small_balance.disabled
    assert tuner.figure.data[4].visible is False
    # the rules still switched on are in the totals, as a dry run of the set says
    on = [n for n, cb in tuner.toggles.items() if cb.value]
    assert tuner.totals["rule"].to_pylist() == [*on, "TOTAL"]
    for name in on:
        assert name in tuner.totals_out.value
    for name in on:
        tuner.toggles[name].value = False
    assert tuner.totals["rule"].to_pylist() == ["TOTAL"]
    assert tuner.totals.to_pylist()[-1]["written_off_cents"] == 0
    assert "medicare_pr_write_off" not in tuner.totals_out.value
    tuner.toggles["small_balance"].value = True
    tuner.small_balance.value = 12.34
    tuner.export_button.click()
    back = load_rules(tmp_path / "tuned.toml")
    assert back == tuner.tuned()
    assert back["small_balance"].when.balance_max == 1234
    assert not back["taa_write_off"].enabled and not back["medicare_pr_write_off"].enabled
    assert "tuned.toml" in tuner.export_status.value


# ----------------------------------------------------------------------------- EncounterView
def test_encounter_view_matches_the_whole_ledger(ledger):
    from ledgerkit.widgets import EncounterView
    from ledgerkit.widgets.encounter_view import encounter_ledger

    neg = ledger.entries.filter(pc.is_valid(ledger.entries["negates"]))
    enc = neg["encounter_id"][0].as_py()
    data = encounter_ledger(ledger, enc)
    full = lk.balances(ledger, level="procedure")
    full = full.filter(pc.equal(full["encounter_id"], enc)).sort_by("line")
    for col in ("charge", "paid", "balance", "open_pr", "payer_balance", "allowed"):
        assert data["procedures"][col].to_pylist() == full[col].to_pylist()
    cls = lk.classify(ledger)
    row = cls.filter(pc.equal(cls["encounter_id"], enc)).to_pylist()[0]
    assert data["summary"]["class"] == row["class"] and data["summary"]["stage"] == row["stage"]
    assert data["entries"].num_rows == ledger.entries_of(enc).num_rows
    negated = neg["negates"][0].as_py()
    assert data["entries"].filter(pc.equal(data["entries"]["entry_id"], negated))[
        "negated_by"
    ].to_pylist() == [neg["entry_id"][0].as_py()]
    view = EncounterView(ledger, enc)
    assert "line-through" in view.out.value and f"negates #{negated}" in view.out.value
    other = ledger.encounters["encounter_id"][5].as_py()
    view.encounter_id.value = other
    assert view.data["summary"]["encounter_id"] == other
    view.encounter_id.value = "NOPE"
    assert "no encounter 'NOPE'" in view.out.value.replace("&#x27;", "'")
    with pytest.raises(LedgerError, match="no encounter"):
        encounter_ledger(ledger, "NOPE")


# ----------------------------------------------------------------------------- DenialDashboard
def test_denial_dashboard(ledger):
    from ledgerkit.analytics.payer_behaviour import denial_trend
    from ledgerkit.widgets import DenialDashboard
    from ledgerkit.widgets.denial_dashboard import denial_series

    with pytest.raises(ValueError, match="metric must be one of"):
        denial_series(ledger, "median")
    dash = DenialDashboard(ledger)
    assert len(dash.lines.data) == len(set(dash.series["payer"].to_pylist()))
    cat = dash.category.options[1]
    dash.category.value = cat
    dash.metric.value = "dollars"
    trend = denial_trend(ledger)
    part = trend.filter(pc.equal(trend["category"], cat))
    assert sum(dash.series["value"].to_pylist()) == pytest.approx(
        pc.sum(part["denied_cents"]).as_py() / 100
    )
    assert cat in dash.lines.layout.title.text
    dash.worklist.select(1)
    assert dash.encounter.data["summary"]["encounter_id"] == dash.worklist.selected["encounter_id"]


# ----------------------------------------------------------------------------- PostingReview
@pytest.fixture
def store(tmp_path):
    from ledgerkit.widgets import sample_store

    ledger = lk.synth.generate(400, seed=5, credits=False)  # credits' remits flag negative
    return sample_store(tmp_path / "store", ledger, conflicts=4, unmatched=2, unbalanced=2)


def test_sample_store_has_flagged_remits(store):
    reasons = store.flagged()["reason_code"].to_pylist()
    assert sorted(set(reasons)) == ["conflict", "unbalanced_remit", "unmatched_claim"]
    assert len(reasons) == 8


def test_posting_review_actions_reach_the_store(store):
    from ledgerkit.widgets import PostingReview

    review = PostingReview(store, actor="ana")
    assert review.table.selected["reason_code"] == "conflict"  # sorted by reason
    conflicting = review.context["conflicting_entries"]
    assert conflicting and review.negate_entries.value == tuple(conflicting)
    version = store.version
    review.buttons["negate"].click()  # no note yet
    assert "write a note first" in review.status.value and store.version == version
    review.note.value = "payer corrected the amount"
    review.buttons["negate"].click()
    assert store.version == version + 1 and review.note.value == ""
    e = LedgerStore(store.path).ledger().entries  # a fresh reader sees it
    new = e.filter(pc.is_in(e["negates"], value_set=pa.array(conflicting, pa.int64())))
    assert new.num_rows == len(conflicting)
    assert set(new["note"].to_pylist()) == {"payer corrected the amount"}
    assert set(new["actor"].cast(pa.string()).to_pylist()) == {"ana"}
    assert "line-through" in review.ledger_out.value  # negations visible at once
    rid = review.table.selected["remit_id"]
    review.note.value = "correct amount"
    review.buttons["post"].click()
    assert rid not in store.flagged()["remit_id"].to_pylist()
    assert review.table.table.num_rows == 7 and "7 flagged" in review.count.value
    assert store.history()["operation"].to_pylist()[-1] == "post_flagged"
    # archive an unmatched remit, found with the reason filter
    review.table.filters["reason_code"].value = "unmatched_claim"
    review.table.select(0)
    assert "matches no encounter" in review.ledger_out.value
    review.note.value = "not our patient"
    review.buttons["archive"].click()
    assert store.decisions()["reason_code"].to_pylist()[-1] == "reviewed_archive"
    # adjust: a conflict encounter's first remit paid it, so its payer balance is 0 and
    # writing off one dollar of it is refused with the cap (Settled question 3)
    review.table.filters["reason_code"].value = "conflict"
    review.table.select(0)
    enc = review.table.selected["encounter_id"]
    before = lk.balances(store.ledger(), level="encounter")
    before = before.filter(pc.equal(before["encounter_id"], enc))["balance"][0].as_py()
    version = store.version
    review.adjust_amount.value = 1.0
    review.note.value = "small remainder"
    review.buttons["adjust"].click()
    assert "exceeds the payer balance" in review.status.value
    assert "at most 0 cents" in review.status.value and store.version == version
    after = lk.balances(store.ledger(), level="encounter")
    after = after.filter(pc.equal(after["encounter_id"], enc))["balance"][0].as_py()
    assert before == after
    # adjust within the cap: an unbalanced remit was never posted, so its encounter's
    # payer still owes the line, and writing off one dollar of it is committed
    review.table.filters["reason_code"].value = "unbalanced_remit"
    review.table.select(0)
    enc = review.table.selected["encounter_id"]
    lines = lk.balances(store.ledger(), level="procedure")
    lines = lines.filter(pc.equal(lines["encounter_id"], enc))
    line = next(x["line"] for x in lines.to_pylist() if x["payer_balance"] >= 100)
    review.adjust_line.value = line
    review.adjust_amount.value = 1.0
    review.adjust_kind.value = "write_off"
    review.note.value = "small remainder"
    review.buttons["adjust"].click()
    assert f"write_off $1.00 on {enc} line {line}" in review.status.value
    assert store.version == version + 1
    now = lk.balances(store.ledger(), level="procedure")
    now = now.filter(pc.and_(pc.equal(now["encounter_id"], enc), pc.equal(now["line"], line)))
    was = next(x for x in lines.to_pylist() if x["line"] == line)
    assert now["balance"][0].as_py() == was["balance"] - 100
    assert now["written_off"][0].as_py() == was["written_off"] + 100


def test_apply_action_errors(store):
    from ledgerkit.widgets.posting_review import apply_action

    row = store.flagged().to_pylist()[0]
    with pytest.raises(LedgerError, match="unknown action 'delete'"):
        apply_action(store, "delete", row, actor="ana", note="x")
    with pytest.raises(LedgerError, match="write a note first"):
        apply_action(store, "archive", row, actor="ana", note="  ")
    with pytest.raises(LedgerError, match="select the entries"):
        apply_action(store, "negate", row, actor="ana", note="x")
    with pytest.raises(LedgerError, match="choose a line and an amount"):
        apply_action(store, "adjust", row, actor="ana", note="x", line=1, amount_cents=0)


def test_a_click_survives_the_kernel_dying_right_after(store):
    """The action is committed before the callback returns: SIGKILL right after."""
    code = textwrap.dedent(
        f"""
        import os, signal
        from ledgerkit.store.ledger_store import LedgerStore
        from ledgerkit.widgets import PostingReview
        review = PostingReview(LedgerStore({str(store.path)!r}), actor="bo")
        review.note.value = "killed right after"
        review.buttons["archive"].click()
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    again = LedgerStore(store.path)
    assert again.history()["note"].to_pylist()[-1] == "killed right after"
    assert again.flagged().num_rows == 7


def test_import_ledgerkit_does_not_import_ipywidgets():
    code = "import sys, ledgerkit, ledgerkit.widgets; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env=dict(os.environ))  # fmt: skip
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize("method", ["time_render", "time_sort", "time_page", "time_filter"])
def test_table_benchmark_bodies_run_small(method):
    from benchmarks.bench_widgets import PagedTable100k

    bench = PagedTable100k()
    bench.setup(2_000)
    getattr(bench, method)(2_000)


def test_rule_tuner_benchmark_body_runs_small():
    from benchmarks.bench_widgets import RuleTunerUpdate

    bench = RuleTunerUpdate()
    bench.setup(3_000)
    before = bench.tuner.taa_percentile.value
    bench.time_update(3_000)
    assert bench.tuner.taa_percentile.value != before


def test_remit_details_show_remark_codes(store):
    from posting_data import copy

    from ledgerkit.widgets.posting_review import _remits_html

    row = store.flagged().to_pylist()[0]
    r = store.remittances([row["remit_id"]])
    line = r.service_lines.to_pylist()[0]
    remarks = pa.table(
        {
            "claim_id": pa.array([line["claim_id"], line["claim_id"]], pa.int32()),
            "line_id": pa.array([None, line["line_id"]], pa.int32()),
            "source": ["MOA", "LQ"],
            "qualifier": [None, "HE"],
            "code": ["MA01", "N130"],
        }
    ).cast(r.remarks.schema)

    class OneRemit:
        def remittances(self, ids):
            return copy(r, remarks=remarks)

    html = _remits_html(OneRemit(), pa.Table.from_pylist([row]))
    assert "claim-level remark MA01" in html
    line_row = html[html.index(f"<tr><td>{line['line_number']}</td>") :]
    assert "remark N130" in line_row.split("</tr>")[0]
