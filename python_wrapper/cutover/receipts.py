"""Receipts: one folder per phase run, a ledger row each, rendered by pure functions.

Layout (see SPEC "Receipts")::

    receipts/
      ledger.csv                  one row per receipt, in the order they were written
      <id>/receipt.md             human-readable table
      <id>/output.txt             the phase's full stdout (redacted)
      <id>/events.jsonl           ansible-runner's events (redacted), one JSON object a line
      <id>/receipt.json           everything above plus stats, failures and the phase result

Rendering (``render_receipt_md`` through ``templates/receipt.md.j2``, ``render_ledger_row``,
``build_receipt``) is pure: data in, text out. Only ``write_receipt`` and ``append_ledger``
touch the file system.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import secrets
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import chain, stream, templating
from .templating import Templates

RECEIPT_ID_RE = re.compile(r"^CAP-[0-9]{8}-[0-9]{6}__cutover\.[a-z]+__R[a-z0-9]+$")
LEDGER_HEADER = chain.LEDGER_HEADER
LEDGER_NAME = "ledger.csv"
SCHEMA = "cutover.receipt/1"
_ALPHABET = string.ascii_lowercase + string.digits


def new_receipt_id(phase: str, now: datetime, suffix: str | None = None) -> str:
    """``CAP-<UTC YYYYMMDD-HHMMSS>__cutover.<phase>__R<10 lowercase alnum>``."""
    if not re.fullmatch(r"[a-z]+", phase):
        raise ValueError(f"phase: expected lowercase letters only, got {phase!r}")
    if suffix is None:
        suffix = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    stamp = now.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    receipt_id = f"CAP-{stamp}__cutover.{phase}__R{suffix}"
    if not RECEIPT_ID_RE.match(receipt_id):
        raise ValueError(f"receipt id {receipt_id!r} does not match {RECEIPT_ID_RE.pattern}")
    return receipt_id


def iso(ts: datetime) -> str:
    """UTC ISO 8601 with a Z, to the second."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class PhaseRun:
    """What one phase run produced, before it becomes a receipt (already redacted)."""

    phase: str
    run_id: str
    started: datetime
    finished: datetime
    rc: int
    runner_status: str
    stdout: str
    events: list[dict[str, Any]]
    command: str
    cwd: str
    args: dict[str, Any]
    check_mode: bool = False
    playbook: str = ""
    context: str = ""
    loop_id: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    interrupted: str = ""  # the signal that stopped the wrapper (runner_status "canceled")
    # A fleet: the run's rollout plan as its start play published it (set_stats cutover_rollout,
    # stream.rollout); None for one host
    rollout: dict[str, Any] | None = None


def summarize_events(events: Iterable[Mapping[str, Any]], phase: str) -> dict[str, Any]:
    """Per-host stats, failed tasks and the phase's set_stats payload from runner events.

    A playbook of its own ends with ``playbook_on_stats``; a phase cut from the whole run's
    stream (stream.py) has none: its stats are counted from its own events and its payload
    is what its set_stats tasks published."""
    events = list(events)
    stats: dict[str, dict[str, int]] = {}
    failed: list[dict[str, Any]] = []
    artifact: dict[str, Any] = {}
    tasks = 0
    for ev in events:
        kind = ev.get("event")
        data = ev.get("event_data") or {}
        if kind == "playbook_on_task_start":
            tasks += 1
        elif kind in ("runner_on_failed", "runner_on_unreachable"):
            if kind == "runner_on_failed" and data.get("ignore_errors"):
                continue
            res = data.get("res") or {}
            msg = res.get("msg") or res.get("stderr") or res.get("reason") or ""
            if not isinstance(msg, str):
                msg = json.dumps(msg, sort_keys=True)
            failed.append(
                {
                    "host": data.get("host", ""),
                    "task": data.get("task", ""),
                    "action": data.get("resolved_action") or data.get("task_action", ""),
                    "unreachable": kind == "runner_on_unreachable",
                    "msg": msg.strip(),
                }
            )
        elif kind == "playbook_on_stats":
            for key in ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored"):
                for host, count in (data.get(key) or {}).items():
                    stats.setdefault(host, {})[key] = int(count)
            artifact = dict(data.get("artifact_data") or {})
    if not any(ev.get("event") == "playbook_on_stats" for ev in events):
        stats, artifact = stream.host_stats(events), stream.payload(events)
    for host_stats in stats.values():
        for key in ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored"):
            host_stats.setdefault(key, 0)
    result = artifact.get(f"cutover_{phase}", {})
    return {
        "stats": stats,
        "failed_tasks": failed,
        "result": result if isinstance(result, dict) else {"value": result},
        "tasks": tasks,
        # validation refused the inventory (before anything on a host was touched)
        "invalid": (artifact.get("cutover_validate") or {}).get("ok") is False,
        # A fleet: each host's own result of this phase (published per host; absent for one host).
        "hosts": _host_results(artifact.get("cutover_fleet"), phase),
    }


