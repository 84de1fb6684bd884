"""A real browser works one denial through its lifecycle in notebook 05 (issue #16).

JupyterLab and Chromium start as in ``test_browser.py`` (its fixtures). A copy of
``05_denial_worklist.ipynb`` runs with its demo store in a folder the test reads;
in the store-backed dashboard the test selects the top worklist row, assigns it,
records an appeal, runs ``post_payer_answer()`` (the payer's reprocessed claim,
posted through the store) in a new cell, and sees the item resolved with the
recovered dollars in the worked-items table. Screenshot in ``test-output/browser/``.
"""

from __future__ import annotations

import json

import pyarrow.compute as pc
import pytest
import test_browser
from test_browser import ROOT, TIMEOUT_MS, _all_cells_ran, _idle, _open_and_run, _shot

lab, browser = test_browser.lab, test_browser.browser  # the fixtures, used by name

pytestmark = pytest.mark.browser

NOTEBOOK = "05_denial_worklist.ipynb"
PANEL = ".lk-worked-dashboard .lk-work-actions"


def _copy_notebook(lab) -> str:
    """The notebook, with a first cell pointing its demo store at a folder we read."""
    store = lab["root"].parent / "denial-store"
    nb = json.loads((ROOT / "notebooks" / NOTEBOOK).read_text())
    setup = {
        "cell_type": "code", "execution_count": None, "id": "lk-test-store", "metadata": {},
        "outputs": [],
        "source": f"import os\nos.environ['LEDGERKIT_DENIAL_STORE'] = {str(store)!r}",
    }  # fmt: skip
    nb["cells"].insert(0, setup)
    (lab["root"] / NOTEBOOK).write_text(json.dumps(nb))
    return store


def _run_in_new_cell(page, code: str) -> None:
    page.evaluate(
        """async (code) => {
            const app = window.jupyterapp;
            const notebook = app.shell.currentWidget.content;
            const n = notebook.model.cells.length;
            notebook.model.sharedModel.insertCell(n, {cell_type: 'code', source: code});
            notebook.activeCellIndex = n;
            await app.commands.execute('notebook:run-cell');
        }""",
        code,
    )


def _status_says(page, text: str) -> None:
    page.wait_for_function(
        "(text) => [...document.querySelectorAll('.lk-worked-dashboard .lk-work-status"
        " .lk-done')].some(e => e.textContent.includes(text))",
        arg=text,
        timeout=TIMEOUT_MS,
    )


def test_assign_appeal_post_and_see_it_resolved(browser, lab):
    from ledgerkit.analytics.work_items import work_items
    from ledgerkit.store.ledger_store import LedgerStore

    folder = _copy_notebook(lab)
    page = _open_and_run(browser, lab, NOTEBOOK, height=3000)
    panel = page.locator(PANEL).first
    panel.wait_for()
    _all_cells_ran(page)
    _idle(page)
    # select the top row of the store-backed worklist
    rows = page.locator(".lk-worked-dashboard .lk-worklist .lk-table-rows select").first
    rows.scroll_into_view_if_needed()
    rows.select_option(index=0)
    page.locator(f"{PANEL} .lk-work-selected .lk-work-row").first.wait_for()
    note = page.locator(f"{PANEL} .lk-work-note textarea").first
    page.locator(f"{PANEL} .lk-work-owner input").first.fill("dana")
    note.fill("dana works prior-auth denials")
    page.locator(f"{PANEL} .lk-work-btn-assign").first.click()
    _status_says(page, "assigned the denial to dana")
    note.fill("authorization number was on the claim")
    page.locator(f"{PANEL} .lk-work-btn-appeal").first.click()
    _status_says(page, "appeal filed")
    _idle(page)

    store = LedgerStore(folder)
    mine = store.work_events().filter(pc.equal(store.work_events()["actor"], "analyst"))
    mine = [e for e in mine.to_pylist() if e["note"] in (
        "dana works prior-auth denials", "authorization number was on the claim")]  # fmt: skip
    assert [(e["kind"], e["owner"]) for e in mine] == [("assign", "dana"), ("appeal", None)]
    enc, line, carc = mine[0]["encounter_id"], mine[0]["line"], mine[0]["carc"]
    assert (mine[1]["encounter_id"], mine[1]["line"], mine[1]["carc"]) == (enc, line, carc)
    assert (mine[1]["appeal_level"], mine[1]["appeal_method"]) == ("1", "portal")

    # the payer's answer, posted through the store from the kernel
    _run_in_new_cell(page, "post_payer_answer()")
    items = page.locator(".lk-worked-dashboard .lk-work-items .lk-table-rows select").first
    page.wait_for_function(
        "el => [...el.options].some(o => o.textContent.includes('dana')"
        " && o.textContent.includes('resolved'))",
        arg=items.element_handle(),
        timeout=TIMEOUT_MS,
    )
    _idle(page)
    store = LedgerStore(folder)
    assert store.history()["note"].to_pylist()[-1] == "payer reprocessed the appealed claim"
    state = [
        i for i in work_items(store).to_pylist()
        if (i["encounter_id"], i["line"], i["carc"]) == (enc, line, carc)
    ]  # fmt: skip
    assert len(state) == 1
    got = state[0]
    assert (got["owner"], got["status"], got["outcome"], got["outcome_source"]) == (
        "dana", "resolved", "overturned", "payments")  # fmt: skip
    assert got["recovered_cents"] > 0
    shown = [o for o in items.locator("option").all_inner_texts() if "dana" in o]
    assert len(shown) == 1
    assert "resolved" in shown[0] and "overturned" in shown[0]
    assert f"{got['recovered_cents'] / 100:,.2f}" in shown[0]  # the recovered dollars
    panel.scroll_into_view_if_needed()
    _shot(panel, "denial_lifecycle.png")
    page.close()
