"""A real Prometheus for the pull tests, scraping an exporter the test serves.

The exporter is an HTTP server on a thread of the test process: it serves, in
Prometheus's text format, the values the test sets, and can be stopped and
started again (an outage). Prometheus is Debian's `prometheus` package
(/usr/bin/prometheus, `apt-get install prometheus`), started on a free port
with a temporary configuration and storage, scraping the exporter every
second. Start it once per module: it takes a second or two.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

PROMETHEUS = os.environ.get("TOC_PROMETHEUS", "/usr/bin/prometheus")
SCRAPE_INTERVAL_S = 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Exporter:
    """Serves /metrics with the values set; `stop` and `start` it for an outage."""

    def __init__(self) -> None:
        self.port = _free_port()
        self._values: dict[str, float] = {}
        # Counters: (value at the time, that time, increase per second).
        self._counters: dict[str, tuple[float, float, float]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def set(self, **values: float) -> None:
        """Metric values by name; a name may carry labels, given as
        `set(**{'lag{group="a"}': 5})`."""
        with self._lock:
            self._values.update(values)

    def count(self, **per_second: float) -> None:
        """Counters that rise by so much a second from now on (from where
        they are), as a running pipeline's would."""
        now = time.monotonic()
        with self._lock:
            for name, rate in per_second.items():
                total = self._counter(name, now)
                self._counters[name] = (total, now, rate)

    def _counter(self, name: str, now: float) -> float:
        total, since, rate = self._counters.get(name, (0.0, now, 0.0))
        return total + rate * (now - since)

    def text(self) -> str:
        now = time.monotonic()
        with self._lock:
            lines = [f"{name} {value}" for name, value in self._values.items()]
            lines += [f"{name} {self._counter(name, now)}" for name in self._counters]
        return "".join(line + "\n" for line in lines)

    def start(self) -> None:
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = exporter.text().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        # The same port again after an outage, so Prometheus's target is it.
        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class Prometheus:
    def __init__(self, directory: Path, exporter: Exporter) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = directory / "prometheus.yml"
        config.write_text(
            "global:\n"
            f"  scrape_interval: {SCRAPE_INTERVAL_S}s\n"
            f"  scrape_timeout: {SCRAPE_INTERVAL_S}s\n"
            "scrape_configs:\n"
            "  - job_name: pipeline\n"
            "    static_configs:\n"
            f"      - targets: ['127.0.0.1:{exporter.port}']\n"
        )
        self._log = (directory / "prometheus.log").open("w")
        self._process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def query(self, promql: str) -> list:
        response = requests.get(
            f"{self.url}/api/v1/query", params={"query": promql}, timeout=5
        )
        response.raise_for_status()
        return response.json()["data"]["result"]

    def wait_for(self, promql: str, timeout_s: float = 15) -> list:
        """The query's result once it has one (the exporter scraped)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                result = self.query(promql)
            except requests.RequestException:
                result = []
            if result:
                return result
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise AssertionError(
                    f"Prometheus gave nothing for {promql} within {timeout_s} s; "
                    f"its log: {self._log.name}"
                )
            time.sleep(0.2)

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()


@contextmanager
def running_prometheus(directory: Path) -> Iterator[tuple[Prometheus, Exporter]]:
    """Prometheus scraping an exporter, both up and scraped once."""
    if not (os.path.exists(PROMETHEUS) or shutil.which(PROMETHEUS)):
        pytest.skip(
            f"Prometheus not found at {PROMETHEUS}: `apt-get install prometheus` "
            "(or set TOC_PROMETHEUS) to run the Prometheus pull tests."
        )
    exporter = Exporter()
    exporter.set(toc_test_up=1)
    exporter.start()
    server = Prometheus(directory, exporter)
    try:
        server.wait_for('up{job="pipeline"} == 1')
        yield server, exporter
    finally:
        server.stop()
        exporter.stop()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory) -> Iterator[tuple[Prometheus, Exporter]]:
    with running_prometheus(tmp_path_factory.mktemp("prometheus")) as running:
        yield running
