"""What every benchmark part shares: its own database, its own servers, an HTTP
client, percentiles and the result table.

Everything started here is stopped, and every database created here dropped, by
the context managers below, also on an exception or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_ADMIN_URL = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres"
# Redis db 14 is the benchmarks' own: the test suite uses 15, development 0.
REDIS_URL = "redis://127.0.0.1:6379/14"
# A queue name of our own too, so no other worker on that Redis takes our tasks.
CELERY_QUEUE = "toc-bench"
SECRET_KEY = "benchmark-only-secret-key-" + "x" * 40
HOST = "127.0.0.1"
# The app runs with DEBUG=0, which redirects plain HTTP to HTTPS unless a proxy
# says the request came over TLS; the benchmark plays that proxy.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
REQUEST_TIMEOUT_S = 30
STARTUP_TIMEOUT_S = 60
STOP_TIMEOUT_S = 15

_T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _T0:7.1f}s] {message}", flush=True)


class BenchError(RuntimeError):
    """A benchmark could not run (a server did not start, a request failed)."""


# -- results ---------------------------------------------------------------------


@dataclass
class Figure:
    """One measured figure, with its target where it has one."""

    part: str
    name: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None

    def line(self) -> str:
        verdict = {True: "met", False: "MISSED", None: ""}[self.ok]
        if float(self.value).is_integer():
            value = f"{int(self.value):,}"
        elif abs(self.value) >= 10:
            value = f"{self.value:,.1f}"
        else:
            value = f"{self.value:.3g}"
        target = f"target {self.target}" if self.target else ""
        return (
            f"  {self.name:<44} {value:>12} {self.unit:<10} {target:<18} {verdict}"
        ).rstrip()


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(
        self,
        part: str,
        name: str,
        value: float,
        unit: str,
        target: str = "",
        ok: bool | None = None,
    ) -> Figure:
        figure = Figure(part, name, value, unit, target, ok)
        self.figures.append(figure)
        print(figure.line(), flush=True)
        return figure

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def summary(self) -> str:
        lines = ["", "== Summary"]
        part = None
        for figure in self.figures:
            if figure.part != part:
                part = figure.part
                lines.append(f"{part}:")
            lines.append(figure.line())
        if self.notes:
            lines.append("notes:")
            lines.extend(f"  - {note}" for note in self.notes)
        return "\n".join(lines)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: a value that was actually measured."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


# -- the database ------------------------------------------------------------------


def admin_connect() -> psycopg.Connection:
    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)


@contextlib.contextmanager
def bench_database(name: str) -> Iterator[str]:
    """A fresh database `name`, migrated; dropped again however the block ends.

    Yields its URL. Only names starting with toc_bench are accepted, so a typo
    cannot drop someone else's database.
    """
    if not name.startswith("toc_bench"):
        raise ValueError(f"refusing to manage database {name!r}")
    _drop_database(name)  # a run killed with SIGKILL may have left it behind
    with admin_connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"postgres://postgres@{PG_HOST}:{PG_PORT}/{name}"
    try:
        started = time.monotonic()
        run_manage(django_env(url), "migrate", "--noinput", quiet=True)
        log(
            f"database {name} created and migrated in {time.monotonic() - started:.1f}s"
        )
        yield url
    finally:
        _drop_database(name)
        log(f"database {name} dropped")


def _drop_database(name: str) -> None:
    with admin_connect() as conn:
        # FORCE ends sessions a killed server may have left open.
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )


def db_connect(url: str, **kwargs: object) -> psycopg.Connection:
    conn = psycopg.connect(url.replace("postgres://", "postgresql://", 1), **kwargs)
    conn.execute("SET TIME ZONE 'UTC'")
    conn.commit()
    return conn


# -- the project's processes -------------------------------------------------------


def django_env(database_url: str, *, broker: bool = False) -> dict[str, str]:
    """The environment of a production-like toc process on the bench database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "CELERY_", "DJANGO_"))
    }
    env.update(
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS=f"{HOST},testserver",
        CELERY_QUEUE=CELERY_QUEUE,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        # Rate limits counted in Redis, as the deployed stack does (compose);
        # limits high enough for the benchmark's one key, which posts faster
        # than a pipeline is allowed to: the counting costs the same.
        CACHE_URL=REDIS_URL,
        RATE_LIMIT_INGEST_KEY="1000000/60",
        RATE_LIMIT_INGEST_ADDRESS="1000000/60",
    )
    if broker:
        env["CELERY_BROKER_URL"] = REDIS_URL
    return env


