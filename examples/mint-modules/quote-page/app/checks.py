"""Dependency checks of quote-page: the object store bucket and files-api's health."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

from .config import Settings

FILES_API_TIMEOUT_S = 1.5
_lock = threading.Lock()
_clients: dict[tuple[str, str], Any] = {}


def _s3_client(settings: Settings) -> Any:
    import boto3
    from botocore.config import Config

    key = (settings.minio_endpoint or "", settings.minio_access_key or "")
    with _lock:
        if key not in _clients:
            _clients[key] = boto3.session.Session().client(
                "s3",
                endpoint_url=settings.minio_endpoint,
                aws_access_key_id=settings.minio_access_key,
                aws_secret_access_key=settings.minio_secret_key,
                region_name="us-east-1",
                config=Config(
                    s3={"addressing_style": "path"},
                    signature_version="s3v4",
                    connect_timeout=1.0,
                    read_timeout=2.0,
                    retries={"max_attempts": 1, "mode": "standard"},
                ),
            )
        return _clients[key]


def s3_reason(exc: BaseException) -> str:
    """A short, secret-free reason for a failed bucket check."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket", "NotFound"):
            return "bucket not found"
        if code in (
            "403",
            "AccessDenied",
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
        ):
            return "access denied"
        if code:
            return f"error ({code})"
    name = exc.__class__.__name__
    if name in (
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
    ):
        return "unreachable"
    return f"error ({name})"


def check_minio(settings: Settings) -> str:
    missing = settings.missing_minio()
    if missing:
        return f"{missing[0]} not set"
    try:
        _s3_client(settings).head_bucket(Bucket=settings.minio_bucket)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure becomes a safe reason
        return s3_reason(exc)


def check_files_api(base_url: str | None) -> str:
    """Return "ok" when files-api's /health answers 200 with status ok, else a short reason."""
    if not base_url:
        return "FILES_API_URL not set"
    try:
        with urllib.request.urlopen(
            f"{base_url}/health", timeout=FILES_API_TIMEOUT_S
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
