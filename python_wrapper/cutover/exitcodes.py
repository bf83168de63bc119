"""Exit codes of the `cutover` command. Scripts may rely on these."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Success: every phase asked for passed (or `receipts verify` found the chain intact)."""
    UNEXPECTED = 1
    """Unexpected error: a bug, an interrupted run, or a result the wrapper cannot classify."""
    BAD_INPUT = 2
    """Bad input, nothing on the host touched: a bad option, or a failure in baseline/prep
    (validation, env contract, gates, lock held) before any change."""
    ROLLED_BACK = 3
    """A changing phase (build, migrate, swap, verify) failed and the rollback succeeded:
    the previous release serves again."""
    NEEDS_PERSON = 4
    """The rollback failed, or recert found drift: the host needs a person."""


EXIT_CODES_HELP = """\
exit codes:
  0  success (for `receipts verify`: the chain is intact)
  1  unexpected error (bug, interrupted run, unclassifiable result;
     for `receipts verify`: the chain is broken)
  2  bad input, nothing on the host touched (bad option, unknown receipt,
     validation / env contract / gate / lock failure in baseline or prep)
  3  a gate failed after the first change and the rollback succeeded:
     the previous release serves again
  4  the rollback failed, or recert found drift: the host needs a person
"""
