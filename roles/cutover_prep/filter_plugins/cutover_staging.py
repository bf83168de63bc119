"""Prep's smoke baseline on staging: what its `ansible-playbook playbooks/verify.yml` run says.

The run's stdout is ansible.posix.json's report (anything printed before it is skipped); the
verdict is verify's custom stat `cutover_verify`. A run that says nothing usable fails with
the last line it wrote to stderr, else its exit code.
"""

from __future__ import annotations

import json
from typing import Any

from ansible.module_utils.parsing.convert_bool import boolean


def _report(stdout: str) -> dict[str, Any]:
    start = stdout.find("{")
    if start < 0:
        return {}
    try:
        report = json.loads(stdout[start:])
    except ValueError:
        return {}
    return report if isinstance(report, dict) else {}


def cutover_staging_outcome(run: Any, inventory: Any) -> dict[str, Any]:
    """{inventory, ok, health: {service: ok}, smoke: summary, reason} of one staging run."""
    run = run or {}
    verify = (_report(str(run.get("stdout") or "")).get("global_custom_stats") or {}).get("cutover_verify") or {}
    ok = run.get("rc", 1) == 0 and boolean(verify.get("ok", False), strict=False)
    reason = ""
    if not ok:
        stderr_tail = str(run.get("stderr") or "").strip().splitlines()[-1:]
        reason = (
            verify["reason"]
            if "reason" in verify
            else ("".join(stderr_tail) or f"ansible-playbook exited {run.get('rc', '?')}")
        )
    return {
        "inventory": inventory,
        "ok": ok,
        "health": {name: (gate or {}).get("ok") for name, gate in (verify.get("health") or {}).items()},
        "smoke": (verify.get("smoke") or {}).get("summary", "not run"),
        "reason": reason,
    }


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"cutover_staging_outcome": cutover_staging_outcome}
