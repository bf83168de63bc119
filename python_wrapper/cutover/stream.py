"""One playbook run (playbooks/cutover.yml) cut into phases: pure functions over runner events.

Every phase playbook is one play named ``"<Phase> - ..."`` (``"Rollback - ..."`` for the
rollback play); the plays named ``"Cutover - ..."`` (the run's start and end) belong to no phase.
A fleet's batch play holds two phases: its task ``"Verify - ..."`` starts the verify segment,
and each batch (serial) starts the play, so each batch has its own swap and verify segments.
A play whose tasks were all skipped (a phase not chosen, or skipped after a failure) did not run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

RAN = ("runner_on_ok", "runner_on_failed", "runner_on_unreachable", "runner_item_on_ok",
       "runner_item_on_failed")  # fmt: skip
COUNTED = (*RAN, "runner_on_skipped")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
STAT_KEYS = ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored")


def phase_of_play(name: str, phases: Sequence[str]) -> str | None:
    """``"Swap - replace the services ..."`` -> ``"swap"``; None for a play of no phase."""
    head = str(name).split(" - ", 1)[0].strip().lower()
    return head if head in phases or head == "rollback" else None


def created(event: Mapping[str, Any]) -> datetime | None:
    stamp = event.get("created")
    if not isinstance(stamp, str):
        return None
    try:
        parsed = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class Segment:
    """The events of one phase's play, in order."""

    phase: str
    events: list[dict[str, Any]] = field(default_factory=list)
    started: datetime | None = None
    finished: datetime | None = None

    @property
    def ran(self) -> bool:
        return any(e.get("event") in RAN for e in self.events)

    def add(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        when = created(event)
        if when:
            self.started = self.started or when
            self.finished = when


class Cutter:
    """Feeds events in; calls ``on_start(phase)`` at a phase's first task that runs and
    ``on_end(segment)`` when the phase's play ends (the next play starts, or the run ends)."""

    def __init__(
        self,
        phases: Sequence[str],
        on_start: Callable[[str], None] | None = None,
        on_end: Callable[[Segment], None] | None = None,
    ) -> None:
        self.phases = tuple(phases)
        self.on_start = on_start
        self.on_end = on_end
        self.current: Segment | None = None
        self.announced = False
        self.segments: list[Segment] = []

    def feed(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "playbook_on_play_start":
            self.close()
            data = event.get("event_data") or {}
            phase = phase_of_play(str(data.get("play") or data.get("name") or ""), self.phases)
            if phase:
                self.current = Segment(phase)
                self.current.add(event)
            return
        if kind == "playbook_on_stats":
            self.close()
            return
        if self.current is None:
            return
        if kind == "playbook_on_task_start":
            # A play of several phases (a fleet's batch play, "Swap - ... batch by batch"): its
            # task named "<Phase> - ..." starts that phase's segment.
            data = event.get("event_data") or {}
            phase = phase_of_play(str(data.get("task") or data.get("name") or ""), self.phases)
            if phase and phase != self.current.phase:
                self.close()
                self.current = Segment(phase)
        self.current.add(event)
        if not self.announced and kind in RAN:
            self.announced = True
            if self.on_start:
                self.on_start(self.current.phase)

    def close(self) -> None:
        segment, self.current = self.current, None
        announced, self.announced = self.announced, False
        if segment is None or not announced:
            return
        self.segments.append(segment)
        if self.on_end:
            self.on_end(segment)


def payload(events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The set_stats data published by these events (aggregated as Ansible does: dicts merged)."""
    out: dict[str, Any] = {}
    for event in events:
        if event.get("event") != "runner_on_ok":
            continue
        res = (event.get("event_data") or {}).get("res") or {}
        stats = res.get("ansible_stats") if isinstance(res, dict) else None
        data = stats.get("data") if isinstance(stats, dict) else None
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(value, dict) and isinstance(out.get(key), dict):
                    out[key] = {**out[key], **value}
                else:
                    out[key] = value
    return out


def rollout(events: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """A fleet's rollout plan (set_stats ``cutover_rollout``), which the run's start play
    publishes before any phase: None without one (one host)."""
    plan = payload(events).get("cutover_rollout")
    return dict(plan) if isinstance(plan, dict) and plan else None


def reports_changed(event: Mapping[str, Any]) -> bool:
    """Whether an ok result changed the host. A no_log result reaches the event stream censored
    (no ``changed`` in it), so its line in the output decides: ``changed: [host]``."""
    res = (event.get("event_data") or {}).get("res")
    if isinstance(res, dict) and "changed" in res:
        return bool(res["changed"])
    return ANSI_RE.sub("", str(event.get("stdout") or "")).lstrip().startswith("changed:")


def host_stats(events: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Per host: ok, changed, failures, dark, skipped, rescued, ignored - of these events only.
    A failure after which the host ran more tasks of the play was rescued. A loop changed the
    host when one of its items did (a no_log loop's own result says nothing)."""
    stats: dict[str, dict[str, int]] = {}
    last: dict[str, int] = {}
    items_changed: set[tuple[str, str]] = set()
    for index, event in enumerate(events):
        data = event.get("event_data") or {}
        host = data.get("host")
        if host and event.get("event") in COUNTED:
            last[str(host)] = index
        if host and event.get("event") == "runner_item_on_ok" and reports_changed(event):
            items_changed.add((str(host), str(data.get("task_uuid"))))
    for index, event in enumerate(events):
        kind = event.get("event")
        data = event.get("event_data") or {}
        host = str(data.get("host") or "")
        if not host or kind not in COUNTED or str(kind).startswith("runner_item_"):
            continue
        row = stats.setdefault(host, dict.fromkeys(STAT_KEYS, 0))
        if kind == "runner_on_ok":
            row["ok"] += 1
            loop_changed = (host, str(data.get("task_uuid"))) in items_changed
            row["changed"] += 1 if reports_changed(event) or loop_changed else 0
        elif kind == "runner_on_skipped":
            row["skipped"] += 1
        elif kind == "runner_on_unreachable":
            row["dark"] += 1
        elif data.get("ignore_errors"):
            row["ok"] += 1
            row["ignored"] += 1
        elif last.get(host, -1) > index:
            row["rescued"] += 1
        else:
            row["failures"] += 1
    return stats


def failed_for_good(events: Sequence[Mapping[str, Any]]) -> bool:
    """A host failed (or was unreachable) and was not rescued in these events."""
    return any(row["failures"] or row["dark"] for row in host_stats(events).values())


def segment_ok(segment: Segment, check: bool = False) -> bool:
    """The phase passed: no host failed for good, and its payload does not say ok false (in
    check mode a plan says nothing about passing)."""
    if failed_for_good(segment.events):
        return False
    data = payload(segment.events)
    published = data.get(f"cutover_{segment.phase}")
    # A fleet: the hosts' payloads merge in the phase's own key (the last host's ok wins
    # there); each host's own is under cutover_fleet.<host>.<phase>.
    fleet = data.get("cutover_fleet")
    by_host = fleet.values() if isinstance(fleet, dict) else ()
    hosts = [r.get(segment.phase) for r in by_host if isinstance(r, dict)]
    if any(isinstance(r, dict) and r.get("ok") is False for r in hosts):
        return check
    return check or not (isinstance(published, dict) and published.get("ok") is False)


def segment_stdout(segment: Segment) -> str:
    return "\n".join(str(e["stdout"]) for e in segment.events if e.get("stdout"))
