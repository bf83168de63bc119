"""Unit tests of the pure checks behind cutover_validate and cutover_prep (filter plugins)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.unit.plugins import ROLES, load

model = load(
    "cutover_model", ROLES / "cutover_validate" / "filter_plugins" / "cutover_model.py"
)
sql = load("cutover_sql", ROLES / "cutover_prep" / "filter_plugins" / "cutover_sql.py")


def _svc(
    name: str, port: int, deps: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    svc: dict[str, Any] = {
        "name": name,
        "module": name,
        "image": f"mint-modules/{name}",
        "container_port": port,
        "ports": [f"127.0.0.1:{port}:{port}"],
        "networks": ["mint-os-network"],
        "env": ["DATABASE_URL"],
        "health": {"url": f"http://127.0.0.1:{port}/health", "fields": ["status"]},
        "depends_on": deps or [],
    }
    svc.update(extra)
    return svc


GOOD: dict[str, Any] = {
    "cutover_project": "mint",
    "cutover_root": "/opt/cutover/mint",
    "cutover_ref": "release-new",
    "cutover_source_repo": "/repo",
    "cutover_env_file": "/etc/mint-modules/mint.env",
    "cutover_retention_releases": 3,
    "cutover_min_free_disk_mb": 2048,
    "cutover_health_timeout_s": 60,
    "cutover_swap_strategy": "recreate",
    "cutover_required_env": ["DATABASE_URL", "FILES_API_KEY"],
    "cutover_secret_env": ["DATABASE_URL"],
    "cutover_required_networks": ["mint-os-network"],
    "cutover_services": [
        _svc("files-api", 3500),
        _svc("order-intake", 3400, ["files-api"]),
        _svc("quote-page", 3341, ["files-api"]),
    ],
    "cutover_migrations": {
        "database": {"env_key": "DATABASE_URL", "host": "127.0.0.1", "port": 15432},
        "paths": ["artwork/migrations"],
        "lock_timeout_s": 30,
    },
}


def _with(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    data.update(changes)
    return data


def test_the_lab_model_has_no_errors() -> None:
    assert model.cutover_model_errors(GOOD) == []


def test_unknown_dependency_names_the_field_and_the_known_services() -> None:
    data = copy.deepcopy(GOOD)
    data["cutover_services"][1]["depends_on"] = ["files-apii"]
    expected = (
        "cutover_services[1].depends_on: unknown service 'files-apii' "
        "(known: files-api, order-intake, quote-page)"
    )
    assert model.cutover_model_errors(data) == [expected]


def test_cycle_is_reported_with_its_path() -> None:
    data = copy.deepcopy(GOOD)
    data["cutover_services"][0]["depends_on"] = ["quote-page"]
    errors = model.cutover_model_errors(data)
    assert any(
        "dependency cycle" in e and "files-api -> quote-page -> files-api" in e
        for e in errors
    )


def test_every_problem_is_reported_at_once() -> None:
    data = copy.deepcopy(GOOD)
    data["cutover_ref"] = ""
    data["cutover_retention_releases"] = 0
    data["cutover_services"][1]["ports"] = ["127.0.0.1:3500:3400"]
    data["cutover_services"][2]["env"] = ["NOPE"]
    data["cutover_services"].append(_svc("files-api", 3999))
    errors = model.cutover_model_errors(data)
    fields = [e.split(":", 1)[0] for e in errors]
    assert "cutover_ref" in fields
    assert "cutover_retention_releases" in fields
    assert "cutover_services[1].ports[0]" in fields
    assert "cutover_services[2].env[0]" in fields
    assert "cutover_services[3].name" in fields


def test_same_port_on_another_address_is_not_a_clash() -> None:
    data = copy.deepcopy(GOOD)
    data["cutover_services"][1]["ports"] = ["127.0.0.2:3500:3400"]
    assert model.cutover_model_errors(data) == []


def test_migration_paths_must_stay_inside_the_repo() -> None:
    data = _with(
        cutover_migrations={"database": {"env_key": "NOPE"}, "paths": ["../x", "/abs"]}
    )
    errors = model.cutover_model_errors(data)
    assert errors[0].startswith("cutover_migrations.database.env_key: 'NOPE'")
    assert errors[1].startswith("cutover_migrations.paths[0]:")
    assert errors[2].startswith("cutover_migrations.paths[1]:")


def test_service_order_puts_dependencies_first() -> None:
    services = [
        _svc("quote-page", 1, ["files-api"]),
        _svc("order-intake", 2, ["quote-page", "files-api"]),
        _svc("files-api", 3),
    ]
    assert model.cutover_service_order(services) == [
        "files-api",
        "quote-page",
        "order-intake",
    ]


def test_service_order_refuses_a_cycle() -> None:
    with pytest.raises(ValueError, match="cycle"):
        model.cutover_service_order([_svc("a", 1, ["b"]), _svc("b", 2, ["a"])])


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE artwork_seeds ADD COLUMN IF NOT EXISTS metadata jsonb DEFAULT NULL;",
        "CREATE TABLE t (id bigserial primary key, content_type text, type text);",
        "UPDATE t SET a = 1 WHERE a IS NULL;",
        "INSERT INTO t (note) VALUES ('we never DROP anything');",
        "-- DROP TABLE t;\nSELECT 1;",
        "ALTER TABLE t ADD COLUMN y text NOT NULL DEFAULT 'x';",
    ],
)
def test_expand_only_statements_pass(statement: str) -> None:
    assert sql.cutover_sql_violations(statement) == []


@pytest.mark.parametrize(
    ("statement", "rule"),
    [
        ("ALTER TABLE t DROP COLUMN x;", "DROP"),
        ("DROP TABLE t;", "DROP"),
        ("ALTER TABLE t RENAME COLUMN a TO b;", "RENAME"),
        ("ALTER TABLE t ALTER COLUMN x TYPE bigint;", "ALTER ... TYPE"),
        ("ALTER TABLE t ALTER x SET DATA TYPE bigint;", "ALTER ... TYPE"),
        ("ALTER TABLE t ALTER COLUMN x SET NOT NULL;", "SET NOT NULL"),
        ("TRUNCATE t;", "TRUNCATE"),
        ("DELETE FROM t WHERE id = 1;", "DELETE"),
        ("update t set a = 1;", "UPDATE without WHERE"),
        (
            "ALTER TABLE t ADD COLUMN y text NOT NULL;",
            "ADD COLUMN ... NOT NULL without DEFAULT",
        ),
        ("CREATE INDEX CONCURRENTLY i ON t (a);", "not allowed in a transaction"),
        ("create unique index concurrently if not exists i on t (a);", "not allowed in a transaction"),
        ("VACUUM ANALYZE t;", "not allowed in a transaction"),
    ],
)
def test_contracting_statements_are_named(statement: str, rule: str) -> None:
    found = sql.cutover_sql_violations("SELECT 1;\n" + statement)
    assert len(found) == 1
    assert found[0].startswith(rule)


def test_env_keys_are_names_only_and_skip_empty_values() -> None:
    text = "A=secret-a\nexport B='secret b'\nC=\n# D=1\nE = \"x\"\n"
    keys = sql.cutover_env_keys(text)
    assert keys == ["A", "B", "E"]
    assert all("secret" not in k for k in keys)


def test_the_build_records_every_image_and_which_it_built() -> None:
    from tests.unit.plugins import ROLES, load

    build = load("cutover_build_filters", ROLES / "cutover_build" / "filter_plugins" / "cutover_build.py")
    services = [{"name": "api", "image": "shop/api"}, {"name": "web", "image": "shop/web"}]
    info = [{"Id": "sha256:a", "RepoTags": ["shop/api:abc1234"]}, {"Id": "sha256:w", "RepoTags": ["shop/web:abc1234"]}]
    results = [{"item": {"name": "web"}, "changed": True}]

    images = build.cutover_build_images(services, "abc1234", info, results)

    assert images == [
        {"service": "api", "image": "shop/api:abc1234", "image_id": "sha256:a", "built": False},
        {"service": "web", "image": "shop/web:abc1234", "image_id": "sha256:w", "built": True},
    ]

    # the dry run: which images the host has already (an other release's tag is not this one)
    info = [{"Id": "sha256:a", "RepoTags": ["shop/api:abc1234"]}, {"Id": "sha256:o", "RepoTags": ["shop/web:old"]}]
    assert build.cutover_build_plan_images(services, "abc1234", info) == [
        {"service": "api", "image": "shop/api:abc1234", "exists": True},
        {"service": "web", "image": "shop/web:abc1234", "exists": False},
    ]
