"""Decisions about the host's state and its deploy lock, kept out of Jinja.

  cutover_rollback_mode(state, run_id, standalone) -> 'in_progress' | 'exchange' | 'none'
  cutover_lock_refusal(lock, state, action)         -> the message when another run holds the lock
  cutover_lock_preview(lock)                        -> check mode's line about the lock a run would take
  cutover_takes_lock(phase, changing, check, ro)    -> whether the phase holds the deploy lock
  cutover_rollback_note(phase, changing, auto, rb)  -> what a failed phase's message says about its rollback
  cutover_phase_runs(phase, run, order, changing)   -> whether a phase of a whole run (cutover.yml) runs
  cutover_rollback_due(run, changing, auto)         -> whether a whole run rolls back after its failure
  cutover_changes_after(phase, run, order, changing) -> whether this phase keeps the lock for a later one
  cutover_state_open(state, change)                 -> state with this run's change in progress opened
  cutover_state_swapped(state, service, record)     -> state recording, before it is touched, a service's swap
  cutover_state_unopened(state)                     -> state without the change (a swap that changed nothing)
  cutover_state_committed(state, services, images, commit) -> state with the change committed as current
"""

from __future__ import annotations

from typing import Any


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def cutover_rollback_mode(state: Any, run_id: str, standalone: bool) -> str:
    """What a rollback undoes.

    After a failed phase (standalone false) only the change in progress of *this* run is
    undone: a run that changed nothing must never move the host off a good release.
    On request (standalone true) an unfinished change of any run is undone first; with none
    in progress the host goes back from the current release to the previous one.
    """
    in_progress = _mapping(_mapping(state).get("in_progress"))
    if in_progress and (standalone or in_progress.get("run_id") == run_id):
        return "in_progress"
    return "exchange" if standalone else "none"


def _swapped_summary(in_progress: dict[str, Any]) -> str:
    parts = []
    for service, entry in sorted(_mapping(in_progress.get("swapped")).items()):
        entry = _mapping(entry)
        if entry.get("new"):
            parts.append(f"{service} (new in this release)")
        else:
            parts.append(f"{service} (previous kept as {entry.get('kept_container') or '?'})")
    return ", ".join(parts)


def cutover_lock_refusal(lock: Any, state: Any = None, action: str = "cutover") -> str:
    """Who holds the lock, what that run left half-done, and the command that recovers it."""
    lock = _mapping(lock)
    owner = _mapping(lock.get("owner"))
    run = str(owner.get("run_id") or "?")
    head = (
        f"deploy lock held by {owner.get('user', '?')}@{owner.get('controller', '?')} since "
        f"{owner.get('since', '?')} (run {run}, ref {owner.get('ref', '?')}, age {lock.get('age_human') or '?'})"
        + (" - STALE" if lock.get("stale") else "")
        + (f" at {lock['path']}" if lock.get("path") else "")
    )
    in_progress = _mapping(_mapping(state).get("in_progress"))
    if state is None:  # not read by the caller: say nothing about it
        done = ""
    elif in_progress and in_progress.get("run_id") == run:
        swapped = _swapped_summary(in_progress)
        done = (
            f"run {run} left a change to {in_progress.get('target', '?')} in progress: swapped {swapped}; "
            "the host is half-swapped"
            if swapped
            else f"run {run} has a change to {in_progress.get('target', '?')} in progress that swapped no service yet"
        )
    elif in_progress:
        done = f"state.json records an unfinished change of another run ({in_progress.get('run_id', '?')})"
    else:
        done = f"state.json records no change of run {run} in progress"
    advice = (
        f"If run {run} is still going, let it finish (it rolls back by itself on failure). "
        f"If it died: `cutover rollback --run-id {run}` undoes what it changed and releases the lock "
        f"(plain Ansible: ansible-playbook playbooks/rollback.yml -e cutover_run_id={run} "
        "-e cutover_rollback_standalone=false)."
    )
    return f"{action} refused: {head}. {done + '. ' if done else ''}{advice}"


def cutover_lock_preview(lock: Any) -> str:
    """Check mode: what a real run would do about the deploy lock."""
    lock = _mapping(lock)
    if not lock.get("held"):
        return f"would take the deploy lock {lock.get('path', '?')}"
    if lock.get("mine"):
        return "lock already held by this run"
    owner = _mapping(lock.get("owner"))
    return (
        f"lock held by {owner.get('user', '?')}@{owner.get('controller', '?')} (run {owner.get('run_id', '?')}, "
        f"age {lock.get('age_human') or '?'}): a real run would be refused"
    )


def cutover_takes_lock(phase: str, changing: list[str], check_mode: bool, read_only: bool = False) -> bool:
    """A phase holds the deploy lock when it changes the host: a changing phase, for real."""
    return phase in (changing or []) and not check_mode and not read_only


