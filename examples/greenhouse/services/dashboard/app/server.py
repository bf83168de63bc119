"""gh-dashboard HTTP routes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import config, httpkit, page

UPSTREAM_TIMEOUT_S = 2.0

# (url, timeout seconds) -> (HTTP status, JSON body or None); raises httpkit.UpstreamError
Fetch = Callable[[str, float], tuple[int, Any]]


class DashboardApi:
    name = "gh-dashboard"

    def __init__(
        self,
        settings: config.Settings,
        fetch: Fetch = httpkit.get_json,
        ready: Callable[[], bool] = page.page_ready,
        render: Callable[[Mapping[str, Any] | None], str] = page.render,
    ) -> None:
        self.settings = settings
        self.fetch = fetch
        self.ready = ready
        self.render = render

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> httpkit.Response:
        routes = {"/healthz": self.health, "/": self.index}
        route = routes.get(path)
        if route is None:
            return httpkit.not_found()
        if method not in ("GET", "HEAD"):
            return httpkit.error(405, "method not allowed")
        return route()

    def _climate(self, path: str) -> tuple[int, Any]:
        if not self.settings.climate_url:
            raise httpkit.UpstreamError("CLIMATE_URL not set")
        return self.fetch(self.settings.climate_url + path, UPSTREAM_TIMEOUT_S)

    def health(self) -> httpkit.Response:
        try:
            climate_up = self._climate("/healthz")[0] == 200
        except httpkit.UpstreamError:
            climate_up = False
        ready = self.ready()
        if climate_up:
            return httpkit.json_response(200, {"state": "up", "ready": ready, "upstream": {"climate": "up"}})
        return httpkit.json_response(503, {"state": "degraded", "ready": False, "upstream": {"climate": "down"}})

    def index(self) -> httpkit.Response:
        try:
            status, summary = self._climate("/summary")
        except httpkit.UpstreamError:
            status, summary = 0, None
        ok = status == 200 and isinstance(summary, dict)
        return httpkit.html_response(200, self.render(summary if ok else None))


def main() -> None:
    settings = config.load()
    httpkit.serve(DashboardApi(settings), settings.port)
