"""The view model of the closeout documents: plain dataclasses built from one run's receipts.

``run_view(receipts, loop_id)`` is pure (receipts in, a ``RunView`` out). It reads each phase's
payload through the set_stats contract (``contract.py``), decides what happened (the loop's
outcome, which phase failed, what serves now) and collects the facts the templates word:
``templates/scope.md.j2`` (the loop record) and ``templates/changepack.md.j2`` (the change
pack) get it as ``run``. Fields that a template prints raw keep the payload's value (a table
cell shows a non-string as JSON); the rest is ready to print.

A fleet (several docker hosts: its receipts carry each host's own payload as ``hosts`` and the
rollout plan as ``rollout``): ``fleet_view`` adds the batch order and one row per host
(``RunView.fleet``, None for one host, whose documents stay as they were).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from . import health_contract
from .contract import (
    BaselinePayload,
    BuildPayload,
    CloseoutPayload,
    Health,
    MigratePayload,
    PrepPayload,
    RecertPayload,
    RollbackPayload,
    SwapPayload,
    VerifyPayload,
)

Receipt = Mapping[str, Any]

PHASE_ORDER = ("baseline", "prep", "build", "migrate", "swap", "verify", "rollback", "recert", "closeout")
PHASE_TITLES = {
    "baseline": "P0 Baseline",
    "prep": "P1 Prep",
    "build": "P2 Build",
    "migrate": "P3 Migrate",
    "swap": "P4 Swap",
    "verify": "P5 Verify",
    "rollback": "R Rollback",
    "recert": "P6 Recert",
    "closeout": "P7 Closeout",
}
CHANGING = ("build", "migrate", "swap", "verify")
# Outcomes after which the host does not run the attempted release.
NOT_SERVING_ATTEMPT = ("rolled_back", "rollback_failed", "aborted", "interrupted")
STILL_OPEN = ("rollback_failed", "drift", "incomplete", "planned", "interrupted")


# ---- reading receipts --------------------------------------------------------------------------


def by_phase(receipts: Sequence[Receipt]) -> dict[str, Receipt]:
    """The receipt of each phase (the last one of a phase wins)."""
    return {str(r.get("phase")): r for r in receipts}


def passed(r: Receipt | None) -> bool:
    return r is not None and bool(r) and r.get("status") == "done"


def _result(r: Receipt | None) -> dict[str, Any]:
    res = r.get("result") if r else None
    return dict(res) if isinstance(res, Mapping) else {}


class Payloads:
    """Each phase's payload, typed by the contract ({} when the phase did not run or published
    nothing: the TypedDicts' keys are read with .get)."""

    def __init__(self, phases: Mapping[str, Receipt]) -> None:
        self._phases = phases

    def baseline(self) -> BaselinePayload:
        return cast(BaselinePayload, _result(self._phases.get("baseline")))

    def prep(self) -> PrepPayload:
        return cast(PrepPayload, _result(self._phases.get("prep")))

    def build(self) -> BuildPayload:
        return cast(BuildPayload, _result(self._phases.get("build")))

    def migrate(self) -> MigratePayload:
        return cast(MigratePayload, _result(self._phases.get("migrate")))

    def swap(self) -> SwapPayload:
        return cast(SwapPayload, _result(self._phases.get("swap")))

    def verify(self) -> VerifyPayload:
        return cast(VerifyPayload, _result(self._phases.get("verify")))

    def rollback(self) -> RollbackPayload:
        return cast(RollbackPayload, _result(self._phases.get("rollback")))

    def recert(self) -> RecertPayload:
        return cast(RecertPayload, _result(self._phases.get("recert")))

    def closeout(self) -> CloseoutPayload:
        return cast(CloseoutPayload, _result(self._phases.get("closeout")))


def _nothing_undone(rb: Receipt | None) -> bool:
    return passed(rb) and _result(rb).get("outcome") == "nothing_to_undo"


def loop_outcome(receipts: Sequence[Receipt]) -> str:
    """succeeded | rolled_back | rollback_failed | aborted | drift | planned | interrupted |
    failed | incomplete."""
    ph = by_phase(receipts)
    if not ph:
        return "incomplete"
    if any(r.get("status") == "canceled" for r in receipts):
        return "interrupted"
    if all(r.get("check_mode") for r in receipts):
        return "planned" if all(passed(r) for r in receipts) else "aborted"
    if "rollback" in ph:
        rb = ph["rollback"]
        if _nothing_undone(rb) and not any(passed(ph.get(p)) for p in CHANGING):
            return "aborted"  # a changing phase failed before it changed anything (lock held...)
        if passed(rb) and _result(rb).get("outcome", "rolled_back") in ("rolled_back", "nothing_to_undo"):
            return "rolled_back"
        return "rollback_failed"
    for early in ("baseline", "prep"):
        if early in ph and not passed(ph[early]):
            return "aborted"
    if "recert" in ph and not passed(ph["recert"]):
        return "drift"
    if any(not passed(r) for r in receipts if r.get("phase") != "closeout"):
        return "failed"
    if "verify" in ph:
        return "succeeded"
    return "incomplete"


