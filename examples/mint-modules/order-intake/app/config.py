"""Configuration of order-intake, from environment variables only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PORT = 3400


@dataclass(frozen=True)
class Settings:
    port: int
    files_api_url: str | None
    files_api_key: str | None
    order_intake_api_key: str | None


def _get(env: Mapping[str, str], key: str) -> str | None:
    value = env.get(key, "").strip()
    return value or None


def load(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    url = _get(env, "FILES_API_URL")
    return Settings(
        port=int(env.get("PORT") or DEFAULT_PORT),
        files_api_url=url.rstrip("/") if url else None,
        files_api_key=_get(env, "FILES_API_KEY"),
        order_intake_api_key=_get(env, "ORDER_INTAKE_API_KEY"),
    )
