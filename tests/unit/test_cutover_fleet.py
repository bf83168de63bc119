"""Unit tests of a fleet's rollout decisions (roles/cutover_common/filter_plugins/cutover_fleet.py)."""

from __future__ import annotations

from typing import Any

import pytest
from plugins import ROLES, load

fleet = load("cutover_fleet", ROLES / "cutover_common/filter_plugins/cutover_fleet.py")
HOSTS = ["h2", "h3", "h4"]


@pytest.mark.parametrize(
    ("hosts", "canary", "size", "batches", "serial"),
    [
        (HOSTS, 1, 0, [["h2"], ["h3", "h4"]], [1, 2]),
        (HOSTS, 1, 1, [["h2"], ["h3"], ["h4"]], [1, 1, 1]),
        (HOSTS, 2, 0, [["h2", "h3"], ["h4"]], [2, 1]),
        (HOSTS, 3, 0, [HOSTS], [3]),
        (HOSTS, 5, 2, [HOSTS], [3]),
        (["a", "b", "c", "d", "e"], 1, 2, [["a"], ["b", "c"], ["d", "e"]], [1, 2, 2]),
        (["a", "b", "c", "d"], 1, 2, [["a"], ["b", "c"], ["d"]], [1, 2, 1]),
        (["only"], 1, 0, [["only"]], [1]),
        ([], 1, 0, [], [1]),
    ],
)
def test_batches_and_serial(
    hosts: list[str], canary: int, size: int, batches: list[list[str]], serial: list[int]
) -> None:
    assert fleet.cutover_fleet_batches(hosts, canary, size) == batches
    assert fleet.cutover_fleet_serial(hosts, canary, size) == serial
    # Ansible's serial over the hosts in order gives exactly those batches.
    got, rest = [], list(hosts)
    for i in range(len(hosts)):
        n = serial[min(i, len(serial) - 1)]
        if not rest:
            break
        got.append(rest[:n])
        rest = rest[n:]
    assert got == batches


def test_errors_name_every_bad_field() -> None:
    assert fleet.cutover_fleet_errors(1, 0, "rollback_all") == []
    assert fleet.cutover_fleet_errors(2, 3, "halt") == []
    errors = fleet.cutover_fleet_errors(0, -1, "rollback_some")
    assert [e.split(":", 1)[0] for e in errors] == [
        "cutover_canary_hosts",
        "cutover_batch_size",
        "cutover_fleet_on_failure",
    ]
    assert "rollback_all, halt" in errors[2]
    assert fleet.cutover_fleet_errors("1", True, None)[0].startswith("cutover_canary_hosts: '1'")
    assert len(fleet.cutover_fleet_errors("1", True, None)) == 3


def _hv(**runs: Any) -> dict[str, Any]:
    return {host: {"cutover_run": run} for host, run in runs.items()}


def test_first_failure_in_rollout_order_and_own_only() -> None:
    fail3 = {"phase": "swap", "task": "t", "reason": "port taken"}
    fail4 = {"phase": "verify", "task": "v", "reason": "smoke"}
    hv = _hv(h2={"failure": None}, h3={"failure": fail3}, h4={"failure": fail4})
    assert fleet.cutover_fleet_failure(HOSTS, hv) == {"host": "h3", **fail3}
    # A failure copied from another host is not a host's own.
    copied = {"phase": "swap", "task": "t", "reason": "fleet: ...", "from_host": "h3"}
    hv = _hv(h2={"failure": copied}, h3={"failure": fail3}, h4={})
    assert fleet.cutover_fleet_failure(HOSTS, hv)["host"] == "h3"
    assert fleet.cutover_fleet_failure(HOSTS, _hv(h2={}, h3={"failure": None})) is None
    assert fleet.cutover_fleet_failure(HOSTS, {}) is None


