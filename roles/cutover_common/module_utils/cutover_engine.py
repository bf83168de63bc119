"""The Docker Engine API over its socket (or tcp), for the project's own modules on the host.

Reads, and the plain container operations (remove, stop, rename, create, connect, start) the
swap chains in one call. Shared by symlink
(roles/<role>/module_utils/cutover_engine.py) like cutover_health_contract.py.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

SCHEMES = ("unix", "tcp", "http")


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def docker_host_problem(docker_host: str) -> str | None:
    """The error for a docker_host this client cannot use, else None."""
    if urlsplit(docker_host).scheme in SCHEMES:
        return None
    return f"docker_host: expected unix:///path or tcp://host:port, got {docker_host}"


def engine_get(docker_host: str, path: str, timeout: float) -> tuple[int, Any]:
    """GET on the Engine API; (status, parsed JSON or None)."""
    status, raw = engine_get_raw(docker_host, path, timeout)
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def engine_get_raw(docker_host: str, path: str, timeout: float) -> tuple[int, bytes]:
    """GET on the Engine API; (status, body bytes)."""
    return engine_request(docker_host, "GET", path, timeout)


def engine_request(docker_host: str, method: str, path: str, timeout: float, body: Any = None) -> tuple[int, bytes]:
    """One Engine API request, with a JSON body when one is given; (status, body bytes)."""
    parts = urlsplit(docker_host)
    if parts.scheme == "unix":
        conn: http.client.HTTPConnection = _UnixConnection(parts.path, timeout)
    elif parts.scheme in ("tcp", "http"):
        conn = http.client.HTTPConnection(parts.hostname or "localhost", parts.port or 2375, timeout=timeout)
    else:
        raise ValueError(docker_host_problem(docker_host))
    try:
        if body is None:
            conn.request(method, path)
        else:
            conn.request(method, path, json.dumps(body).encode(), {"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def engine_message(body: bytes) -> str:
    """The Engine's error message of a response body ({"message": ...}), else the body itself."""
    try:
        doc = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()
    return str(doc.get("message", doc)) if isinstance(doc, dict) else str(doc)


def exit_with_engine_read(module: Any, read: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """The end of a read-only module over the Engine API (an AnsibleModule with a docker_host
    parameter): a docker_host this client cannot use, an Engine that does not answer (OSError) or
    that answers with an error (RuntimeError, its message) fails the task; else the module exits
    unchanged with what ``read(module.params)`` found."""
    problem = docker_host_problem(module.params["docker_host"])
    if problem:
        module.fail_json(msg=problem)
    try:
        found = read(module.params)
    except OSError as exc:
        module.fail_json(msg=f"docker_host {module.params['docker_host']}: the Engine API does not answer: {exc}")
    except RuntimeError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **found)
