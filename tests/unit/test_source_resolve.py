"""roles/cutover_common/tasks/source_resolve.yml against a real git repository: the ref's commit,
its short SHA (the image tag) and which services the commit has, read with one pipe lookup in
ansible-playbook's own process; a ref that is no commit stops with git's words. Real
ansible-playbook on localhost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    cutover_services:
      - {name: web, module: web, image: x/web, networks: [], env: []}
      - {name: jobs, module: jobs, image: x/jobs, networks: [], env: []}
  tasks:
    - name: Resolve
      ansible.builtin.include_role:
        name: cutover_common
        tasks_from: source_resolve
    - name: Write what was resolved
      ansible.builtin.copy:
        content: >-
          {{ {'commit': cutover_commit, 'release': cutover_release, 'absent': cutover_release_absent} | to_json }}
        dest: "{{ playbook_dir }}/resolved.json"
        mode: "0600"
"""


def git(repo: Path, *args: str) -> str:
    env = os.environ | {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    repo = tmp_path_factory.mktemp("source")
    git(repo, "init", "-q", "-b", "main")
    (repo / "web").mkdir()
    (repo / "web" / "Dockerfile").write_text("FROM scratch\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "web only")
    commit = git(repo, "rev-parse", "HEAD").strip()
    # a tag and a branch of the same name (rev-parse without --quiet warns that it is ambiguous)
    git(repo, "tag", "v1")
    git(repo, "branch", "v1")
    return repo, commit


def resolve(tmp_path: Path, repo: Path, ref: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    # its own config: none of the caller's ANSIBLE_CONFIG (make test sets the repo's)
    (tmp_path / "ansible.cfg").write_text("[defaults]\nnocolor = true\n")
    return subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), "play.yml",
         "-e", json.dumps({"cutover_source_repo": str(repo), "cutover_ref": ref})],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env=os.environ | {"ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"), "ANSIBLE_ROLES_PATH": str(REPO / "roles")},
    )  # fmt: skip


def resolved(tmp_path: Path) -> dict[str, object]:
    doc: dict[str, object] = json.loads((tmp_path / "resolved.json").read_text())
    return doc


def test_an_ambiguous_ref_resolves_to_its_commit_and_the_services_the_commit_has(
    tmp_path: Path, source: tuple[Path, str]
) -> None:
    repo, commit = source
    proc = resolve(tmp_path, repo, "v1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert resolved(tmp_path) == {"commit": commit, "release": commit[:7], "absent": ["jobs"]}


@pytest.mark.parametrize(
    ("ref", "repo_name", "words"),
    [("no-such-ref", "", "(unknown ref)"), ("main", "missing", "cannot change to")],
)
def test_a_ref_that_is_no_commit_stops_with_gits_words(
    tmp_path: Path, source: tuple[Path, str], ref: str, repo_name: str, words: str
) -> None:
    repo = source[0] / repo_name if repo_name else source[0]
    proc = resolve(tmp_path, repo, ref)
    assert proc.returncode != 0 and not (tmp_path / "resolved.json").exists()
    assert f"cutover_ref: '{ref}' does not resolve to a commit in cutover_source_repo" in proc.stdout
    assert words in proc.stdout, proc.stdout
