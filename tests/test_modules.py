"""The workload modules' own gates (typecheck, build, test), run as the prep phase runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

MODULES_DIR = Path(__file__).resolve().parent.parent / "examples" / "mint-modules"
GATES = {
    "typecheck": ["-m", "mypy", "--ignore-missing-imports", "app"],
    "build": ["-m", "compileall", "-q", "app"],
    "test": ["-m", "unittest", "discover", "-s", "tests"],
}
MODULES = sorted(p.name for p in MODULES_DIR.iterdir() if (p / "app").is_dir()) if MODULES_DIR.is_dir() else []


@pytest.mark.skipif(not MODULES, reason="examples/mint-modules has no modules yet")
@pytest.mark.parametrize("gate", list(GATES))
@pytest.mark.parametrize("module", MODULES)
def test_module_gate_passes(module: str, gate: str) -> None:
    proc = subprocess.run(
        [sys.executable, *GATES[gate]],
        cwd=MODULES_DIR / module,
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert proc.returncode == 0, f"{module} {gate} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
