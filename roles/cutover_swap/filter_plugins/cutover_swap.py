"""The swap's decisions, kept out of Jinja: what happens to each service, and why a new
container failed.

  cutover_swap_candidates(services, state, release="") -> container names to inspect
  cutover_swap_plan(services, order, release, state, containers, env_checksums, settings)
                                               -> one entry per service, in dependency order
                                                  (settings.absent: the services not in the
                                                  release: "absent", or "retired" when one runs)
  cutover_swap_pending(plan)                   -> the entries that change something
  cutover_swap_layout_problem(state, strategy) -> "" or why the strategy cannot swap this host
  cutover_swap_unhealthy(gate, entry, timeout_s) -> the failure message of a new container
  cutover_swap_probe_targets(services, state)  -> the downtime prober's services: url, existed
  cutover_swap_edge_live(services, plan, new)  -> where the edge proxy sends each service (blue/green)
  cutover_swap_outcome(entry)                  -> what the swap result says of one service
  cutover_swap_public(entry)                   -> what a published plan says (prep's dry run, check mode)
  cutover_swap_in_order(outcomes, order)       -> those outcomes in dependency order

`containers` is the health module's `inspect` answer: per name, the safe fields of a
container (Name, Image, Config.Image, Config.Labels, State) or None; never its env.
A plan entry holds names, images and the config hash only; the env values stay out.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _by_name(services: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {svc["name"]: svc for svc in services}


def _recorded_container(state: Any, service: str) -> str:
    current = _mapping(_mapping(state).get("current"))
    return str(_mapping(_mapping(current.get("services")).get(service)).get("container") or "")


def _legacy_container(svc: dict[str, Any]) -> str:
    return str(_mapping(svc.get("legacy")).get("container") or "")


def _candidates_of(svc: dict[str, Any], state: Any) -> list[str]:
    """The service's own name, the container state.json says serves it, its legacy name."""
    names: list[str] = []
    for name in (svc["name"], _recorded_container(state, svc["name"]), _legacy_container(svc)):
        if name and name not in names:
            names.append(name)
    return names


_RELEASE_SUFFIXES = ("", ".b", ".c", ".d")


def cutover_swap_candidates(services: list[dict[str, Any]], state: Any, release: str = "") -> list[str]:
    """The names to inspect: those that may serve a service, and (blue/green, with the release)
    the names its new container may take, to know which exist."""
    names: list[str] = []
    for svc in services:
        names.extend(n for n in _candidates_of(svc, state) if n not in names)
        if release:
            names.extend(f"{svc['name']}--{release}{suffix}" for suffix in _RELEASE_SUFFIXES)
    return names


def _state_containers(state: Any, service: str) -> set[str]:
    """The containers state.json names for a service (the current and the previous release's)."""
    names = set()
    for release in ("current", "previous"):
        entry = _mapping(_mapping(_mapping(_mapping(state).get(release)).get("services")).get(service))
        names |= {str(entry[k]) for k in ("container", "original_name") if entry.get(k)}
    return names


def _release_container(name: str, release: str, avoid: set[str]) -> str:
    """<service>--<release>, or .b/.c/.d after it, whichever is not a name to avoid: the current and
    kept containers, and every container state.json keeps for a rollback (never replaced)."""
    for suffix in _RELEASE_SUFFIXES:
        if f"{name}--{release}{suffix}" not in avoid:
            return f"{name}--{release}{suffix}"
    raise ValueError(f"{name}: every name for release {release} is taken ({', '.join(sorted(avoid))})")


def _bluegreen(settings: dict[str, Any]) -> bool:
    return settings.get("strategy") == "bluegreen"


def _behind_edge(svc: dict[str, Any], container_name: str) -> bool:
    """A container named <service>--<something> serves behind the edge proxy (blue/green layout)."""
    return container_name.startswith(f"{svc['name']}--")


