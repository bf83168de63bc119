"""The swap's decisions (roles/cutover_swap/filter_plugins/cutover_swap.py), the state
transitions it uses (cutover_state.py) and the health module's safe inspect and diagnosis."""

from __future__ import annotations

from typing import Any

from tests.unit.plugins import ROLES, load, load_module

swap = load("cutover_swap_filters", ROLES / "cutover_swap" / "filter_plugins" / "cutover_swap.py")
state_filters = load("cutover_state_filters_swap", ROLES / "cutover_common" / "filter_plugins" / "cutover_state.py")
envfile = load("cutover_envfile_swap", ROLES / "cutover_common" / "filter_plugins" / "cutover_envfile.py")
health = load_module("cutover_health_module_swap", ROLES / "cutover_verify" / "library" / "cutover_health.py")

SETTINGS = {"root": "/opt/cutover/shop", "project": "shop", "restart_policy": "unless-stopped"}
SERVICES: list[dict[str, Any]] = [
    {"name": "ledger", "image": "shop/ledger", "ports": ["127.0.0.1:4100:4100"], "networks": ["shop"],
     "env": ["LEDGER_KEY"], "health": {"url": "http://127.0.0.1:4100/healthz"}},
    {"name": "cart", "image": "shop/cart", "ports": [], "networks": ["shop"], "env": [],
     "legacy": {"container": "shop-cart-old"}, "health": {"url": "http://127.0.0.1:4200/healthz"}},
    {"name": "front", "image": "shop/front", "networks": [], "env": []},
]  # fmt: skip
ORDER = ["ledger", "cart", "front"]
ENV = {"LEDGER_KEY": "s3cret", "OTHER": "x"}


def container(
    name: str, image: str, config_hash: str = "", running: bool = True, health: str | None = "healthy"
) -> dict[str, Any]:
    state: dict[str, Any] = {"Running": running, "Status": "running" if running else "exited", "ExitCode": 0}
    if health:
        state["Health"] = {"Status": health}
    return {"Name": f"/{name}", "Image": "sha256:" + "a" * 64,
            "Config": {"Image": image, "Labels": {"cutover.config-hash": config_hash}}, "State": state}  # fmt: skip


def plan(state: Any, containers: dict[str, Any], release: str = "bbb2222") -> list[dict[str, Any]]:
    checksums = envfile.checksums(ENV, SERVICES)
    return swap.cutover_swap_plan(SERVICES, ORDER, release, state, containers, checksums, SETTINGS)


def test_candidates_are_own_name_recorded_and_legacy_names_once() -> None:
    state = {"current": {"services": {"ledger": {"container": "ledger"}, "cart": {"container": "cart-x"}}}}
    assert swap.cutover_swap_candidates(SERVICES, state) == ["ledger", "cart", "cart-x", "shop-cart-old", "front"]


def test_first_install_adds_every_service_and_keeps_nothing() -> None:
    entries = plan({}, {})
    assert [e["action"] for e in entries] == ["added", "added", "added"]
    assert entries[0]["line"] == "ledger: added -> shop/ledger:bbb2222"
    assert all(e["kept_container"] is None and e["record"]["new"] for e in entries)


def test_a_serving_container_of_the_same_spec_is_unchanged_and_any_difference_replaces_it() -> None:
    first = plan({}, {})
    hashes = {e["name"]: e["config_hash"] for e in first}
    state = {"current": {"release": "aaa1111", "services": {n: {"container": n} for n in ORDER}}}
    same = {n: container(n, f"shop/{n}:bbb2222", hashes[n]) for n in ORDER}
    assert [e["action"] for e in plan(state, same)] == ["unchanged"] * 3
    old = {n: container(n, f"shop/{n}:aaa1111", "other") for n in ORDER}
    entries = plan(state, old)
    assert [e["action"] for e in entries] == ["replaced"] * 3
    assert entries[0]["line"] == "ledger: replaced shop/ledger:aaa1111 -> shop/ledger:bbb2222, keep ledger--aaa1111"
    assert entries[0]["record"] == {"kept_container": "ledger--aaa1111", "original_name": "ledger", "new": False,
                                    "image": "shop/ledger:aaa1111", "image_id": "sha256:" + "a" * 64,
                                    "release": "aaa1111"}  # fmt: skip


