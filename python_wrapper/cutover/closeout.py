"""Closeout documents, rendered from receipts alone (pure functions: receipts in, text out).

* the loop record ``LOOP-<ID>.scope.md`` in the shape of the seed's loop scope file;
* the change pack ``LOOP-<ID>.changepack.md`` with the SPEC's eight headings plus
  Image Digests and Database Migration.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

CHANGEPACK_HEADINGS = (
    "Change Description",
    "IP Map",
    "Rollback Map",
    "Pre-Cutover Verification Matrix",
    "Cutover Sequence",
    "LAN-Only Devices",
    "Post-Cutover Verification Matrix",
    "Sign-Off",
    "Image Digests",
    "Database Migration",
)
SCOPE_HEADINGS = (
    "Objective",
    "Phases",
    "Done Definition",
    "Baseline Receipts",
    "Closeout",
    "Outcome",
    "Execution Summary",
    "Post-Cutover State",
    "Recert Receipts",
    "Final Commit Hashes",
)
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
PHASE_ORDER = ("baseline", "prep", "build", "migrate", "swap", "verify", "rollback", "recert", "closeout")
Receipt = Mapping[str, Any]


def _by_phase(receipts: Sequence[Receipt]) -> dict[str, Receipt]:
    out: dict[str, Receipt] = {}
    for r in receipts:
        out[str(r.get("phase"))] = r  # the last one of a phase wins
    return out


def _result(r: Receipt | None) -> dict[str, Any]:
    if not r:
        return {}
    res = r.get("result")
    return dict(res) if isinstance(res, Mapping) else {}


def _ok(r: Receipt | None) -> bool:
    return bool(r) and r is not None and r.get("status") == "done"


def _pf(r: Receipt | None) -> str:
    if not r:
        return "NOT RUN"
    return "PASS" if _ok(r) else "CANCELED" if r.get("status") == "canceled" else "FAIL"


def _date(r: Receipt | None, key: str = "start") -> str:
    if not r:
        return ""
    return str(r.get("timestamps", {}).get(key, ""))[:10]


def _esc(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text.replace("|", "\\|").replace("\n", " ")


CHANGING = ("build", "migrate", "swap", "verify")


def _nothing_undone(rb: Receipt | None) -> bool:
    return _ok(rb) and _result(rb).get("outcome") == "nothing_to_undo"


def loop_outcome(receipts: Sequence[Receipt]) -> str:
    """succeeded | rolled_back | rollback_failed | aborted | drift | planned | interrupted |
    failed | incomplete."""
    ph = _by_phase(receipts)
    if not ph:
        return "incomplete"
    if any(r.get("status") == "canceled" for r in receipts):
        return "interrupted"
    if all(r.get("check_mode") for r in receipts):
        return "planned" if all(_ok(r) for r in receipts) else "aborted"
    if "rollback" in ph:
        rb = ph["rollback"]
        if _nothing_undone(rb) and not any(_ok(ph.get(p)) for p in CHANGING):
            return "aborted"  # a changing phase failed before it changed anything (lock held...)
        if _ok(rb) and _result(rb).get("outcome", "rolled_back") in ("rolled_back", "nothing_to_undo"):
            return "rolled_back"
        return "rollback_failed"
    for early in ("baseline", "prep"):
        if early in ph and not _ok(ph[early]):
            return "aborted"
    if "recert" in ph and not _ok(ph["recert"]):
        return "drift"
    if any(not _ok(r) for r in receipts if r.get("phase") != "closeout"):
        return "failed"
    if "verify" in ph:
        return "succeeded"
    return "incomplete"


OUTCOME_TEXT = {
    "succeeded": "Production cutover **SUCCEEDED**. No rollback needed.",
    "rolled_back": "Cutover **ROLLED BACK**: {failed} failed ({error}); the rollback succeeded and the "
    "previous release serves again.",
    "rollback_failed": "Cutover **FAILED AND THE ROLLBACK FAILED**: {failed} failed ({error}); the host "
    "needs a person (see the rollback receipt for the state it is in).",
    "aborted": "Cutover **ABORTED BEFORE ANY CHANGE**: {failed} failed ({error}); nothing on the host "
    "changed.",
    "drift": "Cutover completed but **RECERT FAILED**: {failed} failed ({error}); the host needs a person.",
    "planned": "Dry run only (**PLANNED**): nothing on the host changed.",
    "failed": "Cutover **FAILED**: {failed} failed ({error}).",
    "interrupted": "Cutover **INTERRUPTED** during {failed}: {error}. Phases after it did not run; if it was "
    "a changing phase, the host may hold this run's unfinished change and deploy lock (`cutover rollback "
    "--run-id {run_id}` undoes it).",
    "incomplete": "Cutover **INCOMPLETE**: not every phase ran.",
}


def _outcome_text(receipts: Sequence[Receipt], outcome: str, failed: str, error: str) -> str:
    run_id = str(receipts[-1].get("run_id", "")) if receipts else ""
    return OUTCOME_TEXT[outcome].format(failed=failed, error=error, run_id=run_id or "<run id>")


def _first_failure(receipts: Sequence[Receipt]) -> tuple[str, str]:
    for r in receipts:
        if not _ok(r) and r.get("phase") != "rollback":
            return str(r.get("phase")), str(r.get("error") or "no message")
    return "-", "-"


def _meta(receipts: Sequence[Receipt]) -> dict[str, Any]:
    for r in receipts:
        m = r.get("meta")
        if isinstance(m, Mapping) and m:
            return dict(m)
    return {}


def _services(receipts: Sequence[Receipt]) -> list[dict[str, Any]]:
    inv = _meta(receipts).get("inventory") or {}
    services = inv.get("services") or []
    return [dict(s) for s in services if isinstance(s, Mapping)]


def _release_info(ph: Mapping[str, Receipt]) -> dict[str, str]:
    prep = _result(ph.get("prep"))
    build = _result(ph.get("build"))
    recert = _result(ph.get("recert"))
    return {
        "ref": str(prep.get("ref") or ""),
        "commit": str(prep.get("commit") or build.get("commit") or ""),
        "release": str(prep.get("release") or build.get("release") or recert.get("release") or ""),
    }


def _previous_release(ph: Mapping[str, Receipt]) -> str:
    current = _result(ph.get("baseline")).get("current") or {}
    return str(current.get("release") or "") if isinstance(current, Mapping) else ""


def _health_text(entry: Any) -> tuple[bool, str]:
    if not isinstance(entry, Mapping):
        return False, "unknown"
    body = entry.get("body")
    fields = ""
    if isinstance(body, Mapping):
        fields = ", ".join(f"{k}={v}" for k, v in body.items() if k != "status")
    ok = bool(entry.get("ok"))
    code = entry.get("status_code")
    state = "healthy" if ok else f"UNHEALTHY (HTTP {code})" if code else "UNHEALTHY"
    return ok, f"{state} ({fields})" if fields else state


def _images(ph: Mapping[str, Receipt]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for phase in ("build", "closeout"):
        for img in _result(ph.get(phase)).get("images") or []:
            if isinstance(img, Mapping) and img.get("service"):
                known = {k: v for k, v in img.items() if v not in (None, "")}
                out.setdefault(str(img["service"]), {}).update(known)
    return out


def _final_health(ph: Mapping[str, Receipt]) -> dict[str, Any]:
    for phase in ("recert", "rollback", "verify"):
        health = _result(ph.get(phase)).get("health")
        if isinstance(health, Mapping) and health:
            return dict(health)
    return {}


def _all_healthy(ph: Mapping[str, Receipt]) -> bool:
    health = _final_health(ph)
    return bool(health) and all(_health_text(v)[0] for v in health.values())


def _serving_images(ph: Mapping[str, Receipt], outcome: str) -> dict[str, str]:
    """Image per service after the run: recert containers, else state, else build/baseline."""
    out: dict[str, str] = {}
    for c in _result(ph.get("recert")).get("containers") or []:
        if isinstance(c, Mapping) and c.get("image"):
            out[str(c.get("service") or c.get("name"))] = str(c["image"])
    if out:
        return out
    state = _result(ph.get("closeout")).get("state") or {}
    current = state.get("current") if isinstance(state, Mapping) else None
    if isinstance(current, Mapping):
        for svc, info in (current.get("services") or {}).items():
            if isinstance(info, Mapping) and info.get("image"):
                out[str(svc)] = str(info["image"])
    if out:
        return out
    if outcome in ("succeeded", "drift"):
        return {svc: str(i.get("image", "")) for svc, i in _images(ph).items()}
    base = _result(ph.get("baseline")).get("current") or {}
    if isinstance(base, Mapping):
        return {str(k): str(v) for k, v in (base.get("services") or {}).items()}
    return out


def _summary_lines(ph: Mapping[str, Receipt], outcome: str) -> list[str]:
    lines: list[str] = []
    prep = _result(ph.get("prep"))
    gates = [g for g in prep.get("gates") or [] if isinstance(g, Mapping)]
    if gates:
        failed = [f"{g.get('module')}/{g.get('gate')}" for g in gates if not g.get("ok")]
        kinds = sorted({str(g.get("gate")) for g in gates})
        modules = sorted({str(g.get("module")) for g in gates})
        state = "all passed" if not failed else f"FAILED: {', '.join(failed)}"
        lines.append(f"**Gates**: {', '.join(kinds)} for {len(modules)} modules: {state}")
    env = prep.get("env_contract") or {}
    if isinstance(env, Mapping) and env:
        missing = env.get("missing") or []
        lines.append(
            f"**Env contract**: {len(env.get('required') or [])} keys required, "
            + (
                f"missing: {', '.join(map(str, missing))}"
                if missing
                else "none missing (values never printed)"
            )
        )
    build = _result(ph.get("build"))
    if build.get("images"):
        imgs = build["images"]
        built = sum(1 for i in imgs if i.get("built"))
        lines.append(
            f"**Build**: {len(imgs)} images for release `{build.get('release', '')}` on the host "
            f"({built} built, {len(imgs) - built} already present)"
        )
    mig = _result(ph.get("migrate"))
    if ph.get("migrate"):
        applied = [str(a.get("version")) for a in mig.get("applied") or [] if isinstance(a, Mapping)]
        lines.append(
            f"**Migration**: applied {', '.join(applied) or 'none'}; already applied "
            f"{len(mig.get('already') or [])}; backup `{mig.get('backup') or '-'}`"
        )
    swap = _result(ph.get("swap"))
    if swap.get("services"):
        parts = [f"{s.get('name')} {s.get('action')}" for s in swap["services"] if isinstance(s, Mapping)]
        down = swap.get("downtime") or {}
        gaps = [
            f"{k} {v.get('longest_gap_s', 0)}s/{v.get('failed', 0)} failed"
            for k, v in down.items()
            if isinstance(v, Mapping)
        ]
        lines.append(
            f"**Swap** ({swap.get('strategy', '')}): {', '.join(parts)}"
            + (f"; downtime (longest gap/failed requests): {', '.join(gaps)}" if gaps else "")
        )
    ver = _result(ph.get("verify"))
    if ph.get("verify") and not _ok(ph["verify"]) and not ver:
        lines.append(f"**Verify**: FAILED — {ph['verify'].get('error') or 'no message'}")
    elif ph.get("verify"):
        health = ver.get("health") or {}
        okc = sum(1 for v in health.values() if isinstance(v, Mapping) and v.get("ok"))
        smoke = ver.get("smoke") or {}
        lines.append(f"**Verify**: health {okc}/{len(health)} ok; smoke: {smoke.get('summary', '-')}")
    rb = ph.get("rollback")
    if rb:
        r = _result(rb)
        lines.append(
            f"**Rollback**: {r.get('outcome', 'failed' if not _ok(rb) else 'rolled_back')}"
            f"{' (mode ' + str(r['mode']) + ')' if r.get('mode') else ''}; restored "
            f"{', '.join(map(str, r.get('restored') or [])) or 'none'}; removed "
            f"{', '.join(map(str, r.get('removed') or [])) or 'none'}"
        )
    if not lines:
        lines.append(f"No changing phase ran (outcome: {outcome}).")
    return lines


def _phase_list(ph: Mapping[str, Receipt]) -> list[str]:
    out = []
    n = 1
    for phase in PHASE_ORDER:
        r = ph.get(phase)
        if phase == "rollback" and not r:
            out.append(f"{n}. **{PHASE_TITLES[phase]}** — not needed")
        else:
            rid = f"`{r['id']}`" if r else "—"
            out.append(f"{n}. **{PHASE_TITLES[phase]}** — {rid} — {_pf(r)}")
        n += 1
    return out


def render_scope(receipts: Sequence[Receipt], loop_id: str) -> str:
    ph = _by_phase(receipts)
    meta = _meta(receipts)
    inv = meta.get("inventory") or {}
    project = str(inv.get("project") or "project")
    hosts = ", ".join(sorted((inv.get("hosts") or {}).keys())) or "the docker host"
    rel = _release_info(ph)
    outcome = loop_outcome(receipts)
    failed, error = _first_failure(receipts)
    services = _services(receipts)
    names = ", ".join(str(s.get("name")) for s in services) or "the services"
    first, last = (receipts[0], receipts[-1]) if receipts else (None, None)
    still_open = ("rollback_failed", "drift", "incomplete", "planned", "interrupted")
    status = "open" if outcome in still_open else "closed"
    run_id = str(receipts[0].get("run_id", "")) if receipts else ""
    pkg = str(meta.get("package_commit") or "")
    lines = [
        "---",
        f"loop_id: {loop_id}",
        f"status: {status}",
        f"opened: {_date(first)}",
        f"closed: {_date(last, 'end') if status == 'closed' else ''}".rstrip(),
        f'owner: "@{meta.get("user", "operator")}"',
        f"scope: Cut over {project} ({names}) on {hosts} to {rel['ref'] or 'the declared ref'}"
        f"{' (' + rel['release'] + ')' if rel['release'] else ''} with the cutover package",
        "repos:",
        f"  - {project} workload (product — release {rel['release'] or '-'})",
        f"  - cutover (loop scope + receipts + closeout{', commit ' + pkg[:12] if pkg else ''})",
        f"run_id: {run_id}",
        f"outcome: {outcome}",
        "---",
        "",
        f"# LOOP: {project.capitalize()} Cutover {_date(first)}",
        "",
        "## Objective",
        "",
        f"Cut over {project} ({names}) on {hosts} from release "
        f"`{_previous_release(ph) or '-'}` to `{rel['release'] or '-'}` (ref `{rel['ref'] or '-'}`) "
        "through the gated phases of the cutover package. Immediate rollback if any gate fails after "
        "the first change.",
        "",
        "## Phases",
        "",
        *_phase_list(ph),
        "",
        "## Done Definition",
        "",
        f"- [{'x' if outcome in ('succeeded', 'rolled_back') else ' '}] Production cutover succeeded OR "
        "rollback succeeded with services restored",
        f"- [{'x' if _all_healthy(ph) else ' '}] Post-cutover (or post-rollback) health passes",
        f"- [{'x' if _ok(ph.get('recert')) else ' '}] Recert: what runs equals the declared release, "
        "no leftovers, lock released",
        f"- [{'x' if receipts else ' '}] Loop closed with receipts and final commit hashes",
        "",
        "## Baseline Receipts",
        "",
    ]
    base = _result(ph.get("baseline"))
    if ph.get("baseline"):
        lock = base.get("lock") or {}
        nets = base.get("networks") or {}
        lines.append(
            f"- cutover.baseline: {ph['baseline']['id']} — {_pf(ph['baseline'])} (engine "
            f"{base.get('engine_version', '?')}, networks {sum(1 for v in nets.values() if v)}/{len(nets)}, "
            f"disk free {base.get('disk_free_mb', '?')} MB, lock {'HELD' if lock.get('held') else 'free'}, "
            f"current release {_previous_release(ph) or '-'})"
        )
    if ph.get("prep"):
        prep = _result(ph.get("prep"))
        gates = prep.get("gates") or []
        lines.append(
            f"- cutover.prep: {ph['prep']['id']} — {_pf(ph['prep'])} (ref {prep.get('ref', '-')} → "
            f"{prep.get('release', '-')}, gates {sum(1 for g in gates if g.get('ok'))}/{len(gates)} passed)"
        )
    if not ph.get("baseline") and not ph.get("prep"):
        lines.append("- none")
    lines += [
        "",
        "## Closeout",
        "",
        "### Outcome",
        "",
        _outcome_text(receipts, outcome, failed, error),
        "",
        "### Execution Summary",
        "",
        *[f"{i}. {text}" for i, text in enumerate(_summary_lines(ph, outcome), 1)],
        "",
        "### Post-Cutover State",
        "",
    ]
    health = _final_health(ph)
    images = _serving_images(ph, outcome)
    names_all = [str(s.get("name")) for s in services] or sorted(set(health) | set(images))
    removed = {str(x) for x in _result(ph.get("rollback")).get("removed") or []}
    for name in names_all:
        if name in removed and name not in health:
            lines.append(f"- {name}: removed by the rollback (not part of the previous release)")
            continue
        _, htext = _health_text(health.get(name)) if name in health else (False, "health not recorded")
        lines.append(f"- {name}: {htext}, image {images.get(name, 'not running')}")
    smoke = _result(ph.get("verify")).get("smoke") or {}
    if smoke:
        lines.append(f"- Smoke: {smoke.get('summary', '-')}")
    lines += ["", "### Recert Receipts", ""]
    for phase in ("recert", "closeout"):
        r = ph.get(phase)
        if r:
            extra = ""
            if phase == "recert":
                res = _result(r)
                extra = (
                    f" (drift {len(res.get('drift') or [])}, leftovers {len(res.get('leftovers') or [])}, "
                    f"lock {'held' if res.get('lock_held') else 'released'})"
                )
            lines.append(f"- cutover.{phase}: {r['id']} — {_pf(r)}{extra}")
    if not (ph.get("recert") or ph.get("closeout")):
        lines.append("- none")
    lines += ["", "### Final Commit Hashes", ""]
    attempted = f" (commit `{rel['commit']}`, ref `{rel['ref']}`)" if rel["commit"] else ""
    if outcome in ("rolled_back", "rollback_failed", "aborted", "interrupted"):
        serving = _previous_release(ph) or "-"
        lines.append(
            f"- {project} workload: serving `{serving}`; attempted `{rel['release'] or '-'}`{attempted}"
        )
    else:
        lines.append(f"- {project} workload: `{rel['release'] or '-'}`{attempted}")
    lines.append(f"- cutover: `{pkg[:12] or '-'}`")
    if receipts:
        lines.append(f"- receipts chain: last `{receipts[-1]['id']}` hash `{receipts[-1].get('hash', '')}`")
    return "\n".join(lines) + "\n"


def _row(*cells: Any) -> str:
    return "| " + " | ".join(_esc(c) for c in cells) + " |"


def _plan_item(item: Any) -> str:
    if isinstance(item, Mapping):
        label = item.get("name") or item.get("service") or item.get("version")
        action = item.get("action")
        return _esc(f"{label} ({action})" if label and action else label or item)
    return _esc(item)


def _plan_lines(plan: Mapping[str, Any]) -> list[str]:
    """The prep plan (build / migrate / swap) as sequence lines; tolerant of list or dict shapes."""
    out: list[str] = []
    build = plan.get("build")
    for entry in build if isinstance(build, list) else [build] if build else []:
        if isinstance(entry, Mapping) and isinstance(entry.get("images"), list):
            imgs = ", ".join(
                f"{_esc(i.get('image'))} ({'exists' if i.get('exists') else 'build'})"
                for i in entry["images"]
                if isinstance(i, Mapping)
            )
            ship = "ship the commit to the host, " if entry.get("ship") else ""
            out.append(f"plan build `{_esc(entry.get('release', ''))}`: {ship}images {imgs}")
        else:
            out.append(f"plan build: {_plan_item(entry)}")
    mig = plan.get("migrate")
    if isinstance(mig, Mapping):
        pending = ", ".join(map(str, mig.get("pending") or [])) or "none"
        out.append(
            f"plan migrate `{_esc(mig.get('database', ''))}`: back up, then apply {pending} "
            f"(already applied: {len(mig.get('already') or [])}, drift: {len(mig.get('drift') or [])})"
        )
    elif mig:
        out.append(f"plan migrate: {', '.join(_plan_item(i) for i in mig)}")
    swap = plan.get("swap") or []
    if swap:
        out.append(
            "plan swap (dependency order): "
            + "; ".join(
                _esc(s.get("line")) if isinstance(s, Mapping) and s.get("line") else _plan_item(s)
                for s in swap
            )
        )
    return out


def render_changepack(receipts: Sequence[Receipt], loop_id: str) -> str:
    ph = _by_phase(receipts)
    meta = _meta(receipts)
    inv = meta.get("inventory") or {}
    project = str(inv.get("project") or "project")
    hosts = inv.get("hosts") or {}
    rel = _release_info(ph)
    prev = _previous_release(ph)
    outcome = loop_outcome(receipts)
    failed, error = _first_failure(receipts)
    services = _services(receipts)
    prep = _result(ph.get("prep"))
    plan = prep.get("plan") or {}
    base = _result(ph.get("baseline"))
    base_current = (base.get("current") or {}).get("services") or {}
    state = "PLANNED (not executed)" if outcome in ("planned",) else f"EXECUTED — outcome: {outcome}"
    L: list[str] = [f"# Change Pack: {loop_id}", "", f"Status: {state}", ""]

    L += ["## Change Description", ""]
    L.append(
        f"Move {project} on {', '.join(hosts) or 'the docker host'} from release `{prev or '-'}` to "
        f"`{rel['release'] or '-'}` (ref `{rel['ref'] or '-'}`, commit `{rel['commit'] or '-'}`): build the "
        "images on the host, back up and migrate the database (expand-only), swap the services in "
        "dependency order keeping the previous containers for rollback, then verify health and smoke."
    )
    if outcome != "planned":
        L += ["", _outcome_text(receipts, outcome, failed, error)]
    L += [
        "",
        "## IP Map",
        "",
        _row("Service", "Host", "Address", "Published ports", "Networks"),
        "|---|---|---|---|---|",
    ]
    for s in services:
        for host, addr in hosts.items() or [("-", "-")]:
            L.append(
                _row(
                    s.get("name"),
                    host,
                    addr,
                    ", ".join(map(str, s.get("ports") or [])) or "none",
                    ", ".join(map(str, s.get("networks") or [])),
                )
            )
    if not services:
        L.append(_row("-", "-", "-", "-", "-"))
    L += [
        "",
        "## Rollback Map",
        "",
        _row("Service", "Before", "After", "Rollback action"),
        "|---|---|---|---|",
    ]
    planned_swap: list[Any] = plan["swap"] if isinstance(plan.get("swap"), list) else []
    done_swap: list[Any] = _result(ph.get("swap")).get("services") or []
    swap_by = {str(s.get("name")): s for s in [*planned_swap, *done_swap] if isinstance(s, Mapping)}
    images = _images(ph)
    for s in services:
        name = str(s.get("name"))
        before = base_current.get(name) or "(not deployed)"
        after = (
            images.get(name, {}).get("image")
            or swap_by.get(name, {}).get("to")
            or (f"{s.get('image')}:{rel['release']}" if rel["release"] else "-")
        )
        sw = swap_by.get(name, {})
        if before == "(not deployed)":
            action = "remove the new container (service is new in this release)"
        elif sw.get("kept_container"):
            action = f"stop new, restore kept container `{sw['kept_container']}`"
        else:
            action = f"restore the previous container (kept stopped as `{name}--{prev or '<release>'}`)"
        L.append(_row(name, before, after, action))
    L.append("")
    L.append(
        "Schema: migrations are expand-only and stay; a down-migration runs only when asked and a "
        "backup exists."
    )
    L += [
        "",
        "## Pre-Cutover Verification Matrix",
        "",
        _row("Check", "Expected", "Result", "Receipt"),
        "|---|---|---|---|",
    ]
    brid = ph["baseline"]["id"] if ph.get("baseline") else "-"
    prid = ph["prep"]["id"] if ph.get("prep") else "-"
    if ph.get("baseline"):
        L.append(_row("host reachable, engine", "reachable", base.get("engine_version", "FAIL"), brid))
        for net, ok in (base.get("networks") or {}).items():
            L.append(_row(f"network {net}", "exists", "ok" if ok else "MISSING", brid))
        L.append(_row("disk free (MB)", "enough", base.get("disk_free_mb", "?"), brid))
        lock = base.get("lock") or {}
        L.append(_row("deploy lock", "free", "HELD" if lock.get("held") else "free", brid))
        for c in base.get("containers") or []:
            if isinstance(c, Mapping):
                L.append(
                    _row(
                        f"container {c.get('name')}",
                        "running",
                        f"{c.get('status')} / {c.get('health')}",
                        brid,
                    )
                )
    if ph.get("prep"):
        env = prep.get("env_contract") or {}
        missing = env.get("missing") or []
        L.append(
            _row(
                "env contract",
                "no key missing",
                "ok" if not missing else f"missing {', '.join(missing)}",
                prid,
            )
        )
        L.append(
            _row(
                "ref resolves, tree clean",
                rel["ref"] or "ref",
                f"{rel['release']} clean={prep.get('tree_clean')}",
                prid,
            )
        )
        for g in prep.get("gates") or []:
            L.append(
                _row(
                    f"gate {g.get('module')}/{g.get('gate')}",
                    "rc 0",
                    f"rc {g.get('rc')} ({g.get('duration_s', '?')}s)",
                    prid,
                )
            )
    if not (ph.get("baseline") or ph.get("prep")):
        L.append(_row("-", "-", "not run", "-"))
    L += ["", "## Cutover Sequence", ""]
    n = 1
    for text in _plan_lines(plan):
        L.append(f"{n}. {text}")
        n += 1
    for phase in PHASE_ORDER:
        r = ph.get(phase)
        if r:
            L.append(
                f"{n}. {phase}: `{r['id']}` — {_pf(r)} ({r.get('timestamps', {}).get('start', '')} → "
                f"{r.get('timestamps', {}).get('end', '')})"
            )
            n += 1
    L += ["", "## LAN-Only Devices", ""]
    loopback = [s for s in services if all(str(p).startswith("127.0.0.1:") for p in s.get("ports") or [])]
    for s in loopback:
        L.append(
            f"- {s.get('name')}: published on {', '.join(map(str, s.get('ports') or [])) or 'no port'} "
            "(loopback only; not reachable from the LAN)"
        )
    if not loopback:
        L.append("- none")
    L += [
        "",
        "## Post-Cutover Verification Matrix",
        "",
        _row("Check", "Expected", "Result", "Receipt"),
        "|---|---|---|---|",
    ]
    ver = ph.get("verify")
    if ver and not ver.get("check_mode"):
        vres = _result(ver)
        for svc, h in (vres.get("health") or {}).items():
            _, text = _health_text(h)
            L.append(_row(f"health {svc}", "200, every field ok", text, ver["id"]))
        for c in (vres.get("smoke") or {}).get("checks") or []:
            L.append(
                _row(
                    f"smoke: {c.get('name')}",
                    "passed",
                    f"{c.get('result')} {c.get('detail') or ''}".strip(),
                    ver["id"],
                )
            )
        L.append(
            _row("smoke summary", "all passed", (vres.get("smoke") or {}).get("summary", "-"), ver["id"])
        )
    else:
        L.append(_row("health and smoke", "all ok", "pending (not executed)", "-"))
    for phase in ("rollback", "recert"):
        r = ph.get(phase)
        if r and not r.get("check_mode"):
            for svc, h in (_result(r).get("health") or {}).items():
                _, text = _health_text(h)
                L.append(_row(f"{phase}: health {svc}", "healthy", text, r["id"]))
            if phase == "recert":
                res = _result(r)
                L.append(
                    _row(
                        "recert: drift / leftovers",
                        "none",
                        f"{len(res.get('drift') or [])} / {len(res.get('leftovers') or [])}",
                        r["id"],
                    )
                )
    L += ["", "## Sign-Off", "", _row("Role", "Who", "When (UTC)", "Result"), "|---|---|---|---|"]
    last = receipts[-1] if receipts else None
    L.append(
        _row(
            "Operator (ran the cutover)",
            f"@{meta.get('user', 'operator')}",
            last.get("timestamps", {}).get("end", "") if last else "-",
            outcome,
        )
    )
    L.append(_row("Reviewer", "", "", "pending"))
    if last:
        L += ["", f"Receipts chain tip: `{last['id']}` hash `{last.get('hash', '')}`."]
    L += ["", "## Image Digests", "", _row("Service", "Image", "Image ID", "Built"), "|---|---|---|---|"]
    for svc, img in sorted(images.items()):
        L.append(_row(svc, img.get("image", "-"), img.get("image_id", "-"), img.get("built", "-")))
    if not images:
        builds: list[Any] = plan["build"] if isinstance(plan.get("build"), list) else [plan.get("build")]
        planned = [
            i
            for entry in builds
            if isinstance(entry, Mapping)
            for i in entry.get("images") or []
            if isinstance(i, Mapping)
        ]
        for i in planned:
            state = "exists on the host" if i.get("exists") else "to build"
            L.append(_row(i.get("service", "-"), i.get("image", "-"), "(not built in this run)", state))
        if not planned:
            L.append(_row("-", "not built in this run", "-", "-"))
    L += ["", "## Database Migration", ""]
    mig_r = ph.get("migrate")
    mig = _result(mig_r)
    if mig_r:
        L.append(
            f"Database `{mig.get('database', '-')}`, backup `{mig.get('backup') or '-'}`, receipt "
            f"`{mig_r['id']}` — {_pf(mig_r)}."
        )
        L += ["", _row("Migration", "Checksum", "Duration", "State"), "|---|---|---|---|"]
        for a in mig.get("applied") or []:
            L.append(
                _row(a.get("version"), a.get("checksum", "-"), f"{a.get('duration_s', '?')}s", "applied")
            )
        for v in mig.get("already") or []:
            L.append(_row(v if not isinstance(v, Mapping) else v.get("version"), "-", "-", "already applied"))
        for v in mig.get("pending") or []:
            if not any((a.get("version") == v) for a in mig.get("applied") or []):
                L.append(_row(v if not isinstance(v, Mapping) else v.get("version"), "-", "-", "pending"))
    else:
        planned_mig = plan.get("migrate") or []
        if isinstance(planned_mig, Mapping):
            pending = [str(p) for p in planned_mig.get("pending") or []]
            where = f" on database `{planned_mig.get('database', '-')}`"
        else:
            pending, where = [_plan_item(p) for p in planned_mig], ""
        L.append(f"Not executed. Planned{where}: " + (", ".join(pending) if pending else "none") + ".")
    L.append("")
    L.append("Migrations are expand-only (additive); they stay on rollback.")
    return "\n".join(L) + "\n"


# ---- selection and writing (edges) --------------------------------------------------


def runs_of_loop(receipts: Sequence[Receipt], loop_id: str) -> dict[str, list[Receipt]]:
    """The loop's runs, each with its receipts, ordered by where each run's last receipt is in
    the ledger (the latest run last)."""
    runs: dict[str, list[Receipt]] = {}
    for r in receipts:
        if r.get("loop_id") == loop_id:
            run = str(r.get("run_id"))
            runs[run] = [*runs.pop(run, []), r]  # re-insert: ordered by the run's last receipt
    return runs


def changed_host(run: Sequence[Receipt]) -> bool:
    """Whether a run may have changed the host: a changing phase or a rollback ran (not in
    check mode), unless every changing phase failed and the rollback found nothing of this run
    to undo (e.g. the deploy lock was held by another run)."""
    real = [r for r in run if not r.get("check_mode")]
    ph = _by_phase(real)
    if not any(p in ph for p in (*CHANGING, "rollback")):
        return False
    return not (
        _nothing_undone(ph.get("rollback")) and not any(_ok(ph.get(p)) for p in CHANGING)
    )


def run_rank(run: Sequence[Receipt]) -> int:
    """Which run of a loop the documents are about: 2 a run that (may have) changed the host,
    1 a run that got past prep without attempting a change (a plan, `--phase baseline --phase
    prep`), 0 a run that stopped in baseline/prep, could not reach the host, or failed to take
    the lock before changing anything."""
    if changed_host(run):
        return 2
    real = _by_phase([r for r in run if not r.get("check_mode")])
    if _ok(_by_phase(run).get("prep")) and not any(p in real for p in (*CHANGING, "rollback")):
        return 1
    return 0


def select_run(receipts: Sequence[Receipt], loop_id: str, run_id: str | None = None) -> list[Receipt]:
    """The receipts of one run of the loop: the given run id, else the loop's latest run with
    the highest ``run_rank`` (so a run that changed nothing never displaces one that did)."""
    if run_id:
        return [r for r in receipts if r.get("run_id") == run_id]
    runs = runs_of_loop(receipts, loop_id)
    if not runs:
        return []
    best = max(run_rank(run) for run in runs.values())
    return [run for run in runs.values() if run_rank(run) == best][-1]


def write_documents(
    receipts: Sequence[Receipt], loop_id: str, out_dir: Path, changepack_only: bool = False
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if not changepack_only:
        scope = out_dir / f"{loop_id}.scope.md"
        scope.write_text(render_scope(receipts, loop_id), encoding="utf-8")
        written.append(scope)
    pack = out_dir / f"{loop_id}.changepack.md"
    pack.write_text(render_changepack(receipts, loop_id), encoding="utf-8")
    written.append(pack)
    return written
