"""Load a role's filter plugin or module file by path, as Ansible does (they are not a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROLES = Path(__file__).resolve().parents[2] / "roles"


def load(name: str, path: Path) -> ModuleType:
    """Import the file at ``path`` as module ``name`` (kept in sys.modules for dataclasses)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_module(name: str, path: Path) -> ModuleType:
    """Import a role's module (roles/<role>/library/<m>.py) after the module_utils its role ships,
    as ansible.module_utils.<name>, as Ansible does: a test file then runs on its own."""
    for util in sorted((path.parent.parent / "module_utils").glob("*.py")):
        load(f"ansible.module_utils.{util.stem}", util)
    return load(name, path)
