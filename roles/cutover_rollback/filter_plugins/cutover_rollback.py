"""The rollback's decisions, kept out of Jinja: which containers to look at, what to do to each
service, and the state.json the rollback leaves.

  cutover_rollback_candidates(state, mode)                 -> container names to inspect
  cutover_rollback_plan(state, mode, order, containers, change)
      -> {steps: [one per service, reverse dependency order], state, from, to, services}
  cutover_rollback_summary(state)                          -> check mode's line
  cutover_rollback_leftovers(containers, services)         -> {running, stopped} after a failed rollback
  cutover_rollback_flip_back(state, services)              -> [{service, to}] for `cutover-edge flips`
  cutover_rollback_clone(inspect, service, project, release)
      -> {create: Engine API body, connect: [{network, aliases}]} of a step's clone

mode is cutover_rollback_mode's answer: 'in_progress' (undo the change state.json records as
in progress), 'exchange' (no change in progress: go back from current to previous, keeping
current as the new previous so the step can be reversed) or 'none'.
`containers` is the health module's safe inspect of the candidates (name -> fields or None),
read once before anything changes; the plan accounts for the names its own steps free.
`change` = {run_id, reason, at}. A step:
  service, refuse (a message: a running container holds the name to restore; nothing done),
  save_logs (keep the last log lines of logs_of, default the service's name), stop (name),
  remove (names), renames ([from, to] in order), start (name), restored / removed (bool);
  behind the edge proxy (blue/green) kind "flip": start the kept container (it may still run),
  wait until it is healthy, flip the edge proxy to it (flip_to), then stop (stop_after: kept
  for a later rollback) or remove (remove_after) the container it replaces; clone: it goes back
  to a release of the old layout behind the edge, by <kept>.b, made first from the kept container
  (clone_from) with its configuration but no published port. edge_off: a
  service removed behind the edge proxy is taken off it first (503 at once, no dead address).
A plan with edge_down goes back to the old layout (containers that publish their ports): the
edge proxy is removed before the first step. That happens only when undoing a hand-over that
never happened (the old containers still serve); once the edge holds the ports it keeps them.
"""

from __future__ import annotations

from typing import Any


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _services(release: Any) -> dict[str, Any]:
    return _mapping(_mapping(release).get("services"))


def _reverse_order(names: list[str], order: list[str]) -> list[str]:
    return [n for n in reversed(order) if n in names] + [n for n in names if n not in order]


def _truncate(text: Any, length: int = 300) -> str:
    """Jinja's truncate(300): whole words, '...' at the end, 5 characters of leeway."""
    text = str(text or "")
    if len(text) <= length + 5:
        return text
    cut = text[: length - 3].rsplit(" ", 1)[0]
    return cut + "..."


def cutover_rollback_candidates(state: Any, mode: str) -> list[str]:
    state = _mapping(state)
    names: list[str] = []
    if mode == "in_progress":
        for service, entry in _mapping(_mapping(state.get("in_progress")).get("swapped")).items():
            entry = _mapping(entry)
            names += [service, entry.get("kept_container") or "", entry.get("original_name") or ""]
            names += [entry.get("container") or ""]  # the new container behind the edge proxy
            if entry.get("edge") and not entry.get("kept_behind_edge") and entry.get("kept_container"):
                names.append(_clone_name(str(entry["kept_container"])))
    elif mode == "exchange":
        current, previous = _mapping(state.get("current")), _mapping(state.get("previous"))
        for service in {**_services(current), **_services(previous)}:
            cur, prev = _mapping(_services(current).get(service)), _mapping(_services(previous).get(service))
            names += [cur.get("container") or "", f"{service}--{current.get('release')}"]
            names += [prev.get("container") or "", prev.get("original_name") or service]
            if prev.get("container") and not prev.get("edge"):
                names.append(_clone_name(str(prev["container"])))  # its image behind the edge proxy
    unique: list[str] = []
    for name in names:
        if name and name not in unique:
            unique.append(name)
    return unique


def _exists(containers: dict[str, Any], name: str, freed: set[str]) -> bool:
    return name not in freed and isinstance(containers.get(name), dict)


