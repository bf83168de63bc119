"""The closeout documents of a fleet (issue 12): the batch order and one row per host (release
before -> after, image ids, health, downtime, outcome), from the receipts of real fleet runs
(tests/unit/fixtures/fleet, see its README.md) and edited copies of them. A single host's
documents do not change (the golden files, test_wrapper_closeout.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cutover import closeout, contract, receipts, stream
from cutover.project import PHASES, InventoryFacts
from cutover.redact import Redactor
from cutover.runner import RunContext, run_cutover
from cutover.view import FleetView, run_view
from wrapper_replay import load_replay

FLEET = Path(__file__).resolve().parent / "fixtures" / "fleet"
PROJECT = Path(__file__).resolve().parents[1] / "fixtures" / "wrapper" / "project"
LOOP = "LOOP-MINT-CUTOVER-FLEET"
HOSTS = ["fleet-h2", "fleet-h3", "fleet-h4"]
TABLE_HEAD = (
    "| Host | Batch | Release (before → after) | Image IDs | Health (verify) "
    "| Downtime (longest gap/failed requests) | Outcome |\n|---|---|---|---|---|---|---|\n"
)
# The image ids each host's build found (the same release, built on each host).
IMAGES = {
    "fleet-h2": "files-api d26db82001a5, order-intake 1a0faae87247, quote-page 4ce25da52c2e",
    "fleet-h3": "files-api ccd739234538, order-intake c5556ac77941, quote-page 19aca5998152",
    "fleet-h4": "files-api 92ee9dd10af2, order-intake bdf61b20b3e4, quote-page a5448af96154",
}
PLAN = {"hosts": HOSTS, "batches": [["fleet-h2"], ["fleet-h3", "fleet-h4"]], "serial": [1, 2], "policy": "halt"}


def _run(name: str) -> list[dict[str, Any]]:
    """A recorded fleet run's receipts, in ledger order (their ids begin with the time)."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((FLEET / name).glob("*.json"))]


def _fleet(docs: list[dict[str, Any]]) -> FleetView:
    fleet = run_view(docs, LOOP).fleet
    assert fleet is not None
    return fleet


def _block(text: str) -> str:
    """The fleet's part of a document: from the batch order to the end of the host table."""
    start = text.index("**Batch order**")
    return text[start : text.index("\n\n#", start) + 1]


def _receipt(docs: list[dict[str, Any]], phase: str, nth: int = 0) -> dict[str, Any]:
    return [d for d in docs if d["phase"] == phase][nth]


def _ids(docs: list[dict[str, Any]], phase: str) -> list[str]:
    return [d["id"] for d in docs if d["phase"] == phase]


def _batch_lines(docs: list[dict[str, Any]], failed: str) -> str:
    swap, verify = _ids(docs, "swap"), _ids(docs, "verify")
    return (
        f"- batch 1 (canary): fleet-h2 — passed (swap `{swap[0]}`, verify `{verify[0]}`)\n"
        f"- batch 2: fleet-h3, fleet-h4 — {failed} (swap `{swap[1]}`, verify `{verify[1]}`)\n"
    )


# ---- a real fleet run that succeeded (receipts without the plan: batches from the swap receipts)


