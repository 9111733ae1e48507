from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Every chart the page placed ([data-figure]) has been drawn by Plotly.
CHARTS_DRAWN = """() => [...document.querySelectorAll("[data-figure]")]
  .every((figure) => figure.querySelector(".main-svg"))"""


@pytest.fixture
def page(chromium_path, live_server) -> Iterator:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # made by the test itself are still plain synchronous ones.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_FLAGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on(
            "console",
            lambda msg: problems.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.problems = problems
        try:
            yield page
        finally:
            browser.close()
            # The test's ORM calls under Playwright's event loop had connections
            # of their own; left open, the test database could not be dropped.
            connections.close_all()
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def wait_for_charts(page) -> None:
    """Waits until the page has loaded and Plotly has drawn each of its charts:
    a page's layout is final only then."""
    page.wait_for_load_state("load")
    page.wait_for_function(CHARTS_DRAWN)


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
