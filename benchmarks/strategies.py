#!/usr/bin/env python3
"""Swap strategies side by side (issue 11, item 4): on the same lab, one after the other,
the recreate strategy, the bluegreen strategy (its one-time hand-over and a steady-state
swap behind the edge proxy) and a plain peer, Debian's docker-compose 1.29 doing `up -d`
with the new images; each under the same load, plus the rollback time of a failed release.

    .venv/bin/python benchmarks/strategies.py [--only NAME] [--json]      # make bench-strategies

Runs (each `cutover run --plain --no-documents` into a scratch receipts dir):
  recreate             lab reset; recreate release-old -> release-new; then, for the rollback
                       time, recreate -> release-broken (its gate fails, the kept containers
                       are restarted)
  bluegreen_handover   lab reset; bluegreen release-old -> release-new: the first run, the
                       old layout hands its ports over to the edge proxy (one-time cost)
  bluegreen            bluegreen release-new -> release-new2, both behind the edge; then
                       bluegreen -> release-broken (its gate fails, the rollback is a flip)
  docker-compose       lab reset; the legacy containers are stopped and removed, then
                       `docker-compose up -d` starts the three services with release-new's
                       images (built on the host by the runs above) from a compose file made
                       from the inventory, against DOCKER_HOST=ssh://root@<host>:<port> (the
                       compose default: its client shells out to `ssh`, which here is a
                       wrapper adding the lab's key and known_hosts; docker-py still imports
                       paramiko: Debian's python3-paramiko). The services' env values
                       exist only on the host: compose reads env_file on the client, so they
                       are fetched over SSH into 0600 files in a 0700 scratch dir that is
                       deleted right after `up -d`, never printed.
  `release-new2` is made by this script in the lab's workload repo (.lab/workload only):
  release-new's tree plus one file BENCH-RELEASE.txt, committed with fixed dates (the same
  SHA on every machine); the modules' build contexts are untouched.

Load (during each run, from before the cutover starts until it ends and the services
answer): a stdlib-only copy of this file runs ON THE DOCKER HOST (`strategies.py load`; the
services publish on the host's loopback only), per service: a new connection every ~20 ms,
a keep-alive connection (http.client, reused; a GET that finds the idle connection closed by
the peer before any answer is retried once on a new one, as browsers and urllib3 do) every
~20 ms, and slow requests: every 1 s one that sends half its request line, waits 2.5 s, sends
the rest and must get a 2xx (so some are in flight at any moment of the swap). requests /
failed count the first two kinds; longest gap = first failure to the next success (the
longer of the two kinds); slow = completed / started. A service that did not exist before
the run (order-intake in release-old) counts only after it first answered.

Rollback time (from the receipts' events): from the end of the first failed task of the
failing phase to the end of the rollback's last task that puts the old release back in
service (the edge's flip back, or the restored container healthy). The bluegreen rollback
flips back to a container that never stopped serving: its failed requests say so.

Exit 0 when every run behaved as expected (cutovers 0, broken ones 3); 1 naming the failed
step. Takes the lab lock ($CUTOVER_LAB_LOCK, default /tmp/cutover-lab.lock) unless
CUTOVER_LAB_LOCKED=1, and ends with a lab reset (release-old serves).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LOCK_FILE = os.environ.get("CUTOVER_LAB_LOCK", "/tmp/cutover-lab.lock")
STRATEGIES = ("recreate", "bluegreen_handover", "bluegreen", "docker-compose")
NEW2_TAG = "release-new2"
NEW2_FILE = "BENCH-RELEASE.txt"
NEW2_DATE = "2026-02-20T12:00:00+00:00"
HOST_DIR = "/tmp/cutover-bench-strategies"
# Tasks of the failing phases and of the rollback (their names, as the roles print them).
FAILING_PHASES = ("build", "migrate", "swap", "verify")
FLIP_BACK_TASK_RE = re.compile(r"Flip the services on the edge at once")
RESTORED_TASK_RE = re.compile(
    r"(Flip the edge proxy back|Flip a service on the edge|restored container.*healthy|"
    r"Wait until the restored container is healthy)",
    re.IGNORECASE,
)


# ==== host side: the load generator (stdlib only, python3 on the docker host) ===========


class Tally:
    """Requests, failures and the longest gap (first failure to the next success) of one kind."""

    def __init__(self, counting: bool) -> None:
        self.counting = counting
        self.requests = 0
        self.failed = 0
        self.longest_gap = 0.0
        self.down_since: float | None = None

    def record(self, ok: bool, now: float) -> None:
        if not self.counting:
            if not ok:
                return
            self.counting = True
        self.requests += 1
        if ok:
            if self.down_since is not None:
                self.longest_gap = max(self.longest_gap, now - self.down_since)
                self.down_since = None
            return
        self.failed += 1
        if self.down_since is None:
            self.down_since = now

    def finish(self, now: float) -> dict[str, Any]:
        if self.down_since is not None:
            self.longest_gap = max(self.longest_gap, now - self.down_since)
        return {
            "requests": self.requests,
            "failed": self.failed,
            "longest_gap_s": round(self.longest_gap, 3),
            "still_down": self.down_since is not None,
        }


def _get(conn: http.client.HTTPConnection, path: str) -> bool:
    conn.request("GET", path, headers={"Host": f"{conn.host}:{conn.port}"})
    response = conn.getresponse()
    response.read()
    return 200 <= response.status < 300


def new_connection_loop(host: str, port: int, path: str, tally: Tally, stop: threading.Event, pace: float) -> None:
    while not stop.is_set():
        tick = time.monotonic()
        conn = http.client.HTTPConnection(host, port, timeout=2.0)
        try:
            ok = _get(conn, path)
        except (OSError, http.client.HTTPException):
            ok = False
        finally:
            conn.close()
        tally.record(ok, time.monotonic())
        stop.wait(max(0.0, pace - (time.monotonic() - tick)))


_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.BadStatusLine)


def keepalive_loop(host: str, port: int, path: str, tally: Tally, stop: threading.Event, pace: float) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=2.0)
    while not stop.is_set():
        tick = time.monotonic()
        reused = conn.sock is not None
        try:
            ok = _get(conn, path)
        except _STALE:
            conn.close()
            ok = False
            if reused:  # the idle connection was closed by the peer: one retry on a new one
                try:
                    ok = _get(conn, path)
                except (OSError, http.client.HTTPException):
                    conn.close()
        except (OSError, http.client.HTTPException):
            conn.close()
            ok = False
        tally.record(ok, time.monotonic())
        stop.wait(max(0.0, pace - (time.monotonic() - tick)))
    conn.close()


def slow_request(host: str, port: int, path: str, hold_s: float) -> bool:
    """Half the request line, a pause of ``hold_s``, the rest; True on a 2xx answer."""
    line = f"GET {path} HTTP/1.1\r\n".encode()
    rest = f"Host: {host}:{port}\r\nConnection: close\r\n\r\n".encode()
    half = len(line) // 2
    try:
        with socket.create_connection((host, port), timeout=hold_s + 10) as sock:
            sock.sendall(line[:half])
            time.sleep(hold_s)
            sock.sendall(line[half:] + rest)
            answer = b""
            while b"\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
    except OSError:
        return False
    parts = answer.split(b" ", 2)
    return len(parts) >= 2 and parts[1][:1] == b"2"


class SlowRequests:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = 0
        self.completed = 0
        self.threads: list[threading.Thread] = []

    def run_one(self, host: str, port: int, path: str, hold_s: float) -> None:
        ok = slow_request(host, port, path, hold_s)
        with self.lock:
            self.completed += int(ok)

    def loop(
        self, host: str, port: int, path: str, stop: threading.Event, every: float, hold_s: float, counting: Tally
    ) -> None:
        while not stop.is_set():
            if counting.counting:  # a new service: only once it answered
                with self.lock:
                    self.started += 1
                t = threading.Thread(target=self.run_one, args=(host, port, path, hold_s), daemon=True)
                t.start()
                self.threads.append(t)
            stop.wait(every)

    def finish(self) -> dict[str, int]:
        for t in self.threads:
            t.join(timeout=15)
        return {"started": self.started, "completed": self.completed}


def run_load(
    spec: Mapping[str, Mapping[str, Any]],
    stop_file: str,
    pid_file: str,
    pace: float,
    slow_every: float,
    slow_hold_s: float,
    max_s: float,
) -> dict[str, Any]:
    stop = threading.Event()
    workers: list[threading.Thread] = []
    figures: dict[str, tuple[Tally, Tally, SlowRequests]] = {}
    for name, svc in spec.items():
        host, port, path = str(svc["host"]), int(svc["port"]), str(svc["path"])
        existed = bool(svc.get("existed", True))
        fresh, keep, slow = Tally(existed), Tally(existed), SlowRequests()
        figures[name] = (fresh, keep, slow)
        workers += [
            threading.Thread(target=new_connection_loop, args=(host, port, path, fresh, stop, pace)),
            threading.Thread(target=keepalive_loop, args=(host, port, path, keep, stop, pace)),
            threading.Thread(target=slow.loop, args=(host, port, path, stop, slow_every, slow_hold_s, fresh)),
        ]
    started = time.monotonic()
    for w in workers:
        w.start()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    time.sleep(0.5)
    Path(pid_file).write_text(f"{os.getpid()}\n")
    while not stop.is_set() and not os.path.exists(stop_file) and time.monotonic() - started < max_s:
        time.sleep(0.1)
    stop.set()
    for w in workers:
        w.join(timeout=15)
    now = time.monotonic()
    services = {
        name: {"new_connection": fresh.finish(now), "keepalive": keep.finish(now), "slow": slow.finish()}
        for name, (fresh, keep, slow) in figures.items()
    }
    return {"duration_s": round(now - started, 3), "services": services}


def load_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="strategies.py load")
    parser.add_argument("--services", required=True, help='JSON {"svc": {"host", "port", "path", "existed"}}')
    parser.add_argument("--dir", required=True)
    parser.add_argument("--pace", type=float, default=0.02)
    parser.add_argument("--slow-every", type=float, default=1.0)
    parser.add_argument("--slow-hold", type=float, default=2.5)
    parser.add_argument("--max-duration", type=float, default=1800.0)
    args = parser.parse_args(argv)
    d = Path(args.dir)
    for stale in ("stop", "out.json", "pid"):
        (d / stale).unlink(missing_ok=True)
    result = run_load(
        json.loads(args.services),
        str(d / "stop"),
        str(d / "pid"),
        args.pace,
        args.slow_every,
        args.slow_hold,
        args.max_duration,
    )
    tmp = d / "out.json.tmp"
    tmp.write_text(json.dumps(result, sort_keys=True))
    os.replace(tmp, d / "out.json")
    return 0


# ==== pure parts (controller) ===========================================================


def aggregate(kinds: Mapping[str, Any]) -> dict[str, Any]:
    """One service's figures from the load generator's kinds: requests and failed summed over
    the new-connection and keep-alive kinds, the longer gap, slow requests as they are."""
    counted = [kinds[k] for k in ("new_connection", "keepalive") if k in kinds]
    slow = kinds.get("slow") or {"started": 0, "completed": 0}
    return {
        "requests": sum(int(k["requests"]) for k in counted),
        "failed": sum(int(k["failed"]) for k in counted),
        "longest_gap_s": round(max((float(k["longest_gap_s"]) for k in counted), default=0.0), 3),
        "slow_started": int(slow["started"]),
        "slow_completed": int(slow["completed"]),
    }


def aggregate_load(load: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: aggregate(kinds) for name, kinds in load["services"].items()}


def load_spec(services: Sequence[Mapping[str, Any]], existing: set[str]) -> dict[str, dict[str, Any]]:
    """What the load generator asks, per service: host, port, path of its health URL."""
    spec: dict[str, dict[str, Any]] = {}
    for svc in services:
        m = re.fullmatch(r"http://([^:/]+):(\d+)(/.*)?", str(svc["health"]["url"]))
        if not m:
            raise ValueError(f"{svc['name']}: health url {svc['health']['url']!r} is not http://host:port/path")
        spec[str(svc["name"])] = {
            "host": m.group(1),
            "port": int(m.group(2)),
            "path": m.group(3) or "/",
            "existed": svc["name"] in existing,
        }
    return spec


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def first_failure_end(events: Sequence[Mapping[str, Any]]) -> float | None:
    """End of the first failed task that was not ignored (rescued ones count: the gate failed)."""
    for e in events:
        data = e.get("event_data") or {}
        if e.get("event") == "runner_on_failed" and not data.get("ignore_errors"):
            return _stamp(str(data.get("end") or e["created"]))
    return None


def last_restore_end(events: Sequence[Mapping[str, Any]]) -> float | None:
    """End of the rollback's last task that put the old release back in service."""
    ends = [
        _stamp(str((e.get("event_data") or {}).get("end") or e["created"]))
        for e in events
        if e.get("event") == "runner_on_ok" and RESTORED_TASK_RE.search(str((e.get("event_data") or {}).get("task")))
    ]
    return max(ends) if ends else None


