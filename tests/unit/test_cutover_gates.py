"""Unit tests of prep's gate decision (roles/cutover_prep/filter_plugins/cutover_gates.py):
a test gate that ran no test fails, naming the gate; real unittest/pytest outputs included."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.unit.plugins import ROLES, load

gates = load("cutover_gates", ROLES / "cutover_prep" / "filter_plugins" / "cutover_gates.py")


def _run(rc: int | None, stdout: str = "", stderr: str = "", gate: str = "test", cmd: str = "x", **extra: Any) -> dict:
    run: dict[str, Any] = {
        "item": [{"name": "files-api", "module": "artwork"}, {"key": gate, "value": cmd}],
        "stdout": stdout,
        "stderr": stderr,
        "delta": "0:00:01.250000",
        **extra,
    }
    if rc is not None:
        run["rc"] = rc
    return run


def _real(tmp_path: Path, *args: str) -> dict:
    """Run a real test command in tmp_path and return it as gates.yml registers it."""
    proc = subprocess.run(
        [sys.executable, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    return _run(proc.returncode, proc.stdout, proc.stderr, cmd=f"python {' '.join(args)}")


def test_a_passing_gate_is_ok_with_no_reason() -> None:
    rec = gates.cutover_gate_result(_run(0, stderr="....\nRan 4 tests in 0.010s\n\nOK\n"))
    assert rec == {
        "service": "files-api",
        "module": "artwork",
        "gate": "test",
        "rc": 0,
        "ok": True,
        "reason": "",
        "duration_s": 1.25,
        "cached": False,
        "output_tail": "",
    }


@pytest.mark.parametrize(
    ("run", "why"),
    [
        (_run(0, stderr="\n----\nRan 0 tests in 0.000s\n\nOK\n"), "ran no tests (unittest: 'Ran 0 tests')"),
        (_run(5, stderr="\n----\nRan 0 tests in 0.000s\n\nNO TESTS RAN\n"), "ran no tests (unittest: 'Ran 0 tests')"),
        (_run(5, stdout="\nno tests ran in 0.01s\n"), "ran no tests (pytest: 'no tests ran')"),
        (_run(5, cmd="python -m pytest -q tests"), "ran no tests (exit 5: no tests collected)"),
        (_run(0, stderr="sss\nRan 3 tests in 0.001s\n\nOK (skipped=3)\n"), "ran no tests (unittest: all 3 skipped)"),
        (_run(0, stdout="sss\n3 skipped in 0.02s\n"), "ran no tests (pytest: nothing passed or failed: 3 skipped)"),
        (_run(1, stderr="F\nRan 1 test in 0.001s\n\nFAILED (failures=1)\n"), "exited with rc 1"),
        (_run(None, msg="The command action failed to execute in the expected time frame"), "did not run: The command"),
    ],
    ids=[
        "unittest-ran-0",
        "unittest-3.12-no-tests",
        "pytest-no-tests-ran",
        "pytest-exit-5",
        "unittest-all-skipped",
        "pytest-all-skipped",
        "failing-test",
        "timeout",
    ],
)
def test_a_gate_that_did_not_really_test_fails_naming_the_gate(run: dict, why: str) -> None:
    rec = gates.cutover_gate_result(run)
    assert rec["ok"] is False
    assert rec["reason"].startswith("gate test of files-api (artwork): " + why), rec["reason"]
    assert rec["output_tail"] or run.get("rc") == 5


def test_rc_5_of_a_non_test_command_is_just_a_failure() -> None:
    rec = gates.cutover_gate_result(_run(5, gate="build", cmd="make build"))
    assert rec["reason"] == "gate build of files-api (artwork): exited with rc 5"


def test_a_build_gate_with_timing_output_is_not_mistaken_for_pytest() -> None:
    rec = gates.cutover_gate_result(_run(0, stdout="compiled\n12 files in 0.50s\n", gate="build"))
    assert rec["ok"] is True


def test_real_unittest_with_no_tests_fails(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    rec = gates.cutover_gate_result(_real(tmp_path, "-m", "unittest", "discover", "-s", "tests"))
    assert rec["ok"] is False
    assert "ran no tests" in rec["reason"] and "gate test of files-api" in rec["reason"]


def test_real_unittest_with_a_test_passes(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_x(self):\n        self.assertTrue(True)\n"
    )
    rec = gates.cutover_gate_result(_real(tmp_path, "-m", "unittest", "discover", "-s", "tests"))
    assert rec["ok"] is True, rec


def test_real_pytest_with_no_tests_fails(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    rec = gates.cutover_gate_result(_real(tmp_path, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"))
    assert rec["rc"] == 5
    assert rec["ok"] is False and "ran no tests" in rec["reason"]


def test_results_keep_the_loop_order_and_tail_lines() -> None:
    runs = [
        _run(0, stderr="Ran 2 tests in 0.1s\n\nOK"),
        _run(2, stdout="\n".join(map(str, range(50))), gate="typecheck"),
    ]
    recs = gates.cutover_gate_results(runs, 5)
    assert [r["gate"] for r in recs] == ["test", "typecheck"]
    assert recs[1]["output_tail"] == "45\n46\n47\n48\n49"
    assert gates.FilterModule().filters()["cutover_gate_results"] is gates.cutover_gate_results


RUN_GATES = Path(__file__).resolve().parents[2] / "roles" / "cutover_prep" / "files" / "run_gates.py"


def test_run_gates_runs_every_gate_at_once_and_the_filter_judges_each(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    services = [{"name": "api", "module": "svc", "gates": {
        "build": f"{sys.executable} -c 'import time; time.sleep(1)'",
        "test": f"{sys.executable} -c 'import time; time.sleep(1); print(\"Ran 0 tests in 0.0s\")'",
        "lint": "exit 3",
    }}]  # fmt: skip
    plan = gates.cutover_gate_list(services, str(tmp_path))

    started = time.monotonic()
    out = subprocess.run([sys.executable, str(RUN_GATES), "--jobs", "3", json.dumps(plan)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    took = time.monotonic() - started
    records = {r["gate"]: r for r in gates.cutover_gate_results(json.loads(out.stdout))}

    assert took < 1.9, "the two one-second gates ran at the same time"
    assert records["build"]["ok"] and records["build"]["duration_s"] >= 1
    assert records["test"]["reason"] == "gate test of api (svc): ran no tests (unittest: 'Ran 0 tests')"
    assert records["lint"]["reason"] == "gate lint of api (svc): exited with rc 3"
    assert plan[0]["cwd"] == f"{tmp_path}/svc"


def test_a_gate_over_its_time_is_killed_and_named(tmp_path: Path) -> None:
    plan = [{"service": "api", "module": "m", "gate": "slow", "command": "sleep 5", "cwd": str(tmp_path)}]

    out = subprocess.run([sys.executable, str(RUN_GATES), "--timeout", "0.5", json.dumps(plan)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    record = gates.cutover_gate_results(json.loads(out.stdout))[0]

    assert not record["ok"] and record["reason"].startswith("gate slow of api (m): did not run: timed out after")


def test_gates_are_not_run_again_for_the_commit_that_serves_on_this_host() -> None:
    current = {"commit": "c" * 40, "release": "ccccccc", "deployed_at": "2026-11-30T10:00:00Z", "run_id": "r1"}
    state = {"current": current}
    services = [{"name": "api", "module": "m", "gates": {"build": "true", "test": "true"}}]

    why = gates.cutover_gates_passed_on(state, "c" * 40)
    cached = gates.cutover_gates_cached(services, why)

    assert why == "release ccccccc deployed 2026-11-30T10:00:00Z by run r1"
    assert gates.cutover_gates_passed_on(state, "d" * 40) == ""
    assert gates.cutover_gates_passed_on({"current": None}, "c" * 40) == ""
    assert [(c["gate"], c["ok"], c["cached"]) for c in cached] == [("build", True, True), ("test", True, True)]
