"""Live progress from ansible-runner events: rich on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from .redact import Redactor


@dataclass
class PhaseLine:
    phase: str
    status: str  # done | failed | skipped
    duration_s: float
    receipt: str
    note: str


class Reporter(Protocol):
    def phase_start(self, phase: str, check: bool) -> None: ...
    def event(self, phase: str, event: Mapping[str, Any]) -> None: ...
    def phase_end(self, line: PhaseLine) -> None: ...
    def message(self, text: str) -> None: ...
    def summary(self, lines: Sequence[PhaseLine], footer: str) -> None: ...
    def close(self) -> None: ...


def _failure_text(event: Mapping[str, Any]) -> str:
    data = event.get("event_data") or {}
    res = data.get("res") or {}
    msg = res.get("msg") or res.get("stderr") or ""
    if not isinstance(msg, str):
        msg = str(msg)
    first = msg.strip().splitlines()[0] if msg.strip() else ""
    return f"{data.get('host', '?')}: {data.get('task', '?')}: {first}"


def _implicit(data: Mapping[str, Any]) -> bool:
    """Tasks Ansible adds by itself (argument spec validation): not worth a progress line."""
    return str(data.get("task", "")).startswith("Validating arguments against arg spec")


def render_summary_plain(lines: Sequence[PhaseLine], footer: str) -> str:
    """Pure: the final summary as a fixed-width text table."""
    head = ("PHASE", "STATUS", "TIME", "RECEIPT", "NOTE")
    rows = [(ln.phase, ln.status, f"{ln.duration_s:.1f}s", ln.receipt or "-", ln.note) for ln in lines]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    out = []
    for row in [head, *rows]:
        out.append("  ".join(row[i].ljust(widths[i]) for i in range(4)) + "  " + row[4])
    out.append(footer)
    return "\n".join(s.rstrip() for s in out) + "\n"


class PlainReporter:
    """One line per task start and per failure: for logs, CI and pipes."""

    def __init__(self, redactor: Redactor, stream: TextIO | None = None) -> None:
        self.redactor = redactor
        self.stream = stream or sys.stdout
        self._start = 0.0

    def _print(self, text: str) -> None:
        self.stream.write(self.redactor.text(text) + "\n")
        self.stream.flush()

    def phase_start(self, phase: str, check: bool) -> None:
        self._start = time.monotonic()
        self._print(f"==> {phase}{' (check mode)' if check else ''}")

    def event(self, phase: str, event: Mapping[str, Any]) -> None:
        kind = event.get("event")
        data = event.get("event_data") or {}
        elapsed = time.monotonic() - self._start
        if kind == "playbook_on_task_start" and not _implicit(data):
            self._print(f"[{phase} {elapsed:6.1f}s] {data.get('task', '')}")
        elif kind == "runner_on_failed" and not data.get("ignore_errors"):
            self._print(f"[{phase} {elapsed:6.1f}s] FAILED {_failure_text(event)}")
        elif kind == "runner_on_unreachable":
            self._print(f"[{phase} {elapsed:6.1f}s] UNREACHABLE {_failure_text(event)}")

    def phase_end(self, line: PhaseLine) -> None:
        self._print(
            f"<== {line.phase}: {line.status} in {line.duration_s:.1f}s  receipt {line.receipt or '-'}"
        )

    def message(self, text: str) -> None:
        self._print(text)

    def summary(self, lines: Sequence[PhaseLine], footer: str) -> None:
        self.stream.write(self.redactor.text(render_summary_plain(lines, footer)))
        self.stream.flush()

    def close(self) -> None:
        return None


class RichReporter:
    """A spinner line per phase with the current task, host and elapsed time."""

    def __init__(self, redactor: Redactor, console: Console | None = None) -> None:
        self.redactor = redactor
        self.console = console or Console()
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[phase]:<9}[/bold]"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._task: TaskID | None = None
        self._host = ""
        self.progress.start()

    def _safe(self, text: str) -> str:
        return self.redactor.text(text).replace("[", "\\[")

    def phase_start(self, phase: str, check: bool) -> None:
        label = "starting" + (" (check mode)" if check else "")
        self._task = self.progress.add_task(label, total=None, phase=phase)

    def event(self, phase: str, event: Mapping[str, Any]) -> None:
        if self._task is None:
            return
        kind = event.get("event")
        data = event.get("event_data") or {}
        if kind == "playbook_on_task_start" and not _implicit(data):
            self.progress.update(self._task, description=self._safe(str(data.get("task", ""))))
        elif kind in ("runner_on_start", "runner_on_ok") and data.get("host"):
            self._host = str(data["host"])
            task = self._safe(str(data.get("task", "")))
            self.progress.update(self._task, description=f"{task} [dim]@ {self._safe(self._host)}[/dim]")
        elif (
            kind == "runner_on_failed" and not data.get("ignore_errors")
        ) or kind == "runner_on_unreachable":
            self.progress.console.print(f"  [red]FAILED[/red] {self._safe(_failure_text(event))}")

    def phase_end(self, line: PhaseLine) -> None:
        if self._task is None:
            return
        color = "green" if line.status == "done" else "red"
        self.progress.update(
            self._task,
            description=f"[{color}]{line.status}[/{color}] {self._safe(line.receipt)}",
            total=1,
            completed=1,
        )
        self.progress.stop_task(self._task)
        self._task = None

    def message(self, text: str) -> None:
        self.progress.console.print(self._safe(text))

    def summary(self, lines: Sequence[PhaseLine], footer: str) -> None:
        self.progress.stop()
        table = Table(title="cutover summary")
        for col in ("Phase", "Status", "Time", "Receipt"):
            table.add_column(col, no_wrap=True)
        table.add_column("Note", overflow="fold")
        for ln in lines:
            color = {"done": "green", "failed": "red"}.get(ln.status, "yellow")
            table.add_row(
                ln.phase,
                f"[{color}]{ln.status}[/{color}]",
                f"{ln.duration_s:.1f}s",
                self._safe(ln.receipt or "-"),
                self._safe(ln.note),
            )
        self.console.print(table)
        self.console.print(self._safe(footer))

    def close(self) -> None:
        self.progress.stop()


def make_reporter(redactor: Redactor, plain: bool | None = None) -> Reporter:
    if plain is None:
        plain = not sys.stdout.isatty()
    if plain:
        return PlainReporter(redactor)
    return RichReporter(redactor)