def changed_host(run: Sequence[Receipt]) -> bool:
    """Whether a run may have changed the host: a changing phase or a rollback ran (not in
    check mode), unless every changing phase failed and the rollback found nothing of this run
    to undo (e.g. the deploy lock was held by another run)."""
    ph = by_phase([r for r in run if not r.get("check_mode")])
    if not any(p in ph for p in (*CHANGING, "rollback")):
        return False
    return not (_nothing_undone(ph.get("rollback")) and not any(passed(ph.get(p)) for p in CHANGING))


# ---- the view model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseRef:
    """A phase as the documents cite it: its receipt, verdict and times."""

    phase: str
    title: str
    ran: bool
    receipt_id: str
    verdict: str  # PASS | FAIL | CANCELED | NOT RUN
    start: str
    end: str
    check_mode: bool


@dataclass(frozen=True)
class Host:
    name: str
    address: str


@dataclass(frozen=True)
class Service:
    """A service of the inventory (the receipts' safe inventory facts)."""

    name: str
    image: str
    ports: list[str]
    networks: list[str]

    @property
    def loopback_only(self) -> bool:
        return all(p.startswith("127.0.0.1:") for p in self.ports)


@dataclass(frozen=True)
class Release:
    ref: str
    commit: str
    release: str
    previous: str  # the release that served before the run (baseline's rollback point)


@dataclass(frozen=True)
class Failure:
    phase: str  # the first phase that did not pass (not the rollback), "-" when none
    error: str


@dataclass(frozen=True)
class HealthView:
    service: str
    ok: bool
    status_code: object
    fields: dict[str, object] | None  # the contract's fields as answered (the whole answer when no
    # contract is known); None: not a health record
    expected: str = "200, every field ok"  # the health contract in words (the gates' expectation)


@dataclass(frozen=True)
class Container:
    name: object
    status: object
    health: object


@dataclass(frozen=True)
class BaselineFacts:
    ref: PhaseRef
    engine_version: str | None  # None: not published
    networks: dict[str, bool]
    disk_free_mb: int | None
    lock_held: bool
    containers: list[Container]

    @property
    def networks_present(self) -> int:
        return sum(1 for ok in self.networks.values() if ok)


@dataclass(frozen=True)
class GateView:
    module: object
    gate: object
    rc: object
    ok: bool
    duration_s: object  # "?" when not published


@dataclass(frozen=True)
class PrepFacts:
    ref: PhaseRef
    ref_name: str | None  # None: not published
    release: str | None
    tree_clean: object
    missing_env: list[str]
    gates: list[GateView]

    @property
    def gates_passed(self) -> int:
        return sum(1 for g in self.gates if g.ok)


# -- execution summary: one item per thing that happened, worded by the template (item.kind)


@dataclass(frozen=True)
class GatesItem:
    kind: ClassVar[str] = "gates"
    gate_kinds: list[str]
    modules: int
    failed: list[str]  # module/gate


@dataclass(frozen=True)
class EnvItem:
    kind: ClassVar[str] = "env"
    required: int
    missing: list[str]


@dataclass(frozen=True)
class BuildItem:
    kind: ClassVar[str] = "build"
    release: str
    images: int
    built: int


@dataclass(frozen=True)
class MigrationItem:
    kind: ClassVar[str] = "migration"
    applied: list[str]
    already: int
    backup: str


@dataclass(frozen=True)
class DowntimeView:
    service: str
    longest_gap_s: object
    failed: object
    why: str  # "HTTP 503: 2, connection refused: 1"; '' when nothing failed or the receipt predates it

    @classmethod
    def of(cls, service: str, figures: Mapping[str, Any]) -> DowntimeView:
        reasons = figures.get("reasons")
        why = ", ".join(f"{k}: {v}" for k, v in reasons.items()) if isinstance(reasons, Mapping) else ""
        return cls(service, figures.get("longest_gap_s", 0), figures.get("failed", 0), why)


@dataclass(frozen=True)
class SwapItem:
    kind: ClassVar[str] = "swap"
    strategy: str
    actions: list[tuple[object, object]]  # (service, action)
    downtime: list[DowntimeView]


@dataclass(frozen=True)
class VerifyItem:
    kind: ClassVar[str] = "verify"
    published: bool  # False: verify failed before publishing anything
    error: str
    healthy: int
    checked: int
    smoke: object


@dataclass(frozen=True)
class RollbackItem:
    kind: ClassVar[str] = "rollback"
    outcome: str
    mode: str
    restored: list[str]
    removed: list[str]


@dataclass(frozen=True)
class NothingChangedItem:
    kind: ClassVar[str] = "nothing"


SummaryItem = (
    GatesItem
    | EnvItem
    | BuildItem
    | MigrationItem
    | SwapItem
    | VerifyItem
    | RollbackItem
    | NothingChangedItem
)


@dataclass(frozen=True)
class ServiceState:
    """A service after the run (loop record, Post-Cutover State)."""

    name: str
    removed: bool  # removed by the rollback: not part of the previous release
    health: HealthView | None  # None: not recorded
    image: str | None  # None: not running


@dataclass(frozen=True)
class RecertFacts:
    ref: PhaseRef
    drift: int
    leftovers: int
    lock_held: bool
    health: list[HealthView]


# -- change pack


@dataclass(frozen=True)
class RollbackRow:
    service: str
    before: str | None  # None: not deployed before the run
    after: str
    kept_container: str | None
    absent: bool = False  # the release does not have the service (swap action absent or retired)


