"""Configuration of files-api, from environment variables only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PORT = 3500


@dataclass(frozen=True)
class Settings:
    port: int
    database_url: str | None
    minio_endpoint: str | None
    minio_access_key: str | None
    minio_secret_key: str | None
    minio_bucket: str | None
    files_api_key: str | None

    def missing_minio(self) -> list[str]:
        pairs = {
            "MINIO_ENDPOINT": self.minio_endpoint,
            "MINIO_ACCESS_KEY": self.minio_access_key,
            "MINIO_SECRET_KEY": self.minio_secret_key,
            "MINIO_BUCKET_NAME": self.minio_bucket,
        }
        return [key for key, value in pairs.items() if not value]


def _get(env: Mapping[str, str], key: str) -> str | None:
    value = env.get(key, "").strip()
    return value or None


def load(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    return Settings(
        port=int(env.get("PORT") or DEFAULT_PORT),
        database_url=_get(env, "DATABASE_URL"),
        minio_endpoint=_get(env, "MINIO_ENDPOINT"),
        minio_access_key=_get(env, "MINIO_ACCESS_KEY"),
        minio_secret_key=_get(env, "MINIO_SECRET_KEY"),
        minio_bucket=_get(env, "MINIO_BUCKET_NAME"),
        files_api_key=_get(env, "FILES_API_KEY"),
    )
