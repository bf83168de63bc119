"""Pure logic of an intake: the payload schema, its validation, the seed it becomes."""

from __future__ import annotations

from typing import Any

DECORATION_TYPES = ("screen_print", "embroidery", "dtg", "vinyl")

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["customer", "product", "quantity", "decoration_type"],
    "properties": {
        "customer": {
            "type": "object",
            "required": ["name", "email"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "email": {"type": "string", "format": "email"},
            },
        },
        "product": {"type": "string", "minLength": 1},
        "quantity": {"type": "integer", "minimum": 1},
        "decoration_type": {"type": "string", "enum": list(DECORATION_TYPES)},
        "artwork_name": {"type": "string", "minLength": 1, "optional": True},
        "notes": {"type": "string", "optional": True},
    },
}

Error = dict[str, str]


def _err(field: str, message: str) -> Error:
    return {"field": field, "message": message}


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def validate(payload: Any) -> list[Error]:
    """Every problem of the payload, each naming its field; empty when valid."""
    if not isinstance(payload, dict):
        return [_err("body", "expected a JSON object")]
    errors: list[Error] = []
    customer = payload.get("customer")
    if not isinstance(customer, dict):
        errors.append(_err("customer", "required, an object with name and email"))
    else:
        if not _nonempty_str(customer.get("name")):
            errors.append(_err("customer.name", "required, a non-empty string"))
        email = customer.get("email")
        if (
            not isinstance(email, str)
            or "@" not in email.strip(" @")
            or " " in email.strip()
        ):
            errors.append(
                _err(
                    "customer.email", "required, an email address like name@example.com"
                )
            )
    if not _nonempty_str(payload.get("product")):
        errors.append(_err("product", "required, a non-empty string"))
    quantity = payload.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        errors.append(_err("quantity", "required, an integer >= 1"))
    if payload.get("decoration_type") not in DECORATION_TYPES:
        errors.append(
            _err("decoration_type", "required, one of " + ", ".join(DECORATION_TYPES))
        )
    artwork_name = payload.get("artwork_name")
    if artwork_name is not None and not _nonempty_str(artwork_name):
        errors.append(_err("artwork_name", "optional, a non-empty string when given"))
    notes = payload.get("notes")
    if notes is not None and not isinstance(notes, str):
        errors.append(_err("notes", "optional, a string when given"))
    return errors


def seed_request(payload: dict[str, Any]) -> dict[str, Any]:
    """The files-api seed for a valid intake payload."""
    customer = payload["customer"]
    metadata = {
        "product": payload["product"],
        "quantity": payload["quantity"],
        "decoration_type": payload["decoration_type"],
        "customer": {"name": customer["name"], "email": customer["email"]},
        "notes": payload.get("notes"),
    }
    name = (
        payload.get("artwork_name")
        or f"intake: {payload['product']} for {customer['name']}"
    )
    return {
        "name": name,
        "content": {
            "source": "order-intake",
            "artwork_name": payload.get("artwork_name"),
        },
        "metadata": metadata,
    }
