"""Loads the recorded-run replayer (tests/fixtures/wrapper/replay.py) once, for the wrapper's unit tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wrapper"


def load_replay() -> ModuleType:
    if "wrapper_replay" in sys.modules:
        return sys.modules["wrapper_replay"]
    spec = importlib.util.spec_from_file_location("wrapper_replay", FIXTURES / "replay.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["wrapper_replay"] = module
    spec.loader.exec_module(module)
    return module
