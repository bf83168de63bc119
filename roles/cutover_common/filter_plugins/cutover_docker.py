"""Where the Docker Engine API of a host is: ``cutover_docker_host`` -> a request for ansible.builtin.uri.

Every Engine API call of the package honours one inventory variable, ``cutover_docker_host``
(default ``unix:///var/run/docker.sock``; also ``tcp://host:port``). community.docker modules
get it as ``docker_host`` through the phase plays' ``module_defaults``; the raw calls made with
``ansible.builtin.uri`` (stop, rename, start, logs) build their URL here, so the socket-or-URL
decision and the quoting of container names live in one tested place. The roles that make raw
calls carry a symlink to this file in their own ``filter_plugins/``; the validator loads it
for ``docker_host_problem``. Pure stdlib, no Ansible import.

Filters:
  cutover_docker_api(docker_host, path, query=None) -> {url, unix_socket}
      path: a list of segments (each percent-encoded, e.g. ['containers', name, 'rename'])
            or a string that starts with '/' (used as written);
      query: a mapping (values percent-encoded; true/false become 1/0; none is left out).
      unix_socket is the socket path, or none for tcp:// (use
      ``unix_socket: "{{ api.unix_socket | default(omit, true) }}"``).
  cutover_docker_host_problem(docker_host) -> str      "" when valid, else what is wrong
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
FIELD = "cutover_docker_host"

_HOSTNAME = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
_IPV6 = r"\[[0-9A-Fa-f:.]+\]"
TCP_RE = re.compile(rf"^tcp://(?P<host>{_HOSTNAME}|{_IPV6}):(?P<port>[0-9]{{1,5}})/?$")
EXPECTED = "expected unix:///absolute/path/to/docker.sock or tcp://host:port"


class DockerHostError(ValueError):
    """A cutover_docker_host that names no Engine endpoint (the message names the field)."""


def docker_host_problem(value: Any) -> str:
    """'' when ``value`` is a Docker endpoint the package can use, else what is wrong (no field name)."""
    if value is None:
        return ""  # not set: the default applies
    if not isinstance(value, str) or not value.strip():
        return f"{value!r} is not a Docker endpoint ({EXPECTED})"
    if value != value.strip():
        return f"'{value}' has leading or trailing whitespace ({EXPECTED})"
    if value.startswith("unix://"):
        path = value[len("unix://"):]
        if not path.startswith("/"):
            return f"'{value}': the socket path must be absolute ({EXPECTED})"
        if posixpath.normpath(path) != path or path == "/":
            return f"'{value}': the socket path must be normalised, without '.', '..' or '//' ({EXPECTED})"
        if any(c in path for c in "?#%\x00") or any(c.isspace() for c in path):
            return f"'{value}': the socket path must not contain whitespace, '?', '#' or '%'"
        return ""
    match = TCP_RE.match(value)
    if value.startswith("tcp://"):
        if not match:
            return f"'{value}' is not tcp://host:port ({EXPECTED})"
        port = int(match.group("port"))
        if not 1 <= port <= 65535:
            return f"'{value}': port {port} is not 1-65535"
        return ""
    scheme = value.split("://", 1)[0] if "://" in value else ""
    hint = f"scheme '{scheme}' is not supported" if scheme else "no scheme"
    return f"'{value}': {hint} ({EXPECTED})"


def cutover_docker_host_problem(value: Any) -> str:
    """Filter form of :func:`docker_host_problem`, the message prefixed with the field name."""
    problem = docker_host_problem(value)
    return f"{FIELD}: {problem}" if problem else ""


def _path(path: str | Sequence[Any]) -> str:
    if isinstance(path, str):
        if not path.startswith("/"):
            raise DockerHostError(f"Engine API path '{path}' must start with '/' (or be a list of segments)")
        return path
    if not isinstance(path, Sequence) or not path:
        raise DockerHostError(f"Engine API path {path!r}: expected a non-empty list of segments")
    segments = []
    for segment in path:
        text = str(segment)
        if not text:
            raise DockerHostError(f"Engine API path {list(path)!r}: empty segment")
        segments.append(quote(text, safe=""))
    return "/" + "/".join(segments)


def _query(query: Mapping[str, Any] | None) -> str:
    if not query:
        return ""
    if not isinstance(query, Mapping):
        raise DockerHostError(f"Engine API query {query!r}: expected a mapping")
    pairs = []
    for key, value in query.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = int(value)
        pairs.append((str(key), str(value)))
    return "?" + urlencode(pairs, quote_via=quote, safe="") if pairs else ""


def cutover_docker_api(
    docker_host: Any, path: str | Sequence[Any], query: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The URL (and unix socket) of one Engine API request on the host."""
    host = DEFAULT_DOCKER_HOST if docker_host in (None, "") else docker_host
    problem = docker_host_problem(host)
    if problem:
        raise DockerHostError(f"{FIELD}: {problem}")
    tail = _path(path) + _query(query)
    if host.startswith("unix://"):
        # The host part of the URL is ignored on a unix socket; "localhost" keeps it valid.
        return {"url": "http://localhost" + tail, "unix_socket": host[len("unix://"):]}
    match = TCP_RE.match(host)
    assert match is not None  # checked above
    return {"url": f"http://{match.group('host')}:{match.group('port')}{tail}", "unix_socket": None}


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "cutover_docker_api": cutover_docker_api,
            "cutover_docker_host_problem": cutover_docker_host_problem,
        }
