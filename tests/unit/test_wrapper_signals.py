"""The playbook dies with the wrapper (no Docker: a local playbook that sleeps).

ansible-runner starts ansible-playbook in a session of its own with SIGHUP ignored, so before
the fix, killing `cutover` left the playbook (and the task it was running) alive. Now:
catchable signals are forwarded as SIGTERM to the playbook's process group and the phase's
receipt says canceled (exit 1); SIGKILL is covered by PR_SET_PDEATHSIG set in launch.py.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cutover import launch
from cutover.stop import Stop

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux: /proc, PR_SET_PDEATHSIG")


# ---- /proc ---------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")  # a zombie has stopped running


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def _descendants(root: int) -> set[int]:
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))):
            parent[int(entry.name)] = st[1]
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        for child, ppid in parent.items():
            if ppid == pid and child not in found:
                found.add(child)
                todo.append(child)
    return found


def _wait_until(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return bool(predicate())  # type: ignore[operator]


# ---- a project whose baseline sleeps ---------------------------------------------------------


@pytest.fixture
def sleepy(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """CUTOVER_HOME with a baseline playbook that runs `sleep <marker>` on localhost."""
    marker = f"90.{random.randint(100000, 999999)}"  # a marker to find the sleep by
    root = tmp_path / "project"
    (root / "playbooks").mkdir(parents=True)
    (root / "ansible.cfg").write_text("[defaults]\ngathering = explicit\ninterpreter_python = auto_silent\n")
    (root / "hosts.yml").write_text(
        textwrap.dedent("""\
            all:
              children:
                docker_hosts:
                  hosts:
                    docker-host:
                      ansible_connection: local
                      ansible_python_interpreter: "{{ ansible_playbook_python }}"
                  vars:
                    cutover_project: sleepy
            """)
    )
    (root / "playbooks" / "cutover.yml").write_text(
        textwrap.dedent("""\
            - name: Baseline
              ansible.builtin.import_playbook: baseline.yml
            """)
    )
    (root / "playbooks" / "baseline.yml").write_text(
        textwrap.dedent(f"""\
            - name: Baseline - a baseline that takes long
              hosts: docker_hosts
              gather_facts: false
              tasks:
                - name: Sleep
                  ansible.builtin.command: sleep {marker}
            """)
    )
    yield root, marker
    for pid in [p for p in _descendants(1) if _cmdline(p)[:2] == ["sleep", marker]]:
        os.kill(pid, signal.SIGKILL)  # never leave the sleep behind, whatever happened


def _start(root: Path, tmp_path: Path, marker: str) -> tuple[subprocess.Popen[bytes], Path, set[int]]:
    """`python -m cutover run --phase baseline` until the playbook sleeps; its process tree."""
    out = tmp_path / "wrapper.out"
    env = dict(os.environ, CUTOVER_HOME=str(root))
    proc = subprocess.Popen(
        [sys.executable, "-m", "cutover", "run", "-i", str(root / "hosts.yml"), "--phase", "baseline",
         "--receipts-dir", str(tmp_path / "receipts"), "--plain", "--no-documents"],
        stdout=out.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    def sleeping() -> bool:
        return any(_cmdline(p)[:2] == ["sleep", marker] for p in _descendants(proc.pid))

    if not _wait_until(sleeping, 60):
        proc.kill()
        pytest.fail(f"the playbook never started sleeping:\n{out.read_text()[-3000:]}")
    tree = _descendants(proc.pid)
    playbooks = [p for p in tree if any("ansible-playbook" in part for part in _cmdline(p))]
    assert playbooks, [(p, _cmdline(p)) for p in tree]
    return proc, out, tree


def _assert_gone(tree: set[int], within: float) -> None:
    if not _wait_until(lambda: not any(_alive(p) for p in tree), within):
        left = {p: _cmdline(p) for p in tree if _alive(p)}
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        pytest.fail(f"still running {within}s after the wrapper died: {left}")


def test_sigkill_of_the_wrapper_takes_the_playbook_with_it(
    sleepy: tuple[Path, str], tmp_path: Path
) -> None:
    root, marker = sleepy
    proc, _, tree = _start(root, tmp_path, marker)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL
    _assert_gone(tree, within=5)  # ansible-playbook, its worker, the module and the sleep


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_caught_signal_stops_the_playbook_and_writes_a_canceled_receipt(
    sleepy: tuple[Path, str], tmp_path: Path, signum: signal.Signals
) -> None:
    root, marker = sleepy
    proc, out, tree = _start(root, tmp_path, marker)
    started = time.monotonic()
    os.kill(proc.pid, signum)
    assert proc.wait(30) == 1, out.read_text()[-3000:]
    assert time.monotonic() - started < 15
    _assert_gone(tree, within=5)
    text = out.read_text()
    assert f"interrupted by {signum.name} during baseline: the playbook was stopped" in text
    assert "outcome: interrupted; exit 1" in text
    rdir = tmp_path / "receipts"
    rows = (rdir / "ledger.csv").read_text().splitlines()
    assert len(rows) == 2 and ",canceled," in rows[1]
    doc = json.loads((rdir / rows[1].split(",")[0] / "receipt.json").read_text())
    assert (doc["phase"], doc["status"], doc["exit_code"]) == ("baseline", "canceled", 128 + signum)
    check = subprocess.run(
        [sys.executable, "-m", "cutover", "receipts", "verify", "--receipts-dir", str(rdir)],
        env=dict(os.environ, CUTOVER_HOME=str(root)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout


# ---- the pieces ------------------------------------------------------------------------------


def test_the_launcher_sets_the_parent_death_signal_and_writes_its_pid(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    probe = (
        "import ctypes, os; v = ctypes.c_int(); ctypes.CDLL(None).prctl(2, ctypes.byref(v)); "
        "print(v.value, os.getpid())"
    )
    proc = subprocess.run(
        [sys.executable, launch.__file__, str(os.getpid()), str(pidfile), sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
    )
    deathsig, pid = proc.stdout.split()
    assert int(deathsig) == signal.SIGTERM  # PR_GET_PDEATHSIG after execvp: kept
    assert pidfile.read_text().strip() == pid  # the pid is the program's own (exec, not fork)


def test_the_launcher_does_not_start_when_the_wrapper_is_already_gone(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, launch.__file__, "1", "-", "true"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1 and "is gone; not starting true" in proc.stderr
    assert launch.main(["launch.py", "x"]) == 2


def test_stop_forwards_sigterm_to_the_childs_process_group(tmp_path: Path) -> None:
    child = subprocess.Popen(["sleep", "60"], start_new_session=True)
    pidfile = tmp_path / "pid"
    pidfile.write_text(f"{child.pid}\n")
    stop = Stop()
    assert not stop.cancel_callback()
    with stop.child(pidfile):
        stop.request(signal.SIGINT)
    assert child.wait(5) == -signal.SIGTERM
    assert (stop.requested, stop.name, stop.exit_status) == (True, "SIGINT", 130)
    stop.request(signal.SIGTERM)  # a second signal: the first one is what the receipt says
    assert stop.name == "SIGINT"
    stop.GRACE_S = 0.0
    assert stop.cancel_callback()  # past the grace period: ansible-runner kills the group


def test_stop_installs_and_restores_the_handlers() -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    stop = Stop()
    with stop.installed(), stop.installed():
        assert signal.getsignal(signal.SIGTERM) == stop._handle
        os.kill(os.getpid(), signal.SIGTERM)  # caught, remembered, no child to forward to
        time.sleep(0.05)
    assert stop.name == "SIGTERM"
    assert {s: signal.getsignal(s) for s in before} == before
