"""Redaction learns the secret values of the host's env file (cutover_env_file), in memory only.

The end-to-end test runs a real playbook through the wrapper (ansible-runner, the local
connection standing in for SSH to the host): the handoff task of cutover_common hands the
"host's" env file to the wrapper's pipe, then a careless task prints the whole file and
publishes a value in set_stats. A value that exists only in that file (not in .lab/secrets.env,
not in the environment) must appear in no artifact: receipts (receipt.json, receipt.md,
output.txt, events.jsonl, ledger), and the wrapper's printed output.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
from pathlib import Path

import pytest
from cutover import redact, secrets_pipe
from cutover.project import InventoryFacts
from cutover.redact import Redactor
from cutover.runner import RunContext, run_playbook

ROOT = Path(__file__).resolve().parents[2]
HOST_ONLY = "h0st-0nly-Cred-7f3a9c21"  # cutover_secret_env names it; the name looks harmless
TOKEN = "tok-4b1d9e77aa"  # a key whose name looks secret
DB_PASSWORD = "pg-pass-93ac10"  # only inside a URL, under a harmless name
PUBLIC = "artwork-intake"  # not a secret: stays readable

ENV_TEXT = (
    f"UPSTREAM_CRED={HOST_ONLY}\nPAYMENT_TOKEN={TOKEN}\nDB_URL=postgresql://app:{DB_PASSWORD}@db:5432/app\n"
    f"BUCKET={PUBLIC}\n"
)


def test_secret_values_of_an_env_text() -> None:
    found = redact.secrets_from_env_text(ENV_TEXT, ["UPSTREAM_CRED"], ["FILES_API_KEY"])

    assert set(found) == {HOST_ONLY, TOKEN, DB_PASSWORD}


def test_the_redactor_learns_during_a_run() -> None:
    red = Redactor(["already-known-1"])
    red.add([HOST_ONLY])

    assert red.text(f"a {HOST_ONLY} b already-known-1") == "a *** b ***"
    assert red.data({"msg": json.dumps({"v": HOST_ONLY})}) == {"msg": '{"v": "***"}'}


def test_the_pipe_hands_each_hosts_file_to_the_callback_before_wait_returns() -> None:
    learned: dict[str, str] = {}
    with secrets_pipe.SecretsPipe(lambda host, text: learned.update({host: text})) as pipe:
        from_action = ROOT / "roles" / "cutover_common" / "action_plugins" / "cutover_secrets_handoff.py"
        namespace: dict[str, object] = {}
        source = from_action.read_text().split("class ActionModule")[0]
        exec(compile(source.replace("from ansible.plugins.action import ActionBase", ""), str(from_action), "exec"),
             namespace)  # fmt: skip  # the action's send(), without Ansible's ActionBase
        send = namespace["send"]
        threads = [
            threading.Thread(target=send, args=(pipe.path, (json.dumps(
                {"host": f"h{i}", "content": base64.b64encode(ENV_TEXT.encode() * 200).decode()}) + "\n").encode()))
            for i in range(4)
        ]  # fmt: skip  # four hosts at once, each message far beyond PIPE_BUF
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(pipe.wait(f"h{i}", timeout=5) for i in range(4))
    assert learned == {f"h{i}": ENV_TEXT * 200 for i in range(4)}


def test_a_handoff_result_event_is_recognised() -> None:
    ok = {"event": "runner_on_ok", "event_data": {"task_action": "cutover_secrets_handoff", "host": "h1"}}

    assert secrets_pipe.is_handoff_result(ok) == "h1"
    assert secrets_pipe.is_handoff_result({**ok, "event": "runner_on_skipped"}) is None
    assert secrets_pipe.is_handoff_result({"event": "runner_on_ok", "event_data": {"task_action": "debug"}}) is None


class _Quiet:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def phase_start(self, phase: str, check: bool) -> None: ...
    def event(self, phase: str, event: object) -> None:
        self.seen.append(json.dumps(event))

    def phase_end(self, line: object) -> None: ...
    def message(self, text: str) -> None:
        self.seen.append(text)

    def summary(self, lines: object, footer: str) -> None: ...


LEAKY_PLAY = """\
- name: A phase that leaks the env file by mistake
  hosts: docker_hosts
  gather_facts: false
  tasks:
    - name: Hand the host's env file to the wrapper's redaction
      ansible.builtin.include_role:
        name: cutover_common
        tasks_from: secrets_handoff
    - name: A careless task prints every value of the host's env file
      ansible.builtin.debug:
        msg: "{{ lookup('ansible.builtin.file', cutover_env_file) }}"
    - name: And publishes one
      ansible.builtin.set_stats:
        data: {cutover_verify: {leak: "{{ lookup('ansible.builtin.file', cutover_env_file).split('\\n')[0] }}"}}