def flip_back_end(events: Sequence[Mapping[str, Any]]) -> float | None:
    """End of the rescue's flip back at once (blue/green): from then on the old release serves
    every service it had (the rollback play that follows only cleans up)."""
    for e in events:
        data = e.get("event_data") or {}
        if e.get("event") == "runner_on_ok" and FLIP_BACK_TASK_RE.search(str(data.get("task"))):
            return _stamp(str(data.get("end") or e["created"]))
    return None


def rollback_seconds(failing: Sequence[Mapping[str, Any]], rollback: Sequence[Mapping[str, Any]]) -> float | None:
    start = first_failure_end(failing)
    end = flip_back_end(failing) or last_restore_end(rollback)
    if start is None or end is None:
        return None
    return round(max(0.0, end - start), 2)


def result_json(
    results: Mapping[str, Mapping[str, Any]],
    rollback_s: Mapping[str, float | None],
    runs: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The one JSON object: strategy -> service -> {requests, failed, longest_gap_s, slow...},
    rollback_s, and the runs' wall time, exit code and notes under "runs"."""
    out: dict[str, Any] = {
        name: {svc: dict(fig) for svc, fig in results[name].items()} for name in STRATEGIES if name in results
    }
    out["rollback_s"] = dict(rollback_s)
    extra = {
        name: {svc: dict(fig) for svc, fig in figs.items()} for name, figs in results.items() if name not in STRATEGIES
    }
    if extra:  # the runs to release-broken, whose rollback rollback_s times
        out["rollback_runs"] = extra
    if runs:
        out["runs"] = {k: dict(v) for k, v in runs.items()}
    return out


def from_json(doc: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, float | None]]:
    """results, runs, rollback_s back from result_json's object (for --render)."""
    results: dict[str, Any] = {name: doc[name] for name in STRATEGIES if name in doc}
    results.update(doc.get("rollback_runs") or {})
    return results, dict(doc.get("runs") or {}), dict(doc.get("rollback_s") or {})