def test_a_fleet_that_succeeded_shows_each_host_and_the_batch_order() -> None:
    docs = _run("succeeded")
    fleet = _fleet(docs)
    assert (fleet.from_plan, fleet.policy, fleet.failed_batch) == (False, None, None)
    assert [(b.number, b.hosts, b.status) for b in fleet.batches] == [
        (1, ["fleet-h2"], "passed"),
        (2, ["fleet-h3", "fleet-h4"], "passed"),
    ]
    assert [(h.host, h.batch, h.release_before, h.release_after, h.outcome) for h in fleet.hosts] == [
        ("fleet-h2", 1, "c13e698", "fb44949", "committed"),
        ("fleet-h3", 2, "c13e698", "fb44949", "committed"),
        ("fleet-h4", 2, "c13e698", "fb44949", "committed"),
    ]
    h4 = fleet.hosts[2]
    assert h4.image_ids == [("files-api", "92ee9dd10af2"), ("order-intake", "bdf61b20b3e4"),
                            ("quote-page", "a5448af96154")]  # fmt: skip
    assert (h4.verified, h4.healthy, h4.checked, h4.smoke) == (True, 3, 3, "8 passed")
    assert [(d.service, d.longest_gap_s, d.failed) for d in h4.downtime] == [
        ("files-api", 4.989, 16),
        ("order-intake", 5.062, 17),
        ("quote-page", 5.491, 52),
    ]

    expected = (
        "**Batch order** (from the swap receipts: the run did not record its plan):\n\n"
        + _batch_lines(docs, "passed")
        + "\n"
        + TABLE_HEAD
        + f"| fleet-h2 | 1 (canary) | c13e698 → fb44949 | {IMAGES['fleet-h2']} | ok: 3/3 healthy, smoke 8 passed "
        "| files-api 2.634s/11, order-intake 0.0s/0, quote-page 3.299s/49 | committed |\n"
        f"| fleet-h3 | 2 | c13e698 → fb44949 | {IMAGES['fleet-h3']} | ok: 3/3 healthy, smoke 8 passed "
        "| files-api 3.369s/11, order-intake 0.0s/0, quote-page 5.872s/54 | committed |\n"
        f"| fleet-h4 | 2 | c13e698 → fb44949 | {IMAGES['fleet-h4']} | ok: 3/3 healthy, smoke 8 passed "
        "| files-api 4.989s/16, order-intake 5.062s/17, quote-page 5.491s/52 | committed |\n"
    )
    scope, pack = closeout.render_scope(docs, LOOP), closeout.render_changepack(docs, LOOP)
    assert _block(scope) == expected
    assert _block(pack) == expected
    # where: after the run's execution summary (loop record), after the cutover sequence (change pack)
    assert "6. **Verify**: health 3/3 ok; smoke: 8 passed\n\n**Batch order**" in scope
    assert scope.index("**Batch order**") < scope.index("### Post-Cutover State")
    assert pack.index("## Cutover Sequence") < pack.index("**Batch order**") < pack.index("## LAN-Only Devices")
    assert "| committed |\n\n### Post-Cutover State" in scope
    assert "| committed |\n\n## LAN-Only Devices" in pack


def test_the_downtime_says_why_requests_failed_when_the_prober_recorded_it() -> None:
    docs = copy.deepcopy(_run("succeeded"))
    swap = _receipt(docs, "swap", 1)  # the second batch: fleet-h3 and fleet-h4
    swap["hosts"]["fleet-h4"]["downtime"]["files-api"]["reasons"] = {"HTTP 503": 10, "connection refused": 6}
    h4 = _fleet(docs).hosts[2]
    assert [(d.service, d.why) for d in h4.downtime] == [
        ("files-api", "HTTP 503: 10, connection refused: 6"), ("order-intake", ""), ("quote-page", ""),
    ]  # fmt: skip
    assert "| files-api 4.989s/16 (HTTP 503: 10, connection refused: 6), order-intake 5.062s/17, " in (
        closeout.render_changepack(docs, LOOP)
    )


# ---- a real fleet run whose second batch failed in swap (then every host rolled back)


