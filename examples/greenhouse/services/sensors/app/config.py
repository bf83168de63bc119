"""Configuration of gh-sensors, from environment variables only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_PORT = 4101


@dataclass(frozen=True)
class Settings:
    port: int
    # Secrets: kept out of repr() so they never reach a log line by accident.
    database_url: str | None = field(repr=False)
    ingest_token: str | None = field(repr=False)


def _get(env: Mapping[str, str], key: str) -> str | None:
    value = env.get(key, "").strip()
    return value or None


def load(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    return Settings(
        port=int(env.get("PORT") or DEFAULT_PORT),
        database_url=_get(env, "DATABASE_URL"),
        ingest_token=_get(env, "GH_INGEST_TOKEN"),
    )
