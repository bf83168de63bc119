"""Closeout documents rendered from receipts of a recorded run, against golden files.

Regenerate the golden files after an intended change with UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from cutover import closeout, receipts
from cutover.cli import main
from wrapper_replay import load_replay

SECRETS = (
    "Fx-db-pw-7c1e9a",
    "fxaccess4d2b8e",
    "Fx-minio-secret-93be1f",
    "fx-files-key-5a0c77",
    "fx-intake-key-e81d42",
)




def _headings(text: str, level: str) -> list[str]:
    return re.findall(rf"^{level} (.+)$", text, flags=re.MULTILINE)


def _golden_scenarios() -> list[str]:
    """Every recording (each has golden documents): the hand-written fixture project's (good,
    broken) and the recordings of real lab runs (real-*: record.py --from-receipts)."""
    return sorted(p.name for p in load_replay().RECORDED.iterdir() if (p / "runs.json").is_file())


@pytest.mark.parametrize("scenario", _golden_scenarios())
def test_documents_match_the_golden_files(tmp_path: Path, scenario: str) -> None:
    replay = load_replay()
    docs = replay.write_scenario(scenario, tmp_path)
    rendered = {
        "scope.md": closeout.render_scope(docs, replay.LOOP_ID),
        "changepack.md": closeout.render_changepack(docs, replay.LOOP_ID),
    }
    for suffix, text in rendered.items():
        golden = replay.GOLDEN / f"{scenario}.{suffix}"
        if os.environ.get("UPDATE_GOLDEN"):
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(text, encoding="utf-8")
        assert text == golden.read_text(encoding="utf-8"), (
            f"{golden} differs (UPDATE_GOLDEN=1 to accept)"
        )


@pytest.mark.parametrize("scenario", _golden_scenarios())
def test_changepack_has_exactly_the_spec_headings(
    tmp_path: Path, scenario: str
) -> None:
    docs = load_replay().write_scenario(scenario, tmp_path)
    text = closeout.render_changepack(docs, "LOOP-X")
    assert _headings(text, "##") == list(closeout.CHANGEPACK_HEADINGS)


@pytest.mark.parametrize("scenario", _golden_scenarios())
def test_loop_record_has_the_seed_shape(tmp_path: Path, scenario: str) -> None:
    docs = load_replay().write_scenario(scenario, tmp_path)
    text = closeout.render_scope(docs, "LOOP-MINT-CUTOVER-20260212")
    front = text.split("---\n")[1]
    for key in ("loop_id", "status", "opened", "closed", "owner", "scope", "repos"):
        assert re.search(rf"^{key}:", front, flags=re.MULTILINE), key
    assert _headings(text, "##") == [
        "Objective",
        "Phases",
        "Done Definition",
        "Baseline Receipts",
        "Closeout",
    ]
    assert _headings(text, "###") == [
        "Outcome",
        "Execution Summary",
        "Post-Cutover State",
        "Recert Receipts",
        "Final Commit Hashes",
    ]


def test_after_a_rollback_the_documents_say_so(tmp_path: Path) -> None:
    docs = load_replay().write_scenario("broken", tmp_path)
    assert closeout.loop_outcome(docs) == "rolled_back"
    scope = closeout.render_scope(docs, "LOOP-X")
    assert "**ROLLED BACK**" in scope
    assert (
        "verify failed (Fail the health gate of the broken release on docker-host: files-api never"
        in scope
    )
    assert (
        "- order-intake: removed by the rollback (not part of the previous release)"
        in scope
    )
    assert "serving `5f1c2aa`; attempted `9b3e1d4`" in scope
    assert (
        "- files-api: healthy (db=ok, minio=ok, status=ok), image mint-modules/artwork:5f1c2aa"
        in scope
    )
    pack = closeout.render_changepack(docs, "LOOP-X")
    assert "Status: EXECUTED — outcome: rolled_back" in pack


def test_closeout_command_selects_the_loop_and_writes_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replay = load_replay()
    replay.write_scenario("good", tmp_path)
    out = tmp_path / "docs"
    assert (
        main(
            [
                "closeout",
                "--loop-id",
                replay.LOOP_ID,
                "--receipts-dir",
                str(tmp_path),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{replay.LOOP_ID}.changepack.md", f"{replay.LOOP_ID}.scope.md"]
    assert (
        main(["closeout", "--loop-id", "LOOP-NOPE", "--receipts-dir", str(tmp_path)])
        == 2
    )
    assert "no receipts of loop 'LOOP-NOPE'" in capsys.readouterr().err


def test_no_fixture_secret_reaches_receipts_or_documents(tmp_path: Path) -> None:
    replay = load_replay()
    docs = replay.write_scenario("broken", tmp_path)
    closeout.write_documents(docs, replay.LOOP_ID, tmp_path / "closeout")
    for path in tmp_path.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            for secret in SECRETS:
                assert secret not in text, f"{secret} in {path}"


def test_select_run_takes_the_latest_run_of_a_loop() -> None:
    rs = [
        {"loop_id": "L", "run_id": "a", "phase": "baseline"},
        {"loop_id": "L", "run_id": "b", "phase": "x"},
        {"loop_id": "M", "run_id": "c", "phase": "y"},
    ]
    assert [r["run_id"] for r in closeout.select_run(rs, "L")] == ["b"]
    assert [r["run_id"] for r in closeout.select_run(rs, "L", "a")] == ["a"]
    assert closeout.select_run(rs, "Z") == []
    assert receipts.SCHEMA == "cutover.receipt/1"


def test_a_value_the_host_could_not_measure_reads_as_unknown_not_none(tmp_path: Path) -> None:
    docs = load_replay().write_scenario("good", tmp_path)
    baseline = next(d for d in docs if d["phase"] == "baseline")
    baseline["result"]["disk_free_mb"] = None  # df gave no figure
    migrate = next(d for d in docs if d["phase"] == "migrate")
    migrate["result"]["database"] = None  # no migrations configured
    scope = closeout.render_scope(docs, "LOOP-X")
    pack = closeout.render_changepack(docs, "LOOP-X")
    assert "disk free ? MB" in scope
    assert "| disk free (MB) | enough | ? |" in pack
    assert "Database `-`, backup" in pack
    assert "None" not in scope + pack and "null" not in pack


def test_the_swap_line_says_why_requests_failed(tmp_path: Path) -> None:
    docs = load_replay().write_scenario("good", tmp_path)
    swap = next(d for d in docs if d["phase"] == "swap")
    swap["result"]["downtime"]["files-api"]["reasons"] = {"HTTP 503": 2, "connection reset": 1}
    scope = closeout.render_scope(docs, "LOOP-X")
    assert "files-api 1.4s/3 failed (HTTP 503: 2, connection reset: 1)" in scope
    assert "quote-page 1.1s/2 failed," in scope or "quote-page 1.1s/2 failed\n" in scope
