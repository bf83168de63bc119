#!/usr/bin/env python3
"""cutover-edge: the control program of the edge proxy container (python3 stdlib only).

Installed as /usr/local/bin/cutover-edge in the edge image; its ENTRYPOINT is `cutover-edge run`.
Every subcommand prints ONE JSON object on stdout (an error: {"error": ...} and exit 1).

  run                                  model.json (else env CUTOVER_EDGE_MODEL), render haproxy.cfg,
                                       exec haproxy -W -db (master-worker, foreground, PID 1)
  show                                 {"services": {svc: {live, slot, sessions}}, "timeouts", "drain_timeout_s"}
                                       read from HAProxy's runtime API (the truth)
  flip SVC HOST:PORT [--drain-timeout S]
                                       switch SVC to HOST:PORT through the runtime API: the idle slot
                                       gets the new address and goes ready, the old one drains, then maint
  flips SVC=HOST:PORT|none ... [--drain-timeout S]
                                       several flips at once (a rollback's flip back): every switch
                                       first, then one drain for all; {"flips": [...], "skipped", "changed"}
  reload --model JSON                  new settings (live servers kept), re-render, graceful reload (SIGUSR2)

The model (docs/DESIGN.md "Edge proxy"):
  {"project": str, "services": [{"name", "port", "live": "host:port"|null, "slot": "a"|"b"}],
   "timeouts": {"connect_s", "client_s", "server_s"}, "drain_timeout_s": int}

The pure parts (render_config, choose_idle, parse_servers_state, parse_stat, ...) do no I/O:
tests/unit/test_cutover_edge.py imports this file by path.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import sys
import time
from typing import Any

MODEL_FILE = "/var/lib/cutover-edge/model.json"
RUNTIME_FILE = "/var/lib/cutover-edge/runtime.json"
CFG_FILE = "/etc/haproxy/haproxy.cfg"
SOCKET = "/run/haproxy/admin.sock"
SLOTS = ("a", "b")
# A disabled slot needs a syntactically valid address; it never takes traffic.
IDLE_ADDR = "127.0.0.1:1"
# srv_admin_state bits (HAProxy 2.6 include/haproxy/server-t.h): maintenance and drain. CMAINT
# (0x04, "disabled" in the cfg) stays set after `state ready` and is not a maintenance by itself.
ADMF_MAINT = 0x01 | 0x02 | 0x20 | 0x40  # FMAINT IMAINT RMAINT HMAINT
ADMF_DRAIN = 0x08 | 0x10 | 0x80  # FDRAIN IDRAIN HDRAIN
SRV_ST_STOPPED = 0


class EdgeError(Exception):
    """A failure reported as {"error": ...} with exit code 1."""


# ------------------------------------------------------------------------------ pure functions
def ident(name: str) -> str:
    """A valid HAProxy identifier for a service name (letters, digits, '-', '_', '.', ':')."""
    safe = re.sub(r"[^A-Za-z0-9_.:-]", "_", str(name))
    if not safe:
        raise EdgeError("empty service name")
    return safe


def backend_name(service: str) -> str:
    return "be_" + ident(service)


def frontend_name(service: str) -> str:
    return "fe_" + ident(service)


def split_hostport(value: str) -> tuple[str, int]:
    """'host:port' -> (host, port); a clear error otherwise."""
    host, sep, port = str(value).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise EdgeError(f"not host:port: {value!r}")
    return host, int(port)


def validate_model(model: Any) -> dict[str, Any]:
    """Check the model's shape; returns it with defaults filled in (slot 'a', timeouts)."""
    if not isinstance(model, dict):
        raise EdgeError("model: not a JSON object")
    services = model.get("services")
    if not isinstance(services, list):
        raise EdgeError("model.services: not a list")
    seen_names: set[str] = set()
    seen_ports: dict[int, str] = {}
    out_services = []
    for i, svc in enumerate(services):
        if not isinstance(svc, dict) or not svc.get("name"):
            raise EdgeError(f"model.services[{i}]: needs a name")
        name = str(svc["name"])
        port = svc.get("port")
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise EdgeError(f"model.services[{i}] ({name}).port: not a port: {port!r}")
        if ident(name) in seen_names:
            raise EdgeError(f"model.services[{i}].name: {name} twice")
        if port in seen_ports:
            raise EdgeError(f"model.services[{i}].port: {name} and {seen_ports[port]} both use {port}")
        seen_names.add(ident(name))
        seen_ports[port] = name
        live = svc.get("live")
        if live is not None:
            split_hostport(live)
        slot = svc.get("slot") or "a"
        if slot not in SLOTS:
            raise EdgeError(f"model.services[{i}] ({name}).slot: not a or b: {slot!r}")
        out_services.append({"name": name, "port": port, "live": live, "slot": slot})
    timeouts = {"connect_s": 5, "client_s": 60, "server_s": 60}
    timeouts.update({k: int(v) for k, v in (model.get("timeouts") or {}).items() if k in timeouts})
    return {
        "project": str(model.get("project") or ""),
        "services": out_services,
        "timeouts": timeouts,
        "drain_timeout_s": int(model.get("drain_timeout_s", 30)),
    }


