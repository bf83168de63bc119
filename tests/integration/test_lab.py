"""The lab, end to end: a docker host that is its own machine, reached over SSH only.

Host 1 is a network namespace with its own Docker engine (scripts/lab-host.sh); the controller
reaches it over SSH at 10.231.1.2 as `deploy` with sudo. Postgres, the object store and the old
release run on the host's engine and publish on the host's own loopback only.

Order matters inside this file: the first test takes the lab down and brings it up from
nothing (leaving it up for every later test), the reset test runs last.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from tests.conftest import (
    HOST_ADDR,
    HOST_DOCKER,
    HOST_INDEX,
    HOST_NETNS,
    HOST_SOCKET,
    PsqlRunner,
    SshRunner,
    make,
    run,
    ssh_args,
)

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
    *HOST_DOCKER, "exec", "mint-minio", "python3", "-c",
    "import boto3, json, os\n"
    's3 = boto3.client("s3", endpoint_url="http://127.0.0.1:9000", region_name="us-east-1",'
    ' aws_access_key_id=os.environ["MINIO_ACCESS_KEY"], aws_secret_access_key=os.environ["MINIO_SECRET_KEY"])\n'
    'r = s3.list_objects_v2(Bucket=os.environ["BUCKET"])\n'
    'print(json.dumps(sorted(o["Key"] for o in r.get("Contents", []))))',
]  # fmt: skip
PUT_OBJECT = [
    *HOST_DOCKER, "exec", "mint-minio", "python3", "-c",
    "import boto3, os\n"
    's3 = boto3.client("s3", endpoint_url="http://127.0.0.1:9000", region_name="us-east-1",'
    ' aws_access_key_id=os.environ["MINIO_ACCESS_KEY"], aws_secret_access_key=os.environ["MINIO_SECRET_KEY"])\n'
    's3.put_object(Bucket=os.environ["BUCKET"], Key="seeds/99.json", Body=b"{}")',
]  # fmt: skip
DATA_ROOT = Path(f"/var/lib/cutover-lab/h{HOST_INDEX}")
PIDFILE = Path(f"/run/cutover-lab/h{HOST_INDEX}.pid")
LAB_CONTAINERS = ["lab-docker-host", "mint-artwork", "mint-minio", "mint-postgres", "mint-quote-page"]


def engine_processes() -> dict[int, str]:
    """Lab host 1's dockerd, containerd and shims (their command lines name its socket or exec root)."""
    found: dict[int, str] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if HOST_SOCKET in cmdline or f"/run/cutover-lab/h{HOST_INDEX}/" in cmdline:
            found[int(pid)] = cmdline
    return found


def host_processes() -> set[int]:
    """Every process of lab host 1: its engine's and those of its containers (cgroup parent cutover-lab-h1)."""
    pids = set(engine_processes())
    for procs in Path("/sys/fs/cgroup").glob(f"*/cutover-lab-h{HOST_INDEX}/**/cgroup.procs"):
        pids.update(int(pid) for pid in procs.read_text().split())
    return pids


def power_cut() -> None:
    """What a machine restart does to lab host 1: every process of it dies at once; its namespace,
    data root and pid file stay."""
    for _ in range(50):
        pids = host_processes()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    raise AssertionError(f"lab host {HOST_INDEX} processes survived SIGKILL: {sorted(host_processes())}")


def lab_host_leftovers() -> list[str]:
    """Anything of lab host 1 on this machine: namespace, veth, engine process, socket, data root."""
    found: list[str] = []
    if HOST_NETNS in run(["ip", "netns", "list"]).stdout.split():
        found.append(f"netns {HOST_NETNS}")
    if run(["ip", "link", "show", f"cutlab-h{HOST_INDEX}"], check=False).returncode == 0:
        found.append(f"veth cutlab-h{HOST_INDEX}")
    for path in (DATA_ROOT, PIDFILE, Path(HOST_SOCKET), Path(f"/run/cutover-lab/h{HOST_INDEX}")):
        if path.exists():
            found.append(str(path))
    found += [f"process {pid}: {cmdline[:80]}" for pid, cmdline in engine_processes().items()]
    # Only host 1: the fleet lab (hosts 2-4, inventory/lab-fleet) may be up beside it.
    found += [f"lab host {i}" for i in run(["scripts/lab-host.sh", "list"]).stdout.split() if i == str(HOST_INDEX)]
    return found