def test_a_second_batch_that_failed_in_swap_says_which_batch_and_host() -> None:
    docs = _run("second-batch-failed")
    fleet = _fleet(docs)
    assert [(b.number, b.status, b.failed_phase, b.failed_hosts) for b in fleet.batches] == [
        (1, "passed", "", []),
        (2, "failed", "swap", ["fleet-h3"]),
    ]
    assert fleet.failed_batch is fleet.batches[1]
    reason = "order-intake: new container never became healthy within 60s: container created, exit code 128"
    assert [(h.host, h.release_after, h.verified, h.outcome, h.failed_phase, h.reason) for h in fleet.hosts] == [
        ("fleet-h2", "c13e698", True, "committed_rolled_back", "", ""),
        ("fleet-h3", "c13e698", None, "failed_rolled_back", "swap", reason),
        ("fleet-h4", "c13e698", None, "rolled_back", "", ""),
    ]

    expected = (
        "**Batch order** (from the swap receipts: the run did not record its plan):\n\n"
        + _batch_lines(docs, "FAILED in swap on fleet-h3")
        + "\n"
        + TABLE_HEAD
        + f"| fleet-h2 | 1 (canary) | c13e698 → c13e698 | {IMAGES['fleet-h2']} | ok: 3/3 healthy, smoke 8 passed "
        "| files-api 2.2s/6, order-intake 0.0s/0, quote-page 2.734s/39 "
        "| committed, then rolled back (the fleet failed) |\n"
        f"| fleet-h3 | 2 | c13e698 → c13e698 | {IMAGES['fleet-h3']} | not verified "
        f"| files-api 0.0s/0, order-intake 0.0s/0, quote-page 0.0s/0 | swap FAILED here ({reason}); rolled back |\n"
        f"| fleet-h4 | 2 | c13e698 → c13e698 | {IMAGES['fleet-h4']} | not verified "
        "| files-api 2.71s/10, order-intake 0.0s/0, quote-page 3.681s/46 | rolled back |\n"
    )
    assert _block(closeout.render_scope(docs, LOOP)) == expected
    assert _block(closeout.render_changepack(docs, LOOP)) == expected


def test_the_recorded_plan_gives_the_batch_order_and_the_policy() -> None:
    docs = [{**d, "rollout": {**PLAN, "policy": "rollback_all"}} for d in _run("second-batch-failed")]
    fleet = _fleet(docs)
    assert (fleet.from_plan, fleet.policy) == (True, "rollback_all")
    assert [b.status for b in fleet.batches] == ["passed", "failed"]
    assert "**Batch order** (canary first; on a failure: `rollback_all`):\n\n- batch 1 (canary): fleet-h2 — passed" in (
        closeout.render_changepack(docs, LOOP)
    )


# ---- edited copies: a verify failure in the second batch (halt), a failed canary


def _verify_failed_in_batch_two() -> list[dict[str, Any]]:
    """The succeeded run, but verify failed on fleet-h4 (fleet-h3, verified in the same batch,
    committed); policy halt: the hosts that committed stay, fleet-h4 rolls back its change."""
    docs = [{**d, "rollout": PLAN} for d in copy.deepcopy(_run("succeeded"))]
    verify = _receipt(docs, "verify", 1)
    h4 = verify["hosts"]["fleet-h4"]
    h4["health"]["quote-page"] = {"body": {"status": "error"}, "ok": False, "problems": ["status"], "status_code": 503}
    h4.update(ok=False, committed=False, failed_task="Check health", reason="quote-page unhealthy")
    verify.update(status="failed", error="Check health on fleet-h4: quote-page unhealthy")
    rollback = copy.deepcopy(_receipt(_run("second-batch-failed"), "rollback"))
    for host, outcome in {"fleet-h2": "nothing_to_undo", "fleet-h3": "nothing_to_undo"}.items():
        rollback["hosts"][host].update(outcome=outcome, mode="none", restored=[], removed=[])
    recert = _receipt(docs, "recert")
    recert["hosts"]["fleet-h4"]["release"] = "c13e698"
    return [*docs[: docs.index(recert)], rollback, *docs[docs.index(recert) :]]


