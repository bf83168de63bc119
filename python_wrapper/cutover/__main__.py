"""`python -m cutover ...`: the same as the `cutover` command."""

import sys

from .cli import main

sys.exit(main())
