"""Argument checks shared by the analysis modules."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime


def require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def require_non_negative(name: str, value: float) -> None:
    # Written so that NaN fails too.
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def require_unique(names: Sequence[str], what: str) -> None:
    if len(set(names)) != len(names):
        raise ValueError(f"{what} must not repeat a name")