def _restore(step: dict[str, Any], containers: dict[str, Any], kept: str, original: str, freed: set[str]) -> None:
    """Give the kept container its original name back (moving a stopped holder out), start it."""
    if _exists(containers, kept, freed) and kept != original:
        holder = containers.get(original) if _exists(containers, original, freed) else None
        if holder is not None:
            if _mapping(holder.get("State")).get("Running"):
                image = _mapping(holder.get("Config")).get("Image")
                step["refuse"] = (
                    f"cannot restore {kept} as {original}: a running container ({image}, id"
                    f" {str(holder.get('Id') or holder.get('Image') or '')[:12]}) already has that name;"
                    " stop or rename it, then run playbooks/rollback.yml again"
                )
            step["remove"].append(original)
        step["renames"].append([kept, original])
    step["start"] = original


def _step(service: str) -> dict[str, Any]:
    return {"service": service, "refuse": "", "save_logs": False, "logs_of": "", "stop": "", "remove": [],
            "renames": [], "start": "", "restored": False, "removed": False, "kind": "", "flip_to": "",
            "stop_after": "", "remove_after": [], "edge_down": False, "edge_off": False,
            "clone": "", "clone_from": ""}  # fmt: skip


def _flip_back(step: dict[str, Any], kept: str) -> dict[str, Any]:
    step.update(kind="flip", start=kept, flip_to=kept, restored=True)
    return step


def _clone_name(kept: str) -> str:
    """The container that runs a kept old-layout container's image behind the edge proxy."""
    return f"{kept}.b"


def _flip_to_clone(step: dict[str, Any], containers: dict[str, Any], kept: str, freed: set[str]) -> dict[str, Any]:
    """Back to a release of the old layout once the edge proxy holds the ports: its kept container's
    configuration, without the ports it published itself, runs behind the edge as <kept>.b (made
    from the kept container unless it exists), and the edge flips to it. The kept one stays as it is."""
    clone = _clone_name(kept)
    if not _exists(containers, clone, freed):
        if not _exists(containers, kept, freed):
            step["refuse"] = f"cannot go back to {kept}: there is no such container to run behind the edge proxy"
            return step
        step["clone_from"] = kept
    step["clone"] = clone
    return _flip_back(step, clone)


def _undo_behind_edge(service: str, entry: dict[str, Any], containers: dict[str, Any]) -> dict[str, Any]:
    """Undo a blue/green swap: flip back to the kept container (normally still running), then
    remove the new one. A hand-over that happened flips to the kept container's image behind the
    edge; one that never happened leaves the old layout serving and the edge goes (edge_down)."""
    step, freed = _step(service), set()
    new = str(entry.get("container") or "")
    if new and _exists(containers, new, freed):
        step.update(save_logs=True, logs_of=new)
    if entry.get("new"):
        step["remove"] += [new] if step["save_logs"] else []
        step.update(removed=True, edge_off=True)
        return step
    kept, original = str(entry.get("kept_container") or ""), str(entry.get("original_name") or service)
    if entry.get("kept_behind_edge"):
        step["remove_after"] += [new] if step["save_logs"] else []
        return _flip_back(step, kept)
    if not _exists(containers, original, freed) and _exists(containers, kept, freed):
        # The hand-over happened (the old container is stopped and kept): the edge keeps the port.
        step["remove_after"] += [new] if step["save_logs"] else []
        return _flip_to_clone(step, containers, kept, freed)
    step["edge_down"] = True  # the hand-over never happened: the old layout still serves
    if step["save_logs"]:
        step["remove"].append(new)
        freed.add(new)
    _restore(step, containers, kept if _exists(containers, kept, freed) else original, original, freed)
    step["restored"] = True
    return step


