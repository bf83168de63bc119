"""Networks the project owns are created when missing; external ones are only checked."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.unit.plugins import ROLES, load

nets = load("cutover_networks", ROLES / "cutover_common" / "filter_plugins" / "cutover_networks.py")
model = load("cutover_model", ROLES / "cutover_validate" / "filter_plugins" / "cutover_model.py")

RESULTS = [
    {"item": "app-net", "exists": False},
    {"item": "shared-db", "exists": False},
    {"item": "edge", "exists": True},
]


def test_a_missing_owned_network_is_created_and_a_missing_external_one_is_a_problem() -> None:
    plan = nets.cutover_network_plan(RESULTS, ["app-net", "edge"])

    assert plan == {"present": ["edge"], "create": ["app-net"], "missing": ["shared-db"]}


def test_by_default_every_network_is_external_as_before() -> None:
    defaults = yaml.safe_load((ROLES / "cutover_defaults" / "defaults" / "main.yml").read_text())

    plan = nets.cutover_network_plan(RESULTS, defaults["cutover_owned_networks"])

    assert plan["create"] == [] and plan["missing"] == ["app-net", "shared-db"]


def test_the_baseline_reports_only_external_missing_networks_and_the_build_creates_owned_ones() -> None:
    baseline = (ROLES / "cutover_baseline" / "tasks" / "main.yml").read_text()
    assert "cutover_network_plan(cutover_owned_networks)).missing" in baseline
    build = yaml.safe_load((ROLES / "cutover_build" / "tasks" / "build.yml").read_text())
    create = next(t for t in build if t.get("community.docker.docker_network"))
    assert create["community.docker.docker_network"]["labels"] == {"cutover.project": "{{ cutover_project }}"}
    assert create["community.docker.docker_network"]["state"] == "present"
    assert create["loop"] == "{{ cutover_build_plan.networks }}"  # only the missing ones: never an existing one
    plan = (ROLES / "cutover_build" / "tasks" / "plan.yml").read_text()
    assert "cutover_network_plan(cutover_owned_networks)).create" in plan


def _lab_model() -> dict:
    root = Path(__file__).resolve().parents[2]
    merged = yaml.safe_load((ROLES / "cutover_defaults" / "defaults" / "main.yml").read_text())
    for path in sorted((root / "inventory" / "lab" / "group_vars" / "docker_hosts").glob("*.yml")):
        merged |= yaml.safe_load(path.read_text()) or {}
    return merged


def test_an_owned_network_must_be_one_of_the_required_networks() -> None:
    good = _lab_model() | {"cutover_owned_networks": ["storage-network"]}
    assert model.cutover_model_errors(good) == []

    bad = _lab_model() | {"cutover_owned_networks": ["mint-os-netwrok"]}
    errors = model.cutover_model_errors(bad)
    assert any(e.startswith("cutover_owned_networks[0]: 'mint-os-netwrok' is not in cutover_required_networks")
               for e in errors), errors  # fmt: skip
