"""The swap's container operations in one call (roles/cutover_swap/library/cutover_container_ops.py)
against a fake Engine API that keeps its containers, and the filter that plans them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.unit.plugins import ROLES, load, load_module

ops_module = load_module("cutover_container_ops", ROLES / "cutover_swap" / "library" / "cutover_container_ops.py")
swap = load("cutover_swap_filters_ops", ROLES / "cutover_swap" / "filter_plugins" / "cutover_swap.py")
create = load("cutover_container_create", ROLES / "cutover_swap" / "filter_plugins" / "cutover_container_create.py")


class _Engine(BaseHTTPRequestHandler):
    """Containers by name -> running; records every request."""

    containers: ClassVar[dict[str, bool]] = {}
    calls: ClassVar[list[str]] = []
    bodies: ClassVar[dict[str, Any]] = {}

    def _answer(self, status: int, body: Any = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        if body is not None:
            self.wfile.write(json.dumps(body).encode())

    def _target(self) -> tuple[str, str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        segments = parts.path.split("/")  # ['', 'containers', name, action?]
        return unquote(segments[2]), (segments[3] if len(segments) > 3 else ""), parse_qs(parts.query)

    def do_GET(self) -> None:
        name, _, _ = self._target()
        if name not in self.containers:
            self._answer(404, {"message": f"No such container: {name}"})
        else:
            self._answer(200, {"Name": f"/{name}", "State": {"Running": self.containers[name]}})

    def do_DELETE(self) -> None:
        name, _, query = self._target()
        self.calls.append(f"DELETE {name} force={query.get('force')}")
        if self.containers.pop(name, None) is None:
            self._answer(404, {"message": f"No such container: {name}"})
        else:
            self._answer(204)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None

    def do_POST(self) -> None:
        name, action, query = self._target()
        self.calls.append(f"POST {name} {action} {query}")
        if self.path.startswith("/containers/create?"):
            new = query["name"][0]
            if new in self.containers:
                self._answer(409, {"message": f'Conflict. The container name "/{new}" is already in use'})
            else:
                self.containers[new] = False
                self.bodies[new] = self._body()
                self._answer(201, {"Id": "0123456789abcdef", "Warnings": []})
        elif self.path.startswith("/networks/"):
            self.bodies[f"connect {name}"] = self._body()
            self._answer(200)
        elif name not in self.containers:
            self._answer(404, {"message": f"No such container: {name}"})
        # The state changes before the answer: the client (and the test after it) reads it as
        # soon as the answer arrives, while this thread may not have run on.
        elif action == "stop":
            was_running, self.containers[name] = self.containers[name], False
            self._answer(204 if was_running else 304)
        elif action == "start":
            was_running, self.containers[name] = self.containers[name], True
            self._answer(304 if was_running else 204)
        elif action == "rename":
            new = query["name"][0]
            if new in self.containers:
                self._answer(409, {"message": f'Conflict. The container name "/{new}" is already in use'})
            else:
                self.containers[new] = self.containers.pop(name)
                self._answer(204)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def engine() -> Iterator[str]:
    _Engine.containers = {}
    _Engine.calls = []
    _Engine.bodies = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Engine)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


ENTRY = {"name": "cart", "current_name": "cart", "kept_container": "cart--abc1234"}


def _run(engine: str, ops: list[dict[str, Any]], check_mode: bool = False) -> tuple[bool, list[dict[str, Any]]]:
    done: list[dict[str, Any]] = []
    changed = ops_module.run_ops({"docker_host": engine, "ops": ops, "request_timeout_s": 5}, check_mode, done)
    return changed, done


def test_the_current_container_is_stopped_and_kept_in_place_of_a_stale_one(engine: str) -> None:
    _Engine.containers = {"cart": True, "cart--abc1234": False}
    changed, done = _run(engine, swap.cutover_swap_retire_ops(ENTRY, 10))
    assert changed
    assert _Engine.containers == {"cart--abc1234": False}
    assert [(d["action"], d["status"], d["changed"]) for d in done] == [
        ("remove", 204, True), ("stop", 204, True), ("rename", 204, True),
    ]  # fmt: skip
    assert _Engine.calls[0] == "DELETE cart--abc1234 force=['true']"
    assert "{'t': ['10']}" in _Engine.calls[1]


def test_nothing_stale_and_a_stopped_container_are_no_changes(engine: str) -> None:
    _Engine.containers = {"cart": False}
    changed, done = _run(engine, swap.cutover_swap_retire_ops(ENTRY, 10)[:2])
    assert not changed
    assert [(d["action"], d["status"]) for d in done] == [("remove", 404), ("stop", 304)]


def test_the_first_refused_operation_stops_the_chain_and_is_named(engine: str) -> None:
    _Engine.containers = {"cart": True, "cart--abc1234": False}
    ops = [{"action": "stop", "container": "cart", "timeout_s": 1},
           {"action": "rename", "container": "cart", "new_name": "cart--abc1234"},
           {"action": "remove", "container": "cart--abc1234"}]  # fmt: skip
    done: list[dict[str, Any]] = []
    refused = r"rename cart: the Engine answered 409: Conflict\. The container name"
    with pytest.raises(ops_module.OpFailed, match=refused):
        ops_module.run_ops({"docker_host": engine, "ops": ops, "request_timeout_s": 5}, False, done)
    assert [d["action"] for d in done] == ["stop"]  # done before the refusal, reported
    assert "cart--abc1234" in _Engine.containers  # the operation after it never ran


def test_check_mode_reads_only(engine: str) -> None:
    _Engine.containers = {"cart": True}
    changed, done = _run(engine, swap.cutover_swap_retire_ops(ENTRY, 10), check_mode=True)
    assert changed and [d["changed"] for d in done] == [False, True, True]
    assert _Engine.calls == [] and _Engine.containers == {"cart": True}


def test_the_plan_of_a_service_without_a_current_or_kept_name() -> None:
    assert swap.cutover_swap_retire_ops({"current_name": "", "kept_container": "x"}, 10) == []
    assert swap.cutover_swap_retire_ops({"current_name": "cart", "kept_container": "cart"}, "7") == [
        {"action": "stop", "container": "cart", "timeout_s": 7}
    ]


def test_bad_operations_are_named_by_field() -> None:
    bad = [{"action": "kill", "container": "a"}, {"action": "rename", "container": ""},
           {"action": "stop", "container": "b", "timeout_s": "soon"},
           {"action": "create", "container": "c", "body": "nope"}, {"action": "connect", "container": "c"}]  # fmt: skip
    assert ops_module.op_problems(bad) == [
        "ops[0].action: expected one of remove, stop, rename, create, connect, start, got 'kill'",
        "ops[1].container: expected a container name",
        "ops[1].new_name: expected the container's new name",
        "ops[2].timeout_s: expected whole seconds, got 'soon'",
        "ops[3].body: expected the Engine API create body (a mapping)",
        "ops[4].network: expected the network to connect the container to",
    ]


START_ENTRY = {"container": "cart", "image": "shop/cart:abc1234", "ports": ["127.0.0.1:8080:80"],
               "networks": [{"name": "front", "aliases": ["cart"]}, {"name": "back", "aliases": ["cart"]}]}  # fmt: skip


def test_the_new_container_is_created_connected_and_started_in_one_call(engine: str) -> None:
    _Engine.containers = {"cart--old": False}
    health = {"test": "curl -f localhost/health", "interval": "2s", "retries": 3}
    labels = {"cutover.service": "cart"}
    ops = create.cutover_swap_start_ops(START_ENTRY, ["TOKEN=s3cr=t"], labels, "unless-stopped", health)
    changed, done = _run(engine, ops)
    assert changed and _Engine.containers == {"cart--old": False, "cart": True}
    assert [(d["action"], d["status"]) for d in done] == [("create", 201), ("connect", 200), ("start", 204)]
    body = _Engine.bodies["cart"]
    assert body["Env"] == ["TOKEN=s3cr=t"] and body["HostConfig"]["NetworkMode"] == "front"
    assert body["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}
    assert _Engine.bodies["connect back"] == {"Container": "cart", "EndpointConfig": {"Aliases": ["cart"]}}
    assert all("s3cr" not in str(d) for d in done)  # names and statuses only


def test_a_taken_name_refuses_the_create_and_nothing_starts(engine: str) -> None:
    _Engine.containers = {"cart": False}
    done: list[dict[str, Any]] = []
    ops = create.cutover_swap_start_ops(START_ENTRY, [], {}, "no")
    with pytest.raises(ops_module.OpFailed, match=r"create cart: the Engine answered 409"):
        ops_module.run_ops({"docker_host": engine, "ops": ops, "request_timeout_s": 5}, False, done)
    assert done == [] and _Engine.containers == {"cart": False}


def test_check_mode_says_a_create_and_a_start_would_change(engine: str) -> None:
    changed, done = _run(engine, create.cutover_swap_start_ops(START_ENTRY, [], {}, "no"), check_mode=True)
    assert changed and [d["changed"] for d in done] == [True, True, True]
    assert _Engine.calls == [] and _Engine.containers == {}
