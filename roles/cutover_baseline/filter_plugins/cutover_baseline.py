"""The baseline's decisions over what cutover_baseline_facts read on the host (unit-tested).

  cutover_baseline_current(containers, state, services) -> the rollback point:
      {release, commit, source, services: {name: image}}; from state.json once a cutover has
      recorded one, else from the running containers (legacy names first), else none.
  cutover_baseline_problems(facts, state, services, missing_networks, min_free_mb, require_healthy,
                            lock_refusal) -> what the cutover needs and the host lacks, one
      sentence each naming the setting to change (``missing_networks``: the external ones that
      cutover_network_plan found missing; the build creates the project's own).
  cutover_baseline_lines(facts, current, lock) -> the lines the phase prints.
"""

from __future__ import annotations

from typing import Any


def _current_of_state(state: Any) -> dict[str, Any] | None:
    current = (state or {}).get("current") if isinstance(state, dict) else None
    return current if isinstance(current, dict) else None


def cutover_baseline_current(containers: Any, state: Any, services: Any) -> dict[str, Any]:
    current = _current_of_state(state)
    if current is not None:
        return {
            "release": current.get("release"),
            "commit": current.get("commit") or None,
            "source": "state.json",
            "services": {name: (svc or {}).get("image") or "" for name, svc in (current.get("services") or {}).items()},
        }
    by_name = {c.get("name"): c.get("image") for c in containers or []}
    images: dict[str, Any] = {}
    for service in services or []:
        legacy = (service.get("legacy") or {}).get("container")
        if legacy and legacy in by_name:
            images[service["name"]] = by_name[legacy]
        elif service.get("name") in by_name:
            images[service["name"]] = by_name[service["name"]]
    tags = list(dict.fromkeys(str(image).rsplit(":", 1)[-1] for image in images.values()))
    return {
        "release": ",".join(tags) if tags else None,
        "commit": None,
        "source": "running containers" if tags else "none",
        "services": images,
    }


def _expected_containers(state: Any, services: Any) -> list[str]:
    current = _current_of_state(state)
    if current is not None:
        return [(svc or {}).get("container") for svc in (current.get("services") or {}).values()]
    return cutover_baseline_legacy(services)


def cutover_baseline_legacy(services: Any) -> list[str]:
    """The containers that ran the services before any cutover (each service's legacy.container)."""
    return [s["legacy"]["container"] for s in services or [] if (s.get("legacy") or {}).get("container")]


def cutover_baseline_problems(
    facts: Any,
    state: Any,
    services: Any,
    missing_networks: Any,
    min_free_mb: Any,
    require_healthy: Any = False,
    lock_refusal: Any = "",
) -> list[str]:
    out = [
        f"network {name} does not exist (cutover_required_networks; not in cutover_owned_networks,"
        " so it is external: create it first)"
        for name in missing_networks or []
    ]
    for disk in (facts.get("disk") or {}).values():
        if disk.get("free_mb") is not None and disk["free_mb"] < int(min_free_mb):
            out.append(
                f"free disk under {disk['path']} is {disk['free_mb']} MiB, below cutover_min_free_disk_mb={min_free_mb}"
            )
    if lock_refusal:
        out.append(str(lock_refusal))
    if require_healthy:
        running = {c.get("name") for c in facts.get("containers") or [] if c.get("status") == "running"}
        out += [
            f"container {name} of the current release is not running"
            for name in _expected_containers(state, services)
            if name not in running
        ]
    return out


def cutover_baseline_free_mb(facts: Any) -> int | None:
    """The smallest free disk figure measured (None when none could be)."""
    free = [d.get("free_mb") for d in (facts.get("disk") or {}).values() if d.get("free_mb") is not None]
    return min(free) if free else None


def cutover_baseline_lines(facts: Any, current: Any, lock: Any) -> list[str]:
    containers = facts.get("containers") or []
    disk = facts.get("disk") or {}
    owner = (lock.get("owner") or {}) if isinstance(lock.get("owner"), dict) else {}
    return [
        f"engine {facts['engine']['version']}",
        f"current release {current['release']} (from {current['source']})",
        "containers: " + ", ".join(f"{c['name']}/{c['status']}/{c['health']}" for c in containers),
        "free disk MiB: " + ", ".join(f"{label}={d.get('free_mb')}" for label, d in disk.items()),
        "lock: " + (f"held by run {owner.get('run_id', '?')}" if lock.get("held") else "free"),
    ]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "cutover_baseline_current": cutover_baseline_current,
            "cutover_baseline_legacy": cutover_baseline_legacy,
            "cutover_baseline_problems": cutover_baseline_problems,
            "cutover_baseline_free_mb": cutover_baseline_free_mb,
            "cutover_baseline_lines": cutover_baseline_lines,
        }
