"""Blue/green decisions, kept out of Jinja: the swap plan behind the edge proxy (names, hand-over,
what the edge fronts), the committed state and the kept containers commit stops, the rollback's
flips, recert's view of release-named containers, the validator's port rule and the health
module's direct URL."""

from __future__ import annotations

from typing import Any

from tests.unit.plugins import ROLES, load

swap = load("cutover_swap_filters_bg", ROLES / "cutover_swap" / "filter_plugins" / "cutover_swap.py")
states = load("cutover_state_filters_bg", ROLES / "cutover_common" / "filter_plugins" / "cutover_state.py")
rb = load("cutover_rollback_filters_bg", ROLES / "cutover_rollback" / "filter_plugins" / "cutover_rollback.py")
recert = load("cutover_recert_filters_bg", ROLES / "cutover_recert" / "filter_plugins" / "cutover_recert.py")
model = load("cutover_model_filters_bg", ROLES / "cutover_validate" / "filter_plugins" / "cutover_model.py")
load(
    "ansible.module_utils.cutover_health_contract",
    ROLES / "cutover_verify" / "module_utils" / "cutover_health_contract.py",
)
load("ansible.module_utils.cutover_engine", ROLES / "cutover_common" / "module_utils" / "cutover_engine.py")
health = load("cutover_health_module_bg", ROLES / "cutover_verify" / "library" / "cutover_health.py")

SETTINGS = {"root": "/opt/cutover/shop", "project": "shop", "restart_policy": "unless-stopped", "strategy": "bluegreen"}
SERVICES: list[dict[str, Any]] = [
    {"name": "ledger", "image": "shop/ledger", "ports": ["127.0.0.1:4100:4100"], "container_port": 4100,
     "networks": ["shop"], "env": [], "health": {"url": "http://127.0.0.1:4100/healthz"}},
    {"name": "cart", "image": "shop/cart", "ports": ["127.0.0.1:4200:4200"], "container_port": 4200,
     "networks": ["shop", "store"], "env": [], "legacy": {"container": "shop-cart-old"}},
]  # fmt: skip
ORDER = ["ledger", "cart"]
OLD, NEW = "ledger--aaa1111", "ledger--bbb2222"


def container(name: str, image: str, config_hash: str = "", running: bool = True) -> dict[str, Any]:
    return {"Name": f"/{name}", "Image": "sha256:" + "a" * 64,
            "Config": {"Image": image, "Labels": {"cutover.config-hash": config_hash}},
            "State": {"Running": running, "Status": "running" if running else "exited",
                      "Health": {"Status": "healthy"}}}  # fmt: skip


def plan(state: Any, containers: dict[str, Any], release: str = "bbb2222") -> list[dict[str, Any]]:
    return swap.cutover_swap_plan(SERVICES, ORDER, release, state, containers, {}, SETTINGS)


def test_a_first_install_starts_release_named_containers_that_publish_nothing() -> None:
    ledger, cart = plan({}, {})
    assert (ledger["action"], ledger["container"], ledger["ports"]) == ("added", NEW, [])
    assert cart["networks"] == [{"name": "shop", "aliases": []}, {"name": "store", "aliases": []}]
    assert not ledger["handover"] and ledger["record"]["edge"] and ledger["record"]["container"] == NEW
    assert ledger["line"] == "ledger: added -> shop/ledger:bbb2222 as ledger--bbb2222 (blue/green)"


def test_the_old_layout_is_handed_over_and_kept_under_its_release() -> None:
    containers = {
        "ledger": container("ledger", "shop/ledger:aaa1111"),
        "shop-cart-old": container("shop-cart-old", "shop/cart:aaa1111"),
    }
    state = {"current": {"release": "aaa1111", "services": {"ledger": {"container": "ledger"}}}}
    ledger, cart = plan(state, containers)
    assert ledger["handover"] and cart["handover"]
    assert (ledger["current_name"], ledger["kept_container"]) == ("ledger", OLD)
    assert (cart["current_name"], cart["kept_container"]) == ("shop-cart-old", "cart--aaa1111")
    assert ledger["record"]["original_name"] == "ledger" and not ledger["record"]["kept_behind_edge"]
    live = swap.cutover_swap_edge_live(SERVICES, [ledger, cart], True)
    assert live == {"ledger": "ledger--bbb2222:4100", "cart": "cart--bbb2222:4200"}
    assert swap.cutover_swap_edge_live(SERVICES, [ledger, cart], False) == {"ledger": None, "cart": None}


