#!/usr/bin/python
"""Health gates on the docker host: every target polled at once, failing fast."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cutover_health
short_description: Wait until services are healthy (Docker's health and their JSON health), failing fast
description:
  - Polls every target at the same time, on the host (the URLs are the addresses the host
    sees), and returns as soon as each target has passed or has certainly failed - it never
    waits out the timeout for a target that has already failed.
  - A target with C(container) waits for Docker's verdict - C(healthy), or C(running) when the
    image has no healthcheck - and fails at once when Docker reports C(unhealthy) or the
    container is not running (exited, dead, missing after it was seen).
  - A target with C(url) waits for its health contract (module_utils/cutover_health_contract.py,
    the service's C(health) in the inventory - the expected status code and JSON fields, by
    default HTTP 200 with C(status) and every listed field C("ok")); when not C(strict) only
    the contract's relaxed fields count. It fails at once after C(max_5xx) server errors in a
    row. A refused connection is a service still starting. A wrong answer is named field by
    field - C(db: expected "ok", got "down").
  - The module itself does not fail on an unhealthy target; it returns C(ok) false and every
    target's findings, so the caller names them. A failed container target also carries a
    C(diagnosis) - its state, its last health checks and log lines, and the answer of its
    C(diagnose_url) - so the caller can say why without more round trips.
  - With C(inspect), it also returns the safe fields of those containers (never their env).
options:
  targets:
    description:
      - What to gate - C(name), optional C(url), C(contract) (from the filter cutover_health_targets:
        status_code, json, relaxed) or the older C(fields) (each C("ok"), and C(status)), C(container)
        and C(diagnose_url) (asked only when the container target fails, for the diagnosis).
      - With C(container) and C(direct_port), the URL is asked of the container itself (its address
        on its first network and that port), not of the published port: a new container behind the
        edge proxy is checked before the proxy sends it any traffic.
    type: list
    elements: dict
    default: []
  inspect:
    description: Container names whose safe fields (Name, Image, Config.Image, Config.Labels, State) to return.
    type: list
    elements: str
    default: []
  docker_host:
    description: The Engine API (unix:///path or tcp://host:port), for targets with a container.
    type: str
    default: unix:///var/run/docker.sock
  strict:
    description: Every field of a target's contract counts (else only its relaxed fields, by default C(status)).
    type: bool
    default: true
  timeout_s:
    description: Seconds to wait for all targets.
    type: float
    default: 60
  interval_s:
    description: Seconds between two polls of one target.
    type: float
    default: 0.5
  request_timeout_s:
    description: Seconds one HTTP request may take.
    type: float
    default: 5
  max_5xx:
    description: Server errors in a row that fail a target at once (0 waits out the timeout).
    type: int
    default: 10
author: cutover
"""

RETURN = r"""
ok:
  description: Every target passed.
  type: bool
  returned: always
gates:
  description: Per target name - ok, status_code, body, problems, verdict, waited_s, docker (and diagnosis).
  type: dict
  returned: always
containers:
  description: Per inspected name, its safe fields, or null when there is no such container.
  type: dict
  returned: always
"""

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.cutover_engine import docker_host_problem, engine_get, engine_get_raw
from ansible.module_utils.cutover_health_contract import check, contract_of


def safe_container(data: Any) -> dict[str, Any] | None:
    """The fields of a container's inspect data that hold no env value."""
    if not isinstance(data, dict):
        return None
    config = data.get("Config") or {}
    state = data.get("State") or {}
    health = state.get("Health") or {}
    return {
        "Name": data.get("Name"),
        "Image": data.get("Image"),
        "Config": {"Image": config.get("Image"), "Labels": config.get("Labels") or {}},
        "State": {
            "Status": state.get("Status"), "Running": bool(state.get("Running")),
            "ExitCode": state.get("ExitCode"),
            **({"Health": {"Status": health.get("Status")}} if health else {}),
        },
    }  # fmt: skip


def inspect_all(docker_host: str, names: list[str], timeout: float) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in names:
        status, data = engine_get(docker_host, f"/containers/{quote(name, safe='')}/json", timeout)
        found[name] = safe_container(data) if status == 200 else None
    return found


def log_lines(raw: bytes, keep: int = 20) -> list[str]:
    """The last lines of a container's log (the Engine's 8-byte frame headers removed)."""
    text, rest = [], raw
    while len(rest) >= 8 and rest[0] in (0, 1, 2) and rest[1:4] == b"\0\0\0":
        size = int.from_bytes(rest[4:8], "big")
        text.append(rest[8 : 8 + size])
        rest = rest[8 + size :]
    joined = b"".join(text) + rest
    return [line for line in joined.decode("utf-8", "replace").splitlines() if line.strip()][-keep:]


