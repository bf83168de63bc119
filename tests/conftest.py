"""Session fixtures shared by every test file.

Integration tests use the real lab: a docker host that is its own machine (network namespace
cutover-lab-h1 with its own Docker engine, scripts/lab-host.sh), reached over SSH at
10.231.1.2 as `deploy` (passwordless sudo), with Postgres and the object store on its engine.
The controller reaches nothing of it but SSH (and, for the tests' own inspection, the host's
engine socket /run/cutover-lab-h1.sock on this machine).
The lab is one shared resource: `make test-integration` holds `flock $CUTOVER_LAB_LOCK`
(default /tmp/cutover-lab.lock) for the whole run and sets CUTOVER_LAB_LOCKED=1. When pytest
is started another way, the `lab` fixture takes the same lock itself for the session. Never
call `flock` on that file from inside a test: it would wait for the session's own lock forever.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# Which lab the session runs on: the single-host lab (inventory/lab: lab host 1, files in .lab;
# the default) or, with CUTOVER_LAB_HOSTS=3, the fleet lab (inventory/lab-fleet: hosts 2-4,
# files in .lab-fleet, its own lock), on its first host, which holds Postgres and the object
# store. `make test` runs the second workload's tests there, beside the single host's tests.
LAB_HOSTS = os.environ.get("CUTOVER_LAB_HOSTS", "1")
FLEET_LAB = LAB_HOSTS == "3"
LAB_DIR = REPO_ROOT / (".lab-fleet" if FLEET_LAB else ".lab")
LOCK_FILE = os.environ.get(
    "CUTOVER_LAB_LOCK", "/tmp/cutover-lab-fleet.lock" if FLEET_LAB else "/tmp/cutover-lab.lock"
)
# inventory/lab/hosts.yml, inventory/lab-fleet/hosts.yml, scripts/lab-host.sh.
HOST_INDEX = int(os.environ.get("CUTOVER_LAB_HOST_INDEX", "2" if FLEET_LAB else "1"))  # the host the tests use
HOST_ADDR = f"10.231.{HOST_INDEX}.2"
HOST_NETNS = f"cutover-lab-h{HOST_INDEX}"
HOST_SOCKET = f"/run/cutover-lab-h{HOST_INDEX}.sock"
SSH_PORT = 22
SSH_USER = "deploy"
# The host's own engine, from the controller (tests only: the package itself goes over SSH).
HOST_DOCKER = ["docker", "-H", f"unix://{HOST_SOCKET}"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: needs the real lab (Docker, SSH, Postgres, object store)")


def run(args: list[str], *, check: bool = True, timeout: float = 900, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run a command from the repo root, capture its output, fail with both streams shown."""
    kw.setdefault("stdin", subprocess.DEVNULL)  # Ansible refuses a non-blocking stdin; the tests never type
    proc = subprocess.run(args, cwd=REPO_ROOT, text=True, capture_output=True, timeout=timeout, check=False, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{shlex.join(args)} exited {proc.returncode}\n"
            f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
        )
    return proc