def test_behind_the_edge_the_old_container_keeps_its_name_and_keeps_serving() -> None:
    state = {
        "current": {"release": "aaa1111", "services": {n: {"container": f"{n}--aaa1111", "edge": True} for n in ORDER}}
    }
    containers = {f"{n}--aaa1111": container(f"{n}--aaa1111", f"shop/{n}:aaa1111", "old") for n in ORDER}
    ledger, _cart = plan(state, containers)
    assert (ledger["action"], ledger["kept_container"], ledger["handover"]) == ("replaced", OLD, False)
    assert ledger["record"]["kept_behind_edge"]
    live = swap.cutover_swap_edge_live(SERVICES, plan(state, containers), False)
    assert live == {"ledger": "ledger--aaa1111:4100", "cart": "cart--aaa1111:4200"}


def test_the_same_spec_behind_the_edge_is_unchanged_and_a_new_config_of_the_same_release_gets_the_other_name() -> None:
    hashes = {e["name"]: e["config_hash"] for e in plan({}, {})}
    state = {
        "current": {"release": "bbb2222", "services": {n: {"container": f"{n}--bbb2222", "edge": True} for n in ORDER}}
    }
    same = {f"{n}--bbb2222": container(f"{n}--bbb2222", f"shop/{n}:bbb2222", hashes[n]) for n in ORDER}
    assert [e["action"] for e in plan(state, same)] == ["unchanged", "unchanged"]
    changed = {f"{n}--bbb2222": container(f"{n}--bbb2222", f"shop/{n}:bbb2222", "other") for n in ORDER}
    entry = plan(state, changed)[0]
    assert (entry["action"], entry["container"], entry["kept_container"]) == (
        "replaced",
        "ledger--bbb2222.b",
        NEW,
    )


def test_a_new_container_never_takes_the_name_of_a_container_state_keeps_for_a_rollback() -> None:
    # Back to release aaa1111, whose old-layout container is kept (stopped) as ledger--aaa1111.
    state = {"current": {"release": "bbb2222", "services": {"ledger": {"container": NEW, "edge": True}}},
             "previous": {"release": "aaa1111", "services": {"ledger": {"container": OLD, "original_name": "ledger"}}}}
    assert f"{OLD}.b" in swap.cutover_swap_candidates(SERVICES, state, "aaa1111")
    containers = {NEW: container(NEW, "shop/ledger:bbb2222"), OLD: container(OLD, "shop/ledger:aaa1111", running=False)}
    entry = plan(state, containers, release="aaa1111")[0]
    assert (entry["container"], entry["stale"], entry["kept_container"]) == (f"{OLD}.b", "", NEW)
    # A leftover nobody records under the free name is stale: removed before the start.
    containers[f"{OLD}.b"] = container(f"{OLD}.b", "shop/ledger:aaa1111", running=False)
    assert plan(state, containers, release="aaa1111")[0]["stale"] == f"{OLD}.b"


def test_recreate_is_refused_on_a_host_behind_the_edge() -> None:
    state = {"current": {"release": "aaa1111", "services": {"ledger": {"container": OLD, "edge": True}}}}
    assert "use bluegreen" in swap.cutover_swap_layout_problem(state, "recreate")
    assert swap.cutover_swap_layout_problem(state, "bluegreen") == ""
    assert (
        swap.cutover_swap_layout_problem({"current": {"services": {"ledger": {"container": "ledger"}}}}, "recreate")
        == ""
    )


