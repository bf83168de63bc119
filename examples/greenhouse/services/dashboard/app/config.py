"""Configuration of gh-dashboard, from environment variables only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PORT = 4103


@dataclass(frozen=True)
class Settings:
    port: int
    climate_url: str | None  # e.g. http://gh-climate:4102 (no trailing slash)


def load(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    return Settings(
        port=int(env.get("PORT") or DEFAULT_PORT),
        climate_url=env.get("CLIMATE_URL", "").strip().rstrip("/") or None,
    )
