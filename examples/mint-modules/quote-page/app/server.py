"""quote-page HTTP routes."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from . import checks, config, httpkit, page

HEALTH_DEADLINE_S = 1.8


class QuotePage:
    name = "quote-page"

    def __init__(
        self,
        settings: config.Settings,
        check_minio: Callable[[], str] | None = None,
        check_files_api: Callable[[], str] | None = None,
    ) -> None:
        self.settings = settings
        self.check_minio = check_minio or (lambda: checks.check_minio(settings))
        self.check_files_api = check_files_api or (
            lambda: checks.check_files_api(settings.files_api_url)
        )

    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> httpkit.Response:
        if path not in ("/", "/health"):
            return httpkit.not_found()
        if method not in ("GET", "HEAD"):
            return httpkit.error(405, "method not allowed")
        if path == "/health":
            results = httpkit.run_checks(
                {"minio": self.check_minio, "files_api": self.check_files_api},
                HEALTH_DEADLINE_S,
            )
            return httpkit.health_response(results)
        return httpkit.Response(
            200, page.render().encode(), content_type="text/html; charset=utf-8"
        )


def main() -> None:
    settings = config.load()
    httpkit.serve(QuotePage(settings), settings.port)
