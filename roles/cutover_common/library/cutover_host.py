#!/usr/bin/python
"""The host's cutover bookkeeping in one round trip: state.json, the deploy lock, the audit log."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cutover_host
short_description: Read and write a cutover host's state file, deploy lock and audit log in one call
description:
  - Every phase needs the same bookkeeping on the docker host. This module does all of it in
    one call, in a fixed order - look at the deploy lock, take it (atomic mkdir) if asked,
    read C(state.json), write it atomically if a new state is given, append audit lines
    (O_APPEND, one write per line), release the lock if asked - and returns the state and a
    summary of the lock.
  - Bookkeeping is not a change of the deployment - taking or releasing the lock and appending
    audit lines leave C(changed) false; only a C(state.json) whose content differs reports a
    change. A run that changes nothing therefore reports changed=0.
  - Another run's lock is never taken or released; C(lock=acquire) then returns C(refused=true)
    and changes nothing, so the caller can fail with its own message.
  - Check mode reads only.
options:
  root:
    description: The project's state root on the host (C(cutover_root)).
    type: path
    required: true
  project:
    description: The project name, recorded in an empty state.
    type: str
    required: true
  run_id:
    description: This run's id (lock ownership, audit lines).
    type: str
    required: true
  lock:
    description: What to do with the deploy lock.
    type: str
    choices: [read, acquire, release]
    default: read
  owner:
    description: Who takes the lock (C(user), C(controller), C(ref)); with C(lock=acquire).
    type: dict
    default: {}
  keep_lock:
    description: With C(lock=release), keep the lock (the cutover continues in a later phase).
    type: bool
    default: false
  break_lock:
    description:
      - With C(lock=release), remove the lock even when another run holds it
        (C(cutover rollback --force-unlock)).
    type: bool
    default: false
  stale_after_s:
    description: A lock older than this is reported as stale (never broken).
    type: int
    default: 7200
  state:
    description: The new content of C(state.json); written atomically when it differs.
    type: dict
  env_files:
    description:
      - Env files to keep under C(<root>/env/), C({file name: content}); each is written
        atomically, 0600 (the module runs as root), only when its content or mode differs, before
        C(state.json). The swap records a service's env this way in the same call as its state.
    type: dict
    default: {}
  audit:
    description: Audit events to append, each C({phase, event, detail}).
    type: list
    elements: dict
    default: []
  controller_user:
    description: Who runs the cutover, recorded in audit lines.
    type: str
    default: unknown
  audit_tail:
    description: Return the last this many lines of the audit log, parsed (0 = none).
    type: int
    default: 0
  create_root:
    description:
      - Create the state root (0750) before a write; false leaves a missing root alone and skips
        the audit lines.
    type: bool
    default: true
author: cutover
"""

RETURN = r"""
state:
  description: The state after this call (the empty state before the first cutover).
  type: dict
  returned: always
state_existed:
  description: Whether state.json existed before this call.
  type: bool
  returned: always
lock:
  description: The lock after this call - held, mine, owner, age_s, age_human, stale, path.
  type: dict
  returned: always
refused:
  description: C(lock=acquire) found the lock held by another run; nothing was changed.
  type: bool
  returned: always
lock_taken:
  description: This call took the lock.
  type: bool
  returned: always
lock_released:
  description: This call removed the lock.
  type: bool
  returned: always
env_files_written:
  description: The env files (names) this call wrote.
  type: list
  returned: always
env_dir_tightened:
  description: C(<root>/env) was looser than 0700 and was set back to 0700 (only when I(env_files) are given).
  type: bool
  returned: always
audit_lines:
  description: How many audit lines were appended.
  type: int
  returned: always
audit_tail:
  description: The last C(audit_tail) lines of the audit log, each parsed (a line that is not JSON is kept as C({raw}).
  type: list
  returned: always
"""

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from ansible.module_utils.basic import AnsibleModule


def empty_state(project: str) -> dict[str, Any]:
    return {"project": project, "current": None, "previous": None, "in_progress": None, "history": []}


def read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as handle:
        try:
            return json.load(handle)
        except ValueError as exc:
            raise ValueError(f"{path} is not valid JSON ({exc}); restore it from the audit log or a backup") from exc


