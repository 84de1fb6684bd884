"""Widgets show failures in their own status line and export deliverables (issue #18)."""

from __future__ import annotations

import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

import ledgerkit as lk
from ledgerkit.report.excel import SHEETS
from ledgerkit.report.format import money

MISSING = "/nonexistent_dir/x"


@pytest.fixture(scope="module")
def ledger():
    return lk.synth.generate(1500, seed=11)


@pytest.fixture(scope="module")
def tuner(ledger):
    from ledgerkit.widgets import RuleTuner

    return RuleTuner(ledger, min_claims=3)


def test_tuner_export_error_is_shown_not_hidden(tuner, tmp_path):
    tuner.export(tmp_path / "ok.toml")
    assert "ok.toml" in tuner.export_status.value and tuner.status.kind == "done"
    tuner.export_path.value = f"{MISSING}/rules.toml"
    tuner.export_button.click()  # the button does not raise: it shows
    assert tuner.status.kind == "error"
    assert "export of the rule set failed" in tuner.status.text
    assert "No such file or directory" in tuner.status.text
    assert "lk-error" in tuner.status.widget._dom_classes
    assert "wrote" not in tuner.export_status.value  # the old success is gone
    with pytest.raises(OSError):
        tuner.export(f"{MISSING}/rules.toml")
    assert tuner.widget.children[0] is tuner.status.widget  # first: visible without scrolling


def test_tuner_exports_the_proposal(tuner, tmp_path):
    tuner.taa_percentile.value = 30
    tuner.proposal_path.value = str(tmp_path / "client")
    tuner.proposal_button.click()
    assert tuner.status.kind == "done", tuner.status.text
    xlsx, page = tmp_path / "client.xlsx", tmp_path / "client.html"
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == list(SHEETS.values())
    ws = wb["Rules"]
    total = tuner.totals.to_pylist()[-1]
    head = [c.value for c in ws[1]]
    assert ws.cell(ws.max_row, head.index("Written off ($)") + 1).value == (
        total["written_off_cents"] / 100
    )  # the proposal is exactly what the tuner shows
    assert money(total["written_off_cents"]) in page.read_text()
    assert f"{30:g}" in [r.value for r in wb["Assumptions"]["B"]]
    tuner.proposal_path.value = f"{MISSING}/client"
    tuner.proposal_button.click()
    assert tuner.status.kind == "error" and "no folder /nonexistent_dir/x" in tuner.status.text


def test_tuner_small_balance_chart_has_a_y_title(tuner):
    assert tuner.figure.layout.yaxis2.title.text == "dollars"


def test_a_failed_update_is_shown(ledger, monkeypatch):
    from ledgerkit.widgets import RuleTuner
    from ledgerkit.widgets import rule_tuner as mod

    t = RuleTuner(ledger, min_claims=3)

    def broken(*a, **k):
        raise RuntimeError("kernel out of memory")

    monkeypatch.setattr(mod, "dry_run", broken)
    t.taa_percentile.value = 70
    assert t.status.kind == "error" and t.status.text == "update failed: kernel out of memory"


def test_dashboard_exports_the_worklist_as_shown(ledger, tmp_path):
    from ledgerkit.widgets import DenialDashboard

    dash = DenialDashboard(ledger, export_path=tmp_path / "wl.csv")
    assert dash.widget.children[0] is dash.status.widget
    payer = dash.worklist.filters["payer_id"].options[1]
    dash.worklist.filters["payer_id"].value = payer
    dash.export_button.click()
    assert dash.status.kind == "done", dash.status.text
    back = pacsv.read_csv(tmp_path / "wl.csv")
    assert set(back["payer_id"].to_pylist()) == {payer}
    assert back.num_rows == dash.worklist.n_rows
    assert "reason" not in back.column_names  # the display column stays on screen
    assert (
        back["at_stake_cents"].to_pylist()
        == dash.worklist.view_table["at_stake_cents"].to_pylist()
    )
    dash.export_worklist(tmp_path / "wl.parquet")
    dash.export_path.value = f"{MISSING}/wl.csv"
    dash.export_button.click()
    assert dash.status.kind == "error" and "export of the worklist failed" in dash.status.text