def lab_containers() -> list[str]:
    """The names of the lab's own containers running on host 1, sorted."""
    out = run([*HOST_DOCKER, "ps", "--filter", "label=cutover.lab=true", "--format", "{{.Names}}"]).stdout
    return sorted(out.split())


def host_health(ssh: SshRunner, port: int) -> tuple[str, dict[str, str]]:
    """GET /health on the host's own loopback, over SSH (as deploy: no root needed)."""
    out = ssh(f"curl -s -w '\\n%{{http_code}}' http://127.0.0.1:{port}/health", root=False).stdout.strip().splitlines()
    return out[-1], json.loads(out[0]) if len(out) > 1 and out[0] else {}


def connect(addr: str, port: int) -> bool:
    try:
        with socket.create_connection((addr, port), timeout=3):
            return True
    except OSError:
        return False


def test_lab_down_then_up_from_nothing(lab_lock: None, repo_root: Path) -> None:
    make("lab-down")
    assert lab_host_leftovers() == [], "lab-down left parts of the lab host behind"
    assert not (repo_root / ".lab" / "secrets.env").exists()
    assert not (repo_root / ".lab" / "ssh").exists()
    make("lab-down")  # nothing there: still fine
    make("lab")
    assert lab_containers() == LAB_CONTAINERS


def test_a_lab_whose_machine_restarted_comes_back_clean(lab_lock: None) -> None:
    """The engine and every container die with the machine; the data root would bring the old
    containers back holding their ports. `make lab` clears the dead host and builds it again."""
    power_cut()
    assert PIDFILE.exists() and (DATA_ROOT / "docker").is_dir(), "the power cut should leave the data behind"
    out = make("lab").stdout
    assert f"cutover-lab-h{HOST_INDEX}: its engine is gone but its data is not" in out
    assert lab_containers() == LAB_CONTAINERS


def test_lab_host_is_its_own_machine(lab: Path) -> None:
    """Its own namespace, engine (pid file, socket, data root) and the docker-host in its host network."""
    assert HOST_NETNS in run(["ip", "netns", "list"]).stdout.split()
    info = run([*HOST_DOCKER, "info", "--format", "{{.DockerRootDir}} {{.Driver}}"]).stdout.split()
    assert info == [str(DATA_ROOT / "docker"), "overlay2"]
    pid = PIDFILE.read_text().strip()
    assert os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net")
    mode = run([*HOST_DOCKER, "inspect", "-f", "{{.HostConfig.NetworkMode}}", "lab-docker-host"]).stdout.strip()
    assert mode == "host"


@pytest.mark.parametrize("service", list(OLD_SERVICES))
def test_health_ok_via_ssh_on_docker_host(ssh: SshRunner, service: str) -> None:
    port, expected = OLD_SERVICES[service]
    assert host_health(ssh, port) == ("200", expected)


@pytest.mark.parametrize("service", list(OLD_SERVICES))
def test_controller_cannot_reach_the_services(lab: Path, service: str) -> None:
    """The services publish on the host's loopback: the controller reaches them neither at the
    host's address nor on its own loopback (only SSH goes through)."""
    port, _ = OLD_SERVICES[service]
    assert connect(HOST_ADDR, 22)
    assert not connect(HOST_ADDR, port)
    # On this machine's loopback: nothing, or (on a shared machine) another engine's container,
    # never a process of the lab host's engine.
    engine_pid = PIDFILE.read_text().strip()
    listeners = run(["ss", "-Htlnp", f"sport = :{port}"]).stdout
    for pid in {p.split("=")[1] for p in listeners.replace(",", " ").split() if p.startswith("pid=")}:
        ppid = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
        assert ppid != engine_pid, f"the lab host's engine publishes :{port} on the controller"
    if not listeners.strip():
        proc = run(["curl", "-s", "-m", "3", f"http://127.0.0.1:{port}/health"], check=False)
        assert proc.returncode != 0 and proc.stdout == "", "the controller's loopback answered"


