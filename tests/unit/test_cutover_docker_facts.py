"""The build plan's and the recertification's one call on the host
(roles/cutover_build/library/cutover_docker_facts.py), against a fake Engine API over tcp."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.plugins import ROLES, fake_engine, load

ENGINE_PY = ROLES / "cutover_common" / "module_utils" / "cutover_engine.py"
engine_client = load("ansible.module_utils.cutover_engine", ENGINE_PY)
facts = load("cutover_docker_facts", ROLES / "cutover_build" / "library" / "cutover_docker_facts.py")

LISTED = [
    {"Names": ["/cart"], "Image": "shop/cart:def5678", "State": "running", "Labels": {"cutover.release": "def5678"}},
]
ENGINE: dict[str, tuple[int, Any]] = {
    "/images/shop/cart:def5678/json": (200, {"Id": "sha256:c1", "RepoTags": ["shop/cart:def5678"], "RepoDigests": [],
                                             "Created": "2026-12-02T10:00:00Z", "Config": {"Env": ["PATH=/usr/bin"]}}),
    "/networks/shop-net": (200, {"Name": "shop-net"}),
    "/containers/json?all=1&size=0": (200, LISTED),
    "/images/broken:x/json": (500, {"message": "boom"}),
}  # fmt: skip


@pytest.fixture(scope="module")
def engine() -> Iterator[str]:
    with fake_engine(ENGINE) as docker_host:
        yield docker_host


def _read(engine: str, **over: Any) -> dict[str, Any]:
    params = {"docker_host": engine, "paths": [], "images": [], "networks": [], "containers": False, "timeout_s": 5}
    return facts.read_docker_facts(params | over)  # type: ignore[no-any-return]


def test_one_call_answers_the_build_plan(engine: str, tmp_path: Path) -> None:
    shipped = tmp_path / "releases" / "def5678" / ".complete"
    shipped.parent.mkdir(parents=True)
    shipped.touch()
    missing = tmp_path / "releases" / "0000000" / ".complete"

    found = _read(engine, paths=[str(shipped), str(missing)], images=["shop/cart:def5678", "shop/web:def5678"],
                  networks=["shop-net", "other-net"])  # fmt: skip

    assert found["paths"] == {str(shipped): True, str(missing): False}
    # who the image is and when it was made, nothing of its config
    assert found["images"] == [{"Id": "sha256:c1", "RepoTags": ["shop/cart:def5678"], "RepoDigests": [],
                                "Created": "2026-12-02T10:00:00Z"}]  # fmt: skip
    assert found["networks"] == [{"name": "shop-net", "exists": True}, {"name": "other-net", "exists": False}]
    assert "containers" not in found


def test_a_path_is_answered_as_given_and_looked_up_expanded(engine: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEGACY_ROOT", str(tmp_path))
    found = _read(engine, paths=["$LEGACY_ROOT", "$LEGACY_ROOT/gone"])

    assert found["paths"] == {"$LEGACY_ROOT": True, "$LEGACY_ROOT/gone": False}


def test_the_container_list_only_when_asked(engine: str, tmp_path: Path) -> None:
    found = _read(engine, containers=True, paths=[str(tmp_path)])

    assert found["containers"] == LISTED
    assert found["paths"] == {str(tmp_path): True}


def test_an_engine_error_is_not_taken_for_a_missing_image(engine: str) -> None:
    with pytest.raises(RuntimeError, match=r"GET /images/broken:x/json answered HTTP 500"):
        _read(engine, images=["broken:x"])


def test_the_build_and_recert_tasks_read_the_host_with_it() -> None:
    plan = (ROLES / "cutover_build" / "tasks" / "plan.yml").read_text()
    recert = (ROLES / "cutover_recert" / "tasks" / "recert.yml").read_text()
    assert plan.count("cutover_docker_facts:") == 1 and "ansible.builtin.stat" not in plan
    assert recert.count("cutover_docker_facts:") == 1 and "docker_host_info" not in recert
    assert (ROLES / "cutover_recert" / "library" / "cutover_docker_facts.py").resolve() == (
        ROLES / "cutover_build" / "library" / "cutover_docker_facts.py"
    ).resolve()


class _Module:
    """What exit_with_engine_read uses of an AnsibleModule; fail_json/exit_json end the call."""

    def __init__(self, docker_host: str) -> None:
        self.params = {"docker_host": docker_host}
        self.ended: dict[str, Any] = {}

    def fail_json(self, **kw: Any) -> None:
        self.ended = {"failed": True, **kw}
        raise SystemExit(1)

    def exit_json(self, **kw: Any) -> None:
        self.ended = kw
        raise SystemExit(0)


@pytest.mark.parametrize(
    ("docker_host", "read", "ended"),
    [
        ("ssh://host", None,
         {"failed": True, "msg": "docker_host: expected unix:///path or tcp://host:port, got ssh://host"}),
        ("unix:///x.sock", OSError("gone"),
         {"failed": True, "msg": "docker_host unix:///x.sock: the Engine API does not answer: gone"}),
        ("unix:///x.sock", RuntimeError("GET /info answered HTTP 500"),
         {"failed": True, "msg": "GET /info answered HTTP 500"}),
        ("unix:///x.sock", {"paths": {}}, {"changed": False, "paths": {}}),
    ],
)  # fmt: skip
def test_the_modules_end_names_docker_host_or_exits_with_what_was_read(docker_host: str, read: Any,
                                                                      ended: dict[str, Any]) -> None:
    def reader(params: dict[str, Any]) -> dict[str, Any]:
        if isinstance(read, BaseException):
            raise read
        return dict(read)

    module = _Module(docker_host)
    with pytest.raises(SystemExit):
        engine_client.exit_with_engine_read(module, reader)
    assert module.ended == ended
