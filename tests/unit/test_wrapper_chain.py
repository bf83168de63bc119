"""The hash chain and `verify`: edits, removals and reorderings are named (no lab needed)."""

from __future__ import annotations

import csv
import itertools
import json
import shutil
from pathlib import Path

import pytest
from cutover import chain
from cutover.cli import main
from wrapper_replay import load_replay


@pytest.fixture
def trail(tmp_path: Path) -> tuple[Path, list[str]]:
    """Two runs' worth of receipts (good then broken) in one folder: 17 chained receipts."""
    replay = load_replay()
    docs = replay.write_scenario("good", tmp_path)
    for i, run in enumerate(replay.load_runs("broken")):
        run.run_id = "20260212T020000Z-second"
        docs.append(
            __import__("cutover.receipts", fromlist=["x"]).write_receipt(
                tmp_path,
                run,
                now=run.finished,
                receipt_id=replay.receipt_id(100 + i, run),
            )
        )
    return tmp_path, [d["id"] for d in docs]


def _rows(folder: Path) -> list[list[str]]:
    with (folder / "ledger.csv").open(newline="") as fh:
        return list(csv.reader(fh))


def _write_rows(folder: Path, rows: list[list[str]]) -> None:
    with (folder / "ledger.csv").open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def test_an_untouched_trail_verifies(
    trail: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, ids = trail
    result = chain.verify(folder)
    assert result.ok, result.problems
    assert result.checked == len(ids) == 17
    assert main(["receipts", "verify", "--receipts-dir", str(folder)]) == 0
    assert "OK: 17 receipts" in capsys.readouterr().out


def test_each_receipt_chains_to_the_one_before(trail: tuple[Path, list[str]]) -> None:
    folder, ids = trail
    docs = [json.loads((folder / i / "receipt.json").read_text()) for i in ids]
    assert docs[0]["prev_receipt"] is None and docs[0]["prev_hash"] == chain.GENESIS
    for before, after in itertools.pairwise(docs):
        assert after["prev_receipt"] == before["id"]
        assert after["prev_hash"] == before["hash"]


def test_the_hash_follows_the_documented_definition(
    trail: tuple[Path, list[str]],
) -> None:
    import hashlib

    folder, ids = trail
    doc = json.loads((folder / ids[3] / "receipt.json").read_text())
    body = {k: v for k, v in doc.items() if k != "hash"}
    canon = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    manifest = (
        "".join(
            f"{n}\t{hashlib.sha256((folder / ids[3] / n).read_bytes()).hexdigest()}\n"
            for n in ("output.txt", "events.jsonl", "receipt.md")
        )
        + f"receipt.json\t{hashlib.sha256(canon).hexdigest()}\n"
    )
    assert doc["hash"] == hashlib.sha256(manifest.encode()).hexdigest()


def test_one_byte_edit_of_output_names_that_receipt_and_file(
    trail: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, ids = trail
    target = folder / ids[5] / "output.txt"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    result = chain.verify(folder)
    first = result.problems[0]
    assert (first.receipt, first.kind, first.file) == (ids[5], "edited", "output.txt")
    # the audit trail is broken: ExitCode.CHAIN_BROKEN
    assert main(["receipts", "verify", "--receipts-dir", str(folder)]) == 5
    out = capsys.readouterr().out
    assert f"BROKEN: first problem at {ids[5]} (output.txt)" in out


@pytest.mark.parametrize("name", ["events.jsonl", "receipt.md"])
def test_edits_of_other_files_are_named(
    trail: tuple[Path, list[str]], name: str
) -> None:
    folder, ids = trail
    path = folder / ids[2] / name
    path.write_text(path.read_text().replace("e", "E", 1))
    first = chain.verify(folder).problems[0]
    assert (first.receipt, first.file) == (ids[2], name)


def test_editing_receipt_json_is_caught(trail: tuple[Path, list[str]]) -> None:
    folder, ids = trail
    path = folder / ids[4] / "receipt.json"
    doc = json.loads(path.read_text())
    doc["status"] = "done" if doc["status"] == "failed" else "failed"
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    first = chain.verify(folder).problems[0]
    assert (first.receipt, first.file) == (ids[4], "receipt.json")


def test_a_consistent_rewrite_is_caught_by_the_next_receipt(
    trail: tuple[Path, list[str]],
) -> None:
    """Rewrite a receipt and recompute its own digests and hash: its successor still disagrees."""
    folder, ids = trail
    rdir = folder / ids[6]
    (rdir / "output.txt").write_text("all good, trust me\n")
    doc = json.loads((rdir / "receipt.json").read_text())
    doc["files"]["output.txt"] = chain.file_sha256(rdir / "output.txt")
    doc["hash"] = chain.receipt_hash(doc["files"], doc)
    (rdir / "receipt.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    first = chain.verify(folder).problems[0]
    assert (first.receipt, first.kind) == (ids[6], "edited")
    assert ids[7] in first.detail


def test_a_removed_receipt_folder_is_named(trail: tuple[Path, list[str]]) -> None:
    folder, ids = trail
    shutil.rmtree(folder / ids[9])
    first = chain.verify(folder).problems[0]
    assert (first.receipt, first.kind) == (ids[9], "removed")


def test_a_receipt_removed_with_its_ledger_row_is_named(
    trail: tuple[Path, list[str]],
) -> None:
    folder, ids = trail
    shutil.rmtree(folder / ids[9])
    _write_rows(folder, [r for r in _rows(folder) if r[0] != ids[9]])
    first = chain.verify(folder).problems[0]
    assert (first.receipt, first.kind) == (ids[9], "removed")


def test_a_removed_file_is_named(trail: tuple[Path, list[str]]) -> None:
    folder, ids = trail
    (folder / ids[1] / "events.jsonl").unlink()
    first = chain.verify(folder).problems[0]
    assert (first.receipt, first.kind, first.file) == (
        ids[1],
        "removed",
        "events.jsonl",
    )


def test_reordered_ledger_rows_are_named(trail: tuple[Path, list[str]]) -> None:
    folder, ids = trail
    rows = _rows(folder)
    rows[4], rows[5] = rows[5], rows[4]  # receipts ids[3] and ids[4]
    _write_rows(folder, rows)
    first = chain.verify(folder).problems[0]
    assert first.kind == "reordered"
    assert first.receipt == ids[4]


def test_a_folder_missing_from_the_ledger_is_reported(
    trail: tuple[Path, list[str]],
) -> None:
    folder, ids = trail
    _write_rows(folder, _rows(folder)[:-1])
    problems = chain.verify(folder).problems
    assert [(p.receipt, p.kind) for p in problems] == [(ids[-1], "unlisted")]


def test_an_empty_folder_verifies(tmp_path: Path) -> None:
    assert chain.verify(tmp_path).ok
