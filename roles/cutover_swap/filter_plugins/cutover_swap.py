"""The swap's decisions, kept out of Jinja: what happens to each service, and why a new
container failed.

  cutover_swap_candidates(services, state)     -> container names that may serve a service
  cutover_swap_plan(services, order, release, state, containers, env_checksums, settings)
                                               -> one entry per service, in dependency order
                                                  (settings.absent: the services not in the
                                                  release: "absent", or "retired" when one runs)
  cutover_swap_pending(plan)                   -> the entries that change something
  cutover_swap_unhealthy(gate, entry, timeout_s) -> the failure message of a new container
  cutover_swap_probe_targets(services, state)  -> the downtime prober's services: url, existed
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


def cutover_swap_candidates(services: list[dict[str, Any]], state: Any) -> list[str]:
    names: list[str] = []
    for svc in services:
        names.extend(n for n in _candidates_of(svc, state) if n not in names)
    return names


def config_spec(svc: dict[str, Any], release: str, env_checksum: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The desired container of one service: what the config hash covers."""
    return {
        "image": f"{svc['image']}:{release}",
        "ports": list(svc.get("ports") or []),
        "networks": networks_param(svc),
        "env_file": f"{settings['root']}/env/{svc['name']}.env",
        "env_checksum": env_checksum,
        "healthcheck": svc.get("healthcheck") or {},
        "restart_policy": settings["restart_policy"],
        "project": settings["project"],
        "service": svc["name"],
        "release": release,
    }


def networks_param(svc: dict[str, Any]) -> list[dict[str, Any]]:
    """docker_container's networks: each network of the service, with its name as the alias."""
    return [{"name": net, "aliases": [svc["name"]]} for net in svc.get("networks") or []]


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
    serving = containers.get(name) if isinstance(containers.get(name), dict) else None
    action = "unchanged" if _serves_spec(serving, hash_) else "replaced" if current else "added"
    kept = f"{name}--{current_release}" if current and action != "unchanged" else None
    if action == "unchanged":
        line = f"{name}: unchanged ({spec['image']})"
    elif action == "replaced":
        line = f"{name}: replaced {from_image} -> {spec['image']}, keep {kept}"
    else:
        line = f"{name}: added -> {spec['image']}"
    return {
        "name": name,
        "action": action,
        "from": from_image,
        "to": spec["image"],
        "image": spec["image"],
        "kept_container": kept,
        "current_name": current_name,
        "current_release": current_release,
        "config_hash": hash_,
        "networks": spec["networks"],
        "line": line,
        # What state.json records before the service is touched (the rollback's map).
        "record": {
            "kept_container": kept,
            "original_name": current_name or None,
            "new": not current,
            "image": from_image,
            "image_id": current.get("Image") if current else None,
            "release": current_release or None,
        },
    }


def _absent_entry(svc: dict[str, Any], release: str, state: Any, containers: dict[str, Any]) -> dict[str, Any]:
    """A service the release does not have: nothing to do, or the container that serves it is
    stopped and kept as <service>--<its release> (the rollback restores it)."""
    name = svc["name"]
    current, current_name, from_image, current_release = _current_of(svc, state, containers)
    kept = f"{name}--{current_release}" if current else None
    if current and current_name == kept:
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
                   "image": from_image, "image_id": current.get("Image"), "release": current_release or None},
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


def cutover_swap_pending(plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in plan if entry["action"] not in ("unchanged", "absent")]


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
            "cutover_swap_unhealthy": cutover_swap_unhealthy,
            "cutover_swap_probe_targets": cutover_swap_probe_targets,
            "cutover_swap_outcome": cutover_swap_outcome,
            "cutover_swap_public": cutover_swap_public,
            "cutover_swap_in_order": cutover_swap_in_order,
        }