def test_ansible_reaches_the_host_as_deploy_with_become(lab: Path) -> None:
    proc = run([".venv/bin/ansible", "docker-host", "-m", "ansible.builtin.ping"])
    assert "docker-host | SUCCESS" in proc.stdout and "pong" in proc.stdout
    become = run([".venv/bin/ansible", "docker-host", "-m", "ansible.builtin.command", "-a", "id -un"])
    assert become.stdout.strip().splitlines()[-1] == "root"
    plain = run([".venv/bin/ansible", "docker-host", "-m", "ansible.builtin.command", "-a", "id -un",
                 "-e", "ansible_become=false"])  # fmt: skip
    assert plain.stdout.strip().splitlines()[-1] == "deploy"


def test_root_login_by_key_stays_possible(lab: Path) -> None:
    proc = run([*ssh_args("root"), "id -u"])
    assert proc.stdout.strip() == "0"


def test_host_key_checking_rejects_unknown_host(lab: Path, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    proc = run(
        ["ssh", "-i", str(lab / "ssh" / "id_ed25519"), "-o", f"UserKnownHostsFile={empty}",
         "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", f"deploy@{HOST_ADDR}", "true"],
        check=False,
    )  # fmt: skip
    assert proc.returncode != 0 and "Host key verification failed" in proc.stderr


def test_env_files_are_private(lab: Path, lab_secrets: dict[str, str], ssh: SshRunner) -> None:
    assert (lab / "secrets.env").stat().st_mode & 0o777 == 0o600
    assert ssh("stat -c '%a %U' /etc/mint-modules/mint.env").stdout.split() == ["600", "root"]
    assert ssh("cat /etc/mint-modules/mint.env", root=False, check=False).returncode != 0
    keys = ssh("cut -d= -f1 /etc/mint-modules/mint.env").stdout.split()
    for key in ("DATABASE_URL", "MINIO_ENDPOINT", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "MINIO_BUCKET",
                "FILES_API_URL", "FILES_API_KEY", "ORDER_INTAKE_API_KEY"):  # fmt: skip
        assert key in keys
        assert key in lab_secrets


def test_old_release_runs_the_old_way(lab: Path, releases: dict[str, dict[str, str]], ssh: SshRunner) -> None:
    old = releases["old"]["sha"]
    for container, module in (("mint-artwork", "artwork"), ("mint-quote-page", "quote-page")):
        image = ssh(f"docker inspect -f '{{{{.Config.Image}}}}' {container}").stdout.strip()
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
    ssh("docker run -d --name files-api--leftover --label cutover.project=mint cutover-lab/base:bookworm sleep 600")
    # Another project's kept container on the same engine: not the lab's, must survive.
    ssh("docker create --name files-api--otherproject --label cutover.project=otherproject "
        "cutover-lab/base:bookworm sleep 600")  # fmt: skip
    try:
        make("lab-reset")
        other = ssh("docker ps -aq --filter name=^files-api--otherproject$").stdout.split()
    finally:
        ssh("docker rm -f files-api--leftover files-api--otherproject", check=False)
    assert other != [], "lab-reset removed another project's container"

    assert psql("SELECT id FROM artwork_seeds ORDER BY id").split() == [str(i) for i in SEED_IDS]
    assert "metadata" not in psql(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'artwork_seeds'"
    ).split()
    assert json.loads(run(LIST_OBJECTS).stdout) == sorted(f"seeds/{i}.json" for i in SEED_IDS)
    assert ssh("test -e /opt/cutover && echo present || echo absent").stdout.strip() == "absent"
    assert ssh("docker ps -aq --filter label=cutover.project=mint").stdout.split() == []
    for port, expected in OLD_SERVICES.values():
        assert host_health(ssh, port) == ("200", expected)
