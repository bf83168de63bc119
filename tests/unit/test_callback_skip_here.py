"""The skip-here callback (playbooks/callback_plugins/cutover_skip_here.py): a task whose `when`
is false is skipped in ansible-playbook's main process, not in a forked worker, and the run's
output - every result, registered value, no_log mask, error and recap - is the same as Ansible's
own way (CUTOVER_SKIP_IN_WORKER=1). Real ansible-playbook runs on localhost."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# A `when` calls the filter `where`, which records the pid of the process that evaluated it.
FILTER = """
import os
def where(value, path):
    with open(path, "a") as out:
        out.write(f"{os.getpid()}\\n")
    return value
class FilterModule:
    def filters(self):
        return {"where": where}
"""

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    flag: false
    secret: hunter2
    pids: "{{ playbook_dir }}/pids"
  tasks:
    - name: skipped and registered
      ansible.builtin.debug: {msg: hi}
      when: flag | where(pids)
      register: r1
    - name: skipped with no_log
      ansible.builtin.debug: {msg: "{{ secret }}"}
      when: flag
      no_log: true
      register: r2
    - name: a skipped include
      ansible.builtin.include_tasks: missing.yml
      when: flag
    - name: a loop decides per item (in the worker)
      ansible.builtin.debug: {msg: "{{ item }}"}
      loop: [1, 2]
      when: flag
    - name: delegated (in the worker)
      ansible.builtin.debug: {msg: d}
      delegate_to: localhost
      when: flag
    - name: run once (in the worker)
      ansible.builtin.debug: {msg: o}
      run_once: true
      when: flag
    - name: an undefined when fails as before
      ansible.builtin.debug: {msg: x}
      when: nope_undefined
      ignore_errors: true
      register: r3
    - name: a true when runs
      ansible.builtin.debug: {msg: ran}
      when: not flag
    - name: a block's false when
      when: flag
      block:
        - name: in the block
          ansible.builtin.set_fact: {from_block: 1}
    - name: what was registered
      ansible.builtin.debug:
        msg: "{{ [r1, r2, r3 is failed, from_block | default('unset')] }}"
"""


@pytest.fixture(scope="module")
def play(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("skip_here")
    (root / "callback_plugins").mkdir()
    shutil.copy(REPO / "playbooks" / "callback_plugins" / "cutover_skip_here.py", root / "callback_plugins")
    (root / "filter_plugins").mkdir()
    (root / "filter_plugins" / "where.py").write_text(FILTER)
    (root / "play.yml").write_text(PLAYBOOK)
    (root / "ansible.cfg").write_text("[defaults]\ncallback_result_format = yaml\nnocolor = true\n")
    return root


def run(root: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[int]]:
    (root / "pids").unlink(missing_ok=True)
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("ansible-playbook")), "play.yml"],
        cwd=root,
        env=os.environ | {"ANSIBLE_CONFIG": str(root / "ansible.cfg")} | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out, _ = proc.communicate(timeout=120)
    pids = [int(p) for p in (root / "pids").read_text().split()] if (root / "pids").exists() else []
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, ""), [p - proc.pid for p in pids]


def test_a_false_when_is_decided_in_the_main_process(play: Path) -> None:
    proc, offsets = run(play)
    assert proc.returncode == 0, proc.stdout
    assert offsets == [0], f"the `when` ran in pid offset(s) {offsets} from ansible-playbook's\n{proc.stdout}"


def test_without_it_the_worker_decides(play: Path) -> None:
    proc, offsets = run(play, CUTOVER_SKIP_IN_WORKER="1")
    assert proc.returncode == 0, proc.stdout
    assert len(offsets) == 1 and offsets[0] != 0, offsets


def test_the_run_says_exactly_what_ansibles_own_way_says(play: Path) -> None:
    here, _ = run(play)
    worker, _ = run(play, CUTOVER_SKIP_IN_WORKER="1")
    assert here.stdout == worker.stdout
    assert "hunter2" not in here.stdout
    assert "false_condition: flag | where(pids)" in here.stdout  # r1, registered as the worker would
    assert "skipped=7" in here.stdout and "ignored=1" in here.stdout
