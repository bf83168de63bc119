"""Run phase playbooks through ansible-runner, turn each run into a receipt."""

from __future__ import annotations

import getpass
import secrets
import shlex
import shutil
import socket
import string
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ansible_runner  # type: ignore[import-untyped]

from . import receipts
from .exitcodes import ExitCode
from .progress import PhaseLine, Reporter
from .project import CHANGING, PHASES, InputError, InventoryFacts, ansible_env, package_commit
from .redact import Redactor


def new_run_id(now: datetime) -> str:
    suffix = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(6))
    return f"{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}-{suffix}"


def default_loop_id(project: str, now: datetime) -> str:
    return f"LOOP-{project.upper()}-CUTOVER-{now.astimezone(UTC).strftime('%Y%m%d')}"


@dataclass
class RunContext:
    root: Path
    inventory: InventoryFacts
    receipts_dir: Path
    redactor: Redactor
    reporter: Reporter
    run_id: str
    loop_id: str
    ref: str | None = None
    staging_inventory: Path | None = None
    check: bool = False
    write_receipts: bool = True
    extra_context: str = ""
    runner_fn: Callable[..., Any] = field(default=ansible_runner.run)
    after_phase: Callable[[PhaseOutcome], None] | None = None


@dataclass
class PhaseOutcome:
    phase: str
    ok: bool
    receipt: dict[str, Any] | None
    result: dict[str, Any]
    duration_s: float
    error: str
    run: receipts.PhaseRun | None = None

    @property
    def receipt_id(self) -> str:
        return str(self.receipt["id"]) if self.receipt else ""


def phase_extravars(ctx: RunContext, phase: str, later: Sequence[str]) -> dict[str, Any]:
    """Extra vars per phase: run id, no auto-rollback, keep the lock until the window ends."""
    extravars: dict[str, Any] = {
        "cutover_run_id": ctx.run_id,
        "cutover_auto_rollback": False,
        "cutover_lock_keep": any(p in CHANGING for p in later),
    }
    if ctx.ref:
        extravars["cutover_ref"] = ctx.ref
    if ctx.staging_inventory:
        extravars["cutover_staging_inventory"] = str(ctx.staging_inventory)
    return extravars


def command_line(playbook: str, inventory: Path, extravars: Mapping[str, Any], check: bool) -> str:
    parts = ["ansible-playbook", playbook, "-i", str(inventory)]
    for key, value in extravars.items():
        parts += ["-e", f"{key}={value if not isinstance(value, bool) else str(value).lower()}"]
    if check:
        parts.append("--check")
    return shlex.join(parts)