def cutover_rollback_note(phase: str, changing: list[str], auto: bool, rollback: Any) -> str:
    """What a failed phase's message adds about the rollback its rescue did (or did not do)."""
    if phase not in (changing or []):
        return ""
    if not auto:
        return " (automatic rollback is off: restore with playbooks/rollback.yml or cutover rollback)"
    if _mapping(rollback).get("outcome") == "nothing_to_undo":
        return " (nothing of this run to undo: the release that served still serves)"
    return " (rolled back to the previous release)"


def _failure(run: Any) -> dict[str, Any]:
    return _mapping(_mapping(run).get("failure"))


def cutover_phase_runs(phase: str, run: Any, order: list[str], changing: list[str]) -> bool:
    """Whether a phase of a whole run (playbooks/cutover.yml) runs: it was chosen, and no phase
    failed - or one that changed the host failed (then only the phases after it that change
    nothing run, after the rollback: recert, closeout). A failure before the first change ends
    the run: nothing was changed, there is nothing to recertify."""
    run = _mapping(run)
    if phase not in (run.get("phases") or []):
        return False
    failure = _failure(run)
    if not failure:
        return True
    failed = str(failure.get("phase"))
    first_change = min((order.index(p) for p in changing if p in order), default=len(order))
    if failed not in order or order.index(failed) < first_change or phase in changing:
        return False
    return order.index(phase) > order.index(failed)


def cutover_rollback_due(run: Any, changing: list[str], auto: bool = True) -> bool:
    """A whole run rolls back (in its own play) after a failed phase that changes the host."""
    return bool(auto) and _failure(run).get("phase") in (changing or [])


def cutover_changes_after(phase: str, run: Any, order: list[str], changing: list[str]) -> bool:
    """Whether a later chosen phase of this run changes the host (then this phase keeps the
    deploy lock). A phase run alone (no run) never keeps it."""
    chosen = _mapping(run).get("phases") or []
    if phase not in order:
        return False
    return any(p in chosen and p in changing for p in order[order.index(phase) + 1 :])


def cutover_next_phase(phase: str, run: Any, order: list[str], changing: list[str]) -> str:
    """The phase of this run that runs next after ``phase`` ('' when none, or no run: a phase
    run alone). phase_end asks the host for what that phase would read first (closeout: the
    audit log's tail), so that the phase need not ask again."""
    if phase not in order:
        return ""
    for later in order[order.index(phase) + 1 :]:
        if cutover_phase_runs(later, run, order, changing):
            return later
    return ""


def cutover_plan_stands(planned_for: Any, plan_key: Any, phase_started: Any, pending: Any = None) -> bool:
    """Whether a phase can take the plan made earlier in this run (prep's dry run) instead of
    reading the host again: it runs inside a phase play, the plan was made for the same run,
    release and state.json (cutover_plan_key), and it leaves nothing to do - anything to do is
    always planned afresh, under the lock."""
    return bool(phase_started) and planned_for is not None and planned_for == plan_key and not list(pending or [])


def cutover_state_open(state: Any, change: dict[str, Any]) -> dict[str, Any]:
    """Open (or take up again) the change of this run: run_id, target, commit, ref, project and
    the services the target release has (what verify checks and commit records).

    A change this run already opened keeps its start time and what it swapped so far.
    """
    state = dict(_mapping(state))
    earlier = _mapping(state.get("in_progress"))
    opened = dict(earlier)
    opened.update({key: change[key] for key in ("run_id", "target", "commit", "ref")})
    opened["started_at"] = earlier.get("started_at") or change["started_at"]
    opened["swapped"] = dict(_mapping(earlier.get("swapped")))
    if "services" in change:
        opened["services"] = list(change["services"])
    state["project"] = change["project"]
    state["in_progress"] = opened
    return state


def cutover_state_swapped(state: Any, service: str, record: dict[str, Any]) -> dict[str, Any]:
    """Record the swap of one service in the open change, before the service is touched."""
    state = dict(_mapping(state))
    in_progress = dict(_mapping(state.get("in_progress")))
    swapped = dict(_mapping(in_progress.get("swapped")))
    swapped[service] = dict(_mapping(swapped.get(service))) | dict(record)
    in_progress["swapped"] = swapped
    state["in_progress"] = in_progress
    return state


