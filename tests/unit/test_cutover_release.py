"""Services that come and go (issue 10): which services a release has
(roles/cutover_common/filter_plugins/cutover_release.py), what the swap does with one a release
lacks, and how verify, smoke and the validator treat it."""

from __future__ import annotations

from typing import Any

from tests.unit.plugins import ROLES, load

release = load("cutover_release_filters", ROLES / "cutover_common" / "filter_plugins" / "cutover_release.py")
swap = load("cutover_swap_filters_release", ROLES / "cutover_swap" / "filter_plugins" / "cutover_swap.py")
rollback = load(
    "cutover_rollback_filters_release", ROLES / "cutover_rollback" / "filter_plugins" / "cutover_rollback.py"
)
state_filters = load("cutover_state_filters_release", ROLES / "cutover_common" / "filter_plugins" / "cutover_state.py")
# The module imports its schema as Ansible ships it (role module_utils).
load("ansible.module_utils.cutover_smoke_schema", ROLES / "cutover_verify" / "module_utils" / "cutover_smoke_schema.py")
load("ansible.module_utils.cutover_envfile", ROLES / "cutover_verify" / "module_utils" / "cutover_envfile.py")
smoke = load("cutover_smoke_module_release", ROLES / "cutover_verify" / "library" / "cutover_smoke.py")
model = load("cutover_model_release", ROLES / "cutover_validate" / "filter_plugins" / "cutover_model.py")

SERVICES: list[dict[str, Any]] = [
    {"name": "gh-sensors", "module": "sensors", "image": "gh/sensors", "networks": [], "env": [], "required": True},
    {"name": "gh-alerts", "module": "alerts/", "image": "gh/alerts", "dockerfile": "build/Dockerfile",
     "networks": [], "env": []},
]  # fmt: skip
SETTINGS = {"root": "/opt/cutover/gh", "project": "gh", "restart_policy": "unless-stopped"}


def container(name: str, image: str) -> dict[str, Any]:
    return {"Name": f"/{name}", "Image": "sha256:" + "b" * 64, "Config": {"Image": image, "Labels": {}},
            "State": {"Running": True, "Status": "running", "Health": {"Status": "healthy"}}}  # fmt: skip


def test_the_build_contexts_are_module_and_dockerfile() -> None:
    assert release.cutover_build_contexts(SERVICES) == ["sensors/Dockerfile", "alerts/build/Dockerfile"]


def test_a_service_without_its_build_context_is_not_in_the_release() -> None:
    found = release.cutover_release_presence(SERVICES, ["sensors/Dockerfile\n"], "abc1234")
    assert found == {"present": ["gh-sensors"], "absent": ["gh-alerts"], "refused": []}


def test_a_required_service_without_its_build_context_refuses_the_release_naming_it() -> None:
    found = release.cutover_release_presence(SERVICES, ["alerts/build/Dockerfile"], "abc1234")
    assert found["absent"] == ["gh-sensors"]
    assert found["refused"] == [
        "cutover_services: gh-sensors is required (required: true) but release abc1234 has no sensors/Dockerfile"
    ]


def test_the_deployed_services_follow_the_change_then_the_current_release_then_all() -> None:
    names = lambda state: [s["name"] for s in release.cutover_deployed_services(SERVICES, state)]  # noqa: E731
    assert names({}) == ["gh-sensors", "gh-alerts"]
    assert names({"current": {"services": {"gh-sensors": {}}}}) == ["gh-sensors"]
    in_progress = {
        "in_progress": {"services": ["gh-sensors", "gh-alerts"]},
        "current": {"services": {"gh-sensors": {}}},
    }
    assert names(in_progress) == ["gh-sensors", "gh-alerts"]
    # a change opened by an older version (no services recorded) falls back to current
    assert names({"in_progress": {"swapped": {}}, "current": {"services": {"gh-sensors": {}}}}) == ["gh-sensors"]


def test_the_swap_leaves_an_absent_service_alone_and_retires_a_running_one() -> None:
    settings = SETTINGS | {"absent": ["gh-alerts"]}
    order = ["gh-sensors", "gh-alerts"]
    entries = swap.cutover_swap_plan(SERVICES, order, "aaa1111", {}, {}, {}, settings)
    assert [e["action"] for e in entries] == ["added", "absent"]
    assert entries[1]["line"] == "gh-alerts: not in release aaa1111"
    assert [e["name"] for e in swap.cutover_swap_pending(entries)] == ["gh-sensors"]

    state = {"current": {"release": "bbb2222", "services": {"gh-alerts": {"container": "gh-alerts"}}}}
    running = {"gh-alerts": container("gh-alerts", "gh/alerts:bbb2222")}
    retired = swap.cutover_swap_plan(SERVICES, order, "aaa1111", state, running, {}, settings)[1]
    assert retired["action"] == "retired"
    assert retired["kept_container"] == "gh-alerts--bbb2222"
    assert retired["record"] | {"image_id": None} == {
        "kept_container": "gh-alerts--bbb2222", "original_name": "gh-alerts", "new": False, "retired": True,
        "image": "gh/alerts:bbb2222", "image_id": None, "release": "bbb2222",
    }  # fmt: skip
    assert swap.cutover_swap_public(retired)["to"] is None
    assert [e["name"] for e in swap.cutover_swap_pending([retired])] == ["gh-alerts"]


