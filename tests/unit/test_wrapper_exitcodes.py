"""`cutover run`'s exit codes and words, from recorded runs replayed through run_cutover (no
Ansible): what a failure, the rollback after it and recert mean for the exit code."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from cutover import closeout, receipts
from cutover.exitcodes import EXIT_CODES_HELP, ExitCode
from cutover.project import PHASES, InventoryFacts
from cutover.redact import Redactor
from cutover.runner import RunContext, RunSummary, default_loop_id, run_cutover
from wrapper_replay import load_replay

PROJECT = Path(__file__).resolve().parents[1] / "fixtures" / "wrapper" / "project"
LOCK_MSG = (
    "deploy lock held by alice@controller-2 since 2026-02-12T01:10:00Z (run 20260212T011000Z-other1, "
    "ref release-new, age 5m); stale? inspect and remove /opt/cutover/mint/lock by hand"
)




def _ctx(tmp_path: Path, runner: Any, run_id: str = "20260212T011535Z-fixtur") -> RunContext:
    return RunContext(
        root=PROJECT,
        inventory=InventoryFacts(path=PROJECT / "inventory" / "hosts.yml", project="mint"),
        receipts_dir=tmp_path,
        redactor=Redactor(["Fx-minio-secret-93be1f"]),
        reporter=load_replay().QuietReporter(),  # type: ignore[arg-type]
        run_id=run_id,
        loop_id="LOOP-MINT-CUTOVER-20260212-011535",
        runner_fn=runner,
    )


def _run(tmp_path: Path, phases: Sequence[str] = PHASES, **replay: Any) -> tuple[RunSummary, Any]:
    runner = load_replay().ReplayRunner(**replay)
    return run_cutover(_ctx(tmp_path, runner), list(phases)), runner


def test_a_good_run_exits_0(tmp_path: Path) -> None:
    summary, runner = _run(tmp_path)
    assert (summary.exit_code, summary.outcome) == (ExitCode.OK, "succeeded")
    assert runner.phases() == list(PHASES)
    assert summary.headline.startswith("cutover succeeded")


def test_the_rollback_after_a_failure_undoes_only_this_run(tmp_path: Path) -> None:
    summary, runner = _run(
        tmp_path,
        scenario="broken",
        results={"rollback": {"mode": "in_progress", "outcome": "rolled_back", "to": "5f1c2aa"}},
    )
    assert summary.exit_code == ExitCode.ROLLED_BACK == 3
    # one playbook run: its own rollback play, then recert and closeout
    assert runner.phases() == [*PHASES[:6], "rollback", "recert", "closeout"]
    assert [c["ident"] for c in runner.calls] == ["cutover"]
    assert runner.extravars("cutover")["cutover_run_id"] == "20260212T011535Z-fixtur"
    assert summary.headline == (
        "verify failed: files-api never became healthy: minio=error (bucket env key missing); "
        "this run's change was rolled back and the previous release 5f1c2aa serves again"
    )


def test_a_rollback_run_alone_after_the_host_left_the_run_gets_a_redacted_reason(tmp_path: Path) -> None:
    _, runner = _run(
        tmp_path,
        fail={"swap": "new container unhealthy (MINIO_SECRET_KEY=Fx-minio-secret-93be1f)\nmore lines"},
        results={"rollback": {"mode": "in_progress", "outcome": "rolled_back"}},
        leave=("swap",),
    )
    assert [c["ident"] for c in runner.calls] == ["cutover", "rollback"]
    args = runner.extravars("rollback")
    assert args["cutover_rollback_standalone"] is False
    assert args["cutover_rollback_reason"] == "swap failed: new container unhealthy (MINIO_SECRET_KEY=***)"


def test_a_lock_held_by_another_run_at_build_changed_nothing_and_exits_2(tmp_path: Path) -> None:
    summary, runner = _run(
        tmp_path,
        fail={"build": LOCK_MSG},
        results={"build": None, "rollback": {"mode": "none", "outcome": "nothing_to_undo"}},
        leave=("build",),  # the lock is taken outside the phase's block: the host leaves the run
    )
    assert summary.exit_code == ExitCode.BAD_INPUT == 2
    assert summary.outcome == "aborted"
    # recert would look at a host another run is changing right now: it does not run
    assert runner.phases() == ["baseline", "prep", "build", "rollback"]
    assert summary.headline == f"build failed: {LOCK_MSG}; nothing on the host was changed by this run"
    docs = receipts.load_all(tmp_path)
    assert closeout.loop_outcome(docs) == "aborted"
    assert closeout.run_rank(docs) == 0


def test_a_bad_ref_at_build_is_exit_2(tmp_path: Path) -> None:
    summary, _ = _run(
        tmp_path,
        phases=["build"],
        fail={"build": "cutover_ref no-such-tag: not a tag, branch or commit of the workload repo"},
        results={"build": None, "rollback": {"mode": "none", "outcome": "nothing_to_undo"}},
    )
    assert summary.exit_code == 2
    assert "nothing on the host was changed by this run" in summary.headline


def test_nothing_to_undo_after_a_completed_changing_phase_is_not_exit_2(tmp_path: Path) -> None:
    summary, _ = _run(
        tmp_path,
        fail={"swap": "new container unhealthy"},
        results={"rollback": {"mode": "none", "outcome": "nothing_to_undo"}},
    )
    assert summary.exit_code == ExitCode.ROLLED_BACK
    assert "the rollback found nothing of this run to undo" in summary.headline


@pytest.mark.parametrize(
    ("rollback", "why"),
    [
        ({"outcome": "failed", "error": "restore files-api: container missing"}, "outcome failed"),
        (None, "no outcome published"),
        ({"mode": "in_progress"}, "no outcome in the payload"),
    ],
)
def test_a_rollback_that_failed_or_said_nothing_needs_a_person(
    tmp_path: Path, rollback: dict[str, Any] | None, why: str
) -> None:
    summary, _ = _run(tmp_path, scenario="broken", results={"rollback": rollback})
    assert summary.exit_code == ExitCode.NEEDS_PERSON == 4, why
    assert summary.outcome == "rollback_failed"
    assert "the rollback FAILED" in summary.headline and "the host needs a person" in summary.headline


def test_a_failed_rollback_playbook_needs_a_person(tmp_path: Path) -> None:
    summary, _ = _run(tmp_path, scenario="broken", fail={"rollback": "ROLLBACK FAILED at 'restore'"})
    assert summary.exit_code == 4
    assert "ROLLBACK FAILED at 'restore'" in summary.headline


def test_recert_drift_after_a_good_cutover_needs_a_person(tmp_path: Path) -> None:
    summary, _ = _run(
        tmp_path,
        fail={"recert": "DRIFT"},
        results={"recert": {"release": "0ce4de6", "ok": False, "drift": ["files-api: runs 5f1c2aa"], "leftovers": []}},
    )
    assert (summary.exit_code, summary.outcome) == (4, "drift")
    assert summary.headline == "recert found drift: files-api: runs 5f1c2aa; the host needs a person"


def test_recert_that_could_not_check_after_a_good_cutover_is_unexpected(tmp_path: Path) -> None:
    summary, _ = _run(tmp_path, fail={"recert": "UNREACHABLE: ssh timed out"}, results={"recert": None})
    assert (summary.exit_code, summary.outcome) == (1, "failed")
    assert summary.headline == "recert could not check the host: UNREACHABLE: ssh timed out"


def test_after_a_rollback_recert_keeps_3_unless_it_reports_drift(tmp_path: Path) -> None:
    rolled = {"mode": "in_progress", "outcome": "rolled_back"}
    summary, _ = _run(
        tmp_path / "a",
        scenario="broken",
        fail={"recert": "UNREACHABLE"},
        results={"rollback": rolled, "recert": None},
    )
    assert summary.exit_code == 3
    assert summary.headline.endswith("; recert could not check the host (UNREACHABLE)")
    summary, _ = _run(
        tmp_path / "b",
        scenario="broken",
        fail={"recert": "DRIFT"},
        results={"rollback": rolled, "recert": {"drift": [], "leftovers": ["mint-artwork running"]}},
    )
    assert (summary.exit_code, summary.outcome) == (4, "drift")
    assert "then recert found leftover: mint-artwork running: the host needs a person" in summary.headline


def test_baseline_or_prep_failure_exits_2(tmp_path: Path) -> None:
    summary, runner = _run(tmp_path, fail={"prep": "gate typecheck failed for artwork"})
    assert (summary.exit_code, runner.phases()) == (2, ["baseline", "prep"])
    assert summary.headline == (
        "prep failed: gate typecheck failed for artwork; nothing on the host was changed by this run"
    )


def test_an_interrupted_phase_is_canceled_and_nothing_runs_after_it(tmp_path: Path) -> None:
    holder: dict[str, RunContext] = {}
    runner = load_replay().ReplayRunner(
        interrupt={"swap": lambda: holder["ctx"].stop.request(signal.SIGTERM)}
    )
    ctx = holder["ctx"] = _ctx(tmp_path, runner)
    summary = run_cutover(ctx, list(PHASES))
    assert (summary.exit_code, summary.outcome) == (ExitCode.UNEXPECTED, "interrupted")
    assert runner.phases() == ["baseline", "prep", "build", "migrate", "swap"]  # no rollback either
    assert [ln.status for ln in summary.lines][4:] == ["canceled", "skipped", "skipped", "skipped"]
    assert summary.headline == (
        "interrupted by SIGTERM during swap: the playbook was stopped; the host may hold an unfinished "
        "change of run 20260212T011535Z-fixtur (and its deploy lock): "
        "`cutover rollback --run-id 20260212T011535Z-fixtur` undoes it"
    )
    swap = receipts.load_all(tmp_path)[-1]
    assert (swap["phase"], swap["status"], swap["exit_code"]) == ("swap", "canceled", 143)
    assert swap["error"].startswith("canceled: the wrapper was interrupted by SIGTERM")
    assert closeout.loop_outcome(receipts.load_all(tmp_path)) == "interrupted"


def test_an_interrupt_in_prep_says_nothing_changed(tmp_path: Path) -> None:
    holder: dict[str, RunContext] = {}
    runner = load_replay().ReplayRunner(interrupt={"prep": lambda: holder["ctx"].stop.request(signal.SIGINT)})
    ctx = holder["ctx"] = _ctx(tmp_path, runner)
    summary = run_cutover(ctx, list(PHASES))
    assert summary.exit_code == 1
    assert summary.headline == (
        "interrupted by SIGINT during prep: the playbook was stopped; nothing on the host was changed by this run"
    )


def test_default_loop_id_is_per_run_in_the_seed_shape() -> None:
    from datetime import UTC, datetime

    loop = default_loop_id("mint", datetime(2026, 2, 12, 1, 15, 35, tzinfo=UTC))
    assert loop == "LOOP-MINT-CUTOVER-20260212-011535"
    assert loop != default_loop_id("mint", datetime(2026, 2, 12, 1, 15, 36, tzinfo=UTC))


def test_exit_code_help_names_every_code() -> None:
    for code in ExitCode:
        assert f"\n  {int(code)}  " in EXIT_CODES_HELP, code
    assert int(ExitCode.CHAIN_BROKEN) == 5


def _second_run(
    replay: Any, folder: Path, run_id: str, phases: int, base: int, **change: Any
) -> list[dict[str, Any]]:
    docs = []
    for i, run in enumerate(replay.load_runs("good")[:phases]):
        run.run_id = run_id
        for key, value in change.get(run.phase, {}).items():
            setattr(run, key, value)
        docs.append(receipts.write_receipt(folder, run, now=run.finished, receipt_id=replay.receipt_id(base + i, run)))
    return docs


def test_the_loops_documents_are_about_its_latest_run_that_changed_the_host(tmp_path: Path) -> None:
    replay = load_replay()
    replay.write_scenario("good", tmp_path)
    loop = replay.LOOP_ID
    # a later run of the same loop that stopped in prep, then a plan (check mode)
    _second_run(replay, tmp_path, "R-aborted", 2, 200, prep={"rc": 2, "runner_status": "failed"})
    _second_run(replay, tmp_path, "R-plan", 2, 300, baseline={"check_mode": True}, prep={"check_mode": True})
    everything = receipts.load_all(tmp_path)
    runs = closeout.runs_of_loop(everything, loop)
    assert list(runs) == [replay.RUN_ID, "R-aborted", "R-plan"]
    assert [closeout.run_rank(r) for r in runs.values()] == [2, 0, 1]
    assert {r["run_id"] for r in closeout.select_run(everything, loop)} == {replay.RUN_ID}
    without_good = [r for r in everything if r["run_id"] != replay.RUN_ID]
    assert {r["run_id"] for r in closeout.select_run(without_good, loop)} == {"R-plan"}
    only_aborted = [r for r in everything if r["run_id"] == "R-aborted"]
    assert {r["run_id"] for r in closeout.select_run(only_aborted, loop)} == {"R-aborted"}
    assert closeout.select_run(everything, loop, run_id="R-aborted") == only_aborted


def test_ssh_refusals_are_named_plainly() -> None:
    from cutover.runner import failure_message

    banner = (
        'Data could not be sent to remote host "10.0.0.2". Make sure this host can be reached over ssh: '
        "@@@@@@@@@@@@@@@@@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
    )
    assert failure_message(banner).startswith("SSH refused: the host key does not match known_hosts")
    assert failure_message("ssh: connect to host 127.0.0.1 port 1: Connection refused") == (
        "SSH connection refused (nothing listens on the address and port)"
    )
    assert failure_message("first line\nsecond") == "first line"
