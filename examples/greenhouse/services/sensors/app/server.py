"""gh-sensors HTTP routes."""

from __future__ import annotations

import re
from collections.abc import Mapping

from . import config, httpkit, readings
from .store import PgStore, ReadingStore, StoreError

API_VERSION = 1
READING_PATH = re.compile(r"^/readings/([0-9]{1,18})$")


class SensorsApi:
    name = "gh-sensors"

    def __init__(self, settings: config.Settings, store: ReadingStore) -> None:
        self.settings = settings
        self.store = store

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> httpkit.Response:
        reading_match = READING_PATH.match(path)
        routes = {"/healthz": ("GET", "HEAD"), "/readings": ("POST",), "/stats": ("GET",)}
        allowed = ("GET",) if reading_match else routes.get(path)
        if allowed is None:
            return httpkit.not_found()
        if method not in allowed:
            return httpkit.error(405, "method not allowed")
        if path == "/healthz":
            return self.health()
        if path == "/readings":
            if not httpkit.token_ok(headers.get("x-ingest-token"), self.settings.ingest_token):
                return httpkit.error(401, "bad token")
            return self.create(body)
        if path == "/stats":
            return self.stats()
        assert reading_match is not None
        return self.get(int(reading_match.group(1)))

    def health(self) -> httpkit.Response:
        try:
            self.store.ping()
        except StoreError:
            return httpkit.json_response(
                503, {"state": "degraded", "checks": {"postgres": "unreachable"}, "api": API_VERSION}
            )
        return httpkit.json_response(200, {"state": "up", "checks": {"postgres": "reachable"}, "api": API_VERSION})

    def create(self, body: bytes) -> httpkit.Response:
        payload, problem = httpkit.parse_json(body)
        if problem:
            return httpkit.error(400, problem, field="body")
        try:
            reading = readings.parse_reading(payload)
        except readings.InvalidReading as exc:
            return httpkit.error(400, str(exc), field=exc.field)
        try:
            reading_id = self.store.insert(reading)
        except StoreError as exc:
            return httpkit.error(503, f"database: {exc}")
        return httpkit.json_response(201, readings.reading_json(reading_id, reading))

    def get(self, reading_id: int) -> httpkit.Response:
        try:
            reading = self.store.get(reading_id)
        except StoreError as exc:
            return httpkit.error(503, f"database: {exc}")
        if reading is None:
            return httpkit.not_found()
        return httpkit.json_response(200, readings.reading_json(reading_id, reading))

    def stats(self) -> httpkit.Response:
        try:
            stats = self.store.stats()
        except StoreError as exc:
            return httpkit.error(503, f"database: {exc}")
        return httpkit.json_response(200, readings.stats_json(stats))


def main() -> None:
    settings = config.load()
    httpkit.serve(SensorsApi(settings, PgStore(settings.database_url)), settings.port)
