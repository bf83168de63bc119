"""Run phase playbooks through ansible-runner, turn each run into a receipt."""

from __future__ import annotations

import getpass
import os
import secrets
import shlex
import shutil
import socket
import string
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ansible_runner  # type: ignore[import-untyped]

from . import receipts, stream, templating
from .exitcodes import ExitCode
from .progress import PhaseLine, Reporter
from .project import CHANGING, PHASES, InputError, InventoryFacts, ansible_env, package_commit
from .redact import Redactor, secrets_from_env_text
from .secrets_pipe import SecretsPipe, is_handoff_result
from .stop import Stop
from .templating import TemplateProblem, Templates

LAUNCHER = Path(__file__).resolve().parent / "launch.py"


def new_run_id(now: datetime) -> str:
    suffix = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(6))
    return f"{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}-{suffix}"


def default_loop_id(project: str, now: datetime) -> str:
    """One loop per run (the run's UTC start, to the second): a run never overwrites the loop
    record of another one unless both are given the same --loop-id."""
    return f"LOOP-{project.upper()}-CUTOVER-{now.astimezone(UTC).strftime('%Y%m%d-%H%M%S')}"


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
    strategy: str | None = None  # --strategy: cutover_swap_strategy for this run
    staging_inventory: Path | None = None
    check: bool = False
    write_receipts: bool = True
    extra_context: str = ""
    runner_fn: Callable[..., Any] = field(default=ansible_runner.run)
    after_phase: Callable[[PhaseOutcome], None] | None = None
    before_phase: Callable[[str], None] | None = None
    stop: Stop = field(default_factory=Stop)
    # `cutover rollback --run-id RUN`: act as that (dead) run towards the lock and state.json.
    lock_run_id: str | None = None
    templates: Templates = templating.PACKAGED  # --templates DIR


@dataclass
class PhaseOutcome:
    phase: str
    ok: bool
    receipt: dict[str, Any] | None
    result: dict[str, Any]
    duration_s: float
    error: str
    run: receipts.PhaseRun | None = None
    message: str = ""  # the first failed task's message, first line (or the error)
    invalid: bool = False  # validation refused the inventory: nothing on a host was touched

    @property
    def receipt_id(self) -> str:
        return str(self.receipt["id"]) if self.receipt else ""

    @property
    def canceled(self) -> bool:
        return self.run is not None and self.run.runner_status == "canceled"


