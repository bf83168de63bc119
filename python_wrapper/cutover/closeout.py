"""Closeout documents, rendered from receipts alone: which run of a loop they are about, and
the rendering itself (``view.run_view`` builds the model, Jinja2 templates word it).

* the loop record ``LOOP-<ID>.scope.md`` (``templates/scope.md.j2``), in the shape of the
  seed's loop scope file;
* the change pack ``LOOP-<ID>.changepack.md`` (``templates/changepack.md.j2``) with the SPEC's
  eight headings plus Image Digests and Database Migration.

``--templates DIR`` (``templating.Templates``) replaces any of the templates.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from . import templating
from .templating import Templates
from .view import CHANGING, Receipt, by_phase, changed_host, loop_outcome, passed, run_view

__all__ = [
    "CHANGEPACK_HEADINGS",
    "SCOPE_HEADINGS",
    "changed_host",
    "loop_outcome",
    "render_changepack",
    "render_scope",
    "run_rank",
    "runs_of_loop",
    "select_run",
    "write_documents",
]

CHANGEPACK_HEADINGS = (
    "Change Description",
    "IP Map",
    "Rollback Map",
    "Pre-Cutover Verification Matrix",
    "Cutover Sequence",
    "LAN-Only Devices",
    "Post-Cutover Verification Matrix",
    "Sign-Off",
    "Image Digests",
    "Database Migration",
)
SCOPE_HEADINGS = (
    "Objective",
    "Phases",
    "Done Definition",
    "Baseline Receipts",
    "Closeout",
    "Outcome",
    "Execution Summary",
    "Post-Cutover State",
    "Recert Receipts",
    "Final Commit Hashes",
)


def render_scope(
    receipts: Sequence[Receipt], loop_id: str, templates: Templates = templating.PACKAGED
) -> str:
    return templates.render(templating.SCOPE, run=run_view(receipts, loop_id))


def render_changepack(
    receipts: Sequence[Receipt], loop_id: str, templates: Templates = templating.PACKAGED
) -> str:
    return templates.render(templating.CHANGEPACK, run=run_view(receipts, loop_id))


# ---- selection and writing (edges) --------------------------------------------------


def runs_of_loop(receipts: Sequence[Receipt], loop_id: str) -> dict[str, list[Receipt]]:
    """The loop's runs, each with its receipts, ordered by where each run's last receipt is in
    the ledger (the latest run last)."""
    runs: dict[str, list[Receipt]] = {}
    for r in receipts:
        if r.get("loop_id") == loop_id:
            run = str(r.get("run_id"))
            runs[run] = [*runs.pop(run, []), r]  # re-insert: ordered by the run's last receipt
    return runs


def run_rank(run: Sequence[Receipt]) -> int:
    """Which run of a loop the documents are about: 2 a run that (may have) changed the host,
    1 a run that got past prep without attempting a change (a plan, `--phase baseline --phase
    prep`), 0 a run that stopped in baseline/prep, could not reach the host, or failed to take
    the lock before changing anything."""
    if changed_host(run):
        return 2
    real = by_phase([r for r in run if not r.get("check_mode")])
    if passed(by_phase(run).get("prep")) and not any(p in real for p in (*CHANGING, "rollback")):
        return 1
    return 0


def select_run(receipts: Sequence[Receipt], loop_id: str, run_id: str | None = None) -> list[Receipt]:
    """The receipts of one run of the loop: the given run id, else the loop's latest run with
    the highest ``run_rank`` (so a run that changed nothing never displaces one that did)."""
    if run_id:
        return [r for r in receipts if r.get("run_id") == run_id]
    runs = runs_of_loop(receipts, loop_id)
    if not runs:
        return []
    best = max(run_rank(run) for run in runs.values())
    return [run for run in runs.values() if run_rank(run) == best][-1]


def write_documents(
    receipts: Sequence[Receipt],
    loop_id: str,
    out_dir: Path,
    changepack_only: bool = False,
    templates: Templates = templating.PACKAGED,
) -> list[Path]:
    """Render first, then write: a template that fails leaves no half-written document."""
    documents = {f"{loop_id}.changepack.md": render_changepack(receipts, loop_id, templates)}
    if not changepack_only:
        documents = {f"{loop_id}.scope.md": render_scope(receipts, loop_id, templates), **documents}
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in documents.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
