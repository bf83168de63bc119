"""The pipe through which a playbook hands the host's env file to the wrapper's redaction.

The values of a real project's secrets live in the env file on its docker host
(``cutover_env_file``), not on the controller. Each playbook the wrapper runs gets the path of
a FIFO in ``CUTOVER_SECRETS_FIFO`` (an environment variable of ansible-playbook: it appears in
no command line, extra var, event or receipt). At the start of the run, after validation,
``roles/cutover_common/tasks/secrets_handoff.yml`` reads the file on the host over the run's
own connection (action ``cutover_secrets_handoff``, no_log) and writes it into the pipe as one
JSON line ``{"host", "content"}`` (base64); the action's result says only whether it did.

Here the pipe is read in memory (a FIFO is kernel memory: the content touches no disk), each
file is parsed by the one env-file parser and the secret values are added to the redactor
before the events after the handoff are redacted (``wait``). The content is then dropped.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import select
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

ENV = "CUTOVER_SECRETS_FIFO"
HANDOFF_ACTIONS = frozenset({"cutover_secrets_handoff"})


class SecretsPipe:
    """A private FIFO (a 0700 temp dir) read by a thread; ``on_file(host, text)`` per message."""

    def __init__(self, on_file: Callable[[str, str], None]) -> None:
        self._on_file = on_file
        self._dir = Path(tempfile.mkdtemp(prefix="cutover-secrets-"))
        self.path = str(self._dir / "env.fifo")
        os.mkfifo(self.path, 0o600)
        # O_RDWR: the pipe always has a reader (writers never get ENXIO while we live) and never
        # reports EOF between two writers.
        self._fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)
        self._done: set[str] = set()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="cutover-secrets-pipe", daemon=True)
        self._thread.start()

    def env(self) -> dict[str, str]:
        return {ENV: self.path}

    def _read(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._fd], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                return
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                self._message(line)

    def _message(self, line: bytes) -> None:
        host = "?"
        try:
            message = json.loads(line)
            host = str(message.get("host", "?"))
            text = base64.b64decode(str(message.get("content") or "")).decode("utf-8", errors="replace")
        except (ValueError, binascii.Error, AttributeError):
            text = ""  # a torn or foreign message: nothing to learn, but the host is done
        try:
            if text:
                self._on_file(host, text)
        finally:
            with self._cond:
                self._done.add(host)
                self._cond.notify_all()

    def wait(self, host: str, timeout: float = 5.0) -> bool:
        """Block until the message of ``host`` has been read and learned (True), or timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: host in self._done, timeout=timeout)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        try:
            os.close(self._fd)
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> SecretsPipe:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def is_handoff_result(event: dict[str, object]) -> str | None:
    """The host whose handoff task just finished well (its message is in the pipe), else None."""
    if event.get("event") != "runner_on_ok":
        return None
    data = event.get("event_data")
    action = str(data.get("task_action", "")).rsplit(".", 1)[-1] if isinstance(data, dict) else ""
    if not isinstance(data, dict) or action not in HANDOFF_ACTIONS:
        return None
    return str(data.get("host", "")) or None