def _host_results(published: Any, phase: str) -> dict[str, Any]:
    """``{host: {phase: result}}`` as a fleet's hosts publish it -> ``{host: result}`` of one phase."""
    if not isinstance(published, dict):
        return {}
    return {
        str(host): by_phase[phase]
        for host, by_phase in published.items()
        if isinstance(by_phase, dict) and isinstance(by_phase.get(phase), dict)
    }


def extract_highlights(phase: str, result: Mapping[str, Any]) -> dict[str, Any]:
    """The figures the SPEC asks receipt.json to carry at top level, lifted from the payload."""
    out: dict[str, Any] = {}
    if "gates" in result:
        out["gates"] = result["gates"]
    if "smoke" in result:
        out["smoke"] = result["smoke"]
    if "images" in result:
        out["images"] = result["images"]
    if "downtime" in result:
        out["downtime"] = result["downtime"]
    commits = {k: result[k] for k in ("ref", "commit", "release") if result.get(k)}
    if commits:
        out["commits"] = commits
    if phase == "migrate":
        out["migrations"] = {k: result.get(k) for k in ("backup", "pending", "applied", "already")}
    return out


def build_receipt(
    run: PhaseRun,
    receipt_id: str,
    generated: datetime,
    prev_receipt: str | None,
    prev_hash: str,
) -> dict[str, Any]:
    """The receipt.json document without its file digests and hash (added by ``finalize``).

    ``status``: done | failed | canceled (the wrapper was interrupted and stopped the playbook)."""
    summary = summarize_events(run.events, run.phase)
    status = "done" if run.rc == 0 and run.runner_status == "successful" else "failed"
    error = ""
    if run.runner_status == "canceled":
        status = "canceled"
        error = (
            f"canceled: the wrapper was interrupted by {run.interrupted or 'a signal'} and stopped "
            "the playbook before it finished"
        )
    elif status == "failed":
        if summary["failed_tasks"]:
            first = summary["failed_tasks"][0]
            error = f"{first['task']} on {first['host']}: {first['msg']}"
        else:
            error = f"ansible-runner status {run.runner_status}, rc {run.rc}"
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "id": receipt_id,
        "capability": f"cutover.{run.phase}",
        "phase": run.phase,
        "run_id": run.run_id,
        "loop_id": run.loop_id,
        "status": status,
        "exit_code": run.rc,
        "runner_status": run.runner_status,
        "check_mode": run.check_mode,
        "generated": iso(generated),
        "context": run.context,
        "inputs": {"command": run.command, "cwd": run.cwd, "args": run.args, "playbook": run.playbook},
        "timestamps": {
            "start": iso(run.started),
            "end": iso(run.finished),
            "duration_s": round((run.finished - run.started).total_seconds(), 3),
        },
        "outputs": {"output.txt": {"sha256": sha256_text(run.stdout), "bytes": len(run.stdout.encode())}},
        "error": error,
        "stats": summary["stats"],
        "failed_tasks": summary["failed_tasks"],
        "tasks": summary["tasks"],
        "result": summary["result"],
        **({"hosts": summary["hosts"]} if summary["hosts"] else {}),
        **({"rollout": run.rollout} if run.rollout else {}),
        **extract_highlights(run.phase, summary["result"]),
        "meta": run.meta,
        "prev_receipt": prev_receipt,
        "prev_hash": prev_hash,
    }
    return doc


def sample_receipt() -> dict[str, Any]:
    """A receipt document with every field receipt.md shows, a failed task too: to check a
    template with before anything runs."""
    when = datetime(2026, 1, 1, tzinfo=UTC)
    failed = {"host": "docker-host", "task": "Sample task", "res": {"msg": "sample message"}}
    run = PhaseRun(
        phase="verify",
        run_id="sample",
        started=when,
        finished=when,
        rc=2,
        runner_status="failed",
        stdout="",
        events=[{"event": "runner_on_failed", "event_data": failed}],
        command="ansible-playbook playbooks/verify.yml",
        cwd="/",
        args={"cutover_run_id": "sample"},
    )
    return build_receipt(run, new_receipt_id("verify", when, "sample0000"), when, None, chain.GENESIS)


