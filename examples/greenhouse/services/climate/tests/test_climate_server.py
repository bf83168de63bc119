"""Health and summary of gh-climate, with gh-sensors replaced by an injected fake fetch."""

import http.server
import json
import threading
import unittest
from typing import Any

from app import config, httpkit
from app.server import ClimateApi, summary_from_stats

STATS = {"readings": 3, "sensors": 2, "mean_celsius": 21.25}


class FakeSensors:
    """Answers like gh-sensors; records the URLs it was asked for."""

    def __init__(self, answers: dict[str, tuple[int, Any]] | None = None, down: bool = False) -> None:
        self.answers = answers or {
            "/healthz": (200, {"state": "up", "checks": {"postgres": "reachable"}, "api": 1}),
            "/stats": (200, STATS),
        }
        self.down = down
        self.urls: list[tuple[str, float]] = []

    def __call__(self, url: str, timeout: float) -> tuple[int, Any]:
        self.urls.append((url, timeout))
        if self.down:
            raise httpkit.UpstreamError("unreachable (ConnectionRefusedError)")
        return self.answers["/" + url.split("/", 3)[3]]


def call(app: ClimateApi, path: str, method: str = "GET") -> tuple[int, dict]:
    resp = app.handle(method, path, {}, b"")
    return resp.status, json.loads(resp.body)


def make_app(fetch: FakeSensors, url: str = "http://gh-sensors:4101/") -> ClimateApi:
    return ClimateApi(config.load({"SENSORS_URL": url}), fetch)


class Health(unittest.TestCase):
    def test_up_when_sensors_answers_200(self) -> None:
        fake = FakeSensors()
        self.assertEqual(call(make_app(fake), "/healthz"), (200, {"state": "up", "upstream": {"sensors": "up"}}))
        self.assertEqual(fake.urls, [("http://gh-sensors:4101/healthz", 2.0)])

    def test_degraded_when_sensors_is_degraded_or_unreachable(self) -> None:
        degraded = FakeSensors({"/healthz": (503, {"state": "degraded"})})
        for fake in (degraded, FakeSensors(down=True)):
            self.assertEqual(
                call(make_app(fake), "/healthz"), (503, {"state": "degraded", "upstream": {"sensors": "down"}})
            )

    def test_degraded_without_sensors_url(self) -> None:
        fake = FakeSensors()
        self.assertEqual(call(ClimateApi(config.load({}), fake), "/healthz")[0], 503)
        self.assertEqual(fake.urls, [])


class Summary(unittest.TestCase):
    def test_summary_adds_the_source(self) -> None:
        self.assertEqual(call(make_app(FakeSensors()), "/summary"), (200, {**STATS, "source": "gh-sensors"}))

    def test_empty_stats_keep_null_mean(self) -> None:
        self.assertEqual(
            summary_from_stats({"readings": 0, "sensors": 0, "mean_celsius": None}),
            {"readings": 0, "sensors": 0, "mean_celsius": None, "source": "gh-sensors"},
        )

    def test_sensors_failure_is_502(self) -> None:
        for fake in (
            FakeSensors(down=True),
            FakeSensors({"/stats": (503, {"error": "database: unreachable"})}),
            FakeSensors({"/stats": (200, {"readings": "3"})}),
            FakeSensors({"/stats": (200, None)}),
        ):
            status, body = call(make_app(fake), "/summary")
            self.assertEqual(status, 502)
            self.assertIn("gh-sensors", body["error"])

    def test_unknown_path_and_method(self) -> None:
        self.assertEqual(call(make_app(FakeSensors()), "/nope"), (404, {"error": "not found"}))
        self.assertEqual(call(make_app(FakeSensors()), "/summary", "POST")[0], 405)


class RealFetch(unittest.TestCase):
    def test_get_json_against_a_local_server(self) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status = 200 if self.path == "/stats" else 503
                body = json.dumps(STATS if status == 200 else {"state": "degraded"}).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        try:
            app = ClimateApi(config.load({"SENSORS_URL": f"http://127.0.0.1:{server.server_address[1]}"}))
            self.assertEqual(call(app, "/summary"), (200, {**STATS, "source": "gh-sensors"}))
            self.assertEqual(call(app, "/healthz")[0], 503)
        finally:
            server.shutdown()
            server.server_close()
        with self.assertRaises(httpkit.UpstreamError):
            httpkit.get_json(f"http://127.0.0.1:{server.server_address[1]}/healthz", 1.0)


if __name__ == "__main__":
    unittest.main()
