"""The `cutover` command line."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import __version__, chain, closeout, health_contract, receipts, templating, view
from .exitcodes import EXIT_CODES_HELP, ExitCode
from .progress import PhaseLine, PlainReporter, make_reporter
from .project import (
    CHANGING,
    PHASES,
    InputError,
    InventoryFacts,
    load_inventory,
    repo_root,
    resolve_inventory,
    tool,
)
from .redact import Redactor, collect_secrets
from .runner import (
    NOTHING_TO_UNDO,
    ROLLBACK_CANCELED,
    ROLLED_BACK,
    RunContext,
    default_loop_id,
    new_run_id,
    phase_line,
    recert_findings,
    rollback_verdict,
    run_cutover,
    run_phase,
    run_playbook,
    run_rollback,
    select_phases,
)
from .stop import Stop
from .templating import TemplateProblem, Templates

RUN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

ENV_HELP = """\
environment:
  CUTOVER_HOME          the cutover checkout (default: the one this package is installed from)
  CUTOVER_MITOGEN=1     run the playbooks with Mitogen for Ansible (mitogen_linear; off by default)
API keys of the keyed smoke checks (the names in the checks' requires_keys) are read on the
docker host from cutover_env_file, the env file the services read; nothing is needed in this
environment. A check whose key the host's env file lacks is skipped. Secret values are
redacted from everything cutover writes or prints: those of cutover_secret_env, of the smoke
checks' keys, of names that look secret and URL passwords - read from the host's
cutover_env_file at the start of each run (kept in memory only), from this environment and
from the labs' .lab/secrets.env and .lab-fleet/secrets.env.
"""

FILES_HELP = """\
files:
  <repo>/receipts/ledger.csv          one row per receipt, the order of the hash chain
  <repo>/receipts/<id>/               receipt.md, output.txt, events.jsonl, receipt.json
  <repo>/receipts/closeout/           LOOP-<ID>.scope.md and LOOP-<ID>.changepack.md
  <repo>/.lab/secrets.env             the lab's secrets, if any (read only to redact them)
  <repo>/.lab-fleet/secrets.env       the fleet lab's secrets, if any (the same)
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=100)


def _epilog(examples: str, extra: str = "") -> str:
    return (
        "examples:\n"
        + textwrap.indent(textwrap.dedent(examples).strip("\n"), "  ")
        + "\n\n"
        + extra
        + EXIT_CODES_HELP
    )


def _common(p: argparse.ArgumentParser, receipts_opt: bool = True) -> None:
    p.add_argument(
        "-i",
        "--inventory",
        metavar="INVENTORY",
        help="inventory file or directory (default: inventory/lab of the checkout)",
    )
    if receipts_opt:
        p.add_argument("--receipts-dir", metavar="DIR", help="where receipts go (default: <repo>/receipts)")
    p.add_argument("--plain", action="store_true", help="plain one-line-per-task output even on a terminal")


