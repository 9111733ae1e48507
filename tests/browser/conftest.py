from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.db import connections

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

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
# The dashboard's ledger polls this often (hx-trigger="every 5s" in
# templates/dashboard/dashboard.html): a test moves the page's clock on by it
# rather than waiting for the next poll.
LEDGER_POLL_MS = 5_000
# Every chart the page placed ([data-figure]) has been drawn by Plotly.
CHARTS_DRAWN = """() => [...document.querySelectorAll("[data-figure]")]
  .every((figure) => figure.querySelector(".main-svg"))"""


@dataclass
class _Chromium:
    """The Playwright driver and the Chromium that a test process's browser
    tests share (launching them takes a few seconds), and the event loop the
    driver's sync API runs in this thread."""

    playwright: Playwright
    browser: Browser
    loop: asyncio.AbstractEventLoop

    def stop(self) -> None:
        asyncio._set_running_loop(self.loop)
        self.browser.close()
        self.playwright.stop()


CHROMIUM = pytest.StashKey[_Chromium]()


def _chromium(config: pytest.Config, executable: str) -> _Chromium:
    """The process's Chromium, launched by its first browser test (under
    pytest-xdist a worker may have none), and stopped as the run ends."""
    from playwright.sync_api import sync_playwright

    chromium = config.stash.get(CHROMIUM, None)
    if chromium is not None and chromium.browser.is_connected():
        return chromium
    if chromium is None:
        config.add_cleanup(lambda: _stop_chromium(config))
    else:
        chromium.stop()  # it crashed: a new one for the tests still to come
        del config.stash[CHROMIUM]
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=executable, headless=True, args=CHROMIUM_FLAGS
    )
    chromium = config.stash[CHROMIUM] = _Chromium(
        playwright, browser, asyncio.get_running_loop()
    )
    return chromium


def _stop_chromium(config: pytest.Config) -> None:
    if (chromium := config.stash.get(CHROMIUM, None)) is not None:
        chromium.stop()


@pytest.fixture
def page(request, chromium_path, live_server) -> Iterator:
    # Playwright's sync API marks its event loop as running in this thread
    # after each call, and Django refuses ORM calls under a running loop: the
    # test's own ORM calls are still plain synchronous ones. Between browser
    # tests the loop is marked idle again, so that the other tests of this
    # process run as they would alone.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    problems: list[str] = []
    try:
        chromium = _chromium(request.config, chromium_path)
        asyncio._set_running_loop(chromium.loop)
        with chromium.browser.new_context(
            viewport={"width": 1280, "height": 900}
        ) as context:
            page = context.new_page()
            page.on(
                "console",
                lambda msg: problems.append(msg.text) if msg.type == "error" else None,
            )
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.problems = problems
            yield page
    finally:
        # The test's ORM calls under Playwright's event loop had connections
        # of their own; left open, the test database could not be dropped.
        connections.close_all()
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        asyncio._set_running_loop(None)


def wait_for_charts(page) -> None:
    """Waits until the page has loaded and Plotly has drawn each of its charts:
    a page's layout is final only then."""
    page.wait_for_load_state("load")
    # Most pages have drawn theirs by the load event, and a look costs less
    # than a wait (Playwright sets up a wait anew in each page it opens).
    if not page.evaluate(CHARTS_DRAWN):
        page.wait_for_function(CHARTS_DRAWN)


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
