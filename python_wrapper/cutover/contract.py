"""The set_stats contract: what each phase publishes, defined once, and a checker for it.

Every phase playbook ends with ``ansible.builtin.set_stats`` ``data: {cutover_<phase>: {...}}``;
the wrapper keeps that payload as ``result`` in the phase's receipt (``receipts.summarize_events``)
and the closeout documents are rendered from it. The TypedDicts below are that payload, phase
by phase, as the roles publish it (the YAML is the producer, this module the one definition):

* a key every publishing path of the role emits is required; a key that only some paths emit
  (check mode, the rescue of a failed phase, a refused rollback) is ``NotRequired``;
* a key the contract does not name is a problem: a role that adds or renames a key must add it
  here, and the renderer can only read keys named here (mypy checks its TypedDict access).

``check_payload(phase, payload)`` checks one payload recursively (types, required and unknown
keys) and returns the problems, each naming the key path and what was expected.
``check_receipts_dir(path)`` checks every receipt of a receipts folder (for a real run).
"""

# No ``from __future__ import annotations``: the TypedDicts are read at run time, and Python
# 3.11 tells NotRequired keys apart only in evaluated annotations.
import functools
import json
import re
import types
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import (
    Any,
    Literal,
    NotRequired,
    TypedDict,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

# ---- shared shapes ------------------------------------------------------------------------


class LockOwner(TypedDict):
    """``<cutover_root>/lock/owner.json`` (cutover_common lock_acquire)."""

    run_id: str
    user: str
    controller: str
    ref: str
    since: str
    since_epoch: int


class StateService(TypedDict):
    container: str
    image: str
    image_id: str | None
    # previous release only: the name the kept container is restored to
    original_name: NotRequired[str | None]
    # blue/green: behind the edge proxy, the container is named <service>--<release>
    edge: NotRequired[bool]


class StateRelease(TypedDict):
    """``state.json`` ``current`` / ``previous`` (cutover_verify commit.yml, rollback exchange.yml)."""

    release: str | None
    commit: str | None
    ref: str | None
    deployed_at: str | None
    run_id: str | None
    services: dict[str, StateService]


class SwappedService(TypedDict):
    kept_container: str | None
    original_name: str | None
    new: bool
    image: str | None
    image_id: str | None
    release: str | None
    retired: NotRequired[bool]
    # blue/green: the new container, and whether the kept one serves behind the edge proxy
    container: NotRequired[str]
    edge: NotRequired[bool]
    kept_behind_edge: NotRequired[bool]


class InProgress(TypedDict):
    """``state.json`` ``in_progress`` (opened by build, filled by swap)."""

    run_id: str
    target: str
    commit: str
    ref: str
    started_at: str
    swapped: dict[str, SwappedService]


class HistoryEntry(TypedDict):
    release: str | None
    at: str
    outcome: Literal["deployed", "rolled_back"]
    run_id: str
    changed: NotRequired[bool]  # deployed
    to: NotRequired[str | None]  # rolled back by exchange
    reason: NotRequired[str]  # rolled back


class Health(TypedDict):
    """One service's health gate (cutover_verify health.yml), also in rollback and recert."""

    ok: bool
    status_code: int
    body: dict[str, object]  # the service's own JSON answer
    problems: list[str]


# ---- phase payloads ---------------------------------------------------------------------------


class BaselineLock(TypedDict):
    held: bool
    owner: LockOwner | None
    age_s: int | None
    stale: bool


class BaselineContainer(TypedDict):
    name: str
    image: str
    image_id: str
    status: str
    health: str
    labels: dict[str, str]


class BaselineCurrent(TypedDict):
    release: str | None
    commit: str | None
    source: Literal["state.json", "running containers", "none"]
    services: dict[str, str]  # service -> image


class DiskFree(TypedDict):
    path: str
    mount: str | None
    free_mb: int | None


class BaselinePayload(TypedDict):
    host: str
    engine_version: str
    docker_root: str
    networks: dict[str, bool]
    containers: list[BaselineContainer]
    disk_free_mb: int | None
    disk: dict[str, DiskFree]
    lock: BaselineLock
    current: BaselineCurrent
    state_in_progress: InProgress | None
    problems: list[str]
    ok: bool
    # the phase engine: phase_end adds ok (true), phase_failed ok false, failed_task, reason
    failed_task: NotRequired[str]
    reason: NotRequired[str]


class EnvContract(TypedDict):
    file: str
    readable: bool
    required: list[str]
    missing: list[str]
    problems: list[str]


class Gate(TypedDict):
    service: str
    module: str
    gate: str
    rc: int
    ok: bool
    reason: str
    duration_s: float
    output_tail: str
    cached: NotRequired[bool]  # not run again: the commit already serves on this host


class PlannedImage(TypedDict):
    service: str
    image: str
    exists: bool


class BuildPlan(TypedDict):
    release: str
    commit: str
    release_dir: str
    ship: bool
    images: list[PlannedImage]
    networks: NotRequired[list[str]]  # networks of cutover_owned_networks the build creates


class MigratePlan(TypedDict, total=False):
    """``{}`` when the inventory has no migrations."""

    database: str | None
    ledger_present: bool
    pending: list[str]
    already: list[str]
    drift: list[str]


SwapPlanEntry = TypedDict(
    "SwapPlanEntry",
    {
        "name": str,
        "action": Literal["unchanged", "replaced", "added", "absent", "retired"],
        "from": str | None,
        "to": str | None,
        "kept_container": str | None,
        "line": str,
    },
)


class PrepPlan(TypedDict):
    build: list[BuildPlan]
    migrate: MigratePlan
    swap: list[SwapPlanEntry]


class Staging(TypedDict):
    """``{inventory: null, ok: null, smoke: "not configured"}`` without a staging inventory."""

    inventory: str | None
    ok: bool | None
    smoke: str
    health: NotRequired[dict[str, bool]]
    reason: NotRequired[str]


class PrepPayload(TypedDict):
    ref: str
    commit: str
    release: str
    tree_clean: bool
    # services of the inventory whose build context the release does not have
    not_in_release: NotRequired[list[str]]
    env_contract: EnvContract
    gates: list[Gate]
    migrations_lint: list[str]
    plan: PrepPlan
    staging: Staging
    problems: list[str]
    ok: bool
    # the phase engine: phase_end adds ok (true), phase_failed ok false, failed_task, reason
    failed_task: NotRequired[str]
    reason: NotRequired[str]


class BuildImage(TypedDict):
    service: str
    image: str
    image_id: str | None
    built: bool
    exists: NotRequired[bool]  # check mode: the plan's images


class BuildPayload(TypedDict):
    release: str
    commit: str
    check_mode: bool
    release_dir: str
    shipped: bool
    images: list[BuildImage]
    plan: BuildPlan
    # the phase engine: phase_end adds ok (true), phase_failed ok false, failed_task, reason
    ok: NotRequired[bool]
    failed_task: NotRequired[str]
    reason: NotRequired[str]


class AppliedMigration(TypedDict):
    version: str
    checksum: str
    duration_s: float


class MigratePayload(TypedDict):
    database: str | None  # null when the inventory has no migrations
    release: str | None
    check_mode: bool
    backup: str | None
    pending: list[str]
    applied: list[AppliedMigration]
    already: list[str]
    # the phase engine: phase_end adds ok (true), phase_failed ok false, failed_task, reason
    ok: NotRequired[bool]
    failed_task: NotRequired[str]
    reason: NotRequired[str]


class SwappedEntry(TypedDict):
    name: str
    action: Literal["unchanged", "replaced", "added", "absent", "retired"]
    image: str | None
    kept_container: str | None


class Downtime(TypedDict):
    requests: int
    failed: int
    longest_gap_s: float
    slowest_s: NotRequired[float]  # the slowest answer that still counted (receipts before it lack it)
    still_down: bool
    reasons: NotRequired[dict[str, int]]  # failed requests by why ("HTTP 503": 2); older receipts lack it


class SwapPayload(TypedDict):
    """Three paths: the swap (ok true), its rescue (ok false, failed_task, reason), and check
    mode (check_mode true; ``services`` are then the plan's entries)."""

    strategy: str
    services: list[SwappedEntry | SwapPlanEntry]
    downtime: dict[str, Downtime]
    release: NotRequired[str]
    changed: NotRequired[bool]
    ok: NotRequired[bool]
    check_mode: NotRequired[bool]
    failed_task: NotRequired[str]
    reason: NotRequired[str]
    # bluegreen, the first run on a host of the old layout: seconds the ports were not served
    handover_s: NotRequired[float]
    # bluegreen, the rescue: services whose traffic went back to their kept container at once
    flipped_back: NotRequired[list[str]]


class SmokeCheck(TypedDict):
    name: str
    result: Literal["passed", "failed", "skipped"]
    detail: str
    status_code: int | None
    duration_s: float


class Smoke(TypedDict, total=False):
    """``{}`` in check mode."""

    passed: int
    failed: int
    skipped: int
    summary: str
    checks: list[SmokeCheck]


class Retention(TypedDict, total=False):
    """``{}`` unless verify committed a release."""

    kept: list[str]
    pruned: list[str]
    build_cache_reclaimed_bytes: int


class VerifyPayload(TypedDict):
    """Two paths: the end of verify (check mode too), and its rescue (ok false, failed_task,
    reason)."""

    ok: bool
    health: dict[str, Health]
    smoke: Smoke
    check_mode: NotRequired[bool]
    committed: NotRequired[bool]
    release: NotRequired[str | None]
    retention: NotRequired[Retention]
    failed_task: NotRequired[str]
    reason: NotRequired[str]
    # bluegreen, the rescue: services whose traffic went back to their kept container at once
    flipped_back: NotRequired[list[str]]


class RolledBackState(TypedDict):
    current: str | None
    previous: str | None
    in_progress: InProgress | None


class FailedRollbackState(TypedDict):
    running: list[str]  # "<name> (<image>, <status>)"
    stopped: list[str]


RollbackPayload = TypedDict(
    "RollbackPayload",
    {
        # Three paths: done (rolled_back | nothing_to_undo), refused (another run's lock) and
        # failed (the host needs a person: state says what runs and what is stopped).
        "reason": str,
        "outcome": Literal["rolled_back", "nothing_to_undo", "refused", "failed"],
        "restored": list[str],
        "removed": list[str],
        "mode": NotRequired[Literal["in_progress", "exchange", "none"]],
        "from": NotRequired[str | None],
        "to": NotRequired[str | None],
        "health": NotRequired[dict[str, Health]],
        "down_migrations": NotRequired[bool],
        "state": NotRequired[RolledBackState | FailedRollbackState],
        "failed_task": NotRequired[str],
        "error": NotRequired[str],
    },
)


class RecertContainer(TypedDict):
    name: str
    image: str | None
    state: str | None
    status: str | None


class RecertPayload(TypedDict, total=False):
    """``{check_mode: true}`` alone in check mode; every other key otherwise
    (``roles/cutover_recert/filter_plugins/cutover_recert.py``)."""

    release: str
    drift: list[str]
    leftovers: list[str]
    containers: list[RecertContainer]
    serving: int
    health: dict[str, Health]
    lock_held: bool
    ok: bool
    check_mode: bool
    failed_task: str
    reason: str


class CloseoutState(TypedDict):
    current: StateRelease | None
    previous: StateRelease | None
    in_progress: InProgress | None
    history: list[HistoryEntry]


class AuditLine(TypedDict):
    """One line of ``<cutover_root>/audit.log`` (cutover_common audit.yml)."""

    ts: str
    run_id: str
    phase: str
    event: str
    detail: dict[str, object]
    # the log is append-only: lines written before the field existed lack it
    controller_user: NotRequired[str]


class CloseoutImage(TypedDict):
    service: str
    image: str
    image_id: str | None
    repo_digests: list[str]
    created: str | None


class CloseoutPayload(TypedDict):
    state: CloseoutState
    audit_tail: list[AuditLine]
    images: list[CloseoutImage]
    # the phase engine: phase_end adds ok (true), phase_failed ok false, failed_task, reason
    ok: NotRequired[bool]
    failed_task: NotRequired[str]
    reason: NotRequired[str]


class ValidatePayload(TypedDict):
    """Published by cutover_validate (every phase) only when it refuses the inventory."""

    ok: bool
    errors: list[str]


class StatusLock(TypedDict):
    held: bool
    owner: LockOwner | None


class StatusService(TypedDict):
    name: str
    container: str
    image: str
    state: str
    docker_health: str
    health_code: int
    health: object  # the service's JSON answer, or null


class RolloutPayload(TypedDict):
    """A fleet's rollout plan (``cutover_fleet``, decided by
    ``roles/cutover_common/filter_plugins/cutover_fleet.py``), published once by the run's start
    play (``roles/cutover_common/tasks/run_start.yml``); a fleet's receipts carry it as ``rollout``."""

    hosts: list[str]  # the play's hosts, inventory order
    batches: list[list[str]]  # the batches in rollout order, the canary first
    serial: list[int]  # the batch play's serial (one size per batch)
    policy: Literal["rollback_all", "halt"]  # cutover_fleet_on_failure


class StatusPayload(TypedDict):
    """The wrapper's own ``playbooks/status.yml`` (``cutover status``)."""

    host: str
    current: StateRelease | None
    previous: StateRelease | None
    in_progress: InProgress | None
    lock: StatusLock
    services: list[StatusService]


PAYLOADS: dict[str, Any] = {
    "baseline": BaselinePayload,
    "prep": PrepPayload,
    "build": BuildPayload,
    "migrate": MigratePayload,
    "swap": SwapPayload,
    "verify": VerifyPayload,
    "rollback": RollbackPayload,
    "recert": RecertPayload,
    "closeout": CloseoutPayload,
    "validate": ValidatePayload,
    "status": StatusPayload,
    # A fleet (more than one host): each host's own payload of each phase (and of status),
    # {host: {phase: payload}}; the phase's own key holds the hosts' payloads merged.
    "fleet": dict[str, dict[str, object]],
    # A fleet: the rollout plan (batches in order), from the run's start play.
    "rollout": RolloutPayload,
}
"""set_stats key ``cutover_<name>`` -> its payload type."""

STATS_KEY = re.compile(r"^cutover_([a-z]+)$")


# ---- the checker ---------------------------------------------------------------------------


def check_payload(phase: str, payload: object, *, partial: bool = False) -> list[str]:
    """Problems of ``payload`` as the set_stats ``cutover_<phase>``; [] when it conforms.

    ``partial``: missing keys are not reported (a hand-written payload may leave keys out);
    unknown keys and wrong types still are. A failed phase (``ok`` false with its
    ``failed_task``: the engine's rescue) publishes what its role had recorded so far, so its
    missing keys are not reported either."""
    root = f"cutover_{phase}"
    contract = PAYLOADS.get(phase)
    if contract is None:
        return [f"{root}: no contract for {phase!r} (known: {', '.join(PAYLOADS)})"]
    if phase == "fleet" and isinstance(payload, dict):  # every host's payloads, each by its phase's contract
        problems = _check(payload, contract, root, partial)
        for host, by_phase in payload.items():
            for name, one in (by_phase.items() if isinstance(by_phase, dict) else ()):
                if name != "fleet" and name in PAYLOADS:
                    problems += [f"{root}.{host}.{p}" for p in check_payload(name, one, partial=partial)]
        return problems
    failed = isinstance(payload, dict) and payload.get("ok") is False and "failed_task" in payload
    return _check(payload, contract, root, partial or failed)


def _check(value: object, expected: Any, path: str, partial: bool) -> list[str]:
    if expected is Any or expected is object:
        return []
    if is_typeddict(expected):
        return _check_typeddict(value, expected, path, partial)
    origin = get_origin(expected)
    args = get_args(expected)
    if origin in (Union, types.UnionType):
        return _check_union(value, args, path, partial)
    if origin is Literal:
        if any(type(value) is type(arg) and value == arg for arg in args):
            return []
        return [f"{path}: expected {_describe(expected)}, got {_shown(value)}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: expected {_describe(expected)}, got {_shown(value)}"]
        return [p for i, item in enumerate(value) for p in _check(item, args[0], f"{path}[{i}]", partial)]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{path}: expected {_describe(expected)}, got {_shown(value)}"]
        problems = [f"{path}: key {_shown(k)} is not a string" for k in value if not isinstance(k, str)]
        for key, item in value.items():
            problems += _check(item, args[1], _key_path(path, str(key)), partial)
        return problems
    if _is_scalar(value, expected):
        return []
    return [f"{path}: expected {_describe(expected)}, got {_shown(value)}"]


def _check_typeddict(value: object, expected: Any, path: str, partial: bool) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected {_describe(expected)}, got {_shown(value)}"]
    fields = _fields(expected)
    problems: list[str] = []
    if not partial:
        for key in sorted(expected.__required_keys__ - value.keys()):
            problems.append(f"{_key_path(path, key)}: missing (required by {expected.__name__})")
    for key, item in value.items():
        if key not in fields:
            problems.append(
                f"{_key_path(path, str(key))}: unknown key (not in the contract's {expected.__name__}:"
                f" {', '.join(fields)})"
            )
        else:
            problems += _check(item, fields[key], _key_path(path, key), partial)
    return problems


def _check_union(value: object, alternatives: tuple[Any, ...], path: str, partial: bool) -> list[str]:
    results = [_check(value, alt, path, partial) for alt in alternatives]
    if any(not problems for problems in results):
        return []
    shaped = [r for alt, r in zip(alternatives, results, strict=True) if is_typeddict(alt)]
    if isinstance(value, dict) and shaped:  # the mapping's own problems, against its closest shape
        return min(shaped, key=len)
    described = " or ".join(_describe(alt) for alt in alternatives)
    return [f"{path}: expected {described}, got {_shown(value)}"]


@functools.cache
def _fields(typed_dict: Any) -> dict[str, Any]:
    return get_type_hints(typed_dict)


def _is_scalar(value: object, expected: Any) -> bool:
    if expected is type(None) or expected is None:
        return value is None
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:  # a JSON number: 2 is as good as 2.0
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is str:
        return isinstance(value, str)
    raise TypeError(f"contract: unsupported annotation {expected!r}")


def _describe(expected: Any) -> str:
    if is_typeddict(expected):
        return f"a mapping ({expected.__name__})"
    origin = get_origin(expected)
    if origin is Literal:
        return "one of " + ", ".join(json.dumps(a) for a in get_args(expected))
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(expected))
    if origin is list:
        return f"a list of {_describe(get_args(expected)[0])}"
    if origin is dict:
        return f"a mapping of {_describe(get_args(expected)[1])}"
    names = {type(None): "null", None: "null", bool: "true/false", int: "an integer", float: "a number"}
    return names.get(expected, "a string" if expected is str else repr(expected))


