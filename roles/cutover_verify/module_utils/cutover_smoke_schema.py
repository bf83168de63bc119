"""The schema of a smoke check, shared by the validator and the runner (defence in depth).

Used by ``roles/cutover_validate/filter_plugins/cutover_model.py`` (inventory validation,
before anything on a host changes) and by ``roles/cutover_verify/library/cutover_smoke.py``
(which refuses a bad suite before it sends a request). Pure Python, stdlib only.

``smoke_check_errors(checks, field)`` returns every problem, each message starting with the
field it is about (``cutover_smoke_checks[3].stauts: unknown key ...``) and saying what was
expected.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

# Every key a check may have. Keep in step with library/cutover_smoke.py (which reads them),
# the inventory's smoke.yml header and docs/DESIGN.md "Smoke checks".
KNOWN_KEYS = (
    "name",
    "method",
    "url",
    "headers",
    "body",
    "requires_keys",
    "status",
    "json",
    "json_present",
    "save",
    "read_only_safe",
    "service",
)
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# Methods that never change anything on the server: the only ones sent in check mode.
SAFE_METHODS = ("GET", "HEAD")
# Methods that may write: skipped in read-only mode unless the check says read_only_safe.
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# ${key:NAME} (an API key value) or ${saved:NAME} (a value saved by an earlier check).
PLACEHOLDER = re.compile(r"\$\{(key|saved):([A-Za-z0-9_.-]+)\}")
ANY_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
SAVE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _str_list_problem(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        return f"{value!r} must be a list of non-empty strings"
    return None


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string inside value (recursively), with its sub-path (for placeholder checks)."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() for s in _strings(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{path}[{i}]")]
    return []


def _unknown_key(f: str, key: Any) -> str:
    close = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"{f}.{key}: unknown key (expected one of: {', '.join(KNOWN_KEYS)}){hint}"


def method_of(check: Mapping[str, Any]) -> str:
    """The check's HTTP method (GET when not given)."""
    return str(check.get("method", "GET"))


def _check_status(f: str, check: Mapping[str, Any], errors: list[str]) -> None:
    if "status" not in check:
        errors.append(
            f"{f}.status: missing; every check needs an expected HTTP status"
            " (an int 100-599 or a list of them), else it passes on any response"
        )
        return
    status = check["status"]
    codes = status if isinstance(status, list) else [status]
    if not codes or not all(_is_int(c) and 100 <= c <= 599 for c in codes):
        errors.append(
            f"{f}.status: {status!r} must be an HTTP status, an integer 100-599, or a non-empty list of them"
        )


def _check_placeholders(
    f: str, check: Mapping[str, Any], saved_before: dict[str, str], errors: list[str]
) -> None:
    requires = check.get("requires_keys") if isinstance(check.get("requires_keys"), list) else []
    for key in ("url", "headers", "body", "json"):
        if key not in check:
            continue
        for sub, text in _strings(check[key]):
            for raw in ANY_PLACEHOLDER.findall(text):
                where = f"{f}.{key}{sub}"
                match = PLACEHOLDER.fullmatch("${" + raw + "}")
                if not match:
                    errors.append(
                        f"{where}: placeholder '${{{raw}}}' must be ${{key:NAME}} or ${{saved:NAME}}"
                    )
                elif match.group(1) == "saved" and match.group(2) not in saved_before:
                    known = ", ".join(sorted(saved_before)) or "none"
                    errors.append(
                        f"{where}: '${{saved:{match.group(2)}}}' is not saved by an earlier check"
                        f" (a 'save' of a check before this one; saved so far: {known})"
                    )
                elif match.group(1) == "key" and match.group(2) not in requires:
                    errors.append(
                        f"{where}: '${{key:{match.group(2)}}}' must be listed in {f}.requires_keys"
                        " (so the check is skipped, not sent without it, when the key has no value)"
                    )


def _check_one(
    index: int,
    f: str,
    check: Mapping[str, Any],
    saved_before: dict[str, str],
    names: dict[str, int],
    errors: list[str],
) -> None:
    for key in check:
        if key not in KNOWN_KEYS:
            errors.append(_unknown_key(f, key))
    name = check.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append(f"{f}.name: {name!r} must be a non-empty string (what the check proves)")
    elif name in names:
        errors.append(f"{f}.name: duplicate check name '{name}' (names must be unique; also at index {names[name]})")
    else:
        names[name] = index
    method = check.get("method", "GET")
    if method not in METHODS:
        errors.append(f"{f}.method: {method!r} must be one of: {', '.join(METHODS)} (upper case)")
    url = check.get("url")
    if not isinstance(url, str) or not re.match(r"^https?://\S+$", url):
        errors.append(f"{f}.url: {url!r} must be an http:// or https:// URL")
    _check_status(f, check, errors)
    if "json" in check and not isinstance(check["json"], Mapping):
        errors.append(
            f"{f}.json: {check['json']!r} must be a mapping of field (dotted path) to its exact expected value"
        )
    if "json_present" in check:
        problem = _str_list_problem(check["json_present"])
        if problem:
            errors.append(f"{f}.json_present: {problem} (fields that must exist and be non-null)")
    if "requires_keys" in check:
        problem = _str_list_problem(check["requires_keys"])
        if problem:
            errors.append(f"{f}.requires_keys: {problem} (names of cutover_smoke_api_keys)")
    headers = check.get("headers", {})
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        # values are not echoed: a header may carry a literal credential by mistake
        errors.append(f"{f}.headers: must be a mapping of header name to string value, got {type(headers).__name__}"
                      " (or a non-string name or value)")
    if "body" in check and method in SAFE_METHODS:
        errors.append(f"{f}.body: a {method} request has no body (use POST, PUT or PATCH)")
    if "read_only_safe" in check and not isinstance(check["read_only_safe"], bool):
        errors.append(f"{f}.read_only_safe: {check['read_only_safe']!r} must be true or false")
    if "service" in check and not (isinstance(check["service"], str) and check["service"].strip()):
        errors.append(f"{f}.service: {check['service']!r} must be the name of a service in cutover_services")
    _check_placeholders(f, check, saved_before, errors)
    save = check.get("save", {})
    if not isinstance(save, Mapping) or not all(
        isinstance(k, str) and SAVE_NAME.match(k) and isinstance(v, str) and v.strip()
        for k, v in save.items()
    ):
        errors.append(
            f"{f}.save: {save!r} must be a mapping of name ([A-Za-z0-9_.-]+) to a JSON field of the response"
        )
    elif isinstance(name, str):
        for alias in save:
            saved_before[alias] = name


def smoke_check_errors(checks: Any, field: str = "cutover_smoke_checks") -> list[str]:
    """Every problem of a smoke suite, each message starting with the field it is about."""
    if checks is None:
        return []
    if not isinstance(checks, list):
        return [f"{field}: must be a list of checks (mappings), got {type(checks).__name__}"]
    errors: list[str] = []
    saved_before: dict[str, str] = {}
    names: dict[str, int] = {}
    for i, check in enumerate(checks):
        f = f"{field}[{i}]"
        if not isinstance(check, Mapping):
            errors.append(f"{f}: must be a mapping (a check with name, url, status, ...), got {type(check).__name__}")
            continue
        _check_one(i, f, check, saved_before, names, errors)
    return errors
