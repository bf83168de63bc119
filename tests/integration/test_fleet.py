"""A fleet (issue 12): a rolling cutover of inventory/lab-fleet, lab hosts 2, 3 and 4.

fleet-h2 holds Postgres and the object store and is the canary; fleet-h3 and fleet-h4 run the
stateless services against fleet-h2's database over the hosts' network. Every look at a host
goes over SSH, as the package's own (the services' ports are published on each host's
loopback only). The fleet has its own lock (/tmp/cutover-lab-fleet.lock, or the caller holds
it: CUTOVER_FLEET_LOCKED=1) and never touches lab host 1 or its lock.

One lab for the module; every test starts from the old release on every host (a test that
ends elsewhere is put back by the next one's fixture with the package's own rollback), and the
only fault is a port taken on one host, released when the test ends. The three tests run in
an order that needs no reset between them: the two failures end on the old release.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest

from tests.conftest import fleet_lab_up, ssh_args

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
LAB_DIR = REPO_ROOT / ".lab-fleet"  # the fleet lab's own files (inventory/lab-fleet)
INVENTORY = "inventory/lab-fleet"
FLEET_LOCK = os.environ.get("CUTOVER_FLEET_LOCK", "/tmp/cutover-lab-fleet.lock")
HOSTS = {"fleet-h2": 2, "fleet-h3": 3, "fleet-h4": 4}  # rollout order: fleet-h2 is the canary
ROOT_ON_HOST = "/opt/cutover/mint"
INTAKE_PORT = 3400  # order-intake: new in release-new, so a taken port fails only its start


def run(args: list[str], *, check: bool = True, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        args, cwd=REPO_ROOT, text=True, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{shlex.join(args)} exited {proc.returncode}\n"
            f"--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-3000:]}"
        )
    return proc


def ssh(host: str, cmd: str, *, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """A root shell command on a fleet host over real SSH (deploy + passwordless sudo)."""
    args = [*ssh_args(index=HOSTS[host], lab_dir=LAB_DIR), f"sudo -n sh -c {shlex.quote(cmd)}"]
    return run(args, check=check, timeout=timeout)


def running(host: str) -> dict[str, str]:
    """Running containers of the workload on the host: name -> image."""
    out = ssh(host, "docker ps --format '{{.Names}} {{.Image}}'").stdout
    pairs = (line.split(" ", 1) for line in out.splitlines() if " " in line)
    return {name: image for name, image in pairs if image.startswith("mint-modules/")}


def health(host: str, port: int) -> tuple[int, dict[str, Any]]:
    proc = ssh(host, f"curl -s -m 5 -w '\\n%{{http_code}}' http://127.0.0.1:{port}/health", check=False)
    body, _, code = proc.stdout.rpartition("\n")
    try:
        return int(code or -1), json.loads(body) if body.strip() else {}
    except ValueError:
        return int(code or -1) if code.isdigit() else -1, {}


def state(host: str) -> dict[str, Any]:
    out = ssh(host, f"cat {ROOT_ON_HOST}/state.json 2>/dev/null || echo '{{}}'").stdout
    return dict(json.loads(out))


def release_recorded(host: str) -> str | None:
    """The release state.json says serves; None before any cutover took the host over (a fresh
    lab's old release was deployed by the lab, and a host whose swap never finished keeps that)."""
    return (state(host).get("current") or {}).get("release")


def audit(host: str, run_id: str) -> list[dict[str, Any]]:
    out = ssh(host, f"cat {ROOT_ON_HOST}/audit.log 2>/dev/null || true").stdout
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [a for a in lines if a.get("run_id") == run_id]


def seed_rows() -> list[str]:
    """Every row of artwork_seeds, from the one database (on fleet-h2)."""
    sql = "SELECT id || '|' || name || '|' || object_key FROM artwork_seeds ORDER BY id"
    out = ssh("fleet-h2", f"docker exec mint-postgres psql -U mint -d mint -tAc {shlex.quote(sql)}").stdout
    return out.splitlines()


def sha(ref: str) -> str:
    return run(["git", "-C", str(LAB_DIR / "workload"), "rev-parse", "--short=7", f"{ref}^{{commit}}"]).stdout.strip()


def on_release(host: str, release: str) -> bool:
    images = running(host)
    return bool(images) and all(image.endswith(f":{release}") for image in images.values())


@contextmanager
def port_taken(host: str, port: int) -> Iterator[None]:
    """A listener on the host's 127.0.0.1:<port>: a new container that publishes it cannot start."""
    pid = ssh(
        host,
        f"setsid nohup python3 -m http.server {port} --bind 127.0.0.1 >/dev/null 2>&1 </dev/null & echo $!",
    ).stdout.strip()
    assert pid.isdigit(), pid
    try:
        for _ in range(50):
            if ssh(host, f"curl -s -o /dev/null -m 2 http://127.0.0.1:{port}/", check=False).returncode == 0:
                break
            time.sleep(0.1)
        yield
    finally:
        ssh(host, f"kill {pid}", check=False)


def cutover(receipts: Path, ref: str = "release-new") -> tuple[subprocess.CompletedProcess[str], str]:
    """`cutover run` of the whole fleet into ``receipts``; returns the process and the run id it printed."""
    args = [str(REPO_ROOT / ".venv/bin/cutover"), "run", "-i", INVENTORY, "--ref", ref, "--receipts-dir", str(receipts)]
    proc = run(args, check=False)
    first = proc.stdout.splitlines()[0] if proc.stdout else ""
    run_id = first.split()[2] if first.startswith("cutover run ") else ""
    return proc, run_id


def changepack(receipts: Path) -> str:
    """The run's change pack (closeout): its batch order and per-host table."""
    (doc,) = (receipts / "closeout").glob("*.changepack.md")
    return doc.read_text()


def explain(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-8000:]}\n--- stderr\n{proc.stderr[-3000:]}"


