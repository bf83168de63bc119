"""Which networks are there, which the project creates, which are missing (unit-tested).

  cutover_network_plan(info_results, owned) -> {present: [...], create: [...], missing: [...]}
      ``info_results``: one ``{name, exists}`` per network of cutover_required_networks
      (cutover_baseline_facts' ``networks``; the ``results`` of a docker_network_info loop,
      ``{item, exists}``, too). A missing network the
      project owns (``cutover_owned_networks``) is to be created by the build (labelled
      ``cutover.project=<project>``); a missing external one is a baseline problem, as before.
      An existing network is never touched (Docker cannot change a network's labels in place,
      and recreating it would cut off the containers on it).
"""

from __future__ import annotations

from typing import Any


def cutover_network_plan(info_results: Any, owned: Any = None) -> dict[str, list[str]]:
    owned_names = {str(n) for n in owned or []}
    plan: dict[str, list[str]] = {"present": [], "create": [], "missing": []}
    for result in info_results or []:
        if not isinstance(result, dict):
            continue
        name = str(result.get("name", result.get("item")))
        if result.get("exists"):
            plan["present"].append(name)
        elif name in owned_names:
            plan["create"].append(name)
        else:
            plan["missing"].append(name)
    return plan


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"cutover_network_plan": cutover_network_plan}