def _templates_opt(p: argparse.ArgumentParser, what: str = "receipt.md and the documents") -> None:
    names = ", ".join(templating.NAMES)
    p.add_argument(
        "--templates",
        metavar="DIR",
        help=f"render {what} with the templates of DIR ({names}: copies of the packaged ones in"
        " cutover/templates/); the packaged one for any that DIR lacks",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cutover",
        formatter_class=_Formatter,
        description=textwrap.dedent("""\
            Run a gated production cutover of a Docker host with Ansible and keep the proof.

            Every phase (baseline, prep, build, migrate, swap, verify, recert, closeout) is a
            playbook run through ansible-runner. Each run leaves a receipt under receipts/: a
            table (receipt.md), the full output, the redacted events and a JSON record, chained
            by hashes so that an edit, a removal or a reordering is detected. A failure after
            the first change triggers the rollback playbook (its own receipt), then recert and
            closeout still run. The run ends with the loop record and the change pack."""),
        epilog=_epilog(
            """\
            cutover lab up                       # a complete lab on this machine
            cutover run                          # the whole cutover against inventory/lab
            cutover run --ref release-broken     # a release that fails its health gate: rolls back
            cutover plan                         # dry run + change pack, nothing changes
            cutover receipts verify              # is the audit trail intact?
            """,
            ENV_HELP + "\n" + FILES_HELP + "\n",
        ),
    )
    parser.add_argument("--version", action="version", version=f"cutover {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "run",
        formatter_class=_Formatter,
        help="run the cutover phases (default: all of them)",
        description=textwrap.dedent("""\
            Run the phases in order: baseline, prep, build, migrate, swap, verify, recert,
            closeout; one receipt per phase. If build, migrate, swap or verify fails, the
            rollback playbook runs (receipt cutover.rollback) and then recert and closeout.
            A failure in baseline or prep stops the run before anything changes. The rollback
            after a failure undoes only this run's unfinished change (extra vars
            cutover_rollback_standalone=false, cutover_rollback_reason); when it finds nothing
            of this run to undo (e.g. the deploy lock was held by another run), the run exits 2.
            The change pack is written before the swap; the loop record and the completed
            change pack at the end, to <receipts>/closeout/. A run that changed nothing does
            not overwrite the documents of another run of the same loop.

            The same run id (cutover_run_id) is passed to every phase; it owns the deploy lock
            from build until verify succeeds or the rollback ends. Ctrl-C, SIGTERM or SIGHUP
            stop the running playbook too (its receipt says canceled) and exit 1; if that was
            a changing phase, `cutover rollback --run-id RUN` undoes what it left."""),
        epilog=_epilog(
            """\
            cutover run
            cutover run -i inventory/prod --ref v2.3.1 --loop-id LOOP-SHOP-CUTOVER-Q3
            cutover run --phase baseline --phase prep      # only these phases
            cutover run --check                            # every phase in check mode
            cutover run --staging inventory/staging        # staging must pass its smoke suite first
            cutover run --receipts-dir /var/lib/cutover/receipts
            """,
            ENV_HELP + "\n",
        ),
    )
    _common(p)
    _templates_opt(p)
    p.add_argument("--ref", help="git ref of the release to deploy (default: the inventory's cutover_ref)")
    p.add_argument(
        "--strategy",
        choices=("recreate", "bluegreen"),
        help="how the swap replaces containers (default: the inventory's cutover_swap_strategy): recreate"
        " stops the old container, then starts the new one; bluegreen starts it beside the old one behind"
        " the edge proxy and flips traffic (no gap; a rollback is a flip back)",
    )
    p.add_argument(
        "--phase",
        action="append",
        metavar="NAME",
        choices=PHASES,
        help=f"run only this phase (repeatable; order is always {', '.join(PHASES)})",
    )
    p.add_argument("--check", action="store_true", help="check mode: every phase only plans, nothing changes")
    p.add_argument(
        "--staging",
        metavar="INVENTORY",
        help="prep first runs the health gates and smoke suite on this staging inventory (read-only"
        " there) and stops when staging does not pass",
    )
    p.add_argument(
        "--loop-id",
        metavar="ID",
        help="loop id for the receipts and documents (default: one per run,"
        " LOOP-<PROJECT>-CUTOVER-<UTC YYYYMMDD-HHMMSS of the start>)",
    )
    p.add_argument(
        "--no-documents", action="store_true", help="do not write the closeout documents at the end"
    )

    p = sub.add_parser(
        "plan",
        formatter_class=_Formatter,
        help="dry run: baseline + prep in check mode, and the change pack",
        description=textwrap.dedent("""\
            Run baseline and prep in check mode (nothing on the host changes: no lock, no state,
            no audit line), write their receipts, and render the change pack from the plan to
            <receipts>/closeout/LOOP-<ID>.changepack.md."""),
        epilog=_epilog("""\
            cutover plan
            cutover plan --ref release-new --loop-id LOOP-SHOP-CUTOVER-20260212
            """),
    )
    _common(p)
    _templates_opt(p, "receipt.md and the change pack")
    p.add_argument("--ref", help="git ref of the release to plan")
    p.add_argument(
        "--staging", metavar="INVENTORY", help="also run the smoke baseline on this staging inventory"
    )
    p.add_argument(
        "--loop-id", metavar="ID", help="loop id (default: LOOP-<PROJECT>-CUTOVER-<UTC YYYYMMDD-HHMMSS>)"
    )

    p = sub.add_parser(
        "rollback",
        formatter_class=_Formatter,
        help="roll back to the previous release, then recert",
        description=textwrap.dedent("""\
            Run playbooks/rollback.yml (receipt cutover.rollback) as the operator's request
            (cutover_rollback_standalone=true): undo the unfinished change of a dead run, or
            go back from the current release to the previous one: restore the previous
            containers, remove services that did not exist before, re-check health; then run
            recert. The schema stays (migrations are expand-only). Exit 0 when rolled back (or
            nothing to undo), 4 when the rollback failed or refused, or recert found drift.

            A run that died (killed, host lost) leaves its deploy lock and its unfinished
            change. Roll back on its behalf with --run-id RUN (its lock then counts as ours
            and its change is undone), or, when the owner is unknown, with --force-unlock
            (the lock is removed at the end). Check first that the run is really dead:
            `cutover status` names the lock's owner."""),
        epilog=_epilog("""\
            cutover rollback
            cutover rollback --run-id 20260212T011535Z-q3md83    # a dead run's lock and change
            cutover rollback --force-unlock                      # lock of an unknown owner
            cutover rollback -i inventory/prod --loop-id LOOP-SHOP-CUTOVER-Q3
            """),
    )
    _common(p)
    _templates_opt(p, "receipt.md")
    p.add_argument("--loop-id", metavar="ID", help="loop id for the receipts")
    p.add_argument(
        "--run-id",
        metavar="RUN",
        help="roll back on behalf of this dead run (extra var cutover_run_id=RUN): its deploy lock"
        " counts as ours and its unfinished change is undone",
    )
    p.add_argument(
        "--force-unlock",
        action="store_true",
        help="roll back although another run holds the deploy lock, and remove that lock at the end"
        " (cutover_rollback_force_unlock=true); only when that run is dead",
    )

    p = sub.add_parser(
        "status",
        formatter_class=_Formatter,
        help="what runs on the host, releases, lock, health",
        description=textwrap.dedent("""\
            Run a small read-only playbook against the host and print a table: each service's
            container, image, state and health; the current and previous release from
            state.json; the deploy lock and its owner. Writes no receipt."""),
        epilog=_epilog("""\
            cutover status
            cutover status -i inventory/prod --json
            """),
    )
    _common(p, receipts_opt=False)
    p.add_argument("--json", action="store_true", help="print the status as JSON")

    p = sub.add_parser(
        "receipts",
        formatter_class=_Formatter,
        help="list, show or verify receipts",
        description=textwrap.dedent("""\
            Inspect the receipts folder.

              list           one line per receipt in ledger order
              show ID        print a receipt's receipt.md (an id prefix or a unique suffix works)
              verify         recompute every file digest, every receipt hash and the chain
                             (order from ledger.csv); exit 0 when intact, 5 naming the FIRST
                             receipt (and file) that was edited, removed or reordered.

            Hash definition: see `python -m pydoc cutover.chain` or the README."""),
        epilog=_epilog("""\
            cutover receipts list
            cutover receipts show CAP-20260212-011535__cutover.baseline__Rq3md83791
            cutover receipts verify --receipts-dir /var/lib/cutover/receipts
            """),
    )
    rsub = p.add_subparsers(dest="receipts_command", metavar="ACTION", required=True)
    sub_docs = {
        "list": (
            "list receipts in ledger order",
            "One line per receipt: id, status, finish time, cutover run id, first error.",
            "cutover receipts list\ncutover receipts list --run-id 20260212T011535Z-q3md83",
        ),
        "show": (
            "show one receipt",
            "Print a receipt's receipt.md (or receipt.json with --json). ID may be any unique part "
            "of the id, e.g. `cutover.swap` when there is one swap receipt.",
            "cutover receipts show CAP-20260212-011535__cutover.baseline__Rq3md83791\n"
            "cutover receipts show cutover.rollback --json",
        ),
        "verify": (
            "verify every receipt and the hash chain",
            "Recompute the SHA-256 of output.txt, events.jsonl and receipt.md of every receipt, "
            "each receipt's hash, and the chain in ledger.csv order. Exit 0 when intact (the tip "
            "hash is printed: anchor it elsewhere); exit 5 naming the FIRST receipt (and file) that "
            "was edited, removed or reordered, followed by every problem found.",
            "cutover receipts verify\ncutover receipts verify --receipts-dir /var/lib/cutover/receipts",
        ),
    }
    for name, (text, desc, examples) in sub_docs.items():
        rp = rsub.add_parser(
            name,
            help=text,
            formatter_class=_Formatter,
            description=textwrap.fill(desc, 88),
            epilog=_epilog(examples),
        )
        rp.add_argument("--receipts-dir", metavar="DIR", help="receipts folder (default: <repo>/receipts)")
        if name == "show":
            rp.add_argument("id", metavar="ID", help="receipt id (or a unique part of it)")
            rp.add_argument("--json", action="store_true", help="print receipt.json instead of receipt.md")
        if name == "list":
            rp.add_argument("--run-id", help="only receipts of this cutover run")

    p = sub.add_parser(
        "closeout",
        formatter_class=_Formatter,
        help="write the loop record and the change pack from receipts",
        description=textwrap.dedent("""\
            Render LOOP-<ID>.scope.md (the loop record) and LOOP-<ID>.changepack.md (the change
            pack) from the receipts of the loop's latest run (or --run-id), to
            <receipts>/closeout/ or --out. Nothing else is read: the receipts are the record."""),
        epilog=_epilog("""\
            cutover closeout --loop-id LOOP-SHOP-CUTOVER-20260212
            cutover closeout --loop-id LOOP-SHOP-CUTOVER-20260212 --out /tmp/docs
            cutover closeout --loop-id LOOP-SHOP-CUTOVER-20260212 --templates ~/cutover-templates
            """),
    )
    p.add_argument("--loop-id", metavar="ID", required=True, help="the loop whose receipts to use")
    p.add_argument("--run-id", help="a specific cutover run of that loop (default: the latest)")
    p.add_argument("--receipts-dir", metavar="DIR", help="receipts folder (default: <repo>/receipts)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: <receipts>/closeout)")
    _templates_opt(p, "the documents")

    p = sub.add_parser(
        "lab",
        formatter_class=_Formatter,
        help="create, reset or remove the local lab",
        description=textwrap.dedent("""\
            The lab: a docker host that is its own machine (network namespace cutover-lab-h1 with
            its own Docker engine) reachable over SSH at 10.231.1.2 as deploy (sudo), Postgres,
            an S3 store and the old release of the example services on it.

              up      make lab         (idempotent)
              reset   make lab-reset   (back to the old release, original data)
              down    make lab-down    (remove everything the lab and cutovers made)"""),
        epilog=_epilog("""\
            cutover lab up
            cutover lab reset && cutover run
            """),
    )
    p.add_argument("action", choices=("up", "reset", "down"))
    return parser