@pytest.fixture(scope="module")
def fleet() -> Iterator[dict[str, str]]:
    """The fleet lab up (once per module), under the fleet's own lock; the releases' SHAs."""
    handle: IO[str] | None = None
    if os.environ.get("CUTOVER_FLEET_LOCKED") != "1":
        handle = open(FLEET_LOCK, "a")  # noqa: SIM115 - held for the module
        fcntl.flock(handle, fcntl.LOCK_EX)
    try:
        if not fleet_lab_up():
            run(["make", "--no-print-directory", "lab", "LAB_HOSTS=3"], timeout=1800)
        yield {"old": sha("release-old"), "new": sha("release-new")}
    finally:
        if handle is not None:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def back_to_old(old: str) -> None:
    """The package's rollback on the hosts not on the old release only (a full rollback would
    move a host already on the old release to its previous one)."""
    elsewhere = [h for h in HOSTS if not on_release(h, old)]
    if elsewhere:
        playbook = str(REPO_ROOT / ".venv/bin/ansible-playbook")
        run([playbook, "-i", INVENTORY, "playbooks/rollback.yml", "--limit", ",".join(elsewhere)])


@pytest.fixture()
def on_old(fleet: dict[str, str]) -> dict[str, str]:
    """Every host on the old release: a host that is not goes back with the package's rollback."""
    back_to_old(fleet["old"])
    for host in HOSTS:
        assert on_release(host, fleet["old"]), f"{host}: {running(host)}"
    return fleet


def test_a_release_failing_on_the_canary_stops_the_rollout(on_old: dict[str, str], tmp_path: Path) -> None:
    old, new = on_old["old"], on_old["new"]
    with port_taken("fleet-h2", INTAKE_PORT):
        proc, run_id = cutover(tmp_path)
        images_h2 = running("fleet-h2")
    assert proc.returncode == 3, explain(proc)
    # The canary is back on the old release; the others never saw the new one.
    assert all(i.endswith(f":{old}") for i in images_h2.values()), images_h2
    assert "order-intake" not in images_h2
    for host in ("fleet-h3", "fleet-h4"):
        assert on_release(host, old), f"{host}: {running(host)}"
        phases = {a["phase"] for a in audit(host, run_id)}
        assert "swap" not in phases and "verify" not in phases, (host, phases)
        assert release_recorded(host) in (old, None)
    h2 = audit("fleet-h2", run_id)
    assert any(a["phase"] == "swap" for a in h2), f"{h2}\n{explain(proc)}"
    assert release_recorded("fleet-h2") in (old, None)  # None: its first cutover, undone
    for host in HOSTS:  # every host's lock released, nothing left in flight
        assert not state(host).get("in_progress"), host
        assert ssh(host, f"test -e {ROOT_ON_HOST}/lock", check=False).returncode != 0, host
    assert new not in json.dumps({h: running(h) for h in HOSTS})