def _undo_in_progress(state: dict[str, Any], order: list[str], containers: dict[str, Any]) -> list[dict[str, Any]]:
    swapped = _mapping(_mapping(state.get("in_progress")).get("swapped"))
    steps = []
    for service in _reverse_order(list(swapped), order):
        entry = _mapping(swapped[service])
        if entry.get("edge"):
            steps.append(_undo_behind_edge(service, entry, containers))
            continue
        step, freed = _step(service), set()
        kept_exists = not entry.get("new") and _exists(containers, entry.get("kept_container") or "", freed)
        # Before the rename the container named after the service may still be the old one.
        if _exists(containers, service, freed) and (
            entry.get("new") or kept_exists or entry.get("original_name") != service
        ):
            step["save_logs"] = True
            step["remove"].append(service)
            freed.add(service)
        if entry.get("new"):
            step["removed"] = True
        else:
            kept = entry.get("kept_container") if kept_exists else entry.get("original_name")
            _restore(step, containers, str(kept), str(entry.get("original_name")), freed)
            step["restored"] = True
        steps.append(step)
    return steps


def _exchange(state: dict[str, Any], order: list[str], containers: dict[str, Any]) -> list[dict[str, Any]]:
    current, previous = _mapping(state.get("current")), _mapping(state.get("previous"))
    release = current.get("release")
    every = list(dict.fromkeys([*_services(current), *_services(previous)]))
    steps = []
    for service in _reverse_order(every, order):
        cur = _services(current).get(service)
        prev = _services(previous).get(service)
        if isinstance(cur, dict) and isinstance(prev, dict) and prev.get("container") == cur.get("container"):
            continue  # both releases share it (unchanged in the last cutover): left alone
        step, freed = _step(service), set()
        if isinstance(prev, dict) and prev.get("edge"):
            if isinstance(cur, dict) and _exists(containers, str(cur.get("container")), freed):
                step["stop_after"] = str(cur.get("container"))
            steps.append(_flip_back(step, str(prev.get("container"))))
            continue
        if isinstance(cur, dict) and cur.get("edge") and isinstance(prev, dict):
            # The previous release ran in the old layout: its image runs behind the edge proxy now.
            if _exists(containers, str(cur.get("container")), freed):
                step["stop_after"] = str(cur.get("container"))
            steps.append(_flip_to_clone(step, containers, str(prev.get("container")), freed))
            continue
        if isinstance(cur, dict):
            name = str(cur.get("container"))
            if isinstance(prev, dict) and cur.get("edge"):
                step["stop"] = name if _exists(containers, name, freed) else ""
            elif isinstance(prev, dict):
                if _exists(containers, name, freed):
                    retired = f"{service}--{release}"
                    step["stop"] = name
                    step["remove"].append(retired)
                    step["renames"].append([name, retired])
                    freed.add(name)
            else:
                step["remove"].append(name)
                step["edge_off"] = bool(cur.get("edge"))
                freed.add(name)
        if isinstance(prev, dict):
            _restore(step, containers, str(prev.get("container")), str(prev.get("original_name") or service), freed)
            step["restored"] = True
        else:
            step["removed"] = True
        steps.append(step)
    return steps


