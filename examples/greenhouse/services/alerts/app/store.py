"""Postgres side of gh-alerts. psycopg2 is imported lazily (absent outside the image)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

DB_CONNECT_TIMEOUT_S = 2


class StoreError(RuntimeError):
    """The database failed; the message is safe to show (no DSN, no password)."""


@dataclass(frozen=True)
class Rule:
    id: int
    sensor: str
    above_celsius: float

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "sensor": self.sensor, "above_celsius": self.above_celsius}


class RuleStore(Protocol):
    def count(self) -> int: ...

    def rules(self) -> list[Rule]: ...


class PgStore:
    def __init__(self, database_url: str | None) -> None:
        self._dsn = database_url

    def __repr__(self) -> str:
        return "PgStore(<dsn hidden>)"

    def _rows(self, sql: str) -> list[Any]:
        if not self._dsn:
            raise StoreError("DATABASE_URL not set")
        try:
            import psycopg2

            conn = psycopg2.connect(self._dsn, connect_timeout=DB_CONNECT_TIMEOUT_S)
        except Exception as exc:  # never repeat the driver's message: it may name the DSN
            raise StoreError(f"unreachable ({exc.__class__.__name__})") from None
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall())
        except Exception as exc:
            raise StoreError(f"query failed ({exc.__class__.__name__})") from None
        finally:
            conn.close()

    def count(self) -> int:
        return int(self._rows("SELECT count(*) FROM gh.alert_rules")[0][0])

    def rules(self) -> list[Rule]:
        rows = self._rows("SELECT id, sensor, above_celsius FROM gh.alert_rules ORDER BY id")
        return [Rule(id=int(r[0]), sensor=r[1], above_celsius=float(r[2])) for r in rows]