def _shown(value: object) -> str:
    text = json.dumps(value, sort_keys=True, default=repr)
    if len(text) > 60:
        text = text[:57] + "..."
    kind = {dict: "mapping", list: "list", str: "string", bool: "boolean", type(None): "null"}
    return f"{kind.get(type(value), type(value).__name__)} {text}" if value is not None else "null"


def _key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key) else f"{path}[{key!r}]"


# ---- receipts ----------------------------------------------------------------------------------


def check_receipt(doc: Mapping[str, Any], *, partial: bool = False) -> list[str]:
    """Problems of one receipt's payload (``result``) and, in a fleet, its ``rollout``. A phase
    that failed or was canceled before its set_stats task leaves ``result: {}``: that is no
    problem; a done phase must have published."""
    phase = str(doc.get("phase", ""))
    result = doc.get("result")
    # a fleet's receipts: the run's rollout plan (absent for one host)
    own = check_payload("rollout", doc["rollout"], partial=partial) if "rollout" in doc else []
    if result == {} and doc.get("status") != "done":
        return own
    if result == {}:
        return [*own, f"cutover_{phase}: the phase is done but published no payload"]
    return [*own, *check_payload(phase, result, partial=partial)]


def check_artifact(artifact: Mapping[str, Any], *, partial: bool = False) -> list[str]:
    """Problems of a run's whole set_stats data (``playbook_on_stats`` ``artifact_data``): every
    ``cutover_<name>`` key against its contract (``cutover_validate`` too), any other key is
    unknown."""
    problems: list[str] = []
    for key, payload in artifact.items():
        match = STATS_KEY.match(key)
        if not match or match.group(1) not in PAYLOADS:
            problems.append(
                f"{key}: unknown set_stats key (known: {', '.join(f'cutover_{p}' for p in PAYLOADS)})"
            )
            continue
        problems += check_payload(match.group(1), payload, partial=partial)
    return problems