def _cell(fig: Mapping[str, Any] | None) -> str:
    if not fig:
        return "-"
    return f"{fig['requests']} / {fig['failed']} / {float(fig['longest_gap_s']):.2f}s"


def _slow(figs: Mapping[str, Mapping[str, Any]]) -> str:
    started = sum(int(f.get("slow_started", 0)) for f in figs.values())
    done = sum(int(f.get("slow_completed", 0)) for f in figs.values())
    if not started:
        return "-"
    return f"{'yes' if done == started else 'NO'} ({done}/{started})"


def rollback_view(figs: Mapping[str, Mapping[str, Any]] | None) -> str:
    """What the load saw during the run to release-broken."""
    if not figs:
        return ""
    failed = sum(int(f["failed"]) for f in figs.values())
    if not failed:
        return "; the load saw 0 failed requests: the old release served throughout"
    gap = max(float(f["longest_gap_s"]) for f in figs.values())
    return f"; the load saw {failed} failed requests, longest gap {gap:.2f}s"


def render_table(
    results: Mapping[str, Mapping[str, Mapping[str, Any]]],
    services: Sequence[str],
    runs: Mapping[str, Mapping[str, Any]],
    rollback_s: Mapping[str, float | None],
) -> str:
    """Rows = runs, columns = services (requests / failed / longest gap), wall time, slow ok."""
    head = ["run", *services, "wall", "slow requests completed"]
    rows = [head]
    for name, figs in results.items():
        wall = runs.get(name, {}).get("wall_s")
        rows.append(
            [name, *(_cell(figs.get(s)) for s in services), "-" if wall is None else f"{float(wall):.1f}s", _slow(figs)]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("cells: requests / failed / longest gap")
    for name, secs in rollback_s.items():
        lines.append(
            f"rollback {name}: {'n/a' if secs is None else f'{secs:.2f}s'} from the failed gate to the "
            f"old release serving (receipts){rollback_view(results.get(f'{name} -> broken'))}"
        )
    for name, run in runs.items():
        if run.get("note"):
            lines.append(f"note {name}: {run['note']}")
    return "\n".join(lines)


def compose_document(
    services: Sequence[Mapping[str, Any]], tag: str, env_files: Mapping[str, str], project: str
) -> dict[str, Any]:
    """A compose file (v2.4) for the services at image tag ``tag``: same ports, networks
    (external) with the service name as alias, env from ``env_files``, labelled so that the
    lab reset removes the containers."""
    doc: dict[str, Any] = {"version": "2.4", "services": {}, "networks": {}}
    names = {str(s["name"]) for s in services}
    for svc in services:
        name = str(svc["name"])
        nets = [str(n) for n in svc.get("networks") or []]
        entry: dict[str, Any] = {
            "image": f"{svc['image']}:{tag}",
            "container_name": name,
            "restart": "unless-stopped",
            "ports": [str(p) for p in svc.get("ports") or []],
            "networks": {n: {"aliases": [name]} for n in nets},
            "labels": {"cutover.project": project, "cutover.bench": "docker-compose"},
        }
        if name in env_files:
            entry["env_file"] = [env_files[name]]
        deps = [str(d) for d in svc.get("depends_on") or [] if d in names]
        if deps:
            entry["depends_on"] = deps
        doc["services"][name] = entry
        for n in nets:
            doc["networks"][n] = {"external": True, "name": n}
    return doc


def filter_env(text: str, keys: Sequence[str]) -> str:
    """The lines of an env file whose name is in ``keys`` (values untouched, never logged)."""
    wanted = set(keys)
    out = []
    for line in text.splitlines():
        name = line.split("=", 1)[0].strip()
        if "=" in line and not line.lstrip().startswith("#") and name in wanted:
            out.append(line)
    return "\n".join(out) + ("\n" if out else "")


# ==== controller: the lab ===============================================================


class StepFailed(Exception):
    pass


class Lab:
    def __init__(self) -> None:
        import yaml  # the controller's .venv; the host side above stays stdlib-only

        inv = REPO / "inventory" / "lab"
        self.model = yaml.safe_load((inv / "group_vars" / "docker_hosts" / "cutover.yml").read_text())
        hosts = yaml.safe_load((inv / "hosts.yml").read_text())["all"]["children"]["docker_hosts"]["hosts"]
        host = next(iter(hosts.values()))
        self.address, self.port = str(host["ansible_host"]), int(host.get("ansible_port", 22))
        self.user = str(host.get("ansible_user", "deploy"))
        self.key = REPO / ".lab" / "ssh" / "id_ed25519"
        self.known_hosts = REPO / ".lab" / "ssh" / "known_hosts"
        self.services: list[dict[str, Any]] = list(self.model["cutover_services"])
        self.releases = json.loads((REPO / ".lab" / "workload-releases.json").read_text())

    def ssh_options(self) -> list[str]:
        return [
            "-i",
            str(self.key),
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
        ]

    def ssh(
        self, command: str, *, sudo: bool = False, stdin: str | None = None, check: bool = True, timeout: float = 120
    ) -> str:
        remote = f"sudo -n sh -c {shlex.quote(command)}" if sudo else command
        args = ["ssh", *self.ssh_options(), "-p", str(self.port), f"{self.user}@{self.address}", remote]
        proc = subprocess.run(args, input=stdin, text=True, capture_output=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise StepFailed(f"ssh {command[:120]!r} exited {proc.returncode}: {proc.stderr[-800:]}")
        return proc.stdout


def run(
    args: list[str], *, env: Mapping[str, str] | None = None, ok: Sequence[int] = (0,), timeout: float = 1800
) -> tuple[int, float, str]:
    started = time.monotonic()
    proc = subprocess.run(
        args, cwd=REPO, env=dict(env or os.environ), text=True, capture_output=True, timeout=timeout, check=False
    )
    wall = time.monotonic() - started
    if proc.returncode not in ok:
        tail = (proc.stdout[-3000:] + proc.stderr[-3000:]).strip()
        raise StepFailed(f"{' '.join(args[:8])} exited {proc.returncode} (expected {list(ok)})\n{tail}")
    return proc.returncode, wall, proc.stdout


def lab_reset() -> None:
    print("  lab reset (playbooks/lab_reset.yml)", file=sys.stderr)
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    playbook = [str(REPO / ".venv" / "bin" / "ansible-playbook"), "playbooks/lab_reset.yml"]
    try:
        run(playbook, env=env)
    except StepFailed as exc:  # once more: a transient failure must not cost the whole benchmark
        print(f"  lab reset failed, once more: {str(exc).splitlines()[0]}", file=sys.stderr)
        time.sleep(5)
        run(playbook, env=env)


def git(repo: Path, *args: str, env: Mapping[str, str] | None = None, stdin: str | None = None) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args],
        input=stdin,
        text=True,
        capture_output=True,
        env={**os.environ, **(env or {})},
        check=True,
    )
    return proc.stdout.strip()


