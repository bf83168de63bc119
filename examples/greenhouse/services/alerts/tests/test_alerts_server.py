"""Health and rules of gh-alerts, with the database and gh-climate replaced by fakes."""

import json
import unittest
from typing import Any

from app import config, httpkit
from app.server import AlertsApi
from app.store import PgStore, Rule, StoreError

DSN = "postgresql://gh:pg-secret-pw@postgres:5432/greenhouse?options=-csearch_path%3Dgh"
ENV = {"DATABASE_URL": DSN, "CLIMATE_URL": "http://gh-climate:4102/"}
RULES = [Rule(1, "bench-1", 30.0), Rule(2, "roof", 35.5)]


class FakeStore:
    def __init__(self, rules: list[Rule] | None = None, up: bool = True) -> None:
        self._rules = RULES if rules is None else rules
        self.up = up

    def count(self) -> int:
        return len(self.rules())

    def rules(self) -> list[Rule]:
        if not self.up:
            raise StoreError("unreachable (OperationalError)")
        return list(self._rules)


class FakeClimate:
    def __init__(self, status: int = 200, down: bool = False) -> None:
        self.status, self.down = status, down
        self.urls: list[str] = []

    def __call__(self, url: str, timeout: float) -> tuple[int, Any]:
        self.urls.append(url)
        if self.down:
            raise httpkit.UpstreamError("unreachable (ConnectionRefusedError)")
        return self.status, {}


def call(app: AlertsApi, path: str, method: str = "GET") -> tuple[int, dict]:
    resp = app.handle(method, path, {}, b"")
    return resp.status, json.loads(resp.body)


class Health(unittest.TestCase):
    def test_up_counts_the_rules(self) -> None:
        climate = FakeClimate()
        app = AlertsApi(config.load(ENV), FakeStore(), climate)
        self.assertEqual(call(app, "/healthz"), (200, {"state": "up", "rules": 2, "upstream": {"climate": "up"}}))
        self.assertEqual(climate.urls, ["http://gh-climate:4102/healthz"])

    def test_zero_rules_is_still_up(self) -> None:
        app = AlertsApi(config.load(ENV), FakeStore(rules=[]), FakeClimate())
        self.assertEqual(call(app, "/healthz"), (200, {"state": "up", "rules": 0, "upstream": {"climate": "up"}}))

    def test_database_down_is_degraded(self) -> None:
        app = AlertsApi(config.load(ENV), FakeStore(up=False), FakeClimate())
        self.assertEqual(
            call(app, "/healthz"), (503, {"state": "degraded", "rules": None, "upstream": {"climate": "up"}})
        )

    def test_climate_down_is_degraded(self) -> None:
        for climate in (FakeClimate(status=503), FakeClimate(down=True)):
            app = AlertsApi(config.load(ENV), FakeStore(), climate)
            self.assertEqual(
                call(app, "/healthz"), (503, {"state": "degraded", "rules": None, "upstream": {"climate": "down"}})
            )

    def test_real_store_without_configuration_is_degraded(self) -> None:
        settings = config.load({})
        status, body = call(AlertsApi(settings, PgStore(settings.database_url), FakeClimate()), "/healthz")
        self.assertEqual(
            (status, body["state"], body["rules"], body["upstream"]), (503, "degraded", None, {"climate": "down"})
        )


class Rules(unittest.TestCase):
    def test_rules_list(self) -> None:
        app = AlertsApi(config.load(ENV), FakeStore(), FakeClimate())
        self.assertEqual(
            call(app, "/rules"),
            (
                200,
                {
                    "rules": [
                        {"id": 1, "sensor": "bench-1", "above_celsius": 30.0},
                        {"id": 2, "sensor": "roof", "above_celsius": 35.5},
                    ]
                },
            ),
        )

    def test_database_failure_is_503_without_the_dsn(self) -> None:
        app = AlertsApi(config.load(ENV), FakeStore(up=False), FakeClimate())
        resp = app.handle("GET", "/rules", {}, b"")
        self.assertEqual(resp.status, 503)
        self.assertNotIn("pg-secret-pw", resp.body.decode())
        self.assertNotIn("pg-secret-pw", repr(app.settings) + repr(PgStore(DSN)))

    def test_unknown_path_and_method(self) -> None:
        app = AlertsApi(config.load(ENV), FakeStore(), FakeClimate())
        self.assertEqual(call(app, "/nope"), (404, {"error": "not found"}))
        self.assertEqual(call(app, "/rules", "POST")[0], 405)


if __name__ == "__main__":
    unittest.main()
