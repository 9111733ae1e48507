"""The range each kind of number typed into toc may take, declared once.

A model field takes its range's validators: the browser's form runs them, the
API runs them too (it validates through the same forms), and drf-spectacular
reads Django's Min/MaxValueValidator into the schema's minimum and maximum. The
calculators, which store nothing, give their serializers and page forms the
same validators. The message names the whole range, whichever end was passed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q

# Larger than any count, rate, duration or cost a team types in (a trillion, as
# ingest's largest rate), and far enough below the largest float (1.8e308) that
# sums, products and ratios of such numbers stay finite.
LARGEST = 1e12
# The most people a stage or a decision budget counts.
MAX_PEOPLE = 100_000


def figure(value: float) -> str:
    """1000000 as "1,000,000" and 0.000001 as "0.000001", never "1e-06"."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.12f}".rstrip("0")


@dataclass(frozen=True)
class Range:
    """From `low` to `high`, both included; `what` the number is, in words."""

    low: float
    high: float
    what: str = "a number"
    example: str = ""

    @property
    def message(self) -> str:
        example = f" ({self.example})" if self.example else ""
        low, high = figure(self.low), figure(self.high)
        return f"Use {self.what} between {low} and {high}{example}."

    def validators(self) -> list[MinValueValidator | MaxValueValidator]:
        # Django and DRF fill a validator's message in with "%", as in "%(x)s".
        message = self.message.replace("%", "%%")
        return [
            MinValueValidator(self.low, message=message),
            MaxValueValidator(self.high, message=message),
        ]

    def check(self, field: str, *, null: bool = False) -> Q:
        """The range as a CheckConstraint's condition on `field`, which may be
        empty (NULL) if `null`."""
        within = Q(**{f"{field}__gte": self.low, f"{field}__lte": self.high})
        return Q(**{f"{field}__isnull": True}) | within if null else within


SHARE = Range(0, 1, "a share")
PERCENT = Range(0, 100, "a percentage")
AMOUNT = Range(0, LARGEST)
SIGNED = Range(-LARGEST, LARGEST)
# A cost above zero: the smallest keeps importance / cost, a feature's value,
# finite (at most 10^18) where 0 or 5e-324 gave infinity.
COST = Range(0.000001, LARGEST, "a cost")
# How much a stage's capacity is multiplied by, in a what-if or for real.
FACTOR = Range(0.01, 1000, "a factor", "3 triples the capacity")
PEOPLE = Range(
    0, MAX_PEOPLE, "a number of people", "part-time people count as fractions"
)
# An investigation longer than a week is a project, not an alert's.
MINUTES_PER_INVESTIGATION = Range(0.01, 7 * 24 * 60, "minutes")
HOURS_PER_DAY = Range(0.5, 24, "hours")
TARGET_UTILIZATION = Range(0.05, 1, "a share", "0.7 leaves 30% spare")