def test_an_unhealthy_or_stopped_container_of_the_same_spec_is_replaced() -> None:
    hashes = {e["name"]: e["config_hash"] for e in plan({}, {})}
    containers = {"ledger": container("ledger", "shop/ledger:bbb2222", hashes["ledger"], health="unhealthy"),
                  "cart": container("cart", "shop/cart:bbb2222", hashes["cart"], running=False),
                  "front": container("front", "shop/front:bbb2222", hashes["front"], health=None)}  # fmt: skip
    assert [e["action"] for e in plan({}, containers)] == ["replaced", "replaced", "unchanged"]


def test_a_changed_secret_changes_the_hash_but_the_plan_never_holds_it() -> None:
    before = plan({}, {})[0]
    ENV["LEDGER_KEY"] = "rotated"
    try:
        after = plan({}, {})[0]
    finally:
        ENV["LEDGER_KEY"] = "s3cret"
    assert before["config_hash"] != after["config_hash"]
    assert "s3cret" not in repr(plan({}, {})) and "rotated" not in repr(after)


def test_the_legacy_container_is_replaced_and_kept_under_its_image_tag() -> None:
    entries = plan({}, {"shop-cart-old": container("shop-cart-old", "shop/cart:v1", "")})
    cart = entries[1]
    assert cart["action"] == "replaced" and cart["current_name"] == "shop-cart-old"
    assert cart["kept_container"] == "cart--v1" and cart["record"]["original_name"] == "shop-cart-old"


def test_pending_outcomes_and_order() -> None:
    entries = plan({}, {})
    assert swap.cutover_swap_pending(entries) == entries
    outcomes = [swap.cutover_swap_outcome(e) for e in reversed(entries)]
    assert [o["name"] for o in swap.cutover_swap_in_order(outcomes, ORDER)] == ORDER
    assert set(outcomes[0]) == {"name", "action", "image", "kept_container"}


def test_probe_targets_say_which_services_served_before() -> None:
    assert swap.cutover_swap_probe_targets(SERVICES, {}) == {
        "ledger": {"url": "http://127.0.0.1:4100/healthz", "existed": False},
        "cart": {"url": "http://127.0.0.1:4200/healthz", "existed": True},
    }
    state = {"current": {"services": {"ledger": {"container": "ledger"}}}}
    assert swap.cutover_swap_probe_targets(SERVICES, state)["ledger"]["existed"] is True
    assert swap.cutover_swap_probe_targets(SERVICES, state)["cart"]["existed"] is False


def test_the_unhealthy_message_names_service_reason_and_whether_it_waited() -> None:
    entry = {"name": "ledger", "image": "shop/ledger:bbb2222"}
    missing = {"verdict": "timeout", "diagnosis": {"exists": False}}
    assert swap.cutover_swap_unhealthy(missing, entry, 60) == (
        "ledger: new container never became healthy within 60s:"
        " container not created (image shop/ledger:bbb2222 missing or invalid spec)"
    )
    exited = {"verdict": "exited", "waited_s": 1.5,
              "diagnosis": {"exists": True, "running": False, "status": "exited", "exit_code": 3}}  # fmt: skip
    assert swap.cutover_swap_unhealthy(exited, entry, 60) == (
        "ledger: new container never became healthy (it failed after 1.5s: the gate did not wait out 60s):"
        " container exited, exit code 3"
    )
    unhealthy = {"verdict": "unhealthy", "waited_s": 4, "diagnosis": {
        "exists": True, "running": True, "health": "unhealthy", "last_health_checks": ["curl: (7)\nrefused"],
        "health_answer": {"url": "http://h/healthz", "status_code": 503, "body": '{"status": "down"}'}}}  # fmt: skip
    assert swap.cutover_swap_unhealthy(unhealthy, entry, 60).endswith(
        'health unhealthy, http://h/healthz answers HTTP 503 {"status": "down"}'
    )
    del unhealthy["diagnosis"]["health_answer"]
    assert swap.cutover_swap_unhealthy(unhealthy, entry, 60).endswith("health unhealthy, last check: refused")
    # Docker is content, the health contract is not: the wrong field is named
    contract = {"verdict": "timeout", "problems": ["ready: expected true, got false"],
                "diagnosis": {"exists": True, "running": True, "health": "healthy"}}  # fmt: skip
    assert swap.cutover_swap_unhealthy(contract, entry, 45) == (
        "ledger: new container never became healthy within 45s: health contract: ready: expected true, got false"
    )


