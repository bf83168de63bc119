"""receipt.md and the closeout documents come from Jinja2 templates; `--templates DIR`
replaces any of them with the operator's copy (no lab needed: recorded runs, replayed)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from cutover import chain, cli, receipts, templating
from cutover.cli import main
from cutover.project import PHASES, InventoryFacts
from cutover.redact import Redactor
from cutover.runner import RunContext, run_cutover
from cutover.templating import TemplateProblem, Templates
from cutover.view import run_view
from wrapper_replay import load_replay

PROJECT = Path(__file__).resolve().parents[1] / "fixtures" / "wrapper" / "project"




def _own_copy(folder: Path, name: str, old: str, new: str) -> Path:
    """The packaged template ``name`` copied into ``folder`` with ``old`` replaced by ``new``."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (templating.PACKAGED_DIR / name).read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    (folder / name).write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_the_templates_ship_with_the_package() -> None:
    assert sorted(p.name for p in templating.PACKAGED_DIR.glob("*.j2")) == sorted(templating.NAMES)
    pyproject = (templating.PACKAGED_DIR.parents[1] / "pyproject.toml").read_text()
    assert '"templates/*.j2"' in pyproject


def test_a_table_cell_shows_non_strings_as_json_and_escapes_pipes() -> None:
    assert templating.md_cell("a|b\nc") == "a\\|b c"
    assert templating.md_cell({"b": 1, "a": None}) == '{"a": null, "b": 1}'
    assert templating.md_cell(False) == "false"


def test_an_own_copy_of_one_template_changes_exactly_that_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replay = load_replay()
    replay.write_scenario("good", tmp_path / "receipts")
    own = _own_copy(
        tmp_path / "templates", templating.CHANGEPACK, "## IP Map\n", "Approved by the CAB: CHG-1234\n\n## IP Map\n"
    )
    argv = ["closeout", "--loop-id", replay.LOOP_ID, "--receipts-dir", str(tmp_path / "receipts")]
    assert main([*argv, "--out", str(tmp_path / "docs"), "--templates", str(own)]) == 0
    capsys.readouterr()
    docs = tmp_path / "docs"
    golden = replay.GOLDEN
    scope = (docs / f"{replay.LOOP_ID}.scope.md").read_text(encoding="utf-8")
    assert scope == (golden / "good.scope.md").read_text(encoding="utf-8")
    pack = (docs / f"{replay.LOOP_ID}.changepack.md").read_text(encoding="utf-8")
    expected = (golden / "good.changepack.md").read_text(encoding="utf-8")
    assert pack == expected.replace("\n## IP Map\n", "\nApproved by the CAB: CHG-1234\n\n## IP Map\n", 1)


def test_an_own_receipt_template_writes_receipts_that_still_verify(tmp_path: Path) -> None:
    replay = load_replay()
    own = Templates(_own_copy(tmp_path / "t", templating.RECEIPT, "## Chain\n", "Reviewed: no\n\n## Chain\n"))
    for i, run in enumerate(replay.load_runs("broken")):
        receipts.write_receipt(
            tmp_path / "r", run, now=run.finished, receipt_id=replay.receipt_id(i, run), templates=own
        )
    docs = receipts.load_all(tmp_path / "r")
    assert all("Reviewed: no\n" in (tmp_path / "r" / d["id"] / "receipt.md").read_text() for d in docs)
    assert chain.verify(tmp_path / "r").ok


def test_a_misspelt_variable_names_the_template_and_its_line(tmp_path: Path) -> None:
    own = _own_copy(tmp_path, templating.SCOPE, "{{ run.project | capitalize }}", "{{ run.projekt | capitalize }}")
    docs = load_replay().write_scenario("good", tmp_path / "r")
    with pytest.raises(TemplateProblem) as caught:
        Templates(own).render(templating.SCOPE, run=run_view(docs, "L"))
    line = _line_of(own / templating.SCOPE, "run.projekt")
    assert str(caught.value) == (
        f"template {own / templating.SCOPE}: line {line}: 'cutover.view.RunView object' has no attribute 'projekt'"
    )


