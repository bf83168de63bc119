"""The bad-input suite: every bad input is refused before anything on a host changes, with a
message that names the field and says what was expected.

Part 1 (cheap, table-driven): the validator (roles/cutover_validate/filter_plugins/
cutover_model.py, the filter cutover_validate runs first in every phase) is called on a mutated
copy of the lab's inventory model, one case per bad input.

Part 2 (end to end, the wiring): some of the same inputs go through `cutover run --phase
baseline` and through every phase playbook, against a copy of inventory/lab whose host is
127.0.0.1:1 and whose ssh executable is a stub that records any call. Exit code 2, the field
in the output, and the stub never called: validation ran before any SSH. The subprocesses run
concurrently (a thread pool), so the whole file stays fast.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.plugins import load

ROOT = Path(__file__).resolve().parents[2]
LAB_INV = ROOT / "inventory" / "lab"
VALIDATE = ROOT / "roles" / "cutover_validate"
VENV_BIN = ROOT / ".venv" / "bin"


model_filter = load("cutover_model", VALIDATE / "filter_plugins" / "cutover_model.py")


def model_keys() -> list[str]:
    """The variables roles/cutover_validate/tasks/main.yml hands to cutover_model_errors."""
    text = (VALIDATE / "tasks" / "main.yml").read_text()
    block = text[text.index("cutover_validate_errors: >-") : text.index("| cutover_model_errors")]
    return re.findall(r"'(cutover_\w+)':", block)


def lab_vars() -> dict[str, Any]:
    """The lab inventory's group_vars of docker_hosts (untemplated, as YAML)."""
    data: dict[str, Any] = {}
    for path in sorted((LAB_INV / "group_vars" / "docker_hosts").glob("*.yml")):
        data.update(yaml.safe_load(path.read_text()) or {})
    return data


def lab_model() -> dict[str, Any]:
    """What the validator sees for the lab: role defaults, then the inventory; no run id given."""
    merged = yaml.safe_load((ROOT / "roles" / "cutover_defaults" / "defaults" / "main.yml").read_text()) | lab_vars()
    return {key: copy.deepcopy(merged.get(key)) for key in model_keys()}


# ---- the bad inputs -------------------------------------------------------------------


