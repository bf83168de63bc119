"""Routing, auth and health of files-api, with the store replaced by an in-memory fake."""

import datetime as dt
import http.client
import json
import threading
import unittest

from app import config, httpkit, seeds
from app.server import FilesApi
from app.store import StoreError

KEY = "test-files-key-123"
SECRETS = {
    "DATABASE_URL": "postgresql://mint:pg-secret-pw@postgres:5432/mint",
    "MINIO_ENDPOINT": "http://minio:9000",
    "MINIO_ACCESS_KEY": "access-secret",
    "MINIO_SECRET_KEY": "minio-secret-value",
    "MINIO_BUCKET": "artwork-intake",
    "FILES_API_KEY": KEY,
}


class FakeStore:
    def __init__(self, db: str = "ok", minio: str = "ok") -> None:
        self.db, self.minio = db, minio
        self.rows: dict[int, seeds.SeedRecord] = {}

    def create(self, seed: seeds.SeedInput) -> seeds.SeedRecord:
        if self.db != "ok":
            raise StoreError("database: unreachable")
        record = seeds.new_record(
            seed, len(self.rows) + 1, dt.datetime(2026, 2, 12, tzinfo=dt.UTC)
        )
        self.rows[record.id] = record
        return record

    def get(self, seed_id: int) -> seeds.SeedRecord | None:
        return self.rows.get(seed_id)

    def check_db(self) -> str:
        return self.db

    def check_minio(self) -> str:
        return self.minio


def make_app(store: FakeStore) -> FilesApi:
    return FilesApi(config.load(SECRETS), store)


def call(
    app: FilesApi, method: str, path: str, body: object = None, key: str | None = KEY
) -> tuple[int, dict]:
    headers = {"x-api-key": key} if key is not None else {}
    raw = (
        b""
        if body is None
        else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    resp = app.handle(method, path, headers, raw)
    return resp.status, json.loads(resp.body)


class Health(unittest.TestCase):
    def test_all_ok(self) -> None:
        self.assertEqual(
            call(make_app(FakeStore()), "GET", "/health"),
            (200, {"status": "ok", "db": "ok", "minio": "ok"}),
        )

    def test_failing_dependency_gives_503_and_names_it(self) -> None:
        status, body = call(
            make_app(FakeStore(minio="bucket not found")), "GET", "/health"
        )
        self.assertEqual(status, 503)
        self.assertEqual(body["db"], "ok")
        self.assertEqual(body["minio"], "bucket not found")
        self.assertNotEqual(body["status"], "ok")

    def test_real_store_without_config_reports_missing_keys_without_secrets(
        self,
    ) -> None:
        from app.store import PgS3Store

        settings = config.load(
            {"MINIO_ENDPOINT": "http://minio:9000", "FILES_API_KEY": KEY}
        )
        app = FilesApi(settings, PgS3Store(settings))
        resp = app.handle("GET", "/health", {}, b"")
        self.assertEqual(resp.status, 503)
        body = json.loads(resp.body)
        self.assertEqual(body["db"], "DATABASE_URL not set")
        self.assertTrue(body["minio"].endswith("not set"))
        self.assertNotIn(KEY, resp.body.decode())


class Seeds(unittest.TestCase):
    def test_key_required(self) -> None:
        app = make_app(FakeStore())
        for key in (None, "", "wrong"):
            self.assertEqual(
                call(app, "POST", "/api/v1/seeds", {"name": "a"}, key=key)[0], 401
            )
            self.assertEqual(call(app, "GET", "/api/v1/seeds/1", key=key)[0], 401)

    def test_no_key_configured_refuses_everyone(self) -> None:
        app = FilesApi(config.load({}), FakeStore())
        self.assertEqual(
            call(app, "POST", "/api/v1/seeds", {"name": "a"}, key="")[0], 401
        )

    def test_create_then_read_back(self) -> None:
        app = make_app(FakeStore())
        status, created = call(
            app, "POST", "/api/v1/seeds", {"name": "logo", "content": {"x": 1}}
        )
        self.assertEqual(status, 201)
        self.assertEqual(created["object_key"], f"seeds/{created['id']}.json")
        status, read = call(app, "GET", f"/api/v1/seeds/{created['id']}")
        self.assertEqual((status, read), (200, created))

    def test_bad_input_is_400_naming_the_field(self) -> None:
        app = make_app(FakeStore())
        self.assertEqual(
            call(app, "POST", "/api/v1/seeds", b"{not json")[1]["field"], "body"
        )
        status, body = call(app, "POST", "/api/v1/seeds", {"content": 1})
        self.assertEqual((status, body["field"]), (400, "name"))

    def test_unknown_seed_is_404(self) -> None:
        app = make_app(FakeStore())
        self.assertEqual(call(app, "GET", "/api/v1/seeds/999")[0], 404)
        self.assertEqual(call(app, "GET", "/api/v1/seeds/abc")[0], 404)

    def test_store_failure_is_503(self) -> None:
        self.assertEqual(
            call(
                make_app(FakeStore(db="unreachable")),
                "POST",
                "/api/v1/seeds",
                {"name": "a"},
            )[0],
            503,
        )

    def test_unknown_path_is_404_json(self) -> None:
        self.assertEqual(
            call(make_app(FakeStore()), "GET", "/nope"), (404, {"error": "not found"})
        )


class OverHttp(unittest.TestCase):
    def test_server_answers_json_on_an_ephemeral_port(self) -> None:
        server = httpkit.make_server(
            make_app(FakeStore(db="unreachable")), 0, "127.0.0.1"
        )
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        try:
            conn = http.client.HTTPConnection(
                "127.0.0.1", server.server_address[1], timeout=5
            )
            conn.request("GET", "/health")
            resp = conn.getresponse()
            self.assertEqual(resp.status, 503)
            self.assertEqual(resp.getheader("Content-Type"), "application/json")
            self.assertEqual(json.loads(resp.read())["db"], "unreachable")
            conn.request(
                "POST",
                "/api/v1/seeds",
                body=b'{"name": "x"}',
                headers={"x-api-key": "nope"},
            )
            resp = conn.getresponse()
            self.assertEqual(resp.status, 401)
            resp.read()
            conn.close()
        finally:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    unittest.main()