def test_closeout_refuses_a_broken_template_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replay = load_replay()
    replay.write_scenario("broken", tmp_path / "r")
    # a branch an empty run does not reach: found when the run's own documents are rendered
    own = _own_copy(tmp_path / "t", templating.SCOPE, "{{ item.backup }}", "{{ item.bakup }}")
    argv = ["closeout", "--loop-id", replay.LOOP_ID, "--receipts-dir", str(tmp_path / "r"), "--out", str(tmp_path)]
    assert main([*argv, "--templates", str(own)]) == 2
    err = capsys.readouterr().err
    line = _line_of(own / templating.SCOPE, "item.bakup")
    assert f"--templates: template {own / templating.SCOPE}: line {line}: " in err
    assert "has no attribute 'bakup'" in err
    assert not list(tmp_path.glob("*.md"))  # nothing half-written


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        (templating.SCOPE, "{{ run.loop_id }}", "{{ run.loopid }}", "has no attribute 'loopid'"),
        (templating.CHANGEPACK, "{% endif %}", "{% endiff %}", "Encountered unknown tag 'endiff'"),
        (templating.RECEIPT, "{{ task.msg | md }}", "{{ task.message | md }}", "has no attribute 'message'"),
        (templating.MACROS, "{%- endmacro %}", "", "Unexpected end of template"),
    ],
)
def test_run_checks_its_templates_before_anything_runs(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    old: str,
    new: str,
    message: str,
) -> None:
    monkeypatch.setenv("CUTOVER_HOME", str(PROJECT))
    own = _own_copy(tmp_path / "t", name, old, new)
    inventory = str(PROJECT / "inventory" / "hosts.yml")
    assert main(["run", "-i", inventory, "--receipts-dir", str(tmp_path / "r"), "--templates", str(own)]) == 2
    err = capsys.readouterr().err
    assert f"template {own / name}: line " in err, err
    assert message in err
    assert not (tmp_path / "r").exists()


def test_a_template_name_that_is_no_template_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CUTOVER_HOME", str(PROJECT))
    shutil.copy(templating.PACKAGED_DIR / templating.SCOPE, tmp_path / "scope.j2")
    argv = ["closeout", "--loop-id", "L", "--receipts-dir", str(tmp_path), "--templates", str(tmp_path)]
    assert main(argv) == 2
    assert f"--templates: {tmp_path / 'scope.j2'}: not a template cutover renders" in capsys.readouterr().err
    assert main([*argv[:-1], str(tmp_path / "nope")]) == 2
    assert "--templates: expected a directory of templates" in capsys.readouterr().err


def _ctx(tmp_path: Path, templates: Templates, reporter: Any) -> RunContext:
    return RunContext(
        root=PROJECT,
        inventory=InventoryFacts(path=PROJECT / "inventory" / "hosts.yml", project="mint"),
        receipts_dir=tmp_path / "r",
        redactor=Redactor([]),
        reporter=reporter,  # type: ignore[arg-type]
        run_id="20260212T011535Z-fixtur",
        loop_id="LOOP-T",
        runner_fn=load_replay().ReplayRunner(),
        templates=templates,
    )


def test_a_receipt_template_that_fails_mid_run_never_costs_a_receipt(tmp_path: Path) -> None:
    # passes the check before the run (the sample receipt failed), fails on the first done phase
    own = _own_copy(
        tmp_path / "t", templating.RECEIPT, "## Chain", "{{ receipt.nope if receipt.status == 'done' else '' }}## Chain"
    )
    reporter = load_replay().QuietReporter()
    summary = run_cutover(_ctx(tmp_path, Templates(own), reporter), list(PHASES))
    assert summary.outcome == "succeeded"
    assert [d["phase"] for d in receipts.load_all(tmp_path / "r")] == list(PHASES)
    assert chain.verify(tmp_path / "r").ok
    assert reporter.messages[0].startswith(f"receipt.md: template {own / templating.RECEIPT}: line ")
    assert reporter.messages[0].endswith("; written with the packaged template instead")


def test_documents_that_fail_to_render_at_the_end_of_a_run_leave_the_outcome_alone(tmp_path: Path) -> None:
    own = _own_copy(tmp_path / "t", templating.SCOPE, "{{ item.backup }}", "{{ item.bakup }}")
    reporter = load_replay().QuietReporter()
    ctx = _ctx(tmp_path, Templates(own), reporter)
    ctx.runner_fn = load_replay().ReplayRunner("broken")
    assert run_cutover(ctx, list(PHASES)).outcome == "rolled_back"
    assert cli._write_docs(ctx) == []
    assert reporter.messages[-1].startswith(f"documents: not written: template {own / templating.SCOPE}: line ")
    assert not (tmp_path / "r" / "closeout").exists()


def test_the_sample_receipt_reaches_every_part_of_receipt_md() -> None:
    text = receipts.render_receipt_md(receipts.sample_receipt())
    assert "## Failed Tasks" in text and "| docker-host | Sample task | sample message |" in text


def test_every_packaged_template_passes_its_own_check() -> None:
    from cutover.view import run_view

    samples: dict[str, dict[str, Any]] = {
        templating.RECEIPT: {"receipt": receipts.sample_receipt()},
        templating.SCOPE: {"run": run_view([], "L")},
        templating.CHANGEPACK: {"run": run_view([], "L")},
    }
    assert templating.PACKAGED.check(samples) == []
