"""The database connection and the migration ledger, kept out of Jinja (unit-tested).

  cutover_pg_db(url, host=None, port=None) -> {host, port, user, password, name, options, conninfo}
      A postgresql:// URL as libpq reads it: user info and path percent-decoded ('+' stays
      '+'), every query parameter kept in ``options`` (``?options=-csearch_path%3Dfoo`` ->
      ``{'options': '-csearch_path=foo'}``, ``sslmode``, ...) and also written into
      ``conninfo``, the libpq connection string with the database name and those parameters
      (pg_dump takes it as its database argument; the psycopg2 modules get ``options`` as
      ``connect_params``). host/port override the URL's (the database as the docker host sees it).
  cutover_pg_ledger(ledger) -> {table, schema, sql, regclass}
      The migration ledger table (cutover_migrations.ledger over cutover_migrate_ledger_default,
      {table: schema_migrations, schema: ""}): ``sql`` the identifier to use in statements (``"schema"."table"``,
      or ``"table"`` when no schema is given: the connection's search_path decides, as before),
      ``regclass`` the text to give to_regclass(). Names are checked by the validator
      (cutover_model.py: lowercase SQL identifiers), quoted here all the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit


def _conninfo_value(value: str) -> str:
    """A libpq connection-string value: single-quoted, backslash and quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def cutover_pg_db(url: Any, host: Any = None, port: Any = None) -> dict[str, Any]:
    text = url if isinstance(url, str) else ""
    parts = urlsplit(text)
    try:
        url_port = parts.port
    except ValueError:
        url_port = None
    name = unquote(parts.path.lstrip("/")) if parts.path else ""
    # percent-decoded like libpq does ('+' is no space there, unlike form encoding)
    options = {unquote(k): unquote(v) for k, v in _raw_pairs(parts.query)} if parts.query else {}
    conninfo = " ".join(
        f"{key}={_conninfo_value(value)}" for key, value in [("dbname", name), *sorted(options.items())]
    )
    return {
        "host": str(host) if host else (parts.hostname or ""),
        "port": int(port) if port else (url_port or 5432),
        "user": unquote(parts.username) if parts.username else "",
        "password": unquote(parts.password) if parts.password else "",
        "name": name,
        "options": options,
        "conninfo": conninfo,
    }


def _raw_pairs(query: str) -> list[tuple[str, str]]:
    out = []
    for pair in query.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        out.append((key, value))
    return out


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def cutover_pg_ledger(ledger: Any) -> dict[str, str]:
    given = ledger if isinstance(ledger, Mapping) else {}
    if not given.get("table"):
        raise ValueError("cutover_migrations.ledger.table: required (default in cutover_migrate_ledger_default)")
    table = str(given["table"])
    schema = str(given.get("schema") or "")
    sql = f"{_quote_ident(schema)}.{_quote_ident(table)}" if schema else _quote_ident(table)
    return {"table": table, "schema": schema, "sql": sql, "regclass": sql.replace("'", "''")}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"cutover_pg_db": cutover_pg_db, "cutover_pg_ledger": cutover_pg_ledger}
