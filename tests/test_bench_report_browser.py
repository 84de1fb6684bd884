"""A real browser opens the published benchmark report offline and sees a plotted point.

The report (benchmarks/report.py) is written from asv results JSON, then Debian's
Chromium loads it from ``file://`` with every network request refused: a page that
needed a CDN (as asv's own HTML does) would draw nothing. Screenshot in
``test-output/browser/``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from bench_results import sample_results

from benchmarks.report import write_report

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("LEDGERKIT_CHROMIUM", "/usr/bin/chromium")
OUT = ROOT / "test-output" / "browser"

pytestmark = pytest.mark.browser


def test_published_report_plots_points_offline(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make browser`", pytrace=False)
    from playwright.sync_api import sync_playwright

    older, newer = sample_results(), sample_results()
    newer["commit_hash"], newer["date"] = "b" * 40, older["date"] + 86_400_000
    folder = tmp_path / "results" / "ledgerkit-bench"
    folder.mkdir(parents=True)
    for data in (older, newer):
        (folder / f"{data['commit_hash'][:8]}-ledgerkit-tiny.json").write_text(json.dumps(data))
    page_path = write_report([folder], tmp_path / "html" / "index.html", "tiny")

    refused = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )  # fmt: skip
        try:
            context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})

            def refuse(route):
                refused.append(route.request.url)
                route.abort()

            context.route("http*://**", refuse)
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.as_uri())
            chart = page.locator("#bench-core-Classify-time-classify .js-plotly-plot")
            chart.wait_for(timeout=30_000)
            points = chart.locator(".scatterlayer .trace .points path.point")
            points.first.wait_for(timeout=30_000)
            assert points.count() == 2  # one point per commit
            title = chart.locator(".gtitle").text_content()
            assert title == "bench_core.Classify.time_classify"
            # every benchmark got its chart
            assert page.locator(".js-plotly-plot").count() == 6
            OUT.mkdir(parents=True, exist_ok=True)
            chart.screenshot(path=str(OUT / "bench_report.png"))
            print(f"screenshot: {OUT / 'bench_report.png'}")
            assert errors == []
        finally:
            browser.close()
    assert refused == []  # nothing was fetched from the network
