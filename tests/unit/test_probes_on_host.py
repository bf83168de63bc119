"""Every probe runs on the docker host, every Engine API call honours cutover_docker_host, and
nothing delegated to the controller asks for become (static checks of the task files), plus the
downtime prober itself (files/downtime_prober.py) against a local server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
PHASES = ("baseline", "prep", "build", "migrate", "swap", "verify", "recert", "closeout", "rollback")
STATUS = ROOT / "python_wrapper" / "cutover" / "playbooks" / "status.yml"
PROBER = ROLES / "cutover_swap" / "files" / "downtime_prober.py"
# Modules that probe a service (they must run where the service's URL means what it says).
PROBE_MODULES = ("ansible.builtin.uri", "uri", "cutover_smoke", "ansible.builtin.get_url")


def _tasks(node: Any) -> Iterator[dict[str, Any]]:
    """Every task of a task list, blocks (block/rescue/always) included."""
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        if any(k in node for k in ("block", "rescue", "always")):
            for key in ("block", "rescue", "always"):
                yield from _tasks(node.get(key) or [])
        else:
            yield node


def _task_files() -> list[Path]:
    files = sorted(ROLES.glob("cutover_*/tasks/*.yml"))
    files += [ROOT / "playbooks" / f"{p}.yml" for p in PHASES] + [STATUS]
    return files


def _all_tasks() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in _task_files():
        data = yaml.safe_load(path.read_text()) or []
        if path.parent.name == "tasks":
            for task in _tasks(data):
                yield path, task
        else:
            for play in data:
                for section in ("pre_tasks", "tasks", "post_tasks"):
                    for task in _tasks(play.get(section) or []):
                        yield path, task


def test_no_probe_is_delegated_to_the_controller() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {task.get('name')}"
        for path, task in _all_tasks()
        if any(m in task for m in PROBE_MODULES) and task.get("delegate_to") is not None
    ]
    assert found == []


def test_every_task_delegated_to_the_controller_never_asks_for_become() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {task.get('name')}"
        for path, task in _all_tasks()
        if task.get("delegate_to") in ("localhost", "127.0.0.1") and task.get("become") is not False
    ]
    assert found == []


def test_no_engine_socket_is_hard_coded() -> None:
    found = []
    for path in _task_files() + sorted((ROOT / "python_wrapper" / "cutover").glob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            # (the plays' module_defaults spell out the default of cutover_docker_host)
            if ("docker.sock" in line and "cutover_docker_host | default(" not in line) or "unix_socket: /" in line:
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == []


def test_every_raw_engine_call_goes_through_cutover_docker_api() -> None:
    for path, task in _all_tasks():
        uri = task.get("ansible.builtin.uri")
        if isinstance(uri, dict) and "unix_socket" in uri:
            assert "_api.unix_socket" in str(uri["unix_socket"]), (path, task.get("name"))
            assert str(uri["url"]).strip() == "{{ _api.url }}", (path, task.get("name"))
            assert "cutover_docker_api" in str(task.get("vars", {}).get("_api", "")), (path, task.get("name"))


@pytest.mark.parametrize("path", [ROOT / "playbooks" / f"{p}.yml" for p in PHASES] + [STATUS], ids=lambda p: p.stem)
def test_every_phase_play_hands_cutover_docker_host_to_the_docker_modules(path: Path) -> None:
    for play in yaml.safe_load(path.read_text()):
        defaults = (play.get("module_defaults") or {}).get("group/community.docker.docker") or {}
        assert "cutover_docker_host" in str(defaults.get("docker_host", "")), f"{path.name}: {play.get('name')}"


# ---- the downtime prober ----------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    down: ClassVar[bool] = False
    delay_s: ClassVar[float] = 0.0

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        time.sleep(_Handler.delay_s)
        self.send_response(503 if _Handler.down else 200)
        self.send_header("content-length", "0")
        self.end_headers()


@pytest.fixture()
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.down = False
    _Handler.delay_s = 0.0
    yield f"http://127.0.0.1:{httpd.server_address[1]}/health"
    httpd.shutdown()


def _start(tmp_path: Path, url: str) -> subprocess.Popen[str]:
    # "new": a service new in the release that never answers (nothing listens on port 9)
    services = {"web": {"url": url, "existed": True}, "new": {"url": "http://127.0.0.1:9/health", "existed": False}}
    return subprocess.Popen(
        [sys.executable, str(PROBER), "--services", json.dumps(services), "--stop-file", str(tmp_path / "stop"),
         "--out", str(tmp_path / "downtime.json"), "--pid-file", str(tmp_path / "pid"), "--interval", "0.02",
         "--timeout", "0.5", "--max-duration", "60"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for(path: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.02)


def test_the_prober_measures_a_gap_and_stops_on_the_stop_file(tmp_path: Path, server: str) -> None:
    proc = _start(tmp_path, server)
    _wait_for(tmp_path / "pid")
    assert int((tmp_path / "pid").read_text()) == proc.pid
    _Handler.down = True
    time.sleep(0.3)
    _Handler.down = False
    time.sleep(0.2)
    (tmp_path / "stop").touch()
    assert proc.wait(timeout=10) == 0
    doc = json.loads((tmp_path / "downtime.json").read_text())
    web = doc["services"]["web"]
    assert web["failed"] > 0 and web["requests"] > web["failed"]
    assert 0.2 <= web["longest_gap_s"] < 2 and web["still_down"] is False
    assert web["reasons"] == {"HTTP 503": web["failed"]}  # why they failed, counted
    # a service new in the release counts nothing before its first success
    assert doc["services"]["new"] == {
        "requests": 0, "failed": 0, "longest_gap_s": 0.0, "slowest_s": 0.0, "still_down": False, "reasons": {},
    }  # fmt: skip
    assert not (tmp_path / "pid").exists()


def test_the_prober_stops_on_sigterm_and_still_writes_its_figures(tmp_path: Path, server: str) -> None:
    proc = _start(tmp_path, server)
    _wait_for(tmp_path / "pid")
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    doc = json.loads((tmp_path / "downtime.json").read_text())
    assert doc["services"]["web"]["requests"] > 0 and doc["services"]["web"]["failed"] == 0


def _web_with_slow_answers(
    tmp_path: Path, server: str, delay_s: float, slow_for_s: float, then_s: float
) -> dict[str, Any]:
    """The prober's figures for "web" when every answer takes delay_s for slow_for_s, then none."""
    proc = _start(tmp_path, server)
    _wait_for(tmp_path / "pid")
    _Handler.delay_s = delay_s
    time.sleep(slow_for_s)
    _Handler.delay_s = 0.0
    time.sleep(then_s)
    (tmp_path / "stop").touch()
    assert proc.wait(timeout=10) == 0
    web: dict[str, Any] = json.loads((tmp_path / "downtime.json").read_text())["services"]["web"]
    return web


