"""Host key checking through the wrapper: ansible-runner must not turn it off.

ansible-runner sets ANSIBLE_HOST_KEY_CHECKING=False when the variable is absent, and Ansible's
ssh plugin then puts `-o StrictHostKeyChecking=no` before the inventory's
`ansible_ssh_common_args`, where ssh keeps the first value: a tampered known_hosts was
accepted by `cutover status`/`cutover run` while plain `ansible` refused it.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
import textwrap
from pathlib import Path
from typing import Any

import ansible_runner  # type: ignore[import-untyped]
import pytest
from cutover.project import InventoryFacts, ansible_env, host_key_checking_env
from cutover.redact import Redactor
from cutover.runner import LAUNCHER, RunContext, run_playbook, runner_kwargs
from wrapper_replay import load_replay

HKC = ("ANSIBLE_HOST_KEY_CHECKING", "ANSIBLE_SSH_HOST_KEY_CHECKING", "ANSIBLE_PARAMIKO_HOST_KEY_CHECKING")


@pytest.fixture(autouse=True)
def no_operator_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in HKC:
        monkeypatch.delenv(name, raising=False)


def _cfg(tmp_path: Path, text: str) -> Path:
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text(textwrap.dedent(text))
    return cfg


@pytest.mark.parametrize(
    ("cfg", "environ", "expected"),
    [
        ("[defaults]\nhost_key_checking = True\n", {}, ("True", "True", "True")),
        ("[defaults]\ngathering = explicit\n", {}, ("True", "True", "True")),  # Ansible's default: on
        ("[defaults]\nhost_key_checking = False ; lab only\n", {}, ("False", "False", "False")),
        ("[defaults]\nhost_key_checking = True\n[ssh_connection]\nhost_key_checking = no\n", {},
         ("True", "False", "True")),
        ("[defaults]\nhost_key_checking = True\n", {"ANSIBLE_HOST_KEY_CHECKING": "0"}, ("False", "False", "False")),
        ("[defaults]\nhost_key_checking = False\n", {"ANSIBLE_SSH_HOST_KEY_CHECKING": "yes"},
         ("False", "True", "True")),
        ("[defaults]\nhost_key_checking = True\n", {"ANSIBLE_PARAMIKO_HOST_KEY_CHECKING": "false"},
         ("True", "True", "False")),
    ],
)
def test_host_key_checking_is_resolved_like_ansible(
    tmp_path: Path, cfg: str, environ: dict[str, str], expected: tuple[str, str, str]
) -> None:
    env = host_key_checking_env(_cfg(tmp_path, cfg), environ)
    assert tuple(env[name] for name in HKC) == expected


def test_the_repo_config_keeps_host_key_checking_on() -> None:
    root = Path(__file__).resolve().parents[2]
    env = ansible_env(root, {"PATH": "/usr/bin"})
    assert [env[name] for name in HKC] == ["True", "True", "True"]
    assert not any("StrictHostKeyChecking=no" in value for value in env.values())


def _project(tmp_path: Path, port: int) -> Path:
    root = tmp_path / "project"
    (root / "playbooks").mkdir(parents=True)
    (root / "ansible.cfg").write_text(
        "[defaults]\nhost_key_checking = True\ngathering = explicit\ntimeout = 5\n"
        "[ssh_connection]\nssh_args = -o ControlMaster=no\n"
    )
    (root / "hosts.yml").write_text(
        textwrap.dedent(f"""\
            all:
              hosts:
                target:
                  ansible_connection: ssh
                  ansible_host: 127.0.0.1
                  ansible_port: {port}
                  ansible_user: nobody
                  ansible_ssh_common_args: >-
                    -o UserKnownHostsFile={root}/known_hosts -o StrictHostKeyChecking=yes
            """)
    )
    (root / "playbooks" / "ping.yml").write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n"
    )
    return root


def _ctx(root: Path, runner: Any) -> RunContext:
    return RunContext(
        root=root,
        inventory=InventoryFacts(path=root / "hosts.yml"),
        receipts_dir=root / "receipts",
        redactor=Redactor(),
        reporter=load_replay().QuietReporter(),  # type: ignore[arg-type]
        run_id="R1",
        loop_id="LOOP-T",
        write_receipts=False,
        runner_fn=runner,
    )


def test_the_environment_ansible_runner_builds_checks_host_keys(tmp_path: Path) -> None:
    """ansible-runner's own RunnerConfig, prepared with the wrapper's arguments: the final
    environment and command of the child."""
    root = _project(tmp_path, 9)
    ctx = _ctx(root, None)
    kwargs = runner_kwargs(ctx, "status", root / "playbooks" / "ping.yml", {"a": 1}, False, tmp_path / "pd")
    (tmp_path / "pd").mkdir()
    config = ansible_runner.RunnerConfig(**kwargs)
    config.prepare()
    assert config.env["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    assert config.env["ANSIBLE_SSH_HOST_KEY_CHECKING"] == "True"
    assert not any("StrictHostKeyChecking=no" in str(v) for v in config.env.values())
    assert not any(k.startswith("ANSIBLE_SSH_ARGS") or k == "ANSIBLE_SSH_COMMON_ARGS" for k in config.env)
    assert config.command[:3] == [sys.executable, str(LAUNCHER), str(os.getpid())]
    assert config.command[4:6] == ["ansible-playbook", str(root / "playbooks" / "ping.yml")]
    assert "StrictHostKeyChecking=no" not in " ".join(config.command)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ssh_command(root: Path, runner: Any) -> str:
    run, _ = run_playbook(_ctx(root, runner), "status", "playbooks/ping.yml", {}, check=False)
    execs = re.findall(r"SSH: EXEC (ssh .*)", run.stdout)
    assert execs, run.stdout[-3000:]
    return str(execs[0])


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs an ssh client")
def test_the_ssh_command_the_wrapper_runs_keeps_strict_host_key_checking(tmp_path: Path) -> None:
    """A real run through ansible-runner (-vvv shows the ssh command Ansible builds), against a
    closed local port: nothing is reached, only the command line is looked at."""
    root = _project(tmp_path, _free_port())

    def verbose(**kwargs: Any) -> Any:
        return ansible_runner.run(**kwargs, verbosity=3)

    command = _ssh_command(root, verbose)
    assert "StrictHostKeyChecking=no" not in command
    assert "StrictHostKeyChecking=yes" in command

    def as_before(**kwargs: Any) -> Any:  # control: without the fix, runner's default wins
        kwargs["envvars"] = {k: v for k, v in kwargs["envvars"].items() if k not in HKC}
        return ansible_runner.run(**kwargs, verbosity=3)

    before = _ssh_command(root, as_before)
    assert before.index("StrictHostKeyChecking=no") < before.index("StrictHostKeyChecking=yes")
