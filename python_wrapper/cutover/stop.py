"""Stopping cleanly: SIGINT (Ctrl-C), SIGTERM and SIGHUP stop the running playbook too.

ansible-runner runs ansible-playbook in a session of its own (so a Ctrl-C on the terminal
never reaches it) and, without a ``cancel_callback``, installs SIGINT/SIGTERM handlers of its
own that are never restored and that end the child with SIGKILL to its process group, which
leaves Ansible's workers (each in a session of its own) running on. Instead, while a
`cutover` command runs:

* each of these signals is caught; the first one is remembered (``requested``, ``name``);
* SIGTERM is forwarded at once to the running playbook's process group (its pid comes from
  the launcher's pidfile, see ``launch.py``). ansible-playbook stops its workers and exits;
* the phase's receipt is written with status ``canceled``; no further phase starts and the
  command exits 1 (interrupted);
* if the playbook is still alive ``GRACE_S`` seconds later, ``cancel_callback`` tells
  ansible-runner to cancel, and ansible-runner kills the process group (SIGKILL);
* after SIGHUP on a terminal, stdout and stderr go to /dev/null (the terminal is gone), so
  that writing the receipts does not fail on the dead terminal.

SIGKILL cannot be caught: ``launch.py`` makes the kernel send SIGTERM to the playbook then.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stop:
    """The stop request of one `cutover` command, and the playbook it has to stop."""

    GRACE_S = 10.0

    def __init__(self) -> None:
        self.signum: int | None = None
        self._since = 0.0
        self._pidfile: Path | None = None
        self._saved: dict[int, Any] = {}
        self._depth = 0

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    @property
    def exit_status(self) -> int:
        """The shell's convention for a process ended by the signal (130 for SIGINT...)."""
        return 128 + int(self.signum or 0)

    @contextlib.contextmanager
    def installed(self) -> Iterator[Stop]:
        """Catch the signals for the duration (nested uses are no-ops; main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        if self._depth == 0:
            for signum in SIGNALS:
                self._saved[signum] = signal.signal(signum, self._handle)
        self._depth += 1
        try:
            yield self
        finally:
            self._depth -= 1
            if self._depth == 0:
                for saved, previous in self._saved.items():
                    signal.signal(saved, previous)
                self._saved.clear()

    @contextlib.contextmanager
    def child(self, pidfile: Path) -> Iterator[Stop]:
        """The running playbook writes its pid to ``pidfile`` (launch.py) while inside."""
        self._pidfile = pidfile
        try:
            yield self
        finally:
            self._pidfile = None

    def request(self, signum: int) -> None:
        """What the signal handler does (also callable directly, e.g. from tests)."""
        if self.signum is None:
            self.signum = signum
            self._since = time.monotonic()
        if signum == signal.SIGHUP:
            _detach_from_dead_terminal()
        self.forward()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.request(signum)

    def child_pid(self) -> int | None:
        if self._pidfile is None:
            return None
        try:
            text = self._pidfile.read_text(encoding="ascii").strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def forward(self) -> None:
        """SIGTERM to the playbook's process group (it leads a session of its own)."""
        pid = self.child_pid()
        if pid is None or pid <= 1:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)

    def cancel_callback(self) -> bool:
        """ansible-runner polls this every few seconds while the playbook runs: forward the
        stop again (it may have come before the pid was known); after GRACE_S, cancel."""
        if self.signum is None:
            return False
        self.forward()
        return time.monotonic() - self._since > self.GRACE_S


def _detach_from_dead_terminal() -> None:
    for fd in (1, 2):
        try:
            if not os.isatty(fd):
                continue
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
        except OSError:
            continue
