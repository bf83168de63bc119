"""The host bookkeeping module (roles/cutover_common/library/cutover_host.py), on a temp dir."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.unit.plugins import ROLES, load

host = load("cutover_host_module", ROLES / "cutover_common" / "library" / "cutover_host.py")
NOW = 1_800_000_000.0


def params(root: Path, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "root": str(root), "project": "shop", "run_id": "run-a", "lock": "read", "owner": {},
        "keep_lock": False, "break_lock": False, "stale_after_s": 7200, "state": None, "audit": [],
        "controller_user": "ops", "create_root": True, "audit_tail": 0,
    }  # fmt: skip
    base.update(over)
    return base


def test_reading_a_host_before_the_first_cutover_creates_nothing(tmp_path: Path) -> None:
    root = tmp_path / "opt" / "shop"

    out = host.run(params(root), check_mode=False, now=NOW)

    assert out["state"] == {"project": "shop", "current": None, "previous": None, "in_progress": None, "history": []}
    assert out["lock"]["held"] is False and out["changed"] is False
    assert not root.exists()


def test_acquire_takes_the_lock_once_and_is_reentrant_for_the_same_run(tmp_path: Path) -> None:
    owner = {"user": "ops", "controller": "ctl", "ref": "v2"}

    first = host.run(params(tmp_path / "r", lock="acquire", owner=owner), check_mode=False, now=NOW)
    again = host.run(params(tmp_path / "r", lock="acquire", owner=owner), check_mode=False, now=NOW + 5)

    assert first["lock_taken"] and first["lock"]["mine"] and not first["refused"]
    assert not again["lock_taken"] and again["lock"]["mine"] and not again["refused"]
    record = json.loads((tmp_path / "r" / "lock" / "owner.json").read_text())
    assert record["run_id"] == "run-a" and record["user"] == "ops" and record["since_epoch"] == int(NOW)
    assert oct((tmp_path / "r").stat().st_mode & 0o777) == "0o750"
    assert first["changed"] is False, "the lock is bookkeeping, not a change of the deployment"


def test_another_runs_lock_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    root = tmp_path / "r"
    host.run(params(root, lock="acquire", run_id="run-b"), check_mode=False, now=NOW - 9000)
    state = {"project": "shop", "current": {"release": "abc"}, "previous": None, "in_progress": None, "history": []}

    out = host.run(
        params(root, lock="acquire", state=state, audit=[{"phase": "build", "event": "started"}]),
        check_mode=False,
        now=NOW,
    )

    assert out["refused"] and out["lock"]["held"] and not out["lock"]["mine"]
    assert out["lock"]["owner"]["run_id"] == "run-b" and out["lock"]["stale"] and out["lock"]["age_human"] == "2h30m"
    assert not (root / "state.json").exists() and not (root / "audit.log").exists()


def test_state_is_written_only_when_it_differs(tmp_path: Path) -> None:
    state = {"project": "shop", "current": {"release": "abc"}, "previous": None, "in_progress": None, "history": []}

    first = host.run(params(tmp_path, state=state), check_mode=False, now=NOW)
    same = host.run(params(tmp_path, state=dict(state)), check_mode=False, now=NOW)

    assert first["changed"] and not same["changed"]
    assert json.loads((tmp_path / "state.json").read_text()) == state
    assert oct((tmp_path / "state.json").stat().st_mode & 0o777) == "0o640"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".state.")] == []


def test_audit_lines_are_appended_one_json_object_per_line(tmp_path: Path) -> None:
    (tmp_path / "audit.log").write_text('{"kept": true}\n')
    events = [{"phase": "swap", "event": "swapped", "detail": {"a": "x\ny"}}, {"phase": "verify", "event": "committed"}]

    out = host.run(params(tmp_path, audit=events), check_mode=False, now=NOW)

    lines = (tmp_path / "audit.log").read_text().splitlines()
    assert out["audit_lines"] == 2 and out["changed"] is False
    assert lines[0] == '{"kept": true}'
    first = json.loads(lines[1])
    assert first["phase"] == "swap" and first["detail"] == {"a": "x\ny"} and first["run_id"] == "run-a"
    assert first["controller_user"] == "ops" and first["ts"].endswith("Z")
    assert json.loads(lines[2])["detail"] == {}


def test_without_create_root_a_missing_root_gets_no_audit_line(tmp_path: Path) -> None:
    root = tmp_path / "absent"

    out = host.run(params(root, audit=[{"phase": "prep", "event": "ok"}], create_root=False), False, now=NOW)

    assert out["audit_lines"] == 0 and not root.exists()


def test_release_removes_only_this_runs_lock_unless_kept_or_broken(tmp_path: Path) -> None:
    host.run(params(tmp_path, lock="acquire"), check_mode=False, now=NOW)

    kept = host.run(params(tmp_path, lock="release", keep_lock=True), check_mode=False, now=NOW)
    other = host.run(params(tmp_path, lock="release", run_id="run-b"), check_mode=False, now=NOW)
    broken = host.run(params(tmp_path, lock="release", run_id="run-b", break_lock=True), check_mode=False, now=NOW)

    assert kept["lock"]["held"] and not kept["lock_released"]
    assert other["lock"]["held"] and not other["lock"]["mine"] and not other["lock_released"]
    assert broken["lock_released"] and not broken["lock"]["held"] and not (tmp_path / "lock").exists()


def test_check_mode_reads_and_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "r"
    state = {"project": "shop", "current": None, "previous": None, "in_progress": {"run_id": "run-a"}, "history": []}

    out = host.run(
        params(root, lock="acquire", state=state, audit=[{"phase": "build", "event": "started"}]),
        check_mode=True,
        now=NOW,
    )

    assert out["changed"] and not out["lock_taken"] and not root.exists()


def test_a_lock_without_owner_record_is_still_held_and_dated_by_its_directory(tmp_path: Path) -> None:
    (tmp_path / "lock").mkdir()
    os.utime(tmp_path / "lock", (NOW - 60, NOW - 60))

    out = host.run(params(tmp_path, lock="acquire"), check_mode=False, now=NOW)

    assert out["refused"] and out["lock"]["owner"] is None and out["lock"]["age_s"] == 60


def test_a_torn_state_file_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")

    with pytest.raises(ValueError, match=r"state\.json is not valid JSON"):
        host.run(params(tmp_path), check_mode=False, now=NOW)


def test_the_audit_tail_comes_back_parsed_in_the_same_call(tmp_path: Path) -> None:
    (tmp_path / "audit.log").write_text('{"n": 1}\nnot json\n{"n": 3}\n')

    out = host.run(params(tmp_path, audit_tail=2), check_mode=False, now=NOW)

    assert out["audit_tail"] == [{"raw": "not json"}, {"n": 3}]


def test_env_files_are_written_0600_before_the_state_only_when_they_differ(tmp_path: Path) -> None:
    state = {"project": "shop", "current": None, "previous": None, "in_progress": {"services": {"cart": {}}},
             "history": []}  # fmt: skip
    env = {"cart.env": "DB_PASSWORD=hunter2\n"}

    first = host.run(params(tmp_path, state=state, env_files=env), check_mode=False, now=NOW)
    same = host.run(params(tmp_path, state=state, env_files=env), check_mode=False, now=NOW)
    (tmp_path / "env" / "cart.env").chmod(0o644)
    loosened = host.run(params(tmp_path, state=state, env_files=env), check_mode=False, now=NOW)

    assert first["changed"] and first["env_files_written"] == ["cart.env"]
    assert not same["changed"] and same["env_files_written"] == []
    assert loosened["changed"] and loosened["env_files_written"] == ["cart.env"]
    assert (tmp_path / "env" / "cart.env").read_text() == "DB_PASSWORD=hunter2\n"
    assert oct((tmp_path / "env" / "cart.env").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "env").stat().st_mode & 0o777) == "0o700"
    assert "hunter2" not in json.dumps(first), "never a value in the result"


def test_an_env_directory_made_looser_by_hand_is_tightened_to_0700_when_an_env_file_is_written(tmp_path: Path) -> None:
    (tmp_path / "env").mkdir(mode=0o755)
    (tmp_path / "env").chmod(0o755)

    out = host.run(params(tmp_path, env_files={"cart.env": "A=1\n"}), check_mode=False, now=NOW)

    assert out["env_files_written"] == ["cart.env"]
    assert oct((tmp_path / "env").stat().st_mode & 0o777) == "0o700"


def test_a_loosened_env_directory_holding_unchanged_files_is_tightened_and_reported(tmp_path: Path) -> None:
    env = {"cart.env": "A=1\n"}
    host.run(params(tmp_path, env_files=env), check_mode=False, now=NOW)
    (tmp_path / "env").chmod(0o755)

    checked = host.run(params(tmp_path, env_files=env), check_mode=True, now=NOW)
    assert checked["changed"] and checked["env_dir_tightened"]
    assert oct((tmp_path / "env").stat().st_mode & 0o777) == "0o755", "check mode changes nothing"

    out = host.run(params(tmp_path, env_files=env), check_mode=False, now=NOW)
    again = host.run(params(tmp_path, env_files=env), check_mode=False, now=NOW)

    assert out["changed"] and out["env_dir_tightened"] and out["env_files_written"] == []
    assert oct((tmp_path / "env").stat().st_mode & 0o777) == "0o700"
    assert not again["changed"] and not again["env_dir_tightened"]


def test_a_new_env_directory_is_0700_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o177)  # makedirs(mode=0o700) alone would give 0o600
    try:
        out = host.run(params(tmp_path, env_files={"cart.env": "A=1\n"}), check_mode=False, now=NOW)
    finally:
        os.umask(old)
    assert out["env_files_written"] == ["cart.env"]
    assert oct((tmp_path / "env").stat().st_mode & 0o777) == "0o700"


def test_env_files_in_check_mode_are_reported_not_written(tmp_path: Path) -> None:
    out = host.run(params(tmp_path, env_files={"cart.env": "A=1\n"}), check_mode=True, now=NOW)
    assert out["changed"] and out["env_files_written"] == ["cart.env"]
    assert not (tmp_path / "env").exists()


@pytest.mark.parametrize("name", ["../state.json", "a/b.env", ".env", ".."])
def test_an_env_file_name_that_is_not_a_plain_name_is_refused_before_anything_is_written(
    tmp_path: Path, name: str
) -> None:
    with pytest.raises(ValueError, match=r"env_files: .* is not a plain file name"):
        host.run(params(tmp_path / "r", env_files={name: "A=1\n"}, state={"x": 1}), check_mode=False, now=NOW)
    assert not (tmp_path / "r").exists()