def phase_extravars(
    ctx: RunContext, phase: str, later: Sequence[str], extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Extra vars per phase: run id, no auto-rollback, keep the lock until the window ends."""
    extravars: dict[str, Any] = {
        "cutover_run_id": ctx.lock_run_id or ctx.run_id,
        "cutover_auto_rollback": False,
        "cutover_lock_keep": any(p in CHANGING for p in later),
    }
    if ctx.ref:
        extravars["cutover_ref"] = ctx.ref
    if ctx.strategy:
        extravars["cutover_swap_strategy"] = ctx.strategy
    if ctx.staging_inventory:
        extravars["cutover_staging_inventory"] = str(ctx.staging_inventory)
    extravars.update(extra or {})
    return extravars


def command_line(playbook: str, inventory: Path, extravars: Mapping[str, Any], check: bool) -> str:
    parts = ["ansible-playbook", playbook, "-i", str(inventory)]
    for key, value in extravars.items():
        parts += ["-e", f"{key}={value if not isinstance(value, bool) else str(value).lower()}"]
    if check:
        parts.append("--check")
    return shlex.join(parts)


def runner_kwargs(
    ctx: RunContext,
    phase: str,
    play_path: Path,
    extravars: dict[str, Any],
    check: bool,
    private_dir: Path,
    pidfile: Path | str = "-",
) -> dict[str, Any]:
    """The keyword arguments for ``ansible_runner.run`` (without the callbacks).

    ansible-playbook is started through ``launch.py`` (ansible-runner's ``binary`` option,
    with the real command in ``cmdline``): it dies with the wrapper. ``envvars`` carries the
    repo's ansible.cfg and host key checking as Ansible would resolve it (``ansible_env``).
    """
    launch = [str(LAUNCHER), str(os.getpid()), str(pidfile), "ansible-playbook", str(play_path)]
    if check:
        launch.append("--check")
    return {
        "private_data_dir": str(private_dir),
        "project_dir": str(ctx.root),
        "playbook": str(play_path),
        "binary": sys.executable,
        "cmdline": shlex.join(launch),
        "inventory": str(ctx.inventory.path),
        "extravars": extravars,
        "envvars": ansible_env(ctx.root),
        "quiet": True,
        "suppress_env_files": True,
        "ident": phase,
    }


def _run_ansible(
    ctx: RunContext,
    ident: str,
    play_path: Path,
    extravars: dict[str, Any],
    check: bool,
    on_event: Callable[[dict[str, Any]], None],
    event_stdout: Callable[[], str],
) -> tuple[int, str, str]:
    """One ansible-playbook run through ansible-runner: (rc, runner status, stdout). Signals
    stop it (``stop.py``); a raised error still returns, so the phase gets its receipt."""
    tmp = Path(tempfile.mkdtemp(prefix=f"cutover-{ident}-"))
    stdout = ""
    rc = 1
    status = "error"
    facts = ctx.inventory

    def learn(host: str, text: str) -> None:  # the host's env file, in memory only
        ctx.redactor.add(secrets_from_env_text(text, facts.secret_env, facts.smoke_key_names))

    pipe = SecretsPipe(learn)

    def handler(event: dict[str, Any]) -> bool:
        host = is_handoff_result(event)
        if host:  # redact nothing after the handoff before its values are known
            pipe.wait(host)
        on_event(event)
        # False: ansible-runner need not write each event to its artifacts dir (one file per
        # event, removed with `tmp` below); the wrapper keeps the redacted events itself.
        return False

    try:
        with ctx.stop.installed(), ctx.stop.child(tmp / "playbook.pid"):
            kwargs = runner_kwargs(ctx, ident, play_path, extravars, check, tmp, tmp / "playbook.pid")
            kwargs["envvars"] = {**kwargs["envvars"], **pipe.env()}
            kwargs["event_handler"] = handler
            kwargs["cancel_callback"] = ctx.stop.cancel_callback
            result = ctx.runner_fn(**kwargs)
        rc = int(result.rc if result.rc is not None else 1)
        status = str(result.status)
        try:
            stdout = result.stdout.read()
        except (OSError, AttributeError, ValueError):
            stdout = event_stdout()
    except KeyboardInterrupt:  # only when the handlers could not be installed (not the main thread)
        status, rc = "canceled", 130
        stdout = event_stdout()
    except Exception as exc:  # the phase still gets its (failed) receipt
        status, rc = "error", 1
        stdout = event_stdout()
        stdout += f"\ncutover: ansible-runner raised {type(exc).__name__}: {exc}\n"
    finally:
        pipe.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return rc, status, stdout


def run_playbook(
    ctx: RunContext,
    phase: str,
    playbook: str,
    extravars: dict[str, Any],
    check: bool,
) -> tuple[receipts.PhaseRun, dict[str, Any] | None]:
    """Run one playbook; return the (redacted) PhaseRun and its receipt (if receipts are on).

    A SIGINT/SIGTERM/SIGHUP meanwhile stops the playbook (``stop.py``) and the receipt says
    ``canceled``; callers check ``ctx.stop.requested`` before starting the next one."""
    play_path = Path(playbook) if Path(playbook).is_absolute() else ctx.root / playbook
    if not play_path.is_file():
        raise InputError(f"{playbook}: playbook not found under {ctx.root}")
    events: list[dict[str, Any]] = []
    red = ctx.redactor

    def on_event(event: dict[str, Any]) -> None:
        clean = red.data(event)
        events.append(clean)
        ctx.reporter.event(phase, clean)

    def event_stdout() -> str:
        return "\n".join(str(e.get("stdout", "")) for e in events if e.get("stdout"))

    started = datetime.now(UTC)
    ctx.reporter.phase_start(phase, check)
    rc, status, stdout = _run_ansible(ctx, phase, play_path, extravars, check, on_event, event_stdout)
    interrupted = ""
    if ctx.stop.requested and status != "successful":
        interrupted = ctx.stop.name
        status, rc = "canceled", ctx.stop.exit_status
        stdout += (
            f"\ncutover: interrupted by {interrupted}: the playbook was stopped (SIGTERM to its "
            "process group) before it finished\n"
        )
    elif status == "canceled":
        interrupted = "an interrupt"
    play_rel = str(play_path.relative_to(ctx.root)) if play_path.is_relative_to(ctx.root) else str(play_path)
    run = _phase_run(ctx, phase, (started, datetime.now(UTC)), rc, status, stdout, events, play_rel,
                     extravars, check, interrupted)  # fmt: skip
    doc = _write_receipt(ctx, run) if ctx.write_receipts else None
    return run, doc


def _phase_run(
    ctx: RunContext,
    phase: str,
    span: tuple[datetime, datetime],
    rc: int,
    status: str,
    stdout: str,
    events: list[dict[str, Any]],
    playbook: str,
    extravars: Mapping[str, Any],
    check: bool,
    interrupted: str,
    rollout: dict[str, Any] | None = None,
) -> receipts.PhaseRun:
    """What one phase produced (redacted), as its receipt records it."""
    red = ctx.redactor
    args = dict(extravars)
    if check:
        args["check_mode"] = True
    return receipts.PhaseRun(
        phase=phase,
        run_id=ctx.run_id,
        started=span[0],
        finished=span[1],
        rc=rc,
        runner_status=status,
        stdout=red.text(stdout),
        events=events,
        command=red.text(command_line(playbook, ctx.inventory.path, extravars, check)),
        cwd=str(ctx.root),
        args=red.data(args),
        check_mode=check,
        playbook=playbook,
        context=red.text(
            f"cutover run {ctx.run_id}; loop {ctx.loop_id}; inventory {ctx.inventory.path}; "
            f"ref {ctx.ref or ctx.inventory.ref or '-'}{'; check mode' if check else ''}"
            f"{'; on behalf of run ' + ctx.lock_run_id if ctx.lock_run_id else ''}{ctx.extra_context}"
        ),
        loop_id=ctx.loop_id,
        interrupted=interrupted,
        rollout=rollout,
        meta=red.data(
            {
                "user": getpass.getuser(),
                "controller": socket.gethostname(),
                "package_commit": package_commit(ctx.root),
                "inventory": ctx.inventory.summary(),
            }
        ),
    )


def _write_receipt(ctx: RunContext, run: receipts.PhaseRun) -> dict[str, Any]:
    try:
        return receipts.write_receipt(ctx.receipts_dir, run, templates=ctx.templates)
    except TemplateProblem as exc:  # the receipt is the audit trail: never lose it to a template
        ctx.reporter.message(f"receipt.md: {exc}; written with the packaged template instead")
        return receipts.write_receipt(ctx.receipts_dir, run)


def _first_line(text: str, limit: int = 240) -> str:
    line = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


# What SSH says when it will not connect, in the words an operator needs (ssh's own message
# starts with a banner of '@' that the first line would show alone).
_SSH_REFUSALS = (
    ("REMOTE HOST IDENTIFICATION HAS CHANGED",
     "SSH refused: the host key does not match known_hosts (an impostor, or a reinstalled host)"),
    ("Host key verification failed",
     "SSH refused: host key verification failed (the host is not in known_hosts, or its key differs)"),
    ("Permission denied", "SSH refused: permission denied (user or key)"),
    ("Connection refused", "SSH connection refused (nothing listens on the address and port)"),
    ("Connection timed out", "SSH connection timed out (address unreachable)"),
    ("No route to host", "SSH: no route to host"),
)  # fmt: skip


def failure_message(msg: str) -> str:
    """Pure: the one line that says why a task failed, with SSH's refusals named plainly."""
    for needle, words in _SSH_REFUSALS:
        if needle in msg:
            return words
    return _first_line(msg)


def _status(o: PhaseOutcome) -> str:
    return "done" if o.ok else "canceled" if o.canceled else "failed"


def run_phase(
    ctx: RunContext,
    phase: str,
    later: Sequence[str],
    check: bool | None = None,
    extra: Mapping[str, Any] | None = None,
) -> PhaseOutcome:
    check = ctx.check if check is None else check
    extravars = phase_extravars(ctx, phase, later, extra)
    run, doc = run_playbook(ctx, phase, f"playbooks/{phase}.yml", extravars, check)
    return _outcome(ctx, run, doc)


def _outcome(ctx: RunContext, run: receipts.PhaseRun, doc: dict[str, Any] | None) -> PhaseOutcome:
    """A phase's outcome from what it produced and its receipt; reported as the phase's end."""
    phase = run.phase
    summary = receipts.summarize_events(run.events, phase)
    ok = run.rc == 0 and run.runner_status == "successful"
    error = message = ""
    if not ok:
        first = summary["failed_tasks"][0] if summary["failed_tasks"] else None
        if doc:
            error = str(doc["error"])
        elif run.runner_status == "canceled":
            error = f"canceled: interrupted by {run.interrupted or 'a signal'}"
        elif first:
            error = f"{first['task']}: {first['msg']}"
        else:
            error = f"status {run.runner_status}"
        message = failure_message(first["msg"] if first and run.runner_status != "canceled" else error)
    duration = (run.finished - run.started).total_seconds()
    message = ctx.redactor.text(message)
    outcome = PhaseOutcome(
        phase, ok, doc, summary["result"], duration, error, run, message, bool(summary["invalid"])
    )
    ctx.reporter.phase_end(PhaseLine(phase, _status(outcome), duration, outcome.receipt_id, error[:120]))
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
    # succeeded | passed | planned | aborted | rolled_back | rollback_failed | drift | interrupted | failed
    outcome: str
    phases: list[PhaseOutcome]
    lines: list[PhaseLine]
    headline: str = ""  # what happened, in words (the footer's first line)


def phase_line(o: PhaseOutcome) -> PhaseLine:
    """The phase's line in the run summary: status, duration, receipt and a short note."""
    return PhaseLine(o.phase, _status(o), o.duration_s, o.receipt_id, _note(o) or o.error[:120])


def _note(o: PhaseOutcome) -> str:
    r = o.result
    if o.phase == "rollback" and r.get("outcome"):
        mode = f", mode {r['mode']}" if r.get("mode") else ""
        return f"outcome {r['outcome']}{mode}" + (f"; {o.message[:100]}" if not o.ok and o.message else "")
    if not o.ok:
        if r.get("flipped_back"):  # first, so that a short note still says it
            return f"traffic flipped back at once: {', '.join(r['flipped_back'])}; {o.error}"[:160]
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
        done = ", ".join(f"{s.get('name')} {s.get('action')}" for s in r["services"])
        if r.get("handover_s") is not None:  # first, so that a short note still says it
            gap = float(r["handover_s"])
            return f"hand-over to the edge proxy: ports not served for {gap:.1f}s (once); {done}"
        return done
    if o.phase == "verify" and r.get("smoke"):
        return f"smoke: {r['smoke'].get('summary', '')}"
    if o.phase == "recert":
        return (
            f"release {r.get('release', '?')}; drift {len(r.get('drift') or [])}, "
            f"leftovers {len(r.get('leftovers') or [])}"
        )
    return ""


# ---- what a rollback and a recert mean for the exit code ---------------------------------

ROLLED_BACK, NOTHING_TO_UNDO, ROLLBACK_FAILED, ROLLBACK_CANCELED = (
    "rolled_back",
    "nothing_to_undo",
    "failed",
    "canceled",
)


def rollback_verdict(rb: PhaseOutcome) -> str:
    """rolled_back | nothing_to_undo | failed | canceled, from the rollback's receipt and its
    set_stats ``cutover_rollback.outcome``. A rollback that did not finish, or published no
    known outcome, counts as failed: only a person can tell what it left."""
    if rb.canceled:
        return ROLLBACK_CANCELED
    hosts = receipts.summarize_events(rb.run.events, "rollback")["hosts"] if rb.run else None
    if isinstance(hosts, dict) and hosts:  # a fleet: every host's own outcome counts
        each = [r.get("outcome") if isinstance(r, dict) else None for r in hosts.values()]
        if not rb.ok or any(o not in (ROLLED_BACK, NOTHING_TO_UNDO) for o in each):
            return ROLLBACK_FAILED
        return ROLLED_BACK if ROLLED_BACK in each else NOTHING_TO_UNDO
    outcome = rb.result.get("outcome")
    if rb.ok and outcome in (ROLLED_BACK, NOTHING_TO_UNDO):
        return str(outcome)
    return ROLLBACK_FAILED


def recert_findings(o: PhaseOutcome) -> list[str]:
    """What a recert reported as wrong on the host (drift, leftovers): evidence for exit 4."""
    r = o.result
    drift = [f"drift: {d}" for d in r.get("drift") or []]
    return drift + [f"leftover: {x}" for x in r.get("leftovers") or []]


def _rollback_words(rb: PhaseOutcome, verdict: str) -> str:
    r = rb.result
    if verdict == ROLLED_BACK:
        to = f" {r['to']}" if r.get("to") else ""
        return f"this run's change was rolled back and the previous release{to} serves again"
    if verdict == NOTHING_TO_UNDO:
        return "nothing on the host was changed by this run"
    if verdict == ROLLBACK_CANCELED:
        return f"the rollback was interrupted by {rb.run.interrupted if rb.run else 'a signal'}"
    why = rb.message or r.get("error") or rb.error or "no outcome reported"
    return (
        f"the rollback FAILED ({_first_line(str(why), 200)}); the host needs a person "
        f"(receipt {rb.receipt_id or '-'})"
    )


def _interrupted_words(ctx: RunContext, where: str, changing: bool) -> str:
    head = f"interrupted by {ctx.stop.name or 'a signal'} {where}"
    if changing:
        run = ctx.lock_run_id or ctx.run_id
        return (
            f"{head}; the host may hold an unfinished change of run {run} (and its deploy lock): "
            f"`cutover rollback --run-id {run}` undoes it"
        )
    return f"{head}; nothing on the host was changed by this run"


# ---- the run -------------------------------------------------------------------------------


def run_cutover(ctx: RunContext, phases: Sequence[str]) -> RunSummary:
    """Run the phases in order with the rollback policy; return the exit code, lines and words.

    Exit codes (exitcodes.py): 0 success; 2 nothing on any host was changed by this run
    (a failure in baseline/prep, or a changing phase that failed and whose rollback found
    nothing of this run to undo, e.g. the deploy lock held by another run); 3 this run's
    change was rolled back and the previous release serves; 4 a person must act (the
    rollback failed, or recert reported drift/leftovers); 1 interrupted or unclassifiable.
    """
    outcomes: list[PhaseOutcome] = []
    lines: list[PhaseLine] = []
    code = ExitCode.OK
    outcome = "planned" if ctx.check else "succeeded" if "verify" in phases else "passed"
    headline = (
        "check mode: every phase passed; nothing on the host was changed"
        if ctx.check
        else "cutover succeeded: the new release serves and every gate passed"
        if "verify" in phases
        else f"{', '.join(phases)}: passed"
    )
    changed = False  # a changing phase of this run completed
    changing_started = False
    rolled = False
    notes: list[str] = []

    def done(code: ExitCode, outcome: str, headline: str) -> RunSummary:
        return RunSummary(code, outcome, outcomes, lines, "; ".join([headline, *notes]))

    ran: dict[str, PhaseOutcome] = {}
    for o in run_stream(ctx, phases):
        # A fleet runs swap and verify once per batch: a failed batch stands for its phase.
        if o.phase not in ran or ran[o.phase].ok:
            ran[o.phase] = o
    for phase in phases:
        if ctx.stop.requested and phase not in ran:
            lines.append(PhaseLine(phase, "skipped", 0.0, "", f"interrupted by {ctx.stop.name}"))
            if outcome != "interrupted":
                words = _interrupted_words(ctx, f"before {phase}", changing_started and not rolled)
                headline = words if code == ExitCode.OK else f"{headline}; then {words}"
                code, outcome = ExitCode.UNEXPECTED, "interrupted"
            continue
        if rolled and phase in CHANGING:
            lines.append(PhaseLine(phase, "skipped", 0.0, "", "after rollback"))
            continue
        found = ran.get(phase)
        if found is None:  # not reached: the host left the run (unreachable, refused) before it
            lines.append(PhaseLine(phase, "skipped", 0.0, "", "not reached"))
            continue
        o = found
        changing_started = changing_started or phase in CHANGING
        outcomes.append(o)
        lines.append(phase_line(o))
        if o.ok:
            changed = changed or phase in CHANGING
            continue
        if o.canceled:
            unfinished = changing_started and not ctx.check and not rolled
            words = _interrupted_words(ctx, f"during {phase}: the playbook was stopped", unfinished)
            headline = words if code == ExitCode.OK else f"{headline}; then {words}"
            code, outcome = ExitCode.UNEXPECTED, "interrupted"
            continue
        if ctx.check:
            return done(
                ExitCode.BAD_INPUT,
                "aborted",
                f"{phase} failed in check mode: {o.message}; nothing on the host was changed",
            )
        if o.invalid or (phase in ("baseline", "prep") and not changed):
            return done(
                ExitCode.BAD_INPUT,
                "aborted",
                f"{phase} failed: {o.message}; nothing on the host was changed by this run",
            )
        if phase in CHANGING:
            rb = ran.get("rollback")  # the run's own rollback play
            if rb is None:  # the host left the run before its rollback play: try once more, alone
                ctx.reporter.message(f"{phase} failed: {o.message}; rolling back what this run changed")
                rb = run_rollback(ctx, standalone=False, reason=f"{phase} failed: {o.message}")
            outcomes.append(rb)
            lines.append(phase_line(rb))
            rolled = True
            verdict = rollback_verdict(rb)
            words = f"{phase} failed: {o.message}; {_rollback_words(rb, verdict)}"
            if verdict == ROLLBACK_CANCELED:
                code, outcome = ExitCode.UNEXPECTED, "interrupted"
                headline = f"{words}; {_interrupted_words(ctx, 'during the rollback', True)}"
            elif verdict == NOTHING_TO_UNDO and not changed:
                return done(ExitCode.BAD_INPUT, "aborted", words)
            elif verdict in (ROLLED_BACK, NOTHING_TO_UNDO):
                if verdict == NOTHING_TO_UNDO:  # earlier phases completed, but left nothing to undo
                    words = f"{phase} failed: {o.message}; the rollback found nothing of this run to undo"
                code, outcome, headline = ExitCode.ROLLED_BACK, "rolled_back", words
            else:
                code, outcome, headline = ExitCode.NEEDS_PERSON, "rollback_failed", words
            continue
        if phase == "recert":
            findings = recert_findings(o)
            if findings:
                more = f" (+{len(findings) - 3} more)" if len(findings) > 3 else ""
                shown = ", ".join(findings[:3]) + more
                if code == ExitCode.OK:
                    headline = f"recert found {shown}; the host needs a person"
                else:
                    notes.append(f"then recert found {shown}: the host needs a person")
                code = ExitCode.NEEDS_PERSON
                if outcome in ("succeeded", "passed", "rolled_back"):
                    outcome = "drift"
                continue
            if code == ExitCode.OK:
                code, outcome = ExitCode.UNEXPECTED, "failed"
                headline = f"recert could not check the host: {o.message}"
            else:
                notes.append(f"recert could not check the host ({o.message})")
            continue
        if code == ExitCode.OK:
            code, outcome = ExitCode.UNEXPECTED, "failed"
            headline = f"{phase} failed: {o.message}"
        else:
            notes.append(f"{phase} failed ({o.message})")
    return done(code, outcome, headline)


WHOLE_RUN = "playbooks/cutover.yml"


def whole_run_extravars(ctx: RunContext, phases: Sequence[str]) -> dict[str, Any]:
    """Extra vars of the one playbook run: its id, its phases, the ref and staging inventory."""
    extravars: dict[str, Any] = {
        "cutover_run_id": ctx.lock_run_id or ctx.run_id,
        "cutover_phases": list(phases),
    }
    if ctx.ref:
        extravars["cutover_ref"] = ctx.ref
    if ctx.strategy:
        extravars["cutover_swap_strategy"] = ctx.strategy
    if ctx.staging_inventory:
        extravars["cutover_staging_inventory"] = str(ctx.staging_inventory)
    return extravars


def run_stream(ctx: RunContext, phases: Sequence[str]) -> list[PhaseOutcome]:
    """Run the whole cutover as ONE playbook process (playbooks/cutover.yml, what a plain
    ansible-playbook user runs) and cut its event stream into phases (stream.py): each phase
    that ran gets its receipt as soon as its play ends, and its outcome; the run's own
    rollback play is the phase ``rollback``. A phase the playbook skipped has no outcome.

    A SIGINT/SIGTERM/SIGHUP stops the playbook: the phase it was in is ``canceled``."""
    play_path = ctx.root / WHOLE_RUN
    if not play_path.is_file():
        raise InputError(f"{WHOLE_RUN}: playbook not found under {ctx.root}")
    check = ctx.check
    extravars = whole_run_extravars(ctx, phases)
    outcomes: list[PhaseOutcome] = []
    everything: list[dict[str, Any]] = []
    # a fleet: the rollout plan, published by the start play (no phase's) before any phase
    # ends; read from the stream once, at the first phase's end
    rollout: dict[str, Any] | None = None
    rollout_read = False

    def finish(segment: stream.Segment, ending: str = "") -> None:
        nonlocal rollout, rollout_read
        if not rollout_read:
            rollout, rollout_read = stream.rollout(everything), True
        ok = stream.segment_ok(segment, check) and not ending
        stdout = stream.segment_stdout(segment)
        interrupted = ""
        if ending == "canceled":
            interrupted = ctx.stop.name or "an interrupt"
            status, rc = "canceled", ctx.stop.exit_status
            stdout += (
                f"\ncutover: interrupted by {interrupted}: the playbook was stopped (SIGTERM to its "
                "process group) before it finished\n"
            )
        else:
            status, rc = ("successful", 0) if ok else ("failed", 2)
            stdout += f"\n{ending}\n" if ending else ""
        now = datetime.now(UTC)
        span = (segment.started or now, segment.finished or now)
        run = _phase_run(ctx, segment.phase, span, rc, status, stdout, segment.events, WHOLE_RUN,
                         extravars, check, interrupted, rollout)  # fmt: skip
        outcome = _outcome(ctx, run, _write_receipt(ctx, run) if ctx.write_receipts else None)
        outcomes.append(outcome)
        if ctx.after_phase:
            ctx.after_phase(outcome)

    def started(phase: str) -> None:
        if ctx.before_phase:
            ctx.before_phase(phase)
        ctx.reporter.phase_start(phase, check)

    cutter = stream.Cutter(PHASES, started, finish)

    def on_event(event: dict[str, Any]) -> None:
        clean = ctx.redactor.data(event)
        everything.append(clean)
        cutter.feed(clean)
        if cutter.current is not None and cutter.announced:
            ctx.reporter.event(cutter.current.phase, clean)

    def event_stdout() -> str:
        return "\n".join(str(e.get("stdout", "")) for e in everything if e.get("stdout"))

    rc, status, stdout = _run_ansible(ctx, "cutover", play_path, extravars, check, on_event, event_stdout)
    open_segment, announced = cutter.current, cutter.announced
    cutter.current = None
    if open_segment is not None and announced:  # the stream ended inside a phase
        canceled = status == "canceled" or (ctx.stop.requested and status != "successful")
        ending = f"cutover: the playbook ended in this phase ({status}, rc {rc})"
        finish(open_segment, "canceled" if canceled else ending)
    elif not outcomes and status != "successful":  # it ended before any phase ran: say why
        first = stream.Segment(phases[0] if phases else "baseline")
        first.events.extend(everything)
        canceled = status == "canceled" or (ctx.stop.requested and status != "successful")
        ending = ctx.redactor.text(stdout[-4000:]) or f"status {status}, rc {rc}"
        finish(first, "canceled" if canceled else ending)
    return outcomes


def run_rollback(
    ctx: RunContext,
    *,
    standalone: bool,
    reason: str | None = None,
    force_unlock: bool = False,
) -> PhaseOutcome:
    """playbooks/rollback.yml. ``standalone=False`` (after a failed phase of this run): undo
    only an unfinished change of this run id, else nothing. ``standalone=True`` (the operator's
    `cutover rollback`): undo a dead run's unfinished change, or go back current -> previous."""
    extra: dict[str, Any] = {"cutover_rollback_standalone": standalone}
    if reason:
        extra["cutover_rollback_reason"] = ctx.redactor.text(_first_line(reason, 300))
    if force_unlock:
        extra["cutover_rollback_force_unlock"] = True
    return run_phase(ctx, "rollback", later=[], check=False, extra=extra)
