"""The release's up-migrations, read from the exported tree on the controller (unit-tested).

  cutover_migration_files(tree, paths) -> [{version, file, path, checksum}] sorted by version
      Every ``*.sql`` file directly in each of ``paths`` (relative to ``tree``, the exported
      commit) except ``*.down.sql`` and hidden files; ``version`` is the file name without
      ``.sql``, ``file`` the path relative to the tree, ``checksum`` the sha256 of its bytes (the
      ledger's checksum). One pass on the controller where a find and a stat per file took
      one task each; the same figures.

  cutover_migration_plan(files, applied, database, ledger_present)
      -> {database, ledger_present, pending, pending_files, already, drift}
      ``applied`` is the ledger ({version: checksum}); a file is pending when its version is not
      in it, already applied when it is; an applied file whose bytes no longer match the
      ledger's checksum is drift, one sentence each.

  cutover_migration_applied(results) -> [{version, checksum, duration_s}]
      What the apply loop ran (community.postgresql.postgresql_query results, one per file).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


def cutover_migration_files(tree: Any, paths: Any) -> list[dict[str, Any]]:
    root = Path(str(tree))
    out = []
    for rel in paths or []:
        folder = root / str(rel)
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            name = path.name
            if name.startswith(".") or not name.endswith(".sql") or name.endswith(".down.sql") or not path.is_file():
                continue
            out.append({
                "version": name[: -len(".sql")],
                "file": str(path.relative_to(root)),
                "path": str(path),
                "checksum": hashlib.sha256(path.read_bytes()).hexdigest(),
            })  # fmt: skip
    return sorted(out, key=lambda f: f["version"])


def cutover_migration_plan(files: Any, applied: Any, database: Any, ledger_present: Any) -> dict[str, Any]:
    ledger = dict(applied or {})
    files = list(files or [])
    pending = [f for f in files if f["version"] not in ledger]
    return {
        "database": database,
        "ledger_present": ledger_present,
        "pending": [f["version"] for f in pending],
        "pending_files": [f["file"] for f in pending],
        "already": [f["version"] for f in files if f["version"] in ledger],
        "drift": [
            f"checksum drift: {f['version']} applied with {ledger[f['version']]}, file now {f['checksum']}"
            for f in files
            if f["version"] in ledger and ledger[f["version"]] != f["checksum"]
        ],
    }


def cutover_migration_applied(results: Any) -> list[dict[str, Any]]:
    return [
        {
            "version": r["item"]["version"],
            "checksum": r["item"]["checksum"],
            "duration_s": round(sum(r.get("execution_time_ms") or [0]) / 1000, 3),
        }
        for r in results or []
    ]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "cutover_migration_files": cutover_migration_files,
            "cutover_migration_plan": cutover_migration_plan,
            "cutover_migration_applied": cutover_migration_applied,
        }
