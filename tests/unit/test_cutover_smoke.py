"""Unit tests of the smoke runner (roles/cutover_verify/library/cutover_smoke.py) against a local
HTTP server: schema refused before any request, check mode, read-only, skips that propagate."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from ansible.module_utils.testing import patch_module_args

from tests.unit.plugins import load

VERIFY = Path(__file__).resolve().parents[2] / "roles" / "cutover_verify"


# The module imports its schema as Ansible ships it (role module_utils).
schema = load("ansible.module_utils.cutover_smoke_schema", VERIFY / "module_utils" / "cutover_smoke_schema.py")
load("ansible.module_utils.cutover_envfile", VERIFY / "module_utils" / "cutover_envfile.py")
smoke = load("cutover_smoke_module", VERIFY / "library" / "cutover_smoke.py")


class _Handler(BaseHTTPRequestHandler):
    calls: ClassVar[list[tuple[str, str]]] = []

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, doc: Any) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self.calls.append((self.command, self.path))
        if self.path == "/health":
            self._send(200, {"status": "ok", "flag": False})
        elif self.path == "/items" and self.command == "POST":
            self._send(201, {"id": 7, "key_ok": self.headers.get("x-api-key") == "k1"})
        elif self.path == "/items/7":
            self._send(200, {"id": 7})
        elif self.path == "/validate" and self.command == "POST":
            self._send(200, {"valid": True})
        else:
            self._send(404, {"error": "not found"})

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture()
def calls() -> list[tuple[str, str]]:
    _Handler.calls.clear()
    return _Handler.calls


def suite(base: str) -> list[dict[str, Any]]:
    return [
        {"name": "health", "url": f"{base}/health", "status": 200, "json": {"status": "ok", "flag": False}},
        {"name": "head", "method": "HEAD", "url": f"{base}/health", "status": [200, 204]},
        {
            "name": "validate",
            "method": "POST",
            "url": f"{base}/validate",
            "body": {"a": 1},
            "status": 200,
            "json": {"valid": True},
            "read_only_safe": True,
        },
        {
            "name": "create",
            "method": "POST",
            "url": f"{base}/items",
            "body": {"a": 1},
            "headers": {"x-api-key": "${key:API}"},
            "requires_keys": ["API"],
            "status": 201,
            "json": {"key_ok": True},
            "save": {"item": "id"},
        },
        {"name": "read back", "url": base + "/items/${saved:item}", "status": 200, "json": {"id": "${saved:item}"}},
    ]


def test_the_suite_passes_and_a_saved_value_keeps_its_type(server: str, calls: list[Any]) -> None:
    results = smoke.run_suite(suite(server), {"API": "k1"}, 5)
    assert [r["result"] for r in results] == ["passed"] * 5, results
    assert smoke.summarize(results)["summary"] == "5 passed"
    assert ("GET", "/items/7") in calls


def test_check_mode_sends_only_get_and_head(server: str, calls: list[Any]) -> None:
    results = smoke.run_suite(suite(server), {"API": "k1"}, 5, check_mode=True)
    by_name = {r["name"]: r for r in results}
    assert by_name["validate"]["result"] == by_name["create"]["result"] == "skipped"
    assert by_name["validate"]["detail"] == by_name["create"]["detail"] == "check mode"
    # the read-back needs the skipped check's saved value: skipped too, never sent
    assert by_name["read back"]["result"] == "skipped"
    assert "from skipped check 'create'" in by_name["read back"]["detail"]
    assert {method for method, _ in calls} <= {"GET", "HEAD"}, calls
    assert smoke.summarize(results)["summary"] == "2 passed, 3 skipped"


def test_read_only_skips_writes_unless_marked_safe(server: str, calls: list[Any]) -> None:
    results = smoke.run_suite(suite(server), {"API": "k1"}, 5, read_only=True)
    by_name = {r["name"]: r for r in results}
    assert by_name["validate"]["result"] == "passed"  # read_only_safe: true
    assert by_name["create"]["result"] == "skipped"
    assert by_name["create"]["detail"] == "read-only"
    assert by_name["read back"]["result"] == "skipped"
    assert ("POST", "/items") not in calls and ("POST", "/validate") in calls
    counts = smoke.summarize(results)
    assert counts["summary"] == "3 passed, 2 skipped"
    assert counts["counts"] == {"passed": 3, "failed": 0, "skipped": 2}


def test_missing_keys_skip_the_check_and_its_dependants(server: str, calls: list[Any]) -> None:
    results = smoke.run_suite(suite(server), {}, 5)
    assert [r["result"] for r in results] == ["passed", "passed", "passed", "skipped", "skipped"]
    assert results[3]["detail"] == "no value for API"
    assert ("POST", "/items") not in calls


def test_a_skipped_check_names_where_its_key_was_looked_for(server: str) -> None:
    results = smoke.run_suite(suite(server), {}, 5, keys_source="/etc/app.env on web-1")
    assert results[3]["detail"] == "no value for API in /etc/app.env on web-1"


def test_a_status_outside_the_expected_list_fails(server: str, calls: list[Any]) -> None:
    check = {"name": "x", "url": f"{server}/nope", "status": [200, 201]}
    (result,) = smoke.run_suite([check], {}, 5)
    assert result["result"] == "failed"
    assert result["detail"] == "HTTP 404, expected one of [200, 201]"


def _run_module(args: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    with patch_module_args(args), pytest.raises(SystemExit):
        smoke.main()
    return json.loads(capsys.readouterr().out)


def test_the_module_refuses_a_bad_suite_before_sending_anything(
    server: str, calls: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    checks = suite(server)
    checks[0]["stauts"] = checks[0].pop("status")
    checks[4]["url"] = server + "/items/${saved:itme}"
    out = _run_module({"checks": checks}, capsys)
    assert out["failed"] is True
    assert "nothing sent" in out["msg"]
    assert "checks[0].stauts: unknown key" in out["msg"]
    assert "checks[0].status: missing" in out["msg"]
    assert "checks[4].url: '${saved:itme}' is not saved by an earlier check" in out["msg"]
    assert calls == []


def test_the_module_in_check_mode_posts_nothing(
    server: str, calls: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run_module({"checks": suite(server), "api_keys": {"API": "k1"}, "_ansible_check_mode": True}, capsys)
    assert out["summary"] == "2 passed, 3 skipped", out
    assert out["changed"] is False
    assert {method for method, _ in calls} <= {"GET", "HEAD"}, calls
    assert "k1" not in json.dumps(out)


def test_the_module_read_only(server: str, calls: list[Any], capsys: pytest.CaptureFixture[str]) -> None:
    out = _run_module({"checks": suite(server), "api_keys": {"API": "k1"}, "read_only": True}, capsys)
    assert out["summary"] == "3 passed, 2 skipped", out
    assert next(c["detail"] for c in out["checks"] if c["result"] == "skipped") == "read-only"


def test_the_lab_suite_follows_the_schema_and_read_only_keeps_the_validate_checks() -> None:
    import yaml

    path = Path(__file__).resolve().parents[2] / "inventory/lab/group_vars/docker_hosts/smoke.yml"
    checks = yaml.safe_load(path.read_text())["cutover_smoke_checks"]
    assert schema.smoke_check_errors(checks) == []
    writes = [c["name"] for c in checks if c.get("method", "GET") in schema.WRITE_METHODS]
    safe = [c["name"] for c in checks if c.get("read_only_safe") is True]
    assert safe == ["validate a valid payload", "validate an invalid payload"]
    assert set(safe) < set(writes)  # the intake (creates a row and an object) stays skipped read-only


def _run_with_env_file(
    text: str, tmp_path: Path, server: str, capsys: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    """The module's answer for the suite with an env file holding text."""
    env = tmp_path / "app.env"
    env.write_text(text)
    return _run_module({"checks": suite(server), "env_file": str(env)}, capsys)


