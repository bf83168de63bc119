"""gh-climate HTTP routes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import config, httpkit

UPSTREAM_TIMEOUT_S = 2.0
SOURCE = "gh-sensors"

# (url, timeout seconds) -> (HTTP status, JSON body or None); raises httpkit.UpstreamError
Fetch = Callable[[str, float], tuple[int, Any]]


def summary_from_stats(stats: Any) -> dict[str, Any] | None:
    """The /summary body from a gh-sensors /stats body, or None when its shape is wrong."""
    if not isinstance(stats, dict):
        return None
    counts = [stats.get("readings"), stats.get("sensors")]
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in counts):
        return None
    mean = stats.get("mean_celsius")
    if mean is not None and (isinstance(mean, bool) or not isinstance(mean, int | float)):
        return None
    return {"readings": counts[0], "sensors": counts[1], "mean_celsius": mean, "source": SOURCE}


class ClimateApi:
    name = "gh-climate"

    def __init__(self, settings: config.Settings, fetch: Fetch = httpkit.get_json) -> None:
        self.settings = settings
        self.fetch = fetch

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> httpkit.Response:
        routes = {"/healthz": self.health, "/summary": self.summary}
        route = routes.get(path)
        if route is None:
            return httpkit.not_found()
        if method not in ("GET", "HEAD"):
            return httpkit.error(405, "method not allowed")
        return route()

    def _sensors(self, path: str) -> tuple[int, Any]:
        if not self.settings.sensors_url:
            raise httpkit.UpstreamError("SENSORS_URL not set")
        return self.fetch(self.settings.sensors_url + path, UPSTREAM_TIMEOUT_S)

    def health(self) -> httpkit.Response:
        try:
            status, _ = self._sensors("/healthz")
        except httpkit.UpstreamError:
            status = 0
        if status == 200:
            return httpkit.json_response(200, {"state": "up", "upstream": {"sensors": "up"}})
        return httpkit.json_response(503, {"state": "degraded", "upstream": {"sensors": "down"}})

    def summary(self) -> httpkit.Response:
        try:
            status, stats = self._sensors("/stats")
        except httpkit.UpstreamError as exc:
            return httpkit.error(502, f"{SOURCE}: {exc}")
        if status != 200:
            return httpkit.error(502, f"{SOURCE}: HTTP {status}")
        summary = summary_from_stats(stats)
        if summary is None:
            return httpkit.error(502, f"{SOURCE}: unexpected answer")
        return httpkit.json_response(200, summary)


def main() -> None:
    settings = config.load()
    httpkit.serve(ClimateApi(settings), settings.port)
