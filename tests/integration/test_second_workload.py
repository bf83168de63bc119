"""The second example workload, greenhouse (examples/greenhouse), cut over with the same
playbooks and ONE inventory (examples/greenhouse/inventory) on the lab's docker host: a first
install (gh-v1, without gh-alerts), an upgrade that adds gh-alerts and a migration (gh-v2), a
release whose dashboard answers `"ready": false` (gh-broken: rolled back by itself), a cutover
to the older gh-v1 (gh-alerts stopped and kept), the rollback of that (gh-alerts back), and the
rollback to gh-v1 (gh-alerts removed). Other names, ports, health fields and values, its own
database, schema and ledger; its secrets exist only in the env file on the host. greenhouse
swaps blue/green: its containers are named <service>--<release> behind the edge proxy
greenhouse-edge, which holds the ports; no request fails while a release is swapped in.

The tests of this file run in order and build on each other (one lab, one history). `make test`
runs them on the fleet lab's first host (CUTOVER_LAB_HOSTS=3, tests/conftest.py), beside the
single host's tests; the inventory follows the session's lab (GH_LAB_ENV).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import pytest
from cutover import contract

from tests.conftest import (
    HOST_INDEX,
    LAB_DIR,
    REPO_ROOT,
    SshRunner,
    health,
    host_docker,
    read_env_file,
    run,
    ssh_args,
)
from tests.integration.test_cli import CliRun, cutover

pytestmark = pytest.mark.integration

INVENTORY = REPO_ROOT / "examples" / "greenhouse" / "inventory"
# The lab the inventory points at (its hosts.yml reads these): the session's.
GH_LAB_ENV = {"CUTOVER_LAB_DIR": LAB_DIR.name, "CUTOVER_LAB_HOST_INDEX": str(HOST_INDEX)}
ENV_FILE = "/etc/greenhouse/greenhouse.env"
PORTS = {"gh-sensors": 4101, "gh-climate": 4102, "gh-dashboard": 4103, "gh-alerts": 4104}
IMAGES = {"gh-sensors": "greenhouse/sensors", "gh-climate": "greenhouse/climate",
          "gh-dashboard": "greenhouse/dashboard", "gh-alerts": "greenhouse/alerts"}  # fmt: skip


def gh_psql(sql: str) -> str:
    remote = shlex.join(
        ["sudo", "-n", "docker", "exec", "-i", "mint-postgres", "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
         "-U", "postgres", "-d", "greenhouse", "-c", sql],
    )  # fmt: skip
    return run([*ssh_args(), remote]).stdout.strip()


def serving_image(service: str) -> str:
    """'<image> running' of the one running container of the service on the host, '' when none."""
    proc = host_docker("ps", "--filter", f"label=cutover.service={service}",
                       "--filter", "label=cutover.project=greenhouse", "--format", "{{.Image}}")  # fmt: skip
    images = proc.stdout.split()
    assert len(images) <= 1, f"{service}: more than one container runs: {images}"
    return f"{images[0]} running" if images else ""


def container_image(name: str) -> str:
    """'<image> <status>' of the container called name on the host, '' when none."""
    proc = host_docker("inspect", "-f", "{{.Config.Image}} {{.State.Status}}", name, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def no_request_failed(result: CliRun) -> None:
    """The downtime prober on the host (one request per service every 50 ms) saw no failure."""
    downtime = phase(result, "swap")["result"]["downtime"]
    assert downtime, "no downtime figures"
    for service, figures in downtime.items():
        assert figures["failed"] == 0 and figures["longest_gap_s"] == 0, (service, figures)


def gh_run(receipts: Path, *args: str) -> CliRun:
    proc = cutover(*args, "-i", str(INVENTORY), "--receipts-dir", str(receipts), env=GH_LAB_ENV)
    return CliRun(proc.returncode, proc.stdout, proc.stderr, receipts)


def explain(result: CliRun) -> str:
    return result.stdout[-5000:] + result.stderr[-2000:]


def phase(result: CliRun, name: str) -> dict:  # type: ignore[type-arg]
    return next(d for d in result.docs() if d["phase"] == name)


@pytest.fixture(scope="module")
def releases(lab: Path) -> dict[str, dict[str, str]]:
    """greenhouse's repo (.lab/greenhouse) and a host that has never run greenhouse."""
    run([sys.executable, str(REPO_ROOT / "scripts" / "workload_repo.py"), "--workload", "greenhouse",
         "--dest", str(LAB_DIR / "greenhouse")])  # fmt: skip
    prepare = REPO_ROOT / "examples" / "greenhouse" / "lab-prepare.yml"
    playbook = REPO_ROOT / ".venv" / "bin" / "ansible-playbook"
    run([str(playbook), "-i", str(INVENTORY), str(prepare), "-e", "gh_reset=true"], env={**os.environ, **GH_LAB_ENV})
    data: dict[str, dict[str, str]] = json.loads((LAB_DIR / "greenhouse-releases.json").read_text())
    return data