def _exchanged_state(state: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    current, previous = _mapping(state.get("current")), _mapping(state.get("previous"))
    new_current = dict(previous)
    new_current["services"] = {
        name: {"container": s.get("original_name") or s.get("container"), "image": s.get("image"),
               "image_id": s.get("image_id")} | ({"edge": True} if s.get("edge") else {})
        for name, s in _services(previous).items()
    }  # fmt: skip
    kept = {}
    for name, s in _services(current).items():
        if name in _services(previous):
            shared = _services(previous)[name].get("container") == s.get("container")
            same_name = shared or s.get("edge")  # behind the edge a container is named after its release
            kept[name] = {"container": s.get("container") if same_name else f"{name}--{current.get('release')}",
                          "original_name": s.get("container"), "image": s.get("image"),
                          "image_id": s.get("image_id")} | ({"edge": True} if s.get("edge") else {})  # fmt: skip
    new_previous = dict(current) | {"services": kept}
    history = [*(state.get("history") or []), {
        "release": current.get("release"), "at": change["at"], "outcome": "rolled_back", "run_id": change["run_id"],
        "to": previous.get("release"), "reason": _truncate(change.get("reason")),
    }]  # fmt: skip
    return dict(state) | {"current": new_current, "previous": new_previous, "history": history}


def _with_clones(state: dict[str, Any], steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The release a rollback restores records, for each service it runs from a kept old-layout
    container behind the edge proxy, that container (<kept>.b)."""
    clones = {s["service"]: s["clone"] for s in steps if s["clone"] and not s["refuse"]}
    current = _mapping(state.get("current"))
    services = dict(_services(current))
    changed = False
    for service, clone in clones.items():
        entry = _mapping(services.get(service))
        if entry and not entry.get("edge"):
            services[service] = {**entry, "container": clone, "edge": True}
            changed = True
    return state | {"current": {**current, "services": services}} if changed else state


def _edge_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Back to the old layout (edge_down) the edge proxy is gone before any step: nothing to take
    off, and the services come back dependencies first (each one's health asks the ones it needs,
    which no proxy answers for any more)."""
    if any(step["edge_down"] for step in steps):
        for step in steps:
            step["edge_off"] = False
        return list(reversed(steps))
    return steps


def cutover_rollback_plan(
    state: Any, mode: str, order: list[str], containers: Any, change: dict[str, Any]
) -> dict[str, Any]:
    state = dict(_mapping(state))
    containers = _mapping(containers)
    current = _mapping(state.get("current"))
    in_progress = _mapping(state.get("in_progress"))
    if mode == "in_progress":
        steps = _edge_steps(_undo_in_progress(state, order, containers))
        state = _with_clones(state, steps)
        history = [*(state.get("history") or []), {
            "release": in_progress.get("target"), "at": change["at"], "outcome": "rolled_back",
            "run_id": change["run_id"], "reason": _truncate(change.get("reason")),
        }]  # fmt: skip
        releases = [_mapping(e).get("release") for e in _mapping(in_progress.get("swapped")).values()]
        to = current.get("release") if current else next((r for r in releases if r), None)
        services = list(_services(current)) if current else [s["service"] for s in steps if s["restored"]]
        return {"steps": steps, "state": state | {"in_progress": None, "history": history},
                "from": in_progress.get("target"), "to": to, "services": services,
                "edge_down": any(step["edge_down"] for step in steps)}  # fmt: skip
    if mode == "exchange":
        previous = _mapping(state.get("previous"))
        if not current or not previous:
            missing = "no current release" if not current else "no previous release"
            return {"steps": [], "state": state, "from": current.get("release"), "to": None, "services": [],
                    "error": f"nothing to roll back to: state.json has {missing}"}  # fmt: skip
        steps = _edge_steps(_exchange(state, order, containers))
        new_state = _with_clones(_exchanged_state(state, change), steps)
        return {"steps": steps, "state": new_state, "from": current.get("release"), "to": previous.get("release"),
                "services": list(_services(new_state["current"])),
                "edge_down": any(step["edge_down"] for step in steps)}  # fmt: skip
    return {"steps": [], "state": state, "from": in_progress.get("target") or current.get("release") or None,
            "to": current.get("release") or None, "services": []}  # fmt: skip


def cutover_rollback_flip_back(state: Any, services: Any) -> list[dict[str, Any]]:
    """The flip back the rescue of a failed swap or verify does at once, before anything else
    (blue/green, this run's change in progress): each service swapped behind the edge goes back to
    its kept container, which still runs, and a service this run added is taken off the edge (503).
    Left to the rollback play: a retired service (its kept container is stopped) and a hand-over
    from the old layout (there is no running container behind the edge to go back to). A service
    whose own flip never happened flips to the server it still has: nothing changes."""
    ports = {str(s.get("name")): s.get("container_port") for s in services or [] if isinstance(s, dict)}
    swapped = _mapping(_mapping(_mapping(state).get("in_progress")).get("swapped"))
    flips = []
    for service, entry in swapped.items():
        entry = _mapping(entry)
        if not entry.get("edge") or entry.get("retired") or ports.get(service) is None:
            continue
        if entry.get("new"):
            flips.append({"service": service, "to": None})
        elif entry.get("kept_behind_edge") and entry.get("kept_container"):
            flips.append({"service": service, "to": f"{entry['kept_container']}:{ports[service]}"})
    return flips


def cutover_rollback_clone(inspect: Any, service: str, project: str, release: str) -> dict[str, Any]:
    """The Engine API's create body of a clone (a step's `clone`) from the kept container's inspect
    data: the same configuration (image, env, command, healthcheck, mounts, restart policy), no
    published port (the edge proxy holds it), the cutover labels of the release, and on each of its
    networks its aliases except the service's name (the edge answers to that). The first network
    goes in the body (API 1.41 takes one); `connect` lists the others. Carries env values: no_log."""
    data = _mapping(inspect)
    config = {k: v for k, v in _mapping(data.get("Config")).items() if k not in ("Hostname", "Domainname")}
    source = str(data.get("Name") or "").lstrip("/")
    config["Labels"] = {**_mapping(config.get("Labels")), "cutover.project": project, "cutover.service": service,
                        "cutover.release": release, "cutover.cloned-from": source}  # fmt: skip
    host = {**_mapping(data.get("HostConfig")), "PortBindings": {}, "PublishAllPorts": False}
    short_id = str(data.get("Id") or "")[:12]
    networks = []
    for name, endpoint in _mapping(_mapping(data.get("NetworkSettings")).get("Networks")).items():
        aliases = [a for a in _mapping(endpoint).get("Aliases") or [] if a not in (service, source, short_id)]
        networks.append({"network": name, "aliases": aliases})
    mode = str(host.get("NetworkMode") or "")
    networks.sort(key=lambda n: n["network"] != mode)  # the container's own network mode first
    first = networks[:1]
    body = config | {"HostConfig": host, "NetworkingConfig": {
        "EndpointsConfig": {n["network"]: {"Aliases": n["aliases"]} for n in first}}}  # fmt: skip
    return {"create": body, "connect": networks[1:]}


def cutover_rollback_summary(state: Any) -> str:
    state = _mapping(state)
    in_progress = _mapping(state.get("in_progress"))
    if in_progress:
        services = ", ".join(_mapping(in_progress.get("swapped")))
        return f"would undo the change of run {in_progress.get('run_id', '?')} (services {services})"
    current, previous = _mapping(state.get("current")), _mapping(state.get("previous"))
    if current and previous:
        return f"would go back from {current.get('release')} to {previous.get('release')}"
    return "nothing to roll back to"


def cutover_rollback_container_ops(step: dict[str, Any]) -> list[dict[str, Any]]:
    """One step's removals, then its renames, as operations for library/cutover_container_ops.py."""
    return [{"action": "remove", "container": name} for name in step.get("remove") or []] + [
        {"action": "rename", "container": old, "new_name": new} for old, new in step.get("renames") or []
    ]


def cutover_rollback_leftovers(containers: Any, services: Any) -> dict[str, list[str]]:
    """What runs on the host after a failed rollback: the project's containers (a service's name or
    its legacy container's, with or without a --<release> suffix) as 'name (image, status)',
    split by running or not. `containers` is docker_host_info's list (Names, Image, Status, State)."""
    names = set()
    for svc in services or []:
        names.add(str(svc["name"]))
        if (svc.get("legacy") or {}).get("container"):
            names.add(str(svc["legacy"]["container"]))
    split: dict[str, list[str]] = {"running": [], "stopped": []}
    for c in containers or []:
        name = str((c.get("Names") or ["?"])[0]).removeprefix("/")
        if name not in names and not any(name.startswith(f"{n}--") for n in names):
            continue
        label = f"{name} ({c.get('Image', '?')}, {c.get('Status', '?')})"
        split["running" if c.get("State") == "running" else "stopped"].append(label)
    return split


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "cutover_rollback_candidates": cutover_rollback_candidates,
            "cutover_rollback_plan": cutover_rollback_plan,
            "cutover_rollback_summary": cutover_rollback_summary,
            "cutover_rollback_leftovers": cutover_rollback_leftovers,
            "cutover_rollback_flip_back": cutover_rollback_flip_back,
            "cutover_rollback_clone": cutover_rollback_clone,
            "cutover_rollback_container_ops": cutover_rollback_container_ops,
        }