def ensure_new2(workload: Path, new_tag: str) -> str:
    """Tag release-new2 = release-new's tree + BENCH-RELEASE.txt (fixed identity and dates),
    made with plumbing only: the working tree and branch stay as they are."""
    base = git(workload, "rev-parse", f"{new_tag}^{{commit}}")
    ident = {
        "GIT_AUTHOR_NAME": "Mint Modules Lab",
        "GIT_AUTHOR_EMAIL": "lab@mint-modules.invalid",
        "GIT_COMMITTER_NAME": "Mint Modules Lab",
        "GIT_COMMITTER_EMAIL": "lab@mint-modules.invalid",
        "GIT_AUTHOR_DATE": NEW2_DATE,
        "GIT_COMMITTER_DATE": NEW2_DATE,
    }
    blob = git(workload, "hash-object", "-w", "--stdin", stdin=f"benchmark release: {new_tag} + this file\n")
    with tempfile.TemporaryDirectory() as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(workload, "read-tree", base, env=index)
        git(workload, "update-index", "--add", "--cacheinfo", f"100644,{blob},{NEW2_FILE}", env=index)
        tree = git(workload, "write-tree", env=index)
    commit = git(
        workload,
        "-c",
        "commit.gpgsign=false",
        "commit-tree",
        tree,
        "-p",
        base,
        env=ident,
        stdin=f"{NEW2_TAG}: {new_tag} plus {NEW2_FILE} (strategies benchmark)\n",
    )
    git(workload, "update-ref", f"refs/tags/{NEW2_TAG}", commit)
    return commit


