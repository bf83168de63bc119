"""Pure logic of artwork seeds: request validation and JSON shape (name and content)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


class InvalidSeed(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class SeedInput:
    name: str
    content: Any


@dataclass(frozen=True)
class SeedRecord:
    id: int
    name: str
    object_key: str
    created_at: dt.datetime


def object_key(seed_id: int) -> str:
    return f"seeds/{seed_id}.json"


def parse_seed_request(payload: Any) -> SeedInput:
    if not isinstance(payload, dict):
        raise InvalidSeed("body", "expected a JSON object")
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidSeed("name", "required, a non-empty string")
    return SeedInput(name=name.strip(), content=payload.get("content"))


def new_record(seed: SeedInput, seed_id: int, created_at: dt.datetime) -> SeedRecord:
    return SeedRecord(
        id=seed_id,
        name=seed.name,
        object_key=object_key(seed_id),
        created_at=created_at,
    )


def object_body(seed: SeedInput) -> dict[str, Any]:
    """What is stored as the seed's object in the bucket."""
    return {"name": seed.name, "content": seed.content}


def to_json(record: SeedRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "object_key": record.object_key,
        "created_at": record.created_at.isoformat(),
    }
