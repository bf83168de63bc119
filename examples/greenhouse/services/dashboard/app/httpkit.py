"""Tiny HTTP toolkit shared in shape by every greenhouse service.

Each service is its own Docker build context, so this file is copied per service
(keep the copies identical). Stdlib only.
"""

from __future__ import annotations

import hmac
import http.client
import json
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

MAX_BODY_BYTES = 64 * 1024


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class App(Protocol):
    name: str

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Response: ...


class UpstreamError(RuntimeError):
    """An upstream call failed before any HTTP answer; the message is a safe reason."""


def json_response(status: int, obj: Any) -> Response:
    return Response(status, json.dumps(obj).encode() + b"\n")


def html_response(status: int, text: str) -> Response:
    return Response(status, text.encode(), "text/html; charset=utf-8")


def error(status: int, message: str, **extra: Any) -> Response:
    return json_response(status, {"error": message, **extra})


def not_found() -> Response:
    return error(404, "not found")


def parse_json(body: bytes) -> tuple[Any, str | None]:
    """Return (value, None) or (None, reason) for a request body."""
    if not body.strip():
        return None, "body: expected a JSON document, got nothing"
    try:
        return json.loads(body), None
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"body: invalid JSON ({exc.__class__.__name__})"


def token_ok(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; an empty or unset expected token refuses everything."""
    if not expected:
        return False
    return hmac.compare_digest((given or "").encode(), expected.encode())


def get_json(url: str, timeout: float) -> tuple[int, Any]:
    """GET url: (HTTP status, parsed JSON body or None). Raises UpstreamError without an answer."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                status, raw = int(resp.status), resp.read(MAX_BODY_BYTES)
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read(MAX_BODY_BYTES)
            exc.close()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise UpstreamError(f"unreachable ({exc.__class__.__name__})") from None
    try:
        return status, json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return status, None


def make_handler(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = app.name
        sys_version = ""
        protocol_version = "HTTP/1.1"

        def _dispatch(self) -> None:
            started = time.monotonic()
            path = self.path.split("?", 1)[0]
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY_BYTES:
                resp = error(413, "body too large")
                self.close_connection = True
            else:
                body = self.rfile.read(length) if length > 0 else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    resp = app.handle(self.command, path, headers, body)
                except Exception as exc:  # any failure becomes a safe reason
                    sys.stderr.write(f"{app.name}: unhandled {exc.__class__.__name__} on {self.command} {path}\n")
                    resp = error(500, "internal error")
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(resp.body)))
            for key, value in resp.headers.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(resp.body)
            elapsed_ms = (time.monotonic() - started) * 1000
            sys.stderr.write(
                f'{app.name} {self.client_address[0]} "{self.command} {path}" {resp.status} {elapsed_ms:.1f}ms\n'
            )

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

        def log_message(self, format: str, *args: Any) -> None:
            pass  # access lines are written by _dispatch, without header values

    return Handler


def make_server(app: App, port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(app))
    server.daemon_threads = True
    return server


def serve(app: App, port: int, host: str = "0.0.0.0") -> None:
    """Serve until SIGTERM/SIGINT; stops within a second."""
    server = make_server(app, port, host)

    def stop(signum: int, _frame: object) -> None:
        sys.stderr.write(f"{app.name}: signal {signum}, shutting down\n")
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stderr.write(f"{app.name}: listening on {host}:{port}\n")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