def test_a_failure_in_the_second_batch_rolls_back_the_canary_too(on_old: dict[str, str], tmp_path: Path) -> None:
    old, new = on_old["old"], on_old["new"]
    rows_before = seed_rows()
    with port_taken("fleet-h3", INTAKE_PORT):
        proc, run_id = cutover(tmp_path)
    assert proc.returncode == 3, explain(proc)
    # The canary had committed the new release before the second batch failed.
    h2 = audit("fleet-h2", run_id)
    assert any(a["phase"] == "verify" and a["event"] == "committed" for a in h2), h2
    assert any(a["phase"] == "rollback" for a in h2), h2
    for host in HOSTS:
        assert on_release(host, old), f"{host}: {running(host)}"
        assert release_recorded(host) in ((old,) if host == "fleet-h2" else (old, None)), host
        assert not state(host).get("in_progress"), host
        code, body = health(host, 3500)
        assert code == 200 and body.get("status") == "ok", (host, code, body)
    # 0 rows lost: every row from before is still there (the canary's smoke may add its own).
    rows_after = seed_rows()
    assert set(rows_before) <= set(rows_after), sorted(set(rows_before) - set(rows_after))
    assert new not in json.dumps({h: running(h) for h in HOSTS})
    # The change pack says which batch failed where, and that the canary went back.
    doc = changepack(tmp_path)
    assert "canary first; on a failure: `rollback_all`" in doc, doc
    assert "- batch 1 (canary): fleet-h2 — passed" in doc, doc
    assert "- batch 2: fleet-h3, fleet-h4 — FAILED in swap on fleet-h3" in doc, doc
    h2_row = next(line for line in doc.splitlines() if line.startswith("| fleet-h2 |"))
    assert "committed, then rolled back" in h2_row, h2_row


def test_old_to_new_canary_first_then_the_rest(on_old: dict[str, str], tmp_path: Path) -> None:
    new = on_old["new"]
    proc, run_id = cutover(tmp_path)
    assert proc.returncode == 0, explain(proc)
    for host in HOSTS:
        assert on_release(host, new), f"{host}: {running(host)}"
        assert len(running(host)) == 3, running(host)  # the three services of the new release
        for port, field in ((3500, "db"), (3400, "artwork_api"), (3341, "files_api")):
            code, body = health(host, port)
            assert code == 200 and body.get(field) == "ok", (host, port, code, body)
        assert (state(host).get("current") or {}).get("release") == new, host
    # Canary first: fleet-h2 committed before either other host started its swap.
    committed = {h: next(a["ts"] for a in audit(h, run_id) if a["event"] == "committed") for h in HOSTS}
    swapped = {h: min(a["ts"] for a in audit(h, run_id) if a["phase"] == "swap") for h in HOSTS}
    assert committed["fleet-h2"] < swapped["fleet-h3"], (committed, swapped)
    assert committed["fleet-h2"] < swapped["fleet-h4"], (committed, swapped)
    # One record for the run: the batch order and a row per host on the new release.
    doc = changepack(tmp_path)
    assert "- batch 1 (canary): fleet-h2 — passed" in doc, doc
    assert "- batch 2: fleet-h3, fleet-h4 — passed" in doc, doc
    for host in HOSTS:
        row = next(line for line in doc.splitlines() if line.startswith(f"| {host} |"))
        assert f"→ {new}" in row and "committed" in row, row