# ---- helpers -----------------------------------------------------------------------


def _receipts_dir(root: Path, value: str | None) -> Path:
    return Path(value).resolve() if value else root / "receipts"


def _templates(args: argparse.Namespace) -> Templates:
    """``--templates DIR``: checked before anything runs (exit 2), so that a misspelt file name
    or a broken template is found before a cutover, not after it."""
    value = getattr(args, "templates", None)
    if not value:
        return templating.PACKAGED
    folder = Path(value).expanduser().resolve()
    if not folder.is_dir():
        raise InputError(f"--templates: expected a directory of templates, got {value!r}")
    templates = Templates(folder)
    strangers = templates.strangers()
    if strangers:
        raise InputError(
            f"--templates: {', '.join(str(p) for p in strangers)}: not a template cutover renders"
            f" (expected some of {', '.join(templating.NAMES)})"
        )
    problems = templates.check(
        {
            templating.RECEIPT: {"receipt": receipts.sample_receipt()},
            templating.SCOPE: {"run": view.run_view([], "LOOP-TEMPLATE-CHECK")},
            templating.CHANGEPACK: {"run": view.run_view([], "LOOP-TEMPLATE-CHECK")},
        }
    )
    if problems:
        raise InputError(f"--templates: {'; '.join(problems)}")
    return templates