@contextlib.contextmanager
def load_running(lab: Lab, existing: set[str]) -> Iterator[dict[str, Any]]:
    """Start the load generator on the host; yields a dict that holds its JSON after exit."""
    spec = load_spec(lab.services, existing)
    lab.ssh(f"mkdir -p {HOST_DIR} && cat > {HOST_DIR}/strategies.py", stdin=Path(__file__).read_text())
    lab.ssh(
        f"cd {HOST_DIR} && rm -f pid stop out.json && (nohup python3 strategies.py load --dir {HOST_DIR} "
        f"--services {shlex.quote(json.dumps(spec))} > load.log 2>&1 &)"
    )
    deadline = time.monotonic() + 30
    while lab.ssh(f"test -f {HOST_DIR}/pid && echo up || true").strip() != "up":
        if time.monotonic() > deadline:
            raise StepFailed("the load generator did not start: " + lab.ssh(f"cat {HOST_DIR}/load.log", check=False))
        time.sleep(0.3)
    holder: dict[str, Any] = {}
    try:
        yield holder
    finally:
        lab.ssh(f"touch {HOST_DIR}/stop")
        deadline = time.monotonic() + 40
        while True:
            out = lab.ssh(f"cat {HOST_DIR}/out.json 2>/dev/null || true")
            if out.strip():
                holder.update(json.loads(out))
                break
            if time.monotonic() > deadline:
                raise StepFailed("no load figures: " + lab.ssh(f"cat {HOST_DIR}/load.log", check=False))
            time.sleep(0.5)