def test_a_verify_failure_in_the_second_batch_under_halt() -> None:
    docs = _verify_failed_in_batch_two()
    fleet = _fleet(docs)
    assert (fleet.from_plan, fleet.policy) == (True, "halt")
    assert [(b.status, b.failed_phase, b.failed_hosts) for b in fleet.batches] == [
        ("passed", "", []),
        ("failed", "verify", ["fleet-h4"]),
    ]
    assert [(h.host, h.release_after, h.verified, h.outcome) for h in fleet.hosts] == [
        ("fleet-h2", "fb44949", True, "committed"),
        ("fleet-h3", "fb44949", True, "committed"),
        ("fleet-h4", "c13e698", False, "failed_rolled_back"),
    ]
    block = _block(closeout.render_scope(docs, LOOP))
    assert block.startswith("**Batch order** (canary first; on a failure: `halt`):\n\n")
    assert _batch_lines(docs, "FAILED in verify on fleet-h4") in block
    assert (
        f"| fleet-h4 | 2 | c13e698 → c13e698 | {IMAGES['fleet-h4']} | FAILED: 2/3 healthy, smoke 8 passed "
        "| files-api 4.989s/16, order-intake 5.062s/17, quote-page 5.491s/52 "
        "| verify FAILED here (quote-page unhealthy); rolled back |\n"
    ) in block
    assert "| fleet-h3 | 2 | c13e698 → fb44949 |" in block


def test_a_failed_canary_leaves_the_next_batch_not_started() -> None:
    """The canary's verify failed: batch 2 never started (its hosts stop at their phase start,
    so its swap receipt has no host's payload), and every host is back on the old release."""
    base = _run("second-batch-failed")
    docs = [{**d, "rollout": PLAN} for d in copy.deepcopy(base)]
    verify = _receipt(docs, "verify", 0)
    verify["hosts"]["fleet-h2"].update(ok=False, committed=False, failed_task="Smoke", reason="smoke failed")
    verify["status"] = "failed"
    swap2 = _receipt(docs, "swap", 1)
    swap2.update(status="done", error="", failed_tasks=[], result={})
    del swap2["hosts"]
    docs.remove(_receipt(docs, "verify", 1))
    rollback = _receipt(docs, "rollback")
    for host in ("fleet-h3", "fleet-h4"):
        rollback["hosts"][host].update(outcome="nothing_to_undo", mode="none", restored=[], removed=[])
    fleet = _fleet(docs)
    assert [(b.number, b.status, b.failed_phase, b.failed_hosts) for b in fleet.batches] == [
        (1, "failed", "verify", ["fleet-h2"]),
        (2, "not_started", "", []),
    ]
    assert [(h.host, h.outcome) for h in fleet.hosts] == [
        ("fleet-h2", "failed_rolled_back"),
        ("fleet-h3", "never_swapped"),
        ("fleet-h4", "never_swapped"),
    ]
    block = _block(closeout.render_changepack(docs, LOOP))
    assert "- batch 1 (canary): fleet-h2 — FAILED in verify on fleet-h2 (swap `" in block
    assert f"- batch 2: fleet-h3, fleet-h4 — not started (swap `{swap2['id']}`)\n" in block
    assert "| never swapped |" in block


def test_without_the_plan_a_batch_that_never_started_is_read_from_the_swap_receipts_hosts() -> None:
    """Old receipts: the batches are the hosts of each swap receipt, in order (those that only
    ran tasks too, from its stats)."""
    docs = copy.deepcopy(_run("second-batch-failed"))
    del _receipt(docs, "swap", 1)["hosts"]
    fleet = _fleet(docs)
    assert [b.hosts for b in fleet.batches] == [["fleet-h2"], ["fleet-h3", "fleet-h4"]]


def test_a_build_that_failed_on_one_host_started_no_batch() -> None:
    keep = ("baseline", "prep", "build", "rollback", "recert", "closeout")
    docs = [d for d in copy.deepcopy(_run("second-batch-failed")) if d["phase"] in keep]
    build = _receipt(docs, "build")
    build["status"] = "failed"
    build["hosts"]["fleet-h3"].update(ok=False, failed_task="Build the images", reason="docker build failed")
    fleet = _fleet(docs)
    assert fleet.batches == []
    assert [(h.host, h.batch, h.outcome, h.failed_phase) for h in fleet.hosts] == [
        ("fleet-h2", None, "rolled_back", ""),
        ("fleet-h3", None, "failed_rolled_back", "build"),
        ("fleet-h4", None, "rolled_back", ""),
    ]
    block = _block(closeout.render_scope(docs, LOOP))
    assert "- no batch started\n" in block
    assert "| fleet-h3 | - | c13e698 → c13e698 |" in block
    assert "| not verified | - | build FAILED here (docker build failed); rolled back |" in block