def cutover_state_swapped_entries(state: Any, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Record the swap of several services (swap plan entries: name, record) at once."""
    for entry in entries:
        state = cutover_state_swapped(state, entry["name"], entry["record"])
    return dict(_mapping(state))


def cutover_state_unopened(state: Any) -> dict[str, Any]:
    """The change closed again: the swap found every service already serving the target."""
    return dict(_mapping(state)) | {"in_progress": None}


def _image_ids(images: Any) -> dict[str, str]:
    """tag -> image id, from docker_image_info's images."""
    ids: dict[str, str] = {}
    for image in images or []:
        for tag in _mapping(image).get("RepoTags") or []:
            ids[tag] = image.get("Id")
    return ids


def cutover_images_known(built: Any, tags: Any) -> list[dict[str, Any]] | None:
    """docker_image_info's images for ``tags`` taken from this run's build records
    (cutover_build_images: {image, image_id}), or None when one of them has no id there - then
    the host is asked. Verify commits the ids the build of the same run just read."""
    ids = {str(r.get("image")): r.get("image_id") for r in built or [] if isinstance(r, dict)}
    wanted = [str(t) for t in tags or []]
    if not wanted or not all(ids.get(t) for t in wanted):
        return None
    return [{"RepoTags": [t], "Id": ids[t]} for t in wanted]


def cutover_state_committed(
    state: Any, services: list[dict[str, Any]], images: Any, commit: dict[str, Any]
) -> dict[str, Any]:
    """The change in progress passed verify: it becomes `current`, the release it replaced (with
    the containers kept for a rollback) `previous`. A change that swapped nothing keeps the
    times, run and previous release of the current one.

    `services`: the release's services (cutover_deployed_services); `images`: their images'
    docker_image_info; `commit`: {run_id, project, ref, at}. Each service records the container
    that serves it: named after the service, or <service>--<release> behind the edge proxy."""
    state = dict(_mapping(state))
    in_progress = _mapping(state.get("in_progress"))
    swapped = _mapping(in_progress.get("swapped"))
    old = _mapping(state.get("current"))
    old_services = _services_of(old)
    ids = _image_ids(images)
    target = in_progress.get("target")
    current_services = {}
    for svc in services:
        name = svc["name"]
        image = f"{svc['image']}:{target}"
        record, was = _mapping(swapped.get(name)), _mapping(old_services.get(name))
        source = record if name in swapped else was
        current_services[name] = {"container": source.get("container") or name, "image": image,
                                  "image_id": ids.get(image)}  # fmt: skip
        if source.get("edge"):
            current_services[name]["edge"] = True
    previous_services: dict[str, Any] = {}
    for name, record in swapped.items():
        record = _mapping(record)
        if record.get("new"):
            continue
        previous_services[name] = {
            "container": record.get("kept_container"), "original_name": record.get("original_name"),
            "image": record.get("image"), "image_id": record.get("image_id"),
        }  # fmt: skip
        if record.get("kept_behind_edge"):
            previous_services[name]["edge"] = True
    for name, svc in old_services.items():
        if name not in previous_services and name not in swapped:
            previous_services[name] = dict(_mapping(svc)) | {"original_name": _mapping(svc).get("container")}
    changed = bool(swapped)
    releases = [_mapping(r).get("release") for r in swapped.values() if not _mapping(r).get("new")]
    at = commit["at"]
    state.update({
        "project": commit["project"],
        "current": {
            "release": target,
            "commit": in_progress.get("commit") or "",
            "ref": in_progress.get("ref") or commit.get("ref") or "",
            "deployed_at": at if changed else old.get("deployed_at") or at,
            "run_id": commit["run_id"] if changed else old.get("run_id") or commit["run_id"],
            "services": current_services,
        },
        "previous": {
            "release": old.get("release") or next(iter(releases), None),
            "commit": old.get("commit"), "ref": old.get("ref"), "deployed_at": old.get("deployed_at"),
            "run_id": old.get("run_id"), "services": previous_services,
        } if changed else state.get("previous"),
        "in_progress": None,
        "history": [*(state.get("history") or []),
                    {"release": target, "at": at, "outcome": "deployed", "run_id": commit["run_id"],
                     "changed": changed}],
    })  # fmt: skip
    return state


def cutover_state_running_kept(state: Any) -> list[str]:
    """The previous release's containers that still run behind the edge proxy (blue/green keeps
    them until verify has passed): commit stops them."""
    previous = _services_of(_mapping(state).get("previous"))
    current = {_mapping(s).get("container") for s in _services_of(_mapping(state).get("current")).values()}
    return [str(s["container"]) for s in map(_mapping, previous.values())
            if s.get("edge") and s.get("container") and s["container"] not in current]  # fmt: skip


def _services_of(release: Any) -> dict[str, Any]:
    return _mapping(_mapping(release).get("services"))


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "cutover_rollback_mode": cutover_rollback_mode,
            "cutover_lock_refusal": cutover_lock_refusal,
            "cutover_lock_preview": cutover_lock_preview,
            "cutover_takes_lock": cutover_takes_lock,
            "cutover_rollback_note": cutover_rollback_note,
            "cutover_phase_runs": cutover_phase_runs,
            "cutover_rollback_due": cutover_rollback_due,
            "cutover_changes_after": cutover_changes_after,
            "cutover_next_phase": cutover_next_phase,
            "cutover_plan_stands": cutover_plan_stands,
            "cutover_state_open": cutover_state_open,
            "cutover_state_swapped": cutover_state_swapped,
            "cutover_state_swapped_entries": cutover_state_swapped_entries,
            "cutover_state_unopened": cutover_state_unopened,
            "cutover_state_committed": cutover_state_committed,
            "cutover_images_known": cutover_images_known,
            "cutover_state_running_kept": cutover_state_running_kept,
        }
