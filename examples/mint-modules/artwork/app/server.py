"""files-api HTTP routes."""

from __future__ import annotations

import re
from collections.abc import Mapping

from . import config, httpkit, seeds
from .store import PgS3Store, SeedStore, StoreError

HEALTH_DEADLINE_S = 1.5
SEED_PATH = re.compile(r"^/api/v1/seeds/([^/]+)$")


class FilesApi:
    name = "files-api"

    def __init__(self, settings: config.Settings, store: SeedStore) -> None:
        self.settings = settings
        self.store = store

    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> httpkit.Response:
        if path == "/health":
            if method not in ("GET", "HEAD"):
                return httpkit.error(405, "method not allowed")
            return self.health()
        if path == "/api/v1/seeds":
            if method != "POST":
                return httpkit.error(405, "method not allowed")
            if not httpkit.api_key_ok(headers, self.settings.files_api_key):
                return httpkit.error(401, "missing or invalid x-api-key")
            return self.create_seed(body)
        match = SEED_PATH.match(path)
        if match:
            if method != "GET":
                return httpkit.error(405, "method not allowed")
            if not httpkit.api_key_ok(headers, self.settings.files_api_key):
                return httpkit.error(401, "missing or invalid x-api-key")
            return self.get_seed(match.group(1))
        return httpkit.not_found()

    def health(self) -> httpkit.Response:
        results = httpkit.run_checks(
            {"db": self.store.check_db, "minio": self.store.check_minio},
            HEALTH_DEADLINE_S,
        )
        return httpkit.health_response(results)

    def create_seed(self, body: bytes) -> httpkit.Response:
        payload, problem = httpkit.parse_json(body)
        if problem:
            return httpkit.error(400, problem, field="body")
        try:
            seed = seeds.parse_seed_request(payload)
        except seeds.InvalidSeed as exc:
            return httpkit.error(400, str(exc), field=exc.field)
        try:
            record = self.store.create(seed)
        except StoreError as exc:
            return httpkit.error(503, f"could not store seed: {exc}")
        return httpkit.json_response(201, seeds.to_json(record))

    def get_seed(self, raw_id: str) -> httpkit.Response:
        if not raw_id.isdigit():
            return httpkit.not_found()
        try:
            record = self.store.get(int(raw_id))
        except StoreError as exc:
            return httpkit.error(503, f"could not read seed: {exc}")
        if record is None:
            return httpkit.not_found()
        return httpkit.json_response(200, seeds.to_json(record))


def main() -> None:
    settings = config.load()
    httpkit.serve(FilesApi(settings, PgS3Store(settings)), settings.port)
