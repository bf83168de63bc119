"""Calls to files-api over HTTP (stdlib urllib)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

HEALTH_TIMEOUT_S = 1.5
CREATE_TIMEOUT_S = 10.0


class FilesApiError(RuntimeError):
    """files-api failed; the message is safe to show."""


def check_health(base_url: str | None) -> str:
    """Return "ok" when files-api's /health answers 200 with status ok, else a short reason."""
    if not base_url:
        return "FILES_API_URL not set"
    try:
        with urllib.request.urlopen(
            f"{base_url}/health", timeout=HEALTH_TIMEOUT_S
        ) as resp:
            body = json.loads(resp.read() or b"{}")
            status = resp.status
    except urllib.error.HTTPError as exc:
        return f"unhealthy (HTTP {exc.code})"
    except (urllib.error.URLError, OSError):
        return "unreachable"
    except ValueError:
        return "bad health body"
    if status == 200 and isinstance(body, dict) and body.get("status") == "ok":
        return "ok"
    return f"unhealthy (HTTP {status})"


def create_seed(
    base_url: str | None, api_key: str | None, seed: dict[str, Any]
) -> dict[str, Any]:
    if not base_url or not api_key:
        raise FilesApiError("files-api not configured (FILES_API_URL / FILES_API_KEY)")
    request = urllib.request.Request(
        f"{base_url}/api/v1/seeds",
        data=json.dumps(seed).encode(),
        method="POST",
        headers={"content-type": "application/json", "x-api-key": api_key},
    )
    try:
        with urllib.request.urlopen(request, timeout=CREATE_TIMEOUT_S) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        raise FilesApiError(f"files-api answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError):
        raise FilesApiError("files-api unreachable") from None
    if status != 201:
        raise FilesApiError(f"files-api answered HTTP {status}")
    try:
        created = json.loads(raw)
    except ValueError:
        raise FilesApiError("files-api answered invalid JSON") from None
    if not isinstance(created, dict) or "id" not in created:
        raise FilesApiError("files-api answered without a seed id")
    return created
