"""A real browser (issue #18): every notebook's tables show money as money, the tuner
exports a proposal (Excel + self-contained HTML) and shows a failed export in red.

Runs with the other browser tests (``-m browser``); the JupyterLab and Chromium
fixtures are :mod:`test_browser`'s. Screenshots: ``test-output/browser/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_browser import (  # noqa: F401 - browser and lab are fixtures
    OUT,
    TIMEOUT_MS,
    _all_cells_ran,
    _idle,
    _open_and_run,
    _shot,
    browser,
    lab,
)

pytestmark = pytest.mark.browser

MONEY = re.compile(r"^-?\$\d{1,3}(,\d{3})*\.\d\d$")
NOTEBOOKS = (
    "01_quickstart.ipynb",
    "02_posting_review.ipynb",
    "03_rule_tuning.ipynb",
    "04_payer_behaviour.ipynb",
    "05_denial_worklist.ipynb",
    "06_scale_out.ipynb",
)
# Tables a reader sees: pandas output and the widgets' own HTML tables.
TABLES = "table.dataframe, table.lk-totals-table, table.lk-root-causes"


def _shutdown(page) -> None:
    """Stop the page's kernels (six sample-sized kernels at once would not fit), from
    the page itself: the server wants its XSRF cookie on a DELETE."""
    page.evaluate(
        """async () => {
            const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || "";
            const sessions = await (await fetch('/api/sessions')).json();
            for (const s of sessions) {
                await fetch('/api/kernels/' + s.kernel.id,
                            {method: 'DELETE', headers: {'X-XSRFToken': xsrf}});
            }
        }"""
    )


def _tables(page) -> list[dict]:
    """Every table in the notebook's outputs: its headers and the text of its cells."""
    return page.evaluate(
        """(sel) => [...document.querySelectorAll(sel)].map(t => {
            const trs = [...t.querySelectorAll('tr')];
            const headRow = t.tHead ? t.tHead.rows[t.tHead.rows.length - 1] : trs[0];
            const body = t.tBodies.length && t.tHead ? [...t.tBodies[0].rows] : trs.slice(1);
            return {
                cls: t.className,
                head: [...headRow.querySelectorAll('th')].map(h => h.textContent.trim()),
                rows: body.map(r => [...r.querySelectorAll('td')]
                                     .map(d => d.textContent.trim())),
            };
        })""",
        TABLES,
    )


def _money_columns(table: dict) -> list[int]:
    """Positions of the money columns among the td cells (the index th is left out)."""
    head = table["head"]
    n_td = max((len(r) for r in table["rows"]), default=0)
    offset = len(head) - n_td  # pandas: a leading empty header over the index
    return [i - offset for i, h in enumerate(head) if h.endswith("($)") and i >= offset]


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_first_table_of_each_notebook_shows_money_as_money(browser, lab, notebook):  # noqa: F811
    page = _open_and_run(browser, lab, notebook, height=1600)
    try:
        page.locator("table.dataframe").first.wait_for(timeout=4 * TIMEOUT_MS)
        page.set_default_timeout(4 * TIMEOUT_MS)  # 06 starts a Dask cluster in the kernel
        _all_cells_ran(page)
        _idle(page)
        tables = _tables(page)
        first = tables[0]
        text = " ".join(" ".join(r) for r in first["rows"])
        assert "NaN" not in text and "nan" not in text.split(), first
        assert not any("_" in h for h in first["head"]), first["head"]  # labels in words
        with_money = [t for t in tables if _money_columns(t)]
        if notebook.startswith("02"):  # its money is in the review queue (a paged table)
            head = page.locator(".lk-review-table .lk-table-head").first.inner_text()
            head = head.replace("\u00a0", " ")
            rows = page.locator(".lk-review-table .lk-table-rows option").all_inner_texts()
            assert "Paid ($)" in head and "Charge ($)" in head, head
            cells = [w for r in rows[:5] for w in r.split() if w.startswith(("$", "-$"))]
            assert len(cells) >= 10, rows[:5]
        else:
            assert with_money, f"{notebook}: no table shows dollars"
            table = with_money[0]
            cols = _money_columns(table)
            cells = [r[i] for r in table["rows"] for i in cols if i < len(r) and r[i]]
        assert cells, table
        bad = [c for c in cells if not MONEY.match(c)]
        assert not bad, f"{notebook}: not dollars: {bad[:5]}"
        loc = page.locator(TABLES).first
        loc.scroll_into_view_if_needed()
        _shot(loc, f"first_table_{notebook.split('_')[0]}.png")
    finally:
        _shutdown(page)
        page.close()


def test_tuner_exports_a_proposal_and_shows_a_failed_export(browser, lab, tmp_path):  # noqa: F811
    import openpyxl

    from ledgerkit.report.excel import SHEETS

    page = _open_and_run(browser, lab, "03_rule_tuning.ipynb", height=1100)
    try:
        tuner = page.locator(".lk-rule-tuner").first
        tuner.wait_for()
        page.locator(".lk-rule-tuner .lk-total-written-off").first.wait_for()
        _all_cells_ran(page)
        _idle(page)
        base = tmp_path / "client_proposal"
        box = page.locator(".lk-rule-tuner .widget-text", has_text="Proposal to").locator("input")
        box.fill(str(base))
        box.press("Enter")
        page.locator(".lk-export-proposal").first.click()
        done = page.locator(".lk-rule-tuner .lk-widget-status .lk-status-done").first
        done.wait_for(timeout=4 * TIMEOUT_MS)
        assert "client_proposal.xlsx" in done.inner_text()
        xlsx, html = Path(f"{base}.xlsx"), Path(f"{base}.html")
        wb = openpyxl.load_workbook(xlsx)
        assert wb.sheetnames == list(SHEETS.values())
        assert wb["Rules"].cell(wb["Rules"].max_row, 1).value == "TOTAL"
        text = html.read_text()
        assert not re.search(r"<script[^>]*\bsrc\s*=\s*[\"']?[^\"'>]*http", text, re.I)
        assert not re.search(r"<script[^>]*\bsrc\s*=", text, re.I)  # plotly is inline
        _shot(tuner, "rule_tuner_proposal_exported.png")

        # a rule-set export into a folder that does not exist: red, at the top
        path = page.locator(".lk-rule-tuner .widget-text", has_text="Export to").locator("input")
        path.fill("/nonexistent_dir/x/rules.toml")
        path.press("Enter")
        button = page.locator(".lk-rule-tuner .lk-export").first
        button.scroll_into_view_if_needed()
        button.click()
        error = page.locator(".lk-rule-tuner .lk-widget-status.lk-error").first
        error.wait_for(timeout=TIMEOUT_MS)
        message = error.inner_text()
        assert "export of the rule set failed" in message and "No such file" in message
        assert "wrote" not in page.locator(".lk-export-status").first.inner_text()
        # visible without scrolling back up: the status line sticks to the top
        top = error.bounding_box()
        assert top is not None and 0 <= top["y"] < page.viewport_size["height"], top
        _shot(page.locator(".lk-rule-tuner").first, "rule_tuner_export_error.png")
        page.screenshot(path=str(OUT / "rule_tuner_error_viewport.png"))
        print(f"screenshot: {OUT / 'rule_tuner_error_viewport.png'}")
    finally:
        _shutdown(page)
        page.close()
