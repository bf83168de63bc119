"""The new container of a service as Engine API operations, kept out of Jinja (unit-tested).

  cutover_swap_level_start_ops(entries, services, envs, settings)
      -> the ops of every new container of a swap level (labels made here), in order
  cutover_swap_start_ops(entry, env, labels, restart_policy, healthcheck)
      -> [remove?, create, connect..., start] for library/cutover_container_ops.py
      ``entry`` is a swap plan entry (container, image, ports, networks, stale); ``env`` the
      service's env ({KEY: value} as cutover_envfile_select gives it, or a ``KEY=value`` list);
      ``healthcheck`` the service's (community.docker.docker_container's format: test as a
      string or a list, durations such as ``2s`` or ``1m30s``, retries). The first network
      goes in the create body (Engine API 1.41 takes one), the others are connected before the
      start. An entry with ``stale`` (blue/green: a stopped container of an earlier attempt
      already has the new name) removes that container first. The create body carries env
      values: the task that passes it is no_log.

What docker_container (networks_cli_compatible, network_mode = the first network) made of the
same fields, so a container made either way serves the same.
"""

from __future__ import annotations

import re
from typing import Any

DURATION_RE = re.compile(
    r"^((?P<hours>\d+)h)?((?P<minutes>\d+)m(?!s))?((?P<seconds>\d+)s)?((?P<milliseconds>\d+)ms)?((?P<microseconds>\d+)us)?$"
)
NS = {"hours": 3600 * 10**9, "minutes": 60 * 10**9, "seconds": 10**9, "milliseconds": 10**6, "microseconds": 10**3}
HEALTH_DURATIONS = {"interval": "Interval", "timeout": "Timeout", "start_period": "StartPeriod",
                    "start_interval": "StartInterval"}  # fmt: skip
PORT_RE = re.compile(
    r"^(?:(?P<ip>\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(?P<host>\d{1,5}):(?P<container>\d{1,5})(?:/(?P<proto>tcp|udp))?$"
)


def duration_ns(text: Any) -> int:
    """'1m30s' -> 90_000_000_000 (Docker's duration units h, m, s, ms, us)."""
    match = DURATION_RE.match(str(text))
    if not match or not text:
        raise ValueError(f"{text!r} is not a duration such as 2s, 500ms or 1m30s")
    return sum(int(v) * NS[k] for k, v in match.groupdict().items() if v)


def healthcheck_body(healthcheck: Any) -> dict[str, Any] | None:
    """The Engine's HealthConfig, or None to keep the image's own healthcheck."""
    hc = dict(healthcheck or {})
    test = hc.get("test")
    if not test:
        return None
    body: dict[str, Any] = {"Test": [str(t) for t in test] if isinstance(test, list) else ["CMD-SHELL", str(test)]}
    for key, field in HEALTH_DURATIONS.items():
        if hc.get(key):
            body[field] = duration_ns(hc[key])
    if hc.get("retries") not in (None, ""):
        body["Retries"] = int(hc["retries"])
    return body


def port_bindings(ports: Any) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    """(ExposedPorts, PortBindings) of '[ip:]host:container[/proto]' strings."""
    exposed: dict[str, Any] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for port in ports or []:
        match = PORT_RE.match(str(port))
        if not match:
            raise ValueError(f"{port!r} is not a port such as 127.0.0.1:8080:80 or 8080:80/udp")
        key = f"{match['container']}/{match['proto'] or 'tcp'}"
        exposed[key] = {}
        bindings.setdefault(key, []).append({"HostIp": (match["ip"] or "").strip("[]"), "HostPort": match["host"]})
    return exposed, bindings


def cutover_swap_start_ops(
    entry: dict[str, Any], env: Any, labels: Any, restart_policy: str, healthcheck: Any = None
) -> list[dict[str, Any]]:
    name = str(entry["container"])
    networks = [
        {"network": str(n["name"]), "aliases": list(n.get("aliases") or [])} for n in entry.get("networks") or []
    ]
    exposed, bindings = port_bindings(entry.get("ports"))
    host: dict[str, Any] = {"PortBindings": bindings, "RestartPolicy": {"Name": restart_policy}}
    body: dict[str, Any] = {
        "Image": str(entry["image"]),
        "Env": [f"{k}={v}" for k, v in env.items()] if isinstance(env, dict) else [str(e) for e in env or []],
        "Labels": {str(k): str(v) for k, v in dict(labels or {}).items()},
        "ExposedPorts": exposed,
        "HostConfig": host,
    }
    health = healthcheck_body(healthcheck)
    if health:
        body["Healthcheck"] = health
    if networks:
        host["NetworkMode"] = networks[0]["network"]
        body["NetworkingConfig"] = {"EndpointsConfig": {networks[0]["network"]: {"Aliases": networks[0]["aliases"]}}}
    ops: list[dict[str, Any]] = [{"action": "remove", "container": str(entry["stale"])}] if entry.get("stale") else []
    ops.append({"action": "create", "container": name, "body": body})
    ops += [{"action": "connect", "container": name, "network": n["network"], "aliases": n["aliases"]}
            for n in networks[1:]]  # fmt: skip
    ops.append({"action": "start", "container": name})
    return ops


def cutover_swap_level_start_ops(
    entries: list[dict[str, Any]], services: list[dict[str, Any]], envs: Any, settings: dict[str, Any]
) -> list[dict[str, Any]]:
    """The start operations of every new container of a level, in the level's order (a service the
    release does not have starts nothing). ``envs``: each service's env (cutover_envfile_per_service);
    ``settings``: project, release, restart_policy. Each container is labelled with its project,
    service, release, config hash and layout (edge: behind the edge proxy; else published)."""
    by_name = {svc["name"]: svc for svc in services}
    ops: list[dict[str, Any]] = []
    for entry in entries:
        if entry.get("action") == "retired":
            continue
        svc = by_name[entry["name"]]
        labels = {
            "cutover.project": settings["project"],
            "cutover.service": svc["name"],
            "cutover.release": settings["release"],
            "cutover.config-hash": entry["config_hash"],
            "cutover.layout": "edge" if dict(entry.get("record") or {}).get("edge") else "published",
        }
        env = dict(envs or {}).get(svc["name"]) or {}
        ops += cutover_swap_start_ops(entry, env, labels, settings["restart_policy"], svc.get("healthcheck") or {})
    return ops


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"cutover_swap_start_ops": cutover_swap_start_ops,
                "cutover_swap_level_start_ops": cutover_swap_level_start_ops}  # fmt: skip
