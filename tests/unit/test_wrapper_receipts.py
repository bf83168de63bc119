"""Receipt ids, receipt.md / receipt.json / ledger rendering (no lab needed)."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cutover import receipts
from wrapper_replay import load_replay

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wrapper"
ID_RE = r"^CAP-[0-9]{8}-[0-9]{6}__cutover\.[a-z]+__R[a-z0-9]+$"


replay = load_replay()


def test_receipt_id_matches_the_spec_format() -> None:
    now = datetime(2026, 2, 12, 1, 15, 35, tzinfo=UTC)
    rid = receipts.new_receipt_id("baseline", now)
    assert rid.startswith("CAP-20260212-011535__cutover.baseline__R")
    assert len(rid.rsplit("__R", 1)[1]) == 10
    import re

    assert re.match(ID_RE, rid)
    assert receipts.RECEIPT_ID_RE.pattern == ID_RE


def test_receipt_ids_are_unique_and_lowercase() -> None:
    now = datetime.now(UTC)
    ids = {receipts.new_receipt_id("swap", now) for _ in range(200)}
    assert len(ids) == 200
    assert all(
        i.rsplit("__R", 1)[1].islower() or i.rsplit("__R", 1)[1].isdigit() for i in ids
    )


@pytest.mark.parametrize("phase", ["", "Baseline", "pre-flight", "x.y"])
def test_receipt_id_rejects_bad_phase_names(phase: str) -> None:
    with pytest.raises(ValueError, match="phase"):
        receipts.new_receipt_id(phase, datetime.now(UTC))


def test_a_receipt_folder_holds_the_four_files_and_a_ledger_row(tmp_path: Path) -> None:
    docs = replay.write_scenario("good", tmp_path)
    assert [d["capability"] for d in docs] == [
        "cutover.baseline",
        "cutover.prep",
        "cutover.build",
        "cutover.migrate",
        "cutover.swap",
        "cutover.verify",
        "cutover.recert",
        "cutover.closeout",
    ]
    first = tmp_path / docs[0]["id"]
    assert sorted(p.name for p in first.iterdir()) == [
        "events.jsonl",
        "output.txt",
        "receipt.json",
        "receipt.md",
    ]
    with (tmp_path / "ledger.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == [
        "run_id",
        "created_at",
        "started_at",
        "finished_at",
        "status",
        "prompt_file",
        "result_file",
        "error",
        "context_used",
    ]
    assert [r[0] for r in rows[1:]] == [d["id"] for d in docs]
    assert all(r[4] == "done" for r in rows[1:])


def test_receipt_md_has_the_spec_table_and_the_output_digest(tmp_path: Path) -> None:
    doc = replay.write_scenario("good", tmp_path)[0]
    md = (tmp_path / doc["id"] / "receipt.md").read_text()
    output = (tmp_path / doc["id"] / "output.txt").read_bytes()
    for label in (
        "Run ID",
        "Capability",
        "Status",
        "Exit Code",
        "Generated",
        "Context",
        "Command",
        "CWD",
        "Args",
        "Start",
        "End",
    ):
        assert f"| {label} |" in md, label
    assert "| Status | done |" in md
    assert "| Generated | 2026-02-12T01:16:05Z |" in md
    assert f"| output.txt | `{hashlib.sha256(output).hexdigest()}` |" in md
    assert "## Inputs" in md and "## Outputs" in md and "## Timestamps" in md


def test_receipt_json_carries_stats_results_and_figures(tmp_path: Path) -> None:
    docs = {d["phase"]: d for d in replay.write_scenario("good", tmp_path)}
    base = json.loads((tmp_path / docs["baseline"]["id"] / "receipt.json").read_text())
    assert base["stats"]["docker-host"]["failures"] == 0
    assert base["stats"]["docker-host"]["ok"] >= 3
    assert base["result"]["current"]["release"] == "5f1c2aa"
    assert docs["prep"]["gates"][0] == {
        "service": "files-api",
        "module": "artwork",
        "gate": "typecheck",
        "rc": 0,
        "ok": True,
        "duration_s": 2.1,
    }
    assert docs["prep"]["commits"]["release"] == "0ce4de6"
    assert docs["build"]["images"][0]["image_id"].startswith("sha256:")
    assert docs["swap"]["downtime"]["files-api"]["longest_gap_s"] == 1.4
    assert docs["verify"]["smoke"]["summary"] == "6 passed, 2 skipped"
    assert (
        docs["migrate"]["migrations"]["applied"][0]["version"]
        == "20260212_seed_metadata"
    )
    assert docs["verify"]["timestamps"]["duration_s"] == 35.0


def test_a_failed_phase_writes_a_failed_receipt_with_the_task_and_message(
    tmp_path: Path,
) -> None:
    docs = {d["phase"]: d for d in replay.write_scenario("broken", tmp_path)}
    verify = docs["verify"]
    assert verify["status"] == "failed"
    assert verify["exit_code"] != 0
    assert verify["failed_tasks"] == [
        {
            "host": "docker-host",
            "task": "Fail the health gate of the broken release",
            "action": "ansible.builtin.fail",
            "unreachable": False,
            "msg": "files-api never became healthy: minio=error (bucket env key missing)",
        }
    ]
    md = (tmp_path / verify["id"] / "receipt.md").read_text()
    assert "| Status | failed |" in md and "## Failed Tasks" in md
    assert docs["rollback"]["capability"] == "cutover.rollback"
    assert docs["rollback"]["result"]["outcome"] == "rolled_back"
    ledger = (tmp_path / "ledger.csv").read_text()
    assert "files-api never became healthy" in ledger


def test_summarize_events_ignores_ignored_failures() -> None:
    events = [
        {"event": "playbook_on_task_start", "event_data": {"task": "t"}},
        {
            "event": "runner_on_failed",
            "event_data": {
                "host": "h",
                "task": "t",
                "ignore_errors": True,
                "res": {"msg": "x"},
            },
        },
        {
            "event": "runner_on_unreachable",
            "event_data": {"host": "h", "task": "ssh", "res": {"msg": "no route"}},
        },
        {
            "event": "playbook_on_stats",
            "event_data": {
                "ok": {"h": 1},
                "dark": {"h": 1},
                "artifact_data": {"cutover_x": {"a": 1}},
            },
        },
    ]
    s = receipts.summarize_events(events, "x")
    assert s["failed_tasks"] == [
        {
            "host": "h",
            "task": "ssh",
            "action": "",
            "unreachable": True,
            "msg": "no route",
        }
    ]
    assert s["result"] == {"a": 1}
    assert s["stats"]["h"]["dark"] == 1 and s["stats"]["h"]["failures"] == 0


def test_a_no_log_task_that_changed_the_host_counts_as_changed() -> None:
    """A no_log result reaches the events censored (no `changed`): its output line decides, and
    a no_log loop changed the host when one of its items did."""
    from cutover import stream

    censored = {"censored": "the output has been hidden due to the fact that 'no_log: true' was specified"}

    def ok(task: str, stdout: str, res: dict[str, object], kind: str = "runner_on_ok") -> dict[str, object]:
        return {"event": kind, "stdout": stdout,
                "event_data": {"host": "docker-host", "task_uuid": task, "res": res}}  # fmt: skip

    events = [
        ok("backup", "\x1b[0;33mchanged: [docker-host]\x1b[0m", censored),
        ok("apply", "changed: [docker-host] => (item=(censored due to no_log))", censored, "runner_item_on_ok"),
        ok("apply", "", censored),
        ok("read", "ok: [docker-host]", censored),
        ok("loop-read", "ok: [docker-host] => (item=(censored due to no_log))", censored, "runner_item_on_ok"),
        ok("loop-read", "", censored),
        ok("plain", "changed: [docker-host]", {"changed": False}),  # the result itself wins
        ok("plain-changed", "", {"changed": True}),
    ]
    row = stream.host_stats(events)["docker-host"]
    assert (row["ok"], row["changed"]) == (6, 3)