@pytest.fixture(scope="module")
def host_secrets(releases: dict[str, dict[str, str]], ssh: SshRunner, tmp_path_factory: pytest.TempPathFactory
                 ) -> dict[str, str]:  # fmt: skip
    """greenhouse's secrets, read from the host for the leak checks only. Never print them."""
    copy = tmp_path_factory.mktemp("gh-env") / "greenhouse.env"
    copy.write_text(ssh(f"cat {ENV_FILE}").stdout)
    values = read_env_file(copy)
    copy.unlink()
    password = values["DATABASE_URL"].split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    return {"GH_INGEST_TOKEN": values["GH_INGEST_TOKEN"], "DATABASE_URL": values["DATABASE_URL"],
            "greenhouse db password": password}  # fmt: skip


@pytest.fixture(scope="module")
def first_install(releases: dict[str, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    return gh_run(tmp_path_factory.mktemp("gh-v1"), "run", "--ref", "gh-v1")


@pytest.fixture(scope="module")
def upgrade(first_install: CliRun, tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    return gh_run(tmp_path_factory.mktemp("gh-v2"), "run", "--ref", "gh-v2")


@pytest.fixture(scope="module")
def broken(upgrade: CliRun, tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    return gh_run(tmp_path_factory.mktemp("gh-broken"), "run", "--ref", "gh-broken")


@pytest.fixture(scope="module")
def down_to_v1(broken: CliRun, tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    return gh_run(tmp_path_factory.mktemp("gh-down"), "run", "--ref", "gh-v1")


@pytest.fixture(scope="module")
def undo_down(down_to_v1: CliRun, tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    return gh_run(tmp_path_factory.mktemp("gh-undo"), "rollback")


@pytest.fixture(scope="module")
def back_to_v1(undo_down: CliRun, tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    return gh_run(tmp_path_factory.mktemp("gh-rollback"), "rollback")


def test_the_secrets_exist_only_in_the_hosts_env_file(host_secrets: dict[str, str]) -> None:
    controller_files = [LAB_DIR / "secrets.env", *INVENTORY.rglob("*.yml")]
    for path in controller_files:
        text = path.read_text()
        assert not any(v in text for v in host_secrets.values()), f"a greenhouse secret is in {path}"


def test_a_first_install_deploys_a_release_without_the_service_it_does_not_have(
    first_install: CliRun, releases: dict[str, dict[str, str]]
) -> None:
    assert first_install.code == 0, explain(first_install)
    v1 = releases["v1"]["sha"]
    for name in ("gh-sensors", "gh-climate", "gh-dashboard"):
        assert serving_image(name) == f"{IMAGES[name]}:{v1} running", name
    assert serving_image("gh-alerts") == ""
    assert phase(first_install, "prep")["result"]["not_in_release"] == ["gh-alerts"]
    swap = {s["name"]: s["action"] for s in phase(first_install, "swap")["result"]["services"]}
    assert swap == {"gh-sensors": "added", "gh-climate": "added", "gh-dashboard": "added", "gh-alerts": "absent"}
    smoke = {c["name"]: c for c in phase(first_install, "verify")["smoke"]["checks"]}
    assert smoke["the alert rules answer"]["result"] == "skipped"
    assert smoke["the alert rules answer"]["detail"] == "gh-alerts is not in this release"
    assert smoke["a reading is taken with the ingest token from the host's env file"]["result"] == "passed"
    code, body = health(PORTS["gh-dashboard"], "/healthz")
    assert code == 200 and body["ready"] is True and body["upstream"] == {"climate": "up"}, body
    # the project's own network was made by the build, labelled; the ledger is greenhouse's own
    labels = host_docker("network", "inspect", "-f", "{{json .Labels}}", "gh-net").stdout
    assert json.loads(labels).get("cutover.project") == "greenhouse"
    assert gh_psql("SELECT version FROM gh.gh_migrations ORDER BY version") == "0001_readings"
    assert contract.check_receipts_dir(first_install.receipts) == []
    # the edge proxy holds the ports; the services' containers publish none
    assert container_image("greenhouse-edge").endswith(" running")
    ports = host_docker("inspect", "-f", "{{json .HostConfig.PortBindings}}", f"gh-sensors--{v1}").stdout
    assert json.loads(ports) in ({}, None), ports


def test_an_upgrade_adds_the_new_service_and_its_migration_keeping_the_rows(
    upgrade: CliRun, releases: dict[str, dict[str, str]]
) -> None:
    assert upgrade.code == 0, explain(upgrade)
    v1, v2 = releases["v1"]["sha"], releases["v2"]["sha"]
    for name in PORTS:
        assert serving_image(name) == f"{IMAGES[name]}:{v2} running", name
    assert container_image(f"gh-sensors--{v1}") == f"greenhouse/sensors:{v1} exited"  # stopped after verify, kept
    no_request_failed(upgrade)
    assert phase(upgrade, "prep")["result"]["not_in_release"] == []
    swap = {s["name"]: s["action"] for s in phase(upgrade, "swap")["result"]["services"]}
    assert swap == {"gh-sensors": "replaced", "gh-climate": "replaced", "gh-dashboard": "replaced",
                    "gh-alerts": "added"}  # fmt: skip
    assert phase(upgrade, "verify")["smoke"]["summary"] == "6 passed"
    code, body = health(PORTS["gh-alerts"], "/healthz")
    assert code == 200 and body["state"] == "up" and body["rules"] == 0, body
    assert gh_psql("SELECT version FROM gh.gh_migrations ORDER BY version").split() == [
        "0001_readings",
        "0002_alert_rules",
    ]
    # each run's smoke check took one reading: the first one is still there
    assert int(gh_psql("SELECT count(*) FROM gh.readings WHERE sensor = 'smoke-bench'")) == 2


def test_a_release_whose_health_field_is_wrong_rolls_back_by_itself_naming_the_field(
    broken: CliRun, releases: dict[str, dict[str, str]]
) -> None:
    assert broken.code == 3, explain(broken)
    v2 = releases["v2"]["sha"]
    for name in PORTS:
        assert serving_image(name) == f"{IMAGES[name]}:{v2} running", name
    phases = [d["phase"] for d in broken.docs()]
    assert "rollback" in phases and phase(broken, "rollback")["result"]["outcome"] == "rolled_back"
    failed = next(d for d in broken.docs() if d["status"] == "failed")
    # the swap's wait applies the same health contract as verify: the new dashboard never passes
    assert failed["phase"] == "swap"
    assert "ready: expected true, got false" in json.dumps(failed), json.dumps(failed)[:3000]
    no_request_failed(broken)  # the new dashboard never got traffic; the others were flipped back
    assert int(gh_psql("SELECT count(*) FROM gh.readings WHERE sensor = 'smoke-bench'")) >= 2
    # the change pack's Rollback Map: Before = what serves again, After = the failed target
    pack = next((broken.receipts / "closeout").glob("*.changepack.md")).read_text()
    bad = releases["broken"]["sha"]
    assert f"| gh-dashboard | greenhouse/dashboard:{v2} | greenhouse/dashboard:{bad} |" in pack


def test_a_cutover_to_a_release_without_a_service_stops_and_keeps_it(
    down_to_v1: CliRun, releases: dict[str, dict[str, str]]
) -> None:
    assert down_to_v1.code == 0, explain(down_to_v1)
    v1, v2 = releases["v1"]["sha"], releases["v2"]["sha"]
    for name in ("gh-sensors", "gh-climate", "gh-dashboard"):
        assert serving_image(name) == f"{IMAGES[name]}:{v1} running", name
    assert serving_image("gh-alerts") == ""
    assert container_image(f"gh-alerts--{v2}") == f"greenhouse/alerts:{v2} exited"
    no_request_failed(down_to_v1)
    swap = {s["name"]: s for s in phase(down_to_v1, "swap")["result"]["services"]}
    assert swap["gh-alerts"]["action"] == "retired" and swap["gh-alerts"]["kept_container"] == f"gh-alerts--{v2}"
    recert = phase(down_to_v1, "recert")["result"]
    assert recert["ok"] and recert["drift"] == [], recert


def test_rolling_that_back_brings_the_service_back(undo_down: CliRun, releases: dict[str, dict[str, str]]) -> None:
    assert undo_down.code == 0, explain(undo_down)
    v2 = releases["v2"]["sha"]
    for name in PORTS:
        assert serving_image(name) == f"{IMAGES[name]}:{v2} running", name
    code, body = health(PORTS["gh-alerts"], "/healthz")
    assert code == 200 and body["state"] == "up", body


def test_going_back_to_the_release_without_the_service_removes_it(
    back_to_v1: CliRun, releases: dict[str, dict[str, str]]
) -> None:
    assert back_to_v1.code == 0, explain(back_to_v1)
    v1 = releases["v1"]["sha"]
    for name in ("gh-sensors", "gh-climate", "gh-dashboard"):
        assert serving_image(name) == f"{IMAGES[name]}:{v1} running", name
    assert serving_image("gh-alerts") == ""
    recert = phase(back_to_v1, "recert")["result"]
    assert recert["ok"] and recert["drift"] == [], recert
    status = cutover("status", "-i", str(INVENTORY), env=GH_LAB_ENV)
    assert status.returncode == 0, status.stderr
    alerts_row = next(line for line in status.stdout.splitlines() if line.startswith("gh-alerts"))
    assert alerts_row.endswith("not in the current release"), status.stdout


def test_no_host_secret_in_any_artifact_or_output(
    host_secrets: dict[str, str],
    first_install: CliRun,
    upgrade: CliRun,
    broken: CliRun,
    down_to_v1: CliRun,
    undo_down: CliRun,
    back_to_v1: CliRun,
) -> None:
    for result in (first_install, upgrade, broken, down_to_v1, undo_down, back_to_v1):
        printed = result.stdout + result.stderr
        forms = {key: {value, json.dumps(value)[1:-1]} for key, value in host_secrets.items()}
        for key, values in forms.items():
            assert not any(v in printed for v in values), f"a form of {key} was printed"
        files = [p for p in result.receipts.rglob("*") if p.is_file()]
        assert files, result.receipts
        for path in files:
            data = path.read_text(encoding="utf-8", errors="replace")
            for key, values in forms.items():
                assert not any(v in data for v in values), f"a form of {key} found in {path}"
