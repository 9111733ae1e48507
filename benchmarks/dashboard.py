"""The system dashboard and its charts, on the reads part's two databases.

Issue 5's targets: with 30 days of 10-second samples for 10 stages, the
dashboard's server time p95 <= 150 ms with at most 25 SQL queries; with 10x
the history within 1.5x the time; each chart's JSON <= 300 KB. The page is read
over HTTP from gunicorn with a logged-in session, one request at a time,
alternating between the two databases as the API reads do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from benchmarks.harness import (
    BenchError,
    Report,
    db_connect,
    http_request,
    log,
    percentile,
    run_inprocess,
)

PART = "reads"
DASHBOARD_REQUESTS = 100
RANGE_REQUESTS = 20
WARMUP_REQUESTS = 5
TARGET_P95_MS = 150.0
TARGET_QUERIES = 25
TARGET_GROWTH = 1.5
TARGET_FIGURE_KB = 300.0
RANGES = ("hour", "day", "week", "month")
# Constraint moves spread over the month, so the time series has markers to draw
# and the dashboard a list of moves, as a live system would.
MOVES = 24


def seed_moves(url: str, system_id: int, end: datetime) -> None:
    step = timedelta(days=30) / MOVES
    with db_connect(url) as conn:
        for n in range(MOVES):
            at = end - timedelta(days=30) + step * n
            from_stage, to_stage = ("s04", "s07") if n % 2 else ("s07", "s04")
            conn.execute(
                "INSERT INTO metrics_constraintevent (system_id, at, decided_minute,"
                " from_stage, to_stage, reason, evidence)"
                " VALUES (%s, %s, %s, %s, %s, %s, '{}')",
                [system_id, at, at, from_stage, to_stage, "seeded move"],
            )
        conn.commit()


def measure(report: Report, targets: list) -> None:
    """``targets``: the reads part's small and large history (reads.Target)."""
    cookies = [run_inprocess(t.env, "session")["cookie"] for t in targets]
    pages = {
        "dashboard": ("/systems/{slug}/", {}),
        **{
            f"series {key}": (
                "/systems/{slug}/series/?range=" + key,
                {"HX-Request": "true"},
            )
            for key in RANGES
        },
    }
    timings: dict[str, list[list[float]]] = {}
    for name, (path, extra) in pages.items():
        calls = [
            (t.port, path.format(slug=t.slug), {"Cookie": cookie, **extra})
            for t, cookie in zip(targets, cookies, strict=True)
        ]
        for call in calls:
            for _ in range(WARMUP_REQUESTS):
                _get(*call)
        count = DASHBOARD_REQUESTS if name == "dashboard" else RANGE_REQUESTS
        timings[name] = [[] for _ in targets]
        for _ in range(count):
            for seconds, call in zip(timings[name], calls, strict=True):
                seconds.append(_get(*call))
    small, large = targets[0].label, targets[-1].label
    for name, rounds in timings.items():
        for target, seconds in zip(targets, rounds, strict=True):
            p95 = percentile(seconds, 95) * 1000
            label = f"{name} p95 ({target.label}, interleaved)"
            if name == "dashboard":
                report.add(
                    PART,
                    f"dashboard p50 ({target.label}, interleaved)",
                    percentile(seconds, 50) * 1000,
                    "ms",
                )
                report.add(
                    PART,
                    label,
                    p95,
                    "ms",
                    f"<= {TARGET_P95_MS:g} ms",
                    p95 <= TARGET_P95_MS,
                )
            else:
                report.add(PART, label, p95, "ms")
    ratio = percentile(timings["dashboard"][-1], 95) / percentile(
        timings["dashboard"][0], 95
    )
    report.add(
        PART,
        f"dashboard p95 {large} / {small} (interleaved)",
        ratio,
        "ratio",
        f"<= {TARGET_GROWTH:g}",
        ratio <= TARGET_GROWTH,
    )
    _report_pages(report, targets[-1], pages)


def _report_pages(report: Report, target, pages: dict) -> None:
    """Queries per page and the size of every figure, at the larger history."""
    for name, (path, extra) in pages.items():
        args = ["page", "--path", path.format(slug=target.slug)]
        if extra:
            args.append("--htmx")
        answer = run_inprocess(target.env, *args)
        if name == "dashboard":
            report.add(
                PART,
                f"SQL queries per dashboard request ({target.label})",
                answer["count"],
                "",
                f"<= {TARGET_QUERIES}",
                answer["count"] <= TARGET_QUERIES,
            )
            for query in answer["queries"]:
                print(f"    {query['ms']:5.1f} ms  {query['sql'][:110]}")
        for chart, size in answer["figures"].items():
            kb = size["bytes"] / 1000
            log(f"  {name}: {chart} {kb:.1f} KB, {size['points']} points")
            report.add(
                PART,
                f"{chart} JSON, {name} ({target.label})",
                kb,
                "KB",
                f"<= {TARGET_FIGURE_KB:g} KB",
                kb <= TARGET_FIGURE_KB,
            )


def _get(port: int, path: str, headers: dict[str, str]) -> float:
    status, body, seconds = http_request(port, "GET", path, headers=headers)
    if status != 200:
        raise BenchError(f"GET {path}: {status} {body[:300]!r}")
    return seconds