def render_config(model: dict[str, Any]) -> str:
    """haproxy.cfg for the model: per service a frontend on its port and a backend with slots a/b."""
    model = validate_model(model)
    t = model["timeouts"]
    lines = [
        f"# cutover-edge for project {model['project']}: rendered from {MODEL_FILE}, do not edit",
        "global",
        f"    stats socket {SOCKET} mode 600 level admin expose-fd listeners",
        "    stats timeout 30s",
        "    log stdout format raw local0 notice",
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option redispatch",
        "    retries 3",
        "    retry-on conn-failure empty-response",
        "    http-reuse safe",
        f"    timeout connect {t['connect_s']}s",
        f"    timeout client {t['client_s']}s",
        f"    timeout server {t['server_s']}s",
        "    timeout http-keep-alive 10s",
        "",
    ]
    for svc in model["services"]:
        lines += [
            f"frontend {frontend_name(svc['name'])}",
            f"    bind :{svc['port']}",
            f"    default_backend {backend_name(svc['name'])}",
            "",
            f"backend {backend_name(svc['name'])}",
        ]
        for slot in SLOTS:
            if svc["live"] and slot == svc["slot"]:
                lines.append(f"    server {slot} {svc['live']} init-addr last,libc,none")
            else:
                lines.append(f"    server {slot} {IDLE_ADDR} disabled")
        lines.append("")
    return "\n".join(lines)


def parse_servers_state(text: str) -> dict[str, dict[str, dict[str, Any]]]:
    """`show servers state` -> {backend: {server: {addr, port, fqdn, op_state, admin_state, live}}}."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    header: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            header = line.lstrip("#").split()
            continue
        fields = line.split()
        if not header or len(fields) < len(header) - 8:
            continue  # the version line ("1") or a truncated line
        row = dict(zip(header, fields, strict=False))
        try:
            op_state = int(row["srv_op_state"])
            admin = int(row["srv_admin_state"])
            port = int(row.get("srv_port", "0"))
        except (KeyError, ValueError):
            continue
        fqdn = row.get("srv_fqdn", "-")
        out.setdefault(row["be_name"], {})[row["srv_name"]] = {
            "addr": row.get("srv_addr", ""),
            "port": port,
            "fqdn": "" if fqdn == "-" else fqdn,
            "op_state": op_state,
            "admin_state": admin,
            "live": op_state != SRV_ST_STOPPED and not admin & (ADMF_MAINT | ADMF_DRAIN),
            "maint": bool(admin & ADMF_MAINT),
        }
    return out


def parse_stat(text: str) -> dict[tuple[str, str], dict[str, str]]:
    """`show stat` CSV -> {(pxname, svname): row}."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    header: list[str] = []
    for line in text.splitlines():
        if line.startswith("# "):
            header = line[2:].split(",")
            continue
        if not line.strip() or not header:
            continue
        row = dict(zip(header, line.split(","), strict=False))
        out[(row.get("pxname", ""), row.get("svname", ""))] = row
    return out


def sessions(stat: dict[tuple[str, str], dict[str, str]], backend: str, server: str) -> int:
    row = stat.get((backend, server), {})
    try:
        return int(row.get("scur") or 0)
    except ValueError:
        return 0


def live_slots(servers: dict[str, dict[str, Any]]) -> list[str]:
    return [slot for slot in SLOTS if servers.get(slot, {}).get("live")]


def choose_idle(servers: dict[str, dict[str, Any]]) -> str:
    """The slot a flip puts the new server in: the one that is not live ('a' when none is)."""
    live = live_slots(servers)
    if not live:
        return "a"
    if len(live) == 1:
        return "b" if live[0] == "a" else "a"
    return "b"  # both live (an interrupted flip): reuse b, a is drained


