"""The early phases against the real lab: validate, baseline, prep, build (lock), migrate.

Each test asserts what an operator would check: the run's exit status and message, the
lock, the ledger and the schema in Postgres, the containers that serve, and that no
secret value ever reaches the output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, PsqlRunner, SshRunner, host_docker, make, run

pytestmark = pytest.mark.integration

ROOT = "/opt/cutover/mint"
# Containers of the project (old layout and service names); other engineers' containers on
# the shared engine are not part of the snapshot.
PROJECT_CONTAINERS = {
    "mint-artwork",
    "mint-quote-page",
    "files-api",
    "order-intake",
    "quote-page",
}


def ansible_playbook() -> str:
    venv = REPO_ROOT / ".venv" / "bin" / "ansible-playbook"
    return str(venv) if venv.exists() else "/tmp/probe-venv/bin/ansible-playbook"


def play(
    playbook: str, secrets: dict[str, str], *extra: str, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run playbooks/<playbook>.yml from the repo root; fail the test if a secret leaks."""
    args = [ansible_playbook(), f"playbooks/{playbook}.yml", *extra]
    if check:
        args.append("--check")
    env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
    proc = run(args, check=False, timeout=900, env=env)
    output = proc.stdout + proc.stderr
    for key, value in secrets.items():
        if len(value) >= 6:
            assert value not in output, (
                f"the value of {key} appears in the output of {playbook}"
            )
    return proc


def host_snapshot(ssh: SshRunner) -> str:
    """Everything under the state root except the audit log, plus the containers."""
    files = ssh(
        f"if [ -d {ROOT} ]; then find {ROOT} -path {ROOT}/audit.log -prune -o -print | sort; fi",
    ).stdout
    fmt = "{{.Names}} {{.Image}} {{.State}}"
    containers = host_docker("ps", "-a", "--format", fmt).stdout.splitlines()
    ours = sorted(
        c for c in containers if c.split(" ")[0].split("--")[0] in PROJECT_CONTAINERS
    )
    return files + "\n" + "\n".join(ours)


def serving_image(name: str) -> str:
    return host_docker("inspect", "-f", "{{.Config.Image}}", name).stdout.strip()


@pytest.fixture(scope="module")
def fresh_lab(lab: Path) -> Path:
    """The lab back at the old release, with no /opt/cutover."""
    make("lab-reset")
    return lab


@pytest.fixture
def workload_copy(fresh_lab: Path, tmp_path: Path) -> Iterator[Path]:
    """A throwaway clone of the workload repo at release-new (never the lab's own repo)."""
    dest = tmp_path / "workload"
    run(["git", "clone", "-q", str(fresh_lab / "workload"), str(dest)])
    run(["git", "-C", str(dest), "checkout", "-q", "-B", "throwaway", "release-new"])
    yield dest
    shutil.rmtree(dest, ignore_errors=True)


def commit_file(repo: Path, rel: str, content: str) -> str:
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    run(["git", "-C", str(repo), "add", rel])
    run(
        ["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@example.invalid",
         "commit", "-q", "-m", f"test: add {rel}"],
    )  # fmt: skip
    return run(
        ["git", "-C", str(repo), "rev-parse", "--short=7", "HEAD"]
    ).stdout.strip()


def test_bad_input_fails_before_anything_changes(
    fresh_lab: Path, ssh: SshRunner, lab_secrets: dict[str, str], tmp_path: Path
) -> None:
    before = host_snapshot(ssh)
    services = json.loads(
        run(
            [
                ansible_playbook().replace("ansible-playbook", "ansible-inventory"),
                "--host",
                "docker-host",
            ]
        ).stdout
    )["cutover_services"]
    services[1]["depends_on"] = ["files-apii"]
    services[0]["depends_on"] = ["quote-page"]
    extra = tmp_path / "bad.json"
    extra.write_text(json.dumps({"cutover_services": services}))

    proc = play("build", lab_secrets, "-e", f"@{extra}")

    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "cutover_services[1].depends_on: unknown service 'files-apii'" in out
    assert "dependency cycle" in out
    assert host_snapshot(ssh) == before


def test_baseline_reports_the_old_release(
    fresh_lab: Path, lab_secrets: dict[str, str], releases: dict[str, dict[str, str]]
) -> None:
    proc = play("baseline", lab_secrets)

    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (
        f"current release {releases['old']['sha']} (from running containers)"
        in proc.stdout
    )
    assert "lock: free" in proc.stdout


