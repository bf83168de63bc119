"""The health gates' decisions and wording, kept out of Jinja (library/cutover_health.py polls).

  cutover_health_targets(services)  -> [{name, url, contract}] of the services that declare a health URL
                                       (contract: module_utils/cutover_health_contract.py, the one definition)
  cutover_health_new_containers(entries, services) -> the swap's gates of a level's new containers
  cutover_health_summary(results)   -> {name: {ok, status_code, body, problems}} (the payload's health)
  cutover_health_lines(summary)     -> one line per service: "name: ok" or "name: problem, problem"
  cutover_health_failure(summary)   -> "svc: problem, ...; svc: ..." for the services that failed
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any


def _contract_module() -> Any:
    """module_utils/cutover_health_contract.py of cutover_verify, loaded by path (one definition)."""
    name = "cutover_health_contract"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "module_utils" / "cutover_health_contract.py"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:  # pragma: no cover - the file ships with the role
            raise ImportError(f"cannot load {name} from {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def cutover_health_targets(services: Any) -> list[dict[str, Any]]:
    out = []
    for service in services or []:
        health = service.get("health") if isinstance(service, dict) else None
        if isinstance(health, dict) and health.get("url"):
            contract = _contract_module().contract_of(health)
            out.append({"name": service["name"], "url": health["url"], "contract": contract})
    return out


def cutover_health_new_containers(entries: Any, services: Any) -> list[dict[str, Any]]:
    """The swap's gate of each new container of a level (swap plan entries; a service the release does
    not have starts none): Docker's verdict on the container, then the service's health contract,
    asked of the container itself (direct_port) when it serves behind the edge proxy."""
    by_name = {svc["name"]: svc for svc in services or []}
    targets = []
    for entry in entries or []:
        if entry.get("action") == "retired":
            continue
        svc = by_name[entry["name"]]
        health = svc.get("health") if isinstance(svc.get("health"), dict) else {}
        target = next(iter(cutover_health_targets([svc])), {"name": svc["name"]})
        target = {**target, "container": entry["container"], "diagnose_url": health.get("url", "")}
        if dict(entry.get("record") or {}).get("edge"):
            target["direct_port"] = svc.get("container_port")
        targets.append(target)
    return targets


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
            "cutover_health_new_containers": cutover_health_new_containers,
            "cutover_health_summary": cutover_health_summary,
            "cutover_health_lines": cutover_health_lines,
            "cutover_health_failure": cutover_health_failure,
        }
