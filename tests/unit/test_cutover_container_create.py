"""The swap's new container as Engine API operations (roles/cutover_swap/filter_plugins/cutover_container_create.py):
the same container community.docker.docker_container made of the same fields."""

from __future__ import annotations

import pytest

from tests.unit.plugins import ROLES, load

create = load("cutover_container_create", ROLES / "cutover_swap" / "filter_plugins" / "cutover_container_create.py")

ENTRY = {"container": "cart", "image": "shop/cart:abc1234", "ports": ["127.0.0.1:8080:80", "9090:90/udp"],
         "networks": [{"name": "front", "aliases": ["cart"]}, {"name": "back", "aliases": []}]}  # fmt: skip


def test_durations_in_dockers_units() -> None:
    assert create.duration_ns("2s") == 2 * 10**9
    assert create.duration_ns("1m30s") == 90 * 10**9
    assert create.duration_ns("500ms") == 5 * 10**8
    assert create.duration_ns("1h") == 3600 * 10**9
    for bad in ("2", "", "2 s", "soon"):
        with pytest.raises(ValueError, match="is not a duration"):
            create.duration_ns(bad)


def test_the_healthcheck_as_the_engine_takes_it() -> None:
    given = {"test": "curl -f http://localhost/health", "interval": "2s", "timeout": "1s", "start_period": "500ms",
             "retries": "3"}  # fmt: skip
    want = {"Test": ["CMD-SHELL", "curl -f http://localhost/health"],
            "Interval": 2 * 10**9, "Timeout": 10**9, "StartPeriod": 5 * 10**8, "Retries": 3}  # fmt: skip
    assert create.healthcheck_body(given) == want
    assert create.healthcheck_body({"test": ["CMD", "true"]}) == {"Test": ["CMD", "true"]}
    assert create.healthcheck_body({"test": ["NONE"]}) == {"Test": ["NONE"]}
    assert create.healthcheck_body({}) is None  # the image's own
    assert create.healthcheck_body(None) is None


def test_ports_bind_on_the_address_given_and_tcp_unless_said() -> None:
    exposed, bindings = create.port_bindings(ENTRY["ports"] + ["127.0.0.2:8081:80"])
    assert exposed == {"80/tcp": {}, "90/udp": {}}
    assert bindings == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}, {"HostIp": "127.0.0.2", "HostPort": "8081"}],
        "90/udp": [{"HostIp": "", "HostPort": "9090"}],
    }
    with pytest.raises(ValueError, match="'80' is not a port"):
        create.port_bindings(["80"])


def test_create_on_the_first_network_connect_the_others_then_start() -> None:
    ops = create.cutover_swap_start_ops(ENTRY, ["A=1"], {"cutover.release": "abc1234"}, "unless-stopped",
                                        {"test": "true", "interval": "2s"})  # fmt: skip
    assert [op["action"] for op in ops] == ["create", "connect", "start"]
    body = ops[0]["body"]
    assert body == {
        "Image": "shop/cart:abc1234",
        "Env": ["A=1"],
        "Labels": {"cutover.release": "abc1234"},
        "ExposedPorts": {"80/tcp": {}, "90/udp": {}},
        "HostConfig": {
            "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                             "90/udp": [{"HostIp": "", "HostPort": "9090"}]},
            "RestartPolicy": {"Name": "unless-stopped"},
            "NetworkMode": "front",
        },
        "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 2 * 10**9},
        "NetworkingConfig": {"EndpointsConfig": {"front": {"Aliases": ["cart"]}}},
    }  # fmt: skip
    assert ops[1] == {"action": "connect", "container": "cart", "network": "back", "aliases": []}
    assert ops[2] == {"action": "start", "container": "cart"}
    # the env as cutover_envfile_select gives it: a mapping, values exact
    mapped = create.cutover_swap_start_ops(ENTRY, {"A": "1", "B": "x=y 'z'"}, {}, "no")
    assert mapped[0]["body"]["Env"] == ["A=1", "B=x=y 'z'"]


def test_a_service_without_networks_or_ports_gets_the_engines_defaults() -> None:
    ops = create.cutover_swap_start_ops({"container": "job", "image": "x:1"}, [], {}, "no")
    assert [op["action"] for op in ops] == ["create", "start"]
    assert "NetworkingConfig" not in ops[0]["body"] and "NetworkMode" not in ops[0]["body"]["HostConfig"]
    assert "Healthcheck" not in ops[0]["body"]


def test_a_stale_container_of_an_earlier_attempt_is_removed_first() -> None:
    entry = {"container": "cart--abc1234", "image": "x:1", "stale": "cart--abc1234"}
    ops = create.cutover_swap_start_ops(entry, [], {}, "no")
    assert [(op["action"], op["container"]) for op in ops] == [
        ("remove", "cart--abc1234"), ("create", "cart--abc1234"), ("start", "cart--abc1234"),
    ]  # fmt: skip
