"""The edge proxy's decisions, pure (unit-tested in tests/unit/test_cutover_edge.py).

  cutover_edge_services(cutover_services, live=None) -> [{name, port, ports, networks, live}]
      The edge's services from the inventory's (container_port, ports, networks); ``live`` maps
      a service name to its live server "container:port" (missing: null).
  cutover_edge_plan(edge_services, project, timeouts, drain_timeout_s)
      -> {published_ports, networks: [{name, aliases}], structure, settings, model}
      Validates first (every problem named at once, before anything changes): a name, a port,
      one edge cannot bind one container_port for two services, nor publish one host port twice,
      and each published port must end in the service's port (the edge binds that one).
  cutover_edge_spec_hash(plan, image_id) -> sha256 of what only a new container can change
      (image, published ports, networks and aliases, service names and ports). Timeouts and the
      drain timeout are settings: a reload applies them.
  cutover_edge_merge_live(model, show) -> model whose services keep the live server a running
      edge reports (``show``: the output of `cutover-edge show`), where it has one.
  cutover_edge_live_map(show) -> {service: "host:port" | None}
  cutover_edge_flip_pairs(flips) -> ["service=host:port" | "service=none"] for `cutover-edge flips`
  cutover_edge_error(stdout, fallback) -> the control program's {"error"} text, else the fallback
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - the unit tests run without ansible on the path too
    AnsibleFilterError = ValueError  # type: ignore[assignment,misc]

_HOSTPORT = re.compile(r"^[A-Za-z0-9_.-]+:\d{1,5}$")
_TIMEOUT_KEYS = ("connect_s", "client_s", "server_s")


def _container_port(spec: str) -> str:
    """'127.0.0.1:3500:3500/tcp' -> '3500'."""
    return str(spec).rsplit(":", 1)[-1].split("/", 1)[0]


def _host_side(spec: str) -> str:
    """'127.0.0.1:3500:3500' -> '127.0.0.1:3500' (what two services must not both publish)."""
    parts = str(spec).split("/", 1)[0].rsplit(":", 1)
    return parts[0]


def cutover_edge_services(cutover_services: Any, live: Any = None) -> list[dict[str, Any]]:
    live_map = dict(live or {})
    out = []
    for svc in cutover_services or []:
        out.append(
            {
                "name": svc.get("name"),
                "port": svc.get("container_port"),
                "ports": list(svc.get("ports") or []),
                "networks": list(svc.get("networks") or []),
                "live": live_map.get(svc.get("name")),
            }
        )
    return out


def _problems(services: list[Any]) -> list[str]:
    problems: list[str] = []
    names: dict[str, int] = {}
    ports: dict[int, str] = {}
    published: dict[str, str] = {}
    for i, svc in enumerate(services):
        where = f"cutover_edge_services[{i}]"
        if not isinstance(svc, dict):
            problems.append(f"{where}: not a mapping")
            continue
        name = svc.get("name")
        if not isinstance(name, str) or not name:
            problems.append(f"{where}.name: missing or empty")
            continue
        where = f"{where} ({name})"
        if name in names:
            problems.append(f"{where}.name: {name} is listed twice")
        names[name] = i
        port = svc.get("port")
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            problems.append(f"{where}.port: not a port number: {port!r}")
        elif port in ports:
            problems.append(
                f"{where}.port: services {ports[port]} and {name} both have container_port {port}: "
                "one edge cannot bind it for two services"
            )
        else:
            ports[port] = name
        for spec in svc.get("ports") or []:
            if not isinstance(spec, str) or not spec:
                problems.append(f"{where}.ports: not a docker port spec: {spec!r}")
                continue
            if isinstance(port, int) and _container_port(spec) != str(port):
                problems.append(
                    f"{where}.ports: {spec} does not end in the service's port {port} (the edge binds {port})"
                )
            host = _host_side(spec)
            if host in published and published[host] != name:
                problems.append(f"{where}.ports: {host} is also published for {published[host]}")
            published.setdefault(host, name)
        networks = svc.get("networks") or []
        if not isinstance(networks, list) or not all(isinstance(n, str) and n for n in networks):
            problems.append(f"{where}.networks: not a list of network names: {networks!r}")
        live = svc.get("live")
        if live is not None and (not isinstance(live, str) or not _HOSTPORT.match(live)):
            problems.append(f"{where}.live: not null nor container:port: {live!r}")
    return problems


def cutover_edge_plan(
    edge_services: Any, project: Any, timeouts: Any = None, drain_timeout_s: Any = 30
) -> dict[str, Any]:
    services = list(edge_services or [])
    problems = _problems(services)
    t = dict(timeouts or {})
    for key in _TIMEOUT_KEYS:
        value = t.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append(f"cutover_edge_timeouts.{key}: not a positive number of seconds: {value!r}")
    if not isinstance(drain_timeout_s, int) or isinstance(drain_timeout_s, bool) or drain_timeout_s < 0:
        problems.append(f"cutover_edge_drain_timeout_s: not a number of seconds: {drain_timeout_s!r}")
    if not project:
        problems.append("cutover_project: empty")
    if problems:
        raise AnsibleFilterError("edge: " + "; ".join(problems))

    published: list[str] = []
    networks: dict[str, list[str]] = {}
    for svc in services:
        for spec in svc.get("ports") or []:
            if spec not in published:
                published.append(spec)
        for net in svc.get("networks") or []:
            aliases = networks.setdefault(net, [])
            if svc["name"] not in aliases:
                aliases.append(svc["name"])
    settings = {"timeouts": {k: t[k] for k in _TIMEOUT_KEYS}, "drain_timeout_s": drain_timeout_s}
    structure = {
        "published_ports": published,
        "networks": [{"name": n, "aliases": a} for n, a in networks.items()],
        "services": [{"name": s["name"], "port": s["port"]} for s in services],
    }
    model = {
        "project": str(project),
        "services": [{"name": s["name"], "port": s["port"], "live": s.get("live")} for s in services],
        **settings,
    }
    return {
        "published_ports": published,
        "networks": structure["networks"],
        "structure": structure,
        "settings": settings,
        "model": model,
    }


def cutover_edge_spec_hash(plan: Any, image_id: Any) -> str:
    doc = {"image": str(image_id or ""), "structure": plan["structure"]}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def cutover_edge_live_map(show: Any) -> dict[str, Any]:
    services = (show or {}).get("services") or {}
    return {name: (entry or {}).get("live") for name, entry in services.items()}


def cutover_edge_merge_live(model: Any, show: Any) -> dict[str, Any]:
    running = cutover_edge_services_state(show)
    merged = dict(model)
    merged["services"] = []
    for svc in model.get("services", []):
        svc = dict(svc)
        cur = running.get(svc["name"])
        if cur and cur.get("live"):
            svc["live"] = cur["live"]
            if cur.get("slot"):
                svc["slot"] = cur["slot"]
        merged["services"].append(svc)
    return merged


def cutover_edge_services_state(show: Any) -> dict[str, dict[str, Any]]:
    services = (show or {}).get("services") or {}
    return {str(k): dict(v or {}) for k, v in services.items()}


def cutover_edge_settings_differ(plan: Any, show: Any) -> bool:
    """True when the running edge's timeouts or drain timeout are not the plan's."""
    show = show or {}
    current = {"timeouts": show.get("timeouts"), "drain_timeout_s": show.get("drain_timeout_s")}
    return bool(current != plan["settings"])


def cutover_edge_flip_pairs(flips: Any) -> list[str]:
    """[{service, to}] -> the arguments of `cutover-edge flips` (to: "host:port", or none/"none")."""
    pairs = []
    for i, flip in enumerate(flips or []):
        if not isinstance(flip, dict) or not flip.get("service"):
            raise AnsibleFilterError(f"cutover_edge_flips[{i}]: needs a service, got {flip!r}")
        target = flip.get("to") or "none"
        if target != "none" and not _HOSTPORT.match(str(target)):
            raise AnsibleFilterError(f"cutover_edge_flips[{i}].to: expected host:port or none, got {target!r}")
        pairs.append(f"{flip['service']}={target}")
    return pairs


def cutover_edge_error(stdout: Any, fallback: Any = "") -> str:
    """What the control program said went wrong: its {"error": ...}, else its output, else fallback."""
    text = str(stdout or "").strip()
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            return text
        if isinstance(doc, dict) and doc.get("error"):
            return str(doc["error"])
        return text
    return text or str(fallback or "no answer")


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "cutover_edge_services": cutover_edge_services,
            "cutover_edge_plan": cutover_edge_plan,
            "cutover_edge_spec_hash": cutover_edge_spec_hash,
            "cutover_edge_live_map": cutover_edge_live_map,
            "cutover_edge_merge_live": cutover_edge_merge_live,
            "cutover_edge_settings_differ": cutover_edge_settings_differ,
            "cutover_edge_flip_pairs": cutover_edge_flip_pairs,
            "cutover_edge_error": cutover_edge_error,
        }
