"""The health contract of a service: what its health endpoint must answer. One definition.

Pure Python (stdlib only), used by every gate that reads a health answer:
  - the health module on the host (roles/cutover_verify/library/cutover_health.py, linked into
    cutover_swap and cutover_rollback; this file is linked into their module_utils too): verify,
    the rollback's health check, recert;
  - the validator (roles/cutover_validate/filter_plugins/cutover_model.py): ``contract_errors``;
  - the health filters (roles/cutover_verify/filter_plugins/cutover_health.py): the targets;
  - the wrapper (python_wrapper/cutover/health_contract.py links here): ``cutover status`` and
    the closeout documents.

A service's ``health`` in the inventory:

    health:
      url: http://127.0.0.1:3500/health     # as the host sees it
      fields: [db, minio]                   # shorthand: each of these is "ok" (and so is status)
      json: {state: up, checks.db: up, version: 3, ready: true}   # the expected JSON
      status_code: 200                      # or a list: [200, 204]
      relaxed: [state]                      # what the rollback's check of a restored release needs

The contract (``contract_of``) is ``{status_code: [..], json: {path: value}, relaxed: [path]}``:
  - ``json``: every path must be present with exactly that value (any JSON type; ``false``,
    ``0`` and ``null`` are values; ``1`` is not ``true``). A path walks nested objects by
    ``.`` (``checks.db``) and lists by index (``items.0.id``); a key that itself contains a
    dot is matched first when the object has it. Without ``json``, the contract is today's:
    ``{status: ok}`` plus ``ok`` for each of ``fields``; with ``json``, ``fields`` adds
    ``ok`` entries to it.
  - ``status_code``: the HTTP status codes that pass (default 200).
  - ``relaxed``: the paths checked when ``strict`` is off (the rollback's check of an older,
    restored release, whose answer may lack newer fields); default ``[status]`` when the
    contract has ``status``, else every path.

A wrong answer fails naming the field, the expected and the actual value:
``db: expected "ok", got "down"``, ``checks.db: expected "up", got nothing (missing)``,
``HTTP 503, expected 200``.
"""

from __future__ import annotations

import json
import re
from typing import Any

DEFAULT_STATUS = 200
DEFAULT_FIELD = "status"
OK = "ok"
HEALTH_KEYS = ("url", "fields", "json", "status_code", "relaxed")
_MISSING = object()
URL_RE = re.compile(r"^https?://\S+$")


def _status_codes(value: Any) -> list[int]:
    if value is None:
        return [DEFAULT_STATUS]
    if isinstance(value, list):
        return [int(v) for v in value]
    return [int(value)]


def contract_of(health: Any) -> dict[str, Any]:
    """The normalised contract of a service's ``health`` mapping (assumed valid)."""
    health = health if isinstance(health, dict) else {}
    fields = [str(f) for f in health.get("fields") or []]
    given = health.get("json")
    if isinstance(given, dict) and given:
        expected: dict[str, Any] = {str(k): v for k, v in given.items()}
        for name in fields:
            expected.setdefault(name, OK)
    else:
        expected = {DEFAULT_FIELD: OK}
        for name in fields:
            expected[name] = OK
    relaxed = health.get("relaxed")
    if not relaxed:
        relaxed = [DEFAULT_FIELD] if DEFAULT_FIELD in expected else list(expected)
    return {"status_code": _status_codes(health.get("status_code")), "json": expected,
            "relaxed": [str(p) for p in relaxed]}  # fmt: skip


def resolve(body: Any, path: str) -> Any:
    """The value at ``path`` in ``body`` (``_MISSING`` when absent): ``.`` walks objects, an
    integer walks lists; a key containing dots is matched first when present."""
    node = body
    parts = path.split(".")
    i = 0
    while i < len(parts):
        if isinstance(node, dict):
            rest = ".".join(parts[i:])
            if rest in node:
                return node[rest]
            if parts[i] not in node:
                return _MISSING
            node = node[parts[i]]
        elif isinstance(node, list) and parts[i].isdigit() and int(parts[i]) < len(node):
            node = node[int(parts[i])]
        else:
            return _MISSING
        i += 1
    return node


