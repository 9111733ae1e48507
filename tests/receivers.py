"""Real receivers for what toc sends: an HTTP server (webhooks, apprise's
json://) and an SMTP server (aiosmtpd), each on a free port of 127.0.0.1 in a
thread of the test process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


@dataclass
class HttpReceiver:
    """Answers each POST with the next status of `answers` (200 once they run
    out), after `delay` seconds; keeps every request it got."""

    port: int
    answers: list[int] = field(default_factory=list)
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@contextmanager
def http_receiver() -> Iterator[HttpReceiver]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                state.requests.append(
                    Received(self.path, dict(self.headers.items()), body)
                )
                status = state.answers.pop(0) if state.answers else 200
            if state.delay:
                time.sleep(state.delay)
            answer = b'{"ok": true}' if status < 300 else b"receiver is unwell"
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except OSError:
                pass  # the client gave up waiting (a timeout test)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = HttpReceiver(port=server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A port nothing listens on: a connection to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class SmtpServer:
    port: int
    messages: list[Message] = field(default_factory=list)


class _Collect:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, server, session, envelope) -> str:
        message = message_from_bytes(envelope.original_content)
        message["X-Rcpt-To"] = ", ".join(envelope.rcpt_tos)
        self.server.messages.append(message)
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(port=closed_port())
    controller = Controller(_Collect(server), hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