@dataclass(frozen=True)
class PlanBuildStep:
    kind: ClassVar[str] = "plan_build"
    release: object
    ship: bool
    images: list[tuple[object, bool]]  # (image, exists on the host)


@dataclass(frozen=True)
class PlanMigrateStep:
    kind: ClassVar[str] = "plan_migrate"
    database: object
    pending: list[str]
    already: int
    drift: int


@dataclass(frozen=True)
class PlanSwapStep:
    kind: ClassVar[str] = "plan_swap"
    lines: list[str]


@dataclass(frozen=True)
class PhaseStep:
    kind: ClassVar[str] = "phase"
    ref: PhaseRef


SequenceStep = PlanBuildStep | PlanMigrateStep | PlanSwapStep | PhaseStep


@dataclass(frozen=True)
class SmokeCheckView:
    name: object
    result: object
    detail: str


@dataclass(frozen=True)
class VerifyFacts:
    """Verify's gates, when it ran outside check mode."""

    ref: PhaseRef
    health: list[HealthView]
    smoke_checks: list[SmokeCheckView]
    smoke_summary: object


@dataclass(frozen=True)
class ImageRow:
    service: str
    image: object
    image_id: object
    built: object  # None: not recorded


@dataclass(frozen=True)
class PlannedImageRow:
    service: object
    image: object
    exists: bool


@dataclass(frozen=True)
class AppliedRow:
    version: object
    checksum: object
    duration_s: object


@dataclass(frozen=True)
class MigrationFacts:
    ref: PhaseRef
    database: object
    backup: str
    applied: list[AppliedRow]
    already: list[str]
    pending: list[str]  # pending and not applied by this run


@dataclass(frozen=True)
class PlannedMigration:
    database: object  # None: no database planned
    pending: list[str]


@dataclass(frozen=True)
class ChainTip:
    receipt_id: str
    hash: str


# -- a fleet (several docker hosts): the batch order and one row per host


@dataclass(frozen=True)
class FleetHostRow:
    """One host of a fleet: the release before and after the run, the image ids it built,
    verify on it, its swap's downtime and what became of it (``outcome``, worded by the
    template)."""

    host: str
    batch: int | None  # the number of its batch (1: the canary); None: in no batch
    release_before: str  # "-": not recorded
    release_after: str  # what serves on the host after the run
    image_ids: list[tuple[str, str]]  # (service, short image id) as the host's build found them
    swapped: bool  # its swap passed (not in check mode)
    committed: bool  # its verify passed and committed the release
    verified: bool | None  # verify's result on the host; None: verify did not run there
    healthy: int
    checked: int
    smoke: object  # verify's smoke summary on the host; None: not recorded
    downtime: list[DowntimeView]  # its swap's, per service
    # committed | committed_rolled_back | failed_rolled_back | rolled_back | rollback_failed |
    # rollback_refused | failed | not_verified | never_swapped | planned
    outcome: str
    failed_phase: str  # the phase that failed on this host itself, "" when none did
    reason: str  # why, "" when none


@dataclass(frozen=True)
class BatchView:
    """One batch of the rollout (swapped and verified before the next one starts)."""

    number: int  # 1: the canary
    hosts: list[str]
    status: str  # passed | failed | interrupted | incomplete | not_started | planned
    failed_phase: str  # swap | verify when failed, else ""
    failed_hosts: list[str]  # the hosts that failed themselves
    receipts: list[PhaseRef]  # the batch's swap and verify receipts, in order

    @property
    def canary(self) -> bool:
        return self.number == 1


@dataclass(frozen=True)
class FleetView:
    """A fleet's run: the batches in rollout order and one row per host."""

    policy: str | None  # cutover_fleet_on_failure; None: the receipts do not carry the plan
    from_plan: bool  # the batches are the recorded plan's; False: read from the swap receipts
    batches: list[BatchView]
    hosts: list[FleetHostRow]

    @property
    def failed_batch(self) -> BatchView | None:
        return next((b for b in self.batches if b.status in ("failed", "interrupted")), None)


@dataclass(frozen=True)
class RunView:
    """Everything the loop record and the change pack say about one run of a loop."""

    loop_id: str
    run_id: str
    outcome: str
    status: str  # open | closed
    opened: str  # date of the first receipt
    closed: str  # date of the last receipt's end when closed, else ""
    operator: str
    finished_at: str  # the last receipt's end, "-" without receipts
    project: str
    package_commit: str
    hosts: list[Host]
    services: list[Service]
    release: Release
    failure: Failure
    phases: list[PhaseRef]  # every phase of PHASE_ORDER, run or not
    all_healthy: bool
    recert_passed: bool
    baseline: BaselineFacts | None
    prep: PrepFacts | None
    summary: list[SummaryItem]
    post_state: list[ServiceState]
    smoke_summary: object  # None: verify published no smoke result
    recert: RecertFacts | None
    closeout: PhaseRef | None
    chain_tip: ChainTip | None
    rollback_map: list[RollbackRow]
    sequence: list[SequenceStep]
    verify: VerifyFacts | None
    rollback_health: tuple[PhaseRef, list[HealthView]] | None
    images: list[ImageRow]
    planned_images: list[PlannedImageRow]
    migration: MigrationFacts | None
    planned_migration: PlannedMigration
    fleet: FleetView | None = None  # None: one docker host (the documents as before)