def test_commit_records_the_release_named_containers_and_the_kept_ones_still_running() -> None:
    state = {
        "current": {"release": "aaa1111",
                    "services": {"ledger": {"container": OLD, "edge": True, "image": "shop/ledger:aaa1111"}}},
        "in_progress": {"target": "bbb2222", "commit": "c" * 40, "swapped": {
            "ledger": {"kept_container": OLD, "original_name": OLD, "new": False, "edge": True,
                       "kept_behind_edge": True, "container": NEW, "image": "shop/ledger:aaa1111",
                       "release": "aaa1111"},
            "cart": {"kept_container": None, "new": True, "edge": True, "container": "cart--bbb2222"}}},
        "history": [],
    }  # fmt: skip
    images = [
        {"RepoTags": ["shop/ledger:bbb2222"], "Id": "sha256:l"},
        {"RepoTags": ["shop/cart:bbb2222"], "Id": "sha256:c"},
    ]
    done = states.cutover_state_committed(
        state, SERVICES, images, {"run_id": "R", "project": "shop", "ref": "v2", "at": "T"}
    )
    assert done["current"]["services"] == {
        "ledger": {
            "container": NEW,
            "image": "shop/ledger:bbb2222",
            "image_id": "sha256:l",
            "edge": True,
        },
        "cart": {"container": "cart--bbb2222", "image": "shop/cart:bbb2222", "image_id": "sha256:c", "edge": True},
    }
    assert done["previous"]["services"]["ledger"]["container"] == OLD
    assert done["previous"]["release"] == "aaa1111" and done["in_progress"] is None
    assert states.cutover_state_running_kept(done) == [OLD]


def test_commit_of_recreate_keeps_the_old_shape() -> None:
    state = {
        "current": None,
        "in_progress": {
            "target": "b",
            "swapped": {
                "ledger": {
                    "kept_container": "ledger--a",
                    "original_name": "mint-ledger",
                    "new": False,
                    "image": "i:a",
                    "image_id": "x",
                    "release": "a",
                }
            },
        },
    }
    done = states.cutover_state_committed(state, SERVICES[:1], [], {"run_id": "R", "project": "shop", "at": "T"})
    assert done["current"]["services"] == {
        "ledger": {"container": "ledger", "image": "shop/ledger:b", "image_id": None}
    }
    assert done["previous"]["services"] == {
        "ledger": {"container": "ledger--a", "original_name": "mint-ledger", "image": "i:a", "image_id": "x"}
    }
    assert states.cutover_state_running_kept(done) == []


def test_a_failed_verify_flips_back_to_the_running_kept_container_then_removes_the_new_one() -> None:
    state = {"current": {"release": "aaa1111", "services": {"ledger": {"container": OLD, "edge": True}}},
             "in_progress": {"target": "bbb2222", "swapped": {
                 "ledger": {"kept_container": OLD, "original_name": OLD, "new": False, "edge": True,
                            "kept_behind_edge": True, "container": NEW, "release": "aaa1111"}}}}  # fmt: skip
    assert NEW in rb.cutover_rollback_candidates(state, "in_progress")
    containers = {
        OLD: container(OLD, "x"),
        NEW: container(NEW, "y"),
    }
    plan_ = rb.cutover_rollback_plan(state, "in_progress", ORDER, containers, {"run_id": "R", "at": "T"})
    (step,) = plan_["steps"]
    assert (step["kind"], step["start"], step["flip_to"], step["remove_after"]) == (
        "flip",
        OLD,
        OLD,
        [NEW],
    )
    assert (
        step["save_logs"] and step["logs_of"] == NEW and step["remove"] == [] and not plan_["edge_down"]
    )


def test_the_rescue_flips_back_at_once_to_running_kept_containers_and_takes_added_ones_off() -> None:
    state = {"in_progress": {"target": "bbb2222", "swapped": {
        "ledger": {"kept_container": OLD, "new": False, "edge": True, "kept_behind_edge": True, "container": NEW},
        "cart": {"kept_container": None, "new": True, "edge": True, "container": "cart--bbb2222"},
        "legacy": {"kept_container": "legacy--aaa1111", "new": False, "edge": True, "kept_behind_edge": False},
        "gone": {"kept_container": "gone--aaa1111", "new": False, "retired": True, "edge": True,
                 "kept_behind_edge": True},
        "plain": {"kept_container": "plain--aaa1111", "new": False}}}}  # fmt: skip
    services = [*SERVICES, {"name": "legacy", "container_port": 1}, {"name": "gone", "container_port": 2},
                {"name": "plain", "container_port": 3}]  # fmt: skip
    assert rb.cutover_rollback_flip_back(state, services) == [
        {"service": "ledger", "to": f"{OLD}:4100"}, {"service": "cart", "to": None}]  # fmt: skip
    assert rb.cutover_rollback_flip_back({"in_progress": None}, services) == []
    assert rb.cutover_rollback_flip_back({}, services) == []


