"""The `cutover` command end to end against the fixture project (real ansible-runner runs on
localhost, no lab): exit codes, one receipt per phase, rollback receipt, verify, redaction."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cutover import contract
from cutover.cli import build_parser, main, render_status

PROJECT = Path(__file__).resolve().parents[1] / "fixtures" / "wrapper" / "project"
ID_RE = re.compile(r"^CAP-[0-9]{8}-[0-9]{6}__cutover\.[a-z]+__R[a-z0-9]+$")
SECRETS = (
    "Fx-db-pw-7c1e9a",
    "fxaccess4d2b8e",
    "Fx-minio-secret-93be1f",
    "fx-files-key-5a0c77",
    "fx-intake-key-e81d42",
)
INV = str(PROJECT / "inventory" / "hosts.yml")


@pytest.fixture(autouse=True)
def fixture_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUTOVER_HOME", str(PROJECT))
    for name in ("CUTOVER_FIXTURE_FAIL", "CUTOVER_FIXTURE_LOCK", "CUTOVER_FIXTURE_DRIFT"):
        monkeypatch.delenv(name, raising=False)


def _receipts(folder: Path) -> list[dict[str, object]]:
    rows = (folder / "ledger.csv").read_text().splitlines()[1:]
    return [
        json.loads((folder / r.split(",")[0] / "receipt.json").read_text())
        for r in rows
    ]


def _assert_no_secret(folder: Path, printed: str) -> None:
    for secret in SECRETS:
        assert secret not in printed
        for path in folder.rglob("*"):
            if path.is_file():
                assert secret not in path.read_text(encoding="utf-8"), (
                    f"{secret} in {path}"
                )


def _assert_payloads_conform(folder: Path) -> None:
    """The fixture project's payloads (payloads/*.yml), as the runs published them, against the
    set_stats contract: every key and type, nothing missing."""
    assert contract.check_receipts_dir(folder) == []


def test_every_command_has_a_man_page_like_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():  # type: ignore[union-attr]
        text = p.format_help()
        assert "examples:" in text, name
        assert "exit codes:" in text, name
        assert "  3  this run's change was rolled back" in text, name
        assert "  5  `receipts verify`: the audit trail is broken" in text, name


def test_a_good_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["run", "-i", INV, "--receipts-dir", str(tmp_path), "--loop-id", "LOOP-TEST-1"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    docs = _receipts(tmp_path)
    assert [d["capability"] for d in docs] == [
        f"cutover.{p}"
        for p in (
            "baseline",
            "prep",
            "build",
            "migrate",
            "swap",
            "verify",
            "recert",
            "closeout",
        )
    ]
    assert all(ID_RE.match(str(d["id"])) for d in docs)
    assert all(d["status"] == "done" for d in docs)
    assert len({d["run_id"] for d in docs}) == 1
    # ONE playbook process for the whole run: every receipt names the same command
    assert {d["inputs"]["playbook"] for d in docs} == {"playbooks/cutover.yml"}  # type: ignore[index]
    assert len({d["inputs"]["command"] for d in docs}) == 1  # type: ignore[index]
    assert docs[0]["inputs"]["args"]["cutover_phases"] == [d["phase"] for d in docs]  # type: ignore[index]
    assert (tmp_path / "closeout" / "LOOP-TEST-1.scope.md").exists()
    assert (tmp_path / "closeout" / "LOOP-TEST-1.changepack.md").exists()
    assert "outcome: succeeded; exit 0" in out
    _assert_no_secret(tmp_path, out)
    _assert_payloads_conform(tmp_path)
    assert main(["receipts", "verify", "--receipts-dir", str(tmp_path)]) == 0
    assert main(["receipts", "list", "--receipts-dir", str(tmp_path)]) == 0
    assert (
        main(["receipts", "show", "cutover.swap", "--receipts-dir", str(tmp_path)]) == 0
    )
    shown = capsys.readouterr().out
    assert "| Capability | `cutover.swap` |" in shown
    # the loop record can be rebuilt from the receipts alone
    assert (
        main(
            [
                "closeout",
                "--loop-id",
                "LOOP-TEST-1",
                "--receipts-dir",
                str(tmp_path),
                "--out",
                str(tmp_path / "again"),
            ]
        )
        == 0
    )
    assert (tmp_path / "again" / "LOOP-TEST-1.scope.md").read_text() == (
        tmp_path / "closeout" / "LOOP-TEST-1.scope.md"
    ).read_text()


def test_a_broken_release_rolls_back_and_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["run", "-i", INV, "--ref", "release-broken", "--receipts-dir", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert code == 3, out
    docs = _receipts(tmp_path)
    assert [d["phase"] for d in docs] == [
        "baseline",
        "prep",
        "build",
        "migrate",
        "swap",
        "verify",
        "rollback",
        "recert",
        "closeout",
    ]
    rollback = docs[6]
    assert rollback["capability"] == "cutover.rollback" and rollback["status"] == "done"
    assert rollback["inputs"]["playbook"] == "playbooks/cutover.yml"  # type: ignore[index]  # the run's own rollback play
    assert docs[5]["status"] == "failed"
    assert all(d["inputs"]["args"]["cutover_ref"] == "release-broken" for d in docs)  # type: ignore[index]
    scope = next((tmp_path / "closeout").glob("*.scope.md")).read_text()
    assert "**ROLLED BACK**" in scope
    _assert_no_secret(tmp_path, out)
    _assert_payloads_conform(tmp_path)
    assert main(["receipts", "verify", "--receipts-dir", str(tmp_path)]) == 0


def test_a_failed_rollback_exits_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CUTOVER_FIXTURE_FAIL", "rollback")
    code = main(
        [
            "run",
            "-i",
            INV,
            "--receipts-dir",
            str(tmp_path),
            "--phase",
            "swap",
            "--phase",
            "verify",
        ]
    )
    out = capsys.readouterr().out
    assert code == 4, out
    docs = _receipts(tmp_path)
    assert [(d["phase"], d["status"]) for d in docs] == [
        ("swap", "done"),
        ("verify", "failed"),
        ("rollback", "failed"),
    ]
    # the secret the failing task prints in its message is masked in the receipt too
    assert "MINIO_SECRET_KEY=***" in json.dumps(docs[1]["failed_tasks"])
    _assert_no_secret(tmp_path, out)
    _assert_payloads_conform(tmp_path)


def test_a_prep_failure_touches_nothing_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CUTOVER_FIXTURE_FAIL", "prep")
    code = main(["run", "-i", INV, "--receipts-dir", str(tmp_path), "--loop-id", "X"])
    assert code == 2
    docs = _receipts(tmp_path)
    assert [(d["phase"], d["status"]) for d in docs] == [
        ("baseline", "done"),
        ("prep", "failed"),
    ]
    assert (
        "ABORTED BEFORE ANY CHANGE"
        in (tmp_path / "closeout" / "LOOP-X.scope.md").read_text()
    )
    capsys.readouterr()


def test_plan_runs_in_check_mode_and_writes_the_change_pack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["plan", "-i", INV, "--receipts-dir", str(tmp_path), "--loop-id", "LOOP-PLAN"]
    )
    assert code == 0, capsys.readouterr().out
    docs = _receipts(tmp_path)
    assert [(d["phase"], d["check_mode"]) for d in docs] == [
        ("baseline", True),
        ("prep", True),
    ]
    assert "--check" in str(docs[0]["inputs"]["command"])  # type: ignore[index]
    pack = (tmp_path / "closeout" / "LOOP-PLAN.changepack.md").read_text()
    assert "Status: PLANNED (not executed)" in pack
    assert (
        "plan swap (dependency order): files-api: replaced -> mint-modules/artwork:0ce4de6"
        in pack
    )
    assert not (tmp_path / "closeout" / "LOOP-PLAN.scope.md").exists()
    _assert_payloads_conform(tmp_path)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["run", "-i", "/nonexistent/inventory"],
            "--inventory: expected an inventory file or directory",
        ),
        (["run", "-i", INV, "--ref", " "], "--ref: expected a git ref"),
        (
            ["plan", "-i", INV, "--staging", "/nonexistent/staging"],
            "--staging: expected an inventory file or directory",
        ),
        (["run", "-i", INV, "--loop-id", "a b"], "--loop-id: expected a non-empty id"),
        (["receipts", "show", "CAP-nope"], "ID: no receipt matching"),
        (["rollback", "-i", INV, "--run-id=-bad"], "--run-id: expected a cutover run id"),
        (["rollback", "-i", INV, "--run-id", "a/b"], "--run-id: expected a cutover run id"),
        (["rollback", "-i", INV, "--run-id", "x" * 65], "--run-id: expected a cutover run id"),
    ],
)
def test_bad_input_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main([*argv, "--receipts-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert not (tmp_path / "ledger.csv").exists()


def test_an_unknown_phase_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--phase", "deploy"]) == 2
    assert "invalid choice: 'deploy'" in capsys.readouterr().err


def test_staging_inventory_reaches_prep_as_an_absolute_path(tmp_path: Path) -> None:
    from cutover.runner import RunContext, phase_extravars

    staging = tmp_path / "staging.yml"
    ctx = RunContext(
        root=PROJECT,
        inventory=None,  # type: ignore[arg-type]
        receipts_dir=tmp_path,
        redactor=None,  # type: ignore[arg-type]
        reporter=None,  # type: ignore[arg-type]
        run_id="R1",
        loop_id="LOOP-X",
        staging_inventory=staging,
    )
    extravars = phase_extravars(ctx, "prep", ["build"])
    assert extravars["cutover_staging_inventory"] == str(staging)
    ctx.staging_inventory = None
    assert "cutover_staging_inventory" not in phase_extravars(ctx, "prep", ["build"])


def test_status_names_a_previous_release_that_predates_the_first_cutover() -> None:
    text = render_status(
        {
            "host": "docker-host",
            "current": {"release": "fb44949", "ref": "release-new", "deployed_at": "2026-11-29T18:59:51Z"},
            "previous": {"release": "c13e698", "ref": None, "deployed_at": None},
            "lock": {"held": False},
            "services": [
                {
                    "name": "files-api",
                    "container": "files-api",
                    "image": "mint-modules/artwork:fb44949",
                    "state": "running",
                    "docker_health": "healthy",
                    "health": {"status": "ok", "db": "ok"},
                    "health_code": 200,
                },
                {"name": "quote-page", "container": None, "state": "missing", "health_code": -1},
            ],
        }
    )
    assert "current:   fb44949 (ref release-new, deployed 2026-11-29T18:59:51Z)" in text
    assert "previous:  c13e698 (running before the first cutover" in text
    assert "None" not in text
    assert "lock:      free" in text
    assert "200 status=ok,db=ok" in text
    assert "unreachable" in text


def test_losing_the_lock_at_build_exits_2_and_leaves_the_loops_documents_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = ["-i", INV, "--receipts-dir", str(tmp_path), "--loop-id", "LOOP-SHARED"]
    assert main(["run", *shared]) == 0
    scope = tmp_path / "closeout" / "LOOP-SHARED.scope.md"
    pack = tmp_path / "closeout" / "LOOP-SHARED.changepack.md"
    before = (scope.read_text(), pack.read_text())
    capsys.readouterr()
    monkeypatch.setenv("CUTOVER_FIXTURE_LOCK", "20260212T011000Z-other1")
    code = main(["run", *shared])
    out = capsys.readouterr().out
    assert code == 2, out
    docs = _receipts(tmp_path)
    loser = [d for d in docs if d["run_id"] == docs[-1]["run_id"]]
    assert [(d["phase"], d["status"]) for d in loser] == [
        ("baseline", "done"),
        ("prep", "done"),
        ("build", "failed"),
        ("rollback", "done"),
    ]
    args = loser[-1]["inputs"]["args"]  # type: ignore[index]
    assert args["cutover_rollback_standalone"] is False
    assert args["cutover_run_id"] == loser[0]["run_id"]
    assert args["cutover_rollback_reason"].startswith("build failed: deploy lock held by alice@controller-2")
    assert loser[-1]["result"]["outcome"] == "nothing_to_undo"  # type: ignore[index]
    assert (
        "build failed: deploy lock held by alice@controller-2 since 2026-02-12T01:10:00Z "
        "(run 20260212T011000Z-other1, ref release-new, age 5m); stale? inspect and remove "
        "/opt/cutover/mint/lock by hand; nothing on the host was changed by this run\n"
        "outcome: aborted; exit 2"
    ) in out
    assert "documents: not written" in out
    assert (scope.read_text(), pack.read_text()) == before
    # `cutover closeout` of the shared loop still renders the run that changed the host
    again = ["--receipts-dir", str(tmp_path), "--out", str(tmp_path / "again")]
    assert main(["closeout", "--loop-id", "LOOP-SHARED", *again]) == 0
    assert (tmp_path / "again" / "LOOP-SHARED.scope.md").read_text() == before[0]
    _assert_payloads_conform(tmp_path)


def test_each_run_has_its_own_loop_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CUTOVER_FIXTURE_FAIL", "baseline")
    assert main(["run", "-i", INV, "--receipts-dir", str(tmp_path)]) == 2
    capsys.readouterr()
    (loop,) = {d["loop_id"] for d in _receipts(tmp_path)}
    assert re.fullmatch(r"LOOP-MINT-CUTOVER-[0-9]{8}-[0-9]{6}", str(loop))
    assert (tmp_path / "closeout" / f"{loop}.scope.md").exists()  # its own loop: nothing overwritten


def test_recert_drift_after_a_good_run_exits_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CUTOVER_FIXTURE_DRIFT", "1")
    code = main(["run", "-i", INV, "--receipts-dir", str(tmp_path), "--phase", "verify", "--phase", "recert"])
    out = capsys.readouterr().out
    assert code == 4, out
    assert (
        "recert found drift: files-api: runs mint-modules/artwork:5f1c2aa, state.json declares 0ce4de6; "
        "the host needs a person\noutcome: drift; exit 4"
    ) in out
    _assert_payloads_conform(tmp_path)


@pytest.mark.parametrize(
    ("options", "extra"),
    [
        ([], {}),
        # on behalf of a dead run: only its own unfinished change, never back to the previous release
        (["--run-id", "20260212T011000Z-dead01"],
         {"cutover_run_id": "20260212T011000Z-dead01", "cutover_rollback_standalone": False}),
        (["--force-unlock"], {"cutover_rollback_force_unlock": True}),
    ],
)
def test_rollback_on_behalf_of_a_dead_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], extra: dict[str, object]
) -> None:
    code = main(["rollback", "-i", INV, "--receipts-dir", str(tmp_path), *options])
    out = capsys.readouterr().out
    assert code == 0, out
    rb, recert = _receipts(tmp_path)
    assert (rb["phase"], recert["phase"]) == ("rollback", "recert")
    args = rb["inputs"]["args"]  # type: ignore[index]
    assert args["cutover_rollback_standalone"] is ("--run-id" not in options)
    for key, value in extra.items():
        assert args[key] == value
    if "--run-id" in options:
        assert recert["inputs"]["args"]["cutover_run_id"] == "20260212T011000Z-dead01"  # type: ignore[index]
        assert "on behalf of run 20260212T011000Z-dead01" in str(rb["context"])
        assert rb["run_id"] != "20260212T011000Z-dead01"  # the receipts keep this command's own id
        ledger = (tmp_path / "ledger.csv").read_text()
        assert ledger.count("cutover_run_id=20260212T011000Z-dead01") == 2  # what the playbooks acted as
    else:
        assert args["cutover_run_id"] == rb["run_id"]
        assert "cutover_rollback_force_unlock" not in args or "--force-unlock" in options
        assert "rolled back" in out and "(mode exchange)" in out
    assert "outcome: " not in out and "rollback; exit 0" in out
    _assert_payloads_conform(tmp_path)


def test_a_failed_rollback_command_exits_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CUTOVER_FIXTURE_FAIL", "rollback")
    code = main(["rollback", "-i", INV, "--receipts-dir", str(tmp_path), "--run-id", "R-1"])
    out = capsys.readouterr().out
    assert code == 4, out
    assert "the rollback FAILED or refused" in out


def test_a_run_that_stopped_at_baseline_writes_no_document_over_existing_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    closeout_dir = tmp_path / "closeout"
    closeout_dir.mkdir()
    sentinel = closeout_dir / "LOOP-FAULTS.scope.md"
    sentinel.write_text("the loop record of an earlier run\n")
    monkeypatch.setenv("CUTOVER_FIXTURE_FAIL", "baseline")
    code = main(["run", "-i", INV, "--receipts-dir", str(tmp_path), "--loop-id", "LOOP-FAULTS"])
    out = capsys.readouterr().out
    assert code == 2, out
    assert sentinel.read_text() == "the loop record of an earlier run\n"
    assert not (closeout_dir / "LOOP-FAULTS.changepack.md").exists()
    assert "documents: not written" in out
    assert [d["phase"] for d in _receipts(tmp_path)] == ["baseline"]  # its receipt is still written
