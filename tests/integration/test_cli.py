"""`cutover` through its console script on the real lab: a good run, a broken run with its
rollback, the receipts chain, and no lab secret in anything the wrapper writes or prints.

The good run starts from `make lab-reset` (old release), the broken one from where the good
run ended. The `lab` fixture holds the shared lab lock for the session.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cutover import contract

from tests.conftest import REPO_ROOT, SshRunner, controller_answers, health, host_docker, make

pytestmark = pytest.mark.integration

ID_RE = re.compile(r"^CAP-[0-9]{8}-[0-9]{6}__cutover\.[a-z]+__R[a-z0-9]+$")
PHASES = [
    "baseline",
    "prep",
    "build",
    "migrate",
    "swap",
    "verify",
    "recert",
    "closeout",
]
CHANGEPACK_HEADINGS = [
    "Change Description", "IP Map", "Rollback Map", "Pre-Cutover Verification Matrix", "Cutover Sequence",
    "LAN-Only Devices", "Post-Cutover Verification Matrix", "Sign-Off", "Image Digests", "Database Migration",
]  # fmt: skip
SECRET_KEYS = ("DATABASE_URL", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "FILES_API_KEY", "ORDER_INTAKE_API_KEY",
               "POSTGRES_PASSWORD")  # fmt: skip


def cutover_bin() -> str:
    local = Path(sys.executable).parent / "cutover"
    return (
        str(local) if local.exists() else str(REPO_ROOT / ".venv" / "bin" / "cutover")
    )


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str
    receipts: Path

    def docs(self) -> list[dict[str, Any]]:
        rows = (self.receipts / "ledger.csv").read_text().splitlines()[1:]
        return [
            json.loads((self.receipts / r.split(",")[0] / "receipt.json").read_text())
            for r in rows
        ]


def cutover(
    *args: str, env: dict[str, str] | None = None, timeout: float = 1800
) -> subprocess.CompletedProcess[str]:
    full_env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ORDER_INTAKE_API_KEY", "FILES_API_KEY")
    }
    full_env.pop("CUTOVER_HOME", None)
    full_env |= env or {}
    return subprocess.run([cutover_bin(), *args], cwd=REPO_ROOT, env=full_env, text=True, capture_output=True,
                          stdin=subprocess.DEVNULL,
                          timeout=timeout, check=False)  # fmt: skip


def assert_no_secret(folder: Path, printed: str, secrets: dict[str, str]) -> None:
    """No secret in what was printed or written: raw, JSON-escaped (once or twice) or quoted."""
    forms: dict[str, set[str]] = {}
    for key in SECRET_KEYS:
        value = secrets.get(key)
        if value:
            once = json.dumps(value)[1:-1]
            forms[key] = {value, once, json.dumps(once)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    assert forms, "the lab has no secrets to look for"
    for key, values in forms.items():
        assert not any(v in printed for v in values), f"a form of {key} was printed"
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_text(encoding="utf-8", errors="replace")
            for key, values in forms.items():
                assert not any(v in data for v in values), f"a form of the value of {key} found in {path}"


@pytest.fixture(scope="module")
def good_run(
    lab: Path, lab_secrets: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> CliRun:
    make("lab-reset")
    receipts = tmp_path_factory.mktemp("receipts-good")
    # No API key in the controller's environment (cutover() strips them): the keyed smoke
    # checks read them on the host, from the env file the services read.
    proc = cutover("run", "--receipts-dir", str(receipts), "--loop-id", "LOOP-MINT-CUTOVER-IT-GOOD")
    return CliRun(proc.returncode, proc.stdout, proc.stderr, receipts)


@pytest.fixture(scope="module")
def broken_run(good_run: CliRun, releases: dict[str, dict[str, str]],
               tmp_path_factory: pytest.TempPathFactory) -> CliRun:  # fmt: skip
    # From where the good run left the host (the new release): a broken release rolls back
    # to whatever served before it, so this needs no reset of its own.
    receipts = tmp_path_factory.mktemp("receipts-broken")
    proc = cutover(
        "run", "--ref", releases["broken"]["tag"], "--receipts-dir", str(receipts)
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr, receipts)


def test_a_good_run_exits_0_with_one_receipt_per_phase(
    good_run: CliRun, releases: dict[str, dict[str, str]]
) -> None:
    assert good_run.code == 0, good_run.stdout[-4000:] + good_run.stderr[-2000:]
    docs = good_run.docs()
    assert [d["phase"] for d in docs] == PHASES
    assert all(ID_RE.match(d["id"]) for d in docs)
    assert all(d["status"] == "done" for d in docs)
    new = releases["new"]["sha"]
    assert docs[1]["result"]["release"] == new
    for port in (3500, 3400, 3341):
        code, body = health(port)
        assert code == 200 and body["status"] == "ok", (port, body)
    verify = docs[PHASES.index("verify")]
    assert verify["smoke"]["summary"] == "8 passed", verify["smoke"]
    # every payload of a real run has the one contract's shape (python_wrapper/cutover/contract.py)
    assert contract.check_receipts_dir(good_run.receipts) == []


def test_the_controller_cannot_reach_the_services_the_gates_passed_on(good_run: CliRun) -> None:
    """Every probe ran on the host: the services publish on the host's loopback, not ours."""
    assert good_run.code == 0
    for port in (3500, 3400, 3341):
        assert not controller_answers(port), f"something answers on the controller's 127.0.0.1:{port}"
        code, _ = health(port)
        assert code == 200, port


