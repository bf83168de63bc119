"""Checks of the cutover data model that argument specs cannot express.

Filters:
  cutover_model_errors(model) -> list[str]   every problem, each naming its field
  cutover_service_order(services) -> list[str]   dependency order (dependencies first)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PORT_RE = re.compile(
    r"^(?:(?P<ip>\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?"
    r"(?P<host>\d{1,5}):(?P<container>\d{1,5})(?:/(?P<proto>tcp|udp))?$"
)
STRATEGIES = ("recreate",)


def _known(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "none"


def _rel_path_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty relative path"
    if value.startswith("/"):
        return f"'{value}' must be relative to the source repo, not absolute"
    if ".." in value.split("/"):
        return f"'{value}' must not contain '..'"
    return None


def _cycle(services: Sequence[Mapping[str, Any]]) -> list[str] | None:
    """Return one dependency cycle as a list of names (first == last), or None."""
    deps = {
        str(s.get("name")): [str(d) for d in (s.get("depends_on") or [])]
        for s in services
        if isinstance(s, Mapping)
    }
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(deps, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        stack.append(node)
        for dep in deps.get(node, []):
            if dep not in colour:
                continue
            if colour[dep] == grey:
                return [*stack[stack.index(dep) :], dep]
            if colour[dep] == white:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        colour[node] = black
        return None

    for name in deps:
        if colour[name] == white:
            found = visit(name)
            if found:
                return found
    return None


def cutover_service_order(services: Sequence[Mapping[str, Any]]) -> list[str]:
    """Topological order, dependencies first; ties keep the inventory order."""
    names = [str(s["name"]) for s in services]
    deps = {
        str(s["name"]): [str(d) for d in (s.get("depends_on") or []) if d in names]
        for s in services
    }
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(names):
        progressed = False
        for name in names:
            if name not in done and all(d in done for d in deps[name]):
                order.append(name)
                done.add(name)
                progressed = True
                break
        if not progressed:
            raise ValueError(
                f"cutover_services: dependency cycle among {sorted(set(names) - done)}"
            )
    return order


def _check_services(model: Mapping[str, Any], errors: list[str]) -> None:
    services = model.get("cutover_services")
    if not isinstance(services, list) or not services:
        errors.append("cutover_services: must be a non-empty list of services")
        return
    required_env = [str(k) for k in (model.get("cutover_required_env") or [])]
    networks_known = [str(n) for n in (model.get("cutover_required_networks") or [])]
    names = [str(s.get("name")) for s in services if isinstance(s, Mapping)]
    seen: dict[str, int] = {}
    ports_seen: dict[tuple[str, int, str], str] = {}
    for i, svc in enumerate(services):
        f = f"cutover_services[{i}]"
        if not isinstance(svc, Mapping):
            errors.append(f"{f}: must be a mapping, got {type(svc).__name__}")
            continue
        name = svc.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            errors.append(f"{f}.name: '{name}' must match {NAME_RE.pattern}")
        elif name in seen:
            errors.append(
                f"{f}.name: duplicate service name '{name}' (also cutover_services[{seen[name]}])"
            )
        else:
            seen[name] = i
        problem = _rel_path_problem(svc.get("module"))
        if problem:
            errors.append(f"{f}.module: {problem}")
        image = svc.get("image")
        if not isinstance(image, str) or not image or ":" in image.rsplit("/", 1)[-1]:
            errors.append(
                f"{f}.image: '{image}' must be an image name without a tag (the tag is the short SHA)"
            )
        cport = svc.get("container_port")
        if (
            not isinstance(cport, int)
            or isinstance(cport, bool)
            or not 1 <= cport <= 65535
        ):
            errors.append(f"{f}.container_port: '{cport}' must be an integer 1-65535")
        for j, port in enumerate(svc.get("ports") or []):
            m = PORT_RE.match(str(port))
            if not m:
                errors.append(
                    f"{f}.ports[{j}]: '{port}' must look like [ip:]host_port:container_port[/tcp|udp]"
                )
                continue
            hport = int(m.group("host"))
            if not 1 <= hport <= 65535 or not 1 <= int(m.group("container")) <= 65535:
                errors.append(f"{f}.ports[{j}]: '{port}' has a port outside 1-65535")
                continue
            ip = m.group("ip") or "0.0.0.0"
            proto = m.group("proto") or "tcp"
            for (oip, oport, oproto), owner in ports_seen.items():
                if (
                    oport == hport
                    and oproto == proto
                    and (oip == ip or "0.0.0.0" in (oip, ip))
                ):
                    errors.append(
                        f"{f}.ports[{j}]: host port {ip}:{hport}/{proto} already published by {owner}"
                    )
                    break
            ports_seen[(ip, hport, proto)] = f"{f} ({name})"
        for j, net in enumerate(svc.get("networks") or []):
            if networks_known and net not in networks_known:
                errors.append(
                    f"{f}.networks[{j}]: '{net}' is not in cutover_required_networks (known: {_known(networks_known)})"
                )
        for j, key in enumerate(svc.get("env") or []):
            if key not in required_env:
                errors.append(
                    f"{f}.env[{j}]: '{key}' is not in cutover_required_env (known: {_known(required_env)})"
                )
        deps = svc.get("depends_on") or []
        for j, dep in enumerate(deps):
            if dep == name:
                errors.append(
                    f"{f}.depends_on[{j}]: service '{name}' depends on itself"
                )
            elif dep not in names:
                errors.append(
                    f"{f}.depends_on: unknown service '{dep}' (known: {_known(names)})"
                )
        health = svc.get("health")
        if isinstance(health, Mapping):
            url = str(health.get("url") or "")
            if not re.match(r"^https?://", url):
                errors.append(
                    f"{f}.health.url: '{url}' must be an http:// or https:// URL"
                )
            if not health.get("fields"):
                errors.append(
                    f"{f}.health.fields: must list the health fields that must be exactly 'ok'"
                )
        gates = svc.get("gates") or {}
        if isinstance(gates, Mapping):
            for gname, cmd in gates.items():
                if not isinstance(cmd, str) or not cmd.strip():
                    errors.append(f"{f}.gates.{gname}: must be a non-empty command")
    cycle = _cycle([s for s in services if isinstance(s, Mapping)])
    if cycle:
        errors.append(
            f"cutover_services[*].depends_on: dependency cycle {' -> '.join(cycle)}"
        )


def cutover_model_errors(model: Mapping[str, Any]) -> list[str]:
    """Every problem of the model, each message starting with the field it is about."""
    errors: list[str] = []
    project = model.get("cutover_project")
    if not isinstance(project, str) or not NAME_RE.match(project):
        errors.append(f"cutover_project: '{project}' must match {NAME_RE.pattern}")
    root = model.get("cutover_root")
    if not isinstance(root, str) or not root.startswith("/") or root.rstrip("/") == "":
        errors.append(f"cutover_root: '{root}' must be an absolute path other than /")
    ref = model.get("cutover_ref")
    if not isinstance(ref, str) or not ref.strip():
        errors.append(
            "cutover_ref: must be a non-empty git ref (tag, branch or commit)"
        )
    elif ref.startswith("-") or any(c.isspace() for c in ref):
        errors.append(f"cutover_ref: '{ref}' is not a valid git ref")
    repo = model.get("cutover_source_repo")
    if not isinstance(repo, str) or not repo.strip():
        errors.append(
            "cutover_source_repo: must be the path of a git repository on the controller"
        )
    env_file = model.get("cutover_env_file")
    if not isinstance(env_file, str) or not env_file.startswith("/"):
        errors.append(
            f"cutover_env_file: '{env_file}' must be an absolute path on the host"
        )
    retention = model.get("cutover_retention_releases")
    if not isinstance(retention, int) or isinstance(retention, bool) or retention < 1:
        errors.append(
            f"cutover_retention_releases: '{retention}' must be an integer >= 1"
        )
    disk = model.get("cutover_min_free_disk_mb")
    if not isinstance(disk, int) or isinstance(disk, bool) or disk < 0:
        errors.append(f"cutover_min_free_disk_mb: '{disk}' must be an integer >= 0")
    timeout = model.get("cutover_health_timeout_s")
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 1:
        errors.append(f"cutover_health_timeout_s: '{timeout}' must be an integer >= 1")
    strategy = model.get("cutover_swap_strategy")
    if strategy not in STRATEGIES:
        errors.append(
            f"cutover_swap_strategy: '{strategy}' must be one of: {', '.join(STRATEGIES)}"
        )
    required_env = model.get("cutover_required_env") or []
    for j, key in enumerate(required_env):
        if not isinstance(key, str) or not ENV_RE.match(key):
            errors.append(
                f"cutover_required_env[{j}]: '{key}' is not a valid env variable name"
            )
    for j, key in enumerate(model.get("cutover_secret_env") or []):
        if key not in required_env:
            errors.append(
                f"cutover_secret_env[{j}]: '{key}' is not in cutover_required_env (known: {_known(required_env)})"
            )
    for j, net in enumerate(model.get("cutover_required_networks") or []):
        if not isinstance(net, str) or not NAME_RE.match(net.lower()):
            errors.append(
                f"cutover_required_networks[{j}]: '{net}' is not a valid network name"
            )
    _check_services(model, errors)
    migrations = model.get("cutover_migrations")
    if isinstance(migrations, Mapping) and migrations:
        db = migrations.get("database")
        if not isinstance(db, Mapping):
            errors.append(
                "cutover_migrations.database: must be a mapping with env_key (and optional host, port)"
            )
        else:
            if db.get("env_key") not in required_env:
                errors.append(
                    f"cutover_migrations.database.env_key: '{db.get('env_key')}' is not in cutover_required_env"
                    f" (known: {_known(required_env)})"
                )
            port = db.get("port")
            if port is not None and (
                not isinstance(port, int)
                or isinstance(port, bool)
                or not 1 <= port <= 65535
            ):
                errors.append(
                    f"cutover_migrations.database.port: '{port}' must be an integer 1-65535"
                )
        for j, path in enumerate(migrations.get("paths") or []):
            problem = _rel_path_problem(path)
            if problem:
                errors.append(f"cutover_migrations.paths[{j}]: {problem}")
        lto = migrations.get("lock_timeout_s", 30)
        if not isinstance(lto, int) or isinstance(lto, bool) or lto < 1:
            errors.append(
                f"cutover_migrations.lock_timeout_s: '{lto}' must be an integer >= 1"
            )
    return errors


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "cutover_model_errors": cutover_model_errors,
            "cutover_service_order": cutover_service_order,
        }
