from __future__ import annotations

# The browser tests' Chromium page (console errors collected in page.problems).
from tests.browser.conftest import page  # noqa: F401
