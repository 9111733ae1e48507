"""Error budgets of SLOs measured continuously: compliance over a window, the
budget left, how fast it burns, and when that calls for an alert.

The counts come as tallies of good and total, one per minute for the newest
hour and one per hour before it (newest first): a tally is slices (a minute
with data is one, good or not) or events (requests, records), as the SLO's
budgeting method says. The rules are the SRE workbook's multiwindow,
multi-burn-rate alerts (chapter 5, "Alerting on SLOs").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

MINUTES_PER_HOUR = 60

# The windows burn rates are reported over, in minutes: the alert rules' long
# and short windows.
BURN_WINDOWS: dict[str, int] = {
    "5m": 5,
    "30m": 30,
    "1h": 60,
    "2h": 120,
    "6h": 360,
    "1d": 1440,
    "3d": 4320,
}
LONGEST_BURN_WINDOW_H = max(BURN_WINDOWS.values()) // MINUTES_PER_HOUR


@dataclass(frozen=True)
class Tally:
    good: float = 0.0
    total: float = 0.0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.good + other.good, self.total + other.total)

    @property
    def bad(self) -> float:
        return self.total - self.good


def summed(tallies: Sequence[Tally]) -> Tally:
    return Tally(sum(t.good for t in tallies), sum(t.total for t in tallies))


def compliance(tally: Tally) -> float | None:
    """The good share; None without data (no data is not compliance)."""
    if tally.total <= 0:
        return None
    return min(max(tally.good / tally.total, 0.0), 1.0)


def budget_remaining(share: float | None, objective: float) -> float | None:
    """The error budget left: 1 at full compliance, 0 at the objective, below 0
    once overspent ((compliance - objective) / (1 - objective))."""
    _require_objective(objective)
    if share is None:
        return None
    return (share - objective) / (1 - objective)


def burn_rate(tally: Tally, objective: float) -> float | None:
    """How fast the budget burns over the tally's window: the bad share over
    the allowed bad share (1 - objective); 1 spends it exactly over the window."""
    _require_objective(objective)
    share = compliance(tally)
    if share is None:
        return None
    return (1 - share) / (1 - objective)


@dataclass(frozen=True)
class AlertRule:
    """Alert when the burn rate exceeds `factor` over both windows: the long
    one says enough budget went, the short one that it is still going."""

    severity: str
    factor: float
    long: str
    short: str

    def fires(self, rates: Mapping[str, float | None]) -> bool:
        long, short = rates.get(self.long), rates.get(self.short)
        return (
            long is not None
            and short is not None
            and long >= self.factor
            and short >= self.factor
        )


PAGE = "page"
TICKET = "ticket"
# 2% of a 30-day budget in an hour, 5% in six hours; 10% in a day, 10% in 3 days.
ALERT_RULES = (
    AlertRule(PAGE, 14.4, "1h", "5m"),
    AlertRule(PAGE, 6.0, "6h", "30m"),
    AlertRule(TICKET, 3.0, "1d", "2h"),
    AlertRule(TICKET, 1.0, "3d", "6h"),
)


def alert_for(rates: Mapping[str, float | None]) -> str:
    """The most urgent alert the burn rates call for: page, ticket or ""."""
    for rule in ALERT_RULES:
        if rule.fires(rates):
            return rule.severity
    return ""


@dataclass(frozen=True)
class Budget:
    good: float
    total: float
    compliance: float | None
    budget_remaining: float | None
    burn_rates: dict[str, float | None]
    alert: str
    # Hourly, oldest first: the budget left from the window's start to the end
    # of each hour, and the burn rate within each hour.
    hourly_budget_remaining: list[float | None] = field(default_factory=list)
    hourly_burn_rate: list[float | None] = field(default_factory=list)


def evaluate_budget(
    *,
    minutes: Sequence[Tally],
    hours: Sequence[Tally],
    window_hours: int,
    objective: float,
) -> Budget:
    """The budget of a window of `window_hours` hours ending now.

    `minutes`: the newest hour's minutes, newest first (at most 60; missing
    ones had no data). `hours`: the hours before that hour, newest first
    (hours[0] is the hour ending an hour ago). The newest hour counts as the
    window's first hour, so the window is the newest hour and
    `window_hours - 1` of `hours`.
    """
    _require_objective(objective)
    if window_hours < 1:
        raise ValueError(f"window_hours must be 1 or more, not {window_hours}")
    newest = list(minutes[:MINUTES_PER_HOUR])
    # Every hour, newest first, the newest hour included.
    all_hours = [summed(newest), *hours]
    rates: dict[str, float | None] = {}
    for name, length in BURN_WINDOWS.items():
        if length <= MINUTES_PER_HOUR:
            tally = summed(newest[:length])
        else:
            tally = summed(all_hours[: length // MINUTES_PER_HOUR])
        rates[name] = burn_rate(tally, objective)
    in_window = all_hours[:window_hours][::-1]  # oldest first
    cumulative, remaining, burning = Tally(), [], []
    for hour in in_window:
        cumulative += hour
        remaining.append(budget_remaining(compliance(cumulative), objective))
        burning.append(burn_rate(hour, objective))
    share = compliance(cumulative)
    return Budget(
        good=cumulative.good,
        total=cumulative.total,
        compliance=share,
        budget_remaining=budget_remaining(share, objective),
        burn_rates=rates,
        alert=alert_for(rates),
        hourly_budget_remaining=remaining,
        hourly_burn_rate=burning,
    )


def _require_objective(objective: float) -> None:
    if not 0 < objective < 1:
        raise ValueError(f"objective must be between 0 and 1, not {objective}")
