"""Recertification: compare what runs on the host with the declared release.

Filter:
  containers | cutover_recert(services=..., current=..., project=..., root=...,
                              legacy_dirs_present=..., health=..., lock=...,
                              fail_on_leftovers=...) -> dict

`containers` is docker_host_info's verbose container list. The result:
  release     the release that runs (the old layout's image tag before any committed cutover)
  drift       differences from the declared release (each one fails recert)
  leftovers   pieces of the old layout still on the host (fail recert when fail_on_leftovers)
  containers  name, image, state, status of every container that belongs to the release
  serving     how many of the release's containers run
  health      the health results passed in
  lock_held   whether the deploy lock is still held
  ok          no drift, and no leftovers when they count
"""

from __future__ import annotations

import re
from typing import Any


def _summary(name: str, container: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "image": container.get("Image"),
        "state": container.get("State"),
        "status": container.get("Status"),
    }


def _counted(
    by_name: dict[str, dict[str, Any]], name: str, found: dict[str, Any], missing: str
) -> dict[str, Any] | None:
    """The release's container called `name`, listed and counted; absent (`missing`) or not running is drift."""
    container = by_name.get(name)
    if container is None:
        found["drift"].append(missing)
        return None
    found["containers"].append(_summary(name, container))
    if container.get("State") != "running":
        found["drift"].append(f"{name}: container is {container.get('State')}")
    else:
        found["serving"] += 1
    return container


def _by_name(containers: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {(c.get("Names") or ["?"])[0].lstrip("/"): c for c in containers}


def _legacy_layout(
    by_name: dict[str, dict[str, Any]], services: list[dict[str, Any]], found: dict[str, Any]
) -> str:
    """No cutover committed yet: the declared release is one legacy container per service that has one."""
    tags: list[str] = []
    for svc in services:
        legacy = svc.get("legacy") or {}
        if "container" in legacy:
            name = legacy["container"]
            missing = f"{svc['name']}: no legacy container named {name}"
            container = _counted(by_name, name, found, missing)
            if container is None:
                continue
            image = str(container.get("Image", ""))
            if image.startswith(svc["image"] + ":"):
                tags.append(image[len(svc["image"]) + 1 :])
            else:
                found["drift"].append(
                    f"{name}: runs {image}, declared {svc['image']}:<old release>"
                )
        elif svc["name"] in by_name:
            found["drift"].append(
                f"{svc['name']}: container exists ({by_name[svc['name']].get('State')})"
                " but the service is not part of the running release"
            )
    distinct = sorted(set(tags))
    if len(distinct) > 1:
        found["drift"].append("legacy containers run different releases: " + ", ".join(distinct))
    return ",".join(distinct)


def _serving_name(current: Any, service: str) -> str:
    """The container that serves a service: state.json's (<service>--<release> behind the edge
    proxy), else the one named after the service."""
    services = current.get("services") if isinstance(current, dict) else None
    recorded = services.get(service) if isinstance(services, dict) else None
    return str((recorded or {}).get("container") or service) if isinstance(recorded, dict) else service


def _committed_release(
    by_name: dict[str, dict[str, Any]],
    services: list[dict[str, Any]],
    release: str,
    project: str,
    found: dict[str, Any],
    current: Any = None,
) -> None:
    for svc in services:
        name = svc["name"]
        serving = _serving_name(current, name)
        container = _counted(by_name, serving, found, f"{name}: no container named {serving}")
        if container is None:
            continue
        want = f"{svc['image']}:{release}"
        if container.get("Image") != want:
            found["drift"].append(f"{name}: runs {container.get('Image')}, declared {want}")
        if serving == (svc.get("legacy") or {}).get("container"):
            continue  # the old layout's own container (a rollback to it): no cutover labels to check
        labels = container.get("Labels") or {}
        expected = {"cutover.project": project, "cutover.service": name, "cutover.release": release}
        for key, value in expected.items():
            if labels.get(key, "") != value:
                found["drift"].append(
                    f"{name}: label {key}={labels.get(key, 'missing')}, expected {value}"
                )


def cutover_recert(
    containers: list[dict[str, Any]],
    services: list[dict[str, Any]],
    current: Any,
    project: str,
    root: str,
    legacy_dirs_present: list[str],
    health: dict[str, dict[str, Any]],
    lock: dict[str, Any],
    fail_on_leftovers: bool = True,
    inventory_services: list[str] | None = None,
) -> dict[str, Any]:
    """``services``: those of the release (which must run); ``inventory_services``: the names of
    every service of the inventory (default: the same), whose kept containers are known too."""
    found: dict[str, Any] = {"drift": [], "leftovers": [], "containers": [], "serving": 0}
    by_name = _by_name(containers)
    legacy_mode = not isinstance(current, dict)
    service_names = [s["name"] for s in services]
    every_name = list(inventory_services or service_names)
    legacy_services = [s["name"] for s in services if "legacy" in s]
    legacy_names = [s["legacy"]["container"] for s in services if "container" in (s.get("legacy") or {})]

    if legacy_mode:
        release = _legacy_layout(by_name, services, found)
    else:
        release = str(current["release"])
        _committed_release(by_name, services, release, project, found, current)

    kept = re.compile("^(" + "|".join(re.escape(n) for n in every_name) + ")--")
    serving = {_serving_name(current, s["name"]) for s in services} if not legacy_mode else set()
    for name, container in by_name.items():
        state = container.get("State")
        labels = container.get("Labels") or {}
        if name in serving - set(service_names) or (
            labels.get("cutover.edge") == "true" and labels.get("cutover.project") == project
        ):
            continue  # a container of the release behind the edge proxy, or the edge proxy itself
        if name in legacy_names:
            if legacy_mode:
                continue
            if state == "running":
                found["drift"].append(f"{name}: legacy container still running ({container.get('Image')})")
            else:
                found["leftovers"].append(f"{name}: stopped legacy container (remove it: docker rm {name})")
        elif every_name and kept.match(name):
            found["containers"].append(_summary(name, container))
            if state == "running":
                found["drift"].append(f"{name}: kept previous container is running")
        elif name in every_name and name not in service_names:
            found["drift"].append(f"{name}: container present ({state}), but release {release} has no such service")
        elif name not in service_names and (container.get("Labels") or {}).get("cutover.project") == project:
            found["drift"].append(f"{name}: unknown container of project {project} ({state})")

    if not legacy_mode:
        for path in legacy_dirs_present:
            found["leftovers"].append(
                f"{path}: directory of the old layout still present (the release now lives in "
                f"{root}/releases; archive and remove it, and repoint anything that still refers to it)"
            )

    for name, result in health.items():
        if not result.get("ok") and (not legacy_mode or name in legacy_services):
            found["drift"].append(f"{name}: health " + ", ".join(result.get("problems") or []))

    if lock.get("held"):
        owner = lock.get("owner")
        run_id = owner.get("run_id", "?") if isinstance(owner, dict) else "?"
        found["drift"].append(f"deploy lock still held by run {run_id} ({lock.get('path')})")

    ok = not found["drift"] and (not found["leftovers"] or not fail_on_leftovers)
    return {
        "release": release,
        "drift": found["drift"],
        "leftovers": found["leftovers"],
        "containers": found["containers"],
        "serving": found["serving"],
        "health": health,
        "lock_held": bool(lock.get("held")),
        "ok": ok,
    }


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"cutover_recert": cutover_recert}