def test_a_lock_held_by_someone_else_is_refused_and_kept(
    fresh_lab: Path, ssh: SshRunner, lab_secrets: dict[str, str]
) -> None:
    owner = {
        "run_id": "20260101-000000-other",
        "user": "alice",
        "controller": "alice-laptop",
        "ref": "release-new",
        "since": "2026-01-01T00:00:00Z",
        "since_epoch": int(time.time()) - 3 * 3600 - 12 * 60,
    }
    ssh(
        f"mkdir -p {ROOT}/lock && cat > {ROOT}/lock/owner.json <<'EOF'\n{json.dumps(owner)}\nEOF"
    )
    try:
        before = host_snapshot(ssh)
        proc = play("build", lab_secrets)
        out = proc.stdout + proc.stderr

        assert proc.returncode != 0
        assert "deploy lock held by alice@alice-laptop" in out
        assert "run 20260101-000000-other" in out
        assert "age 3h12m" in out
        assert "STALE" in out
        assert f"at {ROOT}/lock" in out and "cutover rollback --run-id 20260101-000000-other" in out
        assert json.loads(ssh(f"cat {ROOT}/lock/owner.json").stdout) == owner
        assert host_snapshot(ssh) == before

        baseline = play("baseline", lab_secrets)
        assert baseline.returncode != 0
        assert (
            "deploy lock held by alice@alice-laptop"
            in baseline.stdout + baseline.stderr
        )
    finally:
        ssh(f"rm -rf {ROOT}/lock")


def test_migrate_applies_once_then_nothing(
    fresh_lab: Path, ssh: SshRunner, psql: PsqlRunner, lab_secrets: dict[str, str]
) -> None:
    first = play("migrate", lab_secrets)
    assert first.returncode == 0, first.stdout[-3000:]
    assert "applied 1 migration(s): 20260212_seed_metadata" in first.stdout
    assert psql("SELECT version FROM schema_migrations") == "20260212_seed_metadata"
    assert (
        psql(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'artwork_seeds' AND column_name = 'metadata'"
        )
        == "1"
    )
    backups = ssh(f"ls {ROOT}/backups").stdout.split()
    assert len(backups) == 1 and backups[0].endswith("-mint.sql.gz")

    second = play("migrate", lab_secrets)
    assert second.returncode == 0, second.stdout[-3000:]
    assert (
        "applied 0 migration(s); already applied: 20260212_seed_metadata"
        in second.stdout
    )
    assert psql("SELECT count(*) FROM schema_migrations") == "1"
    assert ssh(f"ls {ROOT}/backups").stdout.split() == backups
    assert ssh(f"test -e {ROOT}/lock", check=False).returncode != 0


def test_a_migration_with_an_sql_error_rolls_back_and_swaps_nothing(
    fresh_lab: Path,
    ssh: SshRunner,
    psql: PsqlRunner,
    lab_secrets: dict[str, str],
    workload_copy: Path,
) -> None:
    commit_file(
        workload_copy,
        "artwork/migrations/20260301_broken.sql",
        "ALTER TABLE artwork_seeds ADD COLUMN IF NOT EXISTS half_done int;\nSELECT no_such_function();\n",
    )
    ledger_before = psql(
        "SELECT coalesce(string_agg(version, ',' ORDER BY version), '') FROM schema_migrations"
    )
    rows_before = psql("SELECT count(*) FROM artwork_seeds")
    images_before = {
        name: serving_image(name) for name in ("mint-artwork", "mint-quote-page")
    }

    proc = play(
        "migrate",
        lab_secrets,
        "-e",
        f"cutover_source_repo={workload_copy}",
        "-e",
        "cutover_ref=HEAD",
    )
    out = proc.stdout + proc.stderr

    assert proc.returncode != 0
    assert "20260301_broken.sql failed and was rolled back" in out
    assert "no_such_function" in out
    assert (
        psql("SELECT count(*) FROM schema_migrations WHERE version = '20260301_broken'")
        == "0"
    )
    assert (
        psql(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'artwork_seeds' AND column_name = 'half_done'"
        )
        == "0"
    )
    assert psql("SELECT count(*) FROM artwork_seeds") == rows_before
    ledger_after = psql(
        "SELECT coalesce(string_agg(version, ',' ORDER BY version), '') FROM schema_migrations"
    )
    assert set(ledger_before.split(",")) <= set(ledger_after.split(","))
    assert {name: serving_image(name) for name in images_before} == images_before
    assert (
        host_docker("ps", "-a", "-q", "-f", "name=^order-intake$").stdout.strip()
        == ""
    )
    assert ssh(f"test -e {ROOT}/lock", check=False).returncode != 0