def _normalize_loop_id(value: str) -> str:
    value = value.strip()
    if not value or any(c in value for c in "/\\ \t\n"):
        raise InputError(f"--loop-id: expected a non-empty id without spaces or slashes, got {value!r}")
    return value if value.startswith("LOOP-") else f"LOOP-{value}"


def _redactor(root: Path, facts: InventoryFacts | None) -> Redactor:
    names = facts.secret_env if facts else []
    keys = facts.smoke_key_names if facts else []
    lab_secrets = [root / lab / "secrets.env" for lab in (".lab", ".lab-fleet")]
    return Redactor(collect_secrets(names, keys, lab_secrets))


def _finish(
    ctx: RunContext,
    lines: list[PhaseLine],
    code: ExitCode,
    head: str,
    rdir: Path,
    docs: Sequence[Path] = (),
    docs_label: str = "documents",
    headline: str = "",
) -> int:
    """Print the run summary with its footer: what happened in words, then outcome, exit code
    and where things are."""
    footer = f"{head}; exit {int(code)}; receipts: {rdir}"
    if headline:
        footer = f"{headline}\n{footer}"
    if docs:
        footer += f"\n{docs_label}: " + ", ".join(str(p) for p in docs)
    ctx.reporter.summary(lines, footer)
    return int(code)


def _run_id_option(value: str | None) -> str | None:
    if value is None:
        return None
    if not RUN_ID_RE.fullmatch(value):
        raise InputError(
            f"--run-id: expected a cutover run id ({RUN_ID_RE.pattern}, e.g. 20260212T011535Z-q3md83),"
            f" got {value!r}"
        )
    return value