def test_the_cutover_ran_as_a_normal_user_with_become(good_run: CliRun, ssh: SshRunner) -> None:
    """As on a real server: SSH as `deploy` (not root), root only through sudo (become)."""
    assert good_run.code == 0
    hostvars = json.loads(
        subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "ansible-inventory"), "--host", "docker-host"],
                       cwd=REPO_ROOT, capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL).stdout
    )  # fmt: skip
    assert hostvars["ansible_user"] == "deploy" and hostvars["ansible_become"] is True
    assert ssh("id -un", root=False).stdout.strip() == "deploy"
    # what the run wrote on the host is root's, written through sudo
    owners = ssh("stat -c '%U' /opt/cutover/mint/state.json /opt/cutover/mint/audit.log").stdout.split()
    assert owners == ["root", "root"]


def test_verify_passes_then_catches_a_one_byte_edit(
    good_run: CliRun, tmp_path: Path
) -> None:
    ok = cutover("receipts", "verify", "--receipts-dir", str(good_run.receipts))
    assert ok.returncode == 0, ok.stdout
    # edit a copy, so that the other tests keep the intact trail
    import shutil

    copy = tmp_path / "receipts"
    shutil.copytree(good_run.receipts, copy)
    target_id = good_run.docs()[3]["id"]
    out = copy / target_id / "output.txt"
    data = bytearray(out.read_bytes())
    data[-2] = data[-2] ^ 0x20 if data[-2] != 0x0A else 0x41
    out.write_bytes(bytes(data))
    broken = cutover("receipts", "verify", "--receipts-dir", str(copy))
    assert broken.returncode != 0
    assert f"first problem at {target_id} (output.txt)" in broken.stdout


def test_the_closeout_documents_have_every_heading(
    good_run: CliRun, tmp_path: Path
) -> None:
    proc = cutover("closeout", "--loop-id", "LOOP-MINT-CUTOVER-IT-GOOD", "--receipts-dir", str(good_run.receipts),
                   "--out", str(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    pack = (tmp_path / "LOOP-MINT-CUTOVER-IT-GOOD.changepack.md").read_text()
    assert re.findall(r"^## (.+)$", pack, flags=re.MULTILINE) == CHANGEPACK_HEADINGS
    scope = (tmp_path / "LOOP-MINT-CUTOVER-IT-GOOD.scope.md").read_text()
    for heading in ("## Objective", "## Phases", "## Done Definition", "## Baseline Receipts", "## Closeout",
                    "### Outcome", "### Execution Summary", "### Post-Cutover State", "### Recert Receipts",
                    "### Final Commit Hashes"):  # fmt: skip
        assert heading in scope
    assert "**SUCCEEDED**" in scope


def test_a_good_run_leaks_no_secret(
    good_run: CliRun, lab_secrets: dict[str, str]
) -> None:
    assert_no_secret(good_run.receipts, good_run.stdout + good_run.stderr, lab_secrets)


def test_a_run_that_changes_nothing_leaves_the_good_release_alone(
    good_run: CliRun, releases: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    """After a good cutover, a build of a ref that does not exist must not move the host back."""
    assert good_run.code == 0
    new = releases["new"]["sha"]

    proc = cutover("run", "--phase", "build", "--ref", "no-such-tag", "--receipts-dir", str(tmp_path))

    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "nothing on the host was changed by this run" in proc.stdout + proc.stderr
    for name in ("files-api", "order-intake", "quote-page"):
        image = host_docker("inspect", "-f", "{{.Config.Image}} {{.State.Status}}", name, check=False).stdout.strip()
        assert image.endswith(f":{new} running"), (name, image)
    code, body = health(3400)
    assert code == 200 and body["status"] == "ok"
    status = cutover("status")
    assert "lock:      free" in status.stdout, status.stdout


def test_a_broken_release_rolls_back_and_exits_3(
    broken_run: CliRun, releases: dict[str, dict[str, str]]
) -> None:
    assert broken_run.code == 3, broken_run.stdout[-4000:] + broken_run.stderr[-2000:]
    docs = broken_run.docs()
    phases = [d["phase"] for d in docs]
    assert "rollback" in phases
    rollback = docs[phases.index("rollback")]
    assert rollback["capability"] == "cutover.rollback"
    assert rollback["status"] == "done"
    assert rollback["result"].get("outcome") == "rolled_back"
    assert phases[-2:] == ["recert", "closeout"]
    assert all(ID_RE.match(d["id"]) for d in docs)
    failed = [d for d in docs if d["status"] == "failed"]
    assert (
        failed
        and failed[0]["phase"] in ("swap", "verify")
        and failed[0]["failed_tasks"]
    )
    code, body = health(3500)
    assert code == 200 and body["status"] == "ok"
    scope = next((broken_run.receipts / "closeout").glob("*.scope.md")).read_text()
    assert "**ROLLED BACK**" in scope
    assert contract.check_receipts_dir(broken_run.receipts) == []
    assert (
        cutover(
            "receipts", "verify", "--receipts-dir", str(broken_run.receipts)
        ).returncode
        == 0
    )


def test_a_broken_run_leaks_no_secret(
    broken_run: CliRun, lab_secrets: dict[str, str]
) -> None:
    assert_no_secret(
        broken_run.receipts, broken_run.stdout + broken_run.stderr, lab_secrets
    )


def test_status_reads_the_host(broken_run: CliRun, lab_secrets: dict[str, str]) -> None:
    proc = cutover("status")
    assert proc.returncode == 0, proc.stderr
    assert "files-api" in proc.stdout and "lock:      free" in proc.stdout
    for key in SECRET_KEYS:
        if lab_secrets.get(key):
            assert lab_secrets[key] not in proc.stdout
