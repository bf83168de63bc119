"""The example workloads' own gates (typecheck, build, test), run as the prep phase runs them:
mint's modules and greenhouse's services."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
WORKLOAD_DIRS = (EXAMPLES / "mint-modules", EXAMPLES / "greenhouse" / "services")
GATES = {
    "typecheck": ["-m", "mypy", "--ignore-missing-imports", "app"],
    "build": ["-m", "compileall", "-q", "app"],
    "test": ["-m", "unittest", "discover", "-s", "tests"],
}
MODULES = sorted(
    f"{root.relative_to(EXAMPLES)}/{p.name}" for root in WORKLOAD_DIRS for p in root.iterdir() if (p / "app").is_dir()
)


@pytest.mark.parametrize("gate", list(GATES))
@pytest.mark.parametrize("module", MODULES)
def test_module_gate_passes(module: str, gate: str) -> None:
    proc = subprocess.run(
        [sys.executable, *GATES[gate]],
        cwd=EXAMPLES / module,
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert proc.returncode == 0, f"{module} {gate} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