def _hand_over_in_progress() -> dict[str, Any]:
    return {"current": {"release": "aaa1111", "services": {"ledger": {"container": "ledger"}}},
            "in_progress": {"target": "bbb2222", "swapped": {
                "ledger": {"kept_container": OLD, "original_name": "ledger", "new": False, "edge": True,
                           "kept_behind_edge": False, "container": NEW, "release": "aaa1111"}}}}  # fmt: skip


def test_undoing_a_hand_over_that_happened_runs_the_old_image_behind_the_edge_which_keeps_the_port() -> None:
    state = _hand_over_in_progress()
    assert f"{OLD}.b" in rb.cutover_rollback_candidates(state, "in_progress")
    containers = {OLD: container(OLD, "x", running=False), NEW: container(NEW, "y")}
    plan_ = rb.cutover_rollback_plan(state, "in_progress", ORDER, containers, {"run_id": "R", "at": "T"})
    (step,) = plan_["steps"]
    assert not plan_["edge_down"] and step["kind"] == "flip"
    assert (step["clone_from"], step["clone"], step["start"], step["flip_to"]) == (OLD, f"{OLD}.b", f"{OLD}.b",
                                                                                   f"{OLD}.b")  # fmt: skip
    assert step["remove_after"] == [NEW] and step["renames"] == [] and step["remove"] == []
    assert plan_["state"]["current"]["services"]["ledger"] == {"container": f"{OLD}.b", "edge": True}
    # The clone is there already (a second way back): it is started, not made again.
    containers[f"{OLD}.b"] = container(f"{OLD}.b", "x", running=False)
    (step,) = rb.cutover_rollback_plan(state, "in_progress", ORDER, containers, {"run_id": "R", "at": "T"})["steps"]
    assert step["clone_from"] == "" and step["start"] == f"{OLD}.b"


def test_undoing_a_hand_over_that_never_happened_leaves_the_old_layout_serving_and_the_edge_goes() -> None:
    containers = {"ledger": container("ledger", "x"), NEW: container(NEW, "y")}
    plan_ = rb.cutover_rollback_plan(_hand_over_in_progress(), "in_progress", ORDER, containers,
                                     {"run_id": "R", "at": "T"})  # fmt: skip
    (step,) = plan_["steps"]
    assert plan_["edge_down"] and step["kind"] == "" and step["clone"] == ""
    assert step["remove"] == [NEW] and step["renames"] == [] and step["start"] == "ledger"
    assert plan_["state"]["current"]["services"]["ledger"] == {"container": "ledger"}


def test_a_rollback_to_a_release_of_the_old_layout_runs_its_image_behind_the_edge() -> None:
    state = {"current": {"release": "bbb2222", "services": {"ledger": {"container": NEW, "edge": True,
                                                                       "image": "shop/ledger:bbb2222"}}},
             "previous": {"release": "aaa1111", "services": {"ledger": {
                 "container": OLD, "original_name": "ledger", "image": "shop/ledger:aaa1111"}}},
             "history": []}  # fmt: skip
    assert f"{OLD}.b" in rb.cutover_rollback_candidates(state, "exchange")
    containers = {OLD: container(OLD, "x", running=False), NEW: container(NEW, "y")}
    plan_ = rb.cutover_rollback_plan(state, "exchange", ORDER, containers, {"run_id": "R", "at": "T", "reason": "r"})
    (step,) = plan_["steps"]
    assert not plan_["edge_down"] and step["kind"] == "flip" and step["restored"]
    assert (step["clone_from"], step["flip_to"], step["stop_after"]) == (OLD, f"{OLD}.b", NEW)
    current, previous = plan_["state"]["current"], plan_["state"]["previous"]
    assert current["services"]["ledger"] == {"container": f"{OLD}.b", "image": "shop/ledger:aaa1111",
                                             "image_id": None, "edge": True}  # fmt: skip
    assert previous["services"]["ledger"]["container"] == NEW and previous["services"]["ledger"]["edge"]
    # Neither the kept container nor its clone is there: refused, nothing done.
    (step,) = rb.cutover_rollback_plan(state, "exchange", ORDER, {NEW: container(NEW, "y")},
                                       {"run_id": "R", "at": "T", "reason": "r"})["steps"]  # fmt: skip
    assert "no such container" in step["refuse"]