"""


@pytest.mark.skipif(not (Path(sys.executable).parent / "ansible-playbook").exists(), reason="needs .venv")
def test_a_secret_only_in_the_hosts_env_file_appears_in_no_artifact(tmp_path: Path) -> None:
    host_env = tmp_path / "host" / "app.env"  # the "host's" file: the local connection reads it
    host_env.parent.mkdir()
    host_env.write_text(ENV_TEXT)
    host_env.chmod(0o600)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"docker_hosts": {"hosts": {"h1": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "cutover_env_file": str(host_env)}}}}))  # fmt: skip
    play = tmp_path / "leaky.yml"
    play.write_text(LEAKY_PLAY)
    for where in (os.environ.values(), [(ROOT / ".lab" / "secrets.env").read_text()]
                  if (ROOT / ".lab" / "secrets.env").exists() else []):  # fmt: skip
        assert not any(HOST_ONLY in v for v in where)  # known nowhere on the controller
    reporter = _Quiet()
    ctx = RunContext(
        root=ROOT,
        inventory=InventoryFacts(path=inventory, secret_env=["UPSTREAM_CRED"]),
        receipts_dir=tmp_path / "receipts",
        redactor=Redactor([]),  # knows nothing before the run
        reporter=reporter,  # type: ignore[arg-type]
        run_id="20260101T000000Z-secret",
        loop_id="LOOP-T",
    )

    run, doc = run_playbook(ctx, "verify", str(play), {}, check=False)

    assert run.rc == 0, run.stdout[-3000:]
    artifacts = {p: p.read_text(errors="replace") for p in (tmp_path / "receipts").rglob("*") if p.is_file()}
    assert artifacts and doc is not None
    everything = "\n".join([*artifacts.values(), run.stdout, *reporter.seen, json.dumps(doc)])
    assert "A careless task prints" in everything and "***" in everything  # the leak happened, masked
    assert PUBLIC in everything  # a value that is no secret stays readable
    for secret in (HOST_ONLY, TOKEN, DB_PASSWORD):
        assert secret not in everything
        assert base64.b64encode(secret.encode()).decode()[:12] not in everything
    assert "content" not in json.dumps([e for e in run.events if "handoff" in json.dumps(e).lower()])


def test_no_mint_names_in_the_packages_defaults_or_help(capsys: pytest.CaptureFixture[str]) -> None:
    from cutover.cli import build_parser

    for path in [*(ROOT / "roles").glob("cutover_*/defaults/main.yml"),
                 *(ROOT / "roles").glob("cutover_*/meta/argument_specs.yml")]:  # fmt: skip
        lines = [ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith("#")]
        assert not [ln for ln in lines if "mint" in ln.lower()], path
    parser = build_parser()
    texts = [parser.format_help()]
    for action in parser._subparsers._group_actions:
        texts += [sub.format_help() for sub in action.choices.values()]
    for text in texts:
        assert "mint" not in text.lower() and "ORDER_INTAKE" not in text and "FILES_API" not in text
