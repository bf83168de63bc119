"""order-intake HTTP routes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import config, files_client, httpkit, intake

HEALTH_DEADLINE_S = 1.8

CreateSeed = Callable[[str | None, str | None, dict[str, Any]], dict[str, Any]]


class OrderIntake:
    name = "order-intake"

    def __init__(
        self,
        settings: config.Settings,
        check_files_api: Callable[[str | None], str] = files_client.check_health,
        create_seed: CreateSeed = files_client.create_seed,
    ) -> None:
        self.settings = settings
        self.check_files_api = check_files_api
        self.create_seed = create_seed

    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> httpkit.Response:
        routes: dict[str, tuple[str, Callable[[], httpkit.Response]]] = {
            "/health": ("GET", self.health),
            "/api/v1/intake/schema": (
                "GET",
                lambda: httpkit.json_response(200, intake.SCHEMA),
            ),
            "/api/v1/intake/validate": ("POST", lambda: self.validate(body)),
            "/api/v1/intake": ("POST", lambda: self.submit(headers, body)),
        }
        if path not in routes:
            return httpkit.not_found()
        allowed, action = routes[path]
        if method != allowed and not (method == "HEAD" and allowed == "GET"):
            return httpkit.error(405, "method not allowed")
        return action()

    def health(self) -> httpkit.Response:
        url = self.settings.files_api_url
        results = httpkit.run_checks(
            {"artwork_api": lambda: self.check_files_api(url)}, HEALTH_DEADLINE_S
        )
        return httpkit.health_response(results)

    @staticmethod
    def _problems(body: bytes) -> tuple[Any, list[intake.Error]]:
        payload, problem = httpkit.parse_json(body)
        if problem:
            return None, [{"field": "body", "message": problem}]
        return payload, intake.validate(payload)

    def validate(self, body: bytes) -> httpkit.Response:
        _, errors = self._problems(body)
        if errors:
            return httpkit.json_response(422, {"valid": False, "errors": errors})
        return httpkit.json_response(200, {"valid": True})

    def submit(self, headers: Mapping[str, str], body: bytes) -> httpkit.Response:
        if not httpkit.api_key_ok(headers, self.settings.order_intake_api_key):
            return httpkit.error(401, "missing or invalid x-api-key")
        payload, errors = self._problems(body)
        if errors:
            return httpkit.json_response(422, {"valid": False, "errors": errors})
        try:
            created = self.create_seed(
                self.settings.files_api_url,
                self.settings.files_api_key,
                intake.seed_request(payload),
            )
        except files_client.FilesApiError as exc:
            return httpkit.error(502, str(exc))
        return httpkit.json_response(
            201,
            {
                "seed_id": created["id"],
                "has_line_item": bool(created.get("has_line_item", False)),
                "metadata": created.get("metadata"),
            },
        )


def main() -> None:
    settings = config.load()
    httpkit.serve(OrderIntake(settings), settings.port)
