"""Exit codes of the `cutover` command. Scripts may rely on these."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Success: every phase asked for passed (`rollback`: rolled back, or nothing to undo;
    `receipts verify`: the chain is intact)."""
    UNEXPECTED = 1
    """Unexpected or interrupted: a bug, a result the wrapper cannot classify (e.g. recert could
    not reach the host after a good cutover), or SIGINT/SIGTERM/SIGHUP (the running playbook
    was stopped and its receipt says canceled)."""
    BAD_INPUT = 2
    """Nothing on any host was changed by this run: a bad option, a failure in baseline/prep
    (validation, env contract, gates, lock held), or a changing phase that failed and whose
    rollback found nothing of this run to undo (e.g. the deploy lock held by another run)."""
    ROLLED_BACK = 3
    """This run's change was rolled back after a failure (rollback outcome rolled_back) and
    the previous release serves again."""
    NEEDS_PERSON = 4
    """A person must act: the rollback failed (or refused, e.g. another run's lock), or recert
    reported drift or leftovers."""
    CHAIN_BROKEN = 5
    """`receipts verify`: the audit trail is broken (a receipt edited, removed or reordered)."""


EXIT_CODES_HELP = """\
exit codes:
  0  success (`rollback`: rolled back or nothing to undo; `receipts verify`: chain intact)
  1  unexpected error, or interrupted (SIGINT/SIGTERM/SIGHUP: the running playbook is
     stopped and its receipt says canceled)
  2  nothing on any host was changed by this run: bad input, a failure in baseline or
     prep, or a changing phase that failed before changing anything (e.g. the deploy
     lock is held by another run: the rollback found nothing of this run to undo)
  3  this run's change was rolled back after a failure: the previous release serves again
  4  a person must act: the rollback failed, or recert reported drift or leftovers
  5  `receipts verify`: the audit trail is broken (a receipt edited, removed or reordered)
"""
