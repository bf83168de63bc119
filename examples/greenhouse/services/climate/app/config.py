"""Configuration of gh-climate, from environment variables only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PORT = 4102


@dataclass(frozen=True)
class Settings:
    port: int
    sensors_url: str | None  # e.g. http://gh-sensors:4101 (no trailing slash)


def load(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    return Settings(
        port=int(env.get("PORT") or DEFAULT_PORT),
        sensors_url=env.get("SENSORS_URL", "").strip().rstrip("/") or None,
    )
