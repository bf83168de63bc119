import http.client
import json
import threading
import time
import unittest

from app import config, httpkit
from app.server import QuotePage

ENV = {
    "MINIO_ENDPOINT": "http://minio:9000",
    "MINIO_ACCESS_KEY": "access-secret",
    "MINIO_SECRET_KEY": "minio-secret-value",
    "MINIO_BUCKET": "artwork-intake",
    "FILES_API_URL": "http://files-api:3500",
}


def health(app: QuotePage) -> tuple[int, dict]:
    resp = app.handle("GET", "/health", {}, b"")
    return resp.status, json.loads(resp.body)


class Health(unittest.TestCase):
    def test_all_ok(self) -> None:
        app = QuotePage(
            config.load(ENV), check_minio=lambda: "ok", check_files_api=lambda: "ok"
        )
        self.assertEqual(
            health(app), (200, {"status": "ok", "minio": "ok", "files_api": "ok"})
        )

    def test_each_failure_is_named(self) -> None:
        app = QuotePage(
            config.load(ENV),
            check_minio=lambda: "ok",
            check_files_api=lambda: "unreachable",
        )
        self.assertEqual(
            health(app),
            (503, {"status": "degraded", "minio": "ok", "files_api": "unreachable"}),
        )

    def test_slow_check_times_out_instead_of_hanging(self) -> None:
        app = QuotePage(
            config.load(ENV),
            check_minio=lambda: time.sleep(5) or "ok",
            check_files_api=lambda: "ok",
        )
        started = time.monotonic()
        status, body = health(app)
        self.assertLess(time.monotonic() - started, 3)
        self.assertEqual((status, body["minio"]), (503, "timeout"))

    def test_missing_config_is_reported_without_secrets(self) -> None:
        app = QuotePage(config.load({"MINIO_SECRET_KEY": "minio-secret-value"}))
        status, body = health(app)
        self.assertEqual(status, 503)
        self.assertEqual(body["minio"], "MINIO_ENDPOINT not set")
        self.assertEqual(body["files_api"], "FILES_API_URL not set")
        self.assertNotIn("minio-secret-value", json.dumps(body))

    def test_check_that_raises_is_a_failure(self) -> None:
        def boom() -> str:
            raise RuntimeError("secret-in-message")

        app = QuotePage(
            config.load(ENV), check_minio=boom, check_files_api=lambda: "ok"
        )
        status, body = health(app)
        self.assertEqual((status, body["minio"]), (503, "error (RuntimeError)"))


class Page(unittest.TestCase):
    def test_page_is_html_over_http(self) -> None:
        server = httpkit.make_server(QuotePage(config.load(ENV)), 0, "127.0.0.1")
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        try:
            conn = http.client.HTTPConnection(
                "127.0.0.1", server.server_address[1], timeout=5
            )
            conn.request("GET", "/")
            resp = conn.getresponse()
            text = resp.read().decode()
            self.assertEqual(resp.status, 200)
            self.assertTrue(resp.getheader("Content-Type", "").startswith("text/html"))
            self.assertIn("embroidery", text)
            conn.request("GET", "/missing")
            resp = conn.getresponse()
            self.assertEqual(
                (resp.status, json.loads(resp.read())), (404, {"error": "not found"})
            )
            conn.close()
        finally:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    unittest.main()
