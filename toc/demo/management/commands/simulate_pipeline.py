from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from argparse import ArgumentTypeError
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import batched

from django.core.management.base import BaseCommand, CommandError, CommandParser

from toc.demo.simulation import (
    DEMO_INPUT_RATE,
    DEMO_PIPELINE_NOW,
    CapacityChange,
    StageSpec,
    simulate,
)
from toc.metrics.ingest import MAX_SAMPLES
from toc.systems.models import System

# A stage the demo does not know sees the whole input and runs half busy.
GENERIC_SHARE = 1.0
GENERIC_UTILIZATION = 0.5
REQUEST_TIMEOUT_S = 30
# A rejected batch of thousands lists thousands of errors; the first few tell why.
ERRORS_SHOWN = 20
# The demo's stages carry on from where its story left off (load_demo).
DEMO_SPECS = {spec.slug: spec for spec in DEMO_PIPELINE_NOW}


class Command(BaseCommand):
    help = (
        "Simulates a pipeline for one system and posts its samples to the ingest "
        "API, as a real pipeline would. Stages come from the system in this "
        "database; the demo's stage slugs get the capacity and share of the demo "
        "pipeline as its story leaves it (Triage the constraint), any other "
        f"stage a share of {GENERIC_SHARE:g} and a capacity that makes it "
        f"{GENERIC_UTILIZATION:.0%} busy (rate x share / {GENERIC_UTILIZATION:g})."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("system", help="Slug of the system to post samples for.")
        parser.add_argument(
            "--url", required=True, help="Base URL of toc, e.g. http://127.0.0.1:8000"
        )
        parser.add_argument("--key", required=True, help="The system's ingest key.")
        parser.add_argument(
            "--rate",
            type=float,
            default=DEMO_INPUT_RATE,
            help="Input rate in records/s (default %(default)g).",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=10.0,
            help="Seconds between samples (default %(default)g).",
        )
        parser.add_argument(
            "--duration",
            type=float,
            default=600.0,
            help="Simulated seconds (default %(default)g).",
        )
        parser.add_argument(
            "--speed",
            type=float,
            default=1.0,
            help="Wall-clock seconds per simulated second; 0 sends everything as "
            "fast as possible (default %(default)g).",
        )
        parser.add_argument(
            "--capacities",
            type=_stage_values,
            default={},
            help="Capacities in records/s, e.g. ingest=100000,feature-tier2=30000.",
        )
        parser.add_argument(
            "--shares",
            type=_stage_values,
            default={},
            help="Shares of the input reaching stages, e.g. feature-tier2=0.475.",
        )
        parser.add_argument(
            "--change",
            type=_change,
            action="append",
            default=[],
            dest="changes",
            help="STAGE*FACTOR@SECONDS: multiply the stage's capacity by FACTOR "
            "from SECONDS after the start, e.g. feature-tier2*3@300. Repeatable.",
        )
        parser.add_argument(
            "--batch",
            type=int,
            default=1,
            help="Ticks per POST (default %(default)s); split to stay within "
            f"{MAX_SAMPLES} samples a request.",
        )
        parser.add_argument(
            "--start",
            type=_timestamp,
            help="Sample time of the first tick, ISO 8601 with offset. Default: "
            "early enough that the last sample is sent at about its own time "
            "(now minus the duration at speed 0, now at speed 1 or more), since "
            "the API refuses samples over 5 minutes in the future.",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=0,
            help="Seed of the arrival jitter (default %(default)s).",
        )

    def handle(
        self,
        *args,
        system: str,
        url: str,
        key: str,
        rate: float,
        interval: float,
        duration: float,
        speed: float,
        capacities: dict[str, float],
        shares: dict[str, float],
        changes: list[CapacityChange],
        batch: int,
        start: datetime | None,
        seed: int,
        **options,
    ) -> None:
        if batch < 1:
            raise CommandError("--batch must be at least 1.")
        if speed < 0:
            raise CommandError("--speed must be 0 or more.")
        found = System.objects.filter(slug=system).first()
        if found is None:
            raise CommandError(f"No system with slug {system!r} in this database.")
        slugs = list(found.stages.values_list("slug", flat=True))
        if not slugs:
            raise CommandError(f"System {system!r} has no stages to simulate.")
        unknown = sorted(
            ({*capacities, *shares} | {change.stage for change in changes}) - set(slugs)
        )
        if unknown:
            raise CommandError(
                f"Not stages of {system!r}: {', '.join(unknown)} "
                f"(its stages: {', '.join(slugs)})."
            )
        if start is None:
            # Sent at `speed`, sample time runs ahead of the clock when speed < 1;
            # starting this far back makes the last sample land at about now.
            start = datetime.now(UTC) - timedelta(
                seconds=duration * max(0.0, 1 - speed)
            )
        try:
            specs = _specs(slugs, rate, capacities, shares)
            ticks = simulate(
                specs, rate, start, duration, interval, changes=changes, seed=seed
            )
            endpoint = f"{url.rstrip('/')}/api/v1/systems/{system}/samples/"
            self._send(endpoint, key, ticks, start, batch, speed)
        except ValueError as error:
            raise CommandError(str(error)) from error

    def _send(
        self,
        endpoint: str,
        key: str,
        ticks: Iterable[list[dict]],
        start: datetime,
        batch: int,
        speed: float,
    ) -> None:
        began = time.monotonic()
        requests = accepted = 0
        last_ts = start
        for group in batched(ticks, batch):
            last_ts = datetime.fromisoformat(group[-1][0]["ts"])
            simulated_s = (last_ts - start).total_seconds()
            # Sent no earlier than the wall clock reaches the group's last tick.
            time.sleep(max(0.0, began + simulated_s * speed - time.monotonic()))
            samples = [sample for tick in group for sample in tick]
            for offset in range(0, len(samples), MAX_SAMPLES):
                status, count = _post(
                    endpoint, key, samples[offset : offset + MAX_SAMPLES]
                )
                requests += 1
                accepted += count
                self.stdout.write(
                    f"{status}: {count} accepted, up to {last_ts.isoformat()} "
                    f"(t={simulated_s:g}s)"
                )
        if not requests:
            raise CommandError("The duration is shorter than one interval.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Sent {accepted} samples in {requests} requests covering "
                f"{start.isoformat()} to {last_ts.isoformat()}, "
                f"in {time.monotonic() - began:.1f}s of wall-clock time."
            )
        )