def test_state_open_swapped_and_unopened() -> None:
    change = {"run_id": "R1", "target": "bbb2222", "commit": "b" * 40, "ref": "main", "project": "shop",
              "started_at": "2026-11-30T00:00:00Z"}  # fmt: skip
    opened = state_filters.cutover_state_open({"current": {"release": "aaa1111"}}, change)
    assert opened["in_progress"] == {"run_id": "R1", "target": "bbb2222", "commit": "b" * 40, "ref": "main",
                                     "started_at": "2026-11-30T00:00:00Z", "swapped": {}}  # fmt: skip
    assert opened["current"] == {"release": "aaa1111"} and opened["project"] == "shop"
    swapped = state_filters.cutover_state_swapped(opened, "ledger", {"kept_container": "ledger--aaa1111", "new": False})
    assert swapped["in_progress"]["swapped"] == {"ledger": {"kept_container": "ledger--aaa1111", "new": False}}
    assert opened["in_progress"]["swapped"] == {}  # the input is not changed
    again = state_filters.cutover_state_open(swapped, change | {"started_at": "2026-12-01T00:00:00Z"})
    assert again["in_progress"]["started_at"] == "2026-11-30T00:00:00Z"
    assert again["in_progress"]["swapped"] == swapped["in_progress"]["swapped"]
    assert state_filters.cutover_state_unopened(opened)["in_progress"] is None


def test_env_select_and_checksums_cover_only_the_services_keys() -> None:
    assert envfile.select(ENV, ["OTHER", "MISSING"]) == {"OTHER": "x"}
    sums = envfile.checksums(ENV, SERVICES)
    assert sums["cart"] == sums["front"] != sums["ledger"]


def test_safe_container_and_log_lines_hold_no_env() -> None:
    data = {"Name": "/ledger", "Image": "sha256:1", "Config": {"Image": "shop/ledger:1", "Env": ["LEDGER_KEY=s3cret"],
            "Labels": {"a": "b"}}, "State": {"Running": True, "Status": "running", "ExitCode": 0,
            "Health": {"Status": "healthy", "Log": [{"Output": "ok"}]}}}  # fmt: skip
    safe = health.safe_container(data)
    assert "s3cret" not in repr(safe)
    assert safe["State"]["Health"] == {"Status": "healthy"} and safe["Config"]["Labels"] == {"a": "b"}
    assert health.safe_container(None) is None
    frames = b"\x01\x00\x00\x00\x00\x00\x00\x06hello\n" + b"\x02\x00\x00\x00\x00\x00\x00\x06oops!\n"
    assert health.log_lines(frames) == ["hello", "oops!"]
    assert health.log_lines(b"plain\ntext\n", keep=1) == ["text"]


def test_a_published_plan_keeps_to_the_contract() -> None:
    from cutover import contract

    public = [swap.cutover_swap_public(e) for e in plan({}, {})]
    assert set(public[0]) == set(contract.SwapPlanEntry.__annotations__)
