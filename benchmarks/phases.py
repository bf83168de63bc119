#!/usr/bin/env python3
"""Where a cutover's time goes (issue 9): each phase of a full `cutover run` old -> new, a
no-op rerun at the same release, and the same essential work done with plain docker
commands over SSH (the floor), in one invocation that holds the lab lock throughout.

    .venv/bin/python benchmarks/phases.py [--ref release-new] [--label NAME] [--json]
        [--save FILE.json] [--compare EARLIER.json] [--skip-floor] [--floor-runs N] [--skip-noop] [--warm]
    .venv/bin/python benchmarks/phases.py --compare BEFORE.json --compare AFTER.json   # no lab

Steps (the lab must be up; `make bench-phases` brings it up first):
  1. reset      playbooks/lab_reset.yml (what `make lab-reset` / `cutover lab reset` run,
                without their `make setup`): the old release serves, no /opt/cutover.
  2. cold       unless --warm: every tag of the services' image repositories that no
                container uses (the new release's, earlier runs', the floor's) is removed
                and dangling images are pruned, so both builds below start from the same
                cache: the old release's images only.
  3. floor      unless --skip-floor, on the docker host over SSH (one; the inventory's
                address, port, user, key, known_hosts; sudo when become): ship
                (`git archive <commit>` | ssh tar -x into a scratch dir), build each image
                (`docker build`, classic builder like the package's API build, BASE_IMAGE =
                cutover_base_image, tag <image>:floor-<sha>), migrate (every pending
                up-migration and a ledger row in ONE psql transaction that ends in ROLLBACK:
                the work is done and measured, nothing stays, the package's run still finds
                them pending; the reset after the floor drops the schema anyway, and the
                new files-api's health only runs SELECT 1), swap each service in dependency order (stop + rename the
                serving container to <service>--floor-<sha>, docker create/network
                connect/start the new image with the same ports, networks + alias, env keys
                from cutover_env_file, then wait until its health URL answers 200 on the
                host). Then reset and cold again: the reset removes the floor's containers
                (labelled cutover.project=<project>; the kept ones are named <service>--...),
                cold removes its images. --floor-runs N (default 3) does this N times and
                takes the run with the median total: one slow health answer of the workload
                (seen: a swap of 4.9 s against 1.1 s) must not set the ratio.
  4. full       `cutover run --ref REF` with ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks
                (ansible-runner passes the environment through to ansible-playbook; the
                recap only, every task: PROFILE_TASKS_SUMMARY_ONLY, _TASK_OUTPUT_LIMIT): wall
                time; per phase the receipt's duration, changed (sum over hosts), tasks, the
                time in tasks; the slowest tasks. The run is ONE playbook process, whose
                profile_tasks recap comes once, at its end: each phase's task times come from
                its recorded events instead (a task's start to the next one's, as profile_tasks
                counts), unless the phase's own output has a recap.
  5. noop       unless --skip-noop, the same command again at once: the same figures, and
                every container on the host compared before/after (id, StartedAt, restarts).

The table (per phase, from each phase's receipt; the same for the no-op rerun):
  full (s)      the phase's duration: ansible-playbook's start to its end, as the receipt says
  in tasks      the sum of the task times in that phase (above); the rest of "full (s)"
                is the time before its first task (the play's start)
  changed       changed tasks of the phase, summed over hosts (PLAY RECAP's changed=)
  tasks         tasks started in the phase (playbook_on_task_start events)
  phases (sum)  the phases' durations added up; wrapper = wall - that sum (the CLI's
                start, the inventory read, receipts, closeout documents)
  total (wall)  the whole `cutover run` command, measured around it
  build+migrate+swap+verify   the sum of those four phases; ratio = that / floor
  floor         the floor's steps, timed around each SSH command; total = their wall time
                (the median run's; every run's total is listed under the table)
  images built  the build receipt's images with built=true (0: every tag already existed)
  no-op: changed / restarts   changed summed over the rerun's receipts; containers on the
                host whose id, StartedAt, restart count or running state changed in the rerun

Exit 0 when every step ran (the issue's targets are reported, not enforced); 1 naming the
step that failed and the last lines of its output; 2 on bad options. Takes the lab lock
($CUTOVER_LAB_LOCK, default /tmp/cutover-lab.lock) unless CUTOVER_LAB_LOCKED=1.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import fcntl
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LOCK_FILE = os.environ.get("CUTOVER_LAB_LOCK", "/tmp/cutover-lab.lock")
SCHEMA = "cutover.bench-phases/1"
# The issue's figure: the phases that do the cutover's work, against the floor.
WORK_PHASES = ("build", "migrate", "swap", "verify")
PROFILE_CALLBACK = "ansible.posix.profile_tasks"
FLOOR_LEDGER = "floor_migrations"
FLOOR_SCRATCH = "/var/tmp/cutover-bench-floor"
TOP_TASKS = 15
# Issue 9's "done when", reported in the output (not enforced).
TARGET_FULL_S = 60.0
TARGET_RATIO = 4.0
TARGET_NOOP_S = 15.0
ENV_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INVENTORY_DIR_RE = re.compile(r"\{\{\s*inventory_dir\s*\}\}")


class StepError(Exception):
    """A step failed: its name, the command, the exit status and its output."""

    def __init__(self, step: str, command: str, rc: int | None, output: str, note: str = "") -> None:
        super().__init__(step)
        self.step, self.command, self.rc, self.output, self.note = step, command, rc, output, note

    def report(self, lines: int = 40) -> str:
        status = "timed out" if self.rc is None else f"exited {self.rc}"
        tail = "\n".join(self.output.rstrip().splitlines()[-lines:]) or "(no output)"
        text = f"phases.py: step '{self.step}' failed ({status})\n  command: {self.command[:400]}\n"
        if self.note:
            text += f"  {self.note}\n"
        return text + f"--- last lines of its output\n{tail}\n"


# ---- pure parts: inventory ------------------------------------------------------------


def resolve_value(value: Any, inventory_dir: Path, key: str) -> str:
    """An inventory string as ``ansible-inventory --list`` prints it (untemplated), with
    ``{{ inventory_dir }}`` filled in; any other template is refused, naming the key."""
    text = _INVENTORY_DIR_RE.sub(lambda _m: str(inventory_dir), str(value))
    if "{{" in text or "{%" in text:
        raise ValueError(f"{key}: only {{{{ inventory_dir }}}} can be resolved here, got {value!r}")
    return text


@dataclass
class HostAccess:
    """How the controller reaches a docker host: SSH as the inventory says."""

    name: str
    address: str
    port: int
    user: str
    key_file: str | None
    ssh_args: list[str] = field(default_factory=list)
    become: bool = False
    become_user: str = "root"

    def ssh(self, control_path: str | None = None) -> list[str]:
        args = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-p", str(self.port)]
        if self.key_file:
            args += ["-i", self.key_file]
        args += self.ssh_args  # ssh keeps the first value of an option: the inventory's win over ours below
        if control_path:
            args += ["-o", "ControlMaster=auto", "-o", f"ControlPath={control_path}", "-o", "ControlPersist=300"]
        return [*args, f"{self.user}@{self.address}"]

    def remote(self, script: str) -> str:
        """The remote command line that runs ``script`` with sh, through sudo when become."""
        if not self.become:
            return f"sh -c {shlex.quote(script)}"
        user = "" if self.become_user == "root" else f" -u {shlex.quote(self.become_user)}"
        return f"sudo -n{user} sh -c {shlex.quote(script)}"


def host_access(name: str, hostvars: Mapping[str, Any], inventory_dir: Path) -> HostAccess:
    def val(key: str, default: Any = None) -> Any:
        value = hostvars.get(key, default)
        return resolve_value(value, inventory_dir, key) if isinstance(value, str) else value

    key_file = val("ansible_ssh_private_key_file") or val("ansible_private_key_file")
    extra: list[str] = []
    for key in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        if val(key):
            extra += shlex.split(str(val(key)))
    return HostAccess(
        name=name,
        address=str(val("ansible_host", name)),
        port=int(val("ansible_port", 22) or 22),
        user=str(val("ansible_user", os.environ.get("USER", "root"))),
        key_file=str(key_file) if key_file else None,
        ssh_args=extra,
        become=bool(val("ansible_become", False)),
        become_user=str(val("ansible_become_user", "root") or "root"),
    )


def service_order(services: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Dependencies first, ties in inventory order (the package's cutover_service_order)."""
    names = [str(s["name"]) for s in services]
    by_name = {str(s["name"]): s for s in services}
    deps = {n: [str(d) for d in (by_name[n].get("depends_on") or []) if d in by_name] for n in names}
    order: list[str] = []
    while len(order) < len(names):
        ready = [n for n in names if n not in order and all(d in order for d in deps[n])]
        if not ready:
            raise ValueError(f"cutover_services: dependency cycle among {sorted(set(names) - set(order))}")
        order.append(ready[0])
    return [by_name[n] for n in order]


