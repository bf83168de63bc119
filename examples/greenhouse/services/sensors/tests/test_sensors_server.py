"""Routing, token check and health of gh-sensors, with the database replaced by a fake."""

import http.client
import json
import threading
import unittest

from app import config, httpkit
from app.readings import Reading, Stats
from app.server import SensorsApi
from app.store import PgStore, StoreError

TOKEN = "ingest-secret-token-42"
DSN = "postgresql://gh:pg-secret-pw@postgres:5432/greenhouse?options=-csearch_path%3Dgh"
ENV = {"DATABASE_URL": DSN, "GH_INGEST_TOKEN": TOKEN}


class FakeStore:
    def __init__(self, up: bool = True) -> None:
        self.up = up
        self.rows: dict[int, Reading] = {}

    def _check(self) -> None:
        if not self.up:
            raise StoreError("unreachable (OperationalError)")

    def ping(self) -> None:
        self._check()

    def insert(self, reading: Reading) -> int:
        self._check()
        self.rows[len(self.rows) + 1] = reading
        return len(self.rows)

    def get(self, reading_id: int) -> Reading | None:
        self._check()
        return self.rows.get(reading_id)

    def stats(self) -> Stats:
        self._check()
        values = [r.celsius for r in self.rows.values()]
        mean = round(sum(values) / len(values), 2) if values else None
        return Stats(len(values), len({r.sensor for r in self.rows.values()}), mean)


def call(app: SensorsApi, method: str, path: str, body: object = None, token: str | None = TOKEN) -> tuple[int, dict]:
    headers = {"x-ingest-token": token} if token is not None else {}
    raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    resp = app.handle(method, path, headers, raw)
    return resp.status, json.loads(resp.body)


def make_app(store: FakeStore | None = None, env: dict[str, str] = ENV) -> SensorsApi:
    return SensorsApi(config.load(env), store or FakeStore())


class Health(unittest.TestCase):
    def test_up(self) -> None:
        self.assertEqual(
            call(make_app(), "GET", "/healthz"),
            (200, {"state": "up", "checks": {"postgres": "reachable"}, "api": 1}),
        )

    def test_database_down_is_503_degraded(self) -> None:
        self.assertEqual(
            call(make_app(FakeStore(up=False)), "GET", "/healthz"),
            (503, {"state": "degraded", "checks": {"postgres": "unreachable"}, "api": 1}),
        )

    def test_real_store_without_database_url_is_degraded(self) -> None:
        settings = config.load({"GH_INGEST_TOKEN": TOKEN})
        status, body = call(SensorsApi(settings, PgStore(settings.database_url)), "GET", "/healthz")
        self.assertEqual((status, body["state"]), (503, "degraded"))


class Token(unittest.TestCase):
    def test_missing_or_wrong_token_is_401(self) -> None:
        app = make_app()
        for token in (None, "", "wrong", TOKEN + "x"):
            self.assertEqual(
                call(app, "POST", "/readings", {"sensor": "a", "celsius": 1}, token=token),
                (401, {"error": "bad token"}),
            )
        self.assertEqual(app.store.rows, {})  # type: ignore[attr-defined]

    def test_unset_token_refuses_everything(self) -> None:
        app = make_app(env={"DATABASE_URL": DSN})
        for token in (None, ""):
            self.assertEqual(call(app, "POST", "/readings", {"sensor": "a", "celsius": 1}, token=token)[0], 401)

    def test_secrets_never_in_answers_or_repr(self) -> None:
        app = make_app(FakeStore(up=False))
        answers = [app.handle("GET", p, {}, b"") for p in ("/healthz", "/stats", "/readings/1")]
        answers.append(app.handle("POST", "/readings", {"x-ingest-token": "nope"}, b"{}"))
        for resp in answers:
            self.assertNotIn(TOKEN, resp.body.decode())
            self.assertNotIn("pg-secret-pw", resp.body.decode())
        self.assertNotIn(TOKEN, repr(app.settings))
        self.assertNotIn("pg-secret-pw", repr(app.settings) + repr(PgStore(DSN)))


class Readings(unittest.TestCase):
    def test_create_read_back_and_stats(self) -> None:
        app = make_app()
        status, created = call(app, "POST", "/readings", {"sensor": "bench-1", "celsius": 21.5})
        self.assertEqual((status, created), (201, {"id": 1, "sensor": "bench-1", "celsius": 21.5}))
        call(app, "POST", "/readings", {"sensor": "bench-2", "celsius": 18.5})
        self.assertEqual(call(app, "GET", "/readings/1"), (200, created))
        self.assertEqual(call(app, "GET", "/stats"), (200, {"readings": 2, "sensors": 2, "mean_celsius": 20.0}))

    def test_empty_stats_have_null_mean(self) -> None:
        self.assertEqual(call(make_app(), "GET", "/stats"), (200, {"readings": 0, "sensors": 0, "mean_celsius": None}))

    def test_bad_body_is_400_naming_the_field(self) -> None:
        app = make_app()
        status, body = call(app, "POST", "/readings", b"{not json")
        self.assertEqual((status, body["field"]), (400, "body"))
        status, body = call(app, "POST", "/readings", {"sensor": "a"})
        self.assertEqual(status, 400)
        self.assertIn("celsius", body["error"])
        status, body = call(app, "POST", "/readings", {"celsius": 3})
        self.assertEqual(status, 400)
        self.assertIn("sensor", body["error"])

    def test_unknown_reading_and_path_are_404(self) -> None:
        app = make_app()
        for path in ("/readings/999", "/readings/abc", "/readings/99999999999999999999", "/nope"):
            self.assertEqual(call(app, "GET", path), (404, {"error": "not found"}))

    def test_wrong_method_is_405(self) -> None:
        self.assertEqual(call(make_app(), "GET", "/readings")[0], 405)
        self.assertEqual(call(make_app(), "POST", "/stats")[0], 405)

    def test_database_failure_is_503(self) -> None:
        app = make_app(FakeStore(up=False))
        self.assertEqual(call(app, "POST", "/readings", {"sensor": "a", "celsius": 1})[0], 503)
        self.assertEqual(call(app, "GET", "/stats")[0], 503)


class OverHttp(unittest.TestCase):
    def test_server_answers_json_on_an_ephemeral_port(self) -> None:
        server = httpkit.make_server(make_app(), 0, "127.0.0.1")
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
            conn.request("GET", "/healthz")
            resp = conn.getresponse()
            self.assertEqual((resp.status, resp.getheader("Content-Type")), (200, "application/json"))
            self.assertEqual(json.loads(resp.read())["state"], "up")
            conn.request(
                "POST",
                "/readings",
                body=b'{"sensor": "bench-1", "celsius": 20.25}',
                headers={"X-Ingest-Token": TOKEN, "Content-Type": "application/json"},
            )
            resp = conn.getresponse()
            self.assertEqual(resp.status, 201)
            self.assertEqual(json.loads(resp.read())["celsius"], 20.25)
            conn.close()
        finally:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    unittest.main()