def test_prep_refuses_a_dirty_tree_and_a_contracting_migration(
    fresh_lab: Path, ssh: SshRunner, lab_secrets: dict[str, str], workload_copy: Path
) -> None:
    commit_file(
        workload_copy,
        "artwork/migrations/20260302_contract.sql",
        "ALTER TABLE artwork_seeds DROP COLUMN name;\n",
    )
    (workload_copy / "stray.txt").write_text("not committed\n")
    before = host_snapshot(ssh)

    proc = play(
        "prep",
        lab_secrets,
        "-e",
        f"cutover_source_repo={workload_copy}",
        "-e",
        "cutover_ref=HEAD",
    )
    out = proc.stdout + proc.stderr

    assert proc.returncode != 0
    assert "has uncommitted changes" in out and "stray.txt" in out
    assert (
        "20260302_contract.sql: not expand-only (DROP: ALTER TABLE artwork_seeds DROP COLUMN name)"
        in out
    )
    assert host_snapshot(ssh) == before


def test_prep_passes_on_release_new_and_plans_without_changing_the_host(
    fresh_lab: Path,
    ssh: SshRunner,
    lab_secrets: dict[str, str],
    releases: dict[str, dict[str, str]],
) -> None:
    before = host_snapshot(ssh)

    proc = play("prep", lab_secrets)

    assert proc.returncode == 0, proc.stdout[-3000:]
    assert f"release {releases['new']['sha']} = release-new" in proc.stdout
    assert "env contract: complete" in proc.stdout
    assert "gates: 9 passed, 0 failed" in proc.stdout
    assert host_snapshot(ssh) == before


def test_prep_stops_when_staging_fails_its_smoke_baseline(
    fresh_lab: Path, ssh: SshRunner, lab_secrets: dict[str, str]
) -> None:
    # The lab itself stands in for staging: it still runs release-old, where order-intake
    # does not exist, so release-new's health gates cannot pass there.
    before = host_snapshot(ssh)

    proc = play("prep", lab_secrets, "-e", "cutover_staging_inventory=inventory/lab")
    out = proc.stdout + proc.stderr

    assert proc.returncode != 0
    assert "staging smoke baseline (inventory/lab) failed: health gate failed: order-intake" in out
    assert host_snapshot(ssh) == before


def test_build_ships_the_commit_and_is_idempotent(
    fresh_lab: Path,
    ssh: SshRunner,
    lab_secrets: dict[str, str],
    releases: dict[str, dict[str, str]],
) -> None:
    sha = releases["new"]["sha"]
    check = play("build", lab_secrets, check=True)
    assert check.returncode == 0, check.stdout[-3000:]
    assert ssh(f"test -e {ROOT}/releases/{sha}", check=False).returncode != 0

    first = play("build", lab_secrets, "-e", "cutover_run_id=test-build-1")
    assert first.returncode == 0, first.stdout[-3000:]
    assert (
        ssh(f"cat {ROOT}/releases/{sha}/.complete").stdout.find(
            releases["new"]["commit"]
        )
        >= 0
    )
    assert ssh(f"find {ROOT}/releases/{sha} -perm /222 | wc -l").stdout.strip() == "0"
    built_here = "built: nothing (all tags exist)" not in first.stdout
    for image in ("artwork", "order-intake", "quote-page"):
        ref = f"mint-modules/{image}:{sha}"
        fmt = "{{json .Config.Labels}}"
        labels = host_docker("image", "inspect", "-f", fmt, ref).stdout
        if (
            built_here
        ):  # an image whose tag already existed is not rebuilt (nor relabelled)
            assert f'"cutover.release":"{sha}"' in labels
    state = json.loads(ssh(f"cat {ROOT}/state.json").stdout)
    assert state["in_progress"]["target"] == sha
    assert ssh(f"test -e {ROOT}/lock", check=False).returncode != 0

    second = play("build", lab_secrets, "-e", "cutover_run_id=test-build-1")
    assert second.returncode == 0, second.stdout[-3000:]
    assert "nothing (release already on the host)" in second.stdout
