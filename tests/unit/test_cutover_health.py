"""The health gate module (roles/cutover_verify/library/cutover_health.py) and its filters."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.unit.plugins import ROLES, load

# the module imports its contract from module_utils, as Ansible ships it to the host
contract = load("ansible.module_utils.cutover_health_contract",
                ROLES / "cutover_verify" / "module_utils" / "cutover_health_contract.py")  # fmt: skip
load("ansible.module_utils.cutover_engine", ROLES / "cutover_common" / "module_utils" / "cutover_engine.py")
health = load("cutover_health_module", ROLES / "cutover_verify" / "library" / "cutover_health.py")
filters = load("cutover_health_filters", ROLES / "cutover_verify" / "filter_plugins" / "cutover_health.py")

ANSWERS: dict[str, tuple[int, Any]] = {
    "/ok": (200, {"status": "ok", "db": "ok"}),
    "/degraded": (200, {"status": "ok", "db": "down"}),
    "/broken": (503, {"status": "error", "minio": "error"}),
    "/notjson": (200, "plain text"),
    "/custom": (200, {"state": "up", "checks": {"postgres": "up", "queue": {"depth": 0}}, "ready": True}),
    "/custom-bad": (200, {"state": "up", "checks": {"postgres": "starting", "queue": {"depth": 0}}, "ready": 1}),
    "/accepted": (202, {"status": "ok"}),
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
    assert result["problems"][:3] == [
        "HTTP 503, expected 200", 'status: expected "ok", got "error"', 'minio: expected "ok", got "error"'
    ]


def test_strict_names_each_field_that_is_not_ok_and_relaxed_only_status(base_url: str) -> None:
    strict = gate([{"name": "c", "url": f"{base_url}/degraded", "fields": ["status", "db"]}], timeout_s=0.3)
    relaxed = gate([{"name": "c", "url": f"{base_url}/degraded", "fields": ["status", "db"]}], strict=False)

    assert strict["gates"]["c"]["problems"] == ['db: expected "ok", got "down"']
    assert strict["gates"]["c"]["verdict"] == "timeout"
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
        ({"Running": False, "Status": "created", "ExitCode": 0, "Error": ""}, "waiting"),
        ({"Running": False, "Status": "created", "ExitCode": 128, "Error": "port is already allocated"}, "exited"),
        (None, "waiting"),
    ],
)
def test_dockers_verdict_on_a_container(state: Any, verdict: str) -> None:
    assert health.docker_verdict(state)[0] == verdict


def test_a_container_docker_could_not_start_fails_at_once_naming_why() -> None:
    state = {"Running": False, "Status": "created", "ExitCode": 128, "Error": "bind: address already in use"}

    assert health.docker_verdict(state) == ("exited", "container could not start: bind: address already in use")


def test_the_unhealthy_verdict_quotes_the_last_check() -> None:
    state = {"Running": True, "Health": {"Status": "unhealthy", "Log": [{"Output": "a\nHTTP 503"}]}}

    words = health.docker_verdict(state)[1]

    assert words == "Docker reports unhealthy, last check: HTTP 503"


def test_filters_build_targets_summary_and_messages() -> None:
    services = [
        {"name": "api", "health": {"url": "http://127.0.0.1:1/h", "fields": ["status", "db"]}},
        {"name": "worker"},
    ]
    found = {"ok": False, "status_code": 503, "body": {"status": "error"}, "problems": ["HTTP 503, expected 200"],
             "verdict": "5xx"}  # fmt: skip
    summary = filters.cutover_health_summary({"api": found})

    targets = filters.cutover_health_targets(services)

    today = {"status_code": [200], "json": {"status": "ok", "db": "ok"}, "relaxed": ["status"]}
    assert targets == [{"name": "api", "url": "http://127.0.0.1:1/h", "contract": today}]
    assert summary == {"api": {"ok": False, "status_code": 503, "body": {"status": "error"},
                               "problems": ["HTTP 503, expected 200"]}}  # fmt: skip
    assert filters.cutover_health_failure(summary) == "api: HTTP 503, expected 200"
    assert filters.cutover_health_lines(summary) == ["api: HTTP 503, expected 200"]


# ---- the health contract through the module (what verify, the rollback and recert run) ------

CUSTOM = {"url": "", "json": {"state": "up", "checks.postgres": "up", "checks.queue.depth": 0, "ready": True},
          "relaxed": ["state"]}  # fmt: skip


def _target(base_url: str, path: str, health: dict[str, Any]) -> dict[str, Any]:
    services = [{"name": "svc", "health": health | {"url": f"{base_url}{path}"}}]
    return filters.cutover_health_targets(services)[0]


def test_other_field_names_and_non_ok_values_pass_by_the_contract(base_url: str) -> None:
    out = gate([_target(base_url, "/custom", CUSTOM)])

    assert out["ok"], out


def test_a_wrong_value_fails_the_gate_naming_field_expected_and_actual(base_url: str) -> None:
    out = gate([_target(base_url, "/custom-bad", CUSTOM)], timeout_s=0.3)

    assert not out["ok"]
    assert out["gates"]["svc"]["problems"] == [
        'checks.postgres: expected "up", got "starting"',
        "ready: expected true, got 1",  # 1 is no boolean
    ]
    summary = filters.cutover_health_summary(out["gates"])
    assert filters.cutover_health_failure(summary) == (
        'svc: checks.postgres: expected "up", got "starting", ready: expected true, got 1'
    )


def test_todays_contract_cannot_pass_a_service_with_other_fields(base_url: str) -> None:
    out = gate([_target(base_url, "/custom", {"fields": ["postgres"]})], timeout_s=0.3)

    assert out["gates"]["svc"]["problems"] == [
        'status: expected "ok", got nothing (missing)', 'postgres: expected "ok", got nothing (missing)'
    ]


def test_relaxed_checks_only_the_contracts_relaxed_fields(base_url: str) -> None:
    out = gate([_target(base_url, "/custom-bad", CUSTOM)], strict=False)

    assert out["ok"]


def test_the_expected_status_code_is_part_of_the_contract(base_url: str) -> None:
    passes = gate([_target(base_url, "/accepted", {"status_code": [200, 202]})])
    fails = gate([_target(base_url, "/accepted", {})], timeout_s=0.3)

    assert passes["ok"]
    assert fails["gates"]["svc"]["problems"] == ["HTTP 202, expected 200"]


def test_the_module_links_and_the_wrapper_share_one_contract_file() -> None:
    one = (ROLES / "cutover_verify" / "module_utils" / "cutover_health_contract.py").resolve()
    for role in ("cutover_swap", "cutover_rollback"):
        assert (ROLES / role / "module_utils" / "cutover_health_contract.py").resolve() == one
        assert (ROLES / role / "library" / "cutover_health.py").resolve() == (
            ROLES / "cutover_verify" / "library" / "cutover_health.py"
        ).resolve()
    assert (ROLES.parent / "python_wrapper" / "cutover" / "health_contract.py").resolve() == one
    engine = (ROLES / "cutover_common" / "module_utils" / "cutover_engine.py").resolve()
    for role in ("cutover_verify", "cutover_swap", "cutover_rollback", "cutover_baseline"):
        assert (ROLES / role / "module_utils" / "cutover_engine.py").resolve() == engine
