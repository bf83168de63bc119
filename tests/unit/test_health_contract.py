"""The health contract (roles/cutover_verify/module_utils/cutover_health_contract.py): one pure
definition that the module, the validator, the filters, `cutover status` and the documents use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from cutover import health_contract, project, view
from cutover.cli import render_status

from tests.unit.plugins import ROLES, load

hc = load("cutover_health_contract_t", ROLES / "cutover_verify" / "module_utils" / "cutover_health_contract.py")
model = load("cutover_model", ROLES / "cutover_validate" / "filter_plugins" / "cutover_model.py")
ROOT = Path(__file__).resolve().parents[2]


def _lab_services() -> list[dict[str, Any]]:
    return yaml.safe_load((ROOT / "inventory" / "lab" / "group_vars" / "docker_hosts" / "cutover.yml").read_text())[
        "cutover_services"
    ]


def test_the_default_is_todays_contract_so_the_lab_inventory_is_unchanged() -> None:
    contracts = {s["name"]: hc.contract_of(s["health"]) for s in _lab_services()}

    assert contracts["files-api"] == {"status_code": [200], "json": {"status": "ok", "db": "ok", "minio": "ok"},
                                      "relaxed": ["status"]}  # fmt: skip
    assert contracts["order-intake"]["json"] == {"status": "ok", "artwork_api": "ok"}
    assert hc.contract_of({"url": "http://x/h"})["json"] == {"status": "ok"}


@pytest.mark.parametrize(
    ("expected", "body", "problems"),
    [
        ({"state": "up"}, {"state": "up", "extra": 1}, []),
        ({"state": "up"}, {"state": "down"}, ['state: expected "up", got "down"']),
        ({"checks.db": "up"}, {"checks": {"db": "up"}}, []),
        ({"checks.db": "up"}, {"checks": {}}, ['checks.db: expected "up", got nothing (missing)']),
        ({"items.1.id": 7}, {"items": [{"id": 1}, {"id": 7}]}, []),
        ({"a.b": 1}, {"a.b": 1}, []),  # a key with a dot is matched first
        ({"ok": False}, {"ok": False}, []),  # false is a value, not "missing"
        ({"ok": False}, {"ok": 0}, ["ok: expected false, got 0"]),
        ({"n": 0}, {"n": False}, ["n: expected 0, got false"]),
        ({"n": 1}, {"n": 1.0}, []),
        ({"v": None}, {"v": None}, []),
        ({"v": None}, {}, ["v: expected null, got nothing (missing)"]),
        ({"deps": ["a", "b"]}, {"deps": ["a", "b"]}, []),
        ({"deps": {"a": 1}}, {"deps": {"a": 1, "b": 2}}, ['deps: expected {"a": 1}, got {"a": 1, "b": 2}']),
        ({"state": "up"}, "plain text", ['body: expected a JSON object, got "plain text"']),
    ],
)
def test_each_field_is_compared_exactly_and_named_when_wrong(expected: dict, body: Any, problems: list) -> None:
    contract = hc.contract_of({"url": "http://x", "json": expected})

    assert hc.check(contract, 200, body) == problems


def test_status_code_and_no_answer() -> None:
    contract = hc.contract_of({"url": "http://x", "status_code": [200, 204]})

    assert hc.check(contract, 204, {"status": "ok"}) == []
    assert hc.check(contract, 503, {"status": "ok"}) == ["HTTP 503, expected 200 or 204"]
    assert hc.check(contract, -1, None, error="Connection refused")[0] == (
        "HTTP -1 (no answer: Connection refused), expected 200 or 204"
    )


def test_relaxed_defaults_to_status_else_to_everything() -> None:
    today = hc.contract_of({"url": "u", "fields": ["db"]})
    custom = hc.contract_of({"url": "u", "json": {"state": "up", "db": "up"}})

    assert hc.check(today, 200, {"status": "ok", "db": "down"}, strict=False) == []
    assert hc.check(custom, 200, {"state": "up", "db": "down"}, strict=False) == ['db: expected "up", got "down"']


def test_fields_are_shown_by_path_status_included() -> None:
    contract = hc.contract_of({"url": "u", "fields": ["db"]})

    shown = hc.fields(contract, {"status": "ok", "db": "ok", "other": 1})
    assert list(shown.items()) == [("db", "ok"), ("status", "ok")]


@pytest.mark.parametrize(
    ("health", "field", "expect"),
    [
        ({"url": "http://x", "path": "/health"}, "health.path", "health.path was removed"),
        ({"url": "http://x", "json": {}}, "health.json", "must be a non-empty mapping"),
        ({"url": "http://x", "json": {"a..b": 1}}, "health.json", "must be a field path"),
        ({"url": "http://x", "status_code": 99}, "health.status_code", "must be an HTTP status 100-599"),
        ({"url": "http://x", "status_code": "200"}, "health.status_code", "must be an HTTP status"),
        ({"url": "http://x", "status_code": [200, True]}, "health.status_code", "must be an HTTP status"),
        ({"url": "http://x", "json": {"state": "up"}, "relaxed": ["status"]}, "health.relaxed[0]",
         "is not a field of the contract (known: state)"),
        ({"url": "ftp://x"}, "health.url", "must be an http:// or https:// URL"),
        ({"url": "http://x", "fields": "db"}, "health.fields", "must be a list"),
    ],
)
def test_the_validator_names_the_bad_contract_field(health: dict, field: str, expect: str) -> None:
    services = _lab_services()
    services[0]["health"] = health
    merged = yaml.safe_load((ROLES / "cutover_defaults" / "defaults" / "main.yml").read_text())
    for path in sorted((ROOT / "inventory" / "lab" / "group_vars" / "docker_hosts").glob("*.yml")):
        merged |= yaml.safe_load(path.read_text()) or {}
    merged["cutover_services"] = services

    errors = model.cutover_model_errors(merged)

    assert any(e.startswith(f"cutover_services[0].{field}:") and expect in e for e in errors), errors


def test_the_validator_takes_a_custom_contract_and_a_docker_healthcheck() -> None:
    services = _lab_services()
    services[0]["health"] = {"url": "http://127.0.0.1:3500/health", "json": {"state": "up", "checks.db": "up"},
                             "status_code": [200, 204], "relaxed": ["state"]}  # fmt: skip
    services[0]["healthcheck"] = {"test": ["CMD", "true"], "interval": "5s", "retries": 3}
    services[1]["healthcheck"] = {"tset": ["CMD", "true"]}
    merged = yaml.safe_load((ROLES / "cutover_defaults" / "defaults" / "main.yml").read_text())
    for path in sorted((ROOT / "inventory" / "lab" / "group_vars" / "docker_hosts").glob("*.yml")):
        merged |= yaml.safe_load(path.read_text()) or {}
    merged["cutover_services"] = services

    errors = model.cutover_model_errors(merged)

    assert len(errors) == 1 and errors[0].startswith("cutover_services[1].healthcheck.tset: unknown key"), errors


# ---- the wrapper: cutover status and the documents judge and show by the same contract ---------


def test_inventory_facts_carry_each_services_contract() -> None:
    data = {"_meta": {"hostvars": {"h": {"cutover_services": [
        {"name": "api", "health": {"url": "http://x", "json": {"state": "up"}}}]}}}}  # fmt: skip

    facts = project.facts_from_inventory_json(Path("inv"), data)

    assert facts.services[0]["health"] == {"status_code": [200], "json": {"state": "up"}, "relaxed": ["state"]}


def test_status_judges_each_service_by_its_contract() -> None:
    contracts = {"api": health_contract.contract_of({"url": "u", "json": {"state": "up", "db.ok": True}})}
    payload = {"host": "h", "lock": {"held": False}, "services": [
        {"name": "api", "state": "running", "health_code": 200, "health": {"state": "up", "db": {"ok": True}}},
    ]}  # fmt: skip
    bad = {**payload, "services": [{**payload["services"][0], "health": {"state": "down", "db": {"ok": True}}}]}

    assert "200 ok (db.ok=true,state=up)" in render_status(payload, contracts)
    assert '200 FAILING: state: expected "up", got "down"' in render_status(bad, contracts)


def test_the_documents_keep_a_field_named_status_and_show_the_contracts_fields() -> None:
    contracts = {"api": health_contract.contract_of({"url": "u", "fields": ["db"]})}
    entry = {"ok": True, "status_code": 200, "body": {"status": "ok", "db": "ok", "uptime": 5}, "problems": []}

    shown = view._health("api", entry, contracts)
    without = view._health("api", entry)  # receipts that know no contract

    assert shown.fields == {"status": "ok", "db": "ok"}
    assert without.fields == {"status": "ok", "db": "ok", "uptime": 5}