def render_receipt_md(doc: Mapping[str, Any], templates: Templates = templating.PACKAGED) -> str:
    """receipt.md (``templates/receipt.md.j2``): the SPEC's table (Run ID, Capability, Status,
    Exit Code, Generated, Context), Inputs, Outputs with output.txt's SHA-256, Timestamps, and
    the failures if any."""
    return templates.render(templating.RECEIPT, receipt=doc)


def render_events_jsonl(events: Sequence[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(ev, sort_keys=True, default=str) + "\n" for ev in events)


def render_receipt_json(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n"


def finalize(
    doc: dict[str, Any], stdout: str, events_text: str, templates: Templates = templating.PACKAGED
) -> tuple[dict[str, Any], dict[str, str]]:
    """Render the files, record their digests and the receipt hash. Returns (doc, files)."""
    receipt_md = render_receipt_md(doc, templates)
    files = {"output.txt": stdout, "events.jsonl": events_text, "receipt.md": receipt_md}
    doc["files"] = {name: sha256_text(text) for name, text in files.items()}
    doc.pop("hash", None)
    doc["hash"] = chain.receipt_hash(doc["files"], doc)
    files["receipt.json"] = render_receipt_json(doc)
    return doc, files


def render_ledger_row(doc: Mapping[str, Any]) -> dict[str, str]:
    # context_used: the run id the playbook acted as (`cutover rollback --run-id RUN`: RUN's)
    acted_as = (doc["inputs"].get("args") or {}).get("cutover_run_id", doc["run_id"])
    return {
        "run_id": doc["id"],
        "created_at": doc["generated"],
        "started_at": doc["timestamps"]["start"],
        "finished_at": doc["timestamps"]["end"],
        "status": doc["status"],
        "prompt_file": doc["inputs"].get("playbook", ""),
        "result_file": f"{doc['id']}/receipt.md",
        "error": doc.get("error", "")[:500],
        "context_used": f"cutover_run_id={acted_as}",
    }


def render_ledger_line(row: Mapping[str, str], header: bool) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=LEDGER_HEADER, lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerow(dict(row))
    return buf.getvalue()


# ---- file system edges ----------------------------------------------------------------


def read_ledger(receipts_dir: Path) -> list[dict[str, str]]:
    path = receipts_dir / LEDGER_NAME
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or tuple(reader.fieldnames) != LEDGER_HEADER:
            raise ValueError(f"{path}: header must be {','.join(LEDGER_HEADER)}")
        return list(reader)


def append_ledger(receipts_dir: Path, doc: Mapping[str, Any]) -> None:
    path = receipts_dir / LEDGER_NAME
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.write(render_ledger_line(render_ledger_row(doc), header=new))


def chain_tip(receipts_dir: Path) -> tuple[str | None, str]:
    """(id, hash) of the last receipt in the ledger, or (None, GENESIS)."""
    rows = read_ledger(receipts_dir)
    if not rows:
        return None, chain.GENESIS
    last = rows[-1]["run_id"]
    doc = load_receipt(receipts_dir, last)
    return last, str(doc.get("hash", ""))


def load_receipt(receipts_dir: Path, receipt_id: str) -> dict[str, Any]:
    path = receipts_dir / receipt_id / "receipt.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def write_receipt(
    receipts_dir: Path,
    run: PhaseRun,
    now: datetime | None = None,
    receipt_id: str | None = None,
    templates: Templates = templating.PACKAGED,
) -> dict[str, Any]:
    """Write a receipt for ``run`` (chained to the ledger's last one) and its ledger row.
    Everything is rendered before anything is written: a template that fails writes nothing."""
    now = now or datetime.now(UTC)
    receipts_dir.mkdir(parents=True, exist_ok=True)
    prev_id, prev_hash = chain_tip(receipts_dir)
    if receipt_id is None:
        receipt_id = new_receipt_id(run.phase, run.started)
        while (receipts_dir / receipt_id).exists():
            receipt_id = new_receipt_id(run.phase, run.started)
    elif not RECEIPT_ID_RE.match(receipt_id) or (receipts_dir / receipt_id).exists():
        raise ValueError(f"receipt id {receipt_id!r}: malformed or already used")
    doc = build_receipt(run, receipt_id, now, prev_id, prev_hash)
    doc, files = finalize(doc, run.stdout, render_events_jsonl(run.events), templates)
    folder = receipts_dir / receipt_id
    folder.mkdir(mode=0o750)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    append_ledger(receipts_dir, doc)
    return doc


def load_all(receipts_dir: Path) -> list[dict[str, Any]]:
    """Every receipt in ledger order (missing folders skipped)."""
    out = []
    for row in read_ledger(receipts_dir):
        try:
            out.append(load_receipt(receipts_dir, row["run_id"]))
        except (OSError, ValueError):
            continue
    return out
