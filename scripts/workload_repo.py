#!/usr/bin/env python3
"""Generate a lab workload's git repository from examples/ (deterministic SHAs).

    python3 scripts/workload_repo.py --dest .lab/workload                  # mint (the lab's)
    python3 scripts/workload_repo.py --workload greenhouse --dest .lab/greenhouse

mint: three commits, in order: old (tag release-old), new (tag release-new), broken (tag
release-broken, child of new). Trees are built from examples/mint-modules (the new
release) and the overlays under examples/releases/<name>/ (files/ replace, delete.txt
removes). greenhouse (the second example): v1 (gh-v1), v2 (gh-v2, adds gh-alerts),
broken (gh-broken, child of v2), from examples/greenhouse/services and .../releases.
Author, committer and dates are fixed and every blob is recorded as 100644, so the commits
are identical on every machine. Stdlib only; uses the git CLI.

Idempotent: when the tags already point at the expected commits nothing changes. The
working tree is left clean with branch `main` (= the newest release) checked out. Also writes
DEST/../<DEST name>-releases.json (.lab/workload-releases.json for the lab's) and
prints one line per release ("<name> <tag> <sha7> <commit>"), then "workload repo DEST: created|updated|unchanged; ...".
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = REPO_ROOT / "examples"
BRANCH = "main"
IGNORED_PARTS = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
IGNORED_SUFFIXES = (".pyc", ".pyo")

IDENTITY = {
    "GIT_AUTHOR_NAME": "Mint Modules Lab",
    "GIT_AUTHOR_EMAIL": "lab@mint-modules.invalid",
    "GIT_COMMITTER_NAME": "Mint Modules Lab",
    "GIT_COMMITTER_EMAIL": "lab@mint-modules.invalid",
}
# -c options that neutralise the caller's git config (signing, hooks, line endings).
GIT_OPTIONS = [
    "-c", "commit.gpgsign=false",
    "-c", "tag.gpgsign=false",
    "-c", "core.hooksPath=/dev/null",
    "-c", f"init.defaultBranch={BRANCH}",
    "-c", "core.autocrlf=false",
    "-c", "core.safecrlf=false",
    "-c", "core.fileMode=true",
    "-c", "advice.detachedHead=false",
]  # fmt: skip


@dataclass(frozen=True)
class Release:
    name: str
    tag: str
    parent: str | None  # name of the parent release
    date: str  # ISO 8601 with offset
    message: str


@dataclass(frozen=True)
class Workload:
    tree: str  # the newest release's tree, under examples/
    overlays: str  # <release>/files and <release>/delete.txt, under examples/
    head: str  # the newest release (branch main); the others are overlays on it
    releases: tuple[Release, ...]


RELEASES = (
    Release(
        "old",
        "release-old",
        None,
        "2026-01-20T09:00:00+00:00",
        "Release old: files-api and quote-page, one container per module\n\n"
        "artwork_seeds without metadata; no order-intake.\n",
    ),
    Release(
        "new",
        "release-new",
        "old",
        "2026-02-12T01:00:00+00:00",
        "Release new: order-intake, seed metadata and has_line_item\n\n"
        "Adds migration artwork/migrations/20260212_seed_metadata.sql (expand-only).\n",
    ),
    Release(
        "broken",
        "release-broken",
        "new",
        "2026-02-12T02:00:00+00:00",
        "Release broken: files-api reads MINIO_BUCKET_NAME\n\n"
        "For rollback tests: gates pass, the service is never healthy.\n",
    ),
)


GREENHOUSE_RELEASES = (
    Release(
        "v1",
        "gh-v1",
        None,
        "2026-03-02T09:00:00+00:00",
        "greenhouse v1: gh-sensors, gh-climate, gh-dashboard\n\nMigration 0001 (gh.readings).\n",
    ),
    Release(
        "v2",
        "gh-v2",
        "v1",
        "2026-03-16T09:00:00+00:00",
        "greenhouse v2: adds gh-alerts\n\nMigration 0002 (gh.alert_rules), expand-only.\n",
    ),
    Release(
        "broken",
        "gh-broken",
        "v2",
        "2026-03-16T10:00:00+00:00",
        "greenhouse broken: the dashboard answers ready: false\n\n"
        "For rollback tests: gates pass, Docker says healthy, the health contract fails.\n",
    ),
)

WORKLOADS = {
    "mint": Workload("mint-modules", "releases", "new", RELEASES),
    "greenhouse": Workload("greenhouse/services", "greenhouse/releases", "v2", GREENHOUSE_RELEASES),
}


class GitError(RuntimeError):
    pass


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
        }
    )
    env.update(IDENTITY)
    if extra:
        env.update(extra)
    return env


def git(
    dest: Path,
    *args: str,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    check: bool = True,
) -> str:
    proc = subprocess.run(
        ["git", *GIT_OPTIONS, "-C", str(dest), *args],
        input=stdin,
        capture_output=True,
        env=git_env(env),
        check=False,
    )
    if check and proc.returncode != 0:
        raise GitError(
            f"git {' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr.decode(errors='replace').strip()}"
        )
    return proc.stdout.decode().strip()


def _ignored(rel: Path) -> bool:
    return any(part in IGNORED_PARTS for part in rel.parts) or rel.name.endswith(IGNORED_SUFFIXES)


def collect(root: Path) -> dict[str, Path]:
    """Relative posix path -> file, for every file under root (caches skipped)."""
    files: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not _ignored(rel):
            files[rel.as_posix()] = path
    return files


def release_tree(name: str, examples: Path = EXAMPLES, workload: Workload = WORKLOADS["mint"]) -> dict[str, Path]:
    """The files of a release: newest tree, minus delete.txt, plus files/ overlay."""
    tree = collect(examples / workload.tree)
    if name == workload.head:
        return tree
    overlay = examples / workload.overlays / name
    if not overlay.is_dir():
        raise SystemExit(f"release {name!r}: overlay directory {overlay} is missing")
    delete_file = overlay / "delete.txt"
    if delete_file.exists():
        for line in delete_file.read_text().splitlines():
            prefix = line.strip().strip("/")
            if not prefix or prefix.startswith("#"):
                continue
            doomed = [p for p in tree if p == prefix or p.startswith(prefix + "/")]
            if not doomed:
                raise SystemExit(f"{delete_file}: {prefix!r} matches no file of the newest tree")
            for path in doomed:
                del tree[path]
    if (overlay / "files").is_dir():
        tree.update(collect(overlay / "files"))
    return tree


def write_tree(dest: Path, files: dict[str, Path]) -> str:
    """Write blobs and a tree object (all 100644) without touching the work tree."""
    with tempfile.TemporaryDirectory(prefix="workload-index-") as tmp:
        index_env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        lines = []
        for rel, path in sorted(files.items()):
            blob = git(dest, "hash-object", "-w", "--no-filters", str(path))
            lines.append(f"100644 {blob}\t{rel}")
        git(
            dest,
            "update-index",
            "--add",
            "--index-info",
            env=index_env,
            stdin=("\n".join(lines) + "\n").encode(),
        )
        return git(dest, "write-tree", env=index_env)


def commit_tree(dest: Path, tree: str, parent: str | None, release: Release) -> str:
    args = ["commit-tree", tree]
    if parent:
        args += ["-p", parent]
    dates = {"GIT_AUTHOR_DATE": release.date, "GIT_COMMITTER_DATE": release.date}
    return git(dest, *args, env=dates, stdin=release.message.encode())


def resolve(dest: Path, ref: str) -> str | None:
    out = git(dest, "rev-parse", "-q", "--verify", f"{ref}^{{commit}}", check=False)
    return out or None


def generate(
    dest: Path, examples: Path = EXAMPLES, workload: Workload = WORKLOADS["mint"]
) -> tuple[dict[str, dict[str, str]], str]:
    """Create or update the repo. Returns (releases info, created|updated|unchanged)."""
    dest.mkdir(parents=True, exist_ok=True)
    created = not (dest / ".git").exists()
    if created:
        git(dest, "init", "-q", "-b", BRANCH)
    commits: dict[str, str] = {}
    for release in workload.releases:
        tree = write_tree(dest, release_tree(release.name, examples, workload))
        parent = commits[release.parent] if release.parent else None
        commits[release.name] = commit_tree(dest, tree, parent, release)

    changed = False
    for release in workload.releases:
        if resolve(dest, f"refs/tags/{release.tag}") != commits[release.name]:
            git(dest, "update-ref", f"refs/tags/{release.tag}", commits[release.name])
            changed = True
    head_ref = git(dest, "symbolic-ref", "-q", "HEAD", check=False)
    if resolve(dest, f"refs/heads/{BRANCH}") != commits[workload.head] or head_ref != (f"refs/heads/{BRANCH}"):
        git(dest, "update-ref", f"refs/heads/{BRANCH}", commits[workload.head])
        git(dest, "checkout", "-q", "-f", BRANCH)
        changed = True
    elif changed:
        git(dest, "checkout", "-q", "-f", BRANCH)

    info = {
        release.name: {
            "tag": release.tag,
            "sha": git(dest, "rev-parse", "--short=7", commits[release.name]),
            "commit": commits[release.name],
        }
        for release in workload.releases
    }
    return info, "created" if created else ("updated" if changed else "unchanged")


def write_json(path: Path, info: dict[str, dict[str, str]]) -> bool:
    text = json.dumps(info, indent=2) + "\n"
    if path.exists() and path.read_text() == text:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--dest", required=True, type=Path, help="git repository to create/update")
    parser.add_argument(
        "--examples",
        type=Path,
        default=EXAMPLES,
        help="examples/ dir (default: this repo's)",
    )
    parser.add_argument(
        "--workload",
        choices=sorted(WORKLOADS),
        default="mint",
        help="which example workload (default: mint, the lab's)",
    )
    args = parser.parse_args(argv)
    dest: Path = args.dest.resolve()
    workload = WORKLOADS[args.workload]
    if not (args.examples / workload.tree).is_dir():
        parser.error(f"--examples: {args.examples}/{workload.tree} not found")
    if dest.exists() and not dest.is_dir():
        parser.error(f"--dest: {dest} exists and is not a directory")
    try:
        info, state = generate(dest, args.examples.resolve(), workload)
    except GitError as exc:
        print(f"workload_repo: {exc}", file=sys.stderr)
        return 1
    json_path = dest.parent / f"{dest.name}-releases.json"
    wrote = write_json(json_path, info)
    for name, rel in info.items():
        print(f"{name:<7} {rel['tag']:<15} {rel['sha']} {rel['commit']}")
    print(f"workload repo {dest}: {state}; releases in {json_path}{' (written)' if wrote else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
