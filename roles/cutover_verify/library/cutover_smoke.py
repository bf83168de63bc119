#!/usr/bin/python
"""Run the smoke suite: each check is one data item (see group_vars smoke.yml)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cutover_smoke
short_description: Run a data-driven HTTP smoke suite
description:
  - Runs each check in order (method, url, headers, body, expected status and exact JSON values).
  - Refuses the whole suite before sending anything when a check breaks the schema (unknown
    key, method not allowed, status not an int 100-599 or a list of them, json not a mapping,
    no status expectation, a C(${saved:X}) that no earlier check saves, a C(${key:K}) whose K
    is not in the check's C(requires_keys)); the same rules the inventory validator applies
    (module_utils/cutover_smoke_schema.py).
  - Runs where Ansible runs it: the package runs it on the docker host, so a check's URL is
    the address as the host sees it (services that publish on the host's loopback included).
  - A check whose C(requires_keys) are not all given is skipped, not failed; so is a check that
    needs a C(${saved:X}) from a skipped check.
  - In check mode only GET and HEAD requests are sent; every other check is skipped with
    detail C(check mode).
  - With C(read_only), checks whose method writes (POST, PUT, PATCH, DELETE) are skipped with
    detail C(read-only) unless the check sets C(read_only_safe) to true.
  - API key values never appear in the result (the parameter is no_log).
options:
  checks:
    description: The checks (see inventory smoke.yml for the fields).
    type: list
    elements: dict
    required: true
  env_file:
    description:
      - The services' env file on the host (Docker's env-file format, module_utils/cutover_envfile.py).
        The values of the names the checks' C(requires_keys) list are read from it here, on the
        host, and never returned. A missing file means no keys; a file Docker would read
        differently is refused before anything is sent (its problems name lines and keys, never values).
    type: path
  api_keys:
    description:
      - Key values referenced as C(${key:NAME}); empty values count as missing. A non-empty value
        here replaces the one in C(env_file).
    type: dict
    default: {}
  keys_source:
    description: Where the keys were looked for (e.g. the env file on the host), named in the detail of a skipped check.
    type: str
    default: ""
  timeout_s:
    description: Timeout of one request.
    type: float
    default: 10
  read_only:
    description: Skip checks that write (POST, PUT, PATCH, DELETE) unless they set C(read_only_safe).
    type: bool
  plan_only:
    description:
      - Send nothing - only check the suite and read the keys (verify's plan, which names the
        keyed checks a real run would skip). C(checks) is then empty, C(keys_found) as always.
    type: bool
    default: false
    default: false
  absent_services:
    description: Services that are not in the release being checked; a check whose C(service) is one of them is skipped.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    description: Can run in check mode; nothing that could write is sent.
    support: full
    details: Only GET and HEAD requests are sent in check mode; the other checks are skipped.
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
keys_found:
  description: The names (never the values) of the keys the checks need that had a value.
  type: list
  returned: always
"""

import json
import re
import time
import urllib.error
import urllib.request
from typing import Any

from ansible.module_utils.basic import AnsibleModule  # type: ignore[import-untyped]
from ansible.module_utils.cutover_envfile import (  # type: ignore[import-not-found]
    EnvFileError,
)
from ansible.module_utils.cutover_envfile import (  # type: ignore[import-not-found]
    parse as parse_env_file,
)
from ansible.module_utils.cutover_smoke_schema import (  # type: ignore[import-not-found]
    PLACEHOLDER,
    SAFE_METHODS,
    WRITE_METHODS,
    method_of,
    smoke_check_errors,
)

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


def saved_names(check: dict[str, Any]) -> list[str]:
    """Names of the ${saved:X} placeholders a check uses, in order of appearance."""
    text = json.dumps([check.get(k) for k in ("url", "headers", "body", "json")])
    return [m.group(2) for m in PLACEHOLDER.finditer(text) if m.group(1) == "saved"]


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


