#!/usr/bin/python
"""A phase's read-only look at the docker host in one call: files, images, networks, containers."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cutover_docker_facts
short_description: Read what a phase needs of the docker host, in one call (read only)
description:
  - Which of C(paths) exist on the host, which of C(images) the Engine has (their ids and tags;
    nothing else of an image), which of C(networks) exist, and, when asked, the Engine's list of
    every container (C(GET /containers/json?all=1): summaries, never a container's env).
  - One round trip where a stat per path, an image look-up, a network look-up per network and a
    container listing took one each (the build's plan, the recertification, the closeout).
options:
  docker_host:
    description: The Engine API (unix:///path or tcp://host:port).
    type: str
    default: unix:///var/run/docker.sock
  paths:
    description:
      - Paths on the host to look for (e.g. C(<root>/releases/<sha>/.complete)); C(~) and
        C($VARS) are expanded for the look, the answer is keyed by the path as given.
    type: list
    elements: str
    default: []
  images:
    description: Image references (C(name:tag)) to look up.
    type: list
    elements: str
    default: []
  networks:
    description: Network names to look for.
    type: list
    elements: str
    default: []
  containers:
    description: Whether to list every container (running or not).
    type: bool
    default: false
  timeout_s:
    description: Seconds one Engine API request may take.
    type: float
    default: 10
author: cutover
"""

RETURN = r"""
paths:
  description: C({path: exists}) for every asked path as given (a file, a directory or anything else).
  type: dict
  returned: success
images:
  description: The images the Engine has among those asked, each C({Id, RepoTags, RepoDigests, Created}).
  type: list
  returned: success
networks:
  description: One C({name, exists}) per asked network, in the order asked.
  type: list
  returned: success
containers:
  description: The Engine's container list, as it answers it (the same as docker_host_info's verbose one).
  type: list
  returned: when C(containers) is true
"""

import os
from typing import Any
from urllib.parse import quote

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.cutover_engine import engine_get, exit_with_engine_read

# What is kept of an image: who it is and when it was made, nothing of its config.
IMAGE_FIELDS = ("Id", "RepoTags", "RepoDigests", "Created")


def read_docker_facts(params: dict[str, Any]) -> dict[str, Any]:
    host, timeout = params["docker_host"], params["timeout_s"]
    images = []
    for ref in params["images"]:
        status, data = engine_get(host, f"/images/{quote(ref, safe='/:@')}/json", timeout)
        if status == 200 and isinstance(data, dict):
            images.append({key: data.get(key) for key in IMAGE_FIELDS})
        elif status != 404:
            raise RuntimeError(f"docker_host {host}: GET /images/{ref}/json answered HTTP {status}")
    networks = []
    for name in params["networks"]:
        status, _ = engine_get(host, f"/networks/{quote(name, safe='')}", timeout)
        if status not in (200, 404):
            raise RuntimeError(f"docker_host {host}: GET /networks/{name} answered HTTP {status}")
        networks.append({"name": name, "exists": status == 200})
    found: dict[str, Any] = {
        # Keyed by the path as given (the caller looks its own strings up); ~ and $VARS expanded
        # for the look, as the stat module does.
        "paths": {path: os.path.lexists(os.path.expanduser(os.path.expandvars(path))) for path in params["paths"]},
        "images": images,
        "networks": networks,
    }
    if params["containers"]:
        status, listed = engine_get(host, "/containers/json?all=1&size=0", timeout)
        if status != 200 or not isinstance(listed, list):
            raise RuntimeError(f"docker_host {host}: GET /containers/json answered HTTP {status}")
        found["containers"] = listed
    return found


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "docker_host": {"type": "str", "default": "unix:///var/run/docker.sock"},
            "paths": {"type": "list", "elements": "str", "default": []},
            "images": {"type": "list", "elements": "str", "default": []},
            "networks": {"type": "list", "elements": "str", "default": []},
            "containers": {"type": "bool", "default": False},
            "timeout_s": {"type": "float", "default": 10},
        },
        supports_check_mode=True,
    )
    exit_with_engine_read(module, read_docker_facts)


if __name__ == "__main__":
    main()
