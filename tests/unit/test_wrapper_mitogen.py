"""The Mitogen switch (CUTOVER_MITOGEN): off by default, on only with the package installed,
and a clear error naming the switch otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from cutover.project import InputError, ansible_env, mitogen_env, mitogen_strategy_dir


@pytest.mark.parametrize("value", [None, "", "0", "off", "false", "No"])
def test_off_by_default_and_when_switched_off(value: str | None) -> None:
    environ = {} if value is None else {"CUTOVER_MITOGEN": value}
    assert mitogen_env(environ, locate=lambda: None) == {}


@pytest.mark.parametrize("value", ["1", "on", "true", "YES"])
def test_on_sets_the_strategy_and_its_plugin_path(value: str, tmp_path: Path) -> None:
    env = mitogen_env({"CUTOVER_MITOGEN": value}, locate=lambda: tmp_path)
    assert env == {"ANSIBLE_STRATEGY_PLUGINS": str(tmp_path), "ANSIBLE_STRATEGY": "mitogen_linear"}


def test_on_without_the_package_names_the_switch_and_the_fix() -> None:
    with pytest.raises(InputError, match=r"CUTOVER_MITOGEN=1: Mitogen for Ansible .* not installed .*setup\.sh"):
        mitogen_env({"CUTOVER_MITOGEN": "1"}, locate=lambda: None)


def test_a_value_that_is_neither_on_nor_off_is_refused() -> None:
    with pytest.raises(InputError, match=r"CUTOVER_MITOGEN: expected 1 .* or 0 .*, got 'fast'"):
        mitogen_env({"CUTOVER_MITOGEN": "fast"}, locate=lambda: None)


def test_the_pinned_package_provides_the_strategy_the_switch_names() -> None:
    found = mitogen_strategy_dir()
    assert found is not None and (found / "mitogen_linear.py").is_file()


def test_ansible_env_carries_the_switch(tmp_path: Path) -> None:
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    assert "ANSIBLE_STRATEGY" not in ansible_env(tmp_path, {"PATH": "/usr/bin"})
    on = ansible_env(tmp_path, {"PATH": "/usr/bin", "CUTOVER_MITOGEN": "1"})
    assert on["ANSIBLE_STRATEGY"] == "mitogen_linear"
