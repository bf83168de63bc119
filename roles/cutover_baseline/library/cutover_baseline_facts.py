#!/usr/bin/python
"""The baseline's look at the docker host in one call: engine, networks, containers, free disk."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cutover_baseline_facts
short_description: Read the docker host for the baseline in one call (read only)
description:
  - Asks the Engine API for its version and root directory, which of C(networks) exist, and the
    safe fields of the project's containers - each service's own name, its legacy container and
    its kept containers (C(<service>--...)) - never their env.
  - Measures the free disk under C(cutover_root) and under Docker's root directory, at the
    nearest directory that exists (the state root does not exist before the first cutover).
  - One round trip where a chain of single-purpose tasks took one each.
options:
  docker_host:
    description: The Engine API (unix:///path or tcp://host:port).
    type: str
    default: unix:///var/run/docker.sock
  networks:
    description: Network names to look for.
    type: list
    elements: str
    default: []
  services:
    description: The service names (their containers and kept containers C(<service>--...)).
    type: list
    elements: str
    default: []
  legacy:
    description: Container names of the old layout.
    type: list
    elements: str
    default: []
  cutover_root:
    description: The state root whose free disk is measured.
    type: path
    required: true
  timeout_s:
    description: Seconds one Engine API request may take.
    type: float
    default: 10
author: cutover
"""

RETURN = r"""
engine:
  description: C(version) and C(docker_root) of the engine.
  type: dict
  returned: success
networks:
  description: One C({name, exists}) per asked network, in the order asked.
  type: list
  returned: success
containers:
  description: The project's containers - name, image, image_id, status, health, labels (cutover.* only).
  type: list
  returned: success
disk:
  description: C(cutover_root) and C(docker_root), each C({path, mount, free_mb}).
  type: dict
  returned: success
"""

import os
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.cutover_engine import engine_get, exit_with_engine_read

MIB = 1024 * 1024


def project_names(all_names: list[str], services: list[str], legacy: list[str]) -> list[str]:
    """The containers among ``all_names`` that belong to the project, in a stable order: each
    service's own name, the legacy containers, then kept ones (``<service>--<release>``)."""
    kept = re.compile("^(" + "|".join(re.escape(s) for s in services) + ")--") if services else None
    wanted = [*services, *legacy, *sorted(n for n in all_names if kept and kept.match(n))]
    present = set(all_names)
    return [n for i, n in enumerate(wanted) if n in present and n not in wanted[:i]]


def safe_fields(data: dict[str, Any]) -> dict[str, Any]:
    """What the baseline records of one container: no env, only the cutover.* labels."""
    config = data.get("Config") or {}
    state = data.get("State") or {}
    labels = config.get("Labels") or {}
    return {
        "name": str(data.get("Name") or "").lstrip("/"),
        "image": config.get("Image"),
        "image_id": data.get("Image"),
        "status": state.get("Status"),
        "health": (state.get("Health") or {}).get("Status") or "none",
        "labels": {k: v for k, v in sorted(labels.items()) if k.startswith("cutover.")},
    }


def nearest_existing(path: str, exists: Callable[[str], bool] = os.path.isdir) -> str:
    """``path`` or the nearest of its parents that exists ("/" at last)."""
    current = "/" + path.strip("/")
    while current != "/" and not exists(current):
        current = os.path.dirname(current)
    return current


def mount_of(path: str, is_mount: Callable[[str], bool] = os.path.ismount) -> str:
    """The mount point that holds the existing ``path``."""
    current = path
    while current != "/" and not is_mount(current):
        current = os.path.dirname(current)
    return current


def disk_of(path: str) -> dict[str, Any]:
    existing = nearest_existing(path)
    try:
        stat = os.statvfs(existing)
    except OSError:
        return {"path": path, "mount": None, "free_mb": None}
    return {"path": path, "mount": mount_of(existing), "free_mb": stat.f_bavail * stat.f_frsize // MIB}


def read_host(params: dict[str, Any]) -> dict[str, Any]:
    host, timeout = params["docker_host"], params["timeout_s"]

    def get(path: str) -> tuple[int, Any]:
        return engine_get(host, path, timeout)

    status, info = get("/info")
    if status != 200 or not isinstance(info, dict):
        raise RuntimeError(f"docker_host {host}: GET /info answered HTTP {status}")
    networks = [
        {"name": name, "exists": get(f"/networks/{quote(name, safe='')}")[0] == 200} for name in params["networks"]
    ]
    status, listed = get("/containers/json?all=1")
    if status != 200 or not isinstance(listed, list):
        raise RuntimeError(f"docker_host {host}: GET /containers/json answered HTTP {status}")
    all_names = [str(n).lstrip("/") for c in listed for n in (c.get("Names") or [])[:1]]
    containers = []
    for name in project_names(all_names, params["services"], params["legacy"]):
        status, data = get(f"/containers/{quote(name, safe='')}/json")
        if status == 200 and isinstance(data, dict):
            containers.append(safe_fields(data))
    docker_root = str(info.get("DockerRootDir") or "/var/lib/docker")
    return {
        "engine": {"version": info.get("ServerVersion"), "docker_root": docker_root},
        "networks": networks,
        "containers": containers,
        "disk": {"cutover_root": disk_of(params["cutover_root"]), "docker_root": disk_of(docker_root)},
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "docker_host": {"type": "str", "default": "unix:///var/run/docker.sock"},
            "networks": {"type": "list", "elements": "str", "default": []},
            "services": {"type": "list", "elements": "str", "default": []},
            "legacy": {"type": "list", "elements": "str", "default": []},
            "cutover_root": {"type": "path", "required": True},
            "timeout_s": {"type": "float", "default": 10},
        },
        supports_check_mode=True,
    )
    exit_with_engine_read(module, read_host)


if __name__ == "__main__":
    main()