def stats_artifact(events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The set_stats data of a recorded event stream (the last ``playbook_on_stats``)."""
    artifact: dict[str, Any] = {}
    for event in events:
        if event.get("event") == "playbook_on_stats":
            artifact = dict((event.get("event_data") or {}).get("artifact_data") or {})
    return artifact


def check_receipts(docs: Iterable[Mapping[str, Any]], *, partial: bool = False) -> list[str]:
    """Every receipt's payload, each problem prefixed with the receipt's id."""
    return [f"{doc.get('id', '?')}: {p}" for doc in docs for p in check_receipt(doc, partial=partial)]


def check_receipts_dir(path: Path, *, run_id: str | None = None, partial: bool = False) -> list[str]:
    """Every receipt in ``path`` (ledger order; only ``run_id``'s when given): its ``result``
    and the other set_stats keys of its ``events.jsonl`` (e.g. ``cutover_validate``).

    For the integration tests: ``assert contract.check_receipts_dir(receipts_dir) == []``
    after a real run."""
    from . import receipts  # the receipts module does not need the contract; keep it that way

    problems: list[str] = []
    docs = [d for d in receipts.load_all(path) if run_id is None or d.get("run_id") == run_id]
    if not docs:
        return [f"{path}: no receipts{' of run ' + run_id if run_id else ''}"]
    for doc in docs:
        rid = str(doc.get("id", "?"))
        problems += [f"{rid}: {p}" for p in check_receipt(doc, partial=partial)]
        events_file = path / rid / "events.jsonl"
        if not events_file.is_file():
            problems.append(f"{rid}: events.jsonl is missing")
            continue
        lines = events_file.read_text(encoding="utf-8").splitlines()
        artifact = stats_artifact(json.loads(line) for line in lines if line.strip())
        artifact.pop(f"cutover_{doc.get('phase')}", None)  # that one is the result, checked above
        problems += [f"{rid}: {p}" for p in check_artifact(artifact, partial=partial)]
    return problems
