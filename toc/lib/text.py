"""Text PostgreSQL cannot store: NUL characters, and the unpaired UTF-16
surrogates (such as "\\ud800") that JSON escapes can produce and UTF-8 cannot
encode. Saved, either would be a 500; echoed in an error, a broken response."""

from __future__ import annotations

import re

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
