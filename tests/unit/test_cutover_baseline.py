"""The baseline's one call on the host (library/cutover_baseline_facts.py, against a fake Engine
API over tcp) and its decisions (filter_plugins/cutover_baseline.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.plugins import ROLES, fake_engine, load

ENGINE_PY = ROLES / "cutover_common" / "module_utils" / "cutover_engine.py"
engine_client = load("ansible.module_utils.cutover_engine", ENGINE_PY)
facts = load("cutover_baseline_facts", ROLES / "cutover_baseline" / "library" / "cutover_baseline_facts.py")
rules = load("cutover_baseline_filters", ROLES / "cutover_baseline" / "filter_plugins" / "cutover_baseline.py")


def _container(name: str, image: str, status: str = "running", health: str | None = "healthy") -> dict[str, Any]:
    return {
        "Name": f"/{name}",
        "Image": f"sha256:{name}",
        "Config": {"Image": image, "Env": ["DB_PASSWORD=hunter2"],
                   "Labels": {"cutover.release": image.rsplit(":", 1)[-1], "maintainer": "someone"}},
        "State": {"Status": status, **({"Health": {"Status": health}} if health else {})},
    }  # fmt: skip


ENGINE: dict[str, Any] = {
    "/info": {"ServerVersion": "20.10.24", "DockerRootDir": "/nonexistent/docker-root"},
    "/networks/shop-net": {"Name": "shop-net"},
    "/containers/json?all=1": [
        {"Names": ["/cart"]}, {"Names": ["/legacy-cart"]}, {"Names": ["/cart--abc1234"]},
        {"Names": ["/carts--x"]}, {"Names": ["/unrelated"]}, {"Names": ["/web--old"]},
    ],
    "/containers/cart/json": _container("cart", "shop/cart:def5678"),
    "/containers/legacy-cart/json": _container("legacy-cart", "shop/cart:abc1234", "exited", None),
    "/containers/cart--abc1234/json": _container("cart--abc1234", "shop/cart:abc1234", "exited"),
    "/containers/web--old/json": _container("web--old", "shop/web:old"),
}


@pytest.fixture(scope="module")
def engine() -> Iterator[str]:
    with fake_engine({path: (200, body) for path, body in ENGINE.items()}) as docker_host:
        yield docker_host


def _read(engine: str, tmp_path: Path, **over: Any) -> dict[str, Any]:
    params = {"docker_host": engine, "networks": ["shop-net", "missing-net"], "services": ["cart", "web"],
              "legacy": ["legacy-cart"], "cutover_root": str(tmp_path / "opt" / "cutover" / "shop"), "timeout_s": 5}
    return facts.read_host(params | over)  # type: ignore[no-any-return]


def test_one_call_reads_engine_networks_the_projects_containers_and_disk(engine: str, tmp_path: Path) -> None:
    found = _read(engine, tmp_path)

    assert found["engine"] == {"version": "20.10.24", "docker_root": "/nonexistent/docker-root"}
    assert found["networks"] == [{"name": "shop-net", "exists": True}, {"name": "missing-net", "exists": False}]
    assert [c["name"] for c in found["containers"]] == ["cart", "legacy-cart", "cart--abc1234", "web--old"]
    cart = found["containers"][0]
    assert cart == {"name": "cart", "image": "shop/cart:def5678", "image_id": "sha256:cart", "status": "running",
                    "health": "healthy", "labels": {"cutover.release": "def5678"}}  # fmt: skip
    assert found["containers"][1]["health"] == "none"
    assert "hunter2" not in json.dumps(found), "never an env value"
    # the state root does not exist yet: its nearest existing parent is measured
    assert found["disk"]["cutover_root"]["path"] == str(tmp_path / "opt" / "cutover" / "shop")
    assert found["disk"]["cutover_root"]["free_mb"] > 0
    assert found["disk"]["docker_root"]["mount"] == "/"


def test_an_engine_that_does_not_answer_is_named(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        _read("unix:///nonexistent/docker.sock", tmp_path)
    assert engine_client.docker_host_problem("ssh://host") == (
        "docker_host: expected unix:///path or tcp://host:port, got ssh://host"
    )


def test_the_nearest_existing_directory_and_its_mount() -> None:
    exists = {"/", "/opt", "/var", "/var/lib"}.__contains__
    assert facts.nearest_existing("/opt/cutover/shop", exists) == "/opt"
    assert facts.nearest_existing("/srv/x/", exists) == "/"
    assert facts.mount_of("/var/lib", {"/", "/var"}.__contains__) == "/var"


SERVICES = [{"name": "cart", "legacy": {"container": "legacy-cart"}}, {"name": "web"}]
CONTAINERS = [
    {"name": "legacy-cart", "image": "shop/cart:abc1234", "status": "running"},
    {"name": "web", "image": "shop/web:abc1234", "status": "exited"},
]
STATE = {"current": {"release": "def5678", "commit": "def5678aa",
                     "services": {"cart": {"image": "shop/cart:def5678", "container": "cart"}}}}  # fmt: skip


def test_the_rollback_point_comes_from_state_json_else_from_the_running_containers() -> None:
    assert rules.cutover_baseline_current(CONTAINERS, STATE, SERVICES) == {
        "release": "def5678", "commit": "def5678aa", "source": "state.json",
        "services": {"cart": "shop/cart:def5678"},
    }  # fmt: skip
    assert rules.cutover_baseline_current(CONTAINERS, {"current": None}, SERVICES) == {
        "release": "abc1234", "commit": None, "source": "running containers",
        "services": {"cart": "shop/cart:abc1234", "web": "shop/web:abc1234"},
    }  # fmt: skip
    assert rules.cutover_baseline_current([], {}, SERVICES)["source"] == "none"


def test_the_legacy_containers_are_the_services_legacy_names() -> None:
    assert rules.cutover_baseline_legacy([*SERVICES, {"name": "api", "legacy": {}}]) == ["legacy-cart"]
    assert rules.cutover_baseline_legacy(None) == []


def test_every_problem_is_named_with_the_setting_to_change() -> None:
    disk = {"cutover_root": {"path": "/opt/cutover", "free_mb": 10}, "docker_root": {"path": "/d", "free_mb": None}}
    host = {"containers": CONTAINERS, "disk": disk}

    problems = rules.cutover_baseline_problems(host, {"current": None}, SERVICES, ["shared-db"], 2048, True, "held")

    assert problems == [
        "network shared-db does not exist (cutover_required_networks; not in cutover_owned_networks,"
        " so it is external: create it first)",
        "free disk under /opt/cutover is 10 MiB, below cutover_min_free_disk_mb=2048",
        "held",
    ]
    assert rules.cutover_baseline_problems(host, STATE, SERVICES, [], 1, True) == [
        "container cart of the current release is not running"
    ]
    assert rules.cutover_baseline_free_mb(host) == 10


def test_the_printed_lines() -> None:
    host = {"engine": {"version": "20.10.24"}, "containers": [{"name": "web", "status": "running", "health": "none"}],
            "disk": {"cutover_root": {"free_mb": 10}}}  # fmt: skip
    current = {"release": "abc1234", "source": "running containers"}

    lines = rules.cutover_baseline_lines(host, current, {"held": True, "owner": {"run_id": "r1"}})

    assert lines == [
        "engine 20.10.24",
        "current release abc1234 (from running containers)",
        "containers: web/running/none",
        "free disk MiB: cutover_root=10",
        "lock: held by run r1",
    ]
