"""The set_stats contract (python_wrapper/cutover/contract.py) against everything that produces
or holds a payload without the lab: the checker itself, the roles' YAML and filters, the
recorded runs and the receipts rebuilt from them. (The CLI tests check the fixture project's
payloads end to end; the integration tests check a real run's receipts.)"""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, is_typeddict

import pytest
import yaml
from cutover import contract
from cutover.project import PHASES
from cutover.receipts import LEDGER_HEADER
from wrapper_replay import load_replay

from tests.unit.plugins import ROLES, load

REPO = Path(__file__).resolve().parents[2]
SMOKE_SCHEMA = ROLES / "cutover_verify" / "module_utils" / "cutover_smoke_schema.py"

# The hand-written recordings (tests/fixtures/wrapper/project/payloads before the contract)
# differ from the roles here; a recording of a real run (runs.json "source": "real") must not.
HAND_WRITTEN_DEVIATIONS = {
    "recert": "cutover_recert.containers[{i}].service: unknown key",
}


# ---- the checker ---------------------------------------------------------------------------


def example(annotation: Any) -> Any:
    """A minimal value that conforms to ``annotation`` (first alternative of a union)."""
    if is_typeddict(annotation):
        hints = contract._fields(annotation)
        return {k: example(hints[k]) for k in sorted(annotation.__required_keys__)}
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        return example(args[0])
    if origin is Literal:
        return args[0]
    if origin is list:
        return [example(args[0])]
    if origin is dict:
        return {"files-api": example(args[1])}
    return {str: "x", int: 1, float: 0.5, bool: True, type(None): None, object: {"any": 1}}[annotation]


def test_every_phase_and_the_wrappers_own_playbooks_have_a_contract() -> None:
    assert set(contract.PAYLOADS) == {*PHASES, "rollback", "validate", "status", "fleet", "rollout"}


@pytest.mark.parametrize("phase", sorted(contract.PAYLOADS))
def test_a_minimal_payload_of_each_contract_conforms(phase: str) -> None:
    assert contract.check_payload(phase, example(contract.PAYLOADS[phase])) == []


def test_a_wrong_type_is_named_with_its_path() -> None:
    payload = example(contract.VerifyPayload)
    payload["health"]["files-api"]["status_code"] = "200"
    payload["smoke"] = {"checks": [{**example(contract.SmokeCheck), "result": "done"}]}
    assert contract.check_payload("verify", payload) == [
        'cutover_verify.health.files-api.status_code: expected an integer, got string "200"',
        'cutover_verify.smoke.checks[0].result: expected one of "passed", "failed", "skipped", got string "done"',
    ]


def test_an_unknown_key_is_a_problem_even_in_partial_mode() -> None:
    payload = {**example(contract.MigratePayload), "duration": 3}
    expected = (
        "cutover_migrate.duration: unknown key (not in the contract's MigratePayload: database, release,"
        " check_mode, backup, pending, applied, already, ok, failed_task, reason)"
    )
    assert contract.check_payload("migrate", payload) == [expected]
    assert contract.check_payload("migrate", {"duration": 3}, partial=True) == [expected]


def test_a_missing_required_key_is_a_problem_unless_partial() -> None:
    payload = example(contract.BuildPayload)
    del payload["images"][0]["built"], payload["shipped"]
    assert contract.check_payload("build", payload) == [
        "cutover_build.shipped: missing (required by BuildPayload)",
        "cutover_build.images[0].built: missing (required by BuildImage)",
    ]
    assert contract.check_payload("build", payload, partial=True) == []


def test_numbers_nulls_and_unions() -> None:
    mig = example(contract.MigratePayload)
    mig["applied"][0]["duration_s"] = 2  # a JSON number: an int is a float
    mig["backup"] = None
    assert contract.check_payload("migrate", mig) == []
    mig["check_mode"] = 1  # but not a boolean
    mig["backup"] = 5
    assert contract.check_payload("migrate", mig) == [
        "cutover_migrate.backup: expected a string or null, got int 5",
        "cutover_migrate.check_mode: expected true/false, got int 1",
    ]
    swap = example(contract.SwapPayload)
    swap["services"] = [{"name": "a", "action": "added", "image": "i:1", "kept_container": None}]
    assert contract.check_payload("swap", swap) == []
    swap["services"][0]["image"] = 7  # a mapping is checked against its closest shape
    assert contract.check_payload("swap", swap) == [
        "cutover_swap.services[0].image: expected a string or null, got int 7"
    ]
    assert contract.check_payload("deploy", {}) == [
        "cutover_deploy: no contract for 'deploy' (known: " + ", ".join(contract.PAYLOADS) + ")"
    ]


def test_a_key_that_is_no_identifier_is_quoted_in_the_path() -> None:
    payload = example(contract.BaselinePayload)
    payload["networks"] = {"mint os": "yes"}
    assert contract.check_payload("baseline", payload) == [
        "cutover_baseline.networks['mint os']: expected true/false, got string \"yes\""
    ]


# ---- the roles ---------------------------------------------------------------------------------

