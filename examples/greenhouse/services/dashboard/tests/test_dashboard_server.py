"""Health and page of gh-dashboard, with gh-climate and the page readiness injected."""

import json
import unittest
from collections.abc import Callable, Mapping
from typing import Any

from app import config, httpkit, page
from app.server import DashboardApi

SUMMARY = {"readings": 3, "sensors": 2, "mean_celsius": 21.25, "source": "gh-sensors"}


class FakeClimate:
    def __init__(self, health: int = 200, summary: tuple[int, Any] = (200, SUMMARY), down: bool = False) -> None:
        self.answers = {"/healthz": (health, {}), "/summary": summary}
        self.down = down
        self.urls: list[str] = []

    def __call__(self, url: str, timeout: float) -> tuple[int, Any]:
        self.urls.append(url)
        if self.down:
            raise httpkit.UpstreamError("unreachable (TimeoutError)")
        return self.answers["/" + url.split("/", 3)[3]]


def compact(summary: Mapping[str, Any] | None) -> str:
    return page.render(summary, "<p>$readings/$sensors/$mean_celsius</p>")


def make_app(
    climate: FakeClimate, ready: Callable[[], bool] = lambda: True, env: dict[str, str] | None = None
) -> DashboardApi:
    settings = config.load({"CLIMATE_URL": "http://gh-climate:4102"} if env is None else env)
    return DashboardApi(settings, climate, ready=ready, render=compact)


def health(app: DashboardApi) -> tuple[int, dict]:
    resp = app.handle("GET", "/healthz", {}, b"")
    return resp.status, json.loads(resp.body)


class Health(unittest.TestCase):
    def test_up_and_ready(self) -> None:
        climate = FakeClimate()
        self.assertEqual(
            health(make_app(climate)), (200, {"state": "up", "ready": True, "upstream": {"climate": "up"}})
        )
        self.assertEqual(climate.urls, ["http://gh-climate:4102/healthz"])

    def test_ready_comes_from_the_page(self) -> None:
        status, body = health(make_app(FakeClimate(), ready=lambda: False))
        self.assertEqual((status, body["ready"], body["upstream"]), (200, False, {"climate": "up"}))

    def test_climate_down_is_503_and_not_ready(self) -> None:
        expected = (503, {"state": "degraded", "ready": False, "upstream": {"climate": "down"}})
        self.assertEqual(health(make_app(FakeClimate(health=503))), expected)
        self.assertEqual(health(make_app(FakeClimate(down=True))), expected)
        self.assertEqual(health(make_app(FakeClimate(), env={})), expected)


class Index(unittest.TestCase):
    def test_page_shows_the_summary(self) -> None:
        resp = make_app(FakeClimate()).handle("GET", "/", {}, b"")
        self.assertEqual((resp.status, resp.content_type), (200, "text/html; charset=utf-8"))
        self.assertEqual(resp.body.decode(), "<p>3/2/21.25 °C</p>")

    def test_page_still_answers_when_climate_fails(self) -> None:
        for climate in (FakeClimate(down=True), FakeClimate(summary=(502, {"error": "gh-sensors: HTTP 503"}))):
            resp = make_app(climate).handle("GET", "/", {}, b"")
            self.assertEqual((resp.status, resp.body.decode()), (200, "<p>n/a/n/a/n/a</p>"))

    def test_unknown_path_and_method(self) -> None:
        app = make_app(FakeClimate())
        self.assertEqual(app.handle("GET", "/nope", {}, b"").status, 404)
        self.assertEqual(app.handle("POST", "/", {}, b"").status, 405)


if __name__ == "__main__":
    unittest.main()
