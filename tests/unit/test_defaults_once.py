"""Every default is defined in one role: cutover_defaults for the package's roles, lab_defaults for
the lab's shared ones; a role's own defaults hold only what it alone uses."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import yaml

ROLES = Path(__file__).resolve().parents[2] / "roles"


def test_no_default_is_defined_in_two_roles() -> None:
    owners: dict[str, list[str]] = defaultdict(list)
    for defaults in sorted(ROLES.glob("*/defaults/main.yml")):
        for name in yaml.safe_load(defaults.read_text()) or {}:
            owners[name].append(defaults.parts[-3])
    assert {name: roles for name, roles in owners.items() if len(roles) > 1} == {}


def test_every_lab_play_lists_lab_defaults_first() -> None:
    playbooks = ROLES.parent / "playbooks"
    for path in sorted(playbooks.glob("lab*.yml")):
        for play in yaml.safe_load(path.read_text()):
            roles = [r["role"] if isinstance(r, dict) else r for r in play.get("roles", [])]
            if roles:
                assert roles[0] == "lab_defaults", f"{path.name}: play {play.get('name')!r} lists {roles}"