def diagnose(docker_host: str, name: str, url: str | None, timeout: float) -> dict[str, Any]:
    """What an operator needs to see about a failed new container (no env values)."""
    status, data = engine_get(docker_host, f"/containers/{quote(name, safe='')}/json", timeout)
    if status != 200 or not isinstance(data, dict):
        return {"exists": False}
    state = data.get("State") or {}
    health = state.get("Health") or {}
    found: dict[str, Any] = {
        "exists": True, "status": state.get("Status"), "running": bool(state.get("Running")),
        "exit_code": state.get("ExitCode"), "health": health.get("Status") or "none",
        "last_health_checks": [str(c.get("Output", "")).strip() for c in (health.get("Log") or [])[-3:]],
    }  # fmt: skip
    _, raw = engine_get_raw(docker_host, f"/containers/{quote(name, safe='')}/logs?stdout=1&stderr=1&tail=20", timeout)
    found["last_log_lines"] = log_lines(raw)
    if url and found["running"]:
        code, body, _ = http_get(url, min(timeout, 3))
        found["health_answer"] = {"url": url, "status_code": code, "body": json.dumps(body) if body is not None else ""}
    return found


def http_get(url: str, timeout: float) -> tuple[int, Any, str]:
    """(status, parsed JSON body or None, error); status -1 when nothing answered."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        return -1, None, f"{type(reason).__name__}: {reason}" if not isinstance(reason, str) else reason
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    return status, body, ""


def json_problems(status: int, body: Any, contract: dict[str, Any], strict: bool, error: str = "") -> list[str]:
    """Why a health answer does not pass ([] when it does): the one contract check."""
    return check(contract, status, body, strict, error)


def target_contract(target: dict[str, Any]) -> dict[str, Any]:
    """A target's contract: given whole (cutover_health_targets), or today's from its fields."""
    given = target.get("contract")
    if isinstance(given, dict) and given.get("json"):
        return given
    return contract_of({"fields": [f for f in target.get("fields") or [] if f != "status"]})


def container_address(data: Any) -> str:
    """The container's IP address on its first network ("" when it has none yet)."""
    networks = ((data or {}).get("NetworkSettings") or {}).get("Networks") or {}
    for network in networks.values():
        if isinstance(network, dict) and network.get("IPAddress"):
            return str(network["IPAddress"])
    return ""


def direct_url(url: str, address: str, port: Any) -> str:
    """The same URL asked of address:port (the container itself) instead of the published port."""
    parts = urlsplit(url)
    return parts._replace(netloc=f"{address}:{int(port)}").geturl()


def docker_verdict(state: Any) -> tuple[str, str]:
    """('healthy' | 'waiting' | 'unhealthy' | 'exited', words) from a container's State."""
    if not isinstance(state, dict):
        return "waiting", "container not found"
    health = (state.get("Health") or {}) if isinstance(state.get("Health"), dict) else {}
    if not state.get("Running"):
        if state.get("Status") == "created" and (state.get("Error") or state.get("ExitCode")):
            # Docker could not start it (e.g. its published port is taken): it never will.
            return "exited", f"container could not start: {state.get('Error') or 'exit code ' + str(state['ExitCode'])}"
        if state.get("Status") in ("created", "restarting"):
            return "waiting", f"container {state.get('Status')}"
        return "exited", f"container {state.get('Status', '?')}, exit code {state.get('ExitCode', '?')}"
    status = health.get("Status")
    if status is None or status == "healthy":
        return "healthy", "healthy" if status else "running (no healthcheck)"
    if status == "unhealthy":
        log = health.get("Log") or []
        last = str(log[-1].get("Output", "")).strip().splitlines()[-1:] if log else []
        return "unhealthy", "Docker reports unhealthy" + (f", last check: {last[0]}" if last else "")
    return "waiting", f"health {status}"


