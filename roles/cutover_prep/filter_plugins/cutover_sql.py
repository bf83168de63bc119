"""Expand-only lint of SQL migrations.

Filters:
  cutover_sql_violations(sql) -> list[str]   offending statements, each "<rule>: <statement>"
  cutover_sql_lint_files(files, pending) -> list[str]
                                             "<file>: not expand-only (<violation>)" for the pending files
  cutover_env_keys(text) -> list[str]        names with a value in an env file; delegates to the one
                                             env-file parser: cutover_envfile_keys(text, lenient=true)
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

# Each rule: (name, pattern). A statement matching any rule is not expand-only.
# Documented in roles/cutover_prep/README.md; keep both in step.
RULES: list[tuple[str, re.Pattern[str]]] = [
    ("DROP", re.compile(r"\bDROP\b", re.IGNORECASE)),
    ("RENAME", re.compile(r"\bRENAME\b", re.IGNORECASE)),
    (
        "ALTER ... TYPE",
        re.compile(
            r"\bALTER\s+(?:COLUMN\s+)?(?:\"[^\"]+\"|\w+)\s+(?:SET\s+DATA\s+)?TYPE\b",
            re.IGNORECASE,
        ),
    ),
    ("SET NOT NULL", re.compile(r"\bSET\s+NOT\s+NULL\b", re.IGNORECASE)),
    ("TRUNCATE", re.compile(r"\bTRUNCATE\b", re.IGNORECASE)),
    ("DELETE", re.compile(r"\bDELETE\s+FROM\b", re.IGNORECASE)),
    (
        "UPDATE without WHERE",
        re.compile(r"\bUPDATE\b(?![\s\S]*\bWHERE\b)", re.IGNORECASE),
    ),
    (
        "ADD COLUMN ... NOT NULL without DEFAULT",
        re.compile(
            r"\bADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?\w+\s+[^,;]*\bNOT\s+NULL\b(?![^,;]*\bDEFAULT\b)",
            re.IGNORECASE,
        ),
    ),
    # Each migration runs in one transaction: these always fail there, after the backup and
    # with the lock held, so they are refused up front.
    (
        "not allowed in a transaction (CONCURRENTLY, VACUUM, CREATE DATABASE, ALTER SYSTEM)",
        re.compile(r"\bCONCURRENTLY\b|\bVACUUM\b|\bCREATE\s+DATABASE\b|\bALTER\s+SYSTEM\b", re.IGNORECASE),
    ),
]

_COMMENTS = re.compile(r"--[^\n]*|/\*[\s\S]*?\*/")
_STRINGS = re.compile(r"'(?:[^']|'')*'")


def _statements(sql: str) -> list[str]:
    text = _COMMENTS.sub(" ", sql)
    text = _STRINGS.sub("''", text)
    return [" ".join(s.split()) for s in text.split(";") if s.strip()]


def cutover_sql_violations(sql: str) -> list[str]:
    """Statements that are not expand-only, as '<rule>: <statement>'."""
    found: list[str] = []
    for stmt in _statements(str(sql)):
        for name, pattern in RULES:
            if pattern.search(stmt):
                found.append(f"{name}: {stmt}")
                break
    return found


def cutover_sql_lint_files(files: Any, pending: Any) -> list[str]:
    """'<file>: not expand-only (<rule>: <statement>)' for each offending statement of the pending
    migration files ({version, file, path} on the controller; the others ran already)."""
    todo = set(pending or [])
    return [
        f"{f['file']}: not expand-only ({violation})"
        for f in files or []
        if f["version"] in todo
        for violation in cutover_sql_violations(Path(f["path"]).read_text(encoding="utf-8"))
    ]


def _envfile() -> ModuleType:
    """The one env-file parser: cutover_envfile.py beside this file (a link to roles/cutover_common's)."""
    name = "cutover_prep_envfile"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("cutover_envfile.py"))
        if spec is None or spec.loader is None:
            raise ImportError(f"cutover_envfile.py not found beside {__file__}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def cutover_env_keys(text: str) -> list[str]:
    """Keys that have a non-empty value; values are never returned. Prefer cutover_envfile_keys."""
    keys: list[str] = _envfile().keys(text, lenient=True)
    return keys


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "cutover_sql_violations": cutover_sql_violations,
            "cutover_sql_lint_files": cutover_sql_lint_files,
            "cutover_env_keys": cutover_env_keys,
        }
