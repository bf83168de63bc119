#!/usr/bin/python
"""Run the smoke suite: each check is one data item (see group_vars smoke.yml)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cutover_smoke
short_description: Run a data-driven HTTP smoke suite
description:
  - Runs each check in order (method, url, headers, body, expected status and exact JSON values).
  - A check whose C(requires_keys) are not all given is skipped, not failed.
  - API key values never appear in the result (the parameter is no_log).
options:
  checks:
    description: The checks (see inventory smoke.yml for the fields).
    type: list
    elements: dict
    required: true
  api_keys:
    description: Key values referenced as C(${key:NAME}); empty values count as missing.
    type: dict
    default: {}
  timeout_s:
    description: Timeout of one request.
    type: float
    default: 10
author: cutover package
"""

RETURN = r"""
checks:
  description: One entry per check with name, result (passed, failed, skipped), detail, status_code.
  type: list
  returned: always
counts:
  description: >-
    Number of checks passed, failed and skipped. Nested (not top-level) because a top-level
    C(failed) key would make Ansible mark the task itself as failed.
  type: dict
  returned: always
  sample: {passed: 6, failed: 0, skipped: 2}
summary: {description: e.g. "8 passed" or "6 passed, 2 skipped", type: str, returned: always}
"""

import json
import re
import time
import urllib.error
import urllib.request
from typing import Any

from ansible.module_utils.basic import AnsibleModule  # type: ignore[import-untyped]

PLACEHOLDER = re.compile(r"\$\{(key|saved):([A-Za-z0-9_.-]+)\}")
MISSING = object()


class CheckError(Exception):
    pass


def substitute(value: Any, keys: dict[str, str], saved: dict[str, Any]) -> Any:
    """Replace ${key:X} and ${saved:X}; a string that is exactly one saved placeholder keeps the saved type."""
    if isinstance(value, dict):
        return {k: substitute(v, keys, saved) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, keys, saved) for v in value]
    if not isinstance(value, str):
        return value
    whole = PLACEHOLDER.fullmatch(value)
    if whole and whole.group(1) == "saved":
        if whole.group(2) not in saved:
            raise CheckError(
                f"no saved value '{whole.group(2)}' (did an earlier check fail?)"
            )
        return saved[whole.group(2)]

    def repl(match: re.Match[str]) -> str:
        kind, name = match.group(1), match.group(2)
        source: dict[str, Any] = keys if kind == "key" else saved
        if name not in source:
            raise CheckError(f"no {kind} value '{name}'")
        return str(source[name])

    return PLACEHOLDER.sub(repl, value)


def lookup(doc: Any, path: str) -> Any:
    cur = doc
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return MISSING
    return cur


def same(expected: Any, actual: Any) -> bool:
    """Exact equality, type included (True is not 1, false is not missing)."""
    if actual is MISSING:
        return False
    if type(expected) is not type(actual):
        if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
            if isinstance(expected, bool) or isinstance(actual, bool):
                return False
            return bool(expected == actual)
        return False
    return bool(expected == actual)


def show(value: Any) -> str:
    return "missing" if value is MISSING else json.dumps(value)


def run_check(
    check: dict[str, Any], keys: dict[str, str], saved: dict[str, Any], timeout: float
) -> dict[str, Any]:
    name = str(check.get("name", "unnamed"))
    result: dict[str, Any] = {
        "name": name,
        "result": "passed",
        "detail": "",
        "status_code": None,
        "duration_s": 0.0,
    }
    missing = [k for k in check.get("requires_keys") or [] if not keys.get(k)]
    if missing:
        result.update(result="skipped", detail="no value for " + ", ".join(missing))
        return result
    started = time.monotonic()
    try:
        url = substitute(check["url"], keys, saved)
        headers = substitute(dict(check.get("headers") or {}), keys, saved)
        data = None
        if check.get("body") is not None:
            data = json.dumps(substitute(check["body"], keys, saved)).encode()
            headers.setdefault("content-type", "application/json")
        request = urllib.request.Request(
            url,
            data=data,
            headers=headers,
            method=str(check.get("method", "GET")).upper(),
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        result["status_code"] = status
        problems: list[str] = []
        if "status" in check and status != int(check["status"]):
            problems.append(f"HTTP {status}, expected {check['status']}")
        body: Any = MISSING
        if check.get("json") or check.get("json_present") or check.get("save"):
            try:
                body = json.loads(raw.decode() or "null")
            except ValueError:
                problems.append("body is not JSON")
        if body is not MISSING:
            for field, expected in (check.get("json") or {}).items():
                want = substitute(expected, keys, saved)
                got = lookup(body, field)
                if not same(want, got):
                    problems.append(
                        f"{field} is {show(got)}, expected {json.dumps(want)}"
                    )
            for field in check.get("json_present") or []:
                got = lookup(body, field)
                if got is MISSING or got is None:
                    problems.append(f"{field} is missing")
            if not problems:
                for alias, field in (check.get("save") or {}).items():
                    got = lookup(body, field)
                    if got is MISSING:
                        problems.append(f"cannot save {alias}: {field} is missing")
                    else:
                        saved[alias] = got
        if problems:
            result.update(result="failed", detail="; ".join(problems))
        else:
            result["detail"] = f"HTTP {status}"
    except CheckError as exc:
        result.update(result="failed", detail=str(exc))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        result.update(result="failed", detail=f"request failed: {reason}")
    result["duration_s"] = round(time.monotonic() - started, 3)
    return result


def summarize(checks: list[dict[str, Any]]) -> dict[str, Any]:
    counts = {
        k: sum(1 for c in checks if c["result"] == k)
        for k in ("passed", "failed", "skipped")
    }
    parts = [f"{counts['passed']} passed"]
    if counts["skipped"]:
        parts.append(f"{counts['skipped']} skipped")
    if counts["failed"]:
        parts.append(f"{counts['failed']} failed")
    # Counts are nested: a top-level "failed" key would make Ansible fail the task itself.
    return {"counts": counts, "summary": ", ".join(parts)}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "checks": {"type": "list", "elements": "dict", "required": True},
            "api_keys": {"type": "dict", "default": {}, "no_log": True},
            "timeout_s": {"type": "float", "default": 10.0},
        },
        supports_check_mode=True,
    )
    keys = {str(k): str(v) for k, v in (module.params["api_keys"] or {}).items() if v}
    saved: dict[str, Any] = {}
    checks = [
        run_check(c, keys, saved, module.params["timeout_s"])
        for c in module.params["checks"]
    ]
    module.exit_json(changed=False, checks=checks, **summarize(checks))


if __name__ == "__main__":
    main()