def run_manage(env: dict[str, str], *args: str, quiet: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    if not quiet:
        print(result.stdout, end="")
    return result.stdout


def run_inprocess(
    env: dict[str, str],
    *args: str,
    timeout: float = 600,
    module: str = "benchmarks.inprocess",
) -> dict:
    """Runs a command of benchmarks.inprocess (Django loaded), or of another
    module that answers the same way, and returns its JSON."""
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"{module} {args[0]} failed:\n{result.stderr[-3000:]}")
    # The JSON answer is the last line; anything before it is for people.
    *text, answer = result.stdout.rstrip("\n").split("\n")
    if text:
        print("\n".join(text), flush=True)
    return json.loads(answer)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def flush_redis() -> None:
    import redis  # celery[redis] brings it

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


class Services:
    """gunicorn and a Celery worker on the bench database, stopped on exit."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = 0
        self._procs: list[tuple[str, subprocess.Popen]] = []
        # Requests that a sender had to retry (appended from client threads).
        self.retries: list[int] = []
        self._logdir = Path(tempfile.mkdtemp(prefix="toc-bench-"))

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        logfile = (self._logdir / f"{name}.log").open("wb")
        # A session of its own: a Ctrl-C at the terminal reaches only this
        # driver, which then stops the servers in order instead of racing them.
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        logfile.close()
        self._procs.append((name, proc))
        return proc

    def start_gunicorn(self, workers: int = 2) -> str:
        self.port = free_port()
        proc = self._spawn(
            "gunicorn",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "toc.wsgi",
                # The deployed settings (threads, access log), on a free port.
                "--config",
                "python:toc.gunicorn_conf",
                "--workers",
                str(workers),
                "--bind",
                f"{HOST}:{self.port}",
            ],
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BenchError(f"gunicorn exited:\n{self.log_tail('gunicorn')}")
            with contextlib.suppress(OSError):
                status, body, _ = http_request(self.port, "GET", "/healthz", timeout=2)
                if status == 200:
                    log(f"gunicorn ({workers} workers) on {HOST}:{self.port}: {body!r}")
                    # One request per worker imports the rest of the app.
                    for _ in range(workers * 2):
                        http_request(self.port, "GET", "/healthz")
                    return f"http://{HOST}:{self.port}"
            time.sleep(0.2)
        raise BenchError(f"gunicorn did not answer:\n{self.log_tail('gunicorn')}")

    def start_worker(self, name: str = "worker", *, concurrency: int = 1) -> None:
        """A Celery worker named `name`: solo pool, or prefork of `concurrency`.

        Several can run side by side, as workers on separate machines would:
        each also listens on a queue of its own, where the readiness ping goes,
        so a worker that is already up cannot answer for one still starting.
        """
        pool = "solo" if concurrency == 1 else "prefork"
        own_queue = f"{CELERY_QUEUE}.{name}"
        proc = self._spawn(
            name,
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "toc",
                "worker",
                f"--pool={pool}",
                f"--concurrency={concurrency}",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=WARNING",
                f"--hostname=bench-{name}-{os.getpid()}@%h",
                "-Q",
                f"{CELERY_QUEUE},{own_queue}",
            ],
        )
        # Ready when it answers a ping task sent through the broker.
        from celery import Celery

        app = Celery("bench-client", broker=REDIS_URL, backend=REDIS_URL)
        app.conf.task_default_queue = CELERY_QUEUE
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        try:
            result = app.send_task("toc.ping", queue=own_queue)
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise BenchError(f"{name} exited:\n{self.log_tail(name)}")
                if result.ready():
                    log(
                        f"celery {name} ({pool} x{concurrency}) ready: "
                        f"{result.get(timeout=1)}"
                    )
                    return
                time.sleep(0.2)
        finally:
            app.close()
        raise BenchError(f"{name} did not answer:\n{self.log_tail(name)}")

    def pid(self, name: str) -> int:
        return next(proc.pid for entry, proc in self._procs if entry == name)

    def stop_one(self, name: str) -> None:
        for entry in list(self._procs):
            if entry[0] == name:
                self._terminate(*entry)
                self._procs.remove(entry)

    def stop(self) -> None:
        while self._procs:
            self._terminate(*self._procs.pop())
        with contextlib.suppress(OSError):
            for path in self._logdir.iterdir():
                path.unlink()
            self._logdir.rmdir()

    def _terminate(self, name: str, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            # SIGTERM: gunicorn and celery both shut down gracefully on it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=STOP_TIMEOUT_S)
        log(f"{name} stopped")

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self._logdir / f"{name}.log"
        try:
            return path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"


# -- HTTP ---------------------------------------------------------------------------


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = REQUEST_TIMEOUT_S,
) -> tuple[int, bytes, float]:
    """(status, body, seconds from sending to the last byte) of one request.

    A new connection per request, like most pipeline senders: gunicorn's sync
    workers close the connection after each response anyway.
    """
    all_headers = {**PROXY_HEADERS, **(headers or {})}
    if body is not None:
        all_headers.setdefault("Content-Type", "application/json")
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        started = time.perf_counter()
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    return response.status, data, elapsed


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
