"""The Jinja2 templates of receipt.md and the closeout documents, and where they come from.

The package ships them in ``cutover/templates/``; ``Templates(override=DIR)`` (the CLI's
``--templates DIR``) takes any of them from DIR instead when DIR has a file of the same name,
the packaged one otherwise. Markdown, not HTML: no autoescape; a table cell goes through the
``md`` filter (non-strings as JSON, ``|`` escaped, newlines as spaces). Undefined names are
errors (StrictUndefined), reported as ``TemplateProblem`` naming the template file and line.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType

import jinja2

PACKAGED_DIR = Path(__file__).resolve().parent / "templates"
RECEIPT = "receipt.md.j2"
SCOPE = "scope.md.j2"
CHANGEPACK = "changepack.md.j2"
MACROS = "_macros.md.j2"
NAMES = (RECEIPT, SCOPE, CHANGEPACK, MACROS)


class TemplateProblem(ValueError):
    """A template that does not load or render; the message names the file and line."""


def md_cell(value: object) -> str:
    """A markdown table cell: non-strings as JSON, pipes escaped, newlines as spaces."""
    if isinstance(value, jinja2.Undefined):
        value = str(value)  # StrictUndefined raises here, naming what is undefined
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text.replace("|", "\\|").replace("\n", " ")


class Templates:
    """The templates to render with: the packaged ones, each replaced by the file of the same
    name in ``override`` when there is one."""

    def __init__(self, override: Path | None = None) -> None:
        self.override = override
        loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(override)] if override else []
        self._env = jinja2.Environment(
            loader=jinja2.ChoiceLoader([*loaders, jinja2.FileSystemLoader(PACKAGED_DIR)]),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,  # noqa: S701 - markdown, not HTML: table cells go through md_cell
        )
        self._env.filters["md"] = md_cell

    def strangers(self) -> list[Path]:
        """Template-like files in ``override`` that no document uses (a misspelt name would
        otherwise be ignored silently)."""
        if not self.override:
            return []
        return sorted(p for p in self.override.glob("*.j2") if p.name not in NAMES)

    def check(self, samples: Mapping[str, Mapping[str, object]]) -> list[str]:
        """Problems found by loading every template and rendering each one of ``samples``
        (name -> context). A sample exercises the branches its data reaches, not all."""
        problems = []
        for name in NAMES:
            try:
                if name in samples:
                    self.render(name, **samples[name])
                else:
                    self.load(name)
            except TemplateProblem as exc:
                problems.append(str(exc))
        return problems

    def load(self, name: str) -> None:
        with _reported(name):
            self._env.get_template(name)

    def render(self, name: str, **context: object) -> str:
        with _reported(name):
            return self._env.get_template(name).render(**context)


@contextlib.contextmanager
def _reported(name: str) -> Iterator[None]:
    """Jinja's errors as a TemplateProblem naming the template file and line."""
    try:
        yield
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or exc.name or name
        raise TemplateProblem(f"template {where}: line {exc.lineno}: {exc.message}") from exc
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
        # also what an expression of the template raises, e.g. `'a' - 1`
        where, line = _template_frame(exc.__traceback__, name)
        raise TemplateProblem(f"template {where}: line {line}: {exc}") from exc


def _template_frame(tb: TracebackType | None, name: str) -> tuple[str, int | str]:
    """The innermost template file and line of a render error (Jinja maps its frames to them)."""
    where: tuple[str, int | str] = (name, "?")
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            where = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return where


PACKAGED = Templates()
"""The packaged templates (the default everywhere)."""
