"""Routes of order-intake; end to end over HTTP against a stand-in files-api."""

import http.client
import json
import threading
import unittest
from collections.abc import Mapping
from typing import Any

from app import config, files_client, httpkit
from app.server import OrderIntake
from test_order_intake_validation import VALID

KEY = "intake-key-456"
FILES_KEY = "files-key-789"


def call(
    app: OrderIntake,
    method: str,
    path: str,
    body: object = None,
    key: str | None = None,
) -> tuple[int, Any]:
    headers = {"x-api-key": key} if key is not None else {}
    raw = (
        b""
        if body is None
        else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    resp = app.handle(method, path, headers, raw)
    return resp.status, json.loads(resp.body)


def settings(url: str = "http://files-api:3500") -> config.Settings:
    return config.load(
        {"FILES_API_URL": url, "FILES_API_KEY": FILES_KEY, "ORDER_INTAKE_API_KEY": KEY}
    )


class Routes(unittest.TestCase):
    def test_health_ok_and_failing(self) -> None:
        ok = OrderIntake(settings(), check_files_api=lambda url: "ok")
        self.assertEqual(
            call(ok, "GET", "/health"), (200, {"status": "ok", "artwork_api": "ok"})
        )
        bad = OrderIntake(settings(), check_files_api=lambda url: "unreachable")
        status, body = call(bad, "GET", "/health")
        self.assertEqual((status, body["artwork_api"]), (503, "unreachable"))

    def test_validate_is_200_true_or_422_false(self) -> None:
        app = OrderIntake(settings())
        self.assertEqual(
            call(app, "POST", "/api/v1/intake/validate", VALID), (200, {"valid": True})
        )
        status, body = call(
            app, "POST", "/api/v1/intake/validate", {**VALID, "quantity": 0}
        )
        self.assertEqual(status, 422)
        self.assertIs(body["valid"], False)
        self.assertEqual(
            body["errors"],
            [{"field": "quantity", "message": "required, an integer >= 1"}],
        )
        status, body = call(app, "POST", "/api/v1/intake/validate", b"{oops")
        self.assertEqual(
            (status, body["valid"], body["errors"][0]["field"]), (422, False, "body")
        )

    def test_schema_and_unknown_path(self) -> None:
        app = OrderIntake(settings())
        status, body = call(app, "GET", "/api/v1/intake/schema")
        self.assertEqual(status, 200)
        self.assertIn("decoration_type", body["properties"])
        self.assertEqual(call(app, "GET", "/nope")[0], 404)
        self.assertEqual(call(app, "GET", "/api/v1/intake")[0], 405)

    def test_intake_requires_key(self) -> None:
        app = OrderIntake(settings(), create_seed=lambda *a: {"id": 1})
        for key in (None, "", "wrong", FILES_KEY):
            self.assertEqual(
                call(app, "POST", "/api/v1/intake", VALID, key=key)[0], 401
            )

    def test_intake_rejects_invalid_payload_with_422(self) -> None:
        app = OrderIntake(settings(), create_seed=lambda *a: {"id": 1})
        status, body = call(
            app, "POST", "/api/v1/intake", {**VALID, "decoration_type": "x"}, key=KEY
        )
        self.assertEqual((status, body["valid"]), (422, False))

    def test_files_api_failure_is_502(self) -> None:
        def failing(*_a: Any) -> dict[str, Any]:
            raise files_client.FilesApiError("files-api answered HTTP 503")

        app = OrderIntake(settings(), create_seed=failing)
        self.assertEqual(call(app, "POST", "/api/v1/intake", VALID, key=KEY)[0], 502)


class FakeFilesApi:
    """Stands in for files-api: checks the key, echoes a seed like the real one."""

    name = "fake-files-api"

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> httpkit.Response:
        if path == "/health":
            return httpkit.json_response(
                200, {"status": "ok", "db": "ok", "minio": "ok"}
            )
        if path == "/api/v1/seeds" and method == "POST":
            if not httpkit.api_key_ok(headers, FILES_KEY):
                return httpkit.error(401, "bad key")
            seed = json.loads(body)
            self.received.append(seed)
            meta = seed.get("metadata") or {}
            line = all(
                meta.get(k) is not None
                for k in ("product", "quantity", "decoration_type")
            )
            return httpkit.json_response(
                201,
                {
                    "id": 42,
                    "name": seed["name"],
                    "metadata": meta,
                    "has_line_item": line,
                },
            )
        return httpkit.not_found()


class EndToEnd(unittest.TestCase):
    def setUp(self) -> None:
        self.servers = []

    def tearDown(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def start(self, app: Any) -> int:
        server = httpkit.make_server(app, 0, "127.0.0.1")
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.servers.append(server)
        return int(server.server_address[1])

    def test_intake_creates_a_seed_in_files_api(self) -> None:
        files = FakeFilesApi()
        files_port = self.start(files)
        port = self.start(OrderIntake(settings(f"http://127.0.0.1:{files_port}")))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/health")
        resp = conn.getresponse()
        self.assertEqual(
            (resp.status, json.loads(resp.read())),
            (200, {"status": "ok", "artwork_api": "ok"}),
        )
        conn.request(
            "POST", "/api/v1/intake", body=json.dumps(VALID), headers={"x-api-key": KEY}
        )
        resp = conn.getresponse()
        self.assertEqual(resp.getheader("Content-Type"), "application/json")
        body = json.loads(resp.read())
        conn.close()
        self.assertEqual(resp.status, 201)
        self.assertEqual(body["seed_id"], 42)
        self.assertIs(body["has_line_item"], True)
        self.assertEqual(body["metadata"]["decoration_type"], "screen_print")
        self.assertEqual(files.received[0]["metadata"]["quantity"], 24)

    def test_health_reports_unreachable_files_api(self) -> None:
        port = self.start(OrderIntake(settings("http://127.0.0.1:9")))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/health")
        resp = conn.getresponse()
        self.assertEqual(
            (resp.status, json.loads(resp.read())["artwork_api"]), (503, "unreachable")
        )
        conn.close()


if __name__ == "__main__":
    unittest.main()
