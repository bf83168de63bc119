"""Run a command with the lab's two API keys in its environment (for the keyed smoke checks).

The keys are read from .lab/secrets.env with the package's env-file parser (a shell `eval` or
`source` would read `$`, quotes and backslashes unlike Docker). Values are never printed.

    python scripts/with_lab_keys.py COMMAND [ARG...]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cutover.envfile import parse

KEYS = ("ORDER_INTAKE_API_KEY", "FILES_API_KEY")


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: with_lab_keys.py COMMAND [ARG...]", file=sys.stderr)
        return 2
    path = Path(__file__).resolve().parent.parent / ".lab" / "secrets.env"
    secrets = parse(path.read_text(encoding="utf-8"), str(path))
    os.environ.update({k: secrets[k] for k in KEYS if secrets.get(k)})
    os.execvp(argv[0], argv)
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
