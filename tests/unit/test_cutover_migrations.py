"""The release's up-migrations and their checksums (roles/cutover_migrate/filter_plugins/cutover_migrations.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.unit.plugins import ROLES, load

migrations = load("cutover_migrations", ROLES / "cutover_migrate" / "filter_plugins" / "cutover_migrations.py")


def test_up_migrations_in_version_order_with_the_sha256_of_their_bytes(tmp_path: Path) -> None:
    db = tmp_path / "services" / "db" / "migrations"
    other = tmp_path / "shared" / "sql"
    for folder in (db, other):
        folder.mkdir(parents=True)
    (db / "20260301_add_index.sql").write_text("CREATE INDEX i ON t (c);\n")
    (db / "20260301_add_index.down.sql").write_text("DROP INDEX i;\n")
    (db / ".20260101_hidden.sql").write_text("SELECT 1;\n")
    (db / "README.md").write_text("not a migration\n")
    (db / "nested").mkdir()
    (db / "nested" / "20250101_deeper.sql").write_text("SELECT 1;\n")
    (other / "20260212_seed.sql").write_bytes(b"INSERT INTO t VALUES (1);\n")

    files = migrations.cutover_migration_files(str(tmp_path), ["services/db/migrations", "shared/sql", "missing"])

    assert [f["version"] for f in files] == ["20260212_seed", "20260301_add_index"]
    seed = files[0]
    assert seed["file"] == "shared/sql/20260212_seed.sql"
    assert seed["path"] == str(other / "20260212_seed.sql")
    assert seed["checksum"] == hashlib.sha256(b"INSERT INTO t VALUES (1);\n").hexdigest()


def test_no_paths_no_migrations(tmp_path: Path) -> None:
    assert migrations.cutover_migration_files(str(tmp_path), []) == []
    assert migrations.cutover_migration_files(str(tmp_path), None) == []