@dataclass
class Migration:
    version: str
    file: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def up_migration_files(names: Iterable[str], paths: Sequence[str]) -> list[tuple[str, str]]:
    """(version, file) of the up-migrations directly in ``paths`` (as the package's find:
    ``*.sql`` but not ``*.down.sql``, not recursive), sorted by version (file name - .sql)."""
    dirs = {p.strip("/") for p in paths}
    out = []
    for name in names:
        parent, _, base = name.rpartition("/")
        if parent in dirs and base.endswith(".sql") and not base.endswith(".down.sql"):
            out.append((base[: -len(".sql")], name))
    return sorted(out)


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _psql_arg(text: str) -> str:
    """A psql meta-command argument in single quotes (doubled quotes, escaped backslashes)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def floor_migration_sql(migrations: Sequence[Migration], ledger: str = FLOOR_LEDGER) -> str:
    """psql input: skip what schema_migrations already records, then in ONE transaction
    apply each pending migration with its row in ``ledger``, and ROLLBACK: the work is done
    (and measured) but nothing stays. Prints ``applied <version>`` / ``already <version>``."""
    lines = [
        "SELECT to_regclass('public.schema_migrations') IS NOT NULL AS floor_has_ledger \\gset",
        "\\if :floor_has_ledger",
    ]
    for i, m in enumerate(migrations):
        lines.append(
            f"SELECT count(*) > 0 AS floor_done_{i} FROM schema_migrations WHERE version = {_sql_str(m.version)} \\gset"
        )
    lines.append("\\else")
    lines += [f"\\set floor_done_{i} false" for i in range(len(migrations))]
    lines += [
        "\\endif",
        "BEGIN;",
        f"CREATE TABLE IF NOT EXISTS {ledger} (version text PRIMARY KEY, checksum text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now());",
    ]
    for i, m in enumerate(migrations):
        lines += [
            f"\\if :floor_done_{i}",
            f"\\echo {_psql_arg('already ' + m.version)}",
            "\\else",
            "-- " + m.file.replace("\n", " "),
            m.sql.rstrip(),
            ";",
            f"INSERT INTO {ledger} (version, checksum) VALUES ({_sql_str(m.version)}, {_sql_str(m.checksum)});",
            f"\\echo {_psql_arg('applied ' + m.version)}",
            "\\endif",
        ]
    lines += ["ROLLBACK;", ""]
    return "\n".join(lines)


# Run on the host (python3 is there for Ansible): DATABASE_URL from the env file, host and
# port as the inventory's cutover_migrations.database says, password in PGPASSWORD only.
PSQL_LAUNCHER = r"""
import os, sys, urllib.parse
path, key, host, port = sys.argv[1:5]
env = {}
with open(path, encoding="utf-8") as fh:
    for line in fh:
        line = line.rstrip("\n")
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            env[k] = v
url = urllib.parse.urlsplit(env[key])
os.environ.update(
    PGHOST=host or url.hostname or "localhost",
    PGPORT=str(port or url.port or 5432),
    PGUSER=urllib.parse.unquote(url.username or ""),
    PGPASSWORD=urllib.parse.unquote(url.password or ""),
    PGDATABASE=url.path.lstrip("/"),
)
for name, value in urllib.parse.parse_qsl(url.query):
    if name == "sslmode":
        os.environ["PGSSLMODE"] = value
