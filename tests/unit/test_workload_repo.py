"""scripts/workload_repo.py: the lab's workload git history, deterministic and idempotent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "workload_repo.py"
MIGRATION = "artwork/migrations/20260212_seed_metadata.sql"
MIGRATION_SQL = (
    "ALTER TABLE artwork_seeds ADD COLUMN IF NOT EXISTS metadata jsonb DEFAULT NULL;"
)
TAGS = ("release-old", "release-new", "release-broken")


def run_script(dest: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--dest", str(dest)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def files_at(repo: Path, ref: str) -> set[str]:
    return set(git(repo, "ls-tree", "-r", "--name-only", ref).splitlines())


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("first") / "workload"
    run_script(dest)
    return dest


def test_same_shas_on_every_generation(repo: Path, tmp_path: Path) -> None:
    # A hostile caller config (signing on, hooks, other default branch) must not matter.
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text(
        "[commit]\n\tgpgsign = true\n[init]\n\tdefaultBranch = trunk\n"
        "[user]\n\tname = Someone Else\n\temail = else@example.com\n"
    )
    (tmp_path / ".gitconfig").write_text(gitconfig.read_text())
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(gitconfig), "HOME": str(tmp_path)}
    other = tmp_path / "second" / "workload"
    run_script(other, env=env)
    for tag in TAGS:
        assert git(repo, "rev-parse", tag) == git(other, "rev-parse", tag)
    first = json.loads((repo.parent / "workload-releases.json").read_text())
    second = json.loads((other.parent / "workload-releases.json").read_text())
    assert first == second


def test_tags_and_releases_json(repo: Path) -> None:
    info = json.loads((repo.parent / "workload-releases.json").read_text())
    assert list(info) == ["old", "new", "broken"]
    for name, tag in zip(("old", "new", "broken"), TAGS, strict=True):
        commit = git(repo, "rev-parse", f"{tag}^{{commit}}")
        assert info[name] == {"tag": tag, "sha": commit[:7], "commit": commit}
    # history: old <- new <- broken
    assert git(repo, "rev-parse", "release-new^") == info["old"]["commit"]
    assert git(repo, "rev-parse", "release-broken^") == info["new"]["commit"]


def test_old_has_no_order_intake_and_no_migrations(repo: Path) -> None:
    old = files_at(repo, "release-old")
    assert any(p.startswith("artwork/app/") for p in old)
    assert any(p.startswith("quote-page/app/") for p in old)
    assert not any(p.startswith("order-intake/") for p in old)
    assert not any(p.startswith("artwork/migrations/") for p in old)
    seeds = git(repo, "show", "release-old:artwork/app/seeds.py")
    assert "metadata" not in seeds
    assert "has_line_item" not in seeds


def test_new_has_the_migration_with_the_exact_sql(repo: Path) -> None:
    new = files_at(repo, "release-new")
    assert {
        "artwork/Dockerfile",
        "order-intake/Dockerfile",
        "quote-page/Dockerfile",
    } <= new
    assert git(repo, "show", f"release-new:{MIGRATION}") == MIGRATION_SQL


def test_broken_differs_from_new_only_in_files_api(repo: Path) -> None:
    changed = git(repo, "diff", "--name-only", "release-new", "release-broken")
    assert changed.splitlines() == ["artwork/app/config.py"]
    broken = git(repo, "show", "release-broken:artwork/app/config.py")
    assert '"MINIO_BUCKET_NAME"' in broken


def test_tree_is_clean_on_release_new(repo: Path) -> None:
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "rev-parse", "HEAD") == git(repo, "rev-parse", "release-new")


def test_rerun_changes_nothing(repo: Path) -> None:
    refs_before = git(repo, "show-ref")
    json_path = repo.parent / "workload-releases.json"
    mtime = json_path.stat().st_mtime_ns
    out = run_script(repo)
    assert f"workload repo {repo}: unchanged" in out
    assert git(repo, "show-ref") == refs_before
    assert json_path.stat().st_mtime_ns == mtime
    assert git(repo, "status", "--porcelain") == ""


def test_moved_tag_is_put_back(tmp_path: Path) -> None:
    dest = tmp_path / "workload"
    assert f"workload repo {dest}: created" in run_script(dest)
    expected = git(dest, "rev-parse", "release-new")
    git(dest, "tag", "-f", "release-new", "release-old")
    out = run_script(dest)
    assert f"workload repo {dest}: updated" in out
    assert git(dest, "rev-parse", "release-new") == expected
