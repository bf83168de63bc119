"""Prep's smoke baseline on staging: the outcome of its verify run (filter_plugins/cutover_staging.py)."""

from __future__ import annotations

import json
from typing import Any

from tests.unit.plugins import ROLES, load

staging = load("cutover_staging_filters", ROLES / "cutover_prep" / "filter_plugins" / "cutover_staging.py")


def _run(rc: int, verify: dict[str, Any] | None, stderr: str = "", noise: str = "") -> dict[str, Any]:
    report = {"plays": [], "global_custom_stats": {"cutover_verify": verify} if verify is not None else {}}
    return {"rc": rc, "stdout": noise + json.dumps(report), "stderr": stderr}


def test_a_passing_staging_reports_each_gate_and_the_smoke_summary() -> None:
    verify = {"ok": True, "health": {"web": {"ok": True, "status": 200}, "api": {"ok": True}},
              "smoke": {"summary": "6 passed, 2 skipped"}}  # fmt: skip
    out = staging.cutover_staging_outcome(_run(0, verify, noise="[WARNING]: a line before the report\n"), "stg.yml")
    assert out == {"inventory": "stg.yml", "ok": True, "health": {"web": True, "api": True},
                   "smoke": "6 passed, 2 skipped", "reason": ""}  # fmt: skip


def test_a_failing_staging_gives_verifys_reason() -> None:
    verify = {"ok": False, "health": {"web": {"ok": False}}, "reason": "health gate web: 503"}
    out = staging.cutover_staging_outcome(_run(2, verify), "stg.yml")
    assert out["ok"] is False and out["health"] == {"web": False} and out["smoke"] == "not run"
    assert out["reason"] == "health gate web: 503"


def test_a_run_that_says_nothing_usable_fails_with_its_last_error_line_else_its_exit_code() -> None:
    unreachable = {"rc": 4, "stdout": "not json {", "stderr": "first\nstaging-host: UNREACHABLE\n"}
    assert staging.cutover_staging_outcome(unreachable, "stg.yml")["reason"] == "staging-host: UNREACHABLE"
    assert staging.cutover_staging_outcome({"rc": 1, "stdout": "", "stderr": ""}, "s")["reason"] == (
        "ansible-playbook exited 1"
    )
    # exit 0 without verify's verdict is no pass either
    assert staging.cutover_staging_outcome(_run(0, None), "s")["ok"] is False
