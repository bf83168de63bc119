"""The phase order is defined once (roles/cutover_defaults/vars/main.yml) and everything agrees."""

from __future__ import annotations

from pathlib import Path

import yaml
from cutover import project

ROOT = Path(__file__).resolve().parents[2]


def test_cutover_yml_imports_the_phase_playbooks_in_the_defined_order() -> None:
    plays = yaml.safe_load((ROOT / "playbooks" / "cutover.yml").read_text())
    key = "ansible.builtin.import_playbook"
    imported = [Path(p[key]).stem for p in plays if key in p]

    # the rollback play is no phase of the order: it follows the last phase that changes the host
    assert [p for p in imported if p != "rollback"] == list(project.PHASES)
    last_change = max(imported.index(p) for p in project.CHANGING)
    assert imported.index("rollback") == last_change + 1


def test_the_wrapper_reads_the_same_definition_as_the_roles() -> None:
    defined = yaml.safe_load((ROOT / "roles" / "cutover_defaults" / "vars" / "main.yml").read_text())

    assert tuple(defined["cutover_phase_order"]) == project.PHASES
    assert tuple(defined["cutover_changing_phases"]) == project.CHANGING
    assert set(project.CHANGING) <= set(project.PHASES)


def test_no_default_is_defined_in_two_roles() -> None:
    seen: dict[str, str] = {}
    for defaults in sorted((ROOT / "roles").glob("cutover_*/defaults/main.yml")):
        for name in yaml.safe_load(defaults.read_text()) or {}:
            assert name not in seen, f"{name} is a default of both {seen[name]} and {defaults.parent.parent.name}"
            seen[name] = defaults.parent.parent.name


def test_every_play_that_uses_a_cutover_role_lists_cutover_defaults_first() -> None:
    files = [*(ROOT / "playbooks").glob("*.yml"), *(ROOT / "molecule").glob("cutover_*/*.yml"),
             ROOT / "python_wrapper" / "cutover" / "playbooks" / "status.yml"]  # fmt: skip
    for path in files:
        for play in yaml.safe_load(path.read_text()) or []:
            if not isinstance(play, dict) or "hosts" not in play or "cutover_" not in str(play):
                continue
            roles = [r["role"] if isinstance(r, dict) else r for r in play.get("roles") or []]
            assert roles[:1] == ["cutover_defaults"], f"{path.relative_to(ROOT)}: play {play.get('name')!r}"