# Facts that roles build with set_fact and publish whole (or as a part of a payload).
PUBLISHED_FACTS: dict[str, Any] = {
    "cutover_rollback_result": contract.RollbackPayload,
    "cutover_swap_result": contract.SwapPayload,
    "cutover_closeout_result": contract.CloseoutPayload,
    "cutover_verify_smoke_result": contract.Smoke,
    "cutover_retention_result": contract.Retention,
    "cutover_build_plan": contract.BuildPlan,
    "cutover_prep_env_contract": contract.EnvContract,
    "cutover_status_host": contract.StatusPayload,  # status.yml: one host's status, published whole
}


def _tasks(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in ("tasks", "pre_tasks", "post_tasks", "block", "rescue", "always"):
            yield from _tasks(node.get(key))


def _published_literals() -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(where, mapping, contract type) of every payload the YAML spells out as a mapping: the
    phase roles' ``cutover_phase_result`` (the engine's phase_end publishes it as
    ``cutover_<phase>``), set_stats written out as a mapping, and the facts published whole."""
    files = [
        *sorted((REPO / "playbooks").glob("*.yml")),
        *sorted(ROLES.glob("cutover_*/tasks/*.yml")),
        REPO / "python_wrapper" / "cutover" / "playbooks" / "status.yml",
    ]
    for path in files:
        for task in _tasks(yaml.safe_load(path.read_text(encoding="utf-8"))):
            where = f"{path.relative_to(REPO)}: {task.get('name')}"
            stats = task.get("ansible.builtin.set_stats")
            data = (stats or {}).get("data") or {}
            for key, value in (data.items() if isinstance(data, dict) else ()):  # a string: the engine's own
                match = contract.STATS_KEY.match(key)
                assert match and match.group(1) in contract.PAYLOADS, f"{where}: {key} has no contract"
                if isinstance(value, dict):
                    yield where, value, contract.PAYLOADS[match.group(1)]
            role = path.parent.parent.name
            for key, value in (task.get("ansible.builtin.set_fact") or {}).items():
                if key in PUBLISHED_FACTS and isinstance(value, dict):
                    yield where, value, PUBLISHED_FACTS[key]
                elif key == "cutover_phase_result" and isinstance(value, dict):
                    phase = role.removeprefix("cutover_")
                    assert phase in contract.PAYLOADS, f"{where}: the role {role} publishes no contract's payload"
                    yield where, value, contract.PAYLOADS[phase]


def _literal_problems(value: dict[str, Any], expected: Any, path: str) -> list[str]:
    """Keys of a YAML mapping against a TypedDict: unknown and missing keys, nested mappings
    too (values that are Jinja expressions are left to the run-time check)."""
    alternatives = get_args(expected) if get_origin(expected) in (Union, types.UnionType) else (expected,)
    shapes = [alt for alt in alternatives if is_typeddict(alt)]
    results = []
    for shape in shapes:
        fields = contract._fields(shape)
        problems = [f"{path}.{k}: missing" for k in sorted(shape.__required_keys__ - value.keys())]
        problems += [f"{path}.{k}: not in {shape.__name__}" for k in value if k not in fields]
        for key, item in value.items():
            if key in fields and isinstance(item, dict):
                problems += _literal_problems(item, fields[key], f"{path}.{key}")
        results.append(problems)
    return min(results, key=len) if results else []


def test_every_payload_the_roles_spell_out_has_exactly_the_contracts_keys() -> None:
    found = list(_published_literals())
    assert len(found) >= 15, "the YAML walk found too few payloads: has the layout changed?"
    problems = [f"{where}: {p}" for where, value, td in found for p in _literal_problems(value, td, td.__name__)]
    assert problems == []


def test_the_recert_filter_publishes_the_contracts_shape() -> None:
    recert = load("cutover_recert_for_contract", ROLES / "cutover_recert" / "filter_plugins" / "cutover_recert.py")
    health = {"files-api": {"ok": False, "status_code": 503, "body": {"status": "error"}, "problems": ["HTTP 503"]}}
    containers = [
        {"Names": ["/files-api"], "Image": "mint-modules/artwork:0ce4de6", "State": "running", "Status": "Up",
         "Labels": {"cutover.project": "mint"}},
        {"Names": ["/files-api--5f1c2aa"], "Image": "mint-modules/artwork:5f1c2aa", "State": "exited",
         "Status": "Exited (0)", "Labels": {}},
    ]  # fmt: skip
    result = recert.cutover_recert(
        containers,
        services=[{"name": "files-api", "image": "mint-modules/artwork"}],
        current={"release": "0ce4de6"},
        project="mint",
        root="/opt/cutover/mint",
        legacy_dirs_present=[],
        health=health,
        lock={"held": True, "owner": {"run_id": "r1"}, "path": "/opt/cutover/mint/lock"},
    )
    assert result["drift"] and result["containers"]
    assert contract.check_payload("recert", result) == []


def test_the_gate_filter_publishes_the_contracts_shape() -> None:
    gates = load("cutover_gates_for_contract", ROLES / "cutover_prep" / "filter_plugins" / "cutover_gates.py")
    runs = [
        {"item": [{"name": "files-api", "module": "artwork"}, {"key": "test", "value": "x"}], "rc": 0,
         "stdout": "", "stderr": "Ran 2 tests in 0.1s\n\nOK\n", "delta": "0:00:01.250000"},
        {"item": [{"name": "files-api", "module": "artwork"}, {"key": "build", "value": "x"}],
         "msg": "timeout"},
    ]  # fmt: skip
    results = gates.cutover_gate_results(runs)
    assert [g["ok"] for g in results] == [True, False]
    assert contract.check_payload("prep", {"gates": results}, partial=True) == []


def test_the_smoke_module_publishes_the_contracts_shape() -> None:
    load("ansible.module_utils.cutover_smoke_schema", SMOKE_SCHEMA)
    smoke = load("cutover_smoke_for_contract", ROLES / "cutover_verify" / "library" / "cutover_smoke.py")
    checks = [
        {"name": "closed port", "url": "http://127.0.0.1:1/health", "status": 200},
        {"name": "write", "method": "POST", "url": "http://127.0.0.1:1/x", "body": {}, "status": 201},
    ]
    results = smoke.run_suite(checks, {}, 2, read_only=True)
    assert [c["result"] for c in results] == ["failed", "skipped"]
    summary = smoke.summarize(results)
    published = {**summary["counts"], "summary": summary["summary"], "checks": results}  # as smoke.yml keeps it
    assert contract.check_payload("verify", {"smoke": published}, partial=True) == []


# ---- recorded runs and the receipts rebuilt from them ------------------------------------------


def _scenarios() -> list[str]:
    return sorted(p.name for p in load_replay().RECORDED.iterdir() if (p / "runs.json").is_file())


def _is_real(scenario: str) -> bool:
    spec = json.loads((load_replay().RECORDED / scenario / "runs.json").read_text(encoding="utf-8"))
    return bool(spec.get("source") == "real")


def _expected_deviations(scenario: str, problems: list[str]) -> list[str]:
    """The problems a hand-written recording is known to have (none for a real one)."""
    if _is_real(scenario):
        return []
    known = [HAND_WRITTEN_DEVIATIONS[phase].format(i=i) for phase in HAND_WRITTEN_DEVIATIONS for i in range(10)]
    return [p for p in problems if any(p.startswith(k) for k in known)]


@pytest.mark.parametrize("scenario", _scenarios())
def test_every_recorded_payload_conforms(scenario: str) -> None:
    folder = load_replay().RECORDED / scenario
    problems = []
    for path in sorted(folder.glob("*.events.jsonl")):
        events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        artifact = contract.stats_artifact(events)
        problems += contract.check_artifact(artifact, partial=not _is_real(scenario))
    assert problems == _expected_deviations(scenario, problems)


@pytest.mark.parametrize("scenario", _scenarios())
def test_the_receipts_rebuilt_from_a_recording_conform(tmp_path: Path, scenario: str) -> None:
    load_replay().write_scenario(scenario, tmp_path)
    problems = contract.check_receipts_dir(tmp_path, partial=not _is_real(scenario))
    without_ids = [p.split(": ", 1)[1] for p in problems]
    assert without_ids == _expected_deviations(scenario, without_ids)


# ---- receipts folders -------------------------------------------------------------------------------


def _receipt(folder: Path, rid: str, phase: str, status: str, result: Any, artifact: dict[str, Any]) -> None:
    (folder / rid).mkdir(parents=True)
    doc = {"id": rid, "phase": phase, "status": status, "result": result, "run_id": "R1"}
    (folder / rid / "receipt.json").write_text(json.dumps(doc), encoding="utf-8")
    stats = {"event": "playbook_on_stats", "event_data": {"artifact_data": artifact}}
    (folder / rid / "events.jsonl").write_text(json.dumps(stats) + "\n", encoding="utf-8")
    ledger = folder / "ledger.csv"
    header = "" if ledger.exists() else ",".join(LEDGER_HEADER) + "\n"
    with ledger.open("a", encoding="utf-8") as fh:
        fh.write(header + f"{rid},,,,{status},,,,\n")


def test_a_receipts_folder_is_checked_receipt_by_receipt(tmp_path: Path) -> None:
    swap = example(contract.SwapPayload)
    _receipt(tmp_path, "A-swap", "swap", "done", swap, {"cutover_swap": swap})
    _receipt(tmp_path, "B-verify", "verify", "failed", {}, {"cutover_validate": {"ok": False, "errors": "x"}})
    _receipt(tmp_path, "C-recert", "recert", "done", {}, {"cutover_other": {}})
    assert contract.check_receipts_dir(tmp_path) == [
        'B-verify: cutover_validate.errors: expected a list of a string, got string "x"',
        "C-recert: cutover_recert: the phase is done but published no payload",
        "C-recert: cutover_other: unknown set_stats key (known: "
        + ", ".join(f"cutover_{p}" for p in contract.PAYLOADS)
        + ")",
    ]
    assert contract.check_receipts_dir(tmp_path, run_id="R2") == [f"{tmp_path}: no receipts of run R2"]
