"""The benchmark steps that need Django loaded, run as `python -m benchmarks.inprocess`.

The driver (benchmarks/run.py) never imports Django itself: each part has its
own database, and Django settings are fixed once per process. So the driver
runs these commands in a subprocess with the bench database's environment, and
each prints its answer as one JSON line, last.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "toc.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from toc.accounts.models import ApiToken, Membership, Role, Team  # noqa: E402
from toc.metrics.models import SloBudget, SystemLedger  # noqa: E402
from toc.metrics.processing import system_process  # noqa: E402
from toc.metrics.slo_budgets import budgets_evaluate  # noqa: E402
from toc.systems.models import IngestKey, Slo  # noqa: E402
from toc.systems.services import system_create  # noqa: E402


def setup(args: argparse.Namespace) -> dict:
    """A team, a member with an API token, and a system with stages and a key."""
    team = Team.objects.create(name="Bench", slug="bench")
    user = get_user_model().objects.create_user(username="bench", password=None)
    Membership.objects.create(team=team, user=user, role=Role.ADMIN)
    system = system_create(
        team=team,
        name="Bench pipeline",
        slug=args.slug,
        stages=[(f"Stage {i:02d}", f"s{i:02d}") for i in range(args.stages)],
    )
    _, ingest_key = IngestKey.issue(system=system, name="bench")
    _, api_token = ApiToken.objects.create(user=user, name="bench", expiry=None)
    return {
        "slug": system.slug,
        "system_id": system.pk,
        "stages": list(system.stages.values_list("slug", "pk")),
        "ingest_key": ingest_key,
        "api_token": api_token,
    }


def process(args: argparse.Namespace) -> dict:
    """One processing run of the system, timed (what the Celery task does)."""
    started = time.perf_counter()
    system_process(system_id=args.system_id)
    return {"seconds": time.perf_counter() - started}


def _client(token: str) -> Client:
    return Client(headers={"authorization": f"Bearer {token}"})


def _get(client: Client, path: str) -> Callable[[], None]:
    def call() -> None:
        response = client.get(path, secure=True)
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: {response.status_code} {response.content}")

    return call


def queries(args: argparse.Namespace) -> dict:
    """The SQL one request runs, after a first request has warmed the process."""
    call = _get(_client(args.token), args.path)
    call()
    with CaptureQueriesContext(connection) as captured:
        call()
    return {
        "count": len(captured.captured_queries),
        "queries": [
            {"sql": query["sql"], "ms": float(query["time"]) * 1000}
            for query in captured.captured_queries
        ],
    }


def session(args: argparse.Namespace) -> dict:
    """A logged-in session of the bench user, for HTML pages over HTTP."""
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    return {"cookie": f"{settings.SESSION_COOKIE_NAME}={client.session.session_key}"}


# The figures a page hands to static/js/charts.js, by element id.
_FIGURE = re.compile(
    r'<script id="([\w-]+)-figure" type="application/json">(.*?)</script>', re.S
)


def page(args: argparse.Namespace) -> dict:
    """The SQL and the figures (their JSON size) of one HTML page, after a
    first request has warmed the process; `--htmx` asks for the partial."""
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    headers = {"HX-Request": "true"} if args.htmx else {}

    def call() -> str:
        response = client.get(args.path, secure=True, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"GET {args.path}: {response.status_code}")
        return response.content.decode()

    call()
    with CaptureQueriesContext(connection) as captured:
        content = call()
    return {
        "count": len(captured.captured_queries),
        "queries": [
            {"sql": query["sql"], "ms": float(query["time"]) * 1000}
            for query in captured.captured_queries
        ],
        "figures": {
            chart: {"bytes": len(body.encode()), "points": _points(json.loads(body))}
            for chart, body in _FIGURE.findall(content)
        },
    }


def _points(figure: dict) -> int:
    return sum(len(trace.get("y") or []) for trace in figure["data"])


def profile(args: argparse.Namespace) -> dict:
    """Where a request's time goes: cProfile over `repeat` in-process requests,
    then the same requests timed without the profiler."""
    call = _get(_client(args.token), args.path)
    call()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(args.repeat):
        call()
    profiler.disable()
    profiled_ms = (time.perf_counter() - started) / args.repeat * 1000
    _print_profile(f"GET {args.path}", profiler, args.top)
    # Timed again without the profiler, whose overhead distorts.
    started = time.perf_counter()
    for _ in range(args.repeat):
        call()
    per_request_ms = (time.perf_counter() - started) / args.repeat * 1000
    return {"per_request_ms": per_request_ms, "profiled_ms": profiled_ms}


def profile_ingest(args: argparse.Namespace) -> dict:
    """Batches posted through Django in-process, each then processed as the
    worker would. The first warms the process up, the next third are timed
    without the profiler (its overhead distorts), the rest are profiled, with
    request and processing in separate profiles."""
    bodies = json.loads(Path(args.bodies).read_text())
    client = _client(args.token)
    system_id = SystemLedger.objects.values_list("system_id", flat=True).first()
    post_profile, process_profile = cProfile.Profile(), cProfile.Profile()

    def post(body: str) -> None:
        response = client.post(
            args.path, data=body, content_type="application/json", secure=True
        )
        if response.status_code != 202:
            raise SystemExit(f"POST: {response.status_code} {response.content[:300]}")

    post(bodies[0])
    system_process(system_id=system_id)
    timed = bodies[1 : 1 + len(bodies) // 3]
    post_s = process_s = 0.0
    for body in timed:
        started = time.perf_counter()
        post(body)
        posted = time.perf_counter()
        system_process(system_id=system_id)
        post_s += posted - started
        process_s += time.perf_counter() - posted
    for body in bodies[1 + len(timed) :]:
        post_profile.runcall(post, body)
        process_profile.runcall(system_process, system_id=system_id)
    for title, profiler in (("POST", post_profile), ("processing", process_profile)):
        _print_profile(title, profiler, args.top)
    return {
        "post_ms": post_s / len(timed) * 1000,
        "process_ms": process_s / len(timed) * 1000,
    }


def _print_profile(title: str, profiler: cProfile.Profile, top: int) -> None:
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    # The project's own functions by cumulative time say which step costs;
    # all functions by own time say what inside it.
    print(f"--- {title}: toc functions by cumulative time, then all by own time")
    stats.sort_stats("cumulative").print_stats("/toc/", top)
    stats.sort_stats("tottime").print_stats(top)
    print(_trim(text.getvalue()))


def _trim(text: str) -> str:
    # pstats prints absolute paths; the site-packages prefix is only noise.
    return "\n".join(
        line.replace(str(Path(django.__file__).parent.parent) + "/", "")
        for line in text.splitlines()
        if line.strip()
    )


# Every kind of SLO the evaluator reads, taken in turn: (indicator, field,
# comparator, threshold, total field, budgeting, calendar).
SLO_KINDS = (
    ("threshold", "latency_p95_ms", "<=", 140.0, "", "Timeslices", ""),
    ("threshold", "utilization", "<=", 0.85, "", "Timeslices", ""),
    ("threshold", "throughput", ">=", 85.0, "", "Timeslices", "month"),
    ("threshold", "queue_depth", "<=", 55.0, "", "Timeslices", ""),
    ("ratio", "dropped", ">=", None, "throughput", "Occurrences", ""),
    ("ratio", "errors", ">=", None, "throughput", "RatioTimeslices", "week"),
)


def slo_setup(args: argparse.Namespace) -> dict:
    """Systems with stages and live SLOs of every kind, spread over the stages."""
    team = Team.objects.create(name="Bench", slug="bench")
    stage_ids = []
    for number in range(args.systems):
        system = system_create(
            team=team,
            name=f"Bench pipeline {number}",
            slug=f"bench-{number}",
            stages=[(f"Stage {i:02d}", f"s{i:02d}") for i in range(args.stages)],
        )
        stages = list(system.stages.order_by("position").values_list("slug", "pk"))
        stage_ids += [pk for _, pk in stages]
        Slo.objects.bulk_create(
            Slo(
                system=system,
                dimension="custom",
                name=f"SLO {index}",
                comparator=kind[2],
                indicator=kind[0],
                stage=stages[index % len(stages)][0],
                field=kind[1],
                threshold=kind[3],
                total_field=kind[4],
                budgeting=kind[5],
                calendar=kind[6],
                objective=0.99,
                position=index,
            )
            for index, kind in (
                (index, SLO_KINDS[index % len(SLO_KINDS)]) for index in range(args.slos)
            )
        )
    return {"stage_ids": stage_ids}


def slo_evaluate(args: argparse.Namespace) -> dict:
    """Full re-evaluations of every live SLO, timed, as the beat's task runs them."""
    end = datetime.fromisoformat(args.end)
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        stored = budgets_evaluate(end)
        timings.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as captured:
        budgets_evaluate(end)
    slowest = max(float(query["time"]) for query in captured.captured_queries)
    shares = [
        share
        for share in SloBudget.objects.values_list("compliance", flat=True)
        if share is not None
    ]
    return {
        "seconds": timings,
        "stored": stored,
        "queries": len(captured.captured_queries),
        "slowest_query_ms": slowest * 1000,
        "compliance_spread": max(shares) - min(shares) if shares else -1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inprocess")
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("setup")
    cmd.add_argument("--slug", default="bench")
    cmd.add_argument("--stages", type=int, default=10)
    cmd.set_defaults(func=setup)
    cmd = commands.add_parser("process")
    cmd.add_argument("--system-id", type=int, required=True)
    cmd.set_defaults(func=process)
    for name, func in (("queries", queries), ("profile", profile)):
        cmd = commands.add_parser(name)
        cmd.add_argument("--path", required=True)
        cmd.add_argument("--token", required=True)
        cmd.add_argument("--repeat", type=int, default=20)
        cmd.add_argument("--top", type=int, default=25)
        cmd.set_defaults(func=func)
    commands.add_parser("session").set_defaults(func=session)
    cmd = commands.add_parser("page")
    cmd.add_argument("--path", required=True)
    cmd.add_argument("--htmx", action="store_true")
    cmd.set_defaults(func=page)
    cmd = commands.add_parser("profile-ingest")
    cmd.add_argument("--path", required=True)
    cmd.add_argument("--token", required=True)
    cmd.add_argument("--bodies", required=True, help="a JSON list of request bodies")
    cmd.add_argument("--top", type=int, default=25)
    cmd.set_defaults(func=profile_ingest)
    cmd = commands.add_parser("slo-setup")
    cmd.add_argument("--systems", type=int, default=10)
    cmd.add_argument("--stages", type=int, default=10)
    cmd.add_argument("--slos", type=int, default=20)
    cmd.set_defaults(func=slo_setup)
    cmd = commands.add_parser("slo-evaluate")
    cmd.add_argument("--end", required=True)
    cmd.add_argument("--repeat", type=int, default=3)
    cmd.set_defaults(func=slo_evaluate)
    args = parser.parse_args()
    print(json.dumps(args.func(args)), flush=True)


if __name__ == "__main__":
    main()
