"""The decision of prep's gates: did a gate pass, and if not, why (naming the gate).

A gate passes when its command exits 0 and, for a test run, at least one test really ran:
``python -m unittest`` exits 0 on "Ran 0 tests" (Python < 3.12; 3.12+ prints "NO TESTS RAN"
and exits 5), pytest exits 5 when it collected nothing and 0 when every test was skipped.

Filters:
  cutover_gate_list(services, tree) -> list[dict]   the gates to run: {service, module, gate, command, cwd}
  cutover_gate_result(run) -> dict     one run (files/run_gates.py, shaped like a command loop item) -> record
  cutover_gate_results(runs, tail_lines=30) -> list[dict]   every run
  cutover_gates_passed_on(state, commit) -> str    why this commit needs no gating on this host ("" = it does)
  cutover_gates_cached(services, why) -> list[dict]   the records of gates not run again
A gate record: {service, module, gate, rc, ok, reason, duration_s, output_tail, cached}; reason is
"" when ok, else "gate <gate> of <service> (<module>): <why>".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in ", re.MULTILINE)
UNITTEST_SKIPPED = re.compile(r"^OK \((?:[^)]*\b)?skipped=(\d+)", re.MULTILINE)
NO_TESTS_RAN = re.compile(r"\bno tests ran\b", re.IGNORECASE)  # unittest 3.12+ and pytest
PYTEST_SUMMARY = re.compile(
    r"^=*\s*(?P<counts>\d+ \w+(?:, \d+ \w+)*) in [\d.]+s(?:\s*\([^)]*\))?\s*=*\s*$", re.MULTILINE
)
PYTEST_NO_TESTS = 5  # pytest (and unittest 3.12+): no tests collected / ran
TEST_RUNNERS = re.compile(r"\b(?:pytest|py\.test|unittest)\b")
PYTEST_WORDS = {"passed", "failed", "skipped", "deselected", "error", "warning", "xfailed", "xpassed", "rerun"}


def _duration_s(delta: Any) -> float:
    """'H:MM:SS.ffffff' (ansible.builtin.command's delta) -> seconds."""
    try:
        hours, minutes, seconds = str(delta or "0:00:00").split(":")
        return round(int(hours) * 3600 + int(minutes) * 60 + float(seconds), 2)
    except ValueError:
        return 0.0


def _pytest_counts(text: str) -> dict[str, int] | None:
    found = PYTEST_SUMMARY.findall(text)
    if not found:
        return None
    counts: dict[str, int] = {}
    for part in found[-1].split(", "):
        number, word = part.split(" ", 1)
        word = word.rstrip("s") if word in ("errors", "warnings", "reruns") else word
        if word not in PYTEST_WORDS:
            return None  # not pytest's summary line
        counts[word] = int(number)
    return counts


def no_tests_reason(output: str, rc: int, command: str = "") -> str:
    """Why a run that looks successful (or exited 5) ran no test; "" when tests ran."""
    ran = UNITTEST_RAN.findall(output)
    if ran:
        total = int(ran[-1])
        if total == 0:
            return "ran no tests (unittest: 'Ran 0 tests')"
        skipped = UNITTEST_SKIPPED.findall(output)
        if skipped and int(skipped[-1]) >= total:
            return f"ran no tests (unittest: all {total} skipped)"
        return ""
    if NO_TESTS_RAN.search(output):
        return "ran no tests ('NO TESTS RAN')" if "NO TESTS RAN" in output else "ran no tests (pytest: 'no tests ran')"
    counts = _pytest_counts(output)
    if counts is not None and not any(counts.get(k) for k in ("passed", "failed", "error", "xfailed", "xpassed")):
        found = ", ".join(f"{v} {k}" for k, v in counts.items())
        return f"ran no tests (pytest: nothing passed or failed: {found})"
    if rc == PYTEST_NO_TESTS and TEST_RUNNERS.search(command):
        return "ran no tests (exit 5: no tests collected)"
    return ""


def cutover_gate_result(run: Mapping[str, Any], tail_lines: int = 30) -> dict[str, Any]:
    """One registered item of gates.yml's loop (item = [{name, module}, {key, value}])."""
    item = run.get("item") or [{}, {}]
    service, gate = item[0] or {}, item[1] or {}
    name, module, gate_name = service.get("name", "?"), service.get("module", "?"), gate.get("key", "?")
    command = str(gate.get("value") or run.get("cmd") or "")
    raw_rc = run.get("rc")
    rc = raw_rc if isinstance(raw_rc, int) and not isinstance(raw_rc, bool) else -1
    stdout, stderr = str(run.get("stdout") or ""), str(run.get("stderr") or "")
    output = (stdout + "\n" + stderr).strip()
    if raw_rc is None:
        why = f"did not run: {run.get('msg') or 'no exit code (timeout?)'}"
        output = (output + "\n" + str(run.get("msg") or "")).strip()
    else:
        why = no_tests_reason(output, rc, command)
        if not why and rc != 0:
            why = f"exited with rc {rc}"
    ok = not why
    return {
        "service": name,
        "module": module,
        "gate": gate_name,
        "rc": rc,
        "ok": ok,
        "reason": "" if ok else f"gate {gate_name} of {name} ({module}): {why}",
        "duration_s": _duration_s(run.get("delta")),
        "output_tail": "" if ok else "\n".join(output.splitlines()[-int(tail_lines) :]),
        "cached": False,
    }


def cutover_gate_results(runs: Sequence[Mapping[str, Any]], tail_lines: int = 30) -> list[dict[str, Any]]:
    """Every registered item of gates.yml's loop -> gate records."""
    return [cutover_gate_result(r, tail_lines) for r in runs or []]


def cutover_gate_list(services: Sequence[Mapping[str, Any]], tree: str) -> list[dict[str, Any]]:
    """Every gate of every service, run from the service's module dir in the exported tree."""
    out = []
    for s in services or []:
        for gate, command in (s.get("gates") or {}).items():
            out.append({"service": s["name"], "module": s["module"], "gate": gate, "command": str(command),
                        "cwd": f"{tree}/{s['module']}"})  # fmt: skip
    return out


def cutover_gates_passed_on(state: Any, commit: str) -> str:
    """The commit serves on this host already (state.json's current release): it passed its
    gates before it was deployed, so prep need not run them again. "" when it must."""
    current = state.get("current") if isinstance(state, Mapping) else None
    if isinstance(current, Mapping) and commit and current.get("commit") == commit:
        release, at, run = current.get("release", "?"), current.get("deployed_at", "?"), current.get("run_id", "?")
        return f"release {release} deployed {at} by run {run}"
    return ""


def cutover_gates_cached(services: Sequence[Mapping[str, Any]], why: str) -> list[dict[str, Any]]:
    """The records of the gates that were not run again, because of ``why``."""
    out = []
    for g in cutover_gate_list(services, ""):
        record = {"service": g["service"], "module": g["module"], "gate": g["gate"], "rc": 0, "ok": True}
        out.append(record | {"reason": "", "duration_s": 0.0, "output_tail": f"not run again: {why}", "cached": True})
    return out


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "cutover_gate_result": cutover_gate_result,
            "cutover_gate_results": cutover_gate_results,
            "cutover_gate_list": cutover_gate_list,
            "cutover_gates_passed_on": cutover_gates_passed_on,
            "cutover_gates_cached": cutover_gates_cached,
        }