def lock_summary(root: str, run_id: str, stale_after_s: int, now: float) -> dict[str, Any]:
    path = os.path.join(root, "lock")
    summary: dict[str, Any] = {
        "held": False, "owner": None, "age_s": None, "age_human": "", "mine": False, "stale": False, "path": path,
    }  # fmt: skip
    try:
        since = os.stat(path).st_mtime
    except FileNotFoundError:
        return summary
    owner = None
    with contextlib.suppress(OSError, ValueError):  # a lock whose owner record is missing or torn is still a lock
        owner = read_json(os.path.join(path, "owner.json"))
    if isinstance(owner, dict) and isinstance(owner.get("since_epoch"), (int, float)):
        since = float(owner["since_epoch"])
    age = int(now - since)
    summary.update(
        held=True,
        owner=owner if isinstance(owner, dict) else None,
        age_s=age,
        age_human=f"{age // 3600}h{(age % 3600) // 60:02d}m",
        mine=isinstance(owner, dict) and owner.get("run_id") == run_id,
        stale=age > stale_after_s,
    )
    return summary


def write_atomically(path: str, content: str, mode: int) -> None:
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".state.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def append_line(path: str, line: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_tail(path: str, lines: int) -> list[Any]:
    if lines <= 0 or not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8", errors="replace") as handle:
        tail = handle.read().splitlines()[-lines:]
    out: list[Any] = []
    for line in tail:
        try:
            out.append(json.loads(line))
        except ValueError:
            out.append({"raw": line})
    return out


ENV_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def env_file_problems(env_files: dict[str, Any]) -> list[str]:
    return [
        f"env_files: {name!r} is not a plain file name (letters, digits, '.', '_', '-')"
        for name in sorted(env_files)
        if not ENV_FILE_NAME.fullmatch(name) or name in (".", "..")
    ]


def tighten_env_dir(root: str, check_mode: bool) -> bool:
    """Set an existing <root>/env back to 0700 (loosened by hand or made by an older version)."""
    env_dir = os.path.join(root, "env")
    try:
        loose = os.stat(env_dir).st_mode & 0o777 != 0o700
    except FileNotFoundError:
        return False  # write_env_files makes it
    if loose and not check_mode:
        os.chmod(env_dir, 0o700)
    return loose


def write_env_files(root: str, env_files: dict[str, Any], check_mode: bool) -> list[str]:
    """Write each env file whose content or mode differs (0600); the names written."""
    env_dir = os.path.join(root, "env")
    written = []
    for name in sorted(env_files):
        path, content = os.path.join(env_dir, name), str(env_files[name])
        try:
            with open(path, encoding="utf-8") as handle:
                same = handle.read() == content and os.stat(path).st_mode & 0o777 == 0o600
        except (FileNotFoundError, UnicodeDecodeError):
            same = False
        if same:
            continue
        written.append(name)
        if check_mode:
            continue
        os.makedirs(env_dir, mode=0o700, exist_ok=True)
        tighten_env_dir(root, check_mode=False)  # the umask may have taken bits from a new one
        write_atomically(path, content, 0o600)  # the module runs as root (become): root's file
    return written


