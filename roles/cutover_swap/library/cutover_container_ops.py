#!/usr/bin/python
"""Plain container operations on the docker host, in order, in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cutover_container_ops
short_description: Remove, stop, rename, create, connect, start containers (Engine API), in order, in one call
description:
  - The swap retires a service's current container in three steps - remove a stale container
    already holding the name it is kept under, stop the current one, rename it to that name.
    As separate tasks they cost a round trip each; this module does them in one, in the order
    given, and stops at the first that fails (the ones before it stay done and are reported).
  - C(remove) removes a container by force and is a no-op when there is none; C(stop) is a
    no-op for a stopped container; C(rename) fails when the container or the name is taken.
  - C(create) makes a container from an Engine API create body (C(body)) and fails when the name
    is taken; C(connect) joins it to a further network (C(network), C(aliases)); C(start) is a
    no-op for a running container. The swap makes its new container with these (its
    filter cutover_swap_start_ops builds the body).
  - Only names and Engine statuses are returned, never a container's configuration (its env).
  - Check mode changes nothing and reports what would change.
options:
  ops:
    description:
      - The operations, each C({action, container}) with C(action) one of C(remove), C(stop)
        (C(timeout_s), the grace period before SIGKILL), C(rename) (C(new_name)), C(create)
        (C(body)), C(connect) (C(network), C(aliases)) or C(start). A create body carries env
        values: the task that passes one is no_log (the parameter is not, or Ansible would mask
        the container names in every answer).
    type: list
    elements: dict
    required: true
  docker_host:
    description: The Engine API (unix:///path or tcp://host:port).
    type: str
    default: unix:///var/run/docker.sock
  request_timeout_s:
    description: Seconds to wait for the Engine's answer to one operation (a stop adds its timeout_s).
    type: float
    default: 30
author: cutover
"""

RETURN = r"""
ops:
  description: Each operation done, C({action, container, status, changed}) (C(status) is the Engine's HTTP status).
  type: list
  returned: always
"""

from typing import Any
from urllib.parse import quote, urlencode

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.cutover_engine import docker_host_problem, engine_get, engine_message, engine_request

ACTIONS = ("remove", "stop", "rename", "create", "connect", "start")
STOP_TIMEOUT_S = 10  # the Engine's own default grace period


def stop_timeout(op: dict[str, Any]) -> int:
    """A stop's grace period in whole seconds (op_problems has checked it)."""
    return int(op.get("timeout_s", STOP_TIMEOUT_S))


class OpFailed(Exception):
    pass


def op_problems(ops: list[dict[str, Any]]) -> list[str]:
    """What is wrong with the operations, each naming its field."""
    out = []
    for index, op in enumerate(ops):
        where = f"ops[{index}]"
        if op.get("action") not in ACTIONS:
            out.append(f"{where}.action: expected one of {', '.join(ACTIONS)}, got {op.get('action')!r}")
        if not op.get("container"):
            out.append(f"{where}.container: expected a container name")
        if op.get("action") == "rename" and not op.get("new_name"):
            out.append(f"{where}.new_name: expected the container's new name")
        if op.get("action") == "create" and not isinstance(op.get("body"), dict):
            out.append(f"{where}.body: expected the Engine API create body (a mapping)")
        if op.get("action") == "connect" and not op.get("network"):
            out.append(f"{where}.network: expected the network to connect the container to")
        if op.get("action") == "stop" and not str(op.get("timeout_s", STOP_TIMEOUT_S)).isdigit():
            out.append(f"{where}.timeout_s: expected whole seconds, got {op.get('timeout_s')!r}")
    return out


def request_of(op: dict[str, Any]) -> tuple[str, str, Any]:
    """The Engine API request (method, path, JSON body or None) of one operation."""
    name = quote(str(op["container"]), safe="")
    if op["action"] == "remove":
        return "DELETE", f"/containers/{name}?{urlencode({'force': 'true'})}", None
    if op["action"] == "stop":
        return "POST", f"/containers/{name}/stop?{urlencode({'t': stop_timeout(op)})}", None
    if op["action"] == "create":
        return "POST", f"/containers/create?{urlencode({'name': op['container']})}", op["body"]
    if op["action"] == "connect":
        body = {"Container": op["container"], "EndpointConfig": {"Aliases": list(op.get("aliases") or [])}}
        return "POST", f"/networks/{quote(str(op['network']), safe='')}/connect", body
    if op["action"] == "start":
        return "POST", f"/containers/{name}/start", None
    return "POST", f"/containers/{name}/rename?{urlencode({'name': op['new_name']})}", None


DONE = {"create": 201, "connect": 200}  # the others answer 204 when they did something


def outcome(op: dict[str, Any], status: int, body: bytes) -> bool:
    """Whether the operation changed something; raises OpFailed when the Engine refused it."""
    if status == DONE.get(op["action"], 204):
        return True
    if (op["action"], status) in (("remove", 404), ("stop", 304), ("start", 304)):
        return False
    raise OpFailed(f"{op['action']} {op['container']}: the Engine answered {status}: {engine_message(body)}")


def would_change(docker_host: str, op: dict[str, Any], timeout: float) -> bool:
    """Check mode: whether the operation would change something (read only)."""
    status, data = engine_get(docker_host, f"/containers/{quote(str(op['container']), safe='')}/json", timeout)
    if op["action"] == "remove":
        return status == 200
    if op["action"] in ("stop", "start"):
        running = status == 200 and bool(((data or {}).get("State") or {}).get("Running"))
        return running if op["action"] == "stop" else not running
    return True


def run_ops(params: dict[str, Any], check_mode: bool, done: list[dict[str, Any]]) -> bool:
    """Do the operations in order, appending each one done to `done`; whether any changed.
    Raises OpFailed at the first the Engine refuses (the ones before it stay done)."""
    timeout = float(params["request_timeout_s"])
    for op in params["ops"]:
        status: int | None = None
        if check_mode:
            changed = would_change(params["docker_host"], op, timeout)
        else:
            method, path, payload = request_of(op)
            wait = timeout + (stop_timeout(op) if op["action"] == "stop" else 0)
            status, body = engine_request(params["docker_host"], method, path, wait, payload)
            changed = outcome(op, status, body)
        done.append({"action": op["action"], "container": op["container"], "status": status, "changed": changed})
    return any(op["changed"] for op in done)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "ops": {"type": "list", "elements": "dict", "required": True},
            "docker_host": {"type": "str", "default": "unix:///var/run/docker.sock"},
            "request_timeout_s": {"type": "float", "default": 30},
        },
        supports_check_mode=True,
    )
    problems = op_problems(module.params["ops"])
    problem = docker_host_problem(module.params["docker_host"])
    if problem or problems:
        module.fail_json(msg="; ".join(([problem] if problem else []) + problems))
    done: list[dict[str, Any]] = []
    try:
        changed = run_ops(module.params, module.check_mode, done)
    except OpFailed as exc:
        module.fail_json(msg=str(exc), changed=any(op["changed"] for op in done), ops=done)
    except OSError as exc:
        module.fail_json(
            msg=f"docker_host {module.params['docker_host']}: the Engine API does not answer: {exc}",
            changed=any(op["changed"] for op in done), ops=done,
        )  # fmt: skip
    module.exit_json(changed=changed, ops=done)


if __name__ == "__main__":
    main()
