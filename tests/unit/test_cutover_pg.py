"""The database URL keeps its query options; the migration ledger table is configurable."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.plugins import ROLES, load

pg = load("cutover_pg", ROLES / "cutover_migrate" / "filter_plugins" / "cutover_pg.py")
DEFAULTS = yaml.safe_load((ROLES / "cutover_defaults" / "defaults" / "main.yml").read_text())


def test_the_urls_query_options_are_kept_for_psycopg2_and_pg_dump() -> None:
    db = pg.cutover_pg_db("postgresql://app:s3cr%40t@postgres:5432/orders?options=-csearch_path%3Dfoo&sslmode=disable")

    assert db["options"] == {"options": "-csearch_path=foo", "sslmode": "disable"}
    assert db["conninfo"] == "dbname='orders' options='-csearch_path=foo' sslmode='disable'"
    assert (db["host"], db["port"], db["user"], db["password"]) == ("postgres", 5432, "app", "s3cr@t")
    assert db["name"] == "orders"


def test_inventory_host_and_port_win_and_a_plain_url_has_no_options() -> None:
    db = pg.cutover_pg_db("postgresql://mint:pw@postgres/mint", "127.0.0.1", 15432)

    assert (db["host"], db["port"], db["options"], db["conninfo"]) == ("127.0.0.1", 15432, {}, "dbname='mint'")


def test_plus_is_literal_as_libpq_reads_it_and_quotes_are_escaped_in_conninfo() -> None:
    db = pg.cutover_pg_db("postgresql://u+1:p+w@h/d?application_name=a+b&options=-c%20x%3D%27y%27")

    assert (db["user"], db["password"], db["options"]["application_name"]) == ("u+1", "p+w", "a+b")
    assert db["conninfo"] == "dbname='d' application_name='a+b' options='-c x=\\'y\\''"


def test_the_default_ledger_is_todays_unqualified_schema_migrations() -> None:
    ledger = pg.cutover_pg_ledger(DEFAULTS["cutover_migrate_ledger_default"])

    assert ledger == {"table": "schema_migrations", "schema": "", "sql": '"schema_migrations"',
                      "regclass": '"schema_migrations"'}  # fmt: skip


def test_a_ledger_of_its_own_table_and_schema() -> None:
    merged = DEFAULTS["cutover_migrate_ledger_default"] | {"table": "orders_ledger", "schema": "orders"}

    assert pg.cutover_pg_ledger(merged)["sql"] == '"orders"."orders_ledger"'
    with pytest.raises(ValueError, match=r"cutover_migrations\.ledger\.table"):
        pg.cutover_pg_ledger({"schema": "x"})


def test_no_migrate_task_names_the_ledger_table_or_drops_the_urls_options() -> None:
    tasks = ROLES / "cutover_migrate" / "tasks"
    for path in tasks.glob("*.yml"):
        text = path.read_text()
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        assert "schema_migrations" not in body, path.name
        assert body.count("login_db:") == body.count("connect_params: \"{{ cutover_migrate_db.options }}\""), path.name
    # the backup hands pg_dump the connection string (database and the URL's options) as its database
    apply = (tasks / "apply.yml").read_text()
    assert '--dbname="$3"' in apply and '- "{{ cutover_migrate_db.conninfo }}"' in apply


@pytest.mark.skipif(not Path("/usr/bin/pg_dump").exists(), reason="no pg_dump here")
def test_pg_dump_reads_the_conninfo_as_its_database() -> None:  # pragma: no cover - depends on the machine
    conninfo = pg.cutover_pg_db("postgresql://u@127.0.0.1:1/orders?options=-csearch_path%3Dfoo")["conninfo"]
    proc = subprocess.run(["pg_dump", "--host=127.0.0.1", "--port=1", conninfo],
                          capture_output=True, text=True, check=False, timeout=30)  # fmt: skip
    # parsed as a connection string (a bad one says "invalid connection option"), then refused
    assert "connection to server at \"127.0.0.1\", port 1 failed" in proc.stderr, proc.stderr
    assert "invalid" not in proc.stderr
