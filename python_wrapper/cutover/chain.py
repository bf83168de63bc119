"""Tamper evidence: a hash per receipt, chained through the ledger.

Definition (``HASH_VERSION`` 1)
-------------------------------
For a receipt folder ``<id>/``:

1. ``d(f) = sha256(bytes of file f)`` (lowercase hex) for f in ``output.txt``,
   ``events.jsonl``, ``receipt.md``. receipt.json records them under ``files``.
2. ``J = receipt.json's object without its "hash" key``, serialised canonically:
   ``json.dumps(J, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` encoded as
   UTF-8. ``J`` contains ``files`` (step 1), ``prev_receipt`` and ``prev_hash``.
3. The manifest is the text ``"<name>\\t<digest>\\n"`` for ``output.txt``, ``events.jsonl``,
   ``receipt.md`` (in that order, digests of step 1), then ``"receipt.json\\t" + sha256(J)
   + "\\n"``.
4. ``hash = sha256(manifest)``, stored as receipt.json's ``hash``.

Chain: receipts are ordered by ``ledger.csv`` (one row per receipt, appended in the order
they were written). Each receipt's ``prev_receipt`` is the id of the row before it (``null``
for the first) and ``prev_hash`` that receipt's ``hash`` (64 zeros, ``GENESIS``, for the first).

Verification walks the ledger and, for each receipt, first checks its link to the previous
one (a wrong ``prev_hash`` means the previous receipt was rewritten; a wrong ``prev_receipt``
means rows were removed or reordered), then its own files. The first problem found names
the receipt (and file) that was edited, removed or reordered. A consistent rewrite of the
*last* receipt cannot be detected from the folder alone: anchor ``verify``'s printed tip
hash elsewhere (a ticket, a commit) when that matters.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HASH_VERSION = 1
GENESIS = "0" * 64
HASHED_FILES = ("output.txt", "events.jsonl", "receipt.md")
LEDGER_HEADER = (
    "run_id",
    "created_at",
    "started_at",
    "finished_at",
    "status",
    "prompt_file",
    "result_file",
    "error",
    "context_used",
)


def canonical_json(doc: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in doc.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode(
        "utf-8"
    )


def receipt_hash(file_digests: Mapping[str, str], doc: Mapping[str, Any]) -> str:
    manifest = "".join(f"{name}\t{file_digests[name]}\n" for name in HASHED_FILES)
    manifest += f"receipt.json\t{hashlib.sha256(canonical_json(doc)).hexdigest()}\n"
    return hashlib.sha256(manifest.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Problem:
    receipt: str
    kind: str  # edited | removed | reordered | unlisted | ledger
    file: str
    detail: str

    def __str__(self) -> str:
        where = f"{self.receipt}/{self.file}" if self.file else self.receipt
        return f"{self.kind}: {where}: {self.detail}"


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    problems: list[Problem]
    tip: str | None
    tip_hash: str

    @property
    def ok(self) -> bool:
        return not self.problems


def _read_ledger(receipts_dir: Path) -> tuple[list[dict[str, str]], Problem | None]:
    path = receipts_dir / "ledger.csv"
    if not path.exists():
        return [], None
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or tuple(reader.fieldnames) != LEDGER_HEADER:
            return [], Problem("ledger.csv", "ledger", "", f"header must be {','.join(LEDGER_HEADER)}")
        return list(reader), None


def _check_receipt(folder: Path, receipt_id: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Integrity of one folder: its files against receipt.json, receipt.json against its hash."""
    problems: list[Problem] = []
    rj = folder / "receipt.json"
    if not rj.exists():
        return None, [Problem(receipt_id, "removed", "receipt.json", "file is missing")]
    try:
        doc: dict[str, Any] = json.loads(rj.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return None, [Problem(receipt_id, "edited", "receipt.json", f"not valid JSON ({exc})")]
    if doc.get("id") != receipt_id:
        problems.append(Problem(receipt_id, "edited", "receipt.json", f"id field is {doc.get('id')!r}"))
    recorded = doc.get("files") or {}
    actual: dict[str, str] = {}
    for name in HASHED_FILES:
        path = folder / name
        if not path.exists():
            problems.append(Problem(receipt_id, "removed", name, "file is missing"))
            continue
        actual[name] = file_sha256(path)
        if recorded.get(name) != actual[name]:
            problems.append(
                Problem(
                    receipt_id,
                    "edited",
                    name,
                    f"sha256 {actual[name][:12]}… != recorded {str(recorded.get(name, ''))[:12]}…",
                )
            )
    if problems:
        return doc, problems
    if receipt_hash(actual, doc) != doc.get("hash"):
        problems.append(Problem(receipt_id, "edited", "receipt.json", "content does not match its hash"))
    return doc, problems


def verify(receipts_dir: Path) -> VerifyResult:
    rows, ledger_problem = _read_ledger(receipts_dir)
    if ledger_problem:
        return VerifyResult(0, [ledger_problem], None, GENESIS)
    problems: list[Problem] = []
    order = [row["run_id"] for row in rows]
    position = {rid: i for i, rid in enumerate(order)}
    prev_id: str | None = None
    prev_hash = GENESIS
    for index, row in enumerate(rows):
        rid = row["run_id"]
        if position.get(rid) != index:
            problems.append(Problem(rid, "ledger", "", f"listed twice in ledger.csv (row {index + 2})"))
            continue
        folder = receipts_dir / rid
        if not folder.is_dir():
            problems.append(
                Problem(rid, "removed", "", f"in ledger.csv (row {index + 2}) but its folder is gone")
            )
            prev_id, prev_hash = rid, ""
            continue
        doc, own = _check_receipt(folder, rid)
        if doc is not None and prev_hash:
            claimed_prev = doc.get("prev_receipt")
            if claimed_prev != prev_id:
                if claimed_prev in position and position[claimed_prev] > index:
                    problems.append(
                        Problem(
                            rid,
                            "reordered",
                            "",
                            f"chained after {claimed_prev}, which the ledger lists "
                            f"later (row {position[claimed_prev] + 2})",
                        )
                    )
                elif claimed_prev and claimed_prev not in position:
                    gone = (
                        "folder still present"
                        if (receipts_dir / claimed_prev).exists()
                        else "folder gone too"
                    )
                    problems.append(
                        Problem(
                            claimed_prev,
                            "removed",
                            "",
                            f"{rid} is chained after it, but its ledger row is missing ({gone})",
                        )
                    )
                else:
                    problems.append(
                        Problem(
                            rid,
                            "reordered",
                            "",
                            f"chained after {claimed_prev or '(start)'}, "
                            f"ledger says after {prev_id or '(start)'}",
                        )
                    )
            elif doc.get("prev_hash") != prev_hash and prev_id is not None:
                problems.append(
                    Problem(
                        prev_id,
                        "edited",
                        "receipt.json",
                        f"rewritten: its hash differs from the one {rid} recorded",
                    )
                )
            elif doc.get("prev_hash") != prev_hash:
                problems.append(Problem(rid, "edited", "receipt.json", "first receipt must chain to GENESIS"))
        problems.extend(own)
        if doc is not None:
            for key, field in (("status", "status"), ("created_at", "generated")):
                if row.get(key) != doc.get(field):
                    problems.append(
                        Problem(
                            rid,
                            "ledger",
                            "ledger.csv",
                            f"{key} {row.get(key)!r} != receipt's {doc.get(field)!r}",
                        )
                    )
        prev_id = rid
        prev_hash = str(doc.get("hash", "")) if doc is not None and not own else ""
    listed = set(order)
    for folder in sorted(p for p in receipts_dir.iterdir() if p.is_dir()) if receipts_dir.exists() else []:
        if folder.name.startswith("CAP-") and folder.name not in listed:
            problems.append(Problem(folder.name, "unlisted", "", "folder has no row in ledger.csv"))
    tip = order[-1] if order else None
    return VerifyResult(len(rows), problems, tip, prev_hash or "")
