"""The rollback's decisions (roles/cutover_rollback/filter_plugins/cutover_rollback.py): which
containers it reads, each service's steps, and the state.json it leaves."""

from __future__ import annotations

from typing import Any

from tests.unit.plugins import ROLES, load

rb = load("cutover_rollback_filters", ROLES / "cutover_rollback" / "filter_plugins" / "cutover_rollback.py")

ORDER = ["db-api", "worker", "web"]  # dependencies first
CHANGE = {"run_id": "R2", "reason": "automatic: swap failed", "at": "2026-11-30T10:00:00Z"}


def c(name: str, running: bool = True) -> dict[str, Any]:
    return {"Name": f"/{name}", "Image": "sha256:" + "b" * 64, "Config": {"Image": f"img/{name}:x", "Labels": {}},
            "State": {"Running": running, "Status": "running" if running else "exited"}}  # fmt: skip


IN_PROGRESS: dict[str, Any] = {
    "current": {"release": "old1111", "services": {"db-api": {"container": "db-api"}, "web": {"container": "web"}}},
    "previous": None,
    "history": [],
    "in_progress": {
        "run_id": "R2", "target": "new2222",
        "swapped": {
            "db-api": {"kept_container": "db-api--old1111", "original_name": "db-api", "new": False,
                       "image": "img/db-api:old1111", "image_id": "sha256:1", "release": "old1111"},
            "worker": {"kept_container": None, "original_name": None, "new": True, "image": None,
                       "image_id": None, "release": None},
            "web": {"kept_container": "web--old1111", "original_name": "web", "new": False,
                    "image": "img/web:old1111", "image_id": "sha256:2", "release": "old1111"},
        },
    },
}  # fmt: skip


def test_undo_in_progress_removes_the_new_ones_and_renames_the_kept_ones_back_in_reverse_order() -> None:
    containers = {"db-api": c("db-api"), "db-api--old1111": c("db-api--old1111", running=False),
                  "worker": c("worker"), "web": c("web"), "web--old1111": c("web--old1111", running=False)}  # fmt: skip
    assert set(rb.cutover_rollback_candidates(IN_PROGRESS, "in_progress")) == set(containers)
    plan = rb.cutover_rollback_plan(IN_PROGRESS, "in_progress", ORDER, containers, CHANGE)
    steps = {s["service"]: s for s in plan["steps"]}
    assert [s["service"] for s in plan["steps"]] == ["web", "worker", "db-api"]
    assert steps["web"]["remove"] == ["web"] and steps["web"]["save_logs"]
    assert steps["web"]["renames"] == [["web--old1111", "web"]] and steps["web"]["start"] == "web"
    assert not steps["web"]["refuse"]  # the container holding the name is the new one, removed first
    assert steps["worker"] == rb._step("worker") | {"save_logs": True, "remove": ["worker"], "removed": True}
    assert plan["state"]["in_progress"] is None
    assert plan["state"]["history"][-1] == {"release": "new2222", "at": CHANGE["at"], "outcome": "rolled_back",
                                            "run_id": "R2", "reason": "automatic: swap failed"}  # fmt: skip
    assert (plan["from"], plan["to"], plan["services"]) == ("new2222", "old1111", ["db-api", "web"])


def test_a_service_stopped_before_its_rename_is_only_started_again() -> None:
    # The swap failed after stopping db-api but before renaming it: the old container still has its name.
    containers = {"db-api": c("db-api", running=False)}
    state = IN_PROGRESS | {"in_progress": IN_PROGRESS["in_progress"] | {
        "swapped": {"db-api": IN_PROGRESS["in_progress"]["swapped"]["db-api"]}}}  # fmt: skip
    step = rb.cutover_rollback_plan(state, "in_progress", ORDER, containers, CHANGE)["steps"][0]
    assert step["remove"] == [] and step["renames"] == [] and step["start"] == "db-api" and step["restored"]


def test_a_running_stranger_holding_the_legacy_name_is_refused_and_a_stopped_one_removed() -> None:
    entry = {"kept_container": "web--v1", "original_name": "legacy-web", "new": False, "release": "v1"}
    state = IN_PROGRESS | {"in_progress": {"run_id": "R2", "target": "new2222", "swapped": {"web": entry}}}
    running = {"web": c("web"), "web--v1": c("web--v1", running=False), "legacy-web": c("legacy-web")}
    step = rb.cutover_rollback_plan(state, "in_progress", ORDER, running, CHANGE)["steps"][0]
    assert step["refuse"].startswith("cannot restore web--v1 as legacy-web: a running container (img/legacy-web:x")
    stopped = running | {"legacy-web": c("legacy-web", running=False)}
    step = rb.cutover_rollback_plan(state, "in_progress", ORDER, stopped, CHANGE)["steps"][0]
    assert not step["refuse"] and step["remove"] == ["web", "legacy-web"]
    assert step["renames"] == [["web--v1", "legacy-web"]] and step["start"] == "legacy-web"


COMMITTED: dict[str, Any] = {
    "current": {"release": "new2222", "services": {
        "db-api": {"container": "db-api", "image": "img/db-api:new2222", "image_id": "sha256:n1"},
        "worker": {"container": "worker", "image": "img/worker:new2222", "image_id": "sha256:n2"},
        "web": {"container": "web", "image": "img/web:same", "image_id": "sha256:s"}}},
    "previous": {"release": "old1111", "services": {
        "db-api": {"container": "db-api--old1111", "original_name": "db-api", "image": "img/db-api:old1111",
                   "image_id": "sha256:o1"},
        "web": {"container": "web", "original_name": "web", "image": "img/web:same", "image_id": "sha256:s"}}},
    "in_progress": None,
    "history": [{"release": "new2222", "outcome": "committed"}],
}  # fmt: skip