def run_playbook(
    ctx: RunContext,
    phase: str,
    playbook: str,
    extravars: dict[str, Any],
    check: bool,
) -> tuple[receipts.PhaseRun, dict[str, Any] | None]:
    """Run one playbook; return the (redacted) PhaseRun and its receipt (if receipts are on)."""
    play_path = Path(playbook) if Path(playbook).is_absolute() else ctx.root / playbook
    if not play_path.is_file():
        raise InputError(f"{playbook}: playbook not found under {ctx.root}")
    events: list[dict[str, Any]] = []
    red = ctx.redactor

    def on_event(event: dict[str, Any]) -> bool:
        clean = red.data(event)
        events.append(clean)
        ctx.reporter.event(phase, clean)
        return True

    started = datetime.now(UTC)
    ctx.reporter.phase_start(phase, check)
    tmp = Path(tempfile.mkdtemp(prefix=f"cutover-{phase}-"))
    stdout = ""
    rc = 1
    status = "error"
    try:
        kwargs: dict[str, Any] = {
            "private_data_dir": str(tmp),
            "project_dir": str(ctx.root),
            "playbook": str(play_path),
            "inventory": str(ctx.inventory.path),
            "extravars": extravars,
            "envvars": ansible_env(ctx.root),
            "event_handler": on_event,
            "quiet": True,
            "suppress_env_files": True,
            "ident": phase,
        }
        if check:
            kwargs["cmdline"] = "--check"
        result = ctx.runner_fn(**kwargs)
        rc = int(result.rc if result.rc is not None else 1)
        status = str(result.status)
        try:
            stdout = result.stdout.read()
        except (OSError, AttributeError, ValueError):
            stdout = "\n".join(str(e.get("stdout", "")) for e in events if e.get("stdout"))
    except KeyboardInterrupt:
        status, rc = "canceled", 130
        stdout = "\n".join(str(e.get("stdout", "")) for e in events if e.get("stdout"))
    except Exception as exc:  # the phase still gets its (failed) receipt
        status, rc = "error", 1
        stdout = "\n".join(str(e.get("stdout", "")) for e in events if e.get("stdout"))
        stdout += f"\ncutover: ansible-runner raised {type(exc).__name__}: {exc}\n"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finished = datetime.now(UTC)
    args = dict(extravars)
    if check:
        args["check_mode"] = True
    run = receipts.PhaseRun(
        phase=phase,
        run_id=ctx.run_id,
        started=started,
        finished=finished,
        rc=rc,
        runner_status=status,
        stdout=red.text(stdout),
        events=events,
        command=red.text(
            command_line(
                str(play_path.relative_to(ctx.root))
                if play_path.is_relative_to(ctx.root)
                else str(play_path),
                ctx.inventory.path,
                extravars,
                check,
            )
        ),
        cwd=str(ctx.root),
        args=red.data(args),
        check_mode=check,
        playbook=str(play_path.relative_to(ctx.root))
        if play_path.is_relative_to(ctx.root)
        else str(play_path),
        context=red.text(
            f"cutover run {ctx.run_id}; loop {ctx.loop_id}; inventory {ctx.inventory.path}; "
            f"ref {ctx.ref or ctx.inventory.ref or '-'}{'; check mode' if check else ''}{ctx.extra_context}"
        ),
        loop_id=ctx.loop_id,
        meta=red.data(
            {
                "user": getpass.getuser(),
                "controller": socket.gethostname(),
                "package_commit": package_commit(ctx.root),
                "inventory": ctx.inventory.summary(),
            }
        ),
    )
    doc = receipts.write_receipt(ctx.receipts_dir, run) if ctx.write_receipts else None
    return run, doc


def run_phase(ctx: RunContext, phase: str, later: Sequence[str], check: bool | None = None) -> PhaseOutcome:
    check = ctx.check if check is None else check
    extravars = phase_extravars(ctx, phase, later)
    run, doc = run_playbook(ctx, phase, f"playbooks/{phase}.yml", extravars, check)
    summary = receipts.summarize_events(run.events, phase)
    ok = run.rc == 0 and run.runner_status == "successful"
    error = ""
    if not ok:
        error = (
            doc["error"]
            if doc
            else (
                f"{summary['failed_tasks'][0]['task']}: {summary['failed_tasks'][0]['msg']}"
                if summary["failed_tasks"]
                else f"status {run.runner_status}"
            )
        )
    duration = (run.finished - run.started).total_seconds()
    outcome = PhaseOutcome(phase, ok, doc, summary["result"], duration, error, run)
    ctx.reporter.phase_end(
        PhaseLine(phase, "done" if ok else "failed", duration, outcome.receipt_id, error[:120])
    )
    return outcome


def select_phases(requested: Sequence[str] | None) -> list[str]:
    if not requested:
        return list(PHASES)
    unknown = [p for p in requested if p not in PHASES]
    if unknown:
        raise InputError(f"--phase: unknown {', '.join(unknown)} (expected some of: {', '.join(PHASES)})")
    return [p for p in PHASES if p in requested]


@dataclass
class RunSummary:
    exit_code: ExitCode
    outcome: str  # succeeded | rolled_back | rollback_failed | aborted | failed | planned
    phases: list[PhaseOutcome]
    lines: list[PhaseLine]


