"""Start a program so that it dies with the `cutover` process, then become that program.

    python launch.py PARENT_PID PIDFILE PROGRAM [ARG ...]

ansible-runner starts ansible-playbook through pexpect: in a session of its own, on a pty,
with SIGHUP ignored, and exposes no pre-exec hook. Killing the wrapper therefore left the
playbook running on. The wrapper hands ansible-runner this file as its ``binary`` (a
documented RunnerConfig option, run as ``<python> launch.py ...``), and this launcher, which
is the pexpect child itself:

1. asks Linux for ``PR_SET_PDEATHSIG = SIGTERM``: when the wrapper dies, even by SIGKILL,
   the child gets SIGTERM. The setting survives ``execve`` (not across a set-uid binary),
   and ansible-playbook answers SIGTERM by stopping its workers (each a process group of
   its own) and exiting;
2. refuses to start if the wrapper is already gone (it died before step 1 took effect);
3. writes its pid to PIDFILE (``-``: none), so that the wrapper can forward SIGTERM to the
   child's process group when it is itself interrupted;
4. ``execvp``s PROGRAM (same pid, same process group, same environment).

Elsewhere than Linux step 1 is skipped. Standard library only: it runs before exec, in
whatever interpreter the wrapper runs in.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def set_parent_death_signal(signum: int = signal.SIGTERM) -> bool:
    """``prctl(PR_SET_PDEATHSIG, signum)``; False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _write_pidfile(path: str) -> None:
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
    finally:
        os.close(fd)
    os.rename(tmp, path)  # noqa: PTH104 - atomic, standard library only


def main(argv: list[str]) -> int:
    if len(argv) < 4 or not argv[1].isdigit():
        print("usage: launch.py PARENT_PID PIDFILE PROGRAM [ARG ...]", file=sys.stderr)
        return 2
    parent, pidfile, program = int(argv[1]), argv[2], argv[3:]
    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent:
        print(f"cutover launch: the wrapper (pid {parent}) is gone; not starting {program[0]}",
              file=sys.stderr)
        return 1
    if pidfile != "-":
        _write_pidfile(pidfile)
    try:
        os.execvp(program[0], program)  # noqa: S606 - the program is ansible-playbook, given by the wrapper
    except OSError as exc:
        print(f"cutover launch: cannot run {program[0]}: {exc}", file=sys.stderr)
        return 127
    return 127  # pragma: no cover - execvp does not return


if __name__ == "__main__":
    sys.exit(main(sys.argv))