# ---- building it ---------------------------------------------------------------------------------


def _verdict(r: Receipt | None) -> str:
    if not r:
        return "NOT RUN"
    return "PASS" if passed(r) else "CANCELED" if r.get("status") == "canceled" else "FAIL"


def _timestamp(r: Receipt | None, key: str) -> str:
    times = (r.get("timestamps") if r else None) or {}
    return str(times.get(key, ""))


def _phase_ref(phase: str, r: Receipt | None) -> PhaseRef:
    return PhaseRef(
        phase=phase,
        title=PHASE_TITLES.get(phase, phase),
        ran=bool(r),
        receipt_id=str(r["id"]) if r else "",
        verdict=_verdict(r),
        start=_timestamp(r, "start"),
        end=_timestamp(r, "end"),
        check_mode=bool(r.get("check_mode")) if r else False,
    )


def _meta(receipts: Sequence[Receipt]) -> dict[str, Any]:
    for r in receipts:
        m = r.get("meta")
        if isinstance(m, Mapping) and m:
            return dict(m)
    return {}


def _services(inventory: Mapping[str, Any]) -> list[Service]:
    return [
        Service(
            name=str(s.get("name")),
            image=str(s.get("image")),
            ports=[str(p) for p in s.get("ports") or []],
            networks=[str(n) for n in s.get("networks") or []],
        )
        for s in inventory.get("services") or []
        if isinstance(s, Mapping)
    ]


def _first_failure(receipts: Sequence[Receipt]) -> Failure:
    for r in receipts:
        if not passed(r) and r.get("phase") != "rollback":
            return Failure(str(r.get("phase")), str(r.get("error") or "no message"))
    return Failure("-", "-")


Contracts = Mapping[str, Mapping[str, Any]]  # service name -> its health contract (inventory facts)


def _contracts(inventory: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        str(s.get("name")): s["health"]
        for s in inventory.get("services") or []
        if isinstance(s, Mapping) and isinstance(s.get("health"), Mapping)
    }


def _health(service: str, entry: object, contracts: Contracts | None = None) -> HealthView:
    """A service's health record; its fields are those of its health contract (the one the gates
    used, health_contract.fields), the whole answer when the receipts know no contract."""
    if not isinstance(entry, Mapping):
        return HealthView(service, False, None, None)
    body = entry.get("body")
    contract = (contracts or {}).get(service)
    if contract is None:
        fields = {str(k): v for k, v in body.items()} if isinstance(body, Mapping) else {}
        return HealthView(service, bool(entry.get("ok")), entry.get("status_code"), fields)
    fields = health_contract.fields(dict(contract), dict(body) if isinstance(body, Mapping) else body)
    return HealthView(service, bool(entry.get("ok")), entry.get("status_code"), fields, _expected(contract))


def _expected(contract: Mapping[str, Any]) -> str:
    codes = " or ".join(str(c) for c in contract.get("status_code") or [200])
    expected = sorted((contract.get("json") or {}).items())
    want = ", ".join(f"{k}={v if isinstance(v, str) else health_contract.show(v)}" for k, v in expected)
    return f"{codes}, {want}" if want else codes


def _health_list(health: Mapping[str, Health] | None, contracts: Contracts | None = None) -> list[HealthView]:
    return [_health(name, entry, contracts) for name, entry in (health or {}).items()]


def _final_health(p: Payloads) -> dict[str, Health]:
    for health in (p.recert().get("health"), p.rollback().get("health"), p.verify().get("health")):
        if isinstance(health, Mapping) and health:
            return dict(health)
    return {}


def _images(p: Payloads) -> dict[str, dict[str, Any]]:
    """Image per service from build and closeout (the later known values win)."""
    out: dict[str, dict[str, Any]] = {}
    for images in (p.build().get("images") or [], p.closeout().get("images") or []):
        for img in images:
            if isinstance(img, Mapping) and img.get("service"):
                known = {k: v for k, v in img.items() if v not in (None, "")}
                out.setdefault(str(img["service"]), {}).update(known)
    return out


def _serving_images(p: Payloads, outcome: str) -> dict[str, str]:
    """Image per service after the run: recert's containers, else state, else build/baseline."""
    out = {str(c.get("name")): str(c["image"]) for c in p.recert().get("containers") or [] if c.get("image")}
    if out:
        return out
    current = (p.closeout().get("state") or {}).get("current")
    if isinstance(current, Mapping):
        for svc, info in (current.get("services") or {}).items():
            if isinstance(info, Mapping) and info.get("image"):
                out[str(svc)] = str(info["image"])
    if out:
        return out
    if outcome in ("succeeded", "drift"):
        return {svc: str(i.get("image", "")) for svc, i in _images(p).items()}
    services = (p.baseline().get("current") or {}).get("services") or {}
    return {str(k): str(v) for k, v in services.items()}