def test_a_slow_answer_within_the_timeout_is_latency_not_a_failed_request(tmp_path: Path, server: str) -> None:
    # a loaded host answers late; only an answer past --timeout (0.5 s here) is a failed request
    web = _web_with_slow_answers(tmp_path, server, delay_s=0.3, slow_for_s=0.7, then_s=0.1)
    assert web["failed"] == 0 and web["longest_gap_s"] == 0
    assert 0.3 <= web["slowest_s"] < 0.5


def test_an_answer_past_the_timeout_fails_and_its_gap_counts_from_when_it_was_sent(tmp_path: Path, server: str) -> None:
    web = _web_with_slow_answers(tmp_path, server, delay_s=0.8, slow_for_s=0.3, then_s=1.0)
    assert web["failed"] >= 1 and web["still_down"] is False
    assert web["longest_gap_s"] >= 0.5  # the whole wait of the request that timed out
    assert web["reasons"] == {"no answer within 0.5 s": web["failed"]}


def test_a_service_that_stops_listening_fails_as_connection_refused(tmp_path: Path) -> None:
    gone = socket.socket()
    gone.bind(("127.0.0.1", 0))  # a port nobody listens on (bound, never listening)
    services = {"web": {"url": f"http://127.0.0.1:{gone.getsockname()[1]}/health", "existed": True}}
    try:
        proc = subprocess.run(
            [sys.executable, str(PROBER), "--services", json.dumps(services), "--stop-file", str(tmp_path / "stop"),
             "--out", str(tmp_path / "downtime.json"), "--interval", "0.02", "--max-duration", "0.3"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    finally:
        gone.close()
    assert proc.returncode == 0, proc.stderr
    web = json.loads((tmp_path / "downtime.json").read_text())["services"]["web"]
    assert web["failed"] == web["requests"] > 0 and web["still_down"] is True
    assert web["reasons"] == {"connection refused": web["failed"]}


def test_the_prober_stops_when_its_directory_is_removed(tmp_path: Path, server: str) -> None:
    workdir = tmp_path / "prober"
    workdir.mkdir()
    proc = _start(workdir, server)
    _wait_for(workdir / "pid")
    shutil.rmtree(workdir)
    assert proc.wait(timeout=10) == 0


# ---- prober_stop.sh: how the swap and a rollback stop probers on the host ---------------------

PROBER_STOP = ROLES / "cutover_swap" / "files" / "prober_stop.sh"


def test_stopping_the_swaps_prober_prints_its_figures_and_removes_its_directory(tmp_path: Path, server: str) -> None:
    workdir = tmp_path / "prober"
    workdir.mkdir()
    proc = _start(workdir, server)
    _wait_for(workdir / "pid")
    out = subprocess.run(
        [str(PROBER_STOP), "--figures", str(workdir), "20"], capture_output=True, text=True, check=True
    )
    assert proc.wait(timeout=10) == 0
    assert json.loads(out.stdout)["services"]["web"]["requests"] > 0
    assert not workdir.exists()


def test_stopping_a_prober_that_is_gone_prints_no_figures(tmp_path: Path) -> None:
    out = subprocess.run([str(PROBER_STOP), "--figures", str(tmp_path / "none"), "1"], capture_output=True, text=True)
    assert out.returncode == 0 and json.loads(out.stdout) == {}


def test_a_rollback_stops_every_left_prober_and_never_signals_a_stranger(tmp_path: Path, server: str) -> None:
    runs = tmp_path / "runs"
    left = runs / "20260101-000000-dead" / "prober"
    reused = runs / "20260101-000001-older" / "prober"
    left.mkdir(parents=True)
    reused.mkdir(parents=True)
    prober = _start(left, server)
    _wait_for(left / "pid")
    stranger = subprocess.Popen(["sleep", "30"])  # holds the pid an old pid file names
    (reused / "pid").write_text(f"{stranger.pid}\n")
    try:
        out = subprocess.run([str(PROBER_STOP), "--under", str(runs), "1"], capture_output=True, text=True, check=True)
        assert prober.wait(timeout=10) == 0
        assert stranger.poll() is None
        assert sorted(out.stdout.splitlines()) == [
            "stopped the prober of run 20260101-000000-dead",
            "stopped the prober of run 20260101-000001-older",
        ]
        assert not left.exists() and not reused.exists()
    finally:
        stranger.kill()
        stranger.wait()


def test_prober_stop_refuses_unknown_arguments() -> None:
    out = subprocess.run([str(PROBER_STOP), "--all"], capture_output=True, text=True)
    assert out.returncode == 2 and "usage" in out.stderr


# ---- prober_start.sh: how the swap starts its prober on the host -------------------------------

PROBER_START = ROLES / "cutover_swap" / "files" / "prober_start.sh"


def _prober_start(workdir: Path, url: str, python: str, wait_s: int = 10) -> subprocess.CompletedProcess[str]:
    """Run prober_start.sh as the swap does: `sh -c <script>`, the prober's source on stdin."""
    services = {"web": {"url": url, "existed": True}}
    return subprocess.run(
        ["sh", "-c", PROBER_START.read_text(), "prober_start.sh", str(workdir), str(wait_s), python,
         "--services", json.dumps(services), "--stop-file", str(workdir / "stop"), "--out",
         str(workdir / "downtime.json"), "--pid-file", str(workdir / "pid"), "--interval", "0.02"],
        input=PROBER.read_text(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_started_prober_measures_after_the_call_returns_and_prober_stop_reads_it(
    tmp_path: Path, server: str
) -> None:
    workdir = tmp_path / "runs" / "r1" / "prober"

    started = _prober_start(workdir, server, sys.executable)

    assert started.returncode == 0, started.stderr
    pid = int(started.stdout)
    assert int((workdir / "pid").read_text()) == pid
    assert "downtime_prober" in Path(f"/proc/{pid}/cmdline").read_text()  # how prober_stop.sh knows it
    assert oct(workdir.stat().st_mode & 0o777) == "0o700"
    time.sleep(0.2)  # still measuring after the call returned
    stop = [str(PROBER_STOP), "--figures", str(workdir), "20"]
    out = subprocess.run(stop, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["services"]["web"]["requests"] > 1
    assert not workdir.exists()


def test_a_prober_that_cannot_run_fails_the_start_with_its_error(tmp_path: Path, server: str) -> None:
    started = _prober_start(tmp_path / "prober", server, str(tmp_path / "no-such-python"))

    assert started.returncode == 1
    assert "ended before it measured" in started.stderr and "no-such-python" in started.stderr


def test_a_prober_that_does_not_measure_in_time_is_stopped_and_the_start_fails(tmp_path: Path, server: str) -> None:
    stuck = tmp_path / "stuck-python"
    stuck.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(60)\n")
    stuck.chmod(0o755)

    started = _prober_start(tmp_path / "prober", server, str(stuck), wait_s=1)

    assert started.returncode == 1 and "did not measure within 1s" in started.stderr
    time.sleep(0.3)
    left = subprocess.run(["pgrep", "-f", str(stuck)], capture_output=True, text=True)
    assert left.stdout.strip() == "", "nothing is left running"