def render_state(state: Any) -> str:
    return json.dumps(state, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def utc(now: float, fraction: bool = False) -> str:
    stamp = datetime.fromtimestamp(now, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if fraction else "%Y-%m-%dT%H:%M:%SZ")


def audit_line(event: dict[str, Any], run_id: str, user: str, now: float) -> str:
    line = json.dumps(
        {
            "ts": utc(now, fraction=True),
            "run_id": run_id,
            "phase": event.get("phase") or "unknown",
            "event": event.get("event") or "unknown",
            "detail": event.get("detail") or {},
            "controller_user": user,
        },
        sort_keys=True,
    )
    if "\n" in line or "\r" in line:  # json.dumps escapes them; a guard, not a path
        raise ValueError("audit line would span lines")
    return line


def run(params: dict[str, Any], check_mode: bool, now: float | None = None) -> dict[str, Any]:
    """Everything the module does, without AnsibleModule (unit-tested directly)."""
    now = time.time() if now is None else now
    root, run_id = params["root"], params["run_id"]
    stale = int(params["stale_after_s"])
    result: dict[str, Any] = {
        "changed": False, "refused": False, "lock_taken": False, "lock_released": False, "audit_lines": 0,
    }  # fmt: skip
    root_exists = os.path.isdir(root)
    env_files = params.get("env_files") or {}
    problems = env_file_problems(env_files)
    if problems:
        raise ValueError("; ".join(problems))
    writing = params["lock"] == "acquire" or params.get("state") is not None or params["audit"] or env_files
    if writing and not root_exists and params["create_root"] and not check_mode:
        os.makedirs(root, mode=0o750, exist_ok=True)
        os.chmod(root, 0o750)
        root_exists = True

    lock = lock_summary(root, run_id, stale, now)
    if params["lock"] == "acquire":
        if lock["held"] and not lock["mine"]:
            result["refused"] = True
        elif not lock["held"] and not check_mode:
            try:
                os.mkdir(lock["path"], 0o750)
            except FileExistsError:  # another run won the race between the look and the mkdir
                result["refused"] = True
            else:
                owner = dict(params["owner"] or {})
                record = {
                    "run_id": run_id, "user": owner.get("user", "unknown"),
                    "controller": owner.get("controller", "unknown"), "ref": owner.get("ref", ""),
                    "since": utc(now), "since_epoch": int(now),
                }  # fmt: skip
                write_atomically(os.path.join(lock["path"], "owner.json"), json.dumps(record, indent=4) + "\n", 0o640)
                result["lock_taken"] = True
            lock = lock_summary(root, run_id, stale, now)

    result["env_files_written"], result["env_dir_tightened"] = [], False
    if env_files and not result["refused"]:
        # The directory first: unchanged files in a loosened directory are tightened too.
        result["env_dir_tightened"] = tighten_env_dir(root, check_mode)
        result["env_files_written"] = write_env_files(root, env_files, check_mode)
        result["changed"] = bool(result["env_files_written"]) or result["env_dir_tightened"]

    state_path = os.path.join(root, "state.json")
    result["state_existed"] = os.path.isfile(state_path)
    state = read_json(state_path) if result["state_existed"] else empty_state(params["project"])
    new_state = params.get("state")
    if new_state is not None and not result["refused"]:
        before = render_state(state) if result["state_existed"] else None
        after = render_state(new_state)
        if after != before:
            result["changed"] = True
            if not check_mode:
                write_atomically(state_path, after, 0o640)
        state = new_state
    result["state"] = state

    if params["audit"] and root_exists and not check_mode and not result["refused"]:
        for event in params["audit"]:
            line = audit_line(event, run_id, params["controller_user"], now)
            append_line(os.path.join(root, "audit.log"), line, 0o640)
            result["audit_lines"] += 1

    result["audit_tail"] = read_tail(os.path.join(root, "audit.log"), int(params.get("audit_tail") or 0))

    releasing = params["lock"] == "release" and lock["held"] and not check_mode
    if releasing and ((lock["mine"] and not params["keep_lock"]) or params["break_lock"]):
        shutil.rmtree(lock["path"])
        result["lock_released"] = True
        lock = lock_summary(root, run_id, stale, now)
    result["lock"] = lock
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "required": True},
            "project": {"type": "str", "required": True},
            "run_id": {"type": "str", "required": True},
            "lock": {"type": "str", "choices": ["read", "acquire", "release"], "default": "read"},
            "owner": {"type": "dict", "default": {}},
            "keep_lock": {"type": "bool", "default": False},
            "break_lock": {"type": "bool", "default": False},
            "stale_after_s": {"type": "int", "default": 7200},
            "state": {"type": "dict"},
            "audit": {"type": "list", "elements": "dict", "default": []},
            "env_files": {"type": "dict", "default": {}, "no_log": True},
            "controller_user": {"type": "str", "default": "unknown"},
            "create_root": {"type": "bool", "default": True},
            "audit_tail": {"type": "int", "default": 0},
        },
        supports_check_mode=True,
    )
    try:
        result = run(module.params, module.check_mode)
    except (OSError, ValueError) as exc:
        module.fail_json(msg=f"cutover bookkeeping under {module.params['root']} failed: {exc}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
