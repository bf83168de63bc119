"""Prep's verdict and its two inputs from the release's migrations: the plan against the ledger
(cutover_migrate/filter_plugins/cutover_migrations.py), the expand-only lint of the pending files
(cutover_prep/filter_plugins/cutover_sql.py) and the problems in one list (cutover_prep.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.unit.plugins import ROLES, load

prep = load("cutover_prep_filters", ROLES / "cutover_prep" / "filter_plugins" / "cutover_prep.py")
sql = load("cutover_sql_filters", ROLES / "cutover_prep" / "filter_plugins" / "cutover_sql.py")
migrations = load("cutover_migrations", ROLES / "cutover_migrate" / "filter_plugins" / "cutover_migrations.py")

FILES = [
    {"version": "001_init", "file": "db/001_init.sql", "checksum": "aaa"},
    {"version": "002_index", "file": "db/002_index.sql", "checksum": "bbb"},
    {"version": "003_column", "file": "db/003_column.sql", "checksum": "ccc"},
]


def test_the_plan_splits_pending_from_applied_and_names_drift() -> None:
    plan = migrations.cutover_migration_plan(FILES, {"001_init": "aaa", "002_index": "old"}, "mint", True)
    assert plan == {
        "database": "mint",
        "ledger_present": True,
        "pending": ["003_column"],
        "pending_files": ["db/003_column.sql"],
        "already": ["001_init", "002_index"],
        "drift": ["checksum drift: 002_index applied with old, file now bbb"],
    }


def test_without_a_ledger_everything_is_pending() -> None:
    plan = migrations.cutover_migration_plan(FILES, {}, "mint", False)
    assert plan["pending"] == ["001_init", "002_index", "003_column"] and plan["already"] == plan["drift"] == []
    assert migrations.cutover_migration_plan(None, None, "mint", False)["pending"] == []


def test_the_lint_reads_only_the_pending_files(tmp_path: Path) -> None:
    applied = tmp_path / "001.sql"
    applied.write_text("DROP TABLE old;\n")  # ran long ago: not this release's business
    pending = tmp_path / "002.sql"
    pending.write_text("ALTER TABLE t ADD COLUMN c int;\nDROP TABLE gone;\n")
    files = [{"version": "001", "file": "db/001.sql", "path": str(applied)},
             {"version": "002", "file": "db/002.sql", "path": str(pending)}]  # fmt: skip
    lint = sql.cutover_sql_lint_files(files, ["002"])
    assert len(lint) == 1 and lint[0].startswith("db/002.sql: not expand-only (") and "DROP TABLE gone" in lint[0]
    assert sql.cutover_sql_lint_files(files, []) == []


def _checks(**over: Any) -> dict[str, Any]:
    checks: dict[str, Any] = {
        "env_file": "/srv/app/.env",
        "env_contract": {"readable": True, "missing": [], "problems": []},
        "require_clean_tree": True,
        "source_repo": "/src/app",
        "tree_status": [],
        "gates": [{"ok": True, "gate": "test", "service": "web", "module": "web", "rc": 0}],
        "drift": [],
        "migration_lint": [],
        "staging": None,
        "staging_inventory": "",
    }
    return checks | over


def test_a_clean_prep_has_no_problems() -> None:
    assert prep.cutover_prep_problems(_checks()) == []


def test_every_failed_check_is_one_sentence_in_order() -> None:
    problems = prep.cutover_prep_problems(_checks(
        env_contract={"readable": True, "missing": ["DB_URL", "API_KEY"], "problems": ["line 3: KEY has no '='"]},
        tree_status=[" M app.py", "?? new.txt", ""],
        gates=[{"ok": False, "gate": "lint", "service": "web", "module": "web", "rc": 2},
               {"ok": False, "reason": "gate test of api timed out after 300 s"},
               {"ok": True}],
        drift=["checksum drift: 001 applied with a, file now b"],
        migration_lint=["db/002.sql: not expand-only (drop: DROP TABLE t)"],
        staging={"ok": False, "reason": "health gate web: 503"},
        staging_inventory="inventory/staging.yml",
    ))  # fmt: skip
    assert problems == [
        "env contract: line 3: KEY has no '='",
        "env contract: missing or empty in /srv/app/.env: DB_URL, API_KEY",
        "cutover_source_repo: /src/app has uncommitted changes: M app.py, ?? new.txt",
        "gate lint of web (web) failed with rc 2",
        "gate test of api timed out after 300 s",
        "checksum drift: 001 applied with a, file now b",
        "db/002.sql: not expand-only (drop: DROP TABLE t)",
        "staging smoke baseline (inventory/staging.yml) failed: health gate web: 503",
    ]


def test_an_unreadable_env_file_is_one_problem_and_a_dirty_tree_may_be_allowed() -> None:
    problems = prep.cutover_prep_problems(_checks(
        env_contract={"readable": False, "missing": ["DB_URL"], "problems": []},
        tree_status=[" M app.py"], require_clean_tree=False,
    ))  # fmt: skip
    assert problems == ["cutover_env_file: /srv/app/.env cannot be read on the host"]


def test_a_staging_that_passed_or_was_not_configured_is_no_problem() -> None:
    assert prep.cutover_prep_problems(_checks(staging={"ok": True, "reason": ""})) == []
    assert prep.cutover_prep_problems(_checks(staging=None)) == []


def test_what_the_apply_loop_ran_is_recorded_with_its_duration() -> None:
    results = [
        {"item": {"version": "001", "checksum": "aaa"}, "execution_time_ms": [2, 1500, 3]},
        {"item": {"version": "002", "checksum": "bbb"}},
    ]
    assert migrations.cutover_migration_applied(results) == [
        {"version": "001", "checksum": "aaa", "duration_s": 1.505},
        {"version": "002", "checksum": "bbb", "duration_s": 0.0},
    ]
    assert migrations.cutover_migration_applied(None) == []