def test_a_rollback_after_commit_behind_the_edge_flips_and_keeps_the_release_it_leaves() -> None:
    state = {"current": {"release": "bbb2222", "services": {"ledger": {"container": NEW, "edge": True}}},
             "previous": {"release": "aaa1111",
                          "services": {"ledger": {"container": OLD, "original_name": OLD, "edge": True}}},
             "history": []}  # fmt: skip
    containers = {
        OLD: container(OLD, "x", running=False),
        NEW: container(NEW, "y"),
    }
    plan_ = rb.cutover_rollback_plan(state, "exchange", ORDER, containers, {"run_id": "R", "at": "T", "reason": "r"})
    (step,) = plan_["steps"]
    assert (step["kind"], step["start"], step["stop_after"], step["renames"]) == (
        "flip",
        OLD,
        NEW,
        [],
    )
    assert plan_["state"]["current"]["services"]["ledger"] == {
        "container": OLD,
        "image": None,
        "image_id": None,
        "edge": True,
    }
    assert plan_["state"]["previous"]["services"]["ledger"]["container"] == NEW


def test_recert_knows_the_release_named_containers_and_the_edge_proxy() -> None:
    containers = [
        {"Names": ["/ledger--bbb2222"], "Image": "shop/ledger:bbb2222", "State": "running",
         "Labels": {"cutover.project": "shop", "cutover.service": "ledger", "cutover.release": "bbb2222"}},
        {"Names": ["/ledger--aaa1111"], "Image": "shop/ledger:aaa1111", "State": "exited", "Labels": {}},
        {"Names": ["/shop-edge"], "Image": "cutover-edge/haproxy:bookworm", "State": "running",
         "Labels": {"cutover.project": "shop", "cutover.edge": "true"}},
    ]  # fmt: skip
    current = {"release": "bbb2222", "services": {"ledger": {"container": NEW, "edge": True}}}
    found = recert.cutover_recert(containers, SERVICES[:1], current, "shop", "/opt", [], {}, {"held": False})
    assert found["ok"], found["drift"]
    assert found["serving"] == 1


def test_bluegreen_needs_a_container_port_of_its_own_per_service() -> None:
    errors: list[str] = []
    model._check_edge_ports({"cutover_swap_strategy": "bluegreen", "cutover_services": [
        {"name": "a", "container_port": 80}, {"name": "b", "container_port": 80}, {"name": "c"}]}, errors)  # fmt: skip
    assert errors[0].startswith("cutover_services[1].container_port: 80 is also a's")
    assert errors[1].startswith("cutover_services[2].container_port: required with cutover_swap_strategy bluegreen")
    errors.clear()
    model._check_edge_ports({"cutover_swap_strategy": "recreate", "cutover_services": [{"name": "c"}]}, errors)
    assert errors == []


def test_the_direct_url_asks_the_container_itself() -> None:
    assert (
        health.direct_url("http://127.0.0.1:3500/health?x=1", "172.18.0.5", 3500) == "http://172.18.0.5:3500/health?x=1"
    )
    data = {"NetworkSettings": {"Networks": {"shop": {"IPAddress": ""}, "store": {"IPAddress": "10.0.0.7"}}}}
    assert health.container_address(data) == "10.0.0.7" and health.container_address({}) == ""


def test_a_retired_service_behind_the_edge_is_flipped_back_to_by_a_rollback() -> None:
    state = {"current": {"release": "aaa1111", "services": {"ledger": {"container": OLD, "edge": True}}}}
    settings = SETTINGS | {"absent": ["ledger"]}
    containers = {OLD: container(OLD, "shop/ledger:aaa1111")}
    entry = swap.cutover_swap_plan(SERVICES[:1], ["ledger"], "bbb2222", state, containers, {}, settings)[0]
    assert (entry["action"], entry["kept_container"]) == ("retired", OLD)
    assert entry["record"]["edge"] and entry["record"]["kept_behind_edge"]
    committed = states.cutover_state_committed(
        state | {"in_progress": {"target": "bbb2222", "swapped": {"ledger": entry["record"]}}}, [], [],
        {"run_id": "R", "project": "shop", "at": "T"},
    )
    assert committed["previous"]["services"]["ledger"]["edge"]
    committed["history"] = []
    change = {"run_id": "R", "at": "T", "reason": "r"}
    steps = rb.cutover_rollback_plan(committed, "exchange", ORDER, containers, change)
    assert [(s["kind"], s["start"]) for s in steps["steps"]] == [("flip", OLD)]


