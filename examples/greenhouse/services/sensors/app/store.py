"""Postgres side of gh-sensors. psycopg2 is imported lazily (absent outside the image)."""

from __future__ import annotations

from typing import Any, Protocol

from .readings import Reading, Stats

DB_CONNECT_TIMEOUT_S = 2


class StoreError(RuntimeError):
    """The database failed; the message is safe to show (no DSN, no password)."""


class ReadingStore(Protocol):
    def ping(self) -> None: ...

    def insert(self, reading: Reading) -> int: ...

    def get(self, reading_id: int) -> Reading | None: ...

    def stats(self) -> Stats: ...


class PgStore:
    def __init__(self, database_url: str | None) -> None:
        self._dsn = database_url

    def __repr__(self) -> str:
        return "PgStore(<dsn hidden>)"

    def _query(self, sql: str, params: tuple[Any, ...] = (), commit: bool = False) -> Any:
        """Run one statement on a fresh connection; return its first row (or None)."""
        if not self._dsn:
            raise StoreError("DATABASE_URL not set")
        try:
            import psycopg2

            conn = psycopg2.connect(self._dsn, connect_timeout=DB_CONNECT_TIMEOUT_S)
        except Exception as exc:  # never repeat the driver's message: it may name the DSN
            raise StoreError(f"unreachable ({exc.__class__.__name__})") from None
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                row = cur.fetchone()
            if commit:
                conn.commit()
            return row
        except Exception as exc:
            raise StoreError(f"query failed ({exc.__class__.__name__})") from None
        finally:
            conn.close()

    def ping(self) -> None:
        self._query("SELECT 1")

    def insert(self, reading: Reading) -> int:
        row = self._query(
            "INSERT INTO gh.readings (sensor, celsius) VALUES (%s, %s) RETURNING id",
            (reading.sensor, reading.celsius),
            commit=True,
        )
        return int(row[0])

    def get(self, reading_id: int) -> Reading | None:
        row = self._query("SELECT sensor, celsius FROM gh.readings WHERE id = %s", (reading_id,))
        return None if row is None else Reading(sensor=row[0], celsius=float(row[1]))

    def stats(self) -> Stats:
        row = self._query("SELECT count(*), count(DISTINCT sensor), avg(celsius) FROM gh.readings")
        mean = None if row[2] is None else round(float(row[2]), 2)
        return Stats(readings=int(row[0]), sensors=int(row[1]), mean_celsius=mean)
