"""collections/requirements.yml lists every collection the package uses, at the installed version."""

from __future__ import annotations

import json
import re
from pathlib import Path

import ansible
import ansible_collections  # type: ignore[import-untyped]
import yaml

ROOT = Path(__file__).resolve().parents[2]
CORE = Path(ansible.__file__).parent  # ansible-core's own packages: import paths, no collection
FQCN = re.compile(r"\b((?:ansible|community)\.[a-z_]+)\.[a-z_]+")
WHERE = ("roles", "playbooks", "molecule", "benchmarks", "python_wrapper/cutover")


def _required() -> dict[str, str]:
    data = yaml.safe_load((ROOT / "collections" / "requirements.yml").read_text())
    return {c["name"]: str(c["version"]) for c in data["collections"]}


def _used() -> set[str]:
    found: set[str] = set()
    for top in WHERE:
        for path in (ROOT / top).rglob("*"):
            if path.is_file() and path.suffix in (".yml", ".yaml", ".py", ".j2"):
                found |= set(FQCN.findall(path.read_text(encoding="utf-8", errors="replace")))
    # ansible.builtin ships with ansible-core; ansible.module_utils, ansible.plugins, ... are
    # ansible-core's import paths (modules, action and callback plugins), no collection
    core = {name for name in found if name.startswith("ansible.") and (CORE / name.split(".")[1]).is_dir()}
    return found - core - {"ansible.builtin"}


def test_every_collection_in_use_is_listed_and_nothing_else() -> None:
    assert set(_required()) == _used()


def test_each_version_is_exactly_the_one_installed_with_the_pinned_ansible() -> None:
    base = Path(next(iter(ansible_collections.__path__)))
    for name, version in _required().items():
        manifest = json.loads((base.joinpath(*name.split(".")) / "MANIFEST.json").read_text())
        assert manifest["collection_info"]["version"] == version, name