# ---- one host: nothing of this


@pytest.mark.parametrize("scenario", ["good", "broken", "real-good", "real-broken"])
def test_a_single_host_run_has_no_fleet_part(tmp_path: Path, scenario: str) -> None:
    docs = load_replay().write_scenario(scenario, tmp_path)
    assert not any("hosts" in d or "rollout" in d for d in docs)
    assert run_view(docs, LOOP).fleet is None
    assert "Batch order" not in closeout.render_scope(docs, LOOP) + closeout.render_changepack(docs, LOOP)


# ---- the plan reaches the receipts: the start play publishes it (set_stats cutover_rollout)


def _start_play(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"event": "playbook_on_play_start", "event_data": {"play": "Cutover - start the run"}},
        {"event": "playbook_on_task_start", "event_data": {"task": "Publish the fleet's rollout plan"}},
        {"event": "runner_on_ok", "event_data": {
            "host": "docker-host", "task": "Publish the fleet's rollout plan",
            "res": {"changed": False, "ansible_stats": {"data": {"cutover_rollout": plan},
                                                        "per_host": False, "aggregate": True}}}},
    ]  # fmt: skip


def test_stream_rollout_is_the_start_plays_plan() -> None:
    assert stream.rollout(_start_play(PLAN)) == PLAN
    assert stream.rollout([]) is None
    assert stream.rollout(_start_play({})) is None


def test_every_receipt_of_a_fleet_run_carries_the_plan(tmp_path: Path) -> None:
    replay = load_replay().ReplayRunner()

    def runner(**kwargs: Any) -> Any:  # the start play, then the recorded run
        for event in _start_play(PLAN):
            kwargs["event_handler"](copy.deepcopy(event))
        return replay(**kwargs)

    ctx = RunContext(
        root=PROJECT,
        inventory=InventoryFacts(path=PROJECT / "inventory" / "hosts.yml", project="mint"),
        receipts_dir=tmp_path,
        redactor=Redactor([]),
        reporter=load_replay().QuietReporter(),  # type: ignore[arg-type]
        run_id="20260212T011535Z-fixtur",
        loop_id=LOOP,
        runner_fn=runner,
    )
    assert run_cutover(ctx, list(PHASES)).outcome == "succeeded"
    docs = receipts.load_all(tmp_path)
    assert [d["phase"] for d in docs] == list(PHASES)
    assert all(d["rollout"] == PLAN for d in docs)
    assert contract.check_payload("rollout", docs[0]["rollout"]) == []
    fleet = _fleet(docs)
    assert [b.hosts for b in fleet.batches] == PLAN["batches"]
    assert [b.status for b in fleet.batches] == ["not_started", "not_started"]  # no host's own payloads


def test_a_receipt_without_a_plan_has_no_rollout_key(tmp_path: Path) -> None:
    doc = receipts.sample_receipt()
    assert "rollout" not in doc
    run = load_replay().load_runs("good")[0]
    run.rollout = PLAN
    assert receipts.build_receipt(run, "CAP-X", run.started, None, "0" * 64)["rollout"] == PLAN


def test_the_contract_checks_a_receipts_plan() -> None:
    doc = {"phase": "swap", "status": "failed", "result": {}, "rollout": {**PLAN, "policy": "sometimes"}}
    problems = contract.check_receipt(doc)
    assert len(problems) == 1 and problems[0].startswith("cutover_rollout.policy: expected one of")
    assert contract.check_receipt({**doc, "rollout": PLAN}) == []
