"""Unit tests of the edge proxy: its control program's pure parts (cfg, slots, runtime API
parsing) and the role's filter plugin (plan, spec hash, validation)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.unit.plugins import ROLES, load

edge = load("cutover_edge_program", ROLES / "cutover_edge" / "files" / "image" / "cutover_edge.py")
plan_mod = load("cutover_edge_filters", ROLES / "cutover_edge" / "filter_plugins" / "cutover_edge.py")

MODEL: dict[str, Any] = {
    "project": "mint",
    "services": [
        {"name": "files-api", "port": 3500, "live": "files-api--abc123:3500"},
        {"name": "quote-page", "port": 3400, "live": None},
    ],
    "timeouts": {"connect_s": 3, "client_s": 40, "server_s": 50},
    "drain_timeout_s": 20,
}

# `show servers state` of HAProxy 2.6 after a flip of files-api to slot b (a in maint).
_COLUMNS = (
    "be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight"
    " srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state"
    " srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl"
    " srv_check_port srv_check_addr srv_agent_addr srv_agent_port"
)
STATE = "1\n# " + _COLUMNS + """
3 be_files-api 1 a 172.18.0.3 0 1 1 1 4 1 0 0 0 0 0 0 files-api--abc123 3500 - 0 0 - - 0
3 be_files-api 2 b 172.18.0.2 2 4 1 1 5 1 0 0 8 0 0 0 - 3500 - 0 0 - - 0
5 be_quote-page 1 a 127.0.0.1 0 5 1 1 11 1 0 0 8 0 0 0 - 1 - 0 0 - - 0
5 be_quote-page 2 b 127.0.0.1 0 5 1 1 11 1 0 0 8 0 0 0 - 1 - 0 0 - - 0
"""

STAT = """# pxname,svname,qcur,qmax,scur,smax,slim,stot
fe_files-api,FRONTEND,,,4,9,262120,100
be_files-api,a,0,0,2,5,,50
be_files-api,b,0,0,1,3,,40
be_files-api,BACKEND,0,0,3,9,26212,90
"""


# ------------------------------------------------------------------------ the program's cfg
def test_render_names_with_dashes_live_and_disabled_slots() -> None:
    cfg = edge.render_config(MODEL)
    assert "stats socket /run/haproxy/admin.sock mode 600 level admin expose-fd listeners" in cfg
    for line in ("mode http", "option redispatch", "retries 3", "retry-on conn-failure empty-response",
                 "http-reuse safe", "timeout connect 3s", "timeout client 40s", "timeout server 50s"):
        assert f"    {line}\n" in cfg
    assert "frontend fe_files-api\n    bind :3500\n    default_backend be_files-api\n" in cfg
    assert "backend be_files-api\n    server a files-api--abc123:3500 init-addr last,libc,none\n" in cfg
    assert "    server b 127.0.0.1:1 disabled\n" in cfg


def test_render_service_without_live_server_has_only_disabled_slots_so_503() -> None:
    cfg = edge.render_config(MODEL)
    block = cfg.split("\nbackend be_quote-page\n", 1)[1].split("\n\n", 1)[0]
    assert block.splitlines() == ["    server a 127.0.0.1:1 disabled", "    server b 127.0.0.1:1 disabled"]


def test_render_keeps_the_live_server_in_its_slot() -> None:
    model = copy.deepcopy(MODEL)
    model["services"][0]["slot"] = "b"
    cfg = edge.render_config(model)
    assert "    server a 127.0.0.1:1 disabled\n    server b files-api--abc123:3500 init-addr last,libc,none\n" in cfg


def test_identifiers_are_valid_for_haproxy() -> None:
    assert edge.backend_name("files-api") == "be_files-api"
    assert edge.backend_name("odd name/x") == "be_odd_name_x"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"port": 3400}, "both use 3400"),
        ({"port": "x"}, "not a port"),
        ({"live": "no-port"}, "not host:port"),
        ({"slot": "c"}, "not a or b"),
    ],
)
def test_bad_model_is_named(change: dict[str, Any], message: str) -> None:
    model = copy.deepcopy(MODEL)
    model["services"][0].update(change)
    with pytest.raises(edge.EdgeError, match=message):
        edge.render_config(model)


# ---------------------------------------------------------------- runtime API parsing, slots
def test_parse_servers_state_and_live_slot() -> None:
    state = edge.parse_servers_state(STATE)
    files = state["be_files-api"]
    assert files["a"]["maint"] and not files["a"]["live"]
    # "disabled" in the cfg leaves CMAINT (4) set after `state ready`: still live.
    assert files["b"] == {"addr": "172.18.0.2", "port": 3500, "fqdn": "", "op_state": 2,
                          "admin_state": 4, "live": True, "maint": False}
    assert edge.live_slots(state["be_quote-page"]) == []


def test_choose_idle_slot() -> None:
    state = edge.parse_servers_state(STATE)
    assert edge.choose_idle(state["be_files-api"]) == "a"
    assert edge.choose_idle(state["be_quote-page"]) == "a"
    live_a = {"a": {"live": True}, "b": {"live": False}}
    assert edge.choose_idle(live_a) == "b"
    assert edge.choose_idle({"a": {"live": True}, "b": {"live": True}}) == "b"


def test_is_live_target_and_names() -> None:
    servers = edge.parse_servers_state(STATE)["be_files-api"]
    assert edge.is_live_target(servers, "172.18.0.2", 3500) == "b"
    assert edge.is_live_target(servers, "172.18.0.3", 3500) is None
    runtime = {"files-api": {"live": "files-api--new:3500", "addr": "172.18.0.2:3500", "slot": "b"}}
    assert edge.live_name("files-api", servers, runtime, "files-api--abc123:3500", "a") == ("files-api--new:3500", "b")
    # No record of a flip: the model names the live slot's server.
    assert edge.live_name("files-api", servers, {}, "files-api--x:3500", "b") == ("files-api--x:3500", "b")
    assert edge.live_name("files-api", servers, {}, "files-api--x:3500", "a") == ("172.18.0.2:3500", "b")


def test_parse_stat_sessions() -> None:
    stat = edge.parse_stat(STAT)
    assert edge.sessions(stat, "be_files-api", "a") == 2
    assert edge.sessions(stat, "be_files-api", "b") == 1
    assert edge.sessions(stat, "be_nope", "a") == 0


def test_merge_live_keeps_the_running_edge_servers() -> None:
    new = edge.validate_model(MODEL)
    merged = edge.merge_live(new, {"files-api": {"live": "files-api--b:3500", "slot": "b"}})
    assert merged["services"][0]["live"] == "files-api--b:3500"
    assert merged["services"][0]["slot"] == "b"
    assert merged["services"][1]["live"] is None


def test_cli_errors_are_json(capsys: pytest.CaptureFixture[str], tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(edge, "MODEL_FILE", str(tmp_path / "missing.json"))
    assert edge.main(["show"]) == 1
    assert "never started" in json.loads(capsys.readouterr().out)["error"]


# ------------------------------------------------------------------------ the role's filters
def _svc(name: str, port: int, networks: list[str], live: str | None = None) -> dict[str, Any]:
    return {"name": name, "port": port, "ports": [f"127.0.0.1:{port}:{port}"], "networks": networks, "live": live}


SERVICES = [
    _svc("files-api", 3500, ["mint-os-network"], "files-api--abc:3500"),
    _svc("quote-page", 3400, ["mint-os-network", "front"]),
    _svc("artwork", 3341, []),
]
TIMEOUTS = {"connect_s": 5, "client_s": 60, "server_s": 60}


def _plan(services: list[dict[str, Any]] | None = None, **kw: Any) -> dict[str, Any]:
    args = {"timeouts": TIMEOUTS, "drain_timeout_s": 30} | kw
    return plan_mod.cutover_edge_plan(SERVICES if services is None else services, "mint",
                                      args["timeouts"], args["drain_timeout_s"])


def test_plan_published_ports_and_aliases_per_network() -> None:
    plan = _plan()
    assert plan["published_ports"] == ["127.0.0.1:3500:3500", "127.0.0.1:3400:3400", "127.0.0.1:3341:3341"]
    assert plan["networks"] == [
        {"name": "mint-os-network", "aliases": ["files-api", "quote-page"]},
        {"name": "front", "aliases": ["quote-page"]},
    ]
    assert plan["model"] == {
        "project": "mint",
        "services": [
            {"name": "files-api", "port": 3500, "live": "files-api--abc:3500"},
            {"name": "quote-page", "port": 3400, "live": None},
            {"name": "artwork", "port": 3341, "live": None},
        ],
        "timeouts": TIMEOUTS,
        "drain_timeout_s": 30,
    }
    # The model the role hands over renders.
    assert "backend be_artwork" in edge.render_config(plan["model"])


def test_spec_hash_is_stable_and_ignores_live_and_settings() -> None:
    base = plan_mod.cutover_edge_spec_hash(_plan(), "sha256:1")
    assert base == plan_mod.cutover_edge_spec_hash(_plan(), "sha256:1")
    assert len(base) == 64
    other_live = [dict(s, live="x--y:1") for s in SERVICES]
    assert plan_mod.cutover_edge_spec_hash(_plan(other_live), "sha256:1") == base
    assert plan_mod.cutover_edge_spec_hash(_plan(timeouts=dict(TIMEOUTS, server_s=90)), "sha256:1") == base
    assert plan_mod.cutover_edge_spec_hash(_plan(), "sha256:2") != base
    moved = [SERVICES[0] | {"ports": ["127.0.0.1:3501:3500"]}, *SERVICES[1:]]
    assert plan_mod.cutover_edge_spec_hash(_plan(moved), "sha256:1") != base
    renetted = [SERVICES[0] | {"networks": ["other"]}, *SERVICES[1:]]
    assert plan_mod.cutover_edge_spec_hash(_plan(renetted), "sha256:1") != base


def test_port_collision_names_both_services_and_the_field() -> None:
    twin = _svc("files-api-v2", 3500, [])
    twin["ports"] = []
    with pytest.raises(plan_mod.AnsibleFilterError) as err:
        _plan([*SERVICES, twin])
    msg = str(err.value)
    assert "files-api and files-api-v2 both have container_port 3500" in msg
    assert "cutover_edge_services[3] (files-api-v2).port" in msg


@pytest.mark.parametrize(
    ("services", "kw", "message"),
    [
        ([_svc("a", 1, []) | {"ports": ["127.0.0.1:80:8080"]}], {}, "does not end in the service's port 1"),
        ([_svc("a", 80, []), _svc("b", 81, []) | {"ports": ["127.0.0.1:80:81"]}], {}, "also published for a"),
        ([_svc("a", 80, []), _svc("a", 81, [])], {}, "listed twice"),
        ([_svc("a", 80, [], "nohostport")], {}, ".live: not null nor container:port"),
        ([_svc("a", 0, [])], {}, ".port: not a port number"),
        ([_svc("a", 80, [])], {"timeouts": {"connect_s": 5}}, "cutover_edge_timeouts.client_s"),
    ],
)
def test_bad_services_are_named(services: list[dict[str, Any]], kw: dict[str, Any], message: str) -> None:
    with pytest.raises(plan_mod.AnsibleFilterError, match=message.replace(".", r"\.").replace("(", r"\(")):
        _plan(services, **kw)


def test_services_from_inventory_and_live_merge() -> None:
    inventory = [{"name": "files-api", "container_port": 3500, "ports": ["127.0.0.1:3500:3500"],
                  "networks": ["mint-os-network"], "image": "x"}]
    services = plan_mod.cutover_edge_services(inventory, {"files-api": "files-api--abc:3500"})
    assert services == [{"name": "files-api", "port": 3500, "ports": ["127.0.0.1:3500:3500"],
                         "networks": ["mint-os-network"], "live": "files-api--abc:3500"}]
    model = _plan()["model"]
    show = {"services": {"files-api": {"live": "files-api--new:3500", "slot": "b", "sessions": 0},
                         "quote-page": {"live": None, "slot": None, "sessions": 0}}}
    merged = plan_mod.cutover_edge_merge_live(model, show)
    assert merged["services"][0] == {"name": "files-api", "port": 3500, "live": "files-api--new:3500", "slot": "b"}
    assert merged["services"][1]["live"] is None
    assert plan_mod.cutover_edge_live_map(show) == {"files-api": "files-api--new:3500", "quote-page": None}


def test_settings_differ() -> None:
    plan = _plan()
    assert not plan_mod.cutover_edge_settings_differ(plan, {"timeouts": TIMEOUTS, "drain_timeout_s": 30})
    assert plan_mod.cutover_edge_settings_differ(plan, {"timeouts": TIMEOUTS, "drain_timeout_s": 10})