def make(target: str, *args: str, check: bool = True, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    return run(["make", "--no-print-directory", target, *args], check=check, timeout=timeout)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def lab_lock() -> Iterator[None]:
    """Hold the shared lab lock for the session unless the caller holds it already."""
    if os.environ.get("CUTOVER_LAB_LOCKED") == "1":
        yield
        return
    handle: IO[str] = open(LOCK_FILE, "a")  # noqa: SIM115 - held for the whole session
    fcntl.flock(handle, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def lab_answers(indexes: tuple[int, ...], lab_dir: Path) -> bool:
    """The lab on these lab hosts answers: each host's engine is up, each host's services answer
    over SSH and the first host's Postgres is healthy. One look per host instead of a
    converging `make lab` (~30 s on one host, ~100 s on the fleet, even when nothing changes)."""
    if not (lab_dir / "ssh" / "known_hosts").exists() or not (lab_dir / "workload-releases.json").exists():
        return False
    for index in indexes:
        if run(["scripts/lab-host.sh", "status", str(index)], check=False).returncode != 0:
            return False
        look = "curl -sf -m 5 -o /dev/null http://127.0.0.1:3500/health && curl -sf -m 5 -o /dev/null http://127.0.0.1:3341/health"
        if index == indexes[0]:
            look += " && docker inspect -f '{{.State.Health.Status}}' mint-postgres | grep -qx healthy"
        args = [*ssh_args(index=index, lab_dir=lab_dir), f"sudo -n sh -c {shlex.quote(look)}"]
        try:
            if run(args, check=False, timeout=60).returncode != 0:
                return False
        except subprocess.TimeoutExpired:
            return False
    return True


def fleet_lab_up() -> bool:
    """The fleet lab (hosts 2-4, .lab-fleet) answers."""
    return lab_answers((2, 3, 4), REPO_ROOT / ".lab-fleet")


@pytest.fixture(scope="session")
def lab(lab_lock: None) -> Path:
    """Make sure the lab is up and returns its files' dir (.lab or .lab-fleet): `make lab` (or
    `make lab LAB_HOSTS=3` for the fleet lab) unless the lab answers already, e.g. for the
    second pytest session of `make test-integration`. After changing the lab's own roles, run
    `make lab` first: a lab that answers is taken as it is."""
    if FLEET_LAB:
        if not fleet_lab_up():
            make("lab", "LAB_HOSTS=3", timeout=1800)
    elif not lab_answers((HOST_INDEX,), LAB_DIR):
        make("lab")
    return LAB_DIR


def read_env_file(path: Path) -> dict[str, str]:
    """An env file read exactly as Docker and the package read it (the one parser)."""
    from cutover.envfile import parse  # the package's parser, python_wrapper/cutover/envfile.py

    return parse(path.read_text(encoding="utf-8"), str(path))


@pytest.fixture(scope="session")
def lab_secrets(lab: Path) -> dict[str, str]:
    """The lab's secrets (.lab/secrets.env) as a dict. Never print them."""
    return read_env_file(lab / "secrets.env")


SshRunner = Callable[..., subprocess.CompletedProcess[str]]


def ssh_args(user: str = SSH_USER, *, index: int = HOST_INDEX, lab_dir: Path = LAB_DIR) -> list[str]:
    """`ssh` to a lab host as the package reaches it (by default the session's host and lab)."""
    return [
        "ssh",
        "-i", str(lab_dir / "ssh" / "id_ed25519"),
        "-o", f"UserKnownHostsFile={lab_dir / 'ssh' / 'known_hosts'}",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=10",
        "-p", str(SSH_PORT),
        f"{user}@10.231.{index}.2",
    ]  # fmt: skip


@pytest.fixture(scope="session")
def ssh(lab: Path) -> SshRunner:
    """ssh(cmd, check=True, timeout=120, root=True): run a shell command on docker-host over real SSH.

    Logs in as `deploy`; with root=True (the default) the command runs as root through
    deploy's passwordless sudo (`sudo -n sh -c <cmd>`), root=False runs it as deploy.
    """

    def _ssh(
        cmd: str, *, check: bool = True, timeout: float = 120, root: bool = True
    ) -> subprocess.CompletedProcess[str]:
        remote = f"sudo -n sh -c {shlex.quote(cmd)}" if root else cmd
        return run([*ssh_args(), remote], check=check, timeout=timeout)

    return _ssh


def host_docker(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`docker ...` against the lab host's own engine (its socket; for the tests' own looks only).

    The package never uses this socket: it reaches the host over SSH like any server.
    """
    return run([*HOST_DOCKER, *args], check=check, timeout=timeout)


def health(port: int, path: str = "/health") -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) of a service asked ON the docker host, where its port is published.

    -1 when nothing answers. The controller itself cannot reach the services (a test says so).
    """
    proc = run([*ssh_args(), f"curl -s -m 5 -w '\\n%{{http_code}}' http://127.0.0.1:{port}{path}"], check=False)
    body, _, code = proc.stdout.rpartition("\n")
    if proc.returncode != 0 or not code.strip().isdigit() or code.strip() == "000":
        return -1, {}
    try:
        data = json.loads(body) if body.strip() else {}
    except ValueError:
        data = {"raw": body[:200]}
    return int(code), data if isinstance(data, dict) else {"value": data}


def controller_answers(port: int) -> bool:
    """True when something answers on the controller's own 127.0.0.1:<port>."""
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


PsqlRunner = Callable[[str], str]


@pytest.fixture(scope="session")
def psql(lab: Path) -> PsqlRunner:
    """psql(sql) -> unaligned, tuples-only output, via `ssh deploy@host sudo docker exec mint-postgres psql`."""

    def _psql(sql: str) -> str:
        remote = shlex.join(
            ["sudo", "-n", "docker", "exec", "-i", "mint-postgres", "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
             "-U", "mint", "-d", "mint", "-c", sql],
        )  # fmt: skip
        proc = run([*ssh_args(), remote])
        return proc.stdout.strip()

    return _psql


@pytest.fixture(scope="session")
def releases(lab: Path) -> dict[str, dict[str, str]]:
    """The workload's releases: {"old": {"tag", "sha", "commit"}, "new": ..., "broken": ...}."""
    data: dict[str, dict[str, str]] = json.loads((lab / "workload-releases.json").read_text())
    return data
