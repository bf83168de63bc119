"""The health gates' decisions and wording, kept out of Jinja (library/cutover_health.py polls).

  cutover_health_targets(services)  -> [{name, url, fields}] of the services that declare a health URL
  cutover_health_summary(results)   -> {name: {ok, status_code, body, problems}} (the payload's health)
  cutover_health_lines(summary)     -> one line per service: "name: ok" or "name: problem, problem"
  cutover_health_failure(summary)   -> "svc: problem, ...; svc: ..." for the services that failed
"""

from __future__ import annotations

from typing import Any


def cutover_health_targets(services: Any) -> list[dict[str, Any]]:
    out = []
    for service in services or []:
        health = service.get("health") if isinstance(service, dict) else None
        if isinstance(health, dict) and health.get("url"):
            fields = list(health.get("fields") or ["status"])
            out.append({"name": service["name"], "url": health["url"], "fields": fields})
    return out


def cutover_health_summary(results: Any) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "ok": bool(r.get("ok")),
            "status_code": r.get("status_code", -1),
            "body": r.get("body") if isinstance(r.get("body"), dict) else {},
            "problems": list(r.get("problems") or []),
        }
        for name, r in (results or {}).items()
    }


def cutover_health_lines(summary: Any) -> list[str]:
    return [f"{name}: {', '.join(r.get('problems') or []) or 'ok'}" for name, r in (summary or {}).items()]


def cutover_health_failure(summary: Any) -> str:
    return "; ".join(
        f"{name}: {', '.join(r.get('problems') or []) or 'failed'}"
        for name, r in (summary or {}).items()
        if not r.get("ok")
    )


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "cutover_health_targets": cutover_health_targets,
            "cutover_health_summary": cutover_health_summary,
            "cutover_health_lines": cutover_health_lines,
            "cutover_health_failure": cutover_health_failure,
        }
