"""The lab, end to end, against the real engine, SSH, Postgres and object store.

Order matters inside this file: the first test takes the lab down and brings it up from
nothing (leaving it up for every later test), the reset test runs last.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PsqlRunner, SshRunner, make, run

pytestmark = pytest.mark.integration

# service -> (port, health body when every dependency is ok) per SPEC
OLD_SERVICES = {
    "files-api": (3500, {"status": "ok", "db": "ok", "minio": "ok"}),
    "quote-page": (3341, {"status": "ok", "minio": "ok", "files_api": "ok"}),
}
SEED_IDS = [1, 2, 3, 4, 5]
# The bucket is read inside the object store's container with the credentials Docker gave it,
# so no shell sources the env file (a shell reads `$`, quotes and `\` unlike Docker).
LIST_OBJECTS = [
    "docker", "exec", "mint-minio", "python3", "-c",
    "import boto3, json, os\n"
    's3 = boto3.client("s3", endpoint_url="http://127.0.0.1:9000", region_name="us-east-1",'
    ' aws_access_key_id=os.environ["MINIO_ACCESS_KEY"], aws_secret_access_key=os.environ["MINIO_SECRET_KEY"])\n'
    'r = s3.list_objects_v2(Bucket=os.environ["BUCKET"])\n'
    'print(json.dumps(sorted(o["Key"] for o in r.get("Contents", []))))',
]  # fmt: skip
PUT_OBJECT = [
    "docker", "exec", "mint-minio", "python3", "-c",
    "import boto3, os\n"
    's3 = boto3.client("s3", endpoint_url="http://127.0.0.1:9000", region_name="us-east-1",'
    ' aws_access_key_id=os.environ["MINIO_ACCESS_KEY"], aws_secret_access_key=os.environ["MINIO_SECRET_KEY"])\n'
    's3.put_object(Bucket=os.environ["BUCKET"], Key="seeds/99.json", Body=b"{}")',
]  # fmt: skip


def lab_resources() -> list[str]:
    """Every container, network and volume labelled cutover.lab=true or cutover.project=mint.

    Only this lab's project: other projects' containers (and molecule's) on the same engine are
    not the lab's and must survive lab-down/lab-reset.
    """
    found: list[str] = []
    for kind in ("container", "network", "volume"):
        for label in ("cutover.lab=true", "cutover.project=mint"):
            cmd = ["docker", kind, "ls", "-q", "--filter", f"label={label}"]
            if kind == "container":
                cmd.insert(3, "-a")
            found += [f"{kind}:{x}" for x in run(cmd).stdout.split()]
    return found


def get_health(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_lab_down_then_up_from_nothing(lab_lock: None, repo_root: Path) -> None:
    make("lab-down")
    assert lab_resources() == [], "lab-down left labelled containers/networks/volumes behind"
    assert not (repo_root / ".lab" / "secrets.env").exists()
    assert not (repo_root / ".lab" / "ssh").exists()
    make("lab")
    names = run(["docker", "ps", "--filter", "label=cutover.lab=true", "--format", "{{.Names}}"]).stdout.split()
    assert sorted(names) == ["lab-docker-host", "mint-artwork", "mint-minio", "mint-postgres", "mint-quote-page"]


@pytest.mark.parametrize("service", list(OLD_SERVICES))
def test_health_ok_via_loopback(lab: Path, service: str) -> None:
    port, expected = OLD_SERVICES[service]
    status, body = get_health(port)
    assert (status, body) == (200, expected)


@pytest.mark.parametrize("service", list(OLD_SERVICES))
def test_health_ok_via_ssh_on_docker_host(ssh: SshRunner, service: str) -> None:
    port, expected = OLD_SERVICES[service]
    out = ssh(f"curl -s -w '\\n%{{http_code}}' http://127.0.0.1:{port}/health").stdout.strip().splitlines()
    assert out[-1] == "200"
    assert json.loads(out[0]) == expected


def test_ansible_pings_docker_host_over_ssh(lab: Path) -> None:
    proc = run([".venv/bin/ansible", "docker-host", "-m", "ansible.builtin.ping"])
    assert "docker-host | SUCCESS" in proc.stdout and "pong" in proc.stdout


def test_host_key_checking_rejects_unknown_host(lab: Path, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    proc = run(
        ["ssh", "-i", str(lab / "ssh" / "id_ed25519"), "-o", f"UserKnownHostsFile={empty}",
         "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-p", "2222", "root@127.0.0.1", "true"],
        check=False,
    )  # fmt: skip
    assert proc.returncode != 0 and "Host key verification failed" in proc.stderr


def test_env_files_are_private(lab: Path, lab_secrets: dict[str, str], ssh: SshRunner) -> None:
    assert (lab / "secrets.env").stat().st_mode & 0o777 == 0o600
    assert ssh("stat -c '%a %U' /etc/mint-modules/mint.env").stdout.split() == ["600", "root"]
    keys = ssh("cut -d= -f1 /etc/mint-modules/mint.env").stdout.split()
    for key in ("DATABASE_URL", "MINIO_ENDPOINT", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "MINIO_BUCKET",
                "FILES_API_URL", "FILES_API_KEY", "ORDER_INTAKE_API_KEY"):  # fmt: skip
        assert key in keys
        assert key in lab_secrets


def test_old_release_runs_the_old_way(lab: Path, releases: dict[str, dict[str, str]], ssh: SshRunner) -> None:
    old = releases["old"]["sha"]
    for container, module in (("mint-artwork", "artwork"), ("mint-quote-page", "quote-page")):
        image = run(["docker", "inspect", "-f", "{{.Config.Image}}", container]).stdout.strip()
        assert image == f"mint-modules/{module}:{old}"
    assert ssh("test -f /srv/mint-modules/artwork/Dockerfile && echo yes").stdout.strip() == "yes"


def test_seed_rows_and_objects_are_there(psql: PsqlRunner, ssh: SshRunner) -> None:
    assert psql("SELECT id FROM artwork_seeds ORDER BY id").split() == [str(i) for i in SEED_IDS]
    columns = psql("SELECT column_name FROM information_schema.columns WHERE table_name = 'artwork_seeds'")
    assert "metadata" not in columns.split()
    keys = json.loads(run(LIST_OBJECTS).stdout)
    assert keys == sorted(f"seeds/{i}.json" for i in SEED_IDS)


def test_second_lab_run_changes_nothing(lab: Path) -> None:
    proc = run([".venv/bin/ansible-playbook", "playbooks/lab.yml"])
    recap = proc.stdout[proc.stdout.rindex("PLAY RECAP"):]
    assert recap.count("changed=0") == 2 and "failed=0" in recap, recap


def test_lab_reset_restores_old_release_and_data(lab: Path, psql: PsqlRunner, ssh: SshRunner) -> None:
    # Alter the data, leave cutover leftovers behind.
    psql("DELETE FROM artwork_seeds WHERE id = 2; ALTER TABLE artwork_seeds ADD COLUMN metadata jsonb")
    run(PUT_OBJECT)
    ssh("mkdir -p /opt/cutover/mint/lock && echo '{}' > /opt/cutover/mint/lock/owner.json")
    run(["docker", "run", "-d", "--name", "files-api--leftover", "--label", "cutover.project=mint",
         "cutover-lab/base:bookworm", "sleep", "600"])  # fmt: skip
    # Another project's kept container on the same engine: not the lab's, must survive.
    run(["docker", "create", "--name", "files-api--otherproject", "--label", "cutover.project=otherproject",
         "cutover-lab/base:bookworm", "sleep", "600"])  # fmt: skip
    try:
        make("lab-reset")
        other = run(["docker", "ps", "-aq", "--filter", "name=^files-api--otherproject$"]).stdout.split()
    finally:
        for name in ("files-api--leftover", "files-api--otherproject"):
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    assert other != [], "lab-reset removed another project's container"

    assert psql("SELECT id FROM artwork_seeds ORDER BY id").split() == [str(i) for i in SEED_IDS]
    assert "metadata" not in psql(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'artwork_seeds'"
    ).split()
    assert json.loads(run(LIST_OBJECTS).stdout) == sorted(f"seeds/{i}.json" for i in SEED_IDS)
    assert ssh("test -e /opt/cutover && echo present || echo absent").stdout.strip() == "absent"
    assert run(["docker", "ps", "-aq", "--filter", "label=cutover.project=mint"]).stdout.split() == []
    for port, expected in OLD_SERVICES.values():
        assert get_health(port) == (200, expected)
