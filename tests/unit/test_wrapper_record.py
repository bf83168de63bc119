"""record.py --from-receipts: a real run's receipts become a recording the unit tests replay
(tests/fixtures/wrapper/recorded/<scenario>/). The lab is not needed: the "real run" here is a
`cutover run` of the fixture project (real ansible-runner runs on localhost)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from cutover import closeout, contract, receipts
from cutover.cli import main
from cutover.project import PHASES, InventoryFacts
from cutover.redact import Redactor
from cutover.runner import RunContext, run_cutover
from wrapper_replay import load_recorder, load_replay

PROJECT = Path(__file__).resolve().parents[1] / "fixtures" / "wrapper" / "project"
SECRETS = PROJECT / ".lab" / "secrets.env"


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end)]


def test_a_real_runs_receipts_become_a_recording_that_replays_the_same_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CUTOVER_HOME", str(PROJECT))
    real = tmp_path / "receipts"
    inventory = str(PROJECT / "inventory" / "hosts.yml")
    assert main(["run", "-i", inventory, "--ref", "release-broken", "--receipts-dir", str(real)]) == 3
    capsys.readouterr()
    original = receipts.load_all(real)
    record, replay = load_recorder(), load_replay()

    spec = record.record_from_receipts(real, "broken", out_root=tmp_path / "recorded", secrets_file=SECRETS)

    assert (spec["source"], spec["exit_code"], spec["outcome"]) == ("real", 3, "rolled_back")
    assert spec["masked_again"] == 0  # the wrapper had redacted everything already
    assert [r["phase"] for r in spec["runs"]] == [d["phase"] for d in original]
    assert spec["meta"]["inventory"]["path"] == f"{record.REPLAY_ROOT}/inventory/hosts.yml"
    folder = tmp_path / "recorded" / "broken"
    written = "".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.*.*")))  # events, stdout
    assert spec["recorded_from"]["run_id"] == original[0]["run_id"]  # runs.json keeps where it came from
    for machine_specific in (str(original[0]["run_id"]), str(original[0]["loop_id"]), str(PROJECT.parent)):
        assert machine_specific not in written
    assert socket.gethostname() not in written or len(socket.gethostname()) <= 3
    assert replay.RUN_ID in written

    replayed = replay.write_scenario("broken", tmp_path / "replayed", recorded=tmp_path / "recorded")
    assert contract.check_receipts_dir(tmp_path / "replayed") == []
    before = closeout.render_scope(original, "L")
    after = closeout.render_scope(replayed, "L")
    assert _section(after, "### Outcome", "### Recert Receipts") == _section(
        before, "### Outcome", "### Recert Receipts"
    )
    assert "**ROLLED BACK**" in after


def _replayed_run(tmp_path: Path) -> Path:
    """Receipts of a run replayed from the hand-written recordings (their recert containers
    have a 'service' key that no role publishes)."""
    ctx = RunContext(
        root=PROJECT,
        inventory=InventoryFacts(path=PROJECT / "inventory" / "hosts.yml", project="mint"),
        receipts_dir=tmp_path / "receipts",
        redactor=Redactor([]),
        reporter=load_replay().QuietReporter(),
        run_id="20260301T101010Z-abc123",
        loop_id="LOOP-MINT-CUTOVER-20260301-101010",
        runner_fn=load_replay().ReplayRunner(),
    )
    assert run_cutover(ctx, list(PHASES)).outcome == "succeeded"
    return tmp_path / "receipts"


def test_a_run_that_breaks_the_contract_is_not_recorded_unless_asked(tmp_path: Path) -> None:
    record = load_recorder()
    receipts_dir = _replayed_run(tmp_path)
    with pytest.raises(record.RecordingRefused, match=r"cutover_recert\.containers\[0\]\.service: unknown key"):
        record.record_from_receipts(receipts_dir, "good", out_root=tmp_path / "recorded")
    assert not (tmp_path / "recorded").exists()
    spec = record.record_from_receipts(receipts_dir, "good", out_root=tmp_path / "recorded", check_contract=False)
    assert (spec["exit_code"], spec["outcome"]) == (0, "succeeded")


def test_a_broken_chain_or_an_unknown_run_is_not_recorded(tmp_path: Path) -> None:
    record = load_recorder()
    receipts_dir = _replayed_run(tmp_path)
    with pytest.raises(record.RecordingRefused, match="no receipts of run R-nope"):
        record.record_from_receipts(receipts_dir, "x", run_id="R-nope", out_root=tmp_path, check_contract=False)
    first = receipts.load_all(receipts_dir)[0]
    (receipts_dir / first["id"] / "output.txt").write_text("edited\n", encoding="utf-8")
    with pytest.raises(record.RecordingRefused, match="the hash chain is broken"):
        record.record_from_receipts(receipts_dir, "x", out_root=tmp_path, check_contract=False)


def test_the_scrubber_makes_a_recording_independent_of_the_machine() -> None:
    record, replay = load_recorder(), load_replay()
    pairs = record._replacements("20260301T101010Z-abc123", "LOOP-X-1", "/home/ops/cutover", "ctl-7", "ops")
    scrub = record.scrubber(pairs, Redactor(["s3cr3t-value"]).text)
    event = {
        "stdout": "run 20260301T101010Z-abc123 (loop LOOP-X-1) on ctl-7 by ops@ctl-7 with s3cr3t-value",
        "event_data": {
            "playbook": "/home/ops/cutover/playbooks/build.yml",
            "sibling": "/home/ops/cutover-old/x",
            "host": "ctl-7.example",
            "private": "/tmp/cutover-build-k2j_x9/env",
            "n": [1, True, None],
        },
    }
    assert scrub(event) == {
        "stdout": f"run {replay.RUN_ID} (loop {replay.LOOP_ID}) on controller by operator@controller with ***",
        "event_data": {
            "playbook": "/srv/cutover/playbooks/build.yml",
            "sibling": "/home/ops/cutover-old/x",
            "host": "controller.example",
            "private": "/tmp/cutover-build-private/env",
            "n": [1, True, None],
        },
    }


def test_the_recordings_in_the_repository_say_where_they_come_from() -> None:
    for folder in sorted(load_replay().RECORDED.iterdir()):
        spec = json.loads((folder / "runs.json").read_text(encoding="utf-8"))
        assert spec.get("source", "fixture project") in ("real", "fixture project"), folder.name