def is_live_target(servers: dict[str, dict[str, Any]], ip: str, port: int) -> str | None:
    """The live slot already serving ip:port, if any."""
    for slot in live_slots(servers):
        srv = servers[slot]
        if srv["addr"] == ip and srv["port"] == port:
            return slot
    return None


def live_name(
    service: str,
    servers: dict[str, dict[str, Any]],
    runtime: dict[str, Any],
    model_live: str | None,
    model_slot: str = "a",
) -> tuple[str | None, str | None]:
    """(live 'host:port', slot) of a backend: the name the last flip recorded for that address, else
    the model's (when its slot is the live one: the cfg named it), else the bare ip:port."""
    live = live_slots(servers)
    if not live:
        return None, None
    slot = live[0]
    srv = servers[slot]
    addr = f"{srv['addr']}:{srv['port']}"
    rec = runtime.get(service) or {}
    if rec.get("addr") == addr and rec.get("live"):
        return str(rec["live"]), slot
    if model_live and not rec and slot == model_slot:
        return model_live, slot
    return addr, slot


def merge_live(new_model: dict[str, Any], current: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """new_model with each service's live server and slot taken from `current` (show's services)."""
    merged = dict(new_model)
    merged["services"] = []
    for svc in new_model.get("services", []):
        cur = current.get(svc["name"])
        svc = dict(svc)
        if cur is not None:
            svc["live"] = cur.get("live")
            svc["slot"] = cur.get("slot") or "a"
        merged["services"].append(svc)
    return merged


# ------------------------------------------------------------------------------------- I/O
def api(command: str, timeout: float = 5.0) -> str:
    """One command on HAProxy's runtime API (admin socket); its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(SOCKET)
        sock.sendall(command.encode() + b"\n")
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks).decode(errors="replace")


def api_ok(command: str) -> None:
    answer = api(command).strip()
    # Successful commands answer nothing or an informational line; failures name the problem.
    lowered = answer.lower()
    refusals = ("unknown", "no such", "failed", "invalid", "require", "can't", "cannot", "denied")
    if any(word in lowered for word in refusals):
        raise EdgeError(f"haproxy refused {command!r}: {answer}")


def read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def write_json(path: str, data: Any) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)


def write_cfg(model: dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(CFG_FILE), exist_ok=True)
    tmp = CFG_FILE + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(render_config(model))
    os.replace(tmp, CFG_FILE)


def load_model() -> dict[str, Any]:
    try:
        return validate_model(read_json(MODEL_FILE))
    except FileNotFoundError:
        raise EdgeError(f"no model at {MODEL_FILE}: the edge was never started") from None


def load_runtime() -> dict[str, Any]:
    try:
        data = read_json(RUNTIME_FILE)
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def resolve(host: str) -> str:
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise EdgeError(f"{host} does not resolve from the edge: {exc.strerror}") from None
    if not infos:
        raise EdgeError(f"{host} does not resolve from the edge")
    return str(infos[0][4][0])


def runtime_view(model: dict[str, Any]) -> tuple[dict[str, Any], dict[tuple[str, str], dict[str, str]]]:
    return parse_servers_state(api("show servers state")), parse_stat(api("show stat"))


def cmd_show(_args: argparse.Namespace) -> dict[str, Any]:
    model = load_model()
    states, stat = runtime_view(model)
    runtime = load_runtime()
    services = {}
    for svc in model["services"]:
        be = backend_name(svc["name"])
        servers = states.get(be)
        if servers is None:
            raise EdgeError(f"backend {be} of service {svc['name']} is not in the running haproxy")
        live, slot = live_name(svc["name"], servers, runtime, svc["live"], svc["slot"])
        services[svc["name"]] = {
            "live": live,
            "slot": slot,
            "sessions": sessions(stat, be, slot) if slot else 0,
        }
    return {"services": services, "timeouts": model["timeouts"], "drain_timeout_s": model["drain_timeout_s"]}


def find_service(model: dict[str, Any], name: str) -> dict[str, Any]:
    svc = next((s for s in model["services"] if s["name"] == name), None)
    if svc is None:
        known = ", ".join(s["name"] for s in model["services"]) or "none"
        raise EdgeError(f"unknown service {name!r} (the edge fronts: {known})")
    return svc


def switch(model: dict[str, Any], runtime: dict[str, Any], name: str, target: str) -> dict[str, Any]:
    """The switch of one flip, through the runtime API: the idle slot gets the target's address
    and goes ready (new requests go there at once), the live slots go to drain. `none`: every
    slot drains, new requests get 503. Records the live name in `runtime` (not yet written).
    Returns the flip's result plus what finish() needs: backend, the slots to drain, new slot."""
    started = time.monotonic()
    svc = find_service(model, name)
    be = backend_name(svc["name"])
    servers = parse_servers_state(api(f"show servers state {be}")).get(be)
    if servers is None:
        raise EdgeError(f"backend {be} is not in the running haproxy")
    current, _slot = live_name(svc["name"], servers, runtime, svc["live"], svc["slot"])
    result: dict[str, Any] = {"service": svc["name"], "from": current, "changed": False, "drained": True,
                              "drain_s": 0.0, "flip_s": 0.0, "backend": be, "old": [], "slot": None}
    if target == "none":
        result["to"] = None
        old = [slot for slot in SLOTS if not servers.get(slot, {}).get("maint", True)]
        if old:
            for slot in old:
                api_ok(f"set server {be}/{slot} state drain")
            runtime[svc["name"]] = {"live": None, "addr": None, "slot": None}
            result.update(changed=True, old=old)
        return result
    result["to"] = target
    host, port = split_hostport(target)
    ip = resolve(host)
    already = is_live_target(servers, ip, port)
    if already is not None and len(live_slots(servers)) == 1:
        return result
    new = choose_idle(servers) if already is None else already
    old = [s for s in live_slots(servers) if s != new]
    # Also drain a slot still draining from an interrupted flip.
    old += [s for s in SLOTS if s != new and s not in old and not servers.get(s, {}).get("maint", True)]
    if already is None:
        api_ok(f"set server {be}/{new} addr {ip} port {port}")
    api_ok(f"set server {be}/{new} state ready")
    for slot in old:
        api_ok(f"set server {be}/{slot} state drain")
    # Record the name now: show reports it from here on.
    runtime[svc["name"]] = {"live": target, "addr": f"{ip}:{port}", "slot": new}
    result.update(changed=True, old=old, slot=new, flip_s=round(time.monotonic() - started, 3))
    return result


def finish(model: dict[str, Any], flips: list[dict[str, Any]], timeout: float | None) -> list[dict[str, Any]]:
    """After the switches: wait until the old slots of every flip have no session left (bounded by
    the drain timeout, all flips together), put them in maintenance, persist the model and the cfg
    (for restarts and reloads: the cfg names each new live server in its slot). The flips' results."""
    drain_timeout = model["drain_timeout_s"] if timeout is None else timeout
    pending = [(f["backend"], slot, f) for f in flips for slot in f["old"]]
    started = time.monotonic()
    busy_of: dict[str, int] = {}
    while pending:
        stat = parse_stat(api("show stat"))
        busy_of = {}
        for be, slot, f in pending:
            busy_of[f["service"]] = busy_of.get(f["service"], 0) + sessions(stat, be, slot)
        waited = time.monotonic() - started
        for f in flips:
            if f["old"] and busy_of.get(f["service"], 0) == 0 and "drain_done" not in f:
                f["drain_done"] = waited
        if not any(busy_of.values()) or waited >= drain_timeout:
            break
        time.sleep(0.1)
    for be, slot, _f in pending:
        api_ok(f"set server {be}/{slot} state maint")
    waited = round(time.monotonic() - started, 3)
    for f in flips:
        if f["old"]:
            f["drained"] = "drain_done" in f
            f["drain_s"] = round(f.pop("drain_done", waited), 3)
        if not f["changed"]:
            continue
        svc = find_service(model, f["service"])
        svc["live"] = f["to"]
        if f["slot"]:
            svc["slot"] = f["slot"]
    if any(f["changed"] for f in flips):
        write_json(MODEL_FILE, model)
        write_cfg(model)
    return [{k: v for k, v in f.items() if k not in ("backend", "old", "slot")} for f in flips]


def cmd_flip(args: argparse.Namespace) -> dict[str, Any]:
    model = load_model()
    runtime = load_runtime()
    flip = switch(model, runtime, args.service, args.target)
    if flip["changed"]:
        write_json(RUNTIME_FILE, runtime)
    return finish(model, [flip], args.drain_timeout)[0]


def parse_pairs(pairs: list[str]) -> list[tuple[str, str]]:
    """['svc=host:port', 'svc2=none'] -> [(svc, target)]; a clear error for a malformed pair."""
    out = []
    for pair in pairs:
        name, sep, target = pair.partition("=")
        if not sep or not name or not target:
            raise EdgeError(f"not SERVICE=HOST:PORT or SERVICE=none: {pair!r}")
        if target != "none":
            split_hostport(target)
        out.append((name, target))
    return out


def cmd_flips(args: argparse.Namespace) -> dict[str, Any]:
    """Several flips at once (a rollback's flip back): every switch first, then one drain for all.
    A service the edge does not front is reported as skipped (it was never flipped)."""
    model = load_model()
    runtime = load_runtime()
    flips, skipped = [], {}
    for name, target in parse_pairs(args.pairs):
        if not any(s["name"] == name for s in model["services"]):
            skipped[name] = "not on the edge"
            continue
        flips.append(switch(model, runtime, name, target))
    if any(f["changed"] for f in flips):
        write_json(RUNTIME_FILE, runtime)
    done = finish(model, flips, args.drain_timeout)
    return {"flips": done, "skipped": skipped, "changed": any(f["changed"] for f in done)}


def worker_pid() -> str:
    for line in api("show info").splitlines():
        if line.startswith("Pid:"):
            return line.split(":", 1)[1].strip()
    return ""


def cmd_reload(args: argparse.Namespace) -> dict[str, Any]:
    try:
        new_model = validate_model(json.loads(args.model))
    except ValueError as exc:
        raise EdgeError(f"--model: not JSON: {exc}") from None
    current = cmd_show(args)["services"]
    model = validate_model(merge_live(new_model, current))
    before = worker_pid()
    write_json(MODEL_FILE, model)
    write_cfg(model)
    # Runtime flips are in the cfg now; a graceful reload (SIGUSR2 to the master, PID 1) starts
    # a new worker on the same listeners and lets the old one finish its connections.
    os.kill(1, signal.SIGUSR2)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            after = worker_pid()
        except OSError:
            continue
        if after and after != before:
            break
    else:
        raise EdgeError("haproxy did not start a new worker within 15 s after the reload")
    return {"reloaded": True, "worker_pid": after, "services": {s["name"]: s["live"] for s in model["services"]}}


def cmd_run(_args: argparse.Namespace) -> None:
    if os.path.exists(MODEL_FILE):
        model = load_model()
    else:
        raw = os.environ.get("CUTOVER_EDGE_MODEL")
        if not raw:
            raise EdgeError(f"no {MODEL_FILE} and no CUTOVER_EDGE_MODEL in the environment")
        try:
            model = validate_model(json.loads(raw))
        except ValueError as exc:
            raise EdgeError(f"CUTOVER_EDGE_MODEL: not JSON: {exc}") from None
        write_json(MODEL_FILE, model)
    # The cfg names every live server by name: the runtime's name records start afresh.
    if os.path.exists(RUNTIME_FILE):
        os.remove(RUNTIME_FILE)
    write_cfg(model)
    os.makedirs(os.path.dirname(SOCKET), exist_ok=True)
    print(json.dumps({"run": "haproxy", "cfg": CFG_FILE, "services": [s["name"] for s in model["services"]]}),
          flush=True)
    os.execvp("haproxy", ["haproxy", "-W", "-db", "-f", CFG_FILE])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cutover-edge", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("run")
    sub.add_parser("show")
    flip = sub.add_parser("flip")
    flip.add_argument("service")
    flip.add_argument("target", help="host:port, or none: the service has no server (503)")
    flip.add_argument("--drain-timeout", type=float, default=None)
    flips = sub.add_parser("flips")
    flips.add_argument("pairs", nargs="+", metavar="SERVICE=HOST:PORT|none")
    flips.add_argument("--drain-timeout", type=float, default=None)
    reload = sub.add_parser("reload")
    reload.add_argument("--model", required=True)
    args = parser.parse_args(argv)
    handlers = {"run": cmd_run, "show": cmd_show, "flip": cmd_flip, "flips": cmd_flips, "reload": cmd_reload}
    try:
        result = handlers[args.cmd](args)
    except EdgeError as exc:
        print(json.dumps({"error": str(exc)}))
        return 1
    except OSError as exc:
        print(json.dumps({"error": f"{args.cmd}: {exc} (is haproxy running? socket {SOCKET})"}))
        return 1
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
