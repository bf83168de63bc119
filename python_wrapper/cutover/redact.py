"""Redaction of secret values in everything the wrapper writes or prints.

Two mechanisms, both applied:

* by value: every known secret value (the values of the inventory's ``cutover_secret_env``
  keys found in the controller's lab env file or in the environment, the values of
  ``cutover_smoke_api_keys`` from the environment, passwords inside URLs) is replaced by
  ``***`` wherever it occurs in a string;
* by name: in structured data (events, receipt.json) the value of any field whose name
  looks like a password, secret, token or key is replaced by ``***``, except for a short
  list of fields known to hold names, not values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

MASK = "***"
MIN_SECRET_LEN = 4

_SECRET_NAME = re.compile(r"(pass(word|wd)|secret|token|(^|[^a-z])keys?($|[^a-z])|api_?key|credential)", re.I)
# Fields that match the pattern above but hold names or booleans, never secret values.
SAFE_FIELDS = frozenset(
    {
        "requires_keys",
        "cutover_secret_env",
        "secret_env",
        "cutover_required_env",
        "ansible_ssh_private_key_file",
        "private_key_file",
        "key_file",
        "sort_keys",
        "missing_keys",
        "host_key_checking",
        "skipped_keys",
    }
)
_SECRET_ENV_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|KEY)", re.I)


def is_secret_field(name: str) -> bool:
    """True when a field's value must be masked because of its name."""
    if name in SAFE_FIELDS:
        return False
    return bool(_SECRET_NAME.search(name))


def parse_env_file(text: str) -> dict[str, str]:
    """Parse KEY=VALUE lines (optional `export`, optional quotes, # comments)."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _url_password(value: str) -> str | None:
    if "://" not in value:
        return None
    try:
        password = urlsplit(value).password
    except ValueError:
        return None
    return unquote(password) if password else None


class Redactor:
    """Masks a fixed set of secret values (longest first) and secret-named fields."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        found: set[str] = set()
        for value in secrets:
            if not value or len(value) < MIN_SECRET_LEN:
                continue
            found.add(value)
            found.add(quote(value, safe=""))  # as it appears in URLs and query strings
            password = _url_password(value)
            if password and len(password) >= MIN_SECRET_LEN:
                found.add(password)
                found.add(quote(password, safe=""))
        self._secrets = sorted(found, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(s) for s in self._secrets)) if self._secrets else None

    @property
    def count(self) -> int:
        return len(self._secrets)

    def text(self, value: str) -> str:
        if self._pattern is None:
            return value
        return self._pattern.sub(MASK, value)

    def data(self, value: Any, field: str | None = None) -> Any:
        """Redact a JSON-like structure: secret-named fields and secret values in strings."""
        if field is not None and is_secret_field(field) and value not in (None, "", [], {}):
            return MASK
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {str(k): self.data(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


def collect_secrets(
    secret_env_names: Iterable[str],
    smoke_key_names: Iterable[str],
    env_files: Iterable[Path],
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """The secret values known on the controller.

    From each env file that exists: the values of the keys named in ``secret_env_names`` and
    of any key whose name looks secret. From the environment: the values of the keys named in
    ``secret_env_names`` and ``smoke_key_names``.
    """
    env = os.environ if environ is None else environ
    names = set(secret_env_names)
    values: list[str] = []
    for path in env_files:
        try:
            parsed = parse_env_file(path.read_text(encoding="utf-8"))
        except OSError:
            continue
        for key, value in parsed.items():
            if key in names or _SECRET_ENV_NAME.search(key):
                values.append(value)
    for key in names | set(smoke_key_names):
        if env.get(key):
            values.append(env[key])
    return values