def skip_reason(
    check: dict[str, Any],
    keys: dict[str, str],
    skipped_saves: dict[str, str],
    check_mode: bool,
    read_only: bool,
    keys_source: str = "",
    absent_services: tuple[str, ...] | list[str] = (),
) -> str:
    """Why a check is not sent ("" = send it)."""
    if check.get("service") and check["service"] in absent_services:
        return f"{check['service']} is not in this release"
    method = method_of(check).upper()
    if check_mode and method not in SAFE_METHODS:
        return "check mode"
    if read_only and method in WRITE_METHODS and check.get("read_only_safe") is not True:
        return "read-only"
    missing = [k for k in check.get("requires_keys") or [] if not keys.get(k)]
    if missing:
        return "no value for " + ", ".join(missing) + (f" in {keys_source}" if keys_source else "")
    for alias in saved_names(check):
        if alias in skipped_saves:
            return f"needs ${{saved:{alias}}} from skipped check '{skipped_saves[alias]}'"
    return ""


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
            method=method_of(check).upper(),
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        result["status_code"] = status
        problems: list[str] = []
        expected_status = check["status"]
        codes = expected_status if isinstance(expected_status, list) else [expected_status]
        if status not in codes:
            want = f"one of {codes}" if isinstance(expected_status, list) else str(expected_status)
            problems.append(f"HTTP {status}, expected {want}")
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


def run_suite(
    checks: list[dict[str, Any]],
    keys: dict[str, str],
    timeout: float,
    check_mode: bool = False,
    read_only: bool = False,
    keys_source: str = "",
    absent_services: tuple[str, ...] | list[str] = (),
) -> list[dict[str, Any]]:
    """Run the checks in order; skipped ones are never sent (nor are checks needing their saves)."""
    saved: dict[str, Any] = {}
    skipped_saves: dict[str, str] = {}
    results = []
    for check in checks:
        reason = skip_reason(check, keys, skipped_saves, check_mode, read_only, keys_source, absent_services)
        if reason:
            name = str(check.get("name", "unnamed"))
            skipped_saves.update(dict.fromkeys(check.get("save") or {}, name))
            results.append(
                {"name": name, "result": "skipped", "detail": reason, "status_code": None, "duration_s": 0.0}
            )
            continue
        results.append(run_check(check, keys, saved, timeout))
    return results


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


def needed_keys(checks: list[dict[str, Any]]) -> list[str]:
    """The key names the checks' requires_keys list, once each, in order."""
    names: list[str] = []
    for check in checks:
        for name in check.get("requires_keys") or []:
            if str(name) not in names:
                names.append(str(name))
    return names


def read_keys(
    env_text: str | bytes | None, env_file: str, names: list[str], override: dict[str, Any]
) -> dict[str, str]:
    """The values of names: from the env file's text (None: no file), then override's non-empty
    values on top. Raises ValueError naming the file's refused lines (never a value)."""
    keys: dict[str, str] = {}
    if env_text is not None:
        try:
            env = parse_env_file(env_text, env_file)
        except EnvFileError as exc:
            refused = "; ".join(problem.message(env_file) for problem in exc.problems)
            raise ValueError(f"cutover_env_file refused: {refused}") from None
        keys = {name: env[name] for name in names if env.get(name)}
    keys.update({str(k): str(v) for k, v in (override or {}).items() if v})
    return keys


def read_env_file(path: str | None) -> bytes | None:
    """The env file's bytes; None when no path is given or the file does not exist."""
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "checks": {"type": "list", "elements": "dict", "required": True},
            "env_file": {"type": "path"},
            "api_keys": {"type": "dict", "default": {}, "no_log": True},
            "keys_source": {"type": "str", "default": ""},
            "timeout_s": {"type": "float", "default": 10.0},
            "read_only": {"type": "bool", "default": False},
            "absent_services": {"type": "list", "elements": "str", "default": []},
            "plan_only": {"type": "bool", "default": False},
        },
        # Honest: in check mode only GET/HEAD are sent (skip_reason), nothing that may write.
        supports_check_mode=True,
    )
    errors = smoke_check_errors(module.params["checks"], "checks")
    if errors:
        module.fail_json(
            msg=f"invalid smoke checks ({len(errors)} problem(s)), nothing sent: " + "; ".join(errors)
        )
    env_file = module.params["env_file"]
    try:
        keys = read_keys(read_env_file(env_file), env_file or "", needed_keys(module.params["checks"]),
                         module.params["api_keys"])  # fmt: skip
    except (OSError, ValueError) as exc:
        module.fail_json(msg=str(exc) if isinstance(exc, ValueError) else f"cannot read {env_file}: {exc.strerror}")
    if module.params["plan_only"]:
        module.exit_json(changed=False, checks=[], keys_found=sorted(keys), **summarize([]))
    checks = run_suite(
        module.params["checks"],
        keys,
        module.params["timeout_s"],
        check_mode=module.check_mode,
        read_only=module.params["read_only"],
        keys_source=module.params["keys_source"],
        absent_services=module.params["absent_services"],
    )
    module.exit_json(changed=False, checks=checks, keys_found=sorted(keys), **summarize(checks))


if __name__ == "__main__":
    main()
