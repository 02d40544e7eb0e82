"""A real HTTP receiver on loopback for the webhook tests: it checks every request's signature
with the ``standardwebhooks`` library (what docs/integration.md tells receivers to do) and keeps
what it accepted. Its behaviour is switched by the test: ``ok`` (200), ``error`` (503),
``slow`` (answers after the sender's timeout, having kept the event, as a receiver that
processed it but answered late), ``redirect`` (302 to another path), ``hold`` (keeps the event,
then waits on ``release`` before answering) and ``down`` (the socket is closed: connection
refused)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


class Receiver:
    def __init__(self, secret: str = "", slow_seconds: float = 2.0) -> None:
        self.secret = secret
        self.mode = "ok"
        self.slow_seconds = slow_seconds
        self.received: list[dict[str, Any]] = []  # accepted envelopes, in arrival order
        self.headers: list[dict[str, str]] = []
        self.requests = 0
        self.bad_signatures = 0
        self.redirect_target_hits = 0
        self.held = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/sunshine"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests += 1
                if self.path != "/hooks/sunshine":
                    with receiver.lock:
                        receiver.redirect_target_hits += 1
                    self._answer(200)
                    return
                try:
                    envelope = Webhook(receiver.secret).verify(body, dict(self.headers.items()))
                except WebhookVerificationError:
                    with receiver.lock:
                        receiver.bad_signatures += 1
                    self._answer(401)
                    return
                mode = receiver.mode
                if mode == "error":
                    self._answer(503, b'{"error": "maintenance"}')
                    return
                if mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", f"http://127.0.0.1:{receiver.port}/elsewhere")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with receiver.lock:
                    receiver.received.append(envelope)
                    receiver.headers.append(dict(self.headers.items()))
                if mode == "slow":
                    time.sleep(receiver.slow_seconds)
                if mode == "hold":
                    receiver.held.set()
                    receiver.release.wait(30)
                self._answer(200, b"ok")

            def _answer(self, status: int, body: bytes = b"") -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the sender gave up (timeout) or died

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self.server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def down(self) -> None:
        """Close the listening socket: the next connections are refused."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def up(self) -> None:
        if self.server is None:
            self.start()

    def stop(self) -> None:
        self.release.set()
        self.down()

    def ids(self) -> list[str]:
        return [e["id"] for e in self.received]

    def unique(self) -> list[dict[str, Any]]:
        """The accepted envelopes after de-duplication by id (first arrival kept)."""
        seen: set[str] = set()
        out = []
        for e in self.received:
            if e["id"] not in seen:
                seen.add(e["id"])
                out.append(e)
        return out


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
