"""The whole cutover against the real lab: old -> new, old -> broken (automatic rollback),
the same cutover twice, playbooks/rollback.yml after a good cutover, and --check.

Each scenario starts from `make lab-reset` (old release, original data). Results are read
from the phases' set_stats through Ansible's json callback, as the wrapper would.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HOST_DOCKER, REPO_ROOT, PsqlRunner, SshRunner, health, make, run

pytestmark = pytest.mark.integration

ROOT = "/opt/cutover/mint"
PORTS = {"files-api": 3500, "order-intake": 3400, "quote-page": 3341}
FIELDS = {
    "files-api": ["status", "db", "minio"],
    "order-intake": ["status", "artwork_api"],
    "quote-page": ["status", "minio", "files_api"],
}
KEYS = ("ORDER_INTAKE_API_KEY", "FILES_API_KEY")
# Lists the bucket inside the object store's container with the credentials Docker passed to
# it (its env), so no shell sources the env file (a shell reads `$`, quotes and `\` unlike Docker).
LIST_OBJECTS = [
    *HOST_DOCKER, "exec", "mint-minio", "python3", "-c",
    "import boto3, json, os\n"
    's3 = boto3.client("s3", endpoint_url="http://127.0.0.1:9000", region_name="us-east-1",'
    ' aws_access_key_id=os.environ["MINIO_ACCESS_KEY"], aws_secret_access_key=os.environ["MINIO_SECRET_KEY"])\n'
    'r = s3.list_objects_v2(Bucket=os.environ["BUCKET"])\n'
    'print(json.dumps(sorted(o["Key"] for o in r.get("Contents", []))))',
]  # fmt: skip


class Run:
    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        start = proc.stdout.find("{")
        self.doc: dict[str, Any] = json.loads(proc.stdout[start:]) if start >= 0 else {}

    @property
    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = self.doc.get("global_custom_stats", {})
        return data

    def failures(self) -> list[str]:
        out = []
        for play in self.doc.get("plays", []):
            for task in play.get("tasks", []):
                for res in task.get("hosts", {}).values():
                    if res.get("failed") and not res.get("ignore_errors"):
                        out.append(f"{task['task']['name']}: {res.get('msg', '')}")
        return out

    def explain(self) -> str:
        return f"rc={self.rc}\nfailures={self.failures()}\nstderr={self.stderr[-3000:]}"


def playbook(
    name: str, *extra: str, keys: dict[str, str] | None = None, check: bool = False
) -> Run:
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    env.update(keys or {})
    env.update(
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
        ANSIBLE_SHOW_CUSTOM_STATS="true",
    )
    args = [
        str(REPO_ROOT / ".venv" / "bin" / "ansible-playbook"),
        f"playbooks/{name}",
        *extra,
    ]
    if check:
        args.append("--check")
    return Run(run(args, check=False, env=env, timeout=900))


def containers() -> dict[str, dict[str, str]]:
    """name -> {id, image, state} of the lab's containers and the cutover project's.

    Other containers on the engine (molecule scenarios running alongside, say) are
    not this host's business and must not make a snapshot differ.
    """
    result = {}
    for label in ("cutover.lab=true", "cutover.project=mint"):
        out = run(
            [
                *HOST_DOCKER,
                "ps",
                "-a",
                "--no-trunc",
                "--filter",
                f"label={label}",
                "--format",
                "{{.Names}}\t{{.ID}}\t{{.Image}}\t{{.State}}",
            ]
        ).stdout
        for line in out.splitlines():
            name, cid, image, state = line.split("\t")
            result[name] = {"id": cid, "image": image, "state": state}
    return result


def data_snapshot(psql: PsqlRunner, ssh: SshRunner) -> tuple[list[str], list[str]]:
    rows = psql(
        "SELECT id || '|' || name || '|' || object_key FROM artwork_seeds ORDER BY id"
    ).splitlines()
    objects: list[str] = json.loads(run(LIST_OBJECTS).stdout)
    return rows, objects


def assert_no_secret(text: str, secrets: dict[str, str]) -> None:
    for key, value in secrets.items():
        if len(value) >= 6:
            assert value not in text, (
                f"the value of {key} appears in the playbook output"
            )


@pytest.fixture()
def fresh_lab(lab: Path) -> Path:
    make("lab-reset")
    return lab


@pytest.fixture()
def api_keys(lab_secrets: dict[str, str]) -> dict[str, str]:
    return {k: lab_secrets[k] for k in KEYS}


@pytest.fixture()
def good_cutover(
    fresh_lab: Path, api_keys: dict[str, str], psql: PsqlRunner, ssh: SshRunner
) -> Iterator[tuple[Run, tuple[list[str], list[str]]]]:
    before = data_snapshot(psql, ssh)
    result = playbook("cutover.yml", keys=api_keys)
    yield result, before


def test_old_to_new_then_twice_then_rollback(
    good_cutover: tuple[Run, tuple[list[str], list[str]]],
    releases: dict[str, dict[str, str]],
    lab_secrets: dict[str, str],
    api_keys: dict[str, str],
    psql: PsqlRunner,
    ssh: SshRunner,
) -> None:
    result, (rows_before, objects_before) = good_cutover
    new, old = releases["new"]["sha"], releases["old"]["sha"]
    assert result.rc == 0, result.explain()
    assert_no_secret(result.stdout + result.stderr, lab_secrets)

    # the three services answer with every dependency "ok"
    for svc, port in PORTS.items():
        code, body = health(port)
        assert code == 200, (svc, body)
        assert all(body.get(f) == "ok" for f in FIELDS[svc]), (svc, body)
    # ... from containers running release-new's short sha
    running = containers()
    for svc in PORTS:
        assert running[svc]["state"] == "running"
        assert running[svc]["image"].endswith(":" + new), running[svc]
    # schema expanded, old data intact
    assert (
        psql(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name='artwork_seeds' AND column_name='metadata'"
        )
        == "metadata"
    )
    rows_after, objects_after = data_snapshot(psql, ssh)
    assert rows_before and set(rows_before) <= set(rows_after)
    assert objects_before and set(objects_before) <= set(objects_after)
    # smoke with the keys: all eight passed; downtime measured
    assert result.stats["cutover_verify"]["smoke"]["summary"] == "8 passed"
    downtime = result.stats["cutover_swap"]["downtime"]
    assert set(downtime) == set(PORTS) and all(
        d["requests"] > 0 for d in downtime.values()
    )

    # no key in the controller's environment: the keyed checks read theirs on the host
    verify = playbook("verify.yml")
    assert verify.rc == 0, verify.explain()
    assert verify.stats["cutover_verify"]["smoke"]["summary"] == "8 passed"

    # the same cutover again changes no container and says so
    ids = {name: c["id"] for name, c in containers().items()}
    again = playbook("cutover.yml", keys=api_keys)
    assert again.rc == 0, again.explain()
    assert {name: c["id"] for name, c in containers().items()} == ids
    assert {s["action"] for s in again.stats["cutover_swap"]["services"]} == {
        "unchanged"
    }
    assert "no container changed" in json.dumps(again.doc)

    # prep with a staging baseline: the lab, settled at release-new, stands in for staging;
    # its gates and smoke pass, and the staging run writes nothing there
    audit_before = ssh(f"cat {ROOT}/audit.log").stdout.splitlines()
    prep = playbook(
        "prep.yml", "-e", "cutover_staging_inventory=inventory/lab", keys=api_keys
    )
    assert prep.rc == 0, prep.explain()
    assert_no_secret(prep.stdout + prep.stderr, lab_secrets)
    staging = prep.stats["cutover_prep"]["staging"]
    assert staging["ok"] is True and staging["smoke"] == "6 passed, 2 skipped", staging
    assert staging["health"] == dict.fromkeys(PORTS, True), staging
    audit_after = ssh(f"cat {ROOT}/audit.log").stdout.splitlines()
    new_lines = [json.loads(line) for line in audit_after[len(audit_before) :]]
    assert [line["phase"] for line in new_lines] == ["prep"], new_lines

    # rollback.yml on its own returns to release-old
    back = playbook("rollback.yml")
    assert back.rc == 0, back.explain()
    assert_no_secret(back.stdout + back.stderr, lab_secrets)
    code, body = health(3500)
    assert code == 200 and body.get("status") == "ok", body
    running = containers()
    assert running["mint-artwork"]["image"].endswith(":" + old)
    assert running["mint-artwork"]["state"] == "running"
    assert (
        "order-intake" not in running or running["order-intake"]["state"] != "running"
    )
    assert health(3400)[0] == -1
    state = json.loads(ssh(f"cat {ROOT}/state.json").stdout)
    assert state["current"]["release"] == old and state["previous"]["release"] == new


def test_old_to_broken_rolls_back(
    fresh_lab: Path,
    releases: dict[str, dict[str, str]],
    lab_secrets: dict[str, str],
    api_keys: dict[str, str],
    psql: PsqlRunner,
    ssh: SshRunner,
) -> None:
    rows_before, objects_before = data_snapshot(psql, ssh)
    # a short health timeout keeps the test quick: the broken files-api is never healthy
    result = playbook(
        "cutover.yml",
        "-e",
        "cutover_ref=release-broken",
        "-e",
        '{"cutover_health_timeout_s": 20}',
        keys=api_keys,
    )
    assert result.rc != 0
    assert_no_secret(result.stdout + result.stderr, lab_secrets)
    assert any(
        "files-api: new container never became healthy" in f
        for f in result.failures()
    ), result.explain()
    assert result.stats["cutover_rollback"]["outcome"] == "rolled_back"
    # the old containers serve again, order-intake is gone
    code, body = health(3500)
    assert code == 200 and body == {
        **body,
        "status": "ok",
        "db": "ok",
        "minio": "ok",
    }, body
    running = containers()
    assert running["mint-artwork"]["image"].endswith(":" + releases["old"]["sha"])
    assert running["mint-artwork"]["state"] == "running"
    assert "order-intake" not in running and "files-api" not in running
    assert health(3400)[0] == -1
    # data intact, lock released, the failed container's logs kept
    rows_after, objects_after = data_snapshot(psql, ssh)
    assert rows_after == rows_before and objects_after == objects_before
    assert ssh(f"test -e {ROOT}/lock", check=False).returncode != 0
    assert "files-api.log" in ssh(f"ls {ROOT}/runs/*/").stdout
    state = json.loads(ssh(f"cat {ROOT}/state.json").stdout)
    assert (
        state["in_progress"] is None
        and state["history"][-1]["outcome"] == "rolled_back"
    )


def test_check_mode_leaves_the_host_as_it_was(
    fresh_lab: Path, api_keys: dict[str, str], psql: PsqlRunner, ssh: SshRunner
) -> None:
    def snapshot() -> tuple[Any, ...]:
        listing = ssh(
            "find /opt/cutover -printf '%p %s %T@\\n' 2>/dev/null | sort", check=False
        ).stdout
        schema = psql(
            "SELECT table_name || '.' || column_name FROM information_schema.columns "
            "WHERE table_schema='public' ORDER BY 1"
        )
        return containers(), listing, schema

    before = snapshot()
    result = playbook("cutover.yml", keys=api_keys, check=True)
    assert result.rc == 0, result.explain()
    assert snapshot() == before
    plan = result.stats["cutover_swap"]["services"]
    assert {p["name"]: p["action"] for p in plan} == {
        "files-api": "replaced",
        "order-intake": "added",
        "quote-page": "replaced",
    }