def _context(args: argparse.Namespace, check: bool = False) -> tuple[RunContext, Path]:
    lock_run_id = _run_id_option(getattr(args, "run_id", None))
    root = repo_root()
    inv_path = resolve_inventory(root, args.inventory)
    facts = load_inventory(root, inv_path)
    red = _redactor(root, facts)
    now = datetime.now(UTC)
    loop_id = (
        _normalize_loop_id(args.loop_id)
        if getattr(args, "loop_id", None)
        else default_loop_id(facts.project, now)
    )
    ref = getattr(args, "ref", None)
    if ref is not None and not ref.strip():
        raise InputError("--ref: expected a git ref (tag, branch or commit), got an empty string")
    rdir = _receipts_dir(root, getattr(args, "receipts_dir", None))
    staging = getattr(args, "staging", None)
    staging_inv = resolve_inventory(root, staging, option="--staging") if staging else None
    ctx = RunContext(
        root=root,
        inventory=facts,
        receipts_dir=rdir,
        redactor=red,
        reporter=make_reporter(red, plain=True if args.plain else None),
        run_id=new_run_id(now),
        loop_id=loop_id,
        ref=ref,
        strategy=getattr(args, "strategy", None),
        staging_inventory=staging_inv,
        check=check,
        stop=_stop(args),
        lock_run_id=lock_run_id,
        templates=_templates(args),
    )
    return ctx, rdir


def _stop(args: argparse.Namespace) -> Stop:
    stop = getattr(args, "stop", None)
    return stop if isinstance(stop, Stop) else Stop()


def _write_docs(ctx: RunContext, changepack_only: bool = False) -> list[Path]:
    run_receipts = [r for r in receipts.load_all(ctx.receipts_dir) if r.get("run_id") == ctx.run_id]
    if not run_receipts:
        return []
    out = ctx.receipts_dir / "closeout"
    try:
        paths = closeout.write_documents(
            run_receipts, ctx.loop_id, out, changepack_only=changepack_only, templates=ctx.templates
        )
    except TemplateProblem as exc:  # the run's outcome stands; `cutover closeout` can render again
        ctx.reporter.message(f"documents: not written: {exc}")
        return []
    for path in paths:  # defence in depth: documents are rendered from redacted receipts
        path.write_text(ctx.redactor.text(path.read_text(encoding="utf-8")), encoding="utf-8")
    return paths


def _write_final_docs(ctx: RunContext, changepack_only: bool = False) -> list[Path]:
    """The documents at the end of a run, unless they are about another run of the same loop.

    ``closeout.select_run`` picks the run the loop's documents are about (the latest that
    changed the host, else the latest that got past prep). A run that changed nothing and
    stopped early (baseline/prep failed, host unreachable, lock held by another run) writes
    its documents only while the loop has none yet: it never overwrites any."""
    all_receipts = receipts.load_all(ctx.receipts_dir)
    chosen = closeout.select_run(all_receipts, ctx.loop_id)
    owner = str(chosen[0].get("run_id")) if chosen else ctx.run_id
    mine = [r for r in all_receipts if r.get("run_id") == ctx.run_id]
    out = ctx.receipts_dir / "closeout"
    existing = any((out / f"{ctx.loop_id}.{kind}.md").exists() for kind in ("scope", "changepack"))
    if owner == ctx.run_id and (closeout.run_rank(mine) > 0 or not existing):
        return _write_docs(ctx, changepack_only=changepack_only)
    whose = f"those of run {owner}" if owner != ctx.run_id else "the existing ones"
    ctx.reporter.message(
        f"documents: not written; this run changed nothing on the host and loop {ctx.loop_id}"
        f" keeps {whose} (`cutover closeout --loop-id {ctx.loop_id} --run-id {ctx.run_id}"
        " --out DIR` renders this run's)"
    )
    return []


# ---- commands ----------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    ctx, rdir = _context(args, check=args.check)
    phases = select_phases(args.phase)
    needed = [*phases, "rollback"] if any(p in CHANGING for p in phases) and not ctx.check else phases
    missing = [f"playbooks/{p}.yml" for p in needed if not (ctx.root / "playbooks" / f"{p}.yml").is_file()]
    if missing:  # checked before anything runs: exit 2 must mean nothing was touched
        raise InputError(f"playbooks: missing {', '.join(missing)} under {ctx.root}")

    def before_swap(phase: str) -> None:
        # SPEC: the change pack is written before the swap and completed after. Written here
        # (the run holds the deploy lock since build), not after prep: a run that then fails
        # to take the lock never writes over another run's change pack.
        if phase == "swap" and not ctx.check and not args.no_documents:
            for path in _write_docs(ctx, changepack_only=True):
                ctx.reporter.message(f"change pack (before the swap): {path}")

    ctx.before_phase = before_swap
    ctx.reporter.message(
        f"cutover run {ctx.run_id} (loop {ctx.loop_id}): {', '.join(phases)}"
        f"{' in check mode' if ctx.check else ''}; receipts in {rdir}"
    )
    summary = run_cutover(ctx, phases)
    docs = [] if args.no_documents else _write_final_docs(ctx)
    return _finish(
        ctx,
        summary.lines,
        summary.exit_code,
        f"outcome: {summary.outcome}",
        rdir,
        docs,
        headline=summary.headline,
    )


