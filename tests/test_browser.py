"""A real browser against JupyterLab: run the notebooks, move a slider, click a button.

JupyterLab is started on 127.0.0.1 on a free port, serving a temporary copy of
the notebooks (the browser never writes to the repository); Debian's Chromium
(``/usr/bin/chromium``) is driven by Playwright for Python. Screenshots go to
``test-output/browser/`` (ignored by git); their paths are printed.

Chromium missing is a failure, not a skip: install it with
``apt-get update && apt-get install -y chromium`` (as root; ``make browser``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("LEDGERKIT_CHROMIUM", "/usr/bin/chromium")
OUT = ROOT / "test-output" / "browser"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
TIMEOUT_MS = 90_000

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout=2.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read() or b"null")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's package with "
            "`apt-get update && apt-get install -y chromium` (as root), or `make browser`",
            pytrace=False,
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("playwright is not installed: `pip install -e '.[dev]'`", pytrace=False)
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "root"
    root.mkdir()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copy(path, root / path.name)
    settings = tmp / "settings"
    settings.mkdir()
    (settings / "overrides.json").write_text(json.dumps({
        "@jupyterlab/apputils-extension:notification": {
            "fetchNews": "false", "checkForUpdates": False},
    }))  # fmt: skip
    for d in ("workspaces", "user-settings", "runtime"):
        (tmp / d).mkdir()
    store = tmp / "review-store"
    port = _free_port()
    env = dict(os.environ, LEDGERKIT_REVIEW_STORE=str(store),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"))  # fmt: skip
    log = open(tmp / "lab.log", "w")  # noqa: SIM115 - closed in teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip", "127.0.0.1",
         "--port", str(port), "--allow-root", "--ServerApp.token=", "--ServerApp.password=",
         f"--ServerApp.root_dir={root}", f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
         f"--LabApp.user_settings_dir={tmp / 'user-settings'}",
         f"--LabServerApp.app_settings_dir={settings}", "--LabApp.expose_app_in_browser=True",
         "--ServerApp.open_browser=False"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            _get(f"{url}/api/status")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.close()
                pytest.fail(f"JupyterLab did not start:\n{(tmp / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.3)
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        yield {"url": url, "root": root, "store": store}
    finally:
        try:
            for k in _get(f"{url}/api/kernels") or []:
                req = urllib.request.Request(f"{url}/api/kernels/{k['id']}", method="DELETE")
                urllib.request.urlopen(req, timeout=10).close()
        except OSError:
            pass
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _idle(page):
    page.get_by_text(re.compile(r"Python.*\| Idle")).first.wait_for()


def _all_cells_ran(page):
    """Wait until no cell is queued or running (no ``[*]`` prompt): the kernel's Idle
    badge can show between run-all's queued cells."""
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.jp-InputPrompt')]"
        ".some(e => e.textContent.includes('*'))"
    )


def _open_and_run(browser, lab, notebook: str, height: int = 1100):
    page = browser.new_page(viewport={"width": 1500, "height": height})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{lab['url']}/lab/tree/{notebook}?reset")
    _idle(page)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    return page


def _shot(locator, name: str) -> Path:
    path = OUT / name
    locator.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def test_rule_tuner_slider_changes_the_total(browser, lab):
    page = _open_and_run(browser, lab, "03_rule_tuning.ipynb")
    total = page.locator(".lk-rule-tuner .lk-total-written-off").first
    total.wait_for()
    # the notebook's own check cell sets the TAA percentile to 50: wait until it ran
    readout = page.locator(".lk-taa-slider .widget-readout").first
    page.wait_for_function(
        "el => el.textContent.trim() === '50'", arg=readout.element_handle(), timeout=TIMEOUT_MS
    )
    _all_cells_ran(page)  # else a late cell may set the slider back after our move
    _idle(page)
    before = total.inner_text()
    handle = page.locator(".lk-taa-slider .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    for _ in range(25):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        "el => el.textContent.trim() === '25'", arg=readout.element_handle(), timeout=TIMEOUT_MS
    )
    page.wait_for_function(
        "([el, old]) => el.textContent !== old", arg=[total.element_handle(), before],
        timeout=TIMEOUT_MS,
    )  # fmt: skip
    _idle(page)
    after = total.inner_text()
    assert after != before, (before, after)
    _shot(page.locator(".lk-rule-tuner").first, "rule_tuner.png")
    page.close()


def test_posting_review_negate_and_post_reach_the_store(browser, lab):
    from ledgerkit.store.ledger_store import LedgerStore

    page = _open_and_run(browser, lab, "02_posting_review.ipynb", height=2600)
    review = page.locator(".lk-posting-review").first
    review.wait_for()
    page.locator(".lk-review-ledger .lk-entries").first.wait_for()
    note = page.locator(".lk-note textarea").first
    # negate the earlier remit's entries (pre-selected), then post the flagged remit
    note.fill("payer sent a corrected amount; negate the first remit")
    page.locator(".lk-btn-negate").first.click()
    page.locator(".lk-status .lk-done").first.wait_for()
    store = LedgerStore(lab["store"])
    entries = store.ledger().entries
    notes = entries["note"].to_pylist()
    negated = [
        n
        for n, neg in zip(notes, entries["negates"].to_pylist(), strict=True)
        if neg is not None and n == "payer sent a corrected amount; negate the first remit"
    ]
    assert negated, "the negation entries are not in the store"
    assert store.history()["operation"].to_pylist()[-1] == "negate"
    _idle(page)
    review.scroll_into_view_if_needed()
    _shot(review, "posting_review_after_negate.png")
    note.fill("correct amount from the payer")
    page.locator(".lk-btn-post").first.click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.lk-status .lk-done')]"
        ".some(e => e.textContent.startsWith('posted'))"
    )
    store = LedgerStore(lab["store"])
    hist = store.history()
    assert hist["operation"].to_pylist()[-1] == "post_flagged"
    assert hist["note"].to_pylist()[-1] == "correct amount from the payer"
    _idle(page)
    _shot(review, "posting_review_after_post.png")
    page.close()