def _summary(ph: Mapping[str, Receipt], p: Payloads) -> list[SummaryItem]:
    items: list[SummaryItem] = []
    prep = p.prep()
    gates = [g for g in prep.get("gates") or [] if isinstance(g, Mapping)]
    if gates:
        items.append(
            GatesItem(
                gate_kinds=sorted({str(g.get("gate")) for g in gates}),
                modules=len({str(g.get("module")) for g in gates}),
                failed=[f"{g.get('module')}/{g.get('gate')}" for g in gates if not g.get("ok")],
            )
        )
    env = prep.get("env_contract") or {}
    if env:
        items.append(EnvItem(len(env.get("required") or []), [str(m) for m in env.get("missing") or []]))
    build = p.build()
    if build.get("images"):
        images = build["images"]
        items.append(
            BuildItem(str(build.get("release", "")), len(images), sum(1 for i in images if i.get("built")))
        )
    if ph.get("migrate"):
        mig = p.migrate()
        items.append(
            MigrationItem(
                applied=[str(a.get("version")) for a in mig.get("applied") or [] if isinstance(a, Mapping)],
                already=len(mig.get("already") or []),
                backup=mig.get("backup") or "-",
            )
        )
    swap = p.swap()
    if swap.get("services"):
        items.append(
            SwapItem(
                strategy=str(swap.get("strategy", "")),
                actions=[
                    (s.get("name"), s.get("action")) for s in swap["services"] if isinstance(s, Mapping)
                ],
                downtime=[
                    DowntimeView.of(name, d)
                    for name, d in (swap.get("downtime") or {}).items()
                    if isinstance(d, Mapping)
                ],
            )
        )
    verify_r = ph.get("verify")
    if verify_r:
        ver = p.verify()
        health = ver.get("health") or {}
        items.append(
            VerifyItem(
                published=passed(verify_r) or bool(ver),
                error=str(verify_r.get("error") or "no message"),
                healthy=sum(1 for v in health.values() if isinstance(v, Mapping) and v.get("ok")),
                checked=len(health),
                smoke=(ver.get("smoke") or {}).get("summary", "-"),
            )
        )
    rollback_r = ph.get("rollback")
    if rollback_r:
        rb = p.rollback()
        items.append(
            RollbackItem(
                outcome=str(rb.get("outcome", "rolled_back" if passed(rollback_r) else "failed")),
                mode=str(rb.get("mode") or ""),
                restored=[str(x) for x in rb.get("restored") or []],
                removed=[str(x) for x in rb.get("removed") or []],
            )
        )
    return items or [NothingChangedItem()]


def _post_state(
    services: list[Service], p: Payloads, outcome: str, contracts: Contracts | None = None
) -> list[ServiceState]:
    health = _final_health(p)
    images = _serving_images(p, outcome)
    names = [s.name for s in services] or sorted(set(health) | set(images))
    removed = {str(x) for x in p.rollback().get("removed") or []}
    return [
        ServiceState(
            name=name,
            removed=name in removed and name not in health,
            health=_health(name, health[name], contracts) if name in health else None,
            image=images.get(name),
        )
        for name in names
    ]


def _baseline_facts(r: Receipt, base: BaselinePayload) -> BaselineFacts:
    return BaselineFacts(
        ref=_phase_ref("baseline", r),
        engine_version=base.get("engine_version"),
        networks=dict(base.get("networks") or {}),
        disk_free_mb=base.get("disk_free_mb"),
        lock_held=bool((base.get("lock") or {}).get("held")),
        containers=[
            Container(c.get("name"), c.get("status"), c.get("health"))
            for c in base.get("containers") or []
            if isinstance(c, Mapping)
        ],
    )


def _prep_facts(r: Receipt, prep: PrepPayload) -> PrepFacts:
    return PrepFacts(
        ref=_phase_ref("prep", r),
        ref_name=prep.get("ref"),
        release=prep.get("release"),
        tree_clean=prep.get("tree_clean"),
        missing_env=[str(m) for m in (prep.get("env_contract") or {}).get("missing") or []],
        gates=[
            GateView(g.get("module"), g.get("gate"), g.get("rc"), bool(g.get("ok")), g.get("duration_s", "?"))
            for g in prep.get("gates") or []
        ],
    )


def _release(p: Payloads) -> Release:
    prep, build = p.prep(), p.build()
    current = p.baseline().get("current") or {}
    return Release(
        ref=str(prep.get("ref") or ""),
        commit=str(prep.get("commit") or build.get("commit") or ""),
        release=str(prep.get("release") or build.get("release") or p.recert().get("release") or ""),
        previous=str(current.get("release") or "") if isinstance(current, Mapping) else "",
    )


def _plan(prep: PrepPayload) -> dict[str, Any]:
    plan = prep.get("plan")
    return dict(plan) if isinstance(plan, Mapping) else {}