def test_a_retired_service_comes_back_when_its_change_is_rolled_back() -> None:
    record = {"kept_container": "gh-alerts--bbb2222", "original_name": "gh-alerts", "new": False, "retired": True,
              "image": "gh/alerts:bbb2222", "image_id": "sha256:x", "release": "bbb2222"}  # fmt: skip
    state = state_filters.cutover_state_open(
        {"current": {"release": "bbb2222", "services": {"gh-alerts": {"container": "gh-alerts"}}}},
        {"run_id": "r1", "target": "aaa1111", "commit": "c", "ref": "gh-v1", "project": "gh",
         "started_at": "t", "services": ["gh-sensors"]},
    )  # fmt: skip
    assert state["in_progress"]["services"] == ["gh-sensors"]
    state = state_filters.cutover_state_swapped(state, "gh-alerts", record)
    kept = {"gh-alerts--bbb2222": container("gh-alerts--bbb2222", "gh/alerts:bbb2222")}
    plan = rollback.cutover_rollback_plan(state, "in_progress", ["gh-sensors", "gh-alerts"], kept,
                                          {"run_id": "r1", "reason": "verify failed", "at": "t"})  # fmt: skip
    [step] = plan["steps"]
    assert step["renames"] == [["gh-alerts--bbb2222", "gh-alerts"]]
    assert step["start"] == "gh-alerts" and step["restored"] and not step["remove"]


def test_going_back_to_a_release_without_a_service_removes_it() -> None:
    state = {
        "current": {"release": "bbb2222", "services": {"gh-sensors": {"container": "gh-sensors"},
                                                       "gh-alerts": {"container": "gh-alerts"}}},
        "previous": {"release": "aaa1111", "services": {"gh-sensors": {"container": "gh-sensors--aaa1111",
                                                                       "original_name": "gh-sensors"}}},
    }  # fmt: skip
    containers = {n: container(n, "x") for n in ("gh-sensors", "gh-alerts", "gh-sensors--aaa1111")}
    plan = rollback.cutover_rollback_plan(state, "exchange", ["gh-sensors", "gh-alerts"], containers,
                                          {"run_id": "r2", "reason": "", "at": "t"})  # fmt: skip
    by_service = {s["service"]: s for s in plan["steps"]}
    assert by_service["gh-alerts"]["remove"] == ["gh-alerts"] and by_service["gh-alerts"]["removed"]
    assert list(plan["state"]["current"]["services"]) == ["gh-sensors"]


def test_a_smoke_check_of_a_service_not_in_the_release_is_skipped_saying_so() -> None:
    check = {"name": "alert rules", "service": "gh-alerts", "url": "http://127.0.0.1:4104/rules", "status": 200}
    [result] = smoke.run_suite([check], {}, 1.0, absent_services=["gh-alerts"])
    assert result["result"] == "skipped"
    assert result["detail"] == "gh-alerts is not in this release"


def test_the_validator_checks_required_and_the_smoke_checks_service() -> None:
    inventory = {
        "cutover_services": [SERVICES[0] | {"required": "yes"}],
        "cutover_smoke_checks": [{"name": "x", "service": "gh-nope", "url": "http://127.0.0.1:1/", "status": 200}],
    }
    errors = model.cutover_model_errors(inventory)
    joined = "; ".join(errors)
    assert "cutover_services[0].required: 'yes' must be true or false" in joined
    assert "cutover_smoke_checks[0].service: unknown service 'gh-nope' (known: gh-sensors)" in joined


def test_recert_knows_the_kept_container_of_a_service_the_release_lacks() -> None:
    recert = load("cutover_recert_release", ROLES / "cutover_recert" / "filter_plugins" / "cutover_recert.py")
    current = {"release": "aaa1111", "services": {"gh-sensors": {"container": "gh-sensors"}}}
    labels = {"cutover.project": "gh", "cutover.service": "gh-sensors", "cutover.release": "aaa1111"}
    containers = [
        {"Names": ["/gh-sensors"], "Image": "gh/sensors:aaa1111", "State": "running", "Labels": labels},
        {"Names": ["/gh-alerts--bbb2222"], "Image": "gh/alerts:bbb2222", "State": "exited",
         "Labels": {"cutover.project": "gh"}},
    ]  # fmt: skip
    args = {"current": current, "project": "gh", "root": "/opt/gh", "legacy_dirs_present": [], "health": {},
            "lock": {}}  # fmt: skip
    ok = recert.cutover_recert(containers, [SERVICES[0]], inventory_services=["gh-sensors", "gh-alerts"], **args)
    assert ok["ok"] and ok["drift"] == [], ok
    stray = [*containers, {"Names": ["/gh-alerts"], "Image": "gh/alerts:bbb2222", "State": "running", "Labels": {}}]
    found = recert.cutover_recert(stray, [SERVICES[0]], inventory_services=["gh-sensors", "gh-alerts"], **args)
    assert found["drift"] == ["gh-alerts: container present (running), but release aaa1111 has no such service"]


def test_the_git_resolution_reads_the_commit_the_tag_and_the_listed_files() -> None:
    output = "a" * 40 + "\naaaaaaa\nsensors/Dockerfile\nalerts/build/Dockerfile"
    assert release.cutover_git_resolved(output) == {
        "ok": True, "error": "", "commit": "a" * 40, "release": "aaaaaaa",
        "listed": ["sensors/Dockerfile", "alerts/build/Dockerfile"],
    }  # fmt: skip
    assert release.cutover_git_resolved("a" * 40 + "\naaaaaaa")["listed"] == []  # no build context at all


def test_a_ref_that_is_no_commit_is_an_error_with_gits_words_or_unknown_ref() -> None:
    failed = release.cutover_git_resolved("error: fatal: cannot change to '/nope': No such file or directory")
    assert (failed["ok"], failed["error"]) == (False, "fatal: cannot change to '/nope': No such file or directory")
    assert release.cutover_git_resolved("error: ")["error"] == "unknown ref"  # rev-parse --quiet says nothing
    assert release.cutover_git_resolved("")["ok"] is False
