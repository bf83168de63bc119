"""Hand the host's env file to the cutover wrapper's redaction through its pipe; print nothing.

The wrapper (python_wrapper/cutover/secrets_pipe.py) names a FIFO in the environment variable
CUTOVER_SECRETS_FIFO of the ansible-playbook it runs and reads it in memory. This action runs
on the controller: it reads ``src`` on the host over the task's own connection (the module
ansible.builtin.slurp, with the task's become), writes ``{"host", "content"}`` as one JSON line
into that pipe, and returns only whether it did (``sent``, ``readable``) - never the content,
so nothing of the file reaches a result, an event, stdout, set_stats or a receipt (the task is
no_log as well). Without the variable (a plain ansible-playbook run) it reads nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
from typing import Any

from ansible.plugins.action import ActionBase  # type: ignore[import-untyped]

ENV = "CUTOVER_SECRETS_FIFO"


def send(fifo: str, data: bytes) -> None:
    """Write one message into the wrapper's pipe; OSError when nobody reads it (ENXIO) or it is
    gone. Writers of several hosts take turns (flock on <fifo>.lock): a message is never torn."""
    with open(fifo + ".lock", "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO at once when no reader
        try:
            os.set_blocking(fd, True)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)


class ActionModule(ActionBase):  # type: ignore[misc]
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("src",))

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result: dict[str, Any] = super().run(tmp, task_vars)
        result.update(changed=False, sent=False, readable=False)
        src = self._task.args.get("src")
        if not isinstance(src, str) or not src:
            result.update(failed=True, msg="src: the env file on the host is required")
            return result
        fifo = os.environ.get(ENV, "")
        if not fifo:
            result["msg"] = f"{ENV} not set: no wrapper to hand the values to; nothing read"
            return result
        try:
            read = self._execute_module(
                module_name="ansible.builtin.slurp", module_args={"src": src}, task_vars=task_vars
            )
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        content = "" if read.get("failed") else str(read.get("content") or "")
        host = str(task_vars.get("inventory_hostname", ""))
        try:
            send(fifo, (json.dumps({"host": host, "content": content}) + "\n").encode())
        except OSError as exc:
            result["msg"] = f"the wrapper's pipe: {exc.strerror or exc}"
            return result
        result.update(sent=True, readable=bool(content), msg="handed over" if content else f"{src} not readable")
        return result
