"""Configuration of gh-alerts, from environment variables only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_PORT = 4104


@dataclass(frozen=True)
class Settings:
    port: int
    database_url: str | None = field(repr=False)  # a secret: kept out of repr()
    climate_url: str | None  # e.g. http://gh-climate:4102 (no trailing slash)


def load(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    return Settings(
        port=int(env.get("PORT") or DEFAULT_PORT),
        database_url=env.get("DATABASE_URL", "").strip() or None,
        climate_url=env.get("CLIMATE_URL", "").strip().rstrip("/") or None,
    )
