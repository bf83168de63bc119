"""Loads the recorded-run replayer (tests/fixtures/wrapper/replay.py) once, for the wrapper's unit tests
(and the recorder, record.py, for its own tests).

The fixture module is registered under its own name: this helper is itself imported as
``wrapper_replay``, so caching the fixture under that name returned this helper instead (and
the tests passed only when another file had loaded the fixture first).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wrapper"
MODULE = "cutover_fixture_replay"


def _load(name: str, filename: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, FIXTURES / filename)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_replay() -> ModuleType:
    return _load(MODULE, "replay.py")


def load_recorder() -> ModuleType:
    return _load("cutover_fixture_record", "record.py")
