"""The swap a dependency level at a time (roles/cutover_swap/filter_plugins/cutover_swap.py, with
the per-service env files of cutover_envfile.py, the start operations of cutover_container_create.py
and the gates of cutover_health.py): which services go together, what the host is told in one
call, and what is recorded when one of a level fails."""

from __future__ import annotations

from typing import Any

from tests.unit.plugins import ROLES, load

swap = load("cutover_swap_filters_levels", ROLES / "cutover_swap" / "filter_plugins" / "cutover_swap.py")
state_filters = load("cutover_state_filters_levels", ROLES / "cutover_common" / "filter_plugins" / "cutover_state.py")
envfile = load("cutover_envfile_levels", ROLES / "cutover_common" / "filter_plugins" / "cutover_envfile.py")
create = load("cutover_container_create_levels",
              ROLES / "cutover_swap" / "filter_plugins" / "cutover_container_create.py")  # fmt: skip
health = load("cutover_health_filters_levels", ROLES / "cutover_verify" / "filter_plugins" / "cutover_health.py")

# db <- api <- (web, worker); cache alone; report <- worker (through it, on db and api)
SERVICES: list[dict[str, Any]] = [
    {"name": "db", "depends_on": [], "env": ["DB_PASSWORD"], "container_port": 5000,
     "health": {"url": "http://127.0.0.1:5000/health"}},
    {"name": "cache", "env": [], "container_port": 6000},
    {"name": "api", "depends_on": ["db"], "env": ["DB_PASSWORD", "API_KEY"], "container_port": 7000,
     "health": {"url": "http://127.0.0.1:7000/health", "json": {"ready": True}}},
    {"name": "web", "depends_on": ["api"], "env": [], "container_port": 8000,
     "healthcheck": {"test": "true", "interval": "1s"}},
    {"name": "worker", "depends_on": ["api"], "env": ["API_KEY"], "container_port": 9000},
    {"name": "report", "depends_on": ["worker"], "env": [], "container_port": 9100},
]  # fmt: skip
ENV = {"DB_PASSWORD": "pw", "API_KEY": "k", "UNUSED": "u"}


def entry(name: str, action: str = "replaced", edge: bool = False, current: str = "") -> dict[str, Any]:
    return {"name": name, "action": action, "image": f"shop/{name}:bbb2222", "container": f"{name}--bbb2222",
            "current_name": current or name, "kept_container": f"{name}--aaa1111", "config_hash": f"h-{name}",
            "ports": [], "networks": [{"name": "shop", "aliases": [name]}], "line": f"{name}: replaced",
            "record": {"kept_container": f"{name}--aaa1111", "new": False}
            | ({"edge": True} if edge else {})}  # fmt: skip


def test_services_that_do_not_depend_on_each_other_share_a_level() -> None:
    pending = [entry(n) for n in ("db", "cache", "api", "web", "worker", "report")]
    assert swap.cutover_swap_levels(pending, SERVICES) == [["db", "cache"], ["api"], ["web", "worker"], ["report"]]


def test_a_dependency_that_stays_as_it_is_imposes_no_wait_but_one_through_it_does() -> None:
    # api is unchanged: web waits for nothing of it; report still waits for db, through worker and api
    pending = [entry(n) for n in ("db", "web", "report")]
    assert swap.cutover_swap_levels(pending, SERVICES) == [["db"], ["web", "report"]]
    assert swap.cutover_swap_levels([entry("web"), entry("cache")], SERVICES) == [["web", "cache"]]
    assert swap.cutover_swap_levels([], SERVICES) == []