def test_the_module_reads_the_keys_on_the_host_from_the_env_file(
    server: str, calls: list[Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = _run_with_env_file("DATABASE_URL=postgres://u:db-secret@db/x\nAPI=k1\n", tmp_path, server, capsys)
    assert out["summary"] == "5 passed", out  # "create" passes only with the file's key sent
    assert out["keys_found"] == ["API"]  # only the names the checks need, never another key
    assert '"k1"' not in json.dumps(out) and "db-secret" not in json.dumps(out)
    # a missing file means no keys: the keyed check and the one that needs its saved id are skipped
    out = _run_module({"checks": suite(server), "env_file": str(tmp_path / "none.env")}, capsys)
    assert (out["summary"], out["keys_found"]) == ("3 passed, 2 skipped", []), out
    skipped = next(c for c in out["checks"] if c["result"] == "skipped")
    assert skipped["detail"] == "no value for API"


def test_the_module_refuses_an_env_file_docker_would_read_differently_naming_the_line_not_the_value(
    server: str, calls: list[Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = _run_with_env_file("OTHER=x\nAPI = k-secret-value\n", tmp_path, server, capsys)
    assert out["failed"] is True and calls == []
    assert out["msg"].startswith("cutover_env_file refused: ") and "line 2: API" in out["msg"], out["msg"]
    assert "k-secret-value" not in out["msg"]


def test_an_override_key_replaces_the_env_files_value_and_empty_values_count_as_missing() -> None:
    keys = smoke.read_keys("API=from-file\nB=\n", "/etc/app.env", ["API", "B"], {"API": "override", "C": ""})
    assert keys == {"API": "override"}
    assert smoke.read_keys(None, "", ["API"], {}) == {}
    assert smoke.needed_keys([{"requires_keys": ["A", "B"]}, {}, {"requires_keys": ["B", "C"]}]) == ["A", "B", "C"]


def test_the_plan_reads_the_keys_on_the_host_and_sends_nothing(
    server: str, calls: list[Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    env = tmp_path / "app.env"
    env.write_text("DATABASE_URL=postgres://u:db-secret@db/x\nAPI=k1\n")
    out = _run_module({"checks": suite(server), "env_file": str(env), "plan_only": True}, capsys)
    assert calls == [] and out["checks"] == [] and out["keys_found"] == ["API"], out
    assert "k1" not in json.dumps(out) and "db-secret" not in json.dumps(out)
    # a refused env file stops the plan as it stops a real verify
    env.write_text("API = k-secret-value\n")
    out = _run_module({"checks": suite(server), "env_file": str(env), "plan_only": True}, capsys)
    assert out["failed"] is True and calls == [] and "k-secret-value" not in out["msg"]
