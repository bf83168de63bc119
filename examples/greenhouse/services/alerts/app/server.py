"""gh-alerts HTTP routes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import config, httpkit
from .store import PgStore, RuleStore, StoreError

UPSTREAM_TIMEOUT_S = 2.0

# (url, timeout seconds) -> (HTTP status, JSON body or None); raises httpkit.UpstreamError
Fetch = Callable[[str, float], tuple[int, Any]]


class AlertsApi:
    name = "gh-alerts"

    def __init__(self, settings: config.Settings, store: RuleStore, fetch: Fetch = httpkit.get_json) -> None:
        self.settings = settings
        self.store = store
        self.fetch = fetch

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> httpkit.Response:
        routes = {"/healthz": self.health, "/rules": self.rules}
        route = routes.get(path)
        if route is None:
            return httpkit.not_found()
        if method not in ("GET", "HEAD"):
            return httpkit.error(405, "method not allowed")
        return route()

    def _rule_count(self) -> int | None:
        try:
            return self.store.count()
        except StoreError:
            return None

    def _climate_up(self) -> bool:
        if not self.settings.climate_url:
            return False
        try:
            return self.fetch(self.settings.climate_url + "/healthz", UPSTREAM_TIMEOUT_S)[0] == 200
        except httpkit.UpstreamError:
            return False

    def health(self) -> httpkit.Response:
        # Both checks at once, so a slow database and a slow climate do not add up.
        with ThreadPoolExecutor(max_workers=2) as pool:
            count_future = pool.submit(self._rule_count)
            climate_future = pool.submit(self._climate_up)
            count, climate_up = count_future.result(), climate_future.result()
        upstream = {"climate": "up" if climate_up else "down"}
        if count is None or not climate_up:
            return httpkit.json_response(503, {"state": "degraded", "rules": None, "upstream": upstream})
        return httpkit.json_response(200, {"state": "up", "rules": count, "upstream": upstream})

    def rules(self) -> httpkit.Response:
        try:
            rules = self.store.rules()
        except StoreError as exc:
            return httpkit.error(503, f"database: {exc}")
        return httpkit.json_response(200, {"rules": [rule.to_json() for rule in rules]})


def main() -> None:
    settings = config.load()
    httpkit.serve(AlertsApi(settings, PgStore(settings.database_url)), settings.port)
