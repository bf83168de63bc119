"""Retention's decisions (roles/cutover_retention/filter_plugins/cutover_retention.py): the current,
the previous and the last N deployed releases stay; every other release the host knows of goes,
with its kept containers, never one that state.json names."""

from __future__ import annotations

from tests.unit.plugins import ROLES, load

retention = load("cutover_retention_filters", ROLES / "cutover_retention" / "filter_plugins" / "cutover_retention.py")

SERVICES = [{"name": "api", "image": "shop/api"}, {"name": "web", "image": "shop/web"}]


def deployed(*releases: str) -> list[dict[str, str]]:
    return [{"release": r, "outcome": "deployed"} for r in releases]


def test_current_previous_and_the_last_deployed_stay_every_other_known_release_goes() -> None:
    state = {"current": {"release": "r5"}, "previous": {"release": "r4"},
             "history": [*deployed("r1", "r2", "r3"), {"release": "rx", "outcome": "rolled_back"},
                         *deployed("r4", "r5")]}  # fmt: skip
    plan = retention.cutover_retention_plan(state, SERVICES, ["/opt/c/releases/r1", "/opt/c/releases/r0/"], [], 3)
    assert plan["keep"] == ["r5", "r4", "r3"]
    # known: the directories, the history (a rolled-back release too) and the kept containers' names
    assert plan["prune"] == ["r1", "r0", "r2", "rx"]
    assert retention.cutover_retention_plan(state, SERVICES, [], [], 0)["keep"] == ["r5", "r4"]


def test_the_kept_containers_of_pruned_releases_go_but_never_one_the_state_names() -> None:
    state = {"current": {"release": "r3", "services": {"api": {"container": "api--r3"}}},
             "previous": {"release": "r2", "services": {"web": {"container": "web--r1.b"}}},
             "history": deployed("r1", "r2", "r3")}  # fmt: skip
    names = ["/api--r1", "/web--r1.b", "/api--r2", "/other--r1", "/api", "/web--r0.c", "/api--r3"]
    plan = retention.cutover_retention_plan(state, SERVICES, [], names, 0)
    assert plan["keep"] == ["r3", "r2"]
    assert plan["prune"] == ["r1", "r0"]  # other--r1 is not a service of the project: not its container
    assert plan["remove_containers"] == ["api--r1", "web--r0.c"]  # web--r1.b: state.json names it
    assert plan["remove_ops"] == [{"action": "remove", "container": "api--r1"},
                                  {"action": "remove", "container": "web--r0.c"}]  # fmt: skip


def test_a_fresh_host_keeps_and_prunes_nothing() -> None:
    assert retention.cutover_retention_plan({}, SERVICES, [], [], 3) == {
        "keep": [], "prune": [], "remove_containers": [], "remove_ops": []}