def cmd_plan(args: argparse.Namespace) -> int:
    ctx, rdir = _context(args, check=True)
    summary = run_cutover(ctx, ["baseline", "prep"])
    docs = _write_final_docs(ctx, changepack_only=True)
    return _finish(
        ctx,
        summary.lines,
        summary.exit_code,
        f"plan: {summary.outcome}",
        rdir,
        docs,
        "change pack",
        headline=summary.headline,
    )


def cmd_rollback(args: argparse.Namespace) -> int:
    """Exit 0: rolled back (or nothing to undo) and recert found nothing wrong; 4: the
    rollback failed or refused (e.g. another run's lock), or recert reported drift/leftovers;
    1: interrupted, or recert could not check the host."""
    args.ref = None
    ctx, rdir = _context(args)
    if ctx.stop.requested:  # before anything ran (e.g. while the inventory was read)
        raise KeyboardInterrupt
    lines: list[PhaseLine] = []
    behalf = f" on behalf of run {ctx.lock_run_id}" if ctx.lock_run_id else ""
    ctx.reporter.message(
        f"cutover rollback {ctx.run_id}{behalf}{' (forcing the lock)' if args.force_unlock else ''};"
        f" receipts in {rdir}"
    )
    # On behalf of a dead run (--run-id) only that run's unfinished change is undone: a lock
    # with nothing in progress must never send a good release back to the previous one.
    rb = run_rollback(ctx, standalone=not ctx.lock_run_id, force_unlock=args.force_unlock)
    lines.append(phase_line(rb))
    verdict = rollback_verdict(rb)
    r = rb.result
    if verdict == ROLLED_BACK:
        code = ExitCode.OK
        words = (
            f"rolled back{behalf}"
            + (f" from {r['from']}" if r.get("from") else "")
            + (f" to {r['to']}" if r.get("to") else "")
            + (f" (mode {r['mode']})" if r.get("mode") else "")
        )
    elif verdict == NOTHING_TO_UNDO:
        code, words = ExitCode.OK, f"nothing to roll back{behalf}: the host was left as it was"
    elif verdict == ROLLBACK_CANCELED:
        code = ExitCode.UNEXPECTED
        words = f"rollback interrupted by {ctx.stop.name}: the playbook was stopped; run it again"
    else:
        code = ExitCode.NEEDS_PERSON
        words = f"the rollback FAILED or refused: {rb.message or rb.error}; the host needs a person"
    if ctx.stop.requested:
        lines.append(PhaseLine("recert", "skipped", 0.0, "", f"interrupted by {ctx.stop.name}"))
        return _finish(ctx, lines, ExitCode.UNEXPECTED, "rollback", rdir, headline=words)
    recert = run_phase(ctx, "recert", later=[])
    lines.append(phase_line(recert))
    if recert.canceled:
        code = ExitCode.UNEXPECTED
        words += f"; recert interrupted by {ctx.stop.name}"
    elif not recert.ok:
        findings = recert_findings(recert)
        if findings:
            code = ExitCode.NEEDS_PERSON
            words += f"; recert found {', '.join(findings[:3])}: the host needs a person"
        else:
            code = code if code != ExitCode.OK else ExitCode.UNEXPECTED
            words += f"; recert could not check the host: {recert.message}"
    else:
        words += "; recert: what runs is the declared release"
    return _finish(ctx, lines, code, "rollback", rdir, headline=words)


def _status_health(code: Any, body: Any, contract: Mapping[str, Any] | None) -> str:
    """A service's HEALTH cell: judged by its health contract (the one check the gates use)."""
    if code in (-1, None) and body is None:
        return "unreachable"
    if contract is None:  # no contract known: what it answered
        fields = ",".join(f"{k}={v}" for k, v in body.items()) if isinstance(body, dict) else ""
        return f"{code} {fields}".strip()
    problems = health_contract.check(dict(contract), int(code) if isinstance(code, int) else -1, body)
    if problems:
        return f"{code} FAILING: " + "; ".join(problems)
    shown = health_contract.fields(dict(contract), body)
    words = ",".join(f"{k}={v if isinstance(v, str) else health_contract.show(v)}" for k, v in shown.items())
    return f"{code} ok ({words})"