def wait_serving(lab: Lab, timeout: float = 90) -> None:
    """Every service's health URL answers 2xx on the host (the end of a swap for the load)."""
    urls = " ".join(shlex.quote(str(s["health"]["url"])) for s in lab.services)
    script = (
        f"end=$(( $(date +%s) + {int(timeout)} )); for u in {urls}; do "
        'until curl -fs -o /dev/null -m 2 "$u"; do [ $(date +%s) -lt $end ] || exit 1; sleep 0.2; done; done'
    )
    lab.ssh(script, timeout=timeout + 30)


def cutover(
    lab: Lab, name: str, ref: str, strategy: str, receipts: Path, existing: set[str], expect: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    print(f"  {name}: cutover run --strategy {strategy} --ref {ref}", file=sys.stderr)
    args = [
        str(REPO / ".venv" / "bin" / "cutover"),
        "run",
        "--plain",
        "--no-documents",
        "--receipts-dir",
        str(receipts),
        "--ref",
        ref,
        "--strategy",
        strategy,
    ]
    with load_running(lab, existing) as load:
        rc, wall, _ = run(args, ok=(expect,))
        wait_serving(lab)
    return aggregate_load(load), {"wall_s": round(wall, 1), "rc": rc, "ref": ref, "strategy": strategy}


def phase_events(receipts: Path, phase: str) -> list[dict[str, Any]]:
    dirs = sorted(receipts.glob(f"CAP-*__cutover.{phase}__R*"))
    if not dirs:
        return []
    path = dirs[-1] / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def broken_rollback(receipts: Path) -> float | None:
    failing: list[dict[str, Any]] = []
    for phase in FAILING_PHASES:
        failing += phase_events(receipts, phase)
    return rollback_seconds(failing, phase_events(receipts, "rollback"))


def ssh_wrapper(lab: Lab, bindir: Path) -> None:
    """An `ssh` first on PATH that adds the lab's key and known_hosts: what a user's
    ~/.ssh/config does, for compose's ssh:// client (it runs `ssh ... docker system dial-stdio`)."""
    script = "#!/bin/sh\nexec /usr/bin/ssh " + " ".join(shlex.quote(o) for o in lab.ssh_options()) + ' "$@"\n'
    (bindir / "ssh").write_text(script)
    (bindir / "ssh").chmod(0o755)


def compose_peer(lab: Lab, existing: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    import yaml

    if not shutil.which("docker-compose"):
        raise StepFailed("docker-compose missing: apt-get install -y docker-compose python3-paramiko (ssh://)")
    tag = lab.releases["new"]["sha"]
    images = [f"{s['image']}:{tag}" for s in lab.services]
    lab.ssh("docker image inspect " + " ".join(shlex.quote(i) for i in images) + " >/dev/null", sudo=True)
    legacy = [str(s["legacy"]["container"]) for s in lab.services if (s.get("legacy") or {}).get("container")]
    project = str(lab.model["cutover_project"])
    with tempfile.TemporaryDirectory(prefix="bench-compose-") as tmp:
        scratch = Path(tmp)  # 0700
        (scratch / "bin").mkdir()
        ssh_wrapper(lab, scratch / "bin")
        env_text = lab.ssh(f"cat {shlex.quote(str(lab.model['cutover_env_file']))}", sudo=True)
        env_files: dict[str, str] = {}
        for svc in lab.services:
            path = scratch / f"{svc['name']}.env"
            path.touch(mode=0o600)
            path.write_text(filter_env(env_text, [str(k) for k in svc.get("env") or []]))
            env_files[str(svc["name"])] = str(path)
        del env_text
        compose_file = scratch / "docker-compose.yml"
        compose_file.write_text(yaml.safe_dump(compose_document(lab.services, tag, env_files, project)))
        env = {
            **os.environ,
            "PATH": f"{scratch / 'bin'}:{os.environ['PATH']}",
            "DOCKER_HOST": f"ssh://root@{lab.address}:{lab.port}",
            "COMPOSE_PROJECT_NAME": f"{project}-bench",
        }
        compose = ["docker-compose", "-f", str(compose_file)]
        run([*compose, "config", "-q"], env=env)
        print("  docker-compose: stop+rm legacy, up -d (DOCKER_HOST=ssh://root@...)", file=sys.stderr)
        with load_running(lab, existing) as load:
            started = time.monotonic()
            if legacy:
                lab.ssh(
                    "docker stop " + " ".join(legacy) + " >/dev/null && docker rm " + " ".join(legacy) + " >/dev/null",
                    sudo=True,
                )
            run([*compose, "up", "-d", "--no-build"], env=env)
            for p in scratch.glob("*.env"):
                p.unlink()
            wall = time.monotonic() - started
            wait_serving(lab)
            serving = time.monotonic() - started
    note = f"stop+rm of {', '.join(legacy)} and `up -d` took {wall:.1f}s; all services answered after {serving:.1f}s"
    return aggregate_load(load), {"wall_s": round(wall, 1), "rc": 0, "note": note}


def measure(only: str | None) -> tuple[dict[str, Any], dict[str, Any], dict[str, float | None]]:
    lab = Lab()
    results: dict[str, Any] = {}
    runs: dict[str, Any] = {}
    rollback: dict[str, float | None] = {}
    old_services = {str(s["name"]) for s in lab.services if (s.get("legacy") or {}).get("container")}
    all_services = {str(s["name"]) for s in lab.services}
    new, broken = lab.releases["new"]["tag"], lab.releases["broken"]["tag"]
    with tempfile.TemporaryDirectory(prefix="bench-strategies-") as tmp:
        base = Path(tmp)
        if only in (None, "recreate"):
            lab_reset()
            results["recreate"], runs["recreate"] = cutover(
                lab, "recreate", new, "recreate", base / "r1", old_services, 0
            )
            results["recreate -> broken"], runs["recreate -> broken"] = cutover(
                lab, "recreate -> broken", broken, "recreate", base / "r2", all_services, 3
            )
            rollback["recreate"] = broken_rollback(base / "r2")
        if only in (None, "bluegreen_handover", "bluegreen"):
            ensure_new2(REPO / ".lab" / "workload", new)
            lab_reset()
            results["bluegreen_handover"], runs["bluegreen_handover"] = cutover(
                lab, "bluegreen_handover", new, "bluegreen", base / "b1", old_services, 0
            )
            if only != "bluegreen_handover":
                results["bluegreen"], runs["bluegreen"] = cutover(
                    lab, "bluegreen", NEW2_TAG, "bluegreen", base / "b2", all_services, 0
                )
                results["bluegreen -> broken"], runs["bluegreen -> broken"] = cutover(
                    lab, "bluegreen -> broken", broken, "bluegreen", base / "b3", all_services, 3
                )
                rollback["bluegreen"] = broken_rollback(base / "b3")
        if only in (None, "docker-compose"):
            lab_reset()
            results["docker-compose"], runs["docker-compose"] = compose_peer(lab, old_services)
    return results, runs, rollback


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["load"]:
        return load_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=STRATEGIES, help="run one strategy (and its rollback run)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--no-final-reset", action="store_true", help="leave the lab as the last run left it")
    parser.add_argument("--render", metavar="FILE", help="print the table of an earlier --json output (no lab)")
    args = parser.parse_args(argv)
    if args.render:
        results, runs, rollback = from_json(json.loads(Path(args.render).read_text()))
        services = sorted({svc for figs in results.values() for svc in figs})
        print(render_table(results, services, runs, rollback))
        return 0
    handle = None
    if os.environ.get("CUTOVER_LAB_LOCKED") != "1":
        handle = open(LOCK_FILE, "a")  # noqa: SIM115 - held until exit
        print(f"waiting for the lab lock {LOCK_FILE}", file=sys.stderr)
        fcntl.flock(handle, fcntl.LOCK_EX)
    started = time.monotonic()
    try:
        results, runs, rollback = measure(args.only)
        if not args.no_final_reset:
            lab_reset()
    except (StepFailed, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"strategies.py: {exc}", file=sys.stderr)
        return 1
    finally:
        if handle is not None:
            handle.close()
    services = [str(s["name"]) for s in Lab().services]
    if args.json:
        print(json.dumps(result_json(results, rollback, runs), indent=2, sort_keys=True))
    else:
        print(render_table(results, services, runs, rollback))
        print(f"(whole benchmark {time.monotonic() - started:.0f}s, {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
