"""Unit tests of the edge proxy: its control program's pure parts (cfg, slots, runtime API
parsing) and the role's filter plugin (plan, spec hash, validation)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
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


# ------------------------------------------------------- flips against a fake runtime API
class FakeHaproxy:
    """Just enough of HAProxy 2.6's runtime API for switch()/finish(): servers per backend with
    address, admin state (maint 0x01, drain 0x08) and sessions that end after `busy_polls` stats."""

    def __init__(self, live: dict[str, tuple[str, str, int]], busy_polls: int = 2) -> None:
        self.servers = {}
        for svc, (slot, addr, port) in live.items():
            be = edge.backend_name(svc)
            self.servers[be] = {s: {"addr": "127.0.0.1", "port": 1, "admin": 0x01, "scur": 0} for s in edge.SLOTS}
            self.servers[be][slot] = {"addr": addr, "port": port, "admin": 0, "scur": 1}
        self.busy_polls, self.log = busy_polls, []  # type: list[str]

    def __call__(self, command: str, timeout: float = 5.0) -> str:
        self.log.append(command)
        if command.startswith("show servers state"):
            rows = [f"1 {be} 1 {slot} {s['addr']} 2 {s['admin']} 1 1 4 1 0 0 0 0 0 0 - {s['port']} - 0 0 - - 0"
                    for be, slots in self.servers.items() for slot, s in slots.items()]
            return "1\n# " + _COLUMNS + "\n" + "\n".join(rows) + "\n"
        if command == "show stat":
            self.busy_polls -= 1
            rows = [f"{be},{slot},0,0,{s['scur'] if self.busy_polls >= 0 else 0},0,,0"
                    for be, slots in self.servers.items() for slot, s in slots.items()]
            return "# pxname,svname,qcur,qmax,scur,smax,slim,stot\n" + "\n".join(rows) + "\n"
        words = command.split()  # set server be/slot addr IP port P | state ready|drain|maint
        be, slot = words[2].split("/")
        srv = self.servers[be][slot]
        if words[3] == "addr":
            srv.update(addr=words[4], port=int(words[6]))
        else:
            srv["admin"] = {"ready": 0, "drain": 0x08, "maint": 0x01}[words[4]]
        return ""


@pytest.fixture
def fake_edge(tmp_path: Any, monkeypatch: Any) -> FakeHaproxy:
    model = copy.deepcopy(MODEL)
    model["services"][1]["live"] = "quote-page--abc123:3400"
    (tmp_path / "model.json").write_text(json.dumps(model))
    for name, path in {"MODEL_FILE": "model.json", "RUNTIME_FILE": "runtime.json", "CFG_FILE": "haproxy.cfg"}.items():
        monkeypatch.setattr(edge, name, str(tmp_path / path))
    ips = {"files-api--abc123": "172.18.0.3", "quote-page--abc123": "172.18.0.4",
           "files-api--def456": "172.18.0.5", "quote-page--def456": "172.18.0.6"}  # fmt: skip
    monkeypatch.setattr(edge, "resolve", lambda host: ips[host])
    fake = FakeHaproxy({"files-api": ("a", "172.18.0.3", 3500), "quote-page": ("a", "172.18.0.4", 3400)})
    monkeypatch.setattr(edge, "api", fake)
    monkeypatch.setattr(edge.time, "sleep", lambda _s: None)
    return fake


def test_flips_switch_every_service_before_draining_any(fake_edge: FakeHaproxy,
                                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert edge.main(["flips", "files-api=files-api--def456:3500", "quote-page=none", "gone=none"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["changed"] is True and out["skipped"] == {"gone": "not on the edge"}
    by_service = {f["service"]: f for f in out["flips"]}
    assert by_service["files-api"]["to"] == "files-api--def456:3500" and by_service["files-api"]["drained"]
    assert by_service["quote-page"]["to"] is None and by_service["quote-page"]["changed"]
    sets = [c for c in fake_edge.log if c.startswith("set server")]
    first_stat = fake_edge.log.index("show stat")
    # Both switches (the new server ready, the old ones to drain) come before the first drain poll.
    assert [c for c in fake_edge.log[:first_stat] if c.startswith("set server")] == [
        "set server be_files-api/b addr 172.18.0.5 port 3500", "set server be_files-api/b state ready",
        "set server be_files-api/a state drain", "set server be_quote-page/a state drain"]  # fmt: skip
    assert sets[-2:] == ["set server be_files-api/a state maint", "set server be_quote-page/a state maint"]
    model = json.loads(Path(edge.MODEL_FILE).read_text())
    assert {s["name"]: (s["live"], s["slot"]) for s in model["services"]} == {
        "files-api": ("files-api--def456:3500", "b"), "quote-page": (None, "a")}  # fmt: skip
    assert "server b files-api--def456:3500" in Path(edge.CFG_FILE).read_text()


def test_a_flip_to_the_live_server_changes_nothing(fake_edge: FakeHaproxy,
                                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert edge.main(["flip", "files-api", "files-api--abc123:3500"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["changed"] is False and out["from"] == "files-api--abc123:3500"
    assert not [c for c in fake_edge.log if c.startswith("set server")]


@pytest.mark.parametrize("pair", ["files-api", "=x:1", "files-api=", "files-api=host"])
def test_a_malformed_flip_pair_is_named(pair: str) -> None:
    with pytest.raises(edge.EdgeError, match=r"(?i)host:port"):
        edge.parse_pairs([pair])


def test_flip_pairs_and_error_filters() -> None:
    flips = [{"service": "files-api", "to": "files-api--abc:3500"}, {"service": "order-intake", "to": None}]
    assert plan_mod.cutover_edge_flip_pairs(flips) == ["files-api=files-api--abc:3500", "order-intake=none"]
    with pytest.raises(plan_mod.AnsibleFilterError, match=r"cutover_edge_flips\[0\].to: expected host:port"):
        plan_mod.cutover_edge_flip_pairs([{"service": "x", "to": "nowhere"}])
    assert plan_mod.cutover_edge_error('{"error": "unknown service"}', "x") == "unknown service"
    assert plan_mod.cutover_edge_error("", "exec failed") == "exec failed"
    assert plan_mod.cutover_edge_error("", "") == "no answer"
