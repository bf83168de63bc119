"""Postgres + S3 side of files-api. psycopg2 and boto3 are imported lazily."""

from __future__ import annotations

import json
import threading
from typing import Any, Protocol

from . import seeds
from .config import Settings

DB_CONNECT_TIMEOUT_S = 2
S3_CONNECT_TIMEOUT_S = 1.0
S3_READ_TIMEOUT_S = 2.0


class StoreError(RuntimeError):
    """A dependency failed; the message is safe to show (no secret, no DSN)."""


class SeedStore(Protocol):
    def create(self, seed: seeds.SeedInput) -> seeds.SeedRecord: ...

    def get(self, seed_id: int) -> seeds.SeedRecord | None: ...

    def check_db(self) -> str: ...

    def check_minio(self) -> str: ...


def _reason(exc: BaseException) -> str:
    """A short, secret-free reason for a failed dependency."""
    name = exc.__class__.__name__
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket", "NotFound"):
            return "bucket not found"
        if code in (
            "403",
            "AccessDenied",
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
        ):
            return "access denied"
        if code:
            return f"error ({code})"
    if name in (
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
    ):
        return "unreachable"
    if name == "OperationalError":
        return "unreachable"
    return f"error ({name})"


class PgS3Store:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._s3: Any = None
        self._lock = threading.Lock()

    # -- connections -------------------------------------------------------
    def _connect(self) -> Any:
        if not self.settings.database_url:
            raise StoreError("DATABASE_URL not set")
        import psycopg2

        try:
            return psycopg2.connect(
                self.settings.database_url, connect_timeout=DB_CONNECT_TIMEOUT_S
            )
        except Exception as exc:  # noqa: BLE001 - any failure becomes a safe reason
            raise StoreError(_reason(exc)) from None

    def _client(self) -> Any:
        missing = self.settings.missing_minio()
        if missing:
            raise StoreError(f"{missing[0]} not set")
        with self._lock:
            if self._s3 is None:
                import boto3
                from botocore.config import Config

                session = boto3.session.Session()
                self._s3 = session.client(
                    "s3",
                    endpoint_url=self.settings.minio_endpoint,
                    aws_access_key_id=self.settings.minio_access_key,
                    aws_secret_access_key=self.settings.minio_secret_key,
                    region_name="us-east-1",
                    config=Config(
                        s3={"addressing_style": "path"},
                        signature_version="s3v4",
                        connect_timeout=S3_CONNECT_TIMEOUT_S,
                        read_timeout=S3_READ_TIMEOUT_S,
                        retries={"max_attempts": 1, "mode": "standard"},
                    ),
                )
            return self._s3

    # -- health -------------------------------------------------------------
    def check_db(self) -> str:
        try:
            conn = self._connect()
        except StoreError as exc:
            return str(exc)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchone()
            return "ok"
        except Exception as exc:  # noqa: BLE001 - any failure becomes a safe reason
            return _reason(exc)
        finally:
            conn.close()

    def check_minio(self) -> str:
        try:
            self._client().head_bucket(Bucket=self.settings.minio_bucket)
            return "ok"
        except StoreError as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - any failure becomes a safe reason
            return _reason(exc)

    # -- seeds ----------------------------------------------------------------
    def create(self, seed: seeds.SeedInput) -> seeds.SeedRecord:
        client = self._client()
        conn = self._connect()
        try:
            with conn, conn.cursor() as cur:
                cur.execute(
                    "SELECT nextval(pg_get_serial_sequence('artwork_seeds', 'id'))"
                )
                seed_id = int(cur.fetchone()[0])
                key = seeds.object_key(seed_id)
                cur.execute(
                    "INSERT INTO artwork_seeds (id, name, object_key, content_type)"
                    " VALUES (%s, %s, %s, 'application/json') RETURNING created_at",
                    (seed_id, seed.name, key),
                )
                created_at = cur.fetchone()[0]
                try:
                    client.put_object(
                        Bucket=self.settings.minio_bucket,
                        Key=key,
                        Body=json.dumps(seeds.object_body(seed)).encode(),
                        ContentType="application/json",
                    )
                except Exception as exc:  # noqa: BLE001 - any failure becomes a safe reason
                    raise StoreError(f"object store: {_reason(exc)}") from None
            return seeds.new_record(seed, seed_id, created_at)
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure becomes a safe reason
            raise StoreError(f"database: {_reason(exc)}") from None
        finally:
            conn.close()

    def get(self, seed_id: int) -> seeds.SeedRecord | None:
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT id, name, object_key, created_at FROM artwork_seeds WHERE id = %s",
                    (seed_id,),
                )
                row = cur.fetchone()
        except Exception as exc:  # noqa: BLE001 - any failure becomes a safe reason
            raise StoreError(f"database: {_reason(exc)}") from None
        finally:
            conn.close()
        if row is None:
            return None
        return seeds.SeedRecord(
            id=row[0], name=row[1], object_key=row[2], created_at=row[3]
        )