def render_status(payload: dict[str, Any], contracts: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """Pure: the status payload as text tables; each service's health judged by its contract
    (``contracts``: service name -> the inventory's health contract, health_contract.contract_of)."""

    def rel(x: Any) -> str:
        if not isinstance(x, dict) or not x:
            return "-"
        release = x.get("release") or "?"
        if not x.get("ref") and not x.get("deployed_at"):
            return f"{release} (running before the first cutover; no ref or deploy time recorded)"
        return f"{release} (ref {x.get('ref') or '-'}, deployed {x.get('deployed_at') or '-'})"

    lock = payload.get("lock") or {}
    owner = lock.get("owner") or {}
    lines = [
        f"host:      {payload.get('host', '?')}",
        f"current:   {rel(payload.get('current'))}",
        f"previous:  {rel(payload.get('previous'))}",
        "in flight: "
        + (f"run {payload['in_progress'].get('run_id')}" if payload.get("in_progress") else "no"),
        "lock:      "
        + (
            f"HELD by {owner.get('user', '?')}@{owner.get('controller', '?')} since "
            f"{owner.get('since', '?')} (run {owner.get('run_id', '?')})"
            if lock.get("held")
            else "free"
        ),
        "",
    ]
    head = ("SERVICE", "CONTAINER", "IMAGE", "STATE", "HEALTH")
    rows = []
    current = payload.get("current")
    deployed = current.get("services") if isinstance(current, dict) else None
    deployed = deployed if isinstance(deployed, dict) else {}
    for s in payload.get("services") or []:
        contract = (contracts or {}).get(str(s.get("name")))
        if deployed and s.get("name") not in deployed and s.get("state") == "absent":
            health = "not in the current release"
        else:
            health = _status_health(s.get("health_code"), s.get("health"), contract)
        rows.append(
            (
                str(s.get("name")),
                str(s.get("container") or "-"),
                str(s.get("image") or "-"),
                f"{s.get('state')}{'/' + s['docker_health'] if s.get('docker_health') else ''}",
                health,
            )
        )
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    for row in [head, *rows]:
        lines.append("  ".join(row[i].ljust(widths[i]) for i in range(4)) + "  " + row[4])
    return "\n".join(lines) + "\n"


def cmd_status(args: argparse.Namespace) -> int:
    root = repo_root()
    inv_path = resolve_inventory(root, args.inventory)
    facts = load_inventory(root, inv_path)
    red = _redactor(root, facts)
    quiet = PlainReporter(red, stream=open(os.devnull, "w"))  # noqa: SIM115, PTH123
    ctx = RunContext(
        root=root,
        inventory=facts,
        receipts_dir=root / "receipts",
        redactor=red,
        reporter=quiet,
        run_id=new_run_id(datetime.now(UTC)),
        loop_id="status",
        write_receipts=False,
        stop=_stop(args),
    )
    playbook = str(Path(__file__).parent / "playbooks" / "status.yml")
    if ctx.stop.requested:
        raise KeyboardInterrupt
    run, _ = run_playbook(ctx, "status", playbook, {"cutover_run_id": ctx.run_id}, check=False)
    summary = receipts.summarize_events(run.events, "status")
    if run.runner_status == "canceled":
        print(f"status: interrupted by {run.interrupted}; the playbook was stopped", file=sys.stderr)
        return int(ExitCode.UNEXPECTED)
    if run.rc != 0 or not summary["result"]:
        for ft in summary["failed_tasks"]:
            print(red.text(f"FAILED {ft['host']}: {ft['task']}: {ft['msg']}"), file=sys.stderr)
        print(
            f"status: could not read the host (ansible-runner {run.runner_status}, rc {run.rc})",
            file=sys.stderr,
        )
        return int(ExitCode.UNEXPECTED)
    payload = red.data(summary["result"])
    # A fleet: every host's status (published per host), in inventory order.
    hosts = red.data(summary["hosts"])
    fleet = []
    if len(facts.hosts) > 1 and isinstance(hosts, dict):
        fleet = [hosts[h] for h in facts.hosts if h in hosts]
    if args.json:
        print(json.dumps({"hosts": fleet} if fleet else payload, indent=2, sort_keys=True))
    else:
        contracts = {str(svc["name"]): svc["health"] for svc in facts.services if svc.get("health")}
        pages = [render_status(p, contracts) for p in fleet] if fleet else [render_status(payload, contracts)]
        text = "\n".join(pages)
        print(red.text(text), end="")
    return 0


def _find_receipt(rdir: Path, ident: str) -> str:
    rows = receipts.read_ledger(rdir)
    ids = [r["run_id"] for r in rows] or sorted(p.name for p in rdir.glob("CAP-*") if p.is_dir())
    if ident in ids:
        return ident
    matches = [i for i in ids if ident in i]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise InputError(f"ID: no receipt matching {ident!r} in {rdir}")
    raise InputError(f"ID: {ident!r} matches {len(matches)} receipts; give more of it")


def cmd_receipts(args: argparse.Namespace) -> int:
    root = repo_root()
    rdir = _receipts_dir(root, args.receipts_dir)
    if args.receipts_command == "list":
        rows = receipts.read_ledger(rdir)
        if not rows:
            print(f"no receipts in {rdir}")
            return 0
        for row in rows:
            try:
                doc = receipts.load_receipt(rdir, row["run_id"])
                run_id = str(doc.get("run_id", ""))
            except (OSError, ValueError):
                doc, run_id = {}, "?"
            if args.run_id and run_id != args.run_id:
                continue
            mode = " (check)" if doc.get("check_mode") else ""
            print(
                f"{row['run_id']}  {row['status']:<6}  {row['finished_at']}  run {run_id}{mode}"
                + (f"  {row['error'][:80]}" if row["error"] else "")
            )
        return 0
    if args.receipts_command == "show":
        rid = _find_receipt(rdir, args.id)
        name = "receipt.json" if args.json else "receipt.md"
        print((rdir / rid / name).read_text(encoding="utf-8"), end="")
        return 0
    result = chain.verify(rdir)
    if result.ok:
        print(f"OK: {result.checked} receipts, chain intact; tip {result.tip or '-'} hash {result.tip_hash}")
        return 0
    first = result.problems[0]
    print(f"BROKEN: first problem at {first.receipt}" + (f" ({first.file})" if first.file else ""))
    for problem in result.problems:
        print(f"  {problem}")
    return int(ExitCode.CHAIN_BROKEN)


def cmd_closeout(args: argparse.Namespace) -> int:
    root = repo_root()
    rdir = _receipts_dir(root, args.receipts_dir)
    loop_id = _normalize_loop_id(args.loop_id)
    templates = _templates(args)
    selected = closeout.select_run(receipts.load_all(rdir), loop_id, args.run_id)
    if not selected:
        raise InputError(
            f"--loop-id: no receipts of loop {loop_id!r}"
            f"{' run ' + args.run_id if args.run_id else ''} in {rdir}"
        )
    out = Path(args.out).resolve() if args.out else rdir / "closeout"
    try:
        written = closeout.write_documents(selected, loop_id, out, templates=templates)
    except TemplateProblem as exc:
        raise InputError(f"--templates: {exc}") from exc
    for path in written:
        print(path)
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    root = repo_root()
    target = {"up": "lab", "reset": "lab-reset", "down": "lab-down"}[args.action]
    if (root / "Makefile").exists():
        cmd = ["make", "-C", str(root), target]
    else:
        playbook = {"up": "lab.yml", "reset": "lab_reset.yml", "down": "lab_down.yml"}[args.action]
        cmd = [tool("ansible-playbook"), str(root / "playbooks" / playbook)]
    print("+ " + " ".join(cmd), flush=True)
    from .project import ansible_env

    return subprocess.run(cmd, cwd=root, env=dict(os.environ) | ansible_env(root), check=False).returncode


COMMANDS = {
    "run": cmd_run,
    "plan": cmd_plan,
    "rollback": cmd_rollback,
    "status": cmd_status,
    "receipts": cmd_receipts,
    "closeout": cmd_closeout,
    "lab": cmd_lab,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    # SIGINT/SIGTERM/SIGHUP from here on: the running playbook is stopped too (stop.py).
    stop = args.stop = Stop()
    try:
        with stop.installed():
            return COMMANDS[args.command](args)
    except InputError as exc:
        if stop.requested:  # e.g. ansible-inventory died of the same Ctrl-C
            print(f"cutover: interrupted by {stop.name}", file=sys.stderr)
            return int(ExitCode.UNEXPECTED)
        print(f"cutover: error: {exc}", file=sys.stderr)
        return int(ExitCode.BAD_INPUT)
    except KeyboardInterrupt:
        print(f"cutover: interrupted{' by ' + stop.name if stop.requested else ''}", file=sys.stderr)
        return int(ExitCode.UNEXPECTED)
    except BrokenPipeError:  # `cutover receipts list | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"cutover: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return int(ExitCode.UNEXPECTED)


if __name__ == "__main__":
    sys.exit(main())
