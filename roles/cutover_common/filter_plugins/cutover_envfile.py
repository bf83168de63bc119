"""The one reader of the host's env file (``cutover_env_file``), with Docker's env-file semantics.

Every reader uses this file: prep's env contract, swap (each service's env), migrate (the
database URL), the lab's secrets and the wrapper's redactor. It is an Ansible filter plugin
(``roles/cutover_common/filter_plugins/cutover_envfile.py``; the roles that read an env file
carry a symlink to it in their own ``filter_plugins/``) and the wrapper's module
``cutover.envfile`` (``python_wrapper/cutover/envfile.py``, a symlink to this file). Pure
stdlib, no Ansible import.

Format (the docker CLI's ``--env-file``): one ``NAME=value`` a line; leading spaces and tabs
of a line are ignored; blank lines and lines starting with ``#`` are skipped; the line is
split at the first ``=``; the value is kept exactly as written (quotes, ``#``, ``$``,
backslashes, inner spaces are literal); a name matches ``[A-Za-z_][A-Za-z0-9_]*``.

Refused, because Docker or docker-py (community.docker's ``env_file``, which strips lines and
fails on a line without ``=``) would read it differently from what was meant: spaces around
``=``, ``export NAME=``, a line without ``=`` (a value cannot span lines), a value wrapped in
quotes or opening one (Docker keeps quotes), a value ending with whitespace, an indented
comment, a duplicate name, a NUL, a CR, a byte-order mark, bytes that are not UTF-8.

A problem names the file (when given), the line and the name - never a value, nor any text
that is not a valid name (it may be a piece of a value).

Filters:
  cutover_envfile_parse(text, path=None, lenient=False) -> dict   NAME -> value, in file order
  cutover_envfile_problems(text, path=None) -> list[str]          what is refused (no values)
  cutover_envfile_keys(text, path=None, lenient=False) -> list    names with a non-empty value
  cutover_envfile_render(env, names=None) -> str                  env-file text of (some of) env
  cutover_envfile_select(env, names) -> dict                      only those names, in env's order
  cutover_envfile_checksums(env, services) -> dict                service -> sha1 of its env-file text
  cutover_envfile_per_service(env, services) -> dict              service -> only its keys of env
  cutover_envfile_service_files(env, services, names) -> dict     "<service>.env" -> its env-file text

``lenient=True`` never raises: it is for readers that must not fail (the redactor, prep's list
of missing keys next to its list of problems). A refused line whose name is recognisable is
then read the forgiving way (name and value stripped, ``export`` dropped, matching quotes
removed; the last of duplicates wins); other refused lines are skipped. Never deploy from it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
QUOTES = "\"'"
BOM = "\ufeff"
_INDENT = " \t"

# Reasons (a problem's text after "line N: NAME: "); never a value in them.
NO_NAME = "no variable name before '='"
BAD_NAME = "invalid variable name (a name matches [A-Za-z_][A-Za-z0-9_]*)"
TRAILING_SPACE = "the value ends with whitespace (Docker keeps it, docker-py strips it)"
QUOTED = "the value is wrapped in quotes, which Docker keeps as part of the value (write it without them)"
OPEN_QUOTE = (
    "the value opens a quote that does not close on this line (Docker keeps quotes; a value is one line)"
)
ODD_SPACE = "the line starts with whitespace other than spaces and tabs"
INDENTED_COMMENT = "an indented comment (docker-py does not skip it): start it in column 1"


@dataclass(frozen=True)
class EnvEntry:
    """One ``NAME=value`` line. ``ok`` is False for a refused line read leniently."""

    line: int
    key: str
    value: str
    ok: bool = True


@dataclass(frozen=True)
class EnvProblem:
    """Why a line is refused; holds a line number and a name, never a value."""

    line: int
    key: str | None
    reason: str

    def message(self, path: str | None = None) -> str:
        where = f"{path}: " if path else ""
        name = f"{self.key}: " if self.key else ""
        return f"{where}line {self.line}: {name}{self.reason}"


@dataclass(frozen=True)
class EnvScan:
    """Every line read: the entries (refused ones with ``ok=False``) and the problems."""

    entries: tuple[EnvEntry, ...]
    problems: tuple[EnvProblem, ...]


class EnvFileError(ValueError):
    """The env file has lines that Docker or docker-py would misread. Never holds a value."""

    def __init__(self, problems: Iterable[EnvProblem], path: str | None = None) -> None:
        self.problems = tuple(problems)
        self.path = path
        where = f"env file {path}" if path else "env file"
        super().__init__(
            f"{where} refused ({len(self.problems)} problem(s)): "
            + "; ".join(p.message() for p in self.problems)
        )


def _text(text: str | bytes | None) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        return text.decode("utf-8", errors="surrogateescape")
    return str(text)


def _is_utf8(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: bytes that were not UTF-8
        return False
    return True


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in QUOTES:
        return value[1:-1]
    return value


def _check(
    line: str, lineno: int, seen: dict[str, int], previous: tuple[str, int] | None
) -> tuple[EnvProblem | None, EnvEntry | None]:
    """One non-blank, non-comment line: (problem or None, entry or None)."""
    if "=" not in line:
        if previous is not None:
            key, at = previous
            reason = (
                f"no '=' on this line: a value cannot span lines "
                f"(is it the continuation of {key} from line {at}?)"
            )
        else:
            reason = "no '=' on this line (every line is NAME=value)"
        return EnvProblem(lineno, None, reason), None
    name, _, value = line.partition("=")
    words = name.split()
    if len(words) == 2 and words[0] == "export" and NAME.match(words[1]):
        key = words[1]
        reason = f"'export' is not allowed (write {key}=value; Docker would take 'export {key}' as the name)"
        return EnvProblem(lineno, key, reason), EnvEntry(lineno, key, _unquote(value.strip()), ok=False)
    if len(words) != 1 or not NAME.match(words[0]):
        reason = NO_NAME if not words else BAD_NAME
        return EnvProblem(lineno, None, reason), None
    key = words[0]
    lenient = EnvEntry(lineno, key, _unquote(value.strip()), ok=False)
    if name != key or value[:1].isspace():
        return EnvProblem(lineno, key, f"no spaces around '=' (write {key}=value)"), lenient
    if value != value.rstrip():
        return EnvProblem(lineno, key, TRAILING_SPACE), lenient
    if value and value[0] in QUOTES:
        return EnvProblem(lineno, key, QUOTED if _unquote(value) != value else OPEN_QUOTE), lenient
    if key in seen:
        return EnvProblem(lineno, key, f"duplicate name (first set on line {seen[key]})"), lenient
    return None, EnvEntry(lineno, key, value)


def _name_of(line: str) -> str | None:
    """The name of a line, only when it is a valid name (anything else may be part of a value)."""
    words = line.partition("=")[0].split()
    if len(words) == 2 and words[0] == "export":
        words = words[1:]
    return words[0] if len(words) == 1 and NAME.match(words[0]) and "=" in line else None


def scan(text: str | bytes | None) -> EnvScan:
    """Read every line of an env file: entries and problems, in file order."""
    entries: list[EnvEntry] = []
    problems: list[EnvProblem] = []
    seen: dict[str, int] = {}
    previous: tuple[str, int] | None = None
    for lineno, raw in enumerate(_text(text).split("\n"), start=1):
        bad = None
        if "\x00" in raw:
            bad = "contains a NUL character"
        elif "\r" in raw:
            bad = "contains a carriage return (save the file with LF line endings)"
        elif not _is_utf8(raw):
            bad = "is not valid UTF-8"
        elif lineno == 1 and raw.startswith(BOM):
            bad = "the file starts with a byte-order mark (save it as UTF-8 without BOM)"
        if bad is not None:
            name = _name_of(raw[len(BOM) :] if raw.startswith(BOM) else raw)  # not removeprefix: Python 3.8
            problems.append(EnvProblem(lineno, name, bad))
            if name is not None:  # read leniently: the value stripped (a CR goes) and unquoted
                entries.append(EnvEntry(lineno, name, _unquote(raw.partition("=")[2].strip()), ok=False))
                seen.setdefault(name, lineno)
                previous = (name, lineno)
            continue
        if not raw.strip():  # blank: both readers skip it
            continue
        line = raw.lstrip(_INDENT)
        if line[0].isspace():  # the docker CLI and docker-py disagree on some of these
            problems.append(EnvProblem(lineno, None, ODD_SPACE))
            continue
        if line.startswith("#"):
            if line != raw:
                problems.append(EnvProblem(lineno, None, INDENTED_COMMENT))
            continue
        problem, entry = _check(line, lineno, seen, previous)
        if problem is not None:
            problems.append(problem)
        if entry is not None:
            entries.append(entry)
            seen.setdefault(entry.key, lineno)
            previous = (entry.key, lineno)
    return EnvScan(tuple(entries), tuple(problems))


def parse(text: str | bytes | None, path: str | None = None, *, lenient: bool = False) -> dict[str, str]:
    """NAME -> value in file order. Raises EnvFileError on a refused line unless lenient."""
    result = scan(text)
    if result.problems and not lenient:
        raise EnvFileError(result.problems, path)
    env: dict[str, str] = {}
    for entry in result.entries:
        env[entry.key] = entry.value
    return env


def problems(text: str | bytes | None, path: str | None = None) -> list[str]:
    """What is refused, one message a problem (file, line, name; never a value)."""
    return [p.message(path) for p in scan(text).problems]


def keys(text: str | bytes | None, path: str | None = None, *, lenient: bool = False) -> list[str]:
    """Names that have a non-empty value, in file order; values are never returned."""
    return [k for k, v in parse(text, path, lenient=lenient).items() if v != ""]


def render(env: Mapping[str, Any], names: Iterable[str] | None = None) -> str:
    """The env-file text of env (only the names in names, when given), in env's order.

    Raises EnvFileError (naming the name, never the value) for a pair that would not be read
    back exactly: the inverse of parse for everything parse accepts.
    """
    wanted = None if names is None else set(names)
    lines: list[str] = []
    for key, value in env.items():
        if wanted is not None and key not in wanted:
            continue
        n = len(lines) + 1
        name = key if isinstance(key, str) and NAME.match(key) else None
        if name is None:
            raise EnvFileError([EnvProblem(n, None, BAD_NAME)])
        if not isinstance(value, str):
            raise EnvFileError([EnvProblem(n, name, "the value is not a string")])
        if "\n" in value:
            raise EnvFileError([EnvProblem(n, name, "the value holds a newline (a value is one line)")])
        line = f"{name}={value}"
        found = scan(line).problems
        if found:
            raise EnvFileError([replace(p, line=n) for p in found])
        lines.append(line)
    return "".join(f"{line}\n" for line in lines)


def select(env: Mapping[str, Any] | None, names: Iterable[str] | None) -> dict[str, Any]:
    """Only the given names of env, in env's order (what one service's container gets)."""
    wanted = set(names or [])
    return {key: value for key, value in (env or {}).items() if key in wanted}


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()  # a fingerprint, not a secret


def checksums(env: Mapping[str, Any] | None, services: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Per service, the sha1 of its env-file text (its keys only): the swap's config hash covers it."""
    return {name: _sha1(render(values)) for name, values in per_service(env, services).items()}


def per_service(
    env: Mapping[str, Any] | None, services: Iterable[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per service, only its keys of env (what its container gets)."""
    return {str(svc["name"]): select(env, svc.get("env") or []) for svc in services}


def service_files(
    env: Mapping[str, Any] | None, services: Iterable[Mapping[str, Any]], names: Iterable[str]
) -> dict[str, str]:
    """``<service>.env`` -> the env-file text of that service's keys, for the services named."""
    wanted = set(names)
    files = per_service(env, services)
    return {f"{name}.env": render(values) for name, values in files.items() if name in wanted}


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "cutover_envfile_parse": parse,
            "cutover_envfile_problems": problems,
            "cutover_envfile_keys": keys,
            "cutover_envfile_render": render,
            "cutover_envfile_select": select,
            "cutover_envfile_checksums": checksums,
            "cutover_envfile_per_service": per_service,
            "cutover_envfile_service_files": service_files,
        }
