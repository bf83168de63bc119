"""Unit tests of the rollback's decision and the lock refusal's wording (cutover_state.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "roles/cutover_common/filter_plugins/cutover_state.py"
_spec = importlib.util.spec_from_file_location("cutover_state", PLUGIN)
assert _spec and _spec.loader
state_filters = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(state_filters)

GOOD: dict[str, Any] = {
    "current": {"release": "fb44949"},
    "previous": {"release": "c13e698"},
    "in_progress": None,
}
HALF: dict[str, Any] = GOOD | {
    "in_progress": {
        "run_id": "RUN-A",
        "target": "deadbee",
        "swapped": {
            "files-api": {"kept_container": "files-api--fb44949", "new": False},
            "order-intake": {"kept_container": None, "new": True},
        },
    }
}


@pytest.mark.parametrize(
    ("state", "run_id", "standalone", "mode"),
    [
        # after a failed phase: only this run's change, never a good release
        (GOOD, "RUN-B", False, "none"),
        (HALF, "RUN-B", False, "none"),
        (HALF, "RUN-A", False, "in_progress"),
        ({}, "RUN-A", False, "none"),
        # the operator's request: an unfinished change first, else back to previous
        (HALF, "RUN-B", True, "in_progress"),
        (GOOD, "RUN-B", True, "exchange"),
        ({}, "RUN-B", True, "exchange"),
    ],
)
def test_rollback_mode(state: dict[str, Any], run_id: str, standalone: bool, mode: str) -> None:
    assert state_filters.cutover_rollback_mode(state, run_id, standalone) == mode


LOCK = {
    "held": True,
    "owner": {"run_id": "RUN-A", "user": "ops", "controller": "ctl", "since": "2026-11-30T06:00:00Z", "ref": "v2"},
    "age_human": "0h12m",
    "stale": False,
}


def test_refusal_names_the_half_done_change_and_the_recovery_command() -> None:
    msg = state_filters.cutover_lock_refusal(LOCK, HALF, "cutover")
    assert msg.startswith("cutover refused: deploy lock held by ops@ctl since 2026-11-30T06:00:00Z (run RUN-A")
    assert "half-swapped" in msg
    assert "files-api (previous kept as files-api--fb44949)" in msg
    assert "order-intake (new in this release)" in msg
    assert "cutover rollback --run-id RUN-A" in msg


def test_refusal_without_a_change_in_progress_still_gives_the_command() -> None:
    msg = state_filters.cutover_lock_refusal(LOCK | {"stale": True}, GOOD, "rollback")
    assert "- STALE" in msg
    assert "records no change of run RUN-A in progress" in msg
    assert "cutover rollback --run-id RUN-A" in msg


def test_refusal_tolerates_a_lock_without_owner_record() -> None:
    msg = state_filters.cutover_lock_refusal({"held": True, "owner": None}, {})
    assert "run ?" in msg


def test_refusal_names_the_lock_path_and_says_nothing_of_an_unread_state() -> None:
    msg = state_filters.cutover_lock_refusal(LOCK | {"path": "/opt/cutover/mint/lock"}, None, "build")
    assert msg.startswith("build refused: deploy lock held by ops@ctl")
    assert "at /opt/cutover/mint/lock." in msg
    assert "state.json" not in msg and "cutover rollback --run-id RUN-A" in msg


ORDER = ["baseline", "prep", "build", "migrate", "swap", "verify", "recert", "closeout"]
CHANGING = ["build", "migrate", "swap", "verify"]


def whole_run(phases: list[str] | None = None, failed: str | None = None) -> dict[str, Any]:
    return {"phases": phases or ORDER, "failure": {"phase": failed, "task": "t", "reason": "r"} if failed else None}


def test_a_whole_run_runs_every_chosen_phase_until_a_failure() -> None:
    runs = state_filters.cutover_phase_runs

    assert [p for p in ORDER if runs(p, whole_run(), ORDER, CHANGING)] == ORDER
    assert [p for p in ORDER if runs(p, whole_run(["build", "verify"]), ORDER, CHANGING)] == ["build", "verify"]


def test_after_a_failed_change_only_recert_and_closeout_run_and_the_rollback_is_due() -> None:
    run = whole_run(failed="swap")

    assert [p for p in ORDER if state_filters.cutover_phase_runs(p, run, ORDER, CHANGING)] == ["recert", "closeout"]
    assert state_filters.cutover_rollback_due(run, CHANGING, True)
    assert not state_filters.cutover_rollback_due(run, CHANGING, False)


def test_a_failure_before_any_change_ends_the_run_without_a_rollback() -> None:
    run = whole_run(failed="prep")

    assert [p for p in ORDER if state_filters.cutover_phase_runs(p, run, ORDER, CHANGING)] == []
    assert not state_filters.cutover_rollback_due(run, CHANGING, True)


def test_a_failed_recert_still_lets_closeout_report() -> None:
    run = whole_run(failed="recert")

    assert [p for p in ORDER if state_filters.cutover_phase_runs(p, run, ORDER, CHANGING)] == ["closeout"]
    assert not state_filters.cutover_rollback_due(run, CHANGING, True)


def test_the_next_phase_is_the_next_one_this_run_runs() -> None:
    nxt = state_filters.cutover_next_phase

    assert [nxt(p, whole_run(), ORDER, CHANGING) for p in ORDER] == [*ORDER[1:], ""]
    assert nxt("verify", whole_run(["verify", "closeout"]), ORDER, CHANGING) == "closeout"
    assert nxt("recert", whole_run(failed="swap"), ORDER, CHANGING) == "closeout"  # after the rollback
    assert nxt("swap", None, ORDER, CHANGING) == "", "a phase run alone has no next phase"
    assert nxt("rollback", whole_run(), ORDER, CHANGING) == ""


def test_the_lock_is_kept_only_for_a_later_chosen_change() -> None:
    keeps = state_filters.cutover_changes_after

    assert [p for p in CHANGING if keeps(p, whole_run(), ORDER, CHANGING)] == ["build", "migrate", "swap"]
    assert not keeps("build", whole_run(["build"]), ORDER, CHANGING)
    assert keeps("build", whole_run(["build", "swap"]), ORDER, CHANGING)
    assert not keeps("swap", None, ORDER, CHANGING), "a phase run alone releases the lock"


def test_the_lock_belongs_to_changing_phases_for_real() -> None:
    takes = state_filters.cutover_takes_lock

    assert takes("swap", CHANGING, False) and not takes("swap", CHANGING, True)
    assert not takes("prep", CHANGING, False) and not takes("verify", CHANGING, False, True)


def test_the_rollback_note_of_a_failed_phase() -> None:
    note = state_filters.cutover_rollback_note

    assert note("prep", CHANGING, True, None) == ""
    assert note("swap", CHANGING, True, {"outcome": "rolled_back"}) == " (rolled back to the previous release)"
    assert "nothing of this run to undo" in note("build", CHANGING, True, {"outcome": "nothing_to_undo"})
    assert "automatic rollback is off" in note("build", CHANGING, False, None)


def test_verify_commits_the_image_ids_this_runs_build_read_and_asks_the_host_otherwise() -> None:
    built = [
        {"service": "files-api", "image": "mint/artwork:85cdf97", "image_id": "sha256:aa", "built": True},
        {"service": "quote-page", "image": "mint/quote:85cdf97", "image_id": "sha256:bb", "built": False},
    ]
    known = state_filters.cutover_images_known(built, ["mint/artwork:85cdf97", "mint/quote:85cdf97"])
    assert known == [{"RepoTags": ["mint/artwork:85cdf97"], "Id": "sha256:aa"},
                     {"RepoTags": ["mint/quote:85cdf97"], "Id": "sha256:bb"}]  # fmt: skip
    # the committed state reads them as it reads docker_image_info's images
    committed = state_filters.cutover_state_committed(
        {"current": None, "in_progress": {"target": "85cdf97", "swapped": {}}},
        [{"name": "files-api", "image": "mint/artwork"}], known, {"run_id": "R", "project": "p", "ref": "x", "at": "t"},
    )
    assert committed["current"]["services"]["files-api"]["image_id"] == "sha256:aa"
    # a tag the build did not see (another release, or no build in this run) -> ask the host
    assert state_filters.cutover_images_known(built, ["mint/artwork:0000000"]) is None
    assert state_filters.cutover_images_known([], ["mint/artwork:85cdf97"]) is None
    assert state_filters.cutover_images_known([built[0] | {"image_id": None}], ["mint/artwork:85cdf97"]) is None


def test_a_plan_made_earlier_in_the_run_stands_only_for_the_same_key_and_nothing_to_do() -> None:
    key = ["RUN-A", "85cdf97", {"current": None}]
    stands = state_filters.cutover_plan_stands
    assert stands(list(key), key, True) is True
    assert stands(list(key), key, True, []) is True
    assert stands(list(key), key, True, ["0002_add"]) is False  # anything to do: planned afresh
    assert stands(list(key), key, False) is False  # the role run on its own reads the host
    assert stands(None, key, True) is False  # prep did not plan it
    assert stands(["RUN-A", "85cdf97", {"current": {"release": "x"}}], key, True) is False  # state changed since
