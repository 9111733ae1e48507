#!/usr/bin/env python3
"""Runs toc's benchmarks: `benchmarks/run.py [ingest|freshness|reads|slo|fleet ...]`.

With no part named, runs them all (what `make bench` does). Each part makes
and drops its own PostgreSQL database (toc_bench_*), starts and stops its own
gunicorn and Celery worker on 127.0.0.1, and uses Redis db 14. See README.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback
from pathlib import Path

PARTS = ("ingest", "freshness", "reads", "slo", "fleet")


def _sigterm(signum: int, frame: object) -> None:
    # Same clean-up path as Ctrl-C: the context managers stop servers, drop DBs.
    raise KeyboardInterrupt(f"signal {signum}")


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(size) for size in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError("every size must be at least 1")
    return sizes


def _use_project_venv() -> None:
    """Started as `benchmarks/run.py` by another Python: re-run in .venv's."""
    venv = Path(__file__).resolve().parent.parent / ".venv"
    python = venv / "bin" / "python"
    if Path(sys.prefix).resolve() != venv.resolve() and python.exists():
        os.execv(python, [str(python), __file__, *sys.argv[1:]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "parts", nargs="*", metavar="part", help=f"any of {', '.join(PARTS)}"
    )
    parser.add_argument(
        "--batches", type=int, default=60, help="ingest: measured batches per thread"
    )
    parser.add_argument(
        "--iterations", type=int, default=30, help="freshness: measured batches"
    )
    parser.add_argument(
        "--days", type=int, default=30, help="reads: days of history at first"
    )
    parser.add_argument(
        "--scale", type=int, default=10, help="reads: history multiplier, then"
    )
    parser.add_argument(
        "--systems",
        type=_sizes,
        default=[200],
        help="fleet: systems posting live, or a list (200,500,1000) run in turn",
    )
    parser.add_argument(
        "--minutes", type=float, default=2, help="fleet: measured minutes per size"
    )
    parser.add_argument(
        "--warmup", type=float, default=1, help="fleet: warm-up minutes, not measured"
    )
    parser.add_argument(
        "--celery-workers", type=int, default=2, help="fleet: Celery worker processes"
    )
    parser.add_argument(
        "--celery-pool",
        choices=("solo", "prefork"),
        default="solo",
        help="fleet: separate solo workers, or one prefork worker of that many",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part {', '.join(unknown)}; choose from {PARTS}")
    parts = [part for part in PARTS if part in args.parts] or list(PARTS)

    # benchmarks/ is run as a script; the project root makes it a package.
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    os.chdir(root)
    signal.signal(signal.SIGTERM, _sigterm)

    from benchmarks import fleet, freshness, ingest, reads, slo
    from benchmarks.harness import Report, log

    report = Report()
    log(
        f"toc benchmarks: {', '.join(parts)}; {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f} (other processes share the cores)"
    )
    started = time.monotonic()
    failed = False
    for part in parts:
        log(f"== {part} (load average {os.getloadavg()[0]:.2f})")
        try:
            if part == "ingest":
                ingest.run(report, batches=args.batches)
            elif part == "freshness":
                freshness.run(report, iterations=args.iterations)
            elif part == "reads":
                reads.run(report, days=args.days, scale=args.scale)
            elif part == "slo":
                slo.run(report)
            else:
                fleet.run(
                    report,
                    systems=args.systems,
                    minutes=args.minutes,
                    warmup_minutes=args.warmup,
                    celery_workers=args.celery_workers,
                    celery_pool=args.celery_pool,
                )
        except KeyboardInterrupt:
            log("interrupted; cleaned up")
            print(report.summary())
            return 130
        except Exception as error:
            # One part failing should not hide the figures of the others.
            failed = True
            log(f"{part} FAILED: {error}")
            traceback.print_exc()
            report.note(f"{part} failed: {str(error).splitlines()[0][:200]}")
    print(report.summary())
    log(f"done in {time.monotonic() - started:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    _use_project_venv()
    sys.exit(main())
