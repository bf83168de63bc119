"""Redaction of secret values in everything the wrapper writes or prints.

Two mechanisms, both applied:

* by value: every known secret value (the values of the inventory's ``cutover_secret_env``
  keys found in the controller's lab env file or in the environment, the values of
  ``cutover_smoke_api_keys`` from the environment, passwords inside URLs, and - learned during
  each run, in memory only - the secret values of the host's own env file, handed over by the
  playbook through ``secrets_pipe``) is replaced by
  ``***`` wherever it occurs in a string, raw or in the escaped forms it takes when output
  is serialised (JSON once and twice, URL quoting, Python repr, YAML single quotes);
* by name: in structured data (events, receipt.json) the value of any field whose name
  looks like a password, secret, token or key is replaced by ``***``, except for a short
  list of fields known to hold names, not values.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from . import envfile

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
    """An env file read by the one env-file parser (cutover.envfile), leniently: never raises.

    Lines Docker reads as written are kept as written; a refused line whose name is
    recognisable (``export``, spaces around ``=``, quotes, ...) is read the forgiving way, so
    that its value is still known as a secret; other lines are skipped.
    """
    return envfile.parse(text, lenient=True)


def _escaped_forms(value: str) -> set[str]:
    """value as it may appear in output: raw, URL-quoted, and escaped by serialisers."""
    forms = {value}
    for make in (
        lambda v: quote(v, safe=""),  # URLs and query strings
        lambda v: json.dumps(v)[1:-1],  # events.jsonl, receipt.json, JSON in task output
        lambda v: json.dumps(v, ensure_ascii=False)[1:-1],
        lambda v: json.dumps(json.dumps(v)[1:-1])[1:-1],  # JSON inside a JSON string
        lambda v: json.dumps(json.dumps(v, ensure_ascii=False)[1:-1], ensure_ascii=False)[1:-1],
        lambda v: repr(v)[1:-1],  # Python reprs in Ansible messages
        lambda v: v.replace("'", "''"),  # YAML single-quoted scalars
    ):
        try:
            forms.add(make(value))
        except (UnicodeError, ValueError):  # redaction never fails: skip a form that cannot be made
            continue
    return forms


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
        self._found: set[str] = set()
        self._secrets: list[str] = []
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Learn more secret values (e.g. from the host's env file during a run)."""
        found = set(self._found)
        for value in secrets:
            if not value or len(value) < MIN_SECRET_LEN:
                continue
            found |= _escaped_forms(value)
            password = _url_password(value)
            if password and len(password) >= MIN_SECRET_LEN:
                found |= _escaped_forms(password)
        if found == self._found:
            return
        ordered = sorted(found, key=len, reverse=True)
        # one assignment each: a reader on another thread sees the old or the new set, whole
        self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
        self._secrets = ordered
        self._found = found

    @property
    def count(self) -> int:
        return len(self._secrets)

    def text(self, value: str) -> str:
        pattern = self._pattern
        if pattern is None:
            return value
        return pattern.sub(MASK, value)

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


def secrets_from_env_text(
    text: str, secret_env_names: Iterable[str], smoke_key_names: Iterable[str] = ()
) -> list[str]:
    """The secret values of one env file's text (the host's ``cutover_env_file``, handed over by
    the run): the values of the keys named in ``cutover_secret_env`` or by the smoke checks'
    ``requires_keys``, of any key whose name looks secret, and the password of any URL value.
    Read by cutover.envfile, leniently (a refused line still counts). Never raises."""
    names = set(secret_env_names) | set(smoke_key_names)
    values: list[str] = []
    for entry in envfile.scan(text).entries:
        if entry.key in names or _SECRET_ENV_NAME.search(entry.key):
            values.append(entry.value)
        else:
            password = _url_password(entry.value)
            if password:
                values.append(password)
    return values


def collect_secrets(
    secret_env_names: Iterable[str],
    smoke_key_names: Iterable[str],
    env_files: Iterable[Path],
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """The secret values known on the controller.

    From each env file that exists (read by cutover.envfile, leniently: every line that has a
    recognisable name counts, duplicates and refused lines included): the values of the keys
    named in ``secret_env_names`` and of any key whose name looks secret (as Docker reads an
    accepted line; read the forgiving way for a refused one). From the environment: the values
    of the keys named in ``secret_env_names`` and ``smoke_key_names``. Never raises on a file's
    content.
    """
    env = os.environ if environ is None else environ
    names = set(secret_env_names)
    values: list[str] = []
    for path in env_files:
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
        for entry in envfile.scan(text).entries:
            if entry.key in names or _SECRET_ENV_NAME.search(entry.key):
                values.append(entry.value)
    for key in names | set(smoke_key_names):
        if env.get(key):
            values.append(env[key])
    return values