def setp(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets model[a][0][b]... (dotted path, ints index lists)."""

    def mutate(model: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = model
        for part in parents:
            node = node[part]
        node[last] = value

    return mutate


def delp(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(model: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = model
        for part in parents:
            node = node[part]
        del node[last]

    return mutate


def rename(path: str, old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def mutate(model: dict[str, Any]) -> None:
        node: Any = model
        for part in [int(p) if p.isdigit() else p for p in path.split(".")]:
            node = node[part]
        node[new] = node.pop(old)

    return mutate


def both(*mutations: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def mutate(model: dict[str, Any]) -> None:
        for m in mutations:
            m(model)

    return mutate


def swap_smoke(i: int, j: int) -> Callable[[dict[str, Any]], None]:
    def mutate(model: dict[str, Any]) -> None:
        checks = model["cutover_smoke_checks"]
        checks[i], checks[j] = checks[j], checks[i]

    return mutate


@dataclass(frozen=True)
class Case:
    id: str
    mutate: Callable[[dict[str, Any]], None]
    field: str  # the message starts with "<field>:"
    expect: str  # ... and says what was expected


S = "cutover_smoke_checks"
CASES = [
    # smoke-check schema (new: the suite now reaches the validator)
    Case("smoke-unknown-key", rename(f"{S}.0", "status", "stauts"), f"{S}[0].stauts", "did you mean 'status'"),
    Case(
        "smoke-missing-expectation",
        delp(f"{S}.3.status"),
        f"{S}[3].status",
        "every check needs an expected HTTP status",
    ),
    Case("smoke-bad-method", setp(f"{S}.0.method", "FETCH"), f"{S}[0].method", "must be one of: GET, HEAD, POST"),
    Case("smoke-lowercase-method", setp(f"{S}.4.method", "post"), f"{S}[4].method", "(upper case)"),
    Case("smoke-status-string", setp(f"{S}.0.status", "200"), f"{S}[0].status", "an integer 100-599"),
    Case("smoke-status-out-of-range", setp(f"{S}.0.status", 2000), f"{S}[0].status", "an integer 100-599"),
    Case("smoke-status-list-bad-item", setp(f"{S}.0.status", [200, "201"]), f"{S}[0].status", "non-empty list of them"),
    Case("smoke-json-not-mapping", setp(f"{S}.0.json", ["status", "ok"]), f"{S}[0].json", "must be a mapping"),
    Case(
        "smoke-json-present-not-list",
        setp(f"{S}.6.json_present", "seed_id"),
        f"{S}[6].json_present",
        "list of non-empty strings",
    ),
    Case(
        "smoke-undefined-saved",
        setp(f"{S}.7.url", "http://127.0.0.1:3500/api/v1/seeds/${saved:seed}"),
        f"{S}[7].url",
        "is not saved by an earlier check",
    ),
    Case("smoke-saved-from-a-later-check", swap_smoke(6, 7), f"{S}[6].url", "is not saved by an earlier check"),
    Case(
        "smoke-key-not-in-requires-keys",
        setp(f"{S}.7.requires_keys", ["ORDER_INTAKE_API_KEY"]),
        f"{S}[7].headers.x-api-key",
        "must be listed in cutover_smoke_checks[7].requires_keys",
    ),
    Case(
        "smoke-malformed-placeholder",
        setp(f"{S}.7.headers", {"x-api-key": "${FILES_API_KEY}"}),
        f"{S}[7].headers.x-api-key",
        "must be ${key:NAME} or ${saved:NAME}",
    ),
    Case("smoke-url-not-http", setp(f"{S}.1.url", "127.0.0.1:3400/health"), f"{S}[1].url", "http:// or https:// URL"),
    Case(
        "smoke-read-only-safe-not-bool", setp(f"{S}.4.read_only_safe", "yes"), f"{S}[4].read_only_safe", "true or false"
    ),
    Case("smoke-duplicate-name", setp(f"{S}.1.name", "files-api health"), f"{S}[1].name", "duplicate check name"),
    Case("smoke-check-not-mapping", setp(f"{S}.2", "GET /health"), f"{S}[2]", "must be a mapping"),
    Case("smoke-body-on-get", setp(f"{S}.0.body", {"a": 1}), f"{S}[0].body", "has no body"),
    # images: Docker's reference grammar, no tag (the package appends :<sha>)
    Case(
        "image-uppercase",
        setp("cutover_services.0.image", "Mint-Modules/artwork"),
        "cutover_services[0].image",
        "lowercase path components",
    ),
    Case(
        "image-with-tag",
        setp("cutover_services.0.image", "mint-modules/artwork:v1"),
        "cutover_services[0].image",
        "without a tag or digest",
    ),
    Case(
        "image-bad-registry",
        setp("cutover_services.1.image", "my_registry:5000/order-intake"),
        "cutover_services[1].image",
        "invalid registry host",
    ),
    Case(
        "image-double-slash",
        setp("cutover_services.1.image", "mint-modules//order-intake"),
        "cutover_services[1].image",
        "bad path component",
    ),
    Case(
        "base-image-bad",
        setp("cutover_base_image", "cutover lab/base"),
        "cutover_base_image",
        "lowercase path components",
    ),
    # paths and the run id
    Case("root-dotdot", setp("cutover_root", "/opt/cutover/../../etc"), "cutover_root", "normalised path other than /"),
    Case("root-relative", setp("cutover_root", "opt/cutover/mint"), "cutover_root", "must be an absolute path"),
    Case("root-slash", setp("cutover_root", "/"), "cutover_root", "other than /"),
    Case("env-file-relative", setp("cutover_env_file", "mint.env"), "cutover_env_file", "must be an absolute path"),
    Case("run-id-traversal", setp("cutover_run_id", "../../etc"), "cutover_run_id", "[A-Za-z0-9][A-Za-z0-9._-]{0,63}"),
    Case("run-id-slash", setp("cutover_run_id", "run/1"), "cutover_run_id", "it names a dir on the host"),
    Case("run-id-too-long", setp("cutover_run_id", "r" * 65), "cutover_run_id", "up to 63"),
    Case(
        "module-dotdot",
        setp("cutover_services.0.module", "../artwork"),
        "cutover_services[0].module",
        "must not contain '..'",
    ),
    Case(
        "module-absolute",
        setp("cutover_services.0.module", "/srv/artwork"),
        "cutover_services[0].module",
        "must be relative to the source repo",
    ),
    Case(
        "dockerfile-dotdot",
        setp("cutover_services.0.dockerfile", "../Dockerfile"),
        "cutover_services[0].dockerfile",
        "must not contain '..'",
    ),
    Case(
        "legacy-dir-relative",
        setp("cutover_services.0.legacy.dir", "srv/artwork"),
        "cutover_services[0].legacy.dir",
        "must be an absolute path",
    ),
    Case(
        "migration-path-dotdot",
        setp("cutover_migrations.paths", ["../migrations"]),
        "cutover_migrations.paths[0]",
        "must not contain '..'",
    ),
    # what the validator already covered
    Case(
        "unknown-depends-on",
        setp("cutover_services.1.depends_on", ["files-apii"]),
        "cutover_services[1].depends_on",
        "unknown service 'files-apii' (known: files-api, order-intake, quote-page)",
    ),
    Case(
        "cyclic-depends-on",
        setp("cutover_services.0.depends_on", ["quote-page"]),
        "cutover_services[*].depends_on",
        "dependency cycle files-api -> quote-page -> files-api",
    ),
    Case(
        "self-depends-on",
        setp("cutover_services.0.depends_on", ["files-api"]),
        "cutover_services[0].depends_on[0]",
        "depends on itself",
    ),
    Case(
        "duplicate-service-name",
        setp("cutover_services.2.name", "order-intake"),
        "cutover_services[2].name",
        "duplicate service name 'order-intake'",
    ),
    Case(
        "host-port-clash",
        setp("cutover_services.2.ports", ["127.0.0.1:3500:3341"]),
        "cutover_services[2].ports[0]",
        "host port 127.0.0.1:3500/tcp already published by cutover_services[0]",
    ),
    Case(
        "port-format",
        setp("cutover_services.2.ports", ["3341"]),
        "cutover_services[2].ports[0]",
        "must look like [ip:]host_port:container_port",
    ),
    Case(
        "env-not-required",
        setp("cutover_services.1.env", ["FILES_API_URL", "NOT_DECLARED"]),
        "cutover_services[1].env[1]",
        "is not in cutover_required_env",
    ),
    Case(
        "secret-env-not-required",
        setp("cutover_secret_env", ["DATABASE_URL", "NOPE"]),
        "cutover_secret_env[1]",
        "is not in cutover_required_env",
    ),
    Case(
        "network-not-required",
        setp("cutover_services.1.networks", ["mint-os-net"]),
        "cutover_services[1].networks[0]",
        "is not in cutover_required_networks",
    ),
    Case("empty-ref", setp("cutover_ref", ""), "cutover_ref", "must be a non-empty git ref"),
    Case("ref-with-space", setp("cutover_ref", "release new"), "cutover_ref", "no whitespace"),
    Case("ref-option-like", setp("cutover_ref", "--upload-pack=x"), "cutover_ref", "no leading '-'"),
    # bad types, unknown and missing keys (the argument specs' job before; now with the index)
    Case(
        "container-port-string",
        setp("cutover_services.0.container_port", "3500"),
        "cutover_services[0].container_port",
        "must be an integer 1-65535",
    ),
    Case(
        "retention-string",
        setp("cutover_retention_releases", "3"),
        "cutover_retention_releases",
        "must be an integer >= 1",
    ),
    Case(
        "retention-zero", setp("cutover_retention_releases", 0), "cutover_retention_releases", "must be an integer >= 1"
    ),
    Case(
        "health-timeout-bool",
        setp("cutover_health_timeout_s", True),
        "cutover_health_timeout_s",
        "must be an integer >= 1",
    ),
    Case(
        "db-port-string",
        setp("cutover_migrations.database.port", "15432"),
        "cutover_migrations.database.port",
        "must be an integer 1-65535",
    ),
    Case(
        "lock-timeout-zero",
        setp("cutover_migrations.lock_timeout_s", 0),
        "cutover_migrations.lock_timeout_s",
        "must be an integer >= 1",
    ),
    Case(
        "required-env-not-list",
        setp("cutover_required_env", "DATABASE_URL"),
        "cutover_required_env",
        "must be a list of env key names",
    ),
    Case(
        "env-not-list",
        setp("cutover_services.0.env", "DATABASE_URL"),
        "cutover_services[0].env",
        "must be a list of env key names",
    ),
    Case(
        "service-unknown-key",
        rename("cutover_services.0", "image", "imgae"),
        "cutover_services[0].imgae",
        "did you mean 'image'",
    ),
    Case(
        "service-missing-image",
        delp("cutover_services.0.image"),
        "cutover_services[0].image",
        "required (an image name",
    ),
    Case(
        "health-url-missing",
        delp("cutover_services.0.health.url"),
        "cutover_services[0].health.url",
        "must be an http:// or https:// URL",
    ),
    Case(
        "health-not-mapping",
        setp("cutover_services.0.health", "http://127.0.0.1:3500/health"),
        "cutover_services[0].health",
        "must be a mapping with url",
    ),
    Case(
        "migrations-unknown-key",
        rename("cutover_migrations", "paths", "path"),
        "cutover_migrations.path",
        "did you mean 'paths'",
    ),
    Case(
        "migrations-env-key",
        setp("cutover_migrations.database.env_key", "DB_URL"),
        "cutover_migrations.database.env_key",
        "is not in cutover_required_env",
    ),
    Case(
        "swap-strategy", setp("cutover_swap_strategy", "blue-green"), "cutover_swap_strategy",
        "must be one of: recreate, bluegreen",
    ),
    Case("project-name", setp("cutover_project", "Mint Project"), "cutover_project", "must match"),
    Case("no-services", setp("cutover_services", []), "cutover_services", "must be a non-empty list of services"),
    Case("root-missing", setp("cutover_root", None), "cutover_root", "must be an absolute path"),
    # the Docker endpoint (cutover_docker_host): unix:///abs/path or tcp://host:port
    Case("docker-host-no-scheme", setp("cutover_docker_host", "/var/run/docker.sock"), "cutover_docker_host",
         "no scheme (expected unix:///absolute/path/to/docker.sock or tcp://host:port)"),
    Case("docker-host-relative", setp("cutover_docker_host", "unix://var/run/docker.sock"), "cutover_docker_host",
         "the socket path must be absolute"),
    Case("docker-host-no-port", setp("cutover_docker_host", "tcp://docker.example.com"), "cutover_docker_host",
         "is not tcp://host:port"),
    Case("docker-host-http", setp("cutover_docker_host", "http://127.0.0.1:2375"), "cutover_docker_host",
         "scheme 'http' is not supported"),
    Case("docker-host-port-range", setp("cutover_docker_host", "tcp://10.0.0.5:99999"), "cutover_docker_host",
         "port 99999 is not 1-65535"),
    Case("docker-host-type", setp("cutover_docker_host", 2375), "cutover_docker_host", "is not a Docker endpoint"),
    Case("health-json-value-wrong-type", setp("cutover_services.0.health.json", ["status"]),
         "cutover_services[0].health.json", "must be a non-empty mapping of field path to expected value"),
    Case("health-status-code-range", setp("cutover_services.0.health.status_code", 42),
         "cutover_services[0].health.status_code", "must be an HTTP status 100-599"),
    Case("health-path-removed", setp("cutover_services.0.health.path", "/health"),
         "cutover_services[0].health.path", "health.path was removed"),
    Case("healthcheck-not-mapping", setp("cutover_services.0.healthcheck", "CMD true"),
         "cutover_services[0].healthcheck", "must be a mapping"),
    Case("ledger-table-injection", setp("cutover_migrations.ledger", {"table": 'x"; DROP TABLE y'}),
         "cutover_migrations.ledger.table", "must be a lowercase SQL identifier"),
    Case("ledger-schema-upper", setp("cutover_migrations.ledger", {"schema": "App"}),
         "cutover_migrations.ledger.schema", "must be a lowercase SQL identifier"),
    Case("ledger-unknown-key", setp("cutover_migrations.ledger", {"tabel": "x"}),
         "cutover_migrations.ledger.tabel", "did you mean 'table'"),
]
BY_ID = {c.id: c for c in CASES}


def test_the_suite_has_at_least_30_distinct_bad_inputs() -> None:
    assert len(BY_ID) == len(CASES) >= 30


def test_the_lab_model_is_valid_and_reaches_the_validator_whole() -> None:
    model = lab_model()
    assert model_filter.cutover_model_errors(model) == []
    # every variable the role documents reaches the filter (cutover_smoke_checks did not)
    spec = yaml.safe_load((VALIDATE / "meta" / "argument_specs.yml").read_text())
    assert set(model) == set(spec["argument_specs"]["model"]["options"])
    assert len(model["cutover_smoke_checks"]) == 8


def test_the_spec_and_the_filter_know_the_same_keys() -> None:
    opts = yaml.safe_load((VALIDATE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["model"]["options"]
    svc = opts["cutover_services"]["options"]
    assert set(svc) == set(model_filter.SERVICE_KEYS)
    assert {k for k, v in svc.items() if v.get("required")} == set(model_filter.SERVICE_REQUIRED)
    assert set(svc["health"]["options"]) == set(model_filter.HEALTH_KEYS)
    assert set(svc["healthcheck"].get("options") or model_filter.HEALTHCHECK_KEYS) == set(model_filter.HEALTHCHECK_KEYS)
    assert set(svc["legacy"]["options"]) == set(model_filter.LEGACY_KEYS)
    migrations = opts["cutover_migrations"]["options"]
    assert set(migrations) == set(model_filter.MIGRATION_KEYS)
    assert set(migrations["database"]["options"]) == set(model_filter.DATABASE_KEYS)
    assert set(migrations["ledger"]["options"]) == set(model_filter.LEDGER_KEYS)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("cutover_run_id", "20261130T061352Z-pudi67"),  # the wrapper's
        ("cutover_run_id", "20261130-061352-a1b2c3"),  # cutover_common run_id.yml's
        ("cutover_run_id", "molecule-cutover-validate"),
        ("cutover_root", "/opt/cutover/mint"),
        ("cutover_docker_host", "unix:///var/run/docker.sock"),
        ("cutover_docker_host", "unix:///run/user/1000/docker.sock"),
        ("cutover_docker_host", "tcp://10.0.0.5:2375"),
        ("cutover_docker_host", "tcp://docker-1.internal.example.com:2375"),
        ("cutover_docker_host", "tcp://[::1]:2375"),
        ("cutover_docker_host", None),  # not set: the default applies
        ("cutover_base_image", "cutover-lab/base:bookworm"),
        ("cutover_base_image", "debian@sha256:" + "a" * 64),
        ("services.0.image", "localhost:5000/mint/artwork"),
        ("services.0.image", "registry.example.com:443/team/app"),
        ("services.0.image", "[::1]:5000/app"),
        ("services.0.image", "mint__modules/art-work_x.y"),
        ("services.0.image", "Registry.Example.com/app"),  # a registry host may have upper case
    ],
)
def test_good_values_still_pass(key: str, value: str) -> None:
    model = lab_model()
    if key.startswith("services."):
        model["cutover_services"][0]["image"] = value
    else:
        model[key] = value
    assert model_filter.cutover_model_errors(model) == []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_validator_refuses_a_bad_input_naming_the_field(case: Case) -> None:
    model = lab_model()
    case.mutate(model)
    errors = model_filter.cutover_model_errors(model)
    assert errors, f"{case.id}: accepted"
    hits = [e for e in errors if e.startswith(case.field + ":")]
    assert hits, f"{case.id}: no message about {case.field}: {errors}"
    assert any(case.expect in e for e in hits), f"{case.id}: expected {case.expect!r} in {hits}"
    assert all(e.startswith("cutover_") for e in errors), errors


# ---- end to end: the wiring -------------------------------------------------------------

FAKE_SSH = """#!/bin/sh
# Stands in for ssh: records that a connection was attempted, then fails like a refused one.
echo "$@" >> "{marker}"
echo "ssh: connect to host 127.0.0.1 port 1: Connection refused" >&2
exit 255
"""


@dataclass
class Run:
    rc: int
    output: str
    ssh_called: bool


def make_inventory(where: Path, mutate: Callable[[dict[str, Any]], None] | None) -> tuple[Path, Path]:
    """A copy of inventory/lab: host 127.0.0.1:1, ssh = a recording stub, one var mutated."""
    inv = where / "inventory"
    shutil.copytree(LAB_INV, inv)
    marker = where / "ssh-called"
    fake = where / "fake-ssh"
    fake.write_text(FAKE_SSH.format(marker=marker))
    fake.chmod(0o755)
    hosts = yaml.safe_load((inv / "hosts.yml").read_text())
    host = hosts["all"]["children"]["docker_hosts"]["hosts"]["docker-host"]
    host.update(ansible_host="127.0.0.1", ansible_port=1, ansible_ssh_executable=str(fake))
    (inv / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    group = inv / "group_vars" / "docker_hosts"
    data = lab_vars()
    if mutate:
        mutate(data)
    for path in group.glob("*.yml"):
        path.unlink()
    (group / "main.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    return inv, marker


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(CUTOVER_HOME=str(ROOT), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PYTHONDONTWRITEBYTECODE="1")
    env.pop("CUTOVER_FIXTURE_FAIL", None)
    return env


def _run(args: list[str], marker: Path) -> Run:
    proc = subprocess.run(args, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300, check=False)
    return Run(proc.returncode, proc.stdout + proc.stderr, marker.exists())


# Through the wrapper (`cutover run --phase baseline`): exit 2.
CLI_CASES = [
    "smoke-unknown-key",
    "smoke-undefined-saved",
    "image-uppercase",
    "root-dotdot",
    "container-port-string",
    "ref-with-space",  # given as --ref, not in the inventory
]
# A changing phase run alone with a bad input: exit 2 as well, and no rollback is attempted.
CLI_CHANGING_CASES = {"build": "unknown-depends-on", "swap": "host-port-clash"}
# Every phase playbook (and cutover.yml, also in check mode; and a run id given as an extra
# var, which the wrapper never passes) with a bad input: validation comes before any
# connection. ansible-playbook exits 2 when a task failed.
PLAYBOOKS = {
    "baseline": "smoke-unknown-key",
    "prep": "smoke-missing-expectation",
    "build": "unknown-depends-on",
    "migrate": "migration-path-dotdot",
    "swap": "host-port-clash",
    "verify": "smoke-undefined-saved",
    "recert": "image-with-tag",
    "closeout": "env-not-required",
    "rollback": "root-dotdot",
    "cutover": "cyclic-depends-on",
    "cutover --check": "image-uppercase",
    "baseline run-id": "run-id-traversal",
}


def _cli(inv: Path, where: Path, *extra: str) -> list[str]:
    receipts = str(where / "receipts")
    return [str(VENV_BIN / "cutover"), "run", "--phase", "baseline", "-i", str(inv), "--receipts-dir", receipts,
            "--no-documents", "--plain", *extra]  # fmt: skip


@pytest.fixture(scope="module")
def e2e(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    if not (VENV_BIN / "cutover").exists():
        pytest.skip("no .venv/bin/cutover (run scripts/setup.sh)")
    jobs: dict[str, tuple[list[str], Path]] = {}
    for cid in CLI_CASES:
        where = tmp_path_factory.mktemp(f"cli-{cid}")
        mutate = None if cid == "ref-with-space" else BY_ID[cid].mutate
        inv, marker = make_inventory(where, mutate)
        extra = ("--ref", "release new") if cid == "ref-with-space" else ()
        jobs[f"cli:{cid}"] = (_cli(inv, where, *extra), marker)
    for phase, cid in CLI_CHANGING_CASES.items():
        where = tmp_path_factory.mktemp(f"cli-{phase}")
        inv, marker = make_inventory(where, BY_ID[cid].mutate)
        args = _cli(inv, where)
        args[args.index("baseline")] = phase
        jobs[f"cli-phase:{phase}"] = (args, marker)
    for book, cid in PLAYBOOKS.items():
        where = tmp_path_factory.mktemp(f"play-{book.replace(' ', '-')}")
        name, *flags = book.split()
        if flags == ["run-id"]:
            inv, marker = make_inventory(where, None)
            flags = ["-e", "cutover_run_id=../../etc"]
        else:
            inv, marker = make_inventory(where, BY_ID[cid].mutate)
        jobs[f"play:{book}"] = (
            [str(VENV_BIN / "ansible-playbook"), "-i", str(inv), f"playbooks/{name}.yml", *flags],
            marker,
        )
    # control: the good inventory does reach the (stub) ssh, so "not called" means something
    where = tmp_path_factory.mktemp("control")
    inv, marker = make_inventory(where, None)
    jobs["control"] = (_cli(inv, where), marker)
    with ThreadPoolExecutor(max_workers=min(6, len(jobs))) as pool:
        futures = {name: pool.submit(_run, args, marker) for name, (args, marker) in jobs.items()}
        return {name: f.result() for name, f in futures.items()}


def test_control_the_good_inventory_gets_as_far_as_ssh(e2e: dict[str, Run]) -> None:
    run = e2e["control"]
    assert run.ssh_called, run.output[-2000:]
    assert run.rc == 2 and "UNREACHABLE" in run.output, run.output[-2000:]
    assert "invalid cutover inventory" not in run.output


@pytest.mark.parametrize("cid", CLI_CASES)
def test_cutover_run_exits_2_naming_the_field_before_any_ssh(e2e: dict[str, Run], cid: str) -> None:
    run = e2e[f"cli:{cid}"]
    case = BY_ID[cid]
    assert run.rc == 2, run.output[-3000:]
    assert "invalid cutover inventory" in run.output, run.output[-3000:]
    assert f"{case.field}:" in run.output and case.expect in run.output, run.output[-3000:]
    assert not run.ssh_called and "UNREACHABLE" not in run.output, run.output[-3000:]


@pytest.mark.parametrize("phase", list(CLI_CHANGING_CASES))
def test_a_changing_phase_alone_exits_2_without_a_rollback(e2e: dict[str, Run], phase: str) -> None:
    run = e2e[f"cli-phase:{phase}"]
    case = BY_ID[CLI_CHANGING_CASES[phase]]
    assert run.rc == 2, run.output[-3000:]
    assert f"{case.field}:" in run.output and case.expect in run.output, run.output[-3000:]
    assert "==> rollback" not in run.output, run.output[-3000:]
    assert not run.ssh_called, run.output[-3000:]


@pytest.mark.parametrize("book", list(PLAYBOOKS))
def test_every_phase_playbook_validates_before_connecting(e2e: dict[str, Run], book: str) -> None:
    run = e2e[f"play:{book}"]
    case = BY_ID[PLAYBOOKS[book]]
    assert run.rc == 2, run.output[-3000:]
    assert f"{case.field}:" in run.output and case.expect in run.output, run.output[-3000:]
    assert not run.ssh_called and "UNREACHABLE" not in run.output, run.output[-3000:]