def _post(endpoint: str, key: str, samples: list[dict]) -> tuple[int, int]:
    """Posts one batch; returns the status and the number of samples accepted."""
    request = urllib.request.Request(
        endpoint,
        data=json.dumps({"samples": samples}, allow_nan=False).encode(),
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            return response.status, json.load(response)["accepted"]
    except urllib.error.HTTPError as error:
        raise CommandError(
            f"{error.code} {error.reason} from {endpoint}:\n{_errors(error.read())}"
        ) from error
    except urllib.error.URLError as error:
        raise CommandError(f"Could not reach {endpoint}: {error.reason}") from error


def _errors(body: bytes) -> str:
    try:
        errors = json.loads(body)["errors"]
    except (ValueError, KeyError, TypeError):
        return body.decode(errors="replace")[:500]
    lines = []
    for error in errors[:ERRORS_SHOWN]:
        where = f"sample {error['index']}: " if error.get("index") is not None else ""
        lines.append(f"  {where}{error.get('message', '')}")
    if len(errors) > ERRORS_SHOWN:
        lines.append(f"  ... and {len(errors) - ERRORS_SHOWN} more")
    return "\n".join(lines)


def _specs(
    slugs: Sequence[str],
    rate: float,
    capacities: dict[str, float],
    shares: dict[str, float],
) -> list[StageSpec]:
    specs = []
    for slug in slugs:
        demo = DEMO_SPECS.get(slug)
        share = shares.get(slug, demo.share if demo else GENERIC_SHARE)
        generic_capacity = rate * share / GENERIC_UTILIZATION
        capacity = capacities.get(slug, demo.capacity if demo else generic_capacity)
        if demo is None:
            specs.append(StageSpec(slug, capacity, share))
        else:
            specs.append(replace(demo, capacity=capacity, share=share))
    return specs


def _stage_values(text: str) -> dict[str, float]:
    values = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        slug, equals, number = pair.partition("=")
        if not equals:
            raise ArgumentTypeError(f"{pair!r} is not STAGE=NUMBER")
        values[slug.strip()] = _float(number)
    return values


def _change(text: str) -> CapacityChange:
    stage, star, rest = text.partition("*")
    factor, at, seconds = rest.partition("@")
    if not (star and at and stage):
        raise ArgumentTypeError(f"{text!r} is not STAGE*FACTOR@SECONDS")
    try:
        return CapacityChange(at_s=_float(seconds), stage=stage, factor=_float(factor))
    except ValueError as error:
        raise ArgumentTypeError(str(error)) from error


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ArgumentTypeError(f"{text!r} is not a number") from None


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ArgumentTypeError(f"{text!r} is not an ISO 8601 timestamp") from None
    if moment.utcoffset() is None:
        raise ArgumentTypeError(f"{text!r} needs a UTC offset, e.g. +00:00")
    return moment