class Gate:
    """One target polled until it passes, certainly fails, or the deadline comes."""

    def __init__(self, target: dict[str, Any], params: dict[str, Any], deadline: float) -> None:
        self.target = target
        self.params = params
        self.deadline = deadline
        self.contract = target_contract(target)
        self.address = ""
        self.result: dict[str, Any] = {
            "ok": False, "status_code": -1, "body": {}, "problems": ["not checked"], "verdict": "timeout",
            "waited_s": 0.0, "docker": None,
        }  # fmt: skip

    def _docker(self) -> tuple[str, str]:
        name = self.target["container"]
        try:
            status, data = engine_get(self.params["docker_host"], f"/containers/{quote(name, safe='')}/json",
                                      self.params["request_timeout_s"])  # fmt: skip
        except OSError as exc:
            return "waiting", f"Engine API: {exc}"
        state = data.get("State") if status == 200 and isinstance(data, dict) else None
        self.address = container_address(data) if status == 200 and isinstance(data, dict) else ""
        self.result["docker"] = (
            {"status": state.get("Status"), "health": (state.get("Health") or {}).get("Status", "none")}
            if isinstance(state, dict) else None
        )  # fmt: skip
        return docker_verdict(state)

    def run(self) -> None:
        start = time.monotonic()
        try:
            self._poll(start)
        except Exception as exc:  # a gate that cannot poll has failed; the other gates go on
            self._finish(start, "error", [f"{type(exc).__name__}: {exc}"])

    def _poll(self, start: float) -> None:
        server_errors = 0
        docker_done = "container" not in self.target or not self.target["container"]
        url = self.target.get("url")
        while True:
            problems: list[str] = []
            if not docker_done:
                verdict, words = self._docker()
                if verdict in ("unhealthy", "exited"):
                    self._finish(start, verdict, [words])
                    return
                docker_done = verdict == "healthy"
                if not docker_done:
                    problems.append(words)
            if url and docker_done and self.target.get("direct_port") and not self.address:
                self._docker()  # a container without a healthcheck: its address comes from here
            if url and docker_done and self.target.get("direct_port") and not self.address:
                problems.append("the container has no network address")
            elif url and docker_done:
                port = self.target.get("direct_port")
                asked = direct_url(url, self.address, port) if port else url
                status, body, error = http_get(asked, self.params["request_timeout_s"])
                self.result["status_code"] = status
                self.result["body"] = body if isinstance(body, dict) else {}
                found = json_problems(status, body, self.contract, self.params["strict"], error)
                server_errors = server_errors + 1 if status >= 500 else 0
                if not found:
                    self._finish(start, "healthy", [])
                    return
                limit = int(self.params["max_5xx"])
                if limit and server_errors >= limit:
                    self._finish(start, "5xx", [*found, f"{server_errors} server errors in a row"])
                    return
                problems.extend(found)
            elif docker_done:
                self._finish(start, "healthy", [])
                return
            if time.monotonic() + self.params["interval_s"] > self.deadline:
                self._finish(start, "timeout", problems or ["no answer"])
                return
            time.sleep(self.params["interval_s"])

    def _finish(self, start: float, verdict: str, problems: list[str]) -> None:
        self.result.update(ok=not problems, problems=problems, verdict=verdict,
                           waited_s=round(time.monotonic() - start, 2))  # fmt: skip
        if problems and self.target.get("container"):
            try:
                asked = self.target.get("diagnose_url")
                if asked and self.target.get("direct_port"):
                    asked = direct_url(asked, self.address, self.target["direct_port"]) if self.address else None
                self.result["diagnosis"] = diagnose(
                    self.params["docker_host"], self.target["container"], asked, self.params["request_timeout_s"],
                )  # fmt: skip
            except OSError as exc:
                self.result["diagnosis"] = {"exists": False, "error": f"Engine API: {exc}"}


def gate_all(params: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + float(params["timeout_s"])
    gates = [Gate(t, params, deadline) for t in params["targets"]]
    threads = [threading.Thread(target=g.run, daemon=True) for g in gates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = {g.target["name"]: g.result for g in gates}
    containers = inspect_all(params["docker_host"], params.get("inspect") or [], params["request_timeout_s"])
    return {"ok": all(r["ok"] for r in found.values()), "gates": found, "containers": containers}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "targets": {"type": "list", "elements": "dict", "default": []},
            "inspect": {"type": "list", "elements": "str", "default": []},
            "docker_host": {"type": "str", "default": "unix:///var/run/docker.sock"},
            "strict": {"type": "bool", "default": True},
            "timeout_s": {"type": "float", "default": 60},
            "interval_s": {"type": "float", "default": 0.5},
            "request_timeout_s": {"type": "float", "default": 5},
            "max_5xx": {"type": "int", "default": 10},
        },
        supports_check_mode=True,
    )
    problem = docker_host_problem(module.params["docker_host"])
    if problem:
        module.fail_json(msg=problem)
    for index, target in enumerate(module.params["targets"]):
        if not target.get("name") or not (target.get("url") or target.get("container")):
            module.fail_json(msg=f"targets[{index}]: expected a name and a url or a container, got {sorted(target)}")
    try:
        found = gate_all(module.params)
    except OSError as exc:
        module.fail_json(msg=f"docker_host {module.params['docker_host']}: the Engine API does not answer: {exc}")
    module.exit_json(changed=False, **found)


if __name__ == "__main__":
    main()