def test_a_service_removed_behind_the_edge_is_taken_off_it_first_unless_the_edge_goes() -> None:
    state = {"current": {"release": "bbb2222", "services": {"ledger": {"container": NEW, "edge": True}}},
             "previous": {"release": "aaa1111", "services": {}}, "history": []}  # fmt: skip
    plan_ = rb.cutover_rollback_plan(state, "exchange", ORDER, {NEW: container(NEW, "y")},
                                     {"run_id": "R", "at": "T", "reason": "r"})  # fmt: skip
    (step,) = plan_["steps"]
    assert step["remove"] == [NEW] and step["edge_off"] and step["removed"]
    added = {"current": {"release": "aaa1111", "services": {"cart": {"container": "cart"}}},
             "in_progress": {"target": "bbb2222", "swapped": {
                 "ledger": {"new": True, "edge": True, "container": NEW},
                 "cart": {"kept_container": "cart--aaa1111", "original_name": "cart", "new": False, "edge": True,
                          "kept_behind_edge": False, "container": "cart--bbb2222"}}}}  # fmt: skip
    change = {"run_id": "R", "at": "T"}
    plan_ = rb.cutover_rollback_plan(added, "in_progress", ORDER, {NEW: container(NEW, "y")}, change)
    assert plan_["edge_down"] and not any(s["edge_off"] for s in plan_["steps"])
    assert [s["service"] for s in plan_["steps"]] == ["ledger", "cart"]  # dependencies first: no proxy any more


def test_recert_after_a_rollback_to_the_old_layout_checks_the_legacy_container_without_labels() -> None:
    containers = [{"Names": ["/shop-cart-old"], "Image": "shop/cart:aaa1111", "State": "running", "Labels": {}}]
    current = {"release": "aaa1111", "services": {"cart": {"container": "shop-cart-old"}}}
    found = recert.cutover_recert(containers, SERVICES[1:], current, "shop", "/opt", [], {}, {"held": False})
    assert found["drift"] == [] and found["serving"] == 1


def test_the_clone_of_a_kept_old_layout_container_publishes_nothing_and_leaves_the_service_alias_to_the_edge() -> None:
    inspect = {
        "Id": "0123456789abcdef", "Name": f"/{OLD}",
        "Config": {"Hostname": "0123456789ab", "Image": "shop/ledger:aaa1111", "Env": ["TOKEN=s3cret"],
                   "Labels": {"team": "shop"}, "ExposedPorts": {"4100/tcp": {}}},
        "HostConfig": {"NetworkMode": "shop",
                       "PortBindings": {"4100/tcp": [{"HostIp": "127.0.0.1", "HostPort": "4100"}]},
                       "RestartPolicy": {"Name": "unless-stopped"}, "PublishAllPorts": False},
        "NetworkSettings": {"Networks": {
            "store": {"Aliases": ["ledger", "ledger-db-client"]},
            "shop": {"Aliases": ["ledger", "0123456789ab", "ledger-api"]}}},
    }  # fmt: skip
    clone = rb.cutover_rollback_clone(inspect, "ledger", "shop", "aaa1111")
    body = clone["create"]
    assert "Hostname" not in body and body["Image"] == "shop/ledger:aaa1111" and body["Env"] == ["TOKEN=s3cret"]
    assert body["HostConfig"]["PortBindings"] == {} and body["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert body["Labels"] == {"team": "shop", "cutover.project": "shop", "cutover.service": "ledger",
                              "cutover.release": "aaa1111", "cutover.cloned-from": OLD}  # fmt: skip
    assert body["NetworkingConfig"] == {"EndpointsConfig": {"shop": {"Aliases": ["ledger-api"]}}}
    assert clone["connect"] == [{"network": "store", "aliases": ["ledger-db-client"]}]
