"""The fault suite: what a fault at a bad moment does to a real cutover on the lab, and how an
operator gets out of it through the CLI.

Every case asserts what an on-call operator cares about: which release serves, the deploy
lock, the rows and objects (counted before and after), the exit code and the message. The
cases run in file order and each starts from the state the one before left, so that no
case pays for a full cutover it does not need (the module starts from `make lab-reset`).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HOST_ADDR, REPO_ROOT, PsqlRunner, SshRunner, health, host_docker, make, run
from tests.integration.test_cli import cutover, cutover_bin
from tests.integration.test_cutover import data_snapshot

pytestmark = pytest.mark.integration

ROOT = "/opt/cutover/mint"
DEAD_RUN = "20261130T000000Z-dead01"


# ---------------------------------------------------------------------------------- helpers


def host_state(ssh: SshRunner) -> dict[str, Any]:
    proc = ssh(f"cat {ROOT}/state.json 2>/dev/null || echo '{{}}'")
    data: dict[str, Any] = json.loads(proc.stdout or "{}")
    return data


def lock_held(ssh: SshRunner) -> bool:
    return ssh(f"test -d {ROOT}/lock", check=False).returncode == 0


def audit_lines(ssh: SshRunner) -> int:
    out = ssh(f"cat {ROOT}/audit.log 2>/dev/null | wc -l").stdout.strip()
    return int(out or 0)


def serving(name: str) -> tuple[str, str]:
    """(image, state) of a container, ('', '') when there is none."""
    proc = host_docker("inspect", "-f", "{{.Config.Image}} {{.State.Status}}", name, check=False)
    if proc.returncode != 0:
        return "", ""
    image, _, state = proc.stdout.strip().partition(" ")
    return image, state


def project_containers() -> list[str]:
    out = host_docker("ps", "-a", "--filter", "label=cutover.lab=true", "--filter", "label=cutover.project=mint",
                      "--format", "{{.Names}} {{.Image}} {{.State}}").stdout  # fmt: skip
    lab_apps = host_docker("ps", "-a", "--format", "{{.Names}} {{.Image}} {{.State}}").stdout
    names = {"mint-artwork", "mint-quote-page", "files-api", "order-intake", "quote-page"}
    rows = set(out.splitlines()) | {r for r in lab_apps.splitlines() if r.split(" ")[0].split("--")[0] in names}
    return sorted(rows)


def wait_for(predicate: Any, timeout: float, what: str, every: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except AssertionError:  # a command that fails while the thing is still coming up
            pass
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def variant(name: str, group_vars: dict[str, Any] | None = None, host_vars: dict[str, Any] | None = None) -> Path:
    """A copy of inventory/lab under .lab/ (so its relative paths still resolve) with overrides."""
    dest = REPO_ROOT / ".lab" / f"inv-{name}"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(REPO_ROOT / "inventory" / "lab", dest)
    if group_vars:
        (dest / "group_vars" / "docker_hosts" / "zz_fault.yml").write_text(json.dumps(group_vars))
    if host_vars:
        (dest / "host_vars").mkdir(exist_ok=True)
        (dest / "host_vars" / "docker-host.yml").write_text(json.dumps(host_vars))
    return dest


def out_of(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def wrapper_playbooks(wrapper: int) -> set[int]:
    """Pids of the ansible-playbook processes started by the wrapper process `wrapper`."""
    pids = set()
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        try:
            cmdline = (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "ansible-playbook" not in cmdline:
            continue
        pid = ancestor = int(proc_dir.name)
        while ancestor > 1:
            ancestor = _parent(ancestor)
            if ancestor == wrapper:
                pids.add(pid)
                break
    return pids


def alive(pids: set[int]) -> set[int]:
    """Those of `pids` that still run (a zombie counts as gone)."""
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            out.add(pid)
    return out


# ---------------------------------------------------------------------------------- state


@pytest.fixture(scope="module")
def old_lab(lab: Path) -> Path:
    make("lab-reset")
    return lab


@pytest.fixture(scope="module")
def before_data(old_lab: Path, psql: PsqlRunner, ssh: SshRunner) -> tuple[list[str], list[str]]:
    return data_snapshot(psql, ssh)


@pytest.fixture(scope="module")
def receipts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("receipts-faults")


@pytest.fixture(autouse=True)
def _cleanup_variants() -> Iterator[None]:
    yield
    for path in (REPO_ROOT / ".lab").glob("inv-*"):
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------------- cases


def test_an_unreachable_host_changes_nothing_and_overwrites_no_document(
    old_lab: Path, ssh: SshRunner, receipts: Path
) -> None:
    closeout = receipts / "closeout"
    closeout.mkdir(parents=True, exist_ok=True)
    sentinel = closeout / "LOOP-FAULTS.scope.md"
    sentinel.write_text("the loop record of an earlier run\n")
    audit_before = audit_lines(ssh)
    inv = variant("unreachable", host_vars={"ansible_port": 1})

    proc = cutover("run", "-i", str(inv), "--receipts-dir", str(receipts), "--loop-id", "LOOP-FAULTS")

    assert proc.returncode == 2, out_of(proc)[-3000:]
    assert "unreachable" in out_of(proc).lower() or "connection refused" in out_of(proc).lower(), out_of(proc)[-3000:]
    assert sentinel.read_text() == "the loop record of an earlier run\n"
    assert not (closeout / "LOOP-FAULTS.changepack.md").exists()
    assert audit_lines(ssh) == audit_before
    assert not lock_held(ssh)


def test_a_changed_host_key_is_refused(old_lab: Path, ssh: SshRunner, tmp_path: Path) -> None:
    known = REPO_ROOT / ".lab" / "ssh" / "known_hosts"
    other_key = tmp_path / "impostor"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)])
    pub = (other_key.with_suffix(".pub")).read_text().split()
    tampered = tmp_path / "known_hosts"
    tampered.write_text(f"{HOST_ADDR} {pub[0]} {pub[1]}\n")
    assert known.read_text() != tampered.read_text()
    common = (
        f"-o UserKnownHostsFile={tampered} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
    )
    inv = variant("impostor", host_vars={"ansible_ssh_common_args": common})
    audit_before = audit_lines(ssh)
    # An impostor is a new connection: close the SSH masters that earlier runs keep open for
    # ControlPersist (those were authenticated against the real host key).
    for sock in (Path.home() / ".ansible" / "cp").glob("*"):
        subprocess.run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "lab"], capture_output=True, check=False)

    status = cutover("status", "-i", str(inv))
    baseline = cutover("run", "-i", str(inv), "--phase", "baseline", "--receipts-dir", str(tmp_path / "r"))

    for proc in (status, baseline):
        assert proc.returncode != 0, out_of(proc)[-2000:]
        text = out_of(proc)
        assert "host key" in text.lower() or "REMOTE HOST IDENTIFICATION HAS CHANGED" in text, text[-3000:]
    assert baseline.returncode == 2
    assert audit_lines(ssh) == audit_before


def test_free_disk_below_the_threshold_is_refused_at_baseline(old_lab: Path, ssh: SshRunner, tmp_path: Path) -> None:
    inv = variant("disk", group_vars={"cutover_min_free_disk_mb": 100_000_000})

    proc = cutover("run", "-i", str(inv), "--receipts-dir", str(tmp_path / "r"))

    assert proc.returncode == 2, out_of(proc)[-3000:]
    assert "below cutover_min_free_disk_mb=100000000" in out_of(proc)
    assert not lock_held(ssh)
    assert "build" not in [p.name.split("__")[1] for p in (tmp_path / "r").glob("CAP-*")][2:]


def test_a_stale_lock_is_reported_then_cleared_through_the_cli(
    old_lab: Path, ssh: SshRunner, tmp_path: Path
) -> None:
    before = project_containers()
    since = int(time.time()) - 3 * 3600
    owner = {"run_id": DEAD_RUN, "user": "ops", "controller": "old-laptop", "ref": "release-new",
             "since": "2026-11-30T00:00:00Z", "since_epoch": since}  # fmt: skip
    ssh(f"mkdir -p {ROOT}/lock && echo '{json.dumps(owner)}' > {ROOT}/lock/owner.json")

    baseline = cutover("run", "--phase", "baseline", "--receipts-dir", str(tmp_path / "r"))

    assert baseline.returncode == 2, out_of(baseline)[-3000:]
    text = out_of(baseline)
    assert f"run {DEAD_RUN}" in text and "STALE" in text, text[-3000:]
    assert f"cutover rollback --run-id {DEAD_RUN}" in text, text[-3000:]
    assert lock_held(ssh), "a stale lock is reported, never broken silently"

    recover = cutover("rollback", "--run-id", DEAD_RUN, "--receipts-dir", str(tmp_path / "r"))

    assert recover.returncode == 0, out_of(recover)[-3000:]
    assert not lock_held(ssh)
    assert project_containers() == before, "a lock with nothing in progress: nothing to undo"


def test_two_runs_at_once_one_builds_the_other_changes_nothing(
    old_lab: Path, ssh: SshRunner, tmp_path: Path
) -> None:
    before = project_containers()
    procs = [
        subprocess.Popen([cutover_bin(), "run", "--phase", "build", "--ref", "release-new", "--receipts-dir",
                          str(tmp_path / f"r{i}"), "--plain"], cwd=REPO_ROOT, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        for i in range(2)
    ]
    results = [(p.wait(timeout=900), p.stdout.read() if p.stdout else "") for p in procs]

    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], [(c, o[-2500:]) for c, o in results]
    loser = next(o for c, o in results if c == 2)
    assert "deploy lock held by" in loser, loser[-3000:]
    assert "nothing" in loser.lower(), loser[-3000:]
    assert project_containers() == before, "the loser touched no container, the winner only built"
    assert not lock_held(ssh)


def test_postgres_down_during_migrate_then_a_rerun(
    old_lab: Path, ssh: SshRunner, psql: PsqlRunner, before_data: tuple[list[str], list[str]], tmp_path: Path,
    releases: dict[str, dict[str, str]],
) -> None:
    before = project_containers()
    host_docker("stop", "mint-postgres")
    try:
        failed = cutover("run", "--phase", "build", "--phase", "migrate", "--receipts-dir", str(tmp_path / "r1"))
    finally:
        host_docker("start", "mint-postgres")
    wait_for(lambda: psql("SELECT 1") == "1", 60, "Postgres to accept connections again")

    assert failed.returncode == 3, out_of(failed)[-3000:]
    assert "migrate failed" in out_of(failed), out_of(failed)[-3000:]
    assert project_containers() == before, "nothing was swapped: the old release still runs"
    assert not lock_held(ssh)
    assert host_state(ssh).get("in_progress") is None
    assert data_snapshot(psql, ssh) == before_data

    again = cutover("run", "--phase", "build", "--phase", "migrate", "--receipts-dir", str(tmp_path / "r2"))

    assert again.returncode == 0, out_of(again)[-3000:]
    ledger = psql("SELECT version FROM schema_migrations ORDER BY version").splitlines()
    assert ledger == ["20260212_seed_metadata"]
    assert data_snapshot(psql, ssh) == before_data
    assert project_containers() == before


def test_the_docker_host_restarted_during_build(
    old_lab: Path, ssh: SshRunner, tmp_path: Path, releases: dict[str, dict[str, str]]
) -> None:
    broken = releases["broken"]["sha"]
    # a release that is neither shipped nor built, so the build takes long enough to be hit
    ssh(f"rm -rf {ROOT}/releases/{broken}")
    for image in ("artwork", "order-intake", "quote-page"):
        host_docker("rmi", "-f", f"mint-modules/{image}:{broken}", check=False)
    before = project_containers()
    log = tmp_path / "build-run.log"
    with log.open("w") as out:  # a file, not a pipe: a full pipe would stall the run before the fault
        proc = subprocess.Popen([cutover_bin(), "run", "--phase", "build", "--ref", "release-broken",
                                 "--receipts-dir", str(tmp_path / "r1"), "--plain"], cwd=REPO_ROOT, text=True,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip

    def shipping() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"the build ended (exit {proc.returncode}) before it was hit: {log.read_text()[-3000:]}")
        return (host_state(ssh).get("in_progress") or {}).get("target") == broken

    wait_for(shipping, 300, "the build to record its change and start shipping the release")
    host_docker("restart", "-t", "1", "lab-docker-host")
    code = proc.wait(timeout=900)
    output = log.read_text()
    wait_for(lambda: ssh("true", check=False).returncode == 0, 60, "sshd on the docker host")

    # A restart that hits a task fails the build, and the rollback leaves nothing half-done; a
    # restart between two tasks is survived (SSH connects again) and the build completes. Either
    # way the host is consistent and the lock is free.
    if code == 0:
        assert ssh(f"test -e {ROOT}/releases/{broken}/.complete", check=False).returncode == 0, output[-3000:]
        assert (host_state(ssh).get("in_progress") or {}).get("target") == broken, output[-3000:]
    else:
        assert code in (2, 3), output[-3000:]
        assert "build failed" in output, output[-3000:]
    assert project_containers() == before
    assert not lock_held(ssh), output[-3000:]

    again = cutover("run", "--phase", "build", "--ref", "release-broken", "--receipts-dir", str(tmp_path / "r2"))

    assert again.returncode == 0, out_of(again)[-3000:]
    assert ssh(f"test -e {ROOT}/releases/{broken}/.complete", check=False).returncode == 0
    assert host_docker("image", "inspect", f"mint-modules/artwork:{broken}", check=False).returncode == 0


def test_a_killed_controller_during_swap_recovers_through_the_cli(
    old_lab: Path, ssh: SshRunner, psql: PsqlRunner, before_data: tuple[list[str], list[str]], tmp_path: Path,
    releases: dict[str, dict[str, str]],
) -> None:
    old = releases["old"]["sha"]
    before_image, _ = serving("mint-artwork")
    assert before_image.endswith(f":{old}")
    log = tmp_path / "killed-run.log"
    with log.open("w") as out:
        proc = subprocess.Popen([cutover_bin(), "run", "--ref", "release-broken", "--receipts-dir",
                                 str(tmp_path / "r1"), "--plain"], cwd=REPO_ROOT, text=True,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip

    def swapping() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"the run ended (exit {proc.returncode}) before the swap: {log.read_text()[-3000:]}")
        swapped = (host_state(ssh).get("in_progress") or {}).get("swapped") or {}
        return "files-api" in swapped

    try:
        wait_for(swapping, 600, "the swap of files-api to begin", every=1.0)
        playbooks = wrapper_playbooks(proc.pid)
        assert playbooks, "the swap runs in an ansible-playbook started by the wrapper"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    wait_for(lambda: not alive(playbooks), 15, "the killed run's ansible-playbook to end")
    run_id = str(host_state(ssh)["in_progress"]["run_id"])

    baseline = cutover("run", "--phase", "baseline", "--receipts-dir", str(tmp_path / "r2"))

    assert baseline.returncode == 2, out_of(baseline)[-3000:]
    text = out_of(baseline)
    assert "half-swapped" in text and f"cutover rollback --run-id {run_id}" in text, text[-3000:]

    recover = cutover("rollback", "--run-id", run_id, "--receipts-dir", str(tmp_path / "r2"))

    assert recover.returncode == 0, out_of(recover)[-3000:]
    code, body = health(3500)
    assert code == 200 and body.get("status") == "ok", body
    image, state = serving("mint-artwork")
    assert image.endswith(f":{old}") and state == "running"
    assert not lock_held(ssh)
    assert host_state(ssh).get("in_progress") is None
    assert data_snapshot(psql, ssh) == before_data
    # the killed run never stopped its downtime prober on the host: the rollback did
    assert ssh(f"pgrep -af 'runs/{run_id}/prober/downtime_prober[.]py' || true").stdout.strip() == ""
    assert ssh(f"ls -d {ROOT}/runs/{run_id}/prober 2>/dev/null || true").stdout.strip() == ""


def test_a_smoke_check_failing_after_the_swap_rolls_back_with_exit_3(
    old_lab: Path, ssh: SshRunner, psql: PsqlRunner, before_data: tuple[list[str], list[str]], tmp_path: Path,
    releases: dict[str, dict[str, str]],
) -> None:
    old = releases["old"]["sha"]
    checks = json.loads(run([str(REPO_ROOT / ".venv" / "bin" / "ansible-inventory"), "--host", "docker-host"]).stdout)[
        "cutover_smoke_checks"
    ]
    checks.append({"name": "quote page names the new product line", "method": "GET",
                   "url": "http://127.0.0.1:3341/health", "status": 200, "json": {"status": "never-this"}})  # fmt: skip
    inv = variant("smokefail", group_vars={"cutover_smoke_checks": checks})

    proc = cutover("run", "-i", str(inv), "--ref", "release-new", "--phase", "build", "--phase", "migrate",
                   "--phase", "swap", "--phase", "verify", "--receipts-dir", str(tmp_path / "r"))  # fmt: skip

    assert proc.returncode == 3, out_of(proc)[-4000:]
    assert "quote page names the new product line" in out_of(proc)
    image, state = serving("mint-artwork")
    assert image.endswith(f":{old}") and state == "running"
    assert serving("order-intake") == ("", ""), "a service new in the failed release is removed"
    code, body = health(3500)
    assert code == 200 and body.get("status") == "ok", body
    assert not lock_held(ssh)
    rows, objects = data_snapshot(psql, ssh)
    # every row and object is still there; the only new ones are what the smoke suite wrote
    assert set(before_data[0]) <= set(rows) and set(before_data[1]) <= set(objects)
    assert all("cutover smoke seed" in r for r in set(rows) - set(before_data[0])), rows


def test_a_two_line_secret_is_refused_naming_the_key_not_its_value(
    old_lab: Path, ssh: SshRunner, tmp_path: Path
) -> None:
    before = project_containers()
    env_file = "/etc/mint-modules/mint.env"
    ssh(f"cp -p {env_file} {env_file}.fault-backup")
    try:
        ssh(f"printf '%s\\n' 'EXTRA_TOKEN=\"first-line-of-a-secret' 'second-line-of-it\"' >> {env_file}")

        proc = cutover("run", "--phase", "baseline", "--phase", "prep", "--receipts-dir", str(tmp_path / "r"))
    finally:
        ssh(f"mv {env_file}.fault-backup {env_file}")

    text = out_of(proc)
    assert proc.returncode == 2, text[-3000:]
    assert "EXTRA_TOKEN" in text, text[-3000:]
    assert "first-line-of-a-secret" not in text and "second-line-of-it" not in text
    for path in (tmp_path / "r").rglob("*"):
        if path.is_file():
            data = path.read_text(errors="replace")
            assert "first-line-of-a-secret" not in data and "second-line-of-it" not in data, path
    assert project_containers() == before
    assert not lock_held(ssh)
