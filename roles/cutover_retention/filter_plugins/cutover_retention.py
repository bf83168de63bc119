"""Retention's decisions, kept out of Jinja (unit-tested): which releases stay, which go, and which
kept containers go with them.

  cutover_retention_plan(state, services, release_dirs, container_names, releases)
      -> {keep, prune, remove_containers, remove_ops}

``keep``: the current and the previous release, and the last ``releases`` deployed ones (by the
deploy history, newest first). ``prune``: every other release the host knows of - a release
directory, a release of the history, or the release in a kept container's name
(``<service>--<release>``, or ``<service>--<release>.b`` for a blue/green container of the same
release again). ``remove_containers``: the kept containers of pruned releases, never one that
state.json names as the current or previous release's container; ``remove_ops`` the same as
operations of library/cutover_container_ops.py (one call).
"""

from __future__ import annotations

import re
from typing import Any


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _kept_release(name: str, services: set[str]) -> tuple[str, str] | None:
    """('<service>', '<release>') of a kept container's name, or None for any other container."""
    service, sep, release = name.lstrip("/").rpartition("--")
    if not sep or service not in services or not release:
        return None
    return service, re.sub(r"[.][a-z]$", "", release)


def cutover_retention_plan(
    state: Any, services: list[dict[str, Any]], release_dirs: list[str], container_names: list[str], releases: Any
) -> dict[str, Any]:
    state = _mapping(state)
    history = [_mapping(h) for h in state.get("history") or []]
    current = _mapping(state.get("current")).get("release") or ""
    previous = _mapping(state.get("previous")).get("release") or ""
    recent: list[str] = []
    for entry in reversed(history):
        release = entry.get("release")
        if entry.get("outcome") == "deployed" and release and release not in recent:
            recent.append(release)
    keep = list(dict.fromkeys(r for r in [current, previous, *recent[: int(releases)]] if r))

    names = {svc["name"] for svc in services}
    kept = {name.lstrip("/"): _kept_release(name, names) for name in container_names}
    known = [*(d.rstrip("/").rsplit("/", 1)[-1] for d in release_dirs), *(h.get("release") for h in history),
             *(found[1] for found in kept.values() if found)]  # fmt: skip
    prune = [r for r in dict.fromkeys(k for k in known if k) if r not in keep]

    recorded = {
        _mapping(svc).get("container")
        for side in (state.get("current"), state.get("previous"))
        for svc in _mapping(_mapping(side).get("services")).values()
    }
    remove = [name for name, found in kept.items() if found and found[1] in prune and name not in recorded]
    return {"keep": keep, "prune": prune, "remove_containers": remove,
            "remove_ops": [{"action": "remove", "container": name} for name in remove]}  # fmt: skip


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"cutover_retention_plan": cutover_retention_plan}