def test_share_failure() -> None:
    failure = {"host": "h3", "phase": "swap", "task": "Start", "reason": "port taken"}
    # The failed host keeps its own record.
    own = {"phases": ["swap"], "failure": {"phase": "swap", "task": "Start", "reason": "port taken"}}
    assert fleet.cutover_fleet_share(own, failure, "h3") == own
    # A host still in progress takes the fleet's failure: no exchange (its change is in progress).
    shared = fleet.cutover_fleet_share({"phases": ["swap"], "failure": None}, failure, "h4")
    assert shared["failure"] == {
        "phase": "swap",
        "task": "Start",
        "reason": "fleet: h3 failed (port taken)",
        "from_host": "h3",
    }
    assert shared["fleet_exchange"] is False
    # A host that committed goes back under rollback_all, stays under halt.
    done = {"phases": ["swap"], "failure": None, "fleet_committed": True}
    assert fleet.cutover_fleet_share(done, failure, "h2", "rollback_all")["fleet_exchange"] is True
    assert fleet.cutover_fleet_share(done, failure, "h2", "halt")["fleet_exchange"] is False
    # No failure: unchanged.
    assert fleet.cutover_fleet_share(done, None, "h2") == done


class _HostVars(dict[str, Any]):
    """Like Ansible's hostvars: a host without the fact has no key."""


def test_play_serial_from_the_first_host_with_a_plan() -> None:
    hv = _HostVars(h2={}, h3={"cutover_fleet": {"serial": [1, 2]}}, h4={"cutover_fleet": None})
    assert fleet.cutover_fleet_play_serial(HOSTS, hv) == [1, 2]
    assert fleet.cutover_fleet_play_serial(HOSTS, _HostVars(h2={"cutover_fleet": None})) == []
    assert fleet.cutover_fleet_play_serial([], hv) == []


def test_built_the_same_commit() -> None:
    same = {"h2": {"cutover_commit": "abc"}, "h3": {"cutover_commit": "abc"}, "h4": {}}
    assert fleet.cutover_fleet_built(HOSTS, same) == ""
    other = {"h2": {"cutover_commit": "abc"}, "h3": {"cutover_commit": "def"}}
    assert fleet.cutover_fleet_built(HOSTS, other) == "the fleet's hosts built different commits: h2 abc, h3 def"
    assert fleet.cutover_fleet_built([], {}) == ""


def test_a_batch_with_one_failed_host_is_a_failed_phase() -> None:
    """The hosts' payloads merge in cutover_swap (the last one's ok wins): each host's own decides."""
    from cutover import stream

    def stats(data: dict[str, Any]) -> dict[str, Any]:
        return {"event": "runner_on_ok", "event_data": {"host": "h", "res": {"ansible_stats": {"data": data}}}}

    seg = stream.Segment("swap")
    seg.add(stats({"cutover_swap": {"ok": False}, "cutover_fleet": {"h3": {"swap": {"ok": False}}}}))
    seg.add(stats({"cutover_swap": {"ok": True}, "cutover_fleet": {"h4": {"swap": {"ok": True}}}}))
    assert stream.payload(seg.events)["cutover_swap"] == {"ok": True}
    assert stream.segment_ok(seg) is False
    ok = stream.Segment("swap")
    ok.add(stats({"cutover_swap": {"ok": True}, "cutover_fleet": {"h3": {"swap": {"ok": True}}}}))
    assert stream.segment_ok(ok) is True


def test_the_batch_play_is_cut_into_swap_and_verify() -> None:
    from cutover import stream

    def ev(kind: str, **data: Any) -> dict[str, Any]:
        return {"event": kind, "event_data": data}

    ends: list[str] = []
    cutter = stream.Cutter(["swap", "verify"], on_end=lambda s: ends.append(s.phase))
    for batch in range(2):
        cutter.feed(ev("playbook_on_play_start", play="Swap - and verify, batch by batch"))
        cutter.feed(ev("playbook_on_task_start", task="Swap - this batch's hosts"))
        cutter.feed(ev("runner_on_ok", host=f"h{batch}", res={}))
        cutter.feed(ev("playbook_on_task_start", task="Verify - this batch's hosts"))
        cutter.feed(ev("runner_on_ok", host=f"h{batch}", res={}))
    cutter.feed(ev("playbook_on_stats"))
    assert ends == ["swap", "verify", "swap", "verify"]
