"""Real services for fault tests: a Redis, a web server, a worker, beat and a
TCP proxy in front of PostgreSQL, each owned by one test and stopped by it.

The shared PostgreSQL and Redis that other tests use are never stopped or
flushed: the broker here is a redis-server of our own on a free port, and the
database is cut by cutting the proxy, not the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate: Callable[[], bool], timeout: float, step=0.05) -> float:
    """Seconds until `predicate` held; fails the test after `timeout`."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            pytest.fail(f"Gave up after {timeout} s waiting for {predicate.__name__}")
        time.sleep(step)
    return time.monotonic() - start


def postgres_or_skip() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "Fault tests need PostgreSQL (set DATABASE_URL=postgres://…): "
            "separate processes write to the same database concurrently."
        )


def database_url(port: int | None = None) -> str:
    """The test database, optionally through a proxy on `port`."""
    db = connection.settings_dict
    auth = db["USER"] or ""
    if db["PASSWORD"]:
        auth += f":{db['PASSWORD']}"
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{port or db['PORT'] or 5432}/{db['NAME']}"


class OwnRedis:
    """A redis-server of this test's own, which it may stop, restart and flush."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not on PATH: `apt-get install redis-server`.")
        self.binary, self.workdir = binary, workdir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *(self.binary, "--bind", "127.0.0.1", "--port", str(self.port)),
                *("--save", "", "--appendonly", "no", "--loglevel", "warning"),
                *("--dir", str(self.workdir)),
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self._answers, timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # as abrupt as a crash; nothing is persisted
            self.process.wait(timeout=10)
            self.process = None

    def flush(self) -> None:
        redis.Redis(port=self.port).flushall()

    def _answers(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_timeout=1).ping()
        except redis.RedisError:
            return False


@dataclass
class Stack:
    """Environment for the app's processes, and the processes started with it."""

    workdir: Path
    env: dict[str, str]
    processes: list[subprocess.Popen] = field(default_factory=list)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        return process

    def server(self) -> str:
        """A gunicorn serving the app; returns its base URL once it answers."""
        port = free_port()
        self._spawn(
            "web",
            [
                *("gunicorn", "toc.wsgi", "--bind", f"127.0.0.1:{port}"),
                *("--workers", "1", "--threads", "4", "--timeout", "30"),
                *("--log-level", "warning"),
            ],
        )
        url = f"http://127.0.0.1:{port}"

        def server_answers() -> bool:
            return request(url + "/healthz").status in (200, 503)

        wait_until(server_answers, timeout=20, step=0.1)
        return url

    def worker(self, pool: str = "prefork") -> subprocess.Popen:
        return self._spawn(
            "worker",
            [
                *("celery", "-A", "toc", "worker", f"--pool={pool}", "--concurrency=1"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
                *("--loglevel=WARNING", f"--hostname={self.env['CELERY_QUEUE']}@%h"),
            ],
        )

    def beat(self) -> subprocess.Popen:
        return self._spawn(
            "beat",
            [
                *("celery", "-A", "toc", "beat", "--loglevel=WARNING"),
                *("--max-interval=1", f"--schedule={self.workdir / 'beat-schedule'}"),
            ],
        )

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.workdir.glob("*.log"))
        )


@contextlib.contextmanager
def stack(workdir: Path, broker_url: str, db_url: str | None = None) -> Iterator[Stack]:
    """The app's processes on the test database and the given broker."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url or database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_QUEUE": f"toc-faults-{os.getpid()}-{time.monotonic_ns()}",
        "DEBUG": "1",
        # Short enough to watch recovery in a test; production keeps 30 s and
        # 60 s (test_sweeper checks that bound).
        "TOC_SWEEP_INTERVAL_S": "1",
        "TOC_QUEUED_STALE_S": "5",
    }
    running = Stack(workdir=workdir, env=env)
    try:
        yield running
    except BaseException:
        print(running.logs())
        raise
    finally:
        running.stop_all()


def child_pids(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # The command name may hold spaces; the fields after it do not.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                children.append(int(stat.parent.name))
    return children


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def request(
    url: str, body: dict | None = None, headers: dict[str, str] | None = None
) -> Reply:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=20) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers), error.read())
    except (urllib.error.URLError, ConnectionError):
        return Reply(0, {}, b"")


def post_samples(url: str, slug: str, key: str, samples: list[dict]) -> Reply:
    return request(
        f"{url}/api/v1/systems/{slug}/samples/",
        {"samples": samples},
        {"Authorization": f"Bearer {key}"},
    )


class TcpProxy:
    """Forwards a port to PostgreSQL until cut: then every open connection is
    reset and new ones are closed on arrival, as when the database goes away."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.closed = False
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        with self.lock:
            self.up = False
            for sock in self.open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self.open.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.closed = True
        self.listener.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self.lock:
                self.open |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(
                    target=self._pump, args=(source, sink), daemon=True
                ).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            with self.lock:
                self.open -= {source, sink}