def same(expected: Any, actual: Any) -> bool:
    """JSON equality: a boolean is never a number, 1 equals 1.0, objects and lists compare deeply."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return expected == actual
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(same(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        # (no zip(strict=): the host's Python may be older than 3.10)
        return len(expected) == len(actual) and all(same(a, b) for a, b in zip(expected, actual))  # noqa: B905
    return type(expected) is type(actual) and expected == actual


def show(value: Any) -> str:
    """A value as JSON text (short), the way the problems and the documents print it."""
    try:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def check(
    contract: dict[str, Any], status: int, body: Any, strict: bool = True, error: str = ""
) -> list[str]:
    """Why a health answer does not meet the contract ([] when it does): the HTTP status, then
    each field of the contract (all of them, or only the relaxed ones when not ``strict``)."""
    problems: list[str] = []
    codes = contract.get("status_code") or [DEFAULT_STATUS]
    if status not in codes:
        want = " or ".join(str(c) for c in codes)
        if status == -1:
            problems.append(f"HTTP -1 (no answer{': ' + error if error else ''}), expected {want}")
        else:
            problems.append(f"HTTP {status}, expected {want}")
    expected = contract.get("json") or {}
    relaxed = contract.get("relaxed") or list(expected)
    paths = list(expected) if strict else [p for p in relaxed if p in expected]
    if paths and not isinstance(body, dict):
        problems.append(f"body: expected a JSON object, got {show(body) if body is not None else 'none'}")
        return problems
    for path in paths:
        actual = resolve(body, path)
        if actual is _MISSING:
            problems.append(f"{path}: expected {show(expected[path])}, got nothing (missing)")
        elif not same(expected[path], actual):
            problems.append(f"{path}: expected {show(expected[path])}, got {show(actual)}")
    return problems


def fields(contract: dict[str, Any], body: Any) -> dict[str, Any]:
    """The contract's fields as the service answered them ({path: value}; absent ones left out),
    by path (receipts store JSON with sorted keys, so that is the one stable order): what the
    documents and ``cutover status`` show."""
    out: dict[str, Any] = {}
    for path in sorted(contract.get("json") or {}) if isinstance(body, dict) else ():
        actual = resolve(body, path)
        if actual is not _MISSING:
            out[path] = actual
    return out


def _is_status(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599


def contract_errors(health: Any, where: str) -> list[str]:
    """Problems of a service's ``health`` mapping, each naming its field (``where`` is e.g.
    ``cutover_services[0].health``)."""
    if not isinstance(health, dict):
        return [
            f"{where}: {health!r} must be a mapping with url"
            " (and optional fields, json, status_code, relaxed)"
        ]
    errors: list[str] = []
    for key in health:
        if key not in HEALTH_KEYS:
            hint = " (health.path was removed: url says where the endpoint is)" if key == "path" else ""
            known = ", ".join(HEALTH_KEYS)
            errors.append(f"{where}.{key}: unknown key (expected one of: {known}){hint}")
    url = health.get("url")
    if not isinstance(url, str) or not URL_RE.match(url):
        errors.append(f"{where}.url: '{url or ''}' must be an http:// or https:// URL")
    names = health.get("fields")
    if names is not None and (
        not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names)
    ):
        errors.append(f"{where}.fields: {names!r} must be a list of names of fields that are exactly 'ok'")
    expected = health.get("json")
    if expected is not None:
        if not isinstance(expected, dict) or not expected:
            errors.append(
                f"{where}.json: {expected!r} must be a non-empty mapping of field path to expected value"
            )
        else:
            for path in expected:
                if not isinstance(path, str) or not path or any(not part for part in path.split(".")):
                    errors.append(
                        f"{where}.json: key {path!r} must be a field path like 'status' or 'checks.db'"
                    )
    codes = health.get("status_code")
    if codes is not None and not (
        _is_status(codes) or (isinstance(codes, list) and codes and all(_is_status(c) for c in codes))
    ):
        errors.append(
            f"{where}.status_code: {codes!r} must be an HTTP status 100-599 or a non-empty list of them"
        )
    relaxed = health.get("relaxed")
    if relaxed is not None:
        if not isinstance(relaxed, list) or not all(isinstance(p, str) and p for p in relaxed):
            errors.append(f"{where}.relaxed: {relaxed!r} must be a list of paths of the contract's fields")
        elif not errors:
            known = contract_of(health)["json"]
            for j, path in enumerate(relaxed):
                if path not in known:
                    names_known = ", ".join(known)
                    errors.append(
                        f"{where}.relaxed[{j}]: '{path}' is not a field of the contract"
                        f" (known: {names_known})"
                    )
    return errors
