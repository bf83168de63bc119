"""Unit tests of recert's comparison of the running containers with the declared release."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

PLUGIN = (
    Path(__file__).resolve().parents[2]
    / "roles/cutover_recert/filter_plugins/cutover_recert.py"
)
_spec = importlib.util.spec_from_file_location("cutover_recert", PLUGIN)
assert _spec and _spec.loader
recert = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(recert)

NEW = "a5ac9e9"
OLD = "6ad1faa"
SERVICES: list[dict[str, Any]] = [
    {
        "name": "files-api",
        "image": "mint-modules/artwork",
        "legacy": {"container": "mint-artwork", "dir": "/srv/mint-modules/artwork"},
    },
    {"name": "order-intake", "image": "mint-modules/order-intake"},
    {
        "name": "quote-page",
        "image": "mint-modules/quote-page",
        "legacy": {"container": "mint-quote-page", "dir": "/srv/mint-modules/quote-page"},
    },
]
HEALTHY = {s["name"]: {"ok": True, "problems": []} for s in SERVICES}
NO_LOCK: dict[str, Any] = {"held": False, "path": "/opt/cutover/mint/lock"}


def container(name: str, image: str, state: str = "running", **labels: str) -> dict[str, Any]:
    return {
        "Names": [f"/{name}"],
        "Image": image,
        "State": state,
        "Status": "Up 1 minute" if state == "running" else "Exited (0)",
        "Labels": labels,
    }


def released(name: str, image: str, release: str = NEW, state: str = "running") -> dict[str, Any]:
    return container(
        name,
        f"{image}:{release}",
        state,
        **{"cutover.project": "mint", "cutover.service": name, "cutover.release": release},
    )


def run(containers: list[dict[str, Any]], current: Any = None, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "services": SERVICES,
        "current": current if current is not None else {"release": NEW},
        "project": "mint",
        "root": "/opt/cutover/mint",
        "legacy_dirs_present": [],
        "health": HEALTHY,
        "lock": NO_LOCK,
        "fail_on_leftovers": True,
    }
    args.update(kw)
    result: dict[str, Any] = recert.cutover_recert(containers, **args)
    return result


CUT_OVER = [
    released("files-api", "mint-modules/artwork"),
    released("order-intake", "mint-modules/order-intake"),
    released("quote-page", "mint-modules/quote-page"),
    released("files-api--" + OLD, "mint-modules/artwork", OLD, "exited"),
    container("mint-postgres", "cutover-lab/postgres:1", **{"cutover.lab": "true"}),
]


def test_a_clean_cut_over_host_recertifies() -> None:
    result = run(CUT_OVER)
    assert result["ok"] is True
    assert result["release"] == NEW
    assert result["drift"] == [] and result["leftovers"] == []
    assert result["serving"] == 3
    # the kept previous container is reported, the unrelated postgres is not
    assert [c["name"] for c in result["containers"]] == [
        "files-api",
        "order-intake",
        "quote-page",
        "files-api--" + OLD,
    ]


def test_wrong_image_missing_service_and_running_kept_container_are_drift() -> None:
    containers = [
        released("files-api", "mint-modules/artwork", OLD),
        released("quote-page", "mint-modules/quote-page"),
        released("files-api--" + OLD, "mint-modules/artwork", OLD, "running"),
    ]
    result = run(containers)
    assert result["ok"] is False
    assert "order-intake: no container named order-intake" in result["drift"]
    assert (
        f"files-api: runs mint-modules/artwork:{OLD}, declared mint-modules/artwork:{NEW}"
        in result["drift"]
    )
    assert f"files-api: label cutover.release={OLD}, expected {NEW}" in result["drift"]
    assert f"files-api--{OLD}: kept previous container is running" in result["drift"]


def test_old_layout_leftovers_fail_only_when_asked() -> None:
    containers = [*CUT_OVER, container("mint-artwork", f"mint-modules/artwork:{OLD}", "exited")]
    dirs = ["/srv/mint-modules/artwork"]
    strict = run(containers, legacy_dirs_present=dirs)
    assert strict["ok"] is False and strict["drift"] == []
    assert strict["leftovers"] == [
        "mint-artwork: stopped legacy container (remove it: docker rm mint-artwork)",
        (
            "/srv/mint-modules/artwork: directory of the old layout still present (the release now"
            " lives in /opt/cutover/mint/releases; archive and remove it, and repoint anything"
            " that still refers to it)"
        ),
    ]
    assert run(containers, legacy_dirs_present=dirs, fail_on_leftovers=False)["ok"] is True


def test_a_running_legacy_container_after_a_cutover_is_drift() -> None:
    result = run([*CUT_OVER, container("mint-artwork", f"mint-modules/artwork:{OLD}")])
    assert result["drift"] == [
        f"mint-artwork: legacy container still running (mint-modules/artwork:{OLD})"
    ]


def test_unknown_container_of_the_project_is_drift() -> None:
    stray = container("files-api-debug", "x:1", **{"cutover.project": "mint"})
    other = container("other", "x:1", **{"cutover.project": "someone-else"})
    result = run([*CUT_OVER, stray, other])
    assert result["drift"] == ["files-api-debug: unknown container of project mint (running)"]


def test_before_any_committed_cutover_the_old_layout_is_the_release() -> None:
    legacy = [
        container("mint-artwork", f"mint-modules/artwork:{OLD}"),
        container("mint-quote-page", f"mint-modules/quote-page:{OLD}"),
    ]
    # order-intake is not part of the old layout: absent and unhealthy is fine
    health = {**HEALTHY, "order-intake": {"ok": False, "problems": ["connection refused"]}}
    result = run(legacy, current="none", health=health, legacy_dirs_present=["/srv/x"])
    assert result["ok"] is True, result["drift"]
    assert result["release"] == OLD
    assert result["serving"] == 2
    assert result["leftovers"] == []


def test_old_layout_with_mixed_releases_or_a_new_service_is_drift() -> None:
    legacy = [
        container("mint-artwork", f"mint-modules/artwork:{OLD}"),
        container("mint-quote-page", f"mint-modules/quote-page:{NEW}", "exited"),
        released("order-intake", "mint-modules/order-intake"),
    ]
    result = run(legacy, current="none")
    assert result["ok"] is False
    assert result["drift"] == [
        "order-intake: container exists (running) but the service is not part of the running release",
        "mint-quote-page: container is exited",
        f"legacy containers run different releases: {OLD}, {NEW}",
    ]


@pytest.mark.parametrize(
    ("lock", "expected"),
    [
        ({"held": True, "owner": {"run_id": "R1"}, "path": "/l"}, "deploy lock still held by run R1 (/l)"),
        ({"held": True, "owner": None, "path": "/l"}, "deploy lock still held by run ? (/l)"),
    ],
)
def test_a_held_lock_is_drift(lock: dict[str, Any], expected: str) -> None:
    result = run(CUT_OVER, lock=lock)
    assert result["lock_held"] is True
    assert result["drift"] == [expected]


def test_unhealthy_service_is_drift_with_its_problems() -> None:
    health = {**HEALTHY, "quote-page": {"ok": False, "problems": ["db: down", "status 503"]}}
    assert run(CUT_OVER, health=health)["drift"] == ["quote-page: health db: down, status 503"]