def test_exchange_retires_current_restores_previous_removes_what_previous_lacked_and_leaves_shared_ones() -> None:
    containers = {"db-api": c("db-api"), "db-api--old1111": c("db-api--old1111", running=False), "worker": c("worker")}
    assert "db-api--new2222" in rb.cutover_rollback_candidates(COMMITTED, "exchange")
    plan = rb.cutover_rollback_plan(COMMITTED, "exchange", ORDER, containers, CHANGE)
    steps = {s["service"]: s for s in plan["steps"]}
    assert list(steps) == ["worker", "db-api"]  # web is shared by both releases: left alone
    assert steps["worker"]["remove"] == ["worker"] and steps["worker"]["removed"]
    assert steps["db-api"]["stop"] == "db-api"
    assert steps["db-api"]["remove"] == ["db-api--new2222"]
    assert steps["db-api"]["renames"] == [["db-api", "db-api--new2222"], ["db-api--old1111", "db-api"]]
    assert steps["db-api"]["start"] == "db-api" and not steps["db-api"]["refuse"]
    new = plan["state"]
    assert new["current"]["release"] == "old1111"
    assert new["current"]["services"]["db-api"] == {"container": "db-api", "image": "img/db-api:old1111",
                                                    "image_id": "sha256:o1"}  # fmt: skip
    assert new["previous"]["services"] == {
        "db-api": {"container": "db-api--new2222", "original_name": "db-api", "image": "img/db-api:new2222",
                   "image_id": "sha256:n1"},
        "web": {"container": "web", "original_name": "web", "image": "img/web:same", "image_id": "sha256:s"},
    }  # fmt: skip
    assert new["history"][-1]["to"] == "old1111" and new["history"][-1]["release"] == "new2222"
    assert (plan["from"], plan["to"]) == ("new2222", "old1111")
    assert sorted(plan["services"]) == ["db-api", "web"]
    # The step can be reversed: rolling back again goes forward to new2222.
    again = rb.cutover_rollback_plan(new, "exchange", ORDER, {}, CHANGE)
    assert again["to"] == "new2222"


def test_nothing_to_roll_back_to_and_nothing_to_undo() -> None:
    plan = rb.cutover_rollback_plan({"current": {"release": "a"}}, "exchange", ORDER, {}, CHANGE)
    assert plan["error"] == "nothing to roll back to: state.json has no previous release"
    plan = rb.cutover_rollback_plan(COMMITTED, "none", ORDER, {}, CHANGE)
    assert plan["steps"] == [] and plan["state"] == COMMITTED and plan["to"] == "new2222"
    assert rb.cutover_rollback_summary(COMMITTED) == "would go back from new2222 to old1111"
    assert rb.cutover_rollback_summary(IN_PROGRESS) == "would undo the change of run R2 (services db-api, worker, web)"
    assert rb.cutover_rollback_summary({}) == "nothing to roll back to"


def test_a_long_reason_is_cut_on_a_word() -> None:
    reason = "word " * 100
    entry = rb.cutover_rollback_plan(IN_PROGRESS, "in_progress", ORDER, {}, CHANGE | {"reason": reason})
    text = entry["state"]["history"][-1]["reason"]
    assert len(text) <= 300 and text.endswith("...")


def test_a_steps_removals_come_before_its_renames_as_container_operations() -> None:
    step = {"remove": ["cart", "cart--bad"], "renames": [["cart--abc1234", "cart"]]}
    assert rb.cutover_rollback_container_ops(step) == [
        {"action": "remove", "container": "cart"},
        {"action": "remove", "container": "cart--bad"},
        {"action": "rename", "container": "cart--abc1234", "new_name": "cart"},
    ]
    assert rb.cutover_rollback_container_ops({"remove": [], "renames": []}) == []


def test_a_failed_rollback_lists_the_projects_containers_running_or_not() -> None:
    services = [{"name": "web", "legacy": {"container": "old--web"}}, {"name": "api"}]
    containers = [
        {"Names": ["/web"], "Image": "app/web:new", "Status": "Up 3 seconds", "State": "running"},
        {"Names": ["/web--r1"], "Image": "app/web:r1", "Status": "Exited (0)", "State": "exited"},
        {"Names": ["/old--web"], "Image": "legacy:1", "Status": "Exited (137)", "State": "exited"},
        {"Names": ["/api.b"], "Image": "app/api:new", "Status": "Up", "State": "running"},  # not a kept name
        {"Names": ["/webhooks"], "Image": "other", "Status": "Up", "State": "running"},  # another project
        {"Names": ["/api--r1--r0"], "Image": "app/api:r0", "Status": "Created", "State": "created"},
    ]
    assert rb.cutover_rollback_leftovers(containers, services) == {
        "running": ["web (app/web:new, Up 3 seconds)"],
        "stopped": ["web--r1 (app/web:r1, Exited (0))", "old--web (legacy:1, Exited (137))",
                    "api--r1--r0 (app/api:r0, Created)"],
    }  # fmt: skip
    assert rb.cutover_rollback_leftovers(None, services) == {"running": [], "stopped": []}