os.execvp("psql", ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
"""


def psql_script(env_file: str, env_key: str, host: str, port: Any) -> str:
    """The host-side command that runs psql on the database of ``env_key`` in the env file."""
    args = [env_file, env_key, host, str(port or "")]
    return "exec python3 -c " + shlex.quote(PSQL_LAUNCHER) + " " + " ".join(shlex.quote(a) for a in args)


def _docker_env(docker_host: str) -> str:
    return f"export DOCKER_HOST={shlex.quote(docker_host)}\n"


def floor_build_script(svc: Mapping[str, Any], src: str, tag: str, base_image: str, docker_host: str) -> str:
    """Build one service's image from the shipped tree with the classic builder (the package's
    community.docker.docker_image builds through the Engine API, which is that builder)."""
    context = f"{src}/{svc['module']}"
    return (
        "set -eu\n"
        + _docker_env(docker_host)
        + "export DOCKER_BUILDKIT=0\n"
        + f"cd {shlex.quote(context)}\n"
        + f"docker build --build-arg BASE_IMAGE={shlex.quote(base_image)}"
        + f" -f {shlex.quote(str(svc.get('dockerfile') or 'Dockerfile'))} -t {shlex.quote(tag)} .\n"
    )


def floor_swap_script(
    svc: Mapping[str, Any],
    *,
    image: str,
    kept: str,
    env_file: str,
    scratch: str,
    project: str,
    docker_host: str,
    restart_policy: str = "unless-stopped",
    stop_timeout_s: int = 10,
    health_timeout_s: int = 60,
) -> str:
    """Replace (or add) one service with plain docker: stop + rename the serving container,
    create the new one (ports, first network + alias, the service's env keys only), connect
    the other networks, start it, wait until the health URL answers 200 on the host.
    Prints ``replaced=<container|none> stop_to_healthy_ns=<n>``."""
    name = str(svc["name"])
    keys = [str(k) for k in svc.get("env") or []]
    bad = [k for k in keys if not ENV_KEY_RE.fullmatch(k)]
    if bad:
        raise ValueError(f"cutover_services[{name}].env: not env names: {bad}")
    q = shlex.quote
    svc_env = f"{scratch}/env/{name}.env"
    candidates = [name] + ([str(svc["legacy"]["container"])] if (svc.get("legacy") or {}).get("container") else [])
    networks = [str(n) for n in svc.get("networks") or []]
    create = ["docker", "create", "--name", name, "--restart", restart_policy, "--env-file", svc_env]
    create += ["--label", f"cutover.project={project}", "--label", "cutover.bench=floor"]
    for port in svc.get("ports") or []:
        create += ["-p", str(port)]
    if networks:
        create += ["--network", networks[0], "--network-alias", name]
    create.append(image)
    pattern = "^(" + "|".join(keys) + ")=" if keys else "^$"
    script = [
        "set -eu",
        _docker_env(docker_host).strip(),
        "umask 077",
        f"grep -E {q(pattern)} {q(env_file)} > {q(svc_env)} || true",
        "cur=''",
        f"for n in {' '.join(q(c) for c in candidates)}; do",
        '  if [ "$(docker inspect -f \'{{.State.Running}}\' "$n" 2>/dev/null)" = true ]; then cur=$n; break; fi',
        "done",
        "t0=$(date +%s%N)",
        'if [ -n "$cur" ]; then',
        f"  docker rm -f {q(kept)} >/dev/null 2>&1 || true",
        f'  docker stop -t {int(stop_timeout_s)} "$cur" >/dev/null',
        f'  docker rename "$cur" {q(kept)}',
        "fi",
        shlex.join(create) + " >/dev/null",
    ]
    script += [f"docker network connect --alias {q(name)} {q(n)} {q(name)}" for n in networks[1:]]
    script.append(f"docker start {q(name)} >/dev/null")
    url = (svc.get("health") or {}).get("url")
    if url:
        script += [
            f"deadline=$(( $(date +%s) + {int(health_timeout_s)} ))",
            f"until [ \"$(curl -s -o /dev/null -m 2 -w '%{{http_code}}' {q(str(url))})\" = 200 ]; do",
            '  if [ "$(date +%s)" -ge "$deadline" ]; then',
            f"    echo {q(f'{name}: {url} did not answer 200 within {int(health_timeout_s)} s')} >&2",
            f"    docker logs --tail 20 {q(name)} >&2 || true",
            "    exit 1",
            "  fi",
            "  sleep 0.1",
            "done",
        ]
    script += ["t1=$(date +%s%N)", 'echo "replaced=${cur:-none} stop_to_healthy_ns=$((t1 - t0))"', ""]
    return "\n".join(script)


def cold_script(repositories: Sequence[str], docker_host: str) -> str:
    """Remove every tag of these repositories that no container (running or stopped) uses,
    then prune dangling images: the next build starts from the old release's images only."""
    q = shlex.quote
    return "\n".join(
        [
            "set -eu",
            _docker_env(docker_host).strip(),
            "used=\" $(docker ps -a --format '{{.Image}}' | tr '\\n' ' ') \"",
            f"for repo in {' '.join(q(r) for r in repositories)}; do",
            "  refs=$(docker images \"$repo\" --format '{{.Repository}}:{{.Tag}}' | grep -v ':<none>$' || true)",
            "  for ref in $refs; do",
            '    case "$used" in *" $ref "*) continue ;; esac',
            '    docker image rm "$ref" >/dev/null && echo "removed $ref"',
            "  done",
            "done",
            "docker image prune -f >/dev/null",
            "",
        ]
    )


SNAPSHOT_SCRIPT = (
    "set -eu\n"
    "ids=$(docker ps -aq)\n"
    '[ -z "$ids" ] || docker inspect --format '
    "'{{.Name}} {{.Id}} {{.State.StartedAt}} {{.State.Running}} {{.RestartCount}}' $ids\n"
)


def parse_containers(text: str) -> dict[str, dict[str, Any]]:
    """``docker inspect`` lines (name id started_at running restart_count) -> by name."""
    out: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 5:
            continue
        name, cid, started, running, restarts = parts
        out[name.lstrip("/")] = {
            "id": cid,
            "started_at": started,
            "running": running == "true",
            "restart_count": int(restarts) if restarts.isdigit() else restarts,
        }
    return out


def compare_containers(before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """What changed between two snapshots: a new or removed container, a new id (recreated),
    a new StartedAt or restart count (restarted), stopped or started. Empty: nothing."""
    changes = []
    for name in sorted(set(before) | set(after)):
        b, a = before.get(name), after.get(name)
        if b is None:
            changes.append(f"{name}: created")
        elif a is None:
            changes.append(f"{name}: removed")
        elif a["id"] != b["id"]:
            changes.append(f"{name}: recreated")
        elif a["started_at"] != b["started_at"] or a["restart_count"] != b["restart_count"]:
            changes.append(f"{name}: restarted")
        elif a["running"] != b["running"]:
            changes.append(f"{name}: {'started' if a['running'] else 'stopped'}")
    return changes


# ---- pure parts: receipts and profile_tasks -------------------------------------------

# profile_tasks' recap line: "<task name> ----...---- 12.34s" (name padded with '-' to the
# terminal width, the time right-aligned in 9 columns, also '-'-filled; a long name gets
# no padding).
_RECAP_LINE = re.compile(r"^(?P<task>.+?) -*\s?(?P<secs>\d+\.\d{2})s\s*$")


def parse_profile_tasks(stdout: str) -> list[tuple[str, float]]:
    """(task, seconds) from the last TASKS RECAP of ansible.posix.profile_tasks in ``stdout``
    (empty when the callback did not run)."""
    lines = stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("TASKS RECAP")]
    if not starts:
        return []
    i = starts[-1] + 1
    while i < len(lines) and not (lines[i].strip() and set(lines[i].strip()) == {"="}):
        i += 1
    out: list[tuple[str, float]] = []
    for line in lines[i + 1 :]:
        if not line.strip():
            if out:
                break
            continue
        m = _RECAP_LINE.match(line.rstrip())
        if m:
            out.append((m.group("task").strip(), float(m.group("secs"))))
        elif line.startswith(("PLAY RECAP", "TASKS RECAP", "cutover:")):
            break
        # anything else (profile_tasks' task path at -vv) is skipped
    return out


def task_times(events: Sequence[Mapping[str, Any]]) -> list[tuple[str, float]]:
    """(task, seconds) from a phase's recorded events, as profile_tasks counts them: from a
    task's start to the next task's start (the last task: to the last event). `cutover run` is
    ONE playbook process, so profile_tasks' recap comes once at its very end, in no phase's
    output; the events' timestamps give each phase its own figures."""
    starts: list[tuple[datetime, str]] = []
    last: datetime | None = None
    for event in events:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            when = datetime.fromisoformat(str(event["created"]))
            last = when
            if event.get("event") in ("playbook_on_task_start", "playbook_on_handler_task_start"):
                data = event.get("event_data") or {}
                role, task = data.get("role"), str(data.get("task") or data.get("name") or "?")
                starts.append((when, f"{role} : {task}" if role else task))
    out = []
    for i, (when, name) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else last
        out.append((name, round(max(0.0, ((end or when) - when).total_seconds()), 2)))
    return sorted(out, key=lambda t: -t[1])


def summarize_receipts(
    receipts: Sequence[tuple[Mapping[str, Any], str] | tuple[Mapping[str, Any], str, list[tuple[str, float]]]],
    top: int = TOP_TASKS,
) -> dict[str, Any]:
    """(receipt.json, output.txt[, task times from its events]) of one `cutover run`, in ledger
    order -> per phase seconds (the receipt's duration), changed (summed over hosts), tasks,
    the time in tasks (profile_tasks' recap when the output has one, else the events' times);
    the run's totals and its slowest tasks."""
    phases: dict[str, dict[str, Any]] = {}
    slow: list[dict[str, Any]] = []
    images_built: int | None = None
    profiled = False
    for doc, output, *timed in receipts:
        phase = str(doc.get("phase") or "?")
        stats = doc.get("stats") or {}
        changed = sum(int((s or {}).get("changed", 0)) for s in stats.values())
        recap = parse_profile_tasks(output) or (list(timed[0]) if timed else [])
        profiled = profiled or bool(recap)
        entry = phases.setdefault(
            phase, {"phase": phase, "seconds": 0.0, "changed": 0, "tasks": 0, "task_s": None, "status": ""}
        )
        entry["seconds"] = round(entry["seconds"] + float((doc.get("timestamps") or {}).get("duration_s") or 0.0), 3)
        entry["changed"] += changed
        entry["tasks"] += int(doc.get("tasks") or 0)
        entry["status"] = str(doc.get("status") or "")
        if recap:
            entry["task_s"] = round((entry["task_s"] or 0.0) + sum(s for _, s in recap), 2)
        slow += [{"phase": phase, "task": task, "seconds": secs} for task, secs in recap]
        if phase == "build":
            images = (doc.get("result") or {}).get("images") or doc.get("images") or []
            images_built = (images_built or 0) + sum(1 for i in images if isinstance(i, dict) and i.get("built"))
    rows = list(phases.values())
    total = round(sum(r["seconds"] for r in rows), 3)
    work = round(sum(r["seconds"] for r in rows if r["phase"] in WORK_PHASES), 3)
    slow.sort(key=lambda r: -r["seconds"])
    return {
        "phases": rows,
        "phases_s": total,
        "work_s": work,
        "changed": sum(r["changed"] for r in rows),
        "tasks": sum(r["tasks"] for r in rows),
        "images_built": images_built,
        "profile_tasks": profiled,
        "slowest_tasks": slow[:top],
    }


def evaluate_targets(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Issue 9's "done when", measured in this result (a target without its figure is left out)."""
    out = []
    full, noop, floor = result.get("full"), result.get("noop"), result.get("floor")
    if full:
        out.append(
            {
                "target": f"full run <= {TARGET_FULL_S:g} s",
                "value": full["wall_s"],
                "ok": full["wall_s"] <= TARGET_FULL_S,
            }
        )
    if full and floor and result.get("ratio") is not None:
        out.append(
            {
                "target": f"build+migrate+swap+verify <= {TARGET_RATIO:g} x floor",
                "value": result["ratio"],
                "ok": result["ratio"] <= TARGET_RATIO,
            }
        )
    if noop:
        out.append(
            {
                "target": f"no-op rerun <= {TARGET_NOOP_S:g} s",
                "value": noop["wall_s"],
                "ok": noop["wall_s"] <= TARGET_NOOP_S,
            }
        )
        out.append({"target": "no-op changed = 0", "value": noop["changed"], "ok": noop["changed"] == 0})
        if noop.get("restarts") is not None:
            count = len(noop["restarts"])
            out.append({"target": "no-op restarts nothing", "value": count, "ok": count == 0})
    return out


def median_floor(floors: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The floor run with the median total (the lower one of an even count), with every run's
    total in ``runs_s``: one slow health answer of the workload must not set the ratio."""
    if not floors:
        return None
    ranked = sorted(floors, key=lambda f: float(f["total_s"]))
    return {**ranked[(len(ranked) - 1) // 2], "runs_s": [float(f["total_s"]) for f in floors]}


def ratio(full: Mapping[str, Any] | None, floor: Mapping[str, Any] | None) -> float | None:
    if not full or not floor or not floor.get("total_s"):
        return None
    return round(float(full["work_s"]) / float(floor["total_s"]), 2)


# ---- pure parts: rendering ------------------------------------------------------------


def fmt(value: Any, digits: int = 1) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render_rows(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> list[str]:
    """A text table; ``align`` has an l or r per column (default: the first left, the rest right)."""
    align = align or "l" + "r" * (len(header) - 1)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for row in [header, *rows]:
        cells = [str(c).ljust(w) if a == "l" else str(c).rjust(w) for c, w, a in zip(row, widths, align, strict=True)]
        out.append("  ".join(cells).rstrip())
    return out


def _by_phase(run: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    return {p["phase"]: p for p in (run or {}).get("phases") or []}


def _phase_names(*runs: Mapping[str, Any] | None) -> list[str]:
    names: list[str] = []
    for run in runs:
        names += [p["phase"] for p in (run or {}).get("phases") or [] if p["phase"] not in names]
    return names


def get(run: Mapping[str, Any] | None, key: str) -> Any:
    return run.get(key) if run else None


def _wrapper_s(run: Mapping[str, Any] | None) -> float | None:
    return round(run["wall_s"] - run["phases_s"], 1) if run else None


def render_table(result: Mapping[str, Any]) -> str:
    full, noop, floor = result.get("full"), result.get("noop"), result.get("floor")
    fp, np_ = _by_phase(full), _by_phase(noop)

    def cols(p: Mapping[str, Any] | None) -> list[str]:
        if not p:
            return ["-", "-", "-", "-"]
        return [fmt(p["seconds"]), fmt(p.get("task_s")), fmt(p["changed"]), fmt(p["tasks"])]

    header = ["phase", "full (s)", "in tasks", "changed", "tasks", "no-op (s)", "in tasks", "changed", "tasks"]
    rows = [[name, *cols(fp.get(name)), *cols(np_.get(name))] for name in _phase_names(full, noop)]

    def line(label: str, a: Any, b: Any = None, a_changed: Any = None, b_changed: Any = None) -> list[str]:
        return [
            label,
            fmt(a),
            "",
            fmt(a_changed) if a_changed is not None else "",
            "",
            fmt(b),
            "",
            fmt(b_changed) if b_changed is not None else "",
            "",
        ]

    rows += [
        line("phases (sum)", get(full, "phases_s"), get(noop, "phases_s"), get(full, "changed"), get(noop, "changed")),
        line("wrapper (wall - phases)", _wrapper_s(full), _wrapper_s(noop)),
        line("total (wall)", get(full, "wall_s"), get(noop, "wall_s")),
        line("build+migrate+swap+verify", get(full, "work_s"), get(noop, "work_s")),
        line("floor (plain docker)", get(floor, "total_s")),
        line("ratio b+m+s+v / floor", fmt(result.get("ratio"), 2) if result.get("ratio") is not None else None),
        line("images built", get(full, "images_built"), get(noop, "images_built")),
    ]
    if noop:
        restarts = len(noop["restarts"]) if noop.get("restarts") is not None else None
        rows += [
            ["no-op: changed", *[""] * 4, fmt(noop["changed"]), "", "", ""],
            ["no-op: restarts", *[""] * 4, fmt(restarts), "", "", ""],
        ]
    out = [
        f"cutover phases [{result.get('label') or '-'}]: {result.get('ref')} ({result.get('release') or '?'})"
        f" on {result.get('host') or '?'}, {result.get('cpus')} CPUs,"
        f" {'cold' if result.get('cold') else 'warm'} images, load {result.get('load_start') or '-'}",
        *render_rows(header, rows),
    ]
    if floor:
        runs = floor.get("runs_s") or [floor["total_s"]]
        of_runs = f" (the median of {len(runs)} runs: {', '.join(fmt(r, 2) for r in runs)} s)" if len(runs) > 1 else ""
        out += ["", "floor: the same essential work with plain commands over SSH" + of_runs]
        steps = [[s["step"], fmt(s["seconds"], 2), s.get("detail", "")] for s in floor["steps"]]
        steps.append(["total", fmt(floor["total_s"], 2), ""])
        out += ["  " + r for r in render_rows(["step", "s", ""], steps, "lrl")]
    if noop and noop.get("restarts"):
        out += ["", "no-op: containers that changed: " + ", ".join(noop["restarts"])]
    for kind, run in (("full run", full), ("no-op rerun", noop)):
        if not run:
            continue
        if run.get("slowest_tasks"):
            out += ["", f"slowest tasks of the {kind} (profile_tasks, top {len(run['slowest_tasks'])})"]
            slow = [[fmt(t["seconds"], 2), t["phase"], t["task"]] for t in run["slowest_tasks"]]
            out += ["  " + r for r in render_rows(["s", "phase", "task"], slow, "rll")]
        elif not run.get("profile_tasks"):
            out += ["", f"{kind}: no task times (no {PROFILE_CALLBACK} recap and no events in the receipts)"]
    targets = result.get("targets") or []
    if targets:
        out += ["", "issue 9 targets"]
        trows = [[t["target"], fmt(t["value"], 2), "ok" if t["ok"] else "MISSED"] for t in targets]
        out += ["  " + r for r in render_rows(["target", "value", ""], trows, "lrl")]
    return "\n".join(out) + "\n"


def render_comparison(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """Two results side by side (e.g. before / after): full and no-op seconds per phase, the
    totals, the floor, the ratio, changed and restarts."""
    la, lb = str(a.get("label") or "earlier"), str(b.get("label") or "this run")
    if la == lb:
        la, lb = f"{la} (1)", f"{lb} (2)"
    fa, fb, na, nb = a.get("full"), b.get("full"), a.get("noop"), b.get("noop")
    pfa, pfb, pna, pnb = _by_phase(fa), _by_phase(fb), _by_phase(na), _by_phase(nb)

    def sec(p: Mapping[str, Any] | None) -> str:
        return fmt(p["seconds"]) if p else "-"

    header = ["", f"{la} full", f"{lb} full", f"{la} no-op", f"{lb} no-op"]
    rows = [
        [n, sec(pfa.get(n)), sec(pfb.get(n)), sec(pna.get(n)), sec(pnb.get(n))] for n in _phase_names(fa, fb, na, nb)
    ]

    def restarts(run: Mapping[str, Any] | None) -> Any:
        return len(run["restarts"]) if run and run.get("restarts") is not None else None

    floor_a, floor_b = a.get("floor"), b.get("floor")
    rows += [
        [
            "phases (sum)",
            fmt(get(fa, "phases_s")),
            fmt(get(fb, "phases_s")),
            fmt(get(na, "phases_s")),
            fmt(get(nb, "phases_s")),
        ],
        ["wrapper (wall - phases)", fmt(_wrapper_s(fa)), fmt(_wrapper_s(fb)), fmt(_wrapper_s(na)), fmt(_wrapper_s(nb))],
        [
            "total (wall)",
            fmt(get(fa, "wall_s")),
            fmt(get(fb, "wall_s")),
            fmt(get(na, "wall_s")),
            fmt(get(nb, "wall_s")),
        ],
        [
            "build+migrate+swap+verify",
            fmt(get(fa, "work_s")),
            fmt(get(fb, "work_s")),
            fmt(get(na, "work_s")),
            fmt(get(nb, "work_s")),
        ],
        ["floor (plain docker)", fmt(get(floor_a, "total_s")), fmt(get(floor_b, "total_s")), "", ""],
        ["ratio b+m+s+v / floor", fmt(a.get("ratio"), 2), fmt(b.get("ratio"), 2), "", ""],
        ["changed", fmt(get(fa, "changed")), fmt(get(fb, "changed")), fmt(get(na, "changed")), fmt(get(nb, "changed"))],
        ["restarts", "", "", fmt(restarts(na)), fmt(restarts(nb))],
        ["images built", fmt(get(fa, "images_built")), fmt(get(fb, "images_built")), "", ""],
    ]
    head = [
        f"{la}: {a.get('ref')} ({a.get('release') or '?'}) at {a.get('started_at') or '?'},"
        f" {'cold' if a.get('cold') else 'warm'} images, load {a.get('load_start') or '-'}",
        f"{lb}: {b.get('ref')} ({b.get('release') or '?'}) at {b.get('started_at') or '?'},"
        f" {'cold' if b.get('cold') else 'warm'} images, load {b.get('load_start') or '-'}",
    ]
    return "\n".join([*head, *render_rows(header, rows)]) + "\n"


# ---- edges: processes, SSH, the lab ---------------------------------------------------


def say(text: str) -> None:
    print(f"==> {text}", file=sys.stderr, flush=True)


def run_step(
    step: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    timeout: float = 1800,
    log: Path | None = None,
) -> tuple[float, str]:
    """Run a command; (seconds, stdout). Raises StepError (with both streams) on failure."""
    command = shlex.join(argv)
    started = time.monotonic()
    try:
        proc = subprocess.run(
            list(argv),
            cwd=REPO,
            env=dict(env) if env else None,
            input=input_text,
            text=True,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        raise StepError(step, command, None, out) from exc
    except OSError as exc:
        raise StepError(step, command, 127, str(exc)) from exc
    seconds = time.monotonic() - started
    if log is not None:
        log.write_text(proc.stdout + ("\n--- stderr\n" + proc.stderr if proc.stderr else ""), encoding="utf-8")
    if proc.returncode != 0:
        raise StepError(step, command, proc.returncode, proc.stdout + proc.stderr)
    return seconds, proc.stdout


class Host:
    """One docker host over SSH (a persistent master connection, as Ansible's ControlPersist)."""

    def __init__(self, access: HostAccess, control_dir: Path) -> None:
        self.access = access
        self.control = str(control_dir / "cm-%C")

    def argv(self, script: str) -> list[str]:
        return [*self.access.ssh(self.control), self.access.remote(script)]

    def run(self, step: str, script: str, input_text: str | None = None, timeout: float = 900) -> tuple[float, str]:
        return run_step(step, self.argv(script), input_text=input_text, timeout=timeout)

    def open(self, log: Path) -> None:
        """Start the master connection, or check that it is there (not timed). Called after
        each reset and before the snapshots, so that no timed or captured command ever starts
        the master: its stdio goes to a file, never to a pipe whose output is read."""
        with log.open("w", encoding="utf-8") as fh:
            proc = subprocess.run(
                self.argv("true"), stdin=subprocess.DEVNULL, stdout=fh, stderr=fh, timeout=60, check=False
            )
        if proc.returncode != 0:
            raise StepError(
                "ssh: connect to the docker host",
                shlex.join(self.argv("true")),
                proc.returncode,
                log.read_text(encoding="utf-8"),
            )

    def close(self) -> None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                [*self.access.ssh(self.control)[:-1], "-O", "exit", f"{self.access.user}@{self.access.address}"],
                capture_output=True,
                timeout=15,
                check=False,
            )


def ship(host: Host, repo: str, commit: str, dest: str) -> float:
    """git archive <commit> on the controller | ssh: tar -x into dest on the host."""
    script = f"set -eu\nmkdir -p {shlex.quote(dest)}\ntar -x -C {shlex.quote(dest)}\n"
    argv = host.argv(script)
    started = time.monotonic()
    archive = subprocess.Popen(["git", "-C", repo, "archive", "--format=tar", commit], stdout=subprocess.PIPE)
    try:
        proc = subprocess.run(argv, stdin=archive.stdout, capture_output=True, text=True, timeout=300, check=False)
    finally:
        if archive.stdout:
            archive.stdout.close()
        archive_rc = archive.wait(timeout=60)
    seconds = time.monotonic() - started
    if archive_rc != 0 or proc.returncode != 0:
        rc = archive_rc or proc.returncode
        raise StepError(
            "floor: ship", f"git -C {repo} archive {commit} | {shlex.join(argv)}", rc, proc.stdout + proc.stderr
        )
    return seconds


@dataclass
class Lab:
    inventory: Path
    access: HostAccess
    hostvars: dict[str, Any]
    repo: str
    services: list[Mapping[str, Any]]
    project: str
    env_file: str
    docker_host: str
    base_image: str


def ansible_env() -> dict[str, str]:
    bindir = str(REPO / ".venv" / "bin")
    return {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
    }


def tool(name: str) -> str:
    path = REPO / ".venv" / "bin" / name
    if not path.exists():
        raise StepError("setup", str(path), 127, f"{path} is missing: run `make setup` (or create .venv) first")
    return str(path)


def load_lab(inventory: Path) -> Lab:
    _, out = run_step(
        "read the inventory", [tool("ansible-inventory"), "-i", str(inventory), "--list"], env=ansible_env()
    )
    data = json.loads(out)
    hosts = (data.get("docker_hosts") or {}).get("hosts") or []
    if len(hosts) != 1:
        raise StepError(
            "read the inventory",
            f"ansible-inventory -i {inventory} --list",
            2,
            "",
            f"the floor reaches one docker host; group docker_hosts has {len(hosts)}: {hosts}",
        )
    name = hosts[0]
    hv: dict[str, Any] = data["_meta"]["hostvars"][name]
    inv_dir = inventory if inventory.is_dir() else inventory.parent
    access = host_access(name, hv, inv_dir)
    repo = resolve_value(hv["cutover_source_repo"], inv_dir, "cutover_source_repo")
    missing = [p for p in (access.key_file, repo) if p and not Path(p).exists()]
    if missing:
        raise StepError(
            "read the inventory",
            f"ansible-inventory -i {inventory} --list",
            2,
            "",
            f"missing {', '.join(missing)}: run this from the checkout whose `make lab` made the lab",
        )
    return Lab(
        inventory=inventory,
        access=access,
        hostvars=hv,
        repo=repo,
        services=service_order(hv["cutover_services"]),
        project=str(hv.get("cutover_project", "project")),
        env_file=str(hv["cutover_env_file"]),
        docker_host=str(hv.get("cutover_docker_host") or "unix:///var/run/docker.sock"),
        base_image=str(hv.get("cutover_base_image") or "cutover-lab/base:bookworm"),
    )


def git(repo: str, *args: str) -> str:
    return run_step(f"git {args[0]}", ["git", "-C", repo, *args])[1].strip()


def reset_lab(work: Path, n: int) -> float:
    say("reset: back to the old release (playbooks/lab_reset.yml)")
    seconds, _ = run_step(
        "reset the lab",
        [tool("ansible-playbook"), "playbooks/lab_reset.yml"],
        env=ansible_env(),
        log=work / f"reset-{n}.log",
        timeout=1800,
    )
    return seconds


def make_cold(host: Host, lab: Lab) -> list[str]:
    repos = sorted({str(s["image"]) for s in lab.services})
    _, out = host.run("cold: remove unused images of the services", cold_script(repos, lab.docker_host))
    removed = [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("removed ")]
    say(f"cold: removed {len(removed)} unused image tag(s): {', '.join(removed) or 'none'}")
    return removed


def measure_floor(host: Host, lab: Lab, commit: str, release: str) -> dict[str, Any]:
    scratch = FLOOR_SCRATCH
    tag = f"floor-{release}"
    host.run("floor: prepare (not timed)", f"rm -rf {shlex.quote(scratch)}\nmkdir -p {shlex.quote(scratch + '/env')}\n")
    steps: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        steps.append(
            {
                "step": "ship",
                "seconds": round(ship(host, lab.repo, commit, f"{scratch}/src"), 3),
                "detail": "git archive | ssh tar -x",
            }
        )
        for svc in lab.services:
            image = f"{svc['image']}:{tag}"
            script = floor_build_script(svc, f"{scratch}/src", image, lab.base_image, lab.docker_host)
            secs, _ = host.run(f"floor: build {svc['name']}", script)
            steps.append({"step": f"build {svc['name']}", "seconds": round(secs, 3), "detail": image})
        mig = lab.hostvars.get("cutover_migrations") or {}
        applied: list[str] = []
        if mig.get("paths"):
            t0 = time.monotonic()  # reading the release's migrations on the controller counts too
            names = git(lab.repo, "ls-tree", "-r", "--name-only", commit, "--", *mig["paths"]).splitlines()
            migrations = [
                Migration(v, f, run_step("git show", ["git", "-C", lab.repo, "show", f"{commit}:{f}"])[1])
                for v, f in up_migration_files(names, mig["paths"])
            ]
            db = mig.get("database") or {}
            script = psql_script(
                lab.env_file, str(db.get("env_key", "DATABASE_URL")), str(db.get("host") or ""), db.get("port")
            )
            _, out = host.run("floor: migrate", script, input_text=floor_migration_sql(migrations))
            secs = time.monotonic() - t0
            applied = [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("applied ")]
            steps.append(
                {
                    "step": "migrate",
                    "seconds": round(secs, 3),
                    "detail": f"{len(applied)} applied in one transaction, rolled back",
                }
            )
        for svc in lab.services:
            script = floor_swap_script(
                svc,
                image=f"{svc['image']}:{tag}",
                kept=f"{svc['name']}--{tag}",
                env_file=lab.env_file,
                scratch=scratch,
                project=lab.project,
                docker_host=lab.docker_host,
                restart_policy=str(lab.hostvars.get("cutover_swap_restart_policy") or "unless-stopped"),
                stop_timeout_s=int(lab.hostvars.get("cutover_swap_stop_timeout_s") or 10),
                health_timeout_s=int(lab.hostvars.get("cutover_health_timeout_s") or 60),
            )
            secs, out = host.run(f"floor: swap {svc['name']}", script)
            info = dict(kv.split("=", 1) for kv in out.split() if "=" in kv)
            gap = int(info.get("stop_to_healthy_ns", "0")) / 1e9
            steps.append(
                {
                    "step": f"swap {svc['name']}",
                    "seconds": round(secs, 3),
                    "detail": f"replaced {info.get('replaced', '?')}; stop -> 200 {gap:.2f}s",
                }
            )
        total = time.monotonic() - started
    finally:
        with contextlib.suppress(StepError):
            host.run("floor: remove the scratch dir (not timed)", f"rm -rf {shlex.quote(scratch)}")
    for s in steps:
        say(f"floor: {s['step']} {s['seconds']:.2f}s ({s['detail']})")
    return {"total_s": round(total, 3), "steps": steps, "image_tag": tag, "migrations_applied": applied}


def load_run_receipts(receipts_dir: Path) -> list[tuple[dict[str, Any], str, list[tuple[str, float]]]]:
    """(receipt.json, output.txt, task times from events.jsonl) in ledger order."""
    ledger = receipts_dir / "ledger.csv"
    if not ledger.exists():
        return []
    with ledger.open(encoding="utf-8", newline="") as fh:
        ids = [row["run_id"] for row in csv.DictReader(fh)]
    out = []
    for rid in ids:
        folder = receipts_dir / rid
        with contextlib.suppress(OSError, ValueError):
            doc = json.loads((folder / "receipt.json").read_text(encoding="utf-8"))
            output = (folder / "output.txt").read_text(encoding="utf-8") if (folder / "output.txt").exists() else ""
            lines = (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()
            events = [json.loads(e) for e in lines if e.strip()]
            if not output:  # fall back on the events' stdout
                output = "\n".join(str(e.get("stdout", "")) for e in events)
            out.append((doc, output, task_times(events)))
    return out


def profile_env() -> dict[str, str]:
    env = dict(os.environ)
    enabled = [c for c in env.get("ANSIBLE_CALLBACKS_ENABLED", "").split(",") if c.strip()]
    if PROFILE_CALLBACK not in enabled and "profile_tasks" not in enabled:
        enabled.append(PROFILE_CALLBACK)
    env["ANSIBLE_CALLBACKS_ENABLED"] = ",".join(enabled)
    # Every task in the recap (a phase's "in tasks" sums them), and only the recap: the per-task
    # timestamp lines would each be one more event for the wrapper to redact and record.
    env.setdefault("PROFILE_TASKS_TASK_OUTPUT_LIMIT", "all")
    env.setdefault("PROFILE_TASKS_SUMMARY_ONLY", "true")
    return env


def measure_cutover(kind: str, ref: str, work: Path) -> dict[str, Any]:
    rdir = work / kind / "receipts"
    rdir.mkdir(parents=True)
    argv = [tool("cutover"), "run", "--ref", ref, "--receipts-dir", str(rdir), "--plain"]
    say(f"{kind}: {shlex.join(argv[1:])} with ANSIBLE_CALLBACKS_ENABLED={PROFILE_CALLBACK}")
    seconds, _ = run_step(f"{kind}: cutover run", argv, env=profile_env(), log=work / f"{kind}.log", timeout=3600)
    summary = summarize_receipts(load_run_receipts(rdir))
    say(f"{kind}: {seconds:.1f}s wall, {summary['phases_s']:.1f}s in phases, changed {summary['changed']}")
    return {"wall_s": round(seconds, 3), **summary, "receipts_dir": str(rdir), "log": str(work / f"{kind}.log")}


def snapshot(host: Host, step: str) -> dict[str, dict[str, Any]]:
    return parse_containers(host.run(step, SNAPSHOT_SCRIPT)[1])


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    inventory = REPO / "inventory" / "lab"
    lab = load_lab(inventory)
    commit = git(lab.repo, "rev-parse", f"{args.ref}^{{commit}}")
    release = git(lab.repo, "rev-parse", "--short=7", commit)
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "label": args.label,
        "ref": args.ref,
        "release": release,
        "commit": commit,
        "inventory": str(inventory.relative_to(REPO)),
        "host": f"{lab.access.name} ({lab.access.address})",
        "cpus": os.cpu_count(),
        "machine": platform.node(),
        "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "cold": not args.warm,
        "floor": None,
        "full": None,
        "noop": None,
        "resets_s": [],
        "cold_removed": [],
        "workdir": str(work),
    }
    control = Path(tempfile.mkdtemp(prefix="cbp-"))  # short: unix socket paths are limited
    host = Host(lab.access, control)
    try:
        result["resets_s"].append(round(reset_lab(work, 1), 1))
        host.open(work / "ssh-master.log")
        if not args.warm:
            result["cold_removed"] += make_cold(host, lab)
        floors: list[dict[str, Any]] = []
        for attempt in range(0 if args.skip_floor else args.floor_runs):
            say(f"floor {attempt + 1}/{args.floor_runs}: {args.ref} ({release}) with plain commands over SSH"
                f" on {lab.access.name}")  # fmt: skip
            try:
                floors.append(measure_floor(host, lab, commit, release))
            except StepError as exc:
                exc.note = "the lab may be half swapped by the floor: `cutover lab reset` returns it to the old release"
                raise
            result["resets_s"].append(round(reset_lab(work, len(result["resets_s"]) + 1), 1))
            host.open(work / "ssh-master.log")
            if not args.warm:
                result["cold_removed"] += make_cold(host, lab)
        result["floor"] = median_floor(floors)
        result["full"] = measure_cutover("full", args.ref, work)
        if not args.skip_noop:
            host.open(work / "ssh-master.log")
            before = snapshot(host, "no-op: containers before")
            result["noop"] = measure_cutover("noop", args.ref, work)
            after = snapshot(host, "no-op: containers after")
            result["noop"]["restarts"] = compare_containers(before, after)
    finally:
        host.close()
        shutil.rmtree(control, ignore_errors=True)
    result["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    result["ratio"] = ratio(result["full"], result["floor"])
    result["targets"] = evaluate_targets(result)
    return result


def load_result(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"phases.py: --compare {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise SystemExit(f"phases.py: --compare {path}: not a `benchmarks/phases.py --json` result ({SCHEMA})")
    return data


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref", default="release-new", help="the release to cut over to (default: release-new)")
    parser.add_argument("--skip-floor", action="store_true", help="do not measure the plain-docker floor")
    parser.add_argument("--skip-noop", action="store_true", help="do not measure the no-op rerun")
    parser.add_argument(
        "--floor-runs",
        type=int,
        default=3,
        metavar="N",
        help="measure the floor N times (a reset before each) and take the median (default 3)",
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="keep unused images of the services (the builds may then be cached or skipped)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of the table")
    parser.add_argument("--save", metavar="FILE", help="also write the JSON result to FILE (for a later --compare)")
    parser.add_argument("--label", metavar="NAME", help="a name for this result's column, e.g. before / after")
    parser.add_argument(
        "--compare",
        metavar="FILE",
        action="append",
        default=[],
        help="a saved --json result to print side by side with this run; given twice, compare"
        " the two files and run nothing",
    )
    parser.add_argument("--workdir", metavar="DIR", help="where receipts and logs go (default: a new temp dir, kept)")
    args = parser.parse_args(argv)
    if args.floor_runs < 1:
        parser.error(f"--floor-runs: expected a whole number of at least 1, got {args.floor_runs}")
    if len(args.compare) > 2:
        parser.error("--compare: at most twice")
    if len(args.compare) == 2:
        a, b = (load_result(p) for p in args.compare)
        if args.json:
            print(json.dumps({"compare": [a, b]}, indent=2, sort_keys=True))
        else:
            print(render_comparison(a, b), end="")
        return 0
    earlier = load_result(args.compare[0]) if args.compare else None
    if args.workdir:
        work = Path(args.workdir).resolve()
        if work.exists() and any(work.iterdir()):
            parser.error(f"--workdir {work}: not empty (receipts of two runs must not mix)")
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="cutover-bench-phases-"))
    handle = None
    if os.environ.get("CUTOVER_LAB_LOCKED") != "1":
        handle = open(LOCK_FILE, "a")  # noqa: SIM115 - held until exit
        say(f"waiting for the lab lock {LOCK_FILE}")
        fcntl.flock(handle, fcntl.LOCK_EX)
    try:
        result = measure(args, work)
    except StepError as exc:
        sys.stderr.write(exc.report())
        sys.stderr.write(f"logs and receipts so far: {work}\n")
        return 1
    finally:
        if handle is not None:
            handle.close()
    if args.save:
        Path(args.save).write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if args.json:
        doc = {**result, "compared_with": earlier} if earlier else result
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        print(render_table(result), end="")
        if earlier:
            print()
            print(render_comparison(earlier, result), end="")
    say(f"receipts and logs: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