def _planned_builds(plan: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    build = plan.get("build")
    entries = build if isinstance(build, list) else [build] if build else []
    return [e for e in entries if isinstance(e, Mapping) and isinstance(e.get("images"), list)]


def _sequence(ph: Mapping[str, Receipt], plan: Mapping[str, Any]) -> list[SequenceStep]:
    steps: list[SequenceStep] = [
        PlanBuildStep(
            release=entry.get("release", ""),
            ship=bool(entry.get("ship")),
            images=[
                (i.get("image"), bool(i.get("exists"))) for i in entry["images"] if isinstance(i, Mapping)
            ],
        )
        for entry in _planned_builds(plan)
    ]
    mig = plan.get("migrate")
    if isinstance(mig, Mapping):
        steps.append(
            PlanMigrateStep(
                database=mig.get("database", ""),
                pending=[str(v) for v in mig.get("pending") or []],
                already=len(mig.get("already") or []),
                drift=len(mig.get("drift") or []),
            )
        )
    swap = [s for s in plan.get("swap") or [] if isinstance(s, Mapping)]
    if swap:
        steps.append(
            PlanSwapStep([str(s.get("line") or f"{s.get('name')} ({s.get('action')})") for s in swap])
        )
    steps += [PhaseStep(_phase_ref(phase, ph[phase])) for phase in PHASE_ORDER if ph.get(phase)]
    return steps


def _rollback_map(
    services: list[Service], p: Payloads, release: Release, plan: Mapping[str, Any]
) -> list[RollbackRow]:
    before = (p.baseline().get("current") or {}).get("services") or {}
    planned = [s for s in plan.get("swap") or [] if isinstance(s, Mapping)]
    swapped = [s for s in p.swap().get("services") or [] if isinstance(s, Mapping)]
    swap_by = {str(s.get("name")): s for s in [*planned, *swapped]}
    # "After" is this cutover's target (what the build made), even when a rollback restored "Before"
    built: dict[str, str] = {
        str(i.get("service")): str(i.get("image") or "")
        for i in p.build().get("images") or []
        if isinstance(i, Mapping)
    }
    rows = []
    for s in services:
        entry = swap_by.get(s.name, {})
        after = (
            built.get(s.name)
            or entry.get("to")
            or (f"{s.image}:{release.release}" if release.release else "-")
        )
        absent = entry.get("action") in ("absent", "retired")
        rows.append(
            RollbackRow(
                s.name,
                before.get(s.name) or None,
                "(not in this release)" if absent else str(after),
                entry.get("kept_container") or None,
                absent,
            )
        )
    return rows


def _verify_facts(
    r: Receipt | None, ver: VerifyPayload, contracts: Contracts | None = None
) -> VerifyFacts | None:
    if not r or r.get("check_mode"):
        return None
    smoke = ver.get("smoke") or {}
    return VerifyFacts(
        ref=_phase_ref("verify", r),
        health=_health_list(ver.get("health"), contracts),
        smoke_checks=[
            SmokeCheckView(c.get("name"), c.get("result"), str(c.get("detail") or ""))
            for c in smoke.get("checks") or []
        ],
        smoke_summary=smoke.get("summary", "-"),
    )


def _recert_facts(
    r: Receipt | None, recert: RecertPayload, contracts: Contracts | None = None
) -> RecertFacts | None:
    if not r:
        return None
    return RecertFacts(
        ref=_phase_ref("recert", r),
        drift=len(recert.get("drift") or []),
        leftovers=len(recert.get("leftovers") or []),
        lock_held=bool(recert.get("lock_held")),
        health=_health_list(recert.get("health"), contracts),
    )


def _migration_facts(r: Receipt | None, mig: MigratePayload) -> MigrationFacts | None:
    if not r:
        return None
    applied = mig.get("applied") or []
    applied_versions = [a.get("version") for a in applied]
    return MigrationFacts(
        ref=_phase_ref("migrate", r),
        database=mig.get("database") or "-",
        backup=mig.get("backup") or "-",
        applied=[
            AppliedRow(a.get("version"), a.get("checksum", "-"), a.get("duration_s", "?")) for a in applied
        ],
        already=[str(v) for v in mig.get("already") or []],
        pending=[str(v) for v in mig.get("pending") or [] if v not in applied_versions],
    )


def _planned_migration(plan: Mapping[str, Any]) -> PlannedMigration:
    mig = plan.get("migrate")
    if isinstance(mig, Mapping) and mig:
        return PlannedMigration(mig.get("database") or "-", [str(v) for v in mig.get("pending") or []])
    return PlannedMigration(None, [])


# ---- a fleet --------------------------------------------------------------------------------------

BATCH_PHASES = ("swap", "verify")


def _hosts_of(r: Receipt | None) -> dict[str, dict[str, Any]]:
    """A fleet receipt's ``hosts``: each host's own payload of the phase ({} for one host)."""
    hosts = r.get("hosts") if r else None
    if not isinstance(hosts, Mapping):
        return {}
    return {str(h): dict(p) for h, p in hosts.items() if isinstance(p, Mapping)}


def _rollout(receipts: Sequence[Receipt]) -> dict[str, Any]:
    """The run's rollout plan as its receipts carry it ({} when none does: one host, or
    receipts written before the plan was recorded)."""
    for r in receipts:
        plan = r.get("rollout")
        if isinstance(plan, Mapping) and plan:
            return dict(plan)
    return {}


def _names(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _receipt_hosts(r: Receipt) -> list[str]:
    """The hosts of a receipt of the batch play: those that published a payload, then those
    that only ran tasks (e.g. stopped at the phase start after another host's failure)."""
    named = list(_hosts_of(r))
    stats = r.get("stats")
    return named + [str(h) for h in stats if str(h) not in named] if isinstance(stats, Mapping) else named


def _batches(receipts: Sequence[Receipt], plan: Mapping[str, Any]) -> tuple[list[list[str]], bool]:
    """The batches in rollout order, and whether they are the recorded plan's. Without a plan:
    the hosts of each swap receipt in order (each batch has its own), which only knows the
    batches that started."""
    planned = [_names(b) for b in plan.get("batches") or [] if _names(b)]
    if planned:
        return planned, True
    derived: list[list[str]] = []
    for r in receipts:
        if r.get("phase") == "swap":
            hosts = [h for h in _receipt_hosts(r) if not any(h in b for b in derived)]
            if hosts:
                derived.append(hosts)
    return derived, False


def _host_payload(receipts: Sequence[Receipt], phase: str, host: str) -> dict[str, Any]:
    """The host's own payload of a phase (the last receipt of the phase that has one)."""
    found: dict[str, Any] = {}
    for r in receipts:
        if r.get("phase") == phase:
            found = _hosts_of(r).get(host, found)
    return found


def _own_failure(receipts: Sequence[Receipt], host: str) -> tuple[str, str]:
    """(phase, reason) of the first phase that failed on this host itself (its payload says ok
    false; a failed receipt without its payload names it in a failed task), ("", "") if none."""
    for r in receipts:
        phase = str(r.get("phase"))
        if phase == "rollback" or r.get("status") == "canceled":
            continue
        payload = _hosts_of(r).get(host)
        if payload is not None:
            if payload.get("ok") is False:
                return phase, str(payload.get("reason") or r.get("error") or "no message")
            continue
        if r.get("status") == "failed":
            for task in r.get("failed_tasks") or []:
                if isinstance(task, Mapping) and task.get("host") == host:
                    return phase, f"{task.get('task')}: {task.get('msg') or 'no message'}"
    return "", ""


def _short_id(image_id: object) -> str:
    text = str(image_id or "")
    return text.removeprefix("sha256:")[:12] or "-"


def _release_after(
    recert: RecertPayload, closeout: CloseoutPayload, rollback: RollbackPayload, new: str, before: str
) -> str:
    """What serves on the host after the run: recert's reading, else state.json's current
    release, else what the rollback went back to; else ``new`` (the host's own new release when
    it swapped and was not rolled back) or ``before``."""
    if recert.get("release"):
        return str(recert["release"])
    current = (closeout.get("state") or {}).get("current")
    if isinstance(current, Mapping) and current.get("release"):
        return str(current["release"])
    if rollback.get("outcome") == "rolled_back" and rollback.get("to"):
        return str(rollback["to"])
    return new or before


def _host_outcome(check: bool, rollback: str, failed: str, committed: bool, swapped: bool) -> str:
    if check:
        return "planned"
    if rollback in ("failed", "refused"):
        return f"rollback_{rollback}"
    if rollback == "rolled_back":
        return "failed_rolled_back" if failed else "committed_rolled_back" if committed else "rolled_back"
    if failed:
        return "failed"
    return "committed" if committed else "not_verified" if swapped else "never_swapped"


def _fleet_row(
    receipts: Sequence[Receipt], host: str, batch: int | None, release: Release, check: bool
) -> FleetHostRow:
    base = cast(BaselinePayload, _host_payload(receipts, "baseline", host))
    build = cast(BuildPayload, _host_payload(receipts, "build", host))
    swap = cast(SwapPayload, _host_payload(receipts, "swap", host))
    ver = cast(VerifyPayload, _host_payload(receipts, "verify", host))
    rollback = cast(RollbackPayload, _host_payload(receipts, "rollback", host))
    current = base.get("current")
    recorded = current.get("release") if isinstance(current, Mapping) else None
    before = str(recorded or release.previous or "-")
    swapped = bool(swap) and swap.get("ok") is not False and not swap.get("check_mode")
    verified = bool(ver.get("ok")) if ver and not ver.get("check_mode") else None
    committed = bool(verified) and ver.get("committed") is not False
    failed_phase, reason = _own_failure(receipts, host)
    new = str(ver.get("release") or swap.get("release") or release.release) if swapped else ""
    health = (ver.get("health") or {}) if verified is not None else {}
    return FleetHostRow(
        host=host,
        batch=batch,
        release_before=before,
        release_after=_release_after(
            cast(RecertPayload, _host_payload(receipts, "recert", host)),
            cast(CloseoutPayload, _host_payload(receipts, "closeout", host)),
            rollback,
            new,
            before,
        ),
        image_ids=[
            (str(i.get("service")), _short_id(i.get("image_id")))
            for i in build.get("images") or []
            if isinstance(i, Mapping)
        ],
        swapped=swapped and not check,
        committed=committed and not check,
        verified=verified,
        healthy=sum(1 for v in health.values() if isinstance(v, Mapping) and v.get("ok")),
        checked=len(health),
        smoke=(ver.get("smoke") or {}).get("summary") if verified is not None else None,
        downtime=[
            DowntimeView.of(name, d)
            for name, d in (swap.get("downtime") or {}).items()
            if isinstance(d, Mapping)
        ],
        outcome=_host_outcome(check, str(rollback.get("outcome") or ""), failed_phase, committed, swapped),
        failed_phase=failed_phase,
        reason=reason,
    )


def _batch_view(
    number: int, hosts: list[str], receipts: Sequence[Receipt], rows: list[FleetHostRow]
) -> BatchView:
    mine = [r for r in receipts if r.get("phase") in BATCH_PHASES and set(_receipt_hosts(r)) & set(hosts)]
    refs = [_phase_ref(str(r.get("phase")), r) for r in mine]
    own = [row for row in rows if row.host in hosts]
    failed = [row for row in own if row.failed_phase in BATCH_PHASES]
    if failed:
        return BatchView(number, hosts, "failed", failed[0].failed_phase, [row.host for row in failed], refs)
    stopped = next((r for r in mine if r.get("status") != "done"), None)
    if stopped is not None:
        named = {str(t.get("host")) for t in stopped.get("failed_tasks") or [] if isinstance(t, Mapping)}
        status = "interrupted" if stopped.get("status") == "canceled" else "failed"
        failed_hosts = [h for h in hosts if h in named]
        return BatchView(number, hosts, status, str(stopped.get("phase")), failed_hosts, refs)
    if own and all(row.outcome == "planned" for row in own):
        status = "planned"
    elif not any(row.swapped for row in own):
        status = "not_started"
    else:
        status = "passed" if all(row.committed for row in own) else "incomplete"
    return BatchView(number, hosts, status, "", [], refs)


def fleet_view(receipts: Sequence[Receipt], release: Release, meta: Mapping[str, Any]) -> FleetView | None:
    """A fleet's batches and hosts, from each receipt's ``hosts`` (each host's own payload) and
    the recorded rollout plan (``rollout``); None for one host (no receipt has either)."""
    plan = _rollout(receipts)
    if not plan and not any(_hosts_of(r) for r in receipts):
        return None
    batches, from_plan = _batches(receipts, plan)
    batch_of = {h: n for n, hosts in enumerate(batches, 1) for h in hosts}
    inventory = (meta.get("inventory") or {}).get("hosts")
    names = [
        *batch_of,
        *_names(plan.get("hosts")),
        *(str(h) for h in (inventory if isinstance(inventory, Mapping) else {})),
        *(h for r in receipts for h in _hosts_of(r)),
    ]
    check = bool(receipts) and all(r.get("check_mode") for r in receipts)
    rows = [_fleet_row(receipts, h, batch_of.get(h), release, check) for h in dict.fromkeys(names)]
    return FleetView(
        policy=str(plan["policy"]) if plan.get("policy") else None,
        from_plan=from_plan,
        batches=[_batch_view(n, hosts, receipts, rows) for n, hosts in enumerate(batches, 1)],
        hosts=rows,
    )


def run_view(receipts: Sequence[Receipt], loop_id: str) -> RunView:
    """The view model of one run's documents (pure)."""
    ph = by_phase(receipts)
    p = Payloads(ph)
    meta = _meta(receipts)
    inventory = meta.get("inventory") or {}
    outcome = loop_outcome(receipts)
    status = "open" if outcome in STILL_OPEN else "closed"
    first, last = (receipts[0], receipts[-1]) if receipts else (None, None)
    services = _services(inventory)
    contracts = _contracts(inventory)
    release = _release(p)
    plan = _plan(p.prep())
    final_health = _final_health(p)
    rollback_r = ph.get("rollback")
    return RunView(
        loop_id=loop_id,
        run_id=str(first.get("run_id", "")) if first else "",
        outcome=outcome,
        status=status,
        opened=_timestamp(first, "start")[:10],
        closed=_timestamp(last, "end")[:10] if status == "closed" else "",
        operator=str(meta.get("user", "operator")),
        finished_at=_timestamp(last, "end") if last else "-",
        project=str(inventory.get("project") or "project"),
        package_commit=str(meta.get("package_commit") or ""),
        hosts=[Host(str(k), str(v)) for k, v in (inventory.get("hosts") or {}).items()],
        services=services,
        release=release,
        failure=_first_failure(receipts),
        phases=[_phase_ref(phase, ph.get(phase)) for phase in PHASE_ORDER],
        all_healthy=bool(final_health) and all(_health(k, v).ok for k, v in final_health.items()),
        recert_passed=passed(ph.get("recert")),
        baseline=_baseline_facts(ph["baseline"], p.baseline()) if ph.get("baseline") else None,
        prep=_prep_facts(ph["prep"], p.prep()) if ph.get("prep") else None,
        summary=_summary(ph, p),
        post_state=_post_state(services, p, outcome, contracts),
        smoke_summary=(p.verify().get("smoke") or {}).get("summary", "-")
        if p.verify().get("smoke")
        else None,
        recert=_recert_facts(ph.get("recert"), p.recert(), contracts),
        closeout=_phase_ref("closeout", ph["closeout"]) if ph.get("closeout") else None,
        chain_tip=ChainTip(str(last["id"]), str(last.get("hash", ""))) if last else None,
        rollback_map=_rollback_map(services, p, release, plan),
        sequence=_sequence(ph, plan),
        verify=_verify_facts(ph.get("verify"), p.verify(), contracts),
        rollback_health=(
            (_phase_ref("rollback", rollback_r), _health_list(p.rollback().get("health"), contracts))
            if rollback_r and not rollback_r.get("check_mode")
            else None
        ),
        images=[
            ImageRow(svc, img.get("image", "-"), img.get("image_id", "-"), img.get("built"))
            for svc, img in sorted(_images(p).items())
        ],
        planned_images=[
            PlannedImageRow(i.get("service", "-"), i.get("image", "-"), bool(i.get("exists")))
            for entry in _planned_builds(plan)
            for i in entry["images"]
            if isinstance(i, Mapping)
        ],
        migration=_migration_facts(ph.get("migrate"), p.migrate()),
        planned_migration=_planned_migration(plan),
        fleet=fleet_view(receipts, release, meta),
    )