def config_spec(svc: dict[str, Any], release: str, env_checksum: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The desired container of one service: what the config hash covers. Blue/green: the edge
    proxy publishes the ports and carries the service's name; the container does neither."""
    edge = _bluegreen(settings)
    return {
        "image": f"{svc['image']}:{release}",
        "ports": [] if edge else list(svc.get("ports") or []),
        "networks": networks_param(svc, edge),
        "env_file": f"{settings['root']}/env/{svc['name']}.env",
        "env_checksum": env_checksum,
        "healthcheck": svc.get("healthcheck") or {},
        "restart_policy": settings["restart_policy"],
        "project": settings["project"],
        "service": svc["name"],
        "release": release,
    }


def networks_param(svc: dict[str, Any], behind_edge: bool = False) -> list[dict[str, Any]]:
    """docker_container's networks: each network of the service, with its name as the alias
    (behind the edge proxy the proxy carries that alias; the container keeps only its own name)."""
    return [{"name": net, "aliases": [] if behind_edge else [svc["name"]]} for net in svc.get("networks") or []]


def config_hash(spec: dict[str, Any]) -> str:
    """sha256 of the spec as sorted JSON (the container's cutover.config-hash label)."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def _serves_spec(container: Any, config_hash_: str) -> bool:
    """Running, healthy (or without a healthcheck) and built from the same spec."""
    if not isinstance(container, dict):
        return False
    state = _mapping(container.get("State"))
    labels = _mapping(_mapping(container.get("Config")).get("Labels"))
    health = _mapping(state.get("Health")).get("Status") or "healthy"
    return bool(state.get("Running")) and labels.get("cutover.config-hash") == config_hash_ and health == "healthy"


def _current_of(
    svc: dict[str, Any], state: Any, containers: dict[str, Any]
) -> tuple[dict[str, Any] | None, str, Any, str]:
    """The container that serves the service now (the first candidate that exists), its name,
    its image and its release (state.json's when it is the recorded container, else its tag)."""
    found = [containers[n] for n in _candidates_of(svc, state) if isinstance(containers.get(n), dict)]
    if not found:
        return None, "", None, ""
    current = found[0]
    current_name = str(current.get("Name", "")).lstrip("/")
    from_image = _mapping(current.get("Config")).get("Image")
    recorded_release = _mapping(_mapping(state).get("current")).get("release")
    if current_name == _recorded_container(state, svc["name"]) and recorded_release:
        return current, current_name, from_image, str(recorded_release)
    return current, current_name, from_image, str(from_image or "").split(":")[-1]


def _plan_entry(
    svc: dict[str, Any], release: str, state: Any, containers: dict[str, Any], checksum: str, settings: dict[str, Any]
) -> dict[str, Any]:
    name = svc["name"]
    spec = config_spec(svc, release, checksum, settings)
    hash_ = config_hash(spec)
    current, current_name, from_image, current_release = _current_of(svc, state, containers)
    if _bluegreen(settings):
        return _bluegreen_entry(svc, spec, hash_, (current, current_name, from_image, current_release), containers,
                                state)
    serving = containers.get(name) if isinstance(containers.get(name), dict) else None
    action = "unchanged" if _serves_spec(serving, hash_) else "replaced" if current else "added"
    kept = f"{name}--{current_release}" if current and action != "unchanged" else None
    if action == "unchanged":
        line = f"{name}: unchanged ({spec['image']})"
    elif action == "replaced":
        line = f"{name}: replaced {from_image} -> {spec['image']}, keep {kept}"
    else:
        line = f"{name}: added -> {spec['image']}"
    return _entry(svc, spec, hash_, action, kept, name, (current, current_name, from_image, current_release), line)


def _entry(
    svc: dict[str, Any],
    spec: dict[str, Any],
    hash_: str,
    action: str,
    kept: str | None,
    container: str,
    found: tuple[dict[str, Any] | None, str, Any, str],
    line: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    current, current_name, from_image, current_release = found
    return {
        "name": svc["name"],
        "action": action,
        "from": from_image,
        "to": spec["image"],
        "image": spec["image"],
        "kept_container": kept,
        "container": container,
        "current_name": current_name,
        "current_release": current_release,
        "config_hash": hash_,
        "networks": spec["networks"],
        "ports": spec["ports"],
        "line": line,
        # What state.json records before the service is touched (the rollback's map).
        "record": {
            "kept_container": kept,
            "original_name": current_name or None,
            "new": not current,
            "image": from_image,
            "image_id": current.get("Image") if current else None,
            "release": current_release or None,
        }
        | (extra or {}),
    }


def _bluegreen_entry(
    svc: dict[str, Any],
    spec: dict[str, Any],
    hash_: str,
    found: tuple[dict[str, Any] | None, str, Any, str],
    containers: dict[str, Any],
    state: Any,
) -> dict[str, Any]:
    """Blue/green: the new container <service>--<release> starts beside the one that serves,
    the edge proxy flips to it, and the old one keeps running until verify has passed.

    A current container of the old layout (it publishes the port itself: named after the
    service, or a legacy name) is handed over: stopped and kept as <service>--<its release>
    once every new container is healthy, when the edge proxy takes the ports (`handover`)."""
    name = svc["name"]
    current, current_name, from_image, current_release = found
    if current and _behind_edge(svc, current_name) and _serves_spec(current, hash_):
        line = f"{name}: unchanged ({spec['image']}, {current_name})"
        return _entry(svc, spec, hash_, "unchanged", None, current_name, found, line, {"edge": True})
    handover = bool(current) and not _behind_edge(svc, current_name)
    kept = (f"{name}--{current_release}" if handover else current_name) if current else None
    # The same release again with a changed config, or a release whose kept container has its name.
    container = _release_container(name, spec["release"], {kept or "", current_name, *_state_containers(state, name)})
    if current:
        how = "hand the port over to the edge, " if handover else ""
        line = f"{name}: replaced {from_image} -> {spec['image']} as {container}, {how}keep {kept} (blue/green)"
    else:
        line = f"{name}: added -> {spec['image']} as {container} (blue/green)"
    extra = {"edge": True, "container": container, "kept_behind_edge": bool(current) and not handover}
    entry = _entry(svc, spec, hash_, "replaced" if current else "added", kept, container, found, line, extra)
    entry["handover"] = handover
    entry["stale"] = container if isinstance(containers.get(container), dict) else ""
    return entry


def _absent_entry(svc: dict[str, Any], release: str, state: Any, containers: dict[str, Any]) -> dict[str, Any]:
    """A service the release does not have: nothing to do, or the container that serves it is
    stopped and kept as <service>--<its release> (the rollback restores it)."""
    name = svc["name"]
    current, current_name, from_image, current_release = _current_of(svc, state, containers)
    kept = None
    if current:
        kept = current_name if _behind_edge(svc, current_name) else f"{name}--{current_release}"
    if current and current_name == kept and not _mapping(current.get("State")).get("Running"):
        current = None  # already kept under that name (an earlier retirement)
    entry = {"name": name, "action": "retired" if current else "absent", "from": from_image if current else None,
             "to": None, "image": None, "kept_container": kept if current else None,
             "current_name": current_name if current else "", "current_release": current_release if current else "",
             "config_hash": "", "networks": []}  # fmt: skip
    if not current:
        return entry | {"line": f"{name}: not in release {release}", "record": {}}
    return entry | {
        "line": f"{name}: not in release {release}: stop {current_name} ({from_image}), keep {kept}",
        "record": {"kept_container": kept, "original_name": current_name, "new": False, "retired": True,
                   "image": from_image, "image_id": current.get("Image"), "release": current_release or None}
        # behind the edge proxy the way back is a flip to the kept container
        | ({"edge": True, "kept_behind_edge": True} if _behind_edge(svc, current_name) else {}),
    }  # fmt: skip


def cutover_swap_plan(
    services: list[dict[str, Any]],
    order: list[str],
    release: str,
    state: Any,
    containers: Any,
    env_checksums: Any,
    settings: dict[str, Any],
) -> list[dict[str, Any]]:
    by_name = _by_name(services)
    checksums = _mapping(env_checksums)
    absent = set(settings.get("absent") or [])
    return [
        _absent_entry(by_name[name], str(release), state, _mapping(containers))
        if name in absent
        else _plan_entry(
            by_name[name], str(release), state, _mapping(containers), str(checksums.get(name, "")), settings
        )
        for name in order
    ]


def cutover_swap_layout_problem(state: Any, strategy: str) -> str:
    """"" or why the strategy cannot swap this host: behind the edge proxy (blue/green) the
    proxy holds the ports, so a recreate (containers that publish them) would collide."""
    current = _mapping(_mapping(state).get("current"))
    behind = sorted(n for n, s in _mapping(current.get("services")).items() if _mapping(s).get("edge"))
    if strategy != "bluegreen" and behind:
        return (f"cutover_swap_strategy: '{strategy}' cannot swap this host: release {current.get('release')} serves "
                f"behind the edge proxy ({', '.join(behind)}), which holds the ports; use bluegreen")  # fmt: skip
    return ""


def cutover_swap_pending(plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in plan if entry["action"] not in ("unchanged", "absent")]


def cutover_swap_levels(pending: list[dict[str, Any]], services: list[dict[str, Any]]) -> list[list[str]]:
    """The services that change, in levels swapped together: a service goes one level after the
    last pending service it depends on, directly or through services that stay as they are; no
    service of a level depends on another of it. Each level keeps the plan's order."""
    deps = {svc["name"]: list(svc.get("depends_on") or []) for svc in services}

    def closure(name: str) -> set[str]:
        seen: set[str] = set()
        todo = list(deps.get(name, []))
        while todo:
            dep = todo.pop()
            if dep not in seen:
                seen.add(dep)
                todo.extend(deps.get(dep, []))
        return seen

    level: dict[str, int] = {}
    for entry in pending:  # the plan is in dependency order: a dependency comes first
        name = entry["name"]
        level[name] = 1 + max((level[dep] for dep in closure(name) if dep in level), default=-1)
    return [[name for name in level if level[name] == index] for index in range(max(level.values(), default=-1) + 1)]


def cutover_swap_level_served(entries: list[dict[str, Any]], gates: Any) -> list[dict[str, Any]]:
    """The outcomes of a recreated level's services that are done: those the release lacks (stopped
    and kept) and those whose new container passed its gate; a failed one is not recorded."""
    gates = _mapping(gates)
    return [cutover_swap_outcome(entry) for entry in entries
            if entry["action"] == "retired" or _mapping(gates.get(entry["name"])).get("ok")]  # fmt: skip


def cutover_swap_retired(entries: list[dict[str, Any]], behind_edge: bool) -> list[dict[str, Any]]:
    """The entries of services the release lacks whose container serves behind the edge proxy
    (behind_edge=true: taken off the edge, then stopped) or not (stopped and kept, as recreate)."""
    return [
        entry
        for entry in entries
        if entry["action"] == "retired" and bool(_mapping(entry.get("record")).get("edge")) == behind_edge
    ]


def cutover_swap_edge_flips(entries: list[dict[str, Any]], services: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The edge flips of a blue/green level, for one call (cutover_edge flips.yml): each new container
    takes its service's traffic; a service the release lacks behind the edge goes to none (503)."""
    ports = {svc["name"]: svc.get("container_port") for svc in services}
    flips = []
    for entry in entries:
        if entry["action"] != "retired":
            flips.append({"service": entry["name"], "to": f"{entry['container']}:{ports.get(entry['name'])}"})
        elif _mapping(entry.get("record")).get("edge"):
            flips.append({"service": entry["name"], "to": "none"})
    return flips


def cutover_swap_diagnoses(gates: Any) -> dict[str, Any]:
    """The health module's diagnosis of each container whose gate failed."""
    return {name: _mapping(gate).get("diagnosis") or {} for name, gate in _mapping(gates).items()
            if not _mapping(gate).get("ok")}  # fmt: skip


def cutover_swap_level_failure(gates: Any, entries: list[dict[str, Any]], timeout_s: Any) -> str:
    """Why the new containers of a level did not become healthy: one clause per service that failed."""
    gates = _mapping(gates)
    return "; ".join(
        cutover_swap_unhealthy(gates.get(entry["name"]), entry, timeout_s)
        for entry in entries
        if not _mapping(gates.get(entry["name"])).get("ok")
    )


def _last_line(text: Any) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[-1] if lines else ""


def cutover_swap_unhealthy(gate: Any, entry: dict[str, Any], timeout_s: Any) -> str:
    """Why the new container of a service did not become healthy, in one line.

    `gate` is the health module's finding for the container (with its `diagnosis`).
    """
    gate = _mapping(gate)
    diagnosis = _mapping(gate.get("diagnosis"))
    verdict = str(gate.get("verdict") or "")
    if verdict in ("", "timeout"):
        when = f"within {timeout_s}s"
    else:
        when = f"(it failed after {gate.get('waited_s', 0)}s: the gate did not wait out {timeout_s}s)"
    if not diagnosis.get("exists"):
        reason = f"container not created (image {entry['image']} missing or invalid spec)"
    elif not diagnosis.get("running"):
        reason = f"container {diagnosis.get('status')}, exit code {diagnosis.get('exit_code')}"
    elif gate.get("problems") and diagnosis.get("health") in ("healthy", "none"):
        # Docker is content; the service's own health answer breaks its contract.
        reason = "health contract: " + ", ".join(str(p) for p in gate["problems"])
    else:
        reason = f"health {diagnosis.get('health') or 'none'}"
        answer = _mapping(diagnosis.get("health_answer"))
        if answer and answer.get("status_code", -1) != -1:
            body = str(answer.get("body") or "")
            body = body if len(body) <= 300 else body[:297] + "..."
            reason += f", {answer.get('url')} answers HTTP {answer.get('status_code')} {body}"
        elif diagnosis.get("last_health_checks"):
            reason += f", last check: {_last_line(diagnosis['last_health_checks'][-1])}"
    return f"{entry['name']}: new container never became healthy {when}: {reason}"


def cutover_swap_probe_targets(services: list[dict[str, Any]], state: Any) -> dict[str, dict[str, Any]]:
    """Each service with a health URL; `existed`: it served before this swap (a gap counts)."""
    known = _mapping(_mapping(_mapping(state).get("current")).get("services"))
    targets = {}
    for svc in services:
        url = _mapping(svc.get("health")).get("url")
        if url:
            existed = bool(known.get(svc["name"])) if known else bool(_legacy_container(svc))
            targets[svc["name"]] = {"url": url, "existed": existed}
    return targets


def cutover_swap_edge_live(services: list[dict[str, Any]], plan: list[dict[str, Any]], new: bool) -> dict[str, Any]:
    """Where the edge proxy sends each service's traffic ("container:port", the live map of the
    edge role's cutover_edge_services): the new container (new=true: the hand-over) or the one
    that serves now behind the edge; none for a service not (yet) behind it, which answers 503."""
    by_name = {entry["name"]: entry for entry in plan}
    live_map: dict[str, Any] = {}
    for svc in services:
        entry = _mapping(by_name.get(svc["name"]))
        live = None
        unchanged = entry.get("action") == "unchanged" and _behind_edge(svc, str(entry.get("container") or ""))
        if unchanged or (new and entry.get("action") in ("replaced", "added")):
            live = entry["container"]
        elif _mapping(entry.get("record")).get("kept_behind_edge"):
            live = entry.get("current_name") or None
        port = svc.get("container_port")
        live_map[svc["name"]] = f"{live}:{port}" if live and port else None
    return live_map


def cutover_swap_retire_ops(entry: dict[str, Any], stop_timeout_s: Any) -> list[dict[str, Any]]:
    """The container operations (library/cutover_container_ops.py) that retire a service's current
    container: remove a stale container already named as the kept one, stop the current one and
    keep it under that name. Nothing when the service has no current container."""
    current, kept = entry.get("current_name") or "", entry.get("kept_container") or ""
    if not current:
        return []
    stop = {"action": "stop", "container": current, "timeout_s": int(stop_timeout_s)}
    if not kept or kept == current:
        return [stop]
    return [
        {"action": "remove", "container": kept},
        stop,
        {"action": "rename", "container": current, "new_name": kept},
    ]


def cutover_swap_outcome(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: entry[key] for key in ("name", "action", "image", "kept_container")}


def cutover_swap_public(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: entry[key] for key in ("name", "action", "from", "to", "kept_container", "line")}


def cutover_swap_in_order(outcomes: list[dict[str, Any]], order: list[str]) -> list[dict[str, Any]]:
    rank = {name: index for index, name in enumerate(order)}
    return sorted(outcomes, key=lambda outcome: rank.get(outcome["name"], len(rank)))


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "cutover_swap_candidates": cutover_swap_candidates,
            "cutover_swap_plan": cutover_swap_plan,
            "cutover_swap_pending": cutover_swap_pending,
            "cutover_swap_levels": cutover_swap_levels,
            "cutover_swap_level_failure": cutover_swap_level_failure,
            "cutover_swap_diagnoses": cutover_swap_diagnoses,
            "cutover_swap_level_served": cutover_swap_level_served,
            "cutover_swap_retired": cutover_swap_retired,
            "cutover_swap_edge_flips": cutover_swap_edge_flips,
            "cutover_swap_layout_problem": cutover_swap_layout_problem,
            "cutover_swap_unhealthy": cutover_swap_unhealthy,
            "cutover_swap_probe_targets": cutover_swap_probe_targets,
            "cutover_swap_outcome": cutover_swap_outcome,
            "cutover_swap_retire_ops": cutover_swap_retire_ops,
            "cutover_swap_edge_live": cutover_swap_edge_live,
            "cutover_swap_public": cutover_swap_public,
            "cutover_swap_in_order": cutover_swap_in_order,
        }