def test_dashboard_tables_read_in_words(ledger):
    from ledgerkit.widgets import DenialDashboard

    dash = DenialDashboard(ledger)
    head = dash.worklist.head.value.replace("\u00a0", " ")
    assert "At stake ($)" in head and "Reason" in head and "Days left" in head
    first = dash.worklist.body.options[0][0].replace("\u00a0", " ")
    wl = dash.worklist.page_table.to_pylist()[0]
    assert money(wl["at_stake_cents"]) in first
    assert f"{wl['group_code']}-{wl['carc']}:" in first


def test_posting_review_status_is_at_the_top_and_statuses_decoded(tmp_path):
    from ledgerkit.widgets import PostingReview, sample_store

    ledger = lk.synth.generate(400, seed=5, credits=False)
    store = sample_store(tmp_path / "store", ledger, conflicts=2, unmatched=1, unbalanced=1)
    review = PostingReview(store, actor="analyst")
    assert review.status in review.widget.children[:2]
    review.act("post")  # no note: refused, shown in red at the top
    assert "write a note first" in review.status.value and "lk-error" in review.status.value
    conflicts = [
        i
        for i, r in enumerate(review.table.page_table.to_pylist())
        if r["reason_code"] == "conflict"
    ]
    review.table.select(conflicts[0])
    assert "claim status <span class='lk-claim-status'>1 (processed as primary)" in (
        review.remits_out.value
    )


def test_paged_table_amount_filter_says_any_and_reports_typos():
    from ledgerkit.widgets.table import PagedTable, dollars_to_cents

    t = pa.table({"id": ["a", "b", "c"], "paid_cents": [100, 2500, 99999]})
    w = PagedTable(t, range_column="paid_cents", filter_columns=["id"])
    assert w.min_amount.placeholder == "any" and w.max_amount.placeholder == "any"
    assert w.filters["id"].style.description_width == "initial"
    assert w.n_rows == 3
    w.min_amount.value = "$25.00"
    assert w.n_rows == 2
    w.max_amount.value = "500"
    assert w.n_rows == 1
    w.max_amount.value = "abc"
    assert "not a dollar amount" in w.amount_error.value and w.n_rows == 2
    assert dollars_to_cents("0.1") == 10 and dollars_to_cents(0.29) == 29


def test_dashboard_as_of_is_shown_and_settable(ledger):
    import datetime as dt

    from ledgerkit.widgets import DenialDashboard

    dash = DenialDashboard(ledger)
    last = max(ledger.entries["posted_at"].to_pylist()).date()
    assert dash.as_of == last and dash.today.value == last
    assert last.isoformat() in dash._as_of_note.value
    before = lk.worklist(ledger, last)
    earlier = last - dt.timedelta(days=20)
    dash.today.value = earlier
    assert dash.status.kind == "done"
    want = lk.worklist(ledger, earlier)
    assert dash.worklist_table["days_left"].to_pylist() == want["days_left"].to_pylist()
    assert want["days_left"].to_pylist() != before["days_left"].to_pylist()
    assert earlier.isoformat() in dash._as_of_note.value


def test_remit_lag_boxes_one_row_per_payer_and_trend_picker(ledger):
    from ledgerkit import payer_behaviour as pb
    from ledgerkit.widgets import TrendChart, remit_lag_figure

    lag = pb.remit_lag(ledger)
    fig = remit_lag_figure(lag)
    boxes = [t for t in fig.data if t.type == "box"]
    assert [b.y[0] for b in boxes] == [p or "self-pay" for p in lag["payer_id"].to_pylist()]
    hover = [t.hovertemplate for t in fig.data if t.type == "scatter"]
    first = lag.to_pylist()[0]
    assert f"p10 {round(first['p10_days'])} days" in hover[0] and "p90" in hover[0]
    assert "min" not in hover[0] and "max" not in hover[0]
    trend = pb.denial_trend(ledger)
    chart = TrendChart(trend)
    assert len(chart.category.options) == len(set(trend["category"].to_pylist()))
    other = chart.category.options[-1]
    chart.category.value = other
    assert other in chart.figure.layout.title.text
    part = trend.filter(pc.equal(trend["category"], other))
    assert sum(len(t.y) for t in chart.figure.data) == part.num_rows