def test_the_level_is_recorded_in_one_state_and_only_starting_services_get_env_files() -> None:
    opened = {"in_progress": {"run_id": "R1", "swapped": {}}}
    level = [entry("db"), entry("cache", action="retired")]
    recorded = state_filters.cutover_state_swapped_entries(opened, level)
    assert recorded["in_progress"]["swapped"] == {
        "db": {"kept_container": "db--aaa1111", "new": False},
        "cache": {"kept_container": "cache--aaa1111", "new": False},
    }
    assert opened["in_progress"]["swapped"] == {}  # the input is not changed
    files = envfile.service_files(ENV, SERVICES, ["db", "api"])
    assert files == {"db.env": "DB_PASSWORD=pw\n", "api.env": "DB_PASSWORD=pw\nAPI_KEY=k\n"}
    assert envfile.per_service(ENV, SERVICES)["worker"] == {"API_KEY": "k"}


def test_the_level_starts_each_new_container_with_its_own_env_labels_and_healthcheck() -> None:
    level = [entry("web"), entry("cache", action="retired"), entry("worker", edge=True)]
    ops = create.cutover_swap_level_start_ops(level, SERVICES, envfile.per_service(ENV, SERVICES),
                                              {"project": "shop", "release": "bbb2222",
                                               "restart_policy": "unless-stopped"})  # fmt: skip
    assert [(op["action"], op["container"]) for op in ops] == [("create", "web--bbb2222"), ("start", "web--bbb2222"),
                                                               ("create", "worker--bbb2222"),
                                                               ("start", "worker--bbb2222")]  # fmt: skip
    web, worker = ops[0]["body"], ops[2]["body"]
    assert web["Env"] == [] and worker["Env"] == ["API_KEY=k"]
    assert web["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 10**9} and "Healthcheck" not in worker
    assert web["Labels"] == {"cutover.project": "shop", "cutover.service": "web", "cutover.release": "bbb2222",
                             "cutover.config-hash": "h-web", "cutover.layout": "published"}  # fmt: skip
    assert worker["Labels"]["cutover.layout"] == "edge"


def test_the_level_is_gated_at_once_behind_the_edge_on_the_container_itself() -> None:
    targets = health.cutover_health_new_containers([entry("db"), entry("cache", action="retired"),
                                                    entry("api", edge=True)], SERVICES)  # fmt: skip
    assert [t["name"] for t in targets] == ["db", "api"]
    db, api = targets
    assert db["container"] == "db--bbb2222" and db["url"] == "http://127.0.0.1:5000/health" and "direct_port" not in db
    assert db["diagnose_url"] == "http://127.0.0.1:5000/health"
    assert api["direct_port"] == 7000 and api["contract"] == health.cutover_health_targets([SERVICES[2]])[0]["contract"]
    # a service without a health URL is gated on Docker's verdict alone
    [web] = health.cutover_health_new_containers([entry("web")], SERVICES)
    assert web == {"name": "web", "container": "web--bbb2222", "diagnose_url": ""}


def test_a_failed_level_records_what_serves_and_names_every_service_that_failed() -> None:
    level = [entry("web"), entry("worker"), entry("cache", action="retired")]
    gates = {"web": {"ok": True}, "worker": {"ok": False, "verdict": "unhealthy", "waited_s": 3,
                                             "diagnosis": {"exists": True, "running": True, "health": "unhealthy"}}}
    assert [o["name"] for o in swap.cutover_swap_level_served(level, gates)] == ["web", "cache"]
    assert swap.cutover_swap_level_failure(gates, level[:2], 60) == (
        "worker: new container never became healthy (it failed after 3s: the gate did not wait out 60s):"
        " health unhealthy"
    )
    assert swap.cutover_swap_diagnoses(gates) == {"worker": {"exists": True, "running": True, "health": "unhealthy"}}


def test_a_bluegreen_level_flips_in_one_call_and_takes_a_retired_service_off_the_edge() -> None:
    level = [entry("api", edge=True), entry("web", action="retired", edge=True), entry("cache", action="retired")]
    assert swap.cutover_swap_edge_flips(level, SERVICES) == [
        {"service": "api", "to": "api--bbb2222:7000"}, {"service": "web", "to": "none"}]
    assert [e["name"] for e in swap.cutover_swap_retired(level, behind_edge=True)] == ["web"]
    assert [e["name"] for e in swap.cutover_swap_retired(level, behind_edge=False)] == ["cache"]
