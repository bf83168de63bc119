"""The health gate module (roles/cutover_verify/library/cutover_health.py) and its filters."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.unit.plugins import ROLES, load

health = load("cutover_health_module", ROLES / "cutover_verify" / "library" / "cutover_health.py")
filters = load("cutover_health_filters", ROLES / "cutover_verify" / "filter_plugins" / "cutover_health.py")

ANSWERS: dict[str, tuple[int, Any]] = {
    "/ok": (200, {"status": "ok", "db": "ok"}),
    "/degraded": (200, {"status": "ok", "db": "down"}),
    "/broken": (503, {"status": "error", "minio": "error"}),
    "/notjson": (200, "plain text"),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body = ANSWERS.get(self.path, (404, {}))
        raw = json.dumps(body).encode() if not isinstance(body, str) else body.encode()
        self.send_response(status)
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def gate(targets: list[dict[str, Any]], **over: Any) -> dict[str, Any]:
    params = {"docker_host": "unix:///nonexistent.sock", "strict": True, "timeout_s": 5.0, "interval_s": 0.05,
              "request_timeout_s": 1.0, "max_5xx": 3, "targets": targets}  # fmt: skip
    params.update(over)
    return dict(health.gate_all(params))


def test_every_service_passes_at_once_when_healthy(base_url: str) -> None:
    out = gate([{"name": "a", "url": f"{base_url}/ok", "fields": ["status", "db"]}])

    assert out["ok"] and out["gates"]["a"]["problems"] == [] and out["gates"]["a"]["verdict"] == "healthy"
    assert out["gates"]["a"]["body"] == {"status": "ok", "db": "ok"}


def test_a_service_answering_5xx_fails_fast_not_after_the_timeout(base_url: str) -> None:
    out = gate([{"name": "b", "url": f"{base_url}/broken", "fields": ["status", "minio"]}], timeout_s=30.0)

    result = out["gates"]["b"]
    assert not out["ok"] and result["verdict"] == "5xx" and result["waited_s"] < 2
    assert result["problems"][:3] == ["HTTP 503", "status=error", "minio=error"]


def test_strict_names_each_field_that_is_not_ok_and_relaxed_only_status(base_url: str) -> None:
    strict = gate([{"name": "c", "url": f"{base_url}/degraded", "fields": ["status", "db"]}], timeout_s=0.3)
    relaxed = gate([{"name": "c", "url": f"{base_url}/degraded", "fields": ["status", "db"]}], strict=False)

    assert strict["gates"]["c"]["problems"] == ["db=down"] and strict["gates"]["c"]["verdict"] == "timeout"
    assert relaxed["ok"]


def test_nothing_listening_is_waited_for_then_named(base_url: str) -> None:
    out = gate([{"name": "d", "url": "http://127.0.0.1:9/health"}], timeout_s=0.3)

    assert not out["ok"] and out["gates"]["d"]["problems"][0].startswith("HTTP -1")


def test_a_failing_target_does_not_hold_up_the_others(base_url: str) -> None:
    out = gate([{"name": "ok", "url": f"{base_url}/ok"}, {"name": "bad", "url": f"{base_url}/broken"}])

    assert out["gates"]["ok"]["ok"] and not out["gates"]["bad"]["ok"]


@pytest.mark.parametrize(
    ("state", "verdict"),
    [
        ({"Running": True, "Status": "running", "Health": {"Status": "healthy"}}, "healthy"),
        ({"Running": True, "Status": "running"}, "healthy"),
        ({"Running": True, "Status": "running", "Health": {"Status": "starting"}}, "waiting"),
        ({"Running": True, "Health": {"Status": "unhealthy", "Log": [{"Output": "503\nboom"}]}}, "unhealthy"),
        ({"Running": False, "Status": "exited", "ExitCode": 3}, "exited"),
        ({"Running": False, "Status": "created"}, "waiting"),
        (None, "waiting"),
    ],
)
def test_dockers_verdict_on_a_container(state: Any, verdict: str) -> None:
    assert health.docker_verdict(state)[0] == verdict


def test_the_unhealthy_verdict_quotes_the_last_check() -> None:
    state = {"Running": True, "Health": {"Status": "unhealthy", "Log": [{"Output": "a\nHTTP 503"}]}}

    words = health.docker_verdict(state)[1]

    assert words == "Docker reports unhealthy, last check: HTTP 503"


def test_filters_build_targets_summary_and_messages() -> None:
    services = [
        {"name": "api", "health": {"url": "http://127.0.0.1:1/h", "fields": ["status", "db"]}},
        {"name": "worker"},
    ]
    found = {"ok": False, "status_code": 503, "body": {"status": "error"}, "problems": ["HTTP 503"], "verdict": "5xx"}
    summary = filters.cutover_health_summary({"api": found})

    targets = filters.cutover_health_targets(services)

    assert targets == [{"name": "api", "url": "http://127.0.0.1:1/h", "fields": ["status", "db"]}]
    assert summary == {"api": {"ok": False, "status_code": 503, "body": {"status": "error"}, "problems": ["HTTP 503"]}}
    assert filters.cutover_health_failure(summary) == "api: HTTP 503"
    assert filters.cutover_health_lines(summary) == ["api: HTTP 503"]
