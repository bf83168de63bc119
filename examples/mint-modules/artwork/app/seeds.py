"""Pure logic of artwork seeds: request validation, line items, JSON shape."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

LINE_ITEM_KEYS = ("product", "quantity", "decoration_type")


class InvalidSeed(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class SeedInput:
    name: str
    content: Any
    metadata: dict[str, Any] | None


@dataclass(frozen=True)
class SeedRecord:
    id: int
    name: str
    object_key: str
    created_at: dt.datetime
    metadata: dict[str, Any] | None


def object_key(seed_id: int) -> str:
    return f"seeds/{seed_id}.json"


def parse_seed_request(payload: Any) -> SeedInput:
    if not isinstance(payload, dict):
        raise InvalidSeed("body", "expected a JSON object")
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidSeed("name", "required, a non-empty string")
    metadata = payload.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidSeed("metadata", "expected a JSON object or null")
    return SeedInput(
        name=name.strip(), content=payload.get("content"), metadata=metadata
    )


def new_record(seed: SeedInput, seed_id: int, created_at: dt.datetime) -> SeedRecord:
    return SeedRecord(
        id=seed_id,
        name=seed.name,
        object_key=object_key(seed_id),
        created_at=created_at,
        metadata=seed.metadata,
    )


def object_body(seed: SeedInput) -> dict[str, Any]:
    """What is stored as the seed's object in the bucket."""
    return {"name": seed.name, "content": seed.content, "metadata": seed.metadata}


def has_line_item(metadata: dict[str, Any] | None) -> bool:
    """True exactly when product, quantity and decoration_type are present and not null."""
    if not isinstance(metadata, dict):
        return False
    return all(metadata.get(key) is not None for key in LINE_ITEM_KEYS)


def to_json(record: SeedRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "object_key": record.object_key,
        "created_at": record.created_at.isoformat(),
        "metadata": record.metadata,
        "has_line_item": has_line_item(record.metadata),
    }