def phase_line(o: PhaseOutcome) -> PhaseLine:
    """The phase's line in the run summary: status, duration, receipt and a short note."""
    status = "done" if o.ok else "failed"
    return PhaseLine(o.phase, status, o.duration_s, o.receipt_id, _note(o) or o.error[:120])


def _note(o: PhaseOutcome) -> str:
    r = o.result
    if not o.ok:
        return o.error[:120]
    if o.phase == "prep" and r.get("release"):
        gates = r.get("gates") or []
        passed = sum(1 for g in gates if g.get("ok"))
        staging = r.get("staging") or {}
        on_staging = f"; staging smoke {staging['smoke']}" if staging.get("inventory") else ""
        return f"release {r['release']}; gates {passed}/{len(gates)} passed{on_staging}"
    if o.phase == "build" and r.get("images"):
        built = sum(1 for i in r["images"] if i.get("built"))
        return f"{len(r['images'])} images ({built} built)"
    if o.phase == "migrate":
        return f"applied {len(r.get('applied') or [])}, already {len(r.get('already') or [])}"
    if o.phase == "swap" and r.get("services"):
        return ", ".join(f"{s.get('name')} {s.get('action')}" for s in r["services"])
    if o.phase == "verify" and r.get("smoke"):
        return f"smoke: {r['smoke'].get('summary', '')}"
    if o.phase == "rollback":
        return f"outcome {r.get('outcome', '?')}"
    if o.phase == "recert":
        return (
            f"release {r.get('release', '?')}; drift {len(r.get('drift') or [])}, "
            f"leftovers {len(r.get('leftovers') or [])}"
        )
    return ""


def run_cutover(ctx: RunContext, phases: Sequence[str]) -> RunSummary:
    """Run the phases in order with the rollback policy; return the exit code and lines."""
    outcomes: list[PhaseOutcome] = []
    lines: list[PhaseLine] = []
    exit_code = ExitCode.OK
    outcome = "planned" if ctx.check else "succeeded" if "verify" in phases else "passed"
    changed = False
    rolled = False
    for index, phase in enumerate(phases):
        later = phases[index + 1 :]
        if rolled and phase in CHANGING:
            lines.append(PhaseLine(phase, "skipped", 0.0, "", "after rollback"))
            continue
        o = run_phase(ctx, phase, later)
        if ctx.after_phase:
            ctx.after_phase(o)
        outcomes.append(o)
        lines.append(phase_line(o))
        if o.ok:
            if phase in CHANGING:
                changed = True
            continue
        if ctx.check:
            return RunSummary(ExitCode.BAD_INPUT, "aborted", outcomes, lines)
        if phase in ("baseline", "prep") and not changed:
            return RunSummary(ExitCode.BAD_INPUT, "aborted", outcomes, lines)
        if phase in CHANGING:
            ctx.reporter.message(f"{phase} failed: {o.error}; rolling back")
            rb = run_rollback(ctx)
            outcomes.append(rb)
            lines.append(phase_line(rb))
            rolled = True
            if rb.ok and rb.result.get("outcome", "rolled_back") != "failed":
                exit_code, outcome = ExitCode.ROLLED_BACK, "rolled_back"
            else:
                exit_code, outcome = ExitCode.NEEDS_PERSON, "rollback_failed"
            continue
        if phase == "recert":
            exit_code = ExitCode.NEEDS_PERSON
            if outcome in ("succeeded", "passed"):
                outcome = "drift"
            continue
        if exit_code == ExitCode.OK:
            exit_code, outcome = ExitCode.UNEXPECTED, "failed"
    return RunSummary(exit_code, outcome, outcomes, lines)


def run_rollback(ctx: RunContext) -> PhaseOutcome:
    return run_phase(ctx, "rollback", later=[], check=False)
