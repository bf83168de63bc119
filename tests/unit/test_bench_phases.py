"""benchmarks/phases.py: the pure parts (inventory -> SSH, the floor's scripts, receipts ->
phase figures, profile_tasks, tables, comparison), without the lab.

The floor's shell scripts run here against a fake `docker`/`curl` on PATH that records its
calls, so the order of the plain-docker work is checked without any engine.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from plugins import ROLES, load
from wrapper_replay import load_replay

REPO_ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    name = "bench_phases"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "benchmarks" / "phases.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bp = _load()

LAB_HOSTVARS: dict[str, Any] = {  # as `ansible-inventory -i inventory/lab --list` prints them (untemplated)
    "ansible_host": "10.231.1.2",
    "ansible_port": 22,
    "ansible_user": "deploy",
    "ansible_become": True,
    "ansible_ssh_private_key_file": "{{ inventory_dir }}/../../.lab/ssh/id_ed25519",
    "ansible_ssh_common_args": "-o UserKnownHostsFile={{ inventory_dir }}/../../.lab/ssh/known_hosts"
    " -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
}
FILES_API: dict[str, Any] = {
    "name": "files-api",
    "module": "artwork",
    "image": "mint-modules/artwork",
    "dockerfile": "Dockerfile",
    "ports": ["127.0.0.1:3500:3500"],
    "networks": ["mint-os-network", "storage-network"],
    "env": ["DATABASE_URL", "MINIO_BUCKET", "FILES_API_KEY"],
    "health": {"url": "http://127.0.0.1:3500/health"},
    "depends_on": [],
    "legacy": {"container": "mint-artwork", "dir": "/srv/mint-modules/artwork"},
}
ORDER_INTAKE: dict[str, Any] = {
    "name": "order-intake",
    "module": "order-intake",
    "image": "mint-modules/order-intake",
    "ports": ["127.0.0.1:3400:3400"],
    "networks": ["mint-os-network"],
    "env": ["FILES_API_URL"],
    "health": {"url": "http://127.0.0.1:3400/health"},
    "depends_on": ["files-api"],
}


# ---- inventory -> SSH -------------------------------------------------------------------


def test_inventory_dir_is_filled_in_and_other_templates_are_refused(tmp_path: Path) -> None:
    assert bp.resolve_value("{{ inventory_dir }}/../x", tmp_path, "k") == f"{tmp_path}/../x"
    assert bp.resolve_value("/plain/path", tmp_path, "k") == "/plain/path"
    with pytest.raises(ValueError, match="cutover_source_repo"):
        bp.resolve_value("{{ playbook_dir }}/x", tmp_path, "cutover_source_repo")


def test_ssh_follows_the_inventory_key_known_hosts_and_sudo() -> None:
    access = bp.host_access("docker-host", LAB_HOSTVARS, Path("/r/inventory/lab"))
    argv = access.ssh("/tmp/cm-%C")
    assert argv[-1] == "deploy@10.231.1.2"
    assert argv[argv.index("-i") : argv.index("-i") + 2] == ["-i", "/r/inventory/lab/../../.lab/ssh/id_ed25519"]
    assert "UserKnownHostsFile=/r/inventory/lab/../../.lab/ssh/known_hosts" in argv
    assert "StrictHostKeyChecking=yes" in argv and "BatchMode=yes" in argv
    # the inventory's options come before ours: ssh keeps the first value of an option
    assert argv.index("StrictHostKeyChecking=yes") < argv.index("ControlPath=/tmp/cm-%C")
    remote = access.remote("echo 'a b' && id -u")
    assert shlex.split(remote) == ["sudo", "-n", "sh", "-c", "echo 'a b' && id -u"]
    plain = bp.host_access("h", {**LAB_HOSTVARS, "ansible_become": False}, Path("/r"))
    assert shlex.split(plain.remote("true")) == ["sh", "-c", "true"]


def test_service_order_is_the_packages() -> None:
    model = load("cutover_model", ROLES / "cutover_validate" / "filter_plugins" / "cutover_model.py")
    quote = {"name": "quote-page", "depends_on": ["files-api"]}
    services = [quote, ORDER_INTAKE, FILES_API]
    names = [s["name"] for s in bp.service_order(services)]
    assert names == ["files-api", "quote-page", "order-intake"] == model.cutover_service_order(services)
    with pytest.raises(ValueError, match="cycle"):
        bp.service_order([{"name": "a", "depends_on": ["b"]}, {"name": "b", "depends_on": ["a"]}])


# ---- the floor's migration --------------------------------------------------------------


def test_up_migrations_are_the_packages_selection() -> None:
    names = [
        "artwork/migrations/20260301_b.sql",
        "artwork/migrations/20260212_a.sql",
        "artwork/migrations/20260212_a.down.sql",
        "artwork/migrations/old/20250101_nested.sql",  # the package's find is not recursive
        "artwork/migrations/README.md",
        "other/migrations/20260101_x.sql",
    ]
    assert bp.up_migration_files(names, ["artwork/migrations/"]) == [
        ("20260212_a", "artwork/migrations/20260212_a.sql"),
        ("20260301_b", "artwork/migrations/20260301_b.sql"),
    ]


def test_floor_migration_runs_in_one_transaction_that_is_rolled_back() -> None:
    migrations = [
        bp.Migration("20260212_a", "m/20260212_a.sql", "ALTER TABLE t ADD COLUMN IF NOT EXISTS c int;\n"),
        bp.Migration("20260301_o'b", "m/20260301_o'b.sql", "CREATE INDEX i ON t (c)"),  # no final semicolon
    ]
    sql = bp.floor_migration_sql(migrations)
    lines = sql.splitlines()
    assert lines.count("BEGIN;") == 1 and lines.count("ROLLBACK;") == 1 and "COMMIT" not in sql
    begin, rollback = lines.index("BEGIN;"), lines.index("ROLLBACK;")
    body = "\n".join(lines[begin:rollback])
    # each migration, then its ledger row, in version order, inside the transaction
    a = body.index("ALTER TABLE t ADD COLUMN")
    row_a = body.index("INSERT INTO floor_migrations (version, checksum) VALUES ('20260212_a'")
    b = body.index("CREATE INDEX i ON t (c)\n;")
    assert a < row_a < b < body.index("VALUES ('20260301_o''b'")
    assert migrations[0].checksum in body
    # already recorded in the package's ledger: skipped (checked before the transaction)
    assert sql.index("to_regclass('public.schema_migrations')") < begin
    assert "WHERE version = '20260301_o''b' \\gset" in sql
    assert "\\echo 'applied 20260212_a'" in body and "\\echo 'already 20260212_a'" in body
    assert "\\echo 'applied 20260301_o''b'" in body
    assert "CREATE TABLE IF NOT EXISTS floor_migrations" in body
    assert "schema_migrations (" not in body  # the package's ledger is never written


def test_psql_launcher_compiles_and_keeps_the_password_out_of_argv() -> None:
    compile(bp.PSQL_LAUNCHER, "psql_launcher", "exec")
    script = bp.psql_script("/etc/mint-modules/mint.env", "DATABASE_URL", "127.0.0.1", 15432)
    argv = shlex.split(script)
    assert argv[:3] == ["exec", "python3", "-c"] and argv[4:] == [
        "/etc/mint-modules/mint.env",
        "DATABASE_URL",
        "127.0.0.1",
        "15432",
    ]
    assert "PGPASSWORD" in bp.PSQL_LAUNCHER and "psql" in bp.PSQL_LAUNCHER


def test_psql_launcher_reads_the_env_file_and_overrides_host_and_port(tmp_path: Path) -> None:
    env_file = tmp_path / "mint.env"
    env_file.write_text("# comment\nDATABASE_URL=postgresql://mint:p%40ss@postgres:5432/mint?sslmode=disable\n")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "psql").write_text(
        '#!/bin/sh\necho "$PGHOST $PGPORT $PGUSER $PGPASSWORD $PGDATABASE $PGSSLMODE"\necho "$@"\n'
    )
    (fake / "psql").chmod(0o755)
    proc = subprocess.run(
        ["sh", "-c", bp.psql_script(str(env_file), "DATABASE_URL", "127.0.0.1", 15432)],
        env={**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=True,
    )
    first, args = proc.stdout.splitlines()
    assert first == "127.0.0.1 15432 mint p@ss mint disable"
    assert "p@ss" not in args and "ON_ERROR_STOP=1" in args


# ---- the floor's docker work, against a fake docker ------------------------------------

FAKE_DOCKER = """#!/bin/sh
echo "docker $*" >> "$CALLS"
case "$1 $2" in
  "inspect -f") [ "$4" = "$RUNNING" ] && { echo true; exit 0; }; exit 1 ;;
  "ps -a") echo "$USED" ;;
  "images "*) printf '%s\\n' $TAGS ;;
esac
exit 0
"""
FAKE_CURL = """#!/bin/sh
echo "curl $*" >> "$CALLS"
printf '%s' "$CODE"
"""


@pytest.fixture
def fakebin(tmp_path: Path) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, text in (("docker", FAKE_DOCKER), ("curl", FAKE_CURL)):
        (bindir / name).write_text(text)
        (bindir / name).chmod(0o755)
    return bindir


def run_fake(
    script: str, fakebin: Path, tmp_path: Path, **env: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    calls = tmp_path / "calls"
    calls.write_text("")
    proc = subprocess.run(
        ["sh", "-c", script],
        env={**os.environ, "PATH": f"{fakebin}:{os.environ['PATH']}", "CALLS": str(calls), **env},
        capture_output=True,
        text=True,
        check=False,
    )
    return proc, calls.read_text().splitlines()


def swap_script(tmp_path: Path, svc: dict[str, Any], health_timeout_s: int = 60) -> str:
    env_file = tmp_path / "mint.env"
    env_file.write_text("DATABASE_URL=postgresql://x\nMINIO_BUCKET=b\nFILES_API_URL=http://files-api:3500\nOTHER=no\n")
    (tmp_path / "scratch" / "env").mkdir(parents=True, exist_ok=True)
    return bp.floor_swap_script(
        svc,
        image=f"{svc['image']}:floor-abc1234",
        kept=f"{svc['name']}--floor-abc1234",
        env_file=str(env_file),
        scratch=str(tmp_path / "scratch"),
        project="mint",
        docker_host="unix:///var/run/docker.sock",
        health_timeout_s=health_timeout_s,
    )


def test_floor_swap_stops_renames_creates_connects_starts_and_waits(fakebin: Path, tmp_path: Path) -> None:
    proc, calls = run_fake(swap_script(tmp_path, FILES_API), fakebin, tmp_path, RUNNING="mint-artwork", CODE="200")
    assert proc.returncode == 0, proc.stderr
    docker = [c for c in calls if c.startswith("docker ") and not c.startswith("docker inspect")]
    assert docker[0] == "docker rm -f files-api--floor-abc1234"
    assert docker[1] == "docker stop -t 10 mint-artwork"
    assert docker[2] == "docker rename mint-artwork files-api--floor-abc1234"
    create = docker[3].split()
    assert create[:4] == ["docker", "create", "--name", "files-api"]
    assert create[-1] == "mint-modules/artwork:floor-abc1234"
    assert "cutover.project=mint" in create and "127.0.0.1:3500:3500" in create
    assert create[create.index("--network") + 1 : create.index("--network") + 4] == [
        "mint-os-network",
        "--network-alias",
        "files-api",
    ]
    assert docker[4] == "docker network connect --alias files-api storage-network files-api"
    assert docker[5] == "docker start files-api"
    assert any(c.startswith("curl ") and c.endswith("http://127.0.0.1:3500/health") for c in calls)
    assert proc.stdout.startswith("replaced=mint-artwork stop_to_healthy_ns=")
    # only the service's keys reach its env file
    env = (tmp_path / "scratch" / "env" / "files-api.env").read_text().splitlines()
    assert env == ["DATABASE_URL=postgresql://x", "MINIO_BUCKET=b"]
    assert oct((tmp_path / "scratch" / "env" / "files-api.env").stat().st_mode & 0o777) == "0o600"


def test_floor_swap_adds_a_new_service_without_stopping_anything(fakebin: Path, tmp_path: Path) -> None:
    proc, calls = run_fake(swap_script(tmp_path, ORDER_INTAKE), fakebin, tmp_path, RUNNING="nothing", CODE="200")
    assert proc.returncode == 0, proc.stderr
    assert not [c for c in calls if c.startswith(("docker stop", "docker rename", "docker rm"))]
    assert not [c for c in calls if c.startswith("docker network connect")]  # one network: at create
    assert proc.stdout.startswith("replaced=none ")


def test_floor_swap_fails_when_health_never_answers_200(fakebin: Path, tmp_path: Path) -> None:
    script = swap_script(tmp_path, FILES_API, health_timeout_s=0)
    proc, calls = run_fake(script, fakebin, tmp_path, RUNNING="mint-artwork", CODE="503")
    assert proc.returncode == 1
    assert "did not answer 200 within 0 s" in proc.stderr
    assert "docker logs --tail 20 files-api" in calls


def test_floor_swap_refuses_env_names_that_are_not_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not env names"):
        swap_script(tmp_path, {**FILES_API, "env": ["A|B"]})


def test_floor_build_uses_the_classic_builder_and_the_base_image(fakebin: Path, tmp_path: Path) -> None:
    (tmp_path / "src" / "artwork").mkdir(parents=True)
    script = bp.floor_build_script(
        FILES_API, str(tmp_path / "src"), "mint-modules/artwork:floor-abc1234", "cutover-lab/base:bookworm", "unix:///s"
    )
    assert "export DOCKER_BUILDKIT=0" in script
    proc, calls = run_fake(script, fakebin, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert calls == [
        "docker build --build-arg BASE_IMAGE=cutover-lab/base:bookworm -f Dockerfile"
        " -t mint-modules/artwork:floor-abc1234 ."
    ]


def test_cold_removes_unused_tags_only_then_prunes(fakebin: Path, tmp_path: Path) -> None:
    script = bp.cold_script(["mint-modules/artwork"], "unix:///s")
    tags = "mint-modules/artwork:c13e698 mint-modules/artwork:0ce4de6 mint-modules/artwork:floor-0ce4de6"
    used = "mint-modules/artwork:c13e698\ncutover-lab/postgres:1"
    proc, calls = run_fake(script, fakebin, tmp_path, TAGS=tags, USED=used)
    assert proc.returncode == 0, proc.stderr
    removed = [c.split()[-1] for c in calls if c.startswith("docker image rm")]
    assert removed == ["mint-modules/artwork:0ce4de6", "mint-modules/artwork:floor-0ce4de6"]
    assert calls[-1] == "docker image prune -f"
    assert proc.stdout.split() == ["removed", removed[0], "removed", removed[1]]


def test_snapshot_script_is_valid_sh() -> None:
    subprocess.run(["sh", "-n", "-c", bp.SNAPSHOT_SCRIPT], check=True)


# ---- restarts -----------------------------------------------------------------------------


def test_containers_are_compared_by_id_start_time_and_restarts() -> None:
    before = bp.parse_containers(
        "/files-api aaa 2026-02-12T01:00:00.1Z true 0\n"
        "/quote-page bbb 2026-02-12T01:00:00.2Z true 0\n"
        "/order-intake ccc 2026-02-12T01:00:00.3Z true 0\n"
        "/mint-postgres ddd 2026-02-12T00:00:00Z true 0\n"
        "/files-api--c13e698 eee 2026-02-11T00:00:00Z false 0\n"
        "garbage line\n"
    )
    assert before["files-api"] == {
        "id": "aaa",
        "started_at": "2026-02-12T01:00:00.1Z",
        "running": True,
        "restart_count": 0,
    }
    assert bp.compare_containers(before, before) == []
    after = {k: dict(v) for k, v in before.items()}
    after["files-api"]["id"] = "zzz"
    after["quote-page"]["started_at"] = "2026-02-12T01:05:00Z"
    after["mint-postgres"]["restart_count"] = 1
    after["files-api--c13e698"]["running"] = True
    del after["order-intake"]
    after["new-one"] = dict(before["files-api"])
    assert bp.compare_containers(before, after) == [
        "files-api: recreated",
        "files-api--c13e698: started",
        "mint-postgres: restarted",
        "new-one: created",
        "order-intake: removed",
        "quote-page: restarted",
    ]


# ---- profile_tasks -----------------------------------------------------------------------


class _Display:
    columns = 80
    verbosity = 0

    def __init__(self) -> None:
        self.lines: list[str] = []

    def display(self, msg: str, **_: Any) -> None:
        self.lines += msg.split("\n")

    def banner(self, msg: str, **_: Any) -> None:
        self.lines += ["", f"{msg} " + "*" * (79 - len(msg))]


def real_recap(tasks: list[tuple[str, float]], columns: int = 80) -> str:
    """TASKS RECAP exactly as ansible.posix.profile_tasks prints it."""
    mod = pytest.importorskip("ansible_collections.ansible.posix.plugins.callback.profile_tasks")
    cb = mod.CallbackModule()
    cb._display = _Display()
    cb._display.columns = columns
    cb.sort_order, cb.task_output_limit, cb.summary_only = True, None, False
    cb.current = None
    cb.stats = OrderedDict((f"u{i}", {"started": 0.0, "elapsed": s, "name": n}) for i, (n, s) in enumerate(tasks))
    cb.v2_playbook_on_stats(None)
    return "\n".join(cb._display.lines)


def test_profile_tasks_recap_is_parsed_from_the_real_callbacks_output() -> None:
    long = "cutover_swap : Wait until Docker says the new container is healthy (fails at once on unhealthy) - files-api"
    tasks = [
        ("cutover_build : Build each service image on the host (an existing tag is not rebuilt)", 21.5),
        (long, 3.25),
        ("cutover_common : Write state.json - 2", 0.4),
        ("Gathering Facts", 1234.56),
    ]
    stdout = "PLAY RECAP ***\ndocker-host : ok=3 changed=1\n" + real_recap(tasks)
    parsed = bp.parse_profile_tasks(stdout.replace("\n", "\r\n"))  # ansible-runner's pty
    assert sorted(parsed) == sorted(tasks)
    assert bp.parse_profile_tasks(real_recap(tasks, columns=200)) == sorted(tasks, key=lambda t: -t[1])


def test_no_recap_means_no_tasks() -> None:
    assert bp.parse_profile_tasks("PLAY RECAP ***\ndocker-host : ok=3 changed=1\n") == []


def test_profile_env_adds_the_callback_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PROFILE_TASKS_TASK_OUTPUT_LIMIT", "PROFILE_TASKS_SUMMARY_ONLY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANSIBLE_CALLBACKS_ENABLED", "ansible.posix.timer")
    env = bp.profile_env()
    assert env["ANSIBLE_CALLBACKS_ENABLED"] == "ansible.posix.timer,ansible.posix.profile_tasks"
    assert env["PROFILE_TASKS_TASK_OUTPUT_LIMIT"] == "all" and env["PROFILE_TASKS_SUMMARY_ONLY"] == "true"
    monkeypatch.setenv("ANSIBLE_CALLBACKS_ENABLED", env["ANSIBLE_CALLBACKS_ENABLED"])
    assert bp.profile_env()["ANSIBLE_CALLBACKS_ENABLED"] == env["ANSIBLE_CALLBACKS_ENABLED"]
    monkeypatch.delenv("ANSIBLE_CALLBACKS_ENABLED")
    assert bp.profile_env()["ANSIBLE_CALLBACKS_ENABLED"] == "ansible.posix.profile_tasks"


# ---- receipts -> figures ------------------------------------------------------------------


def receipt(phase: str, seconds: float, changed: dict[str, int], tasks: int, **extra: Any) -> dict[str, Any]:
    stats = {
        h: {"ok": 5, "changed": c, "failures": 0, "dark": 0, "skipped": 1, "rescued": 0, "ignored": 0}
        for h, c in changed.items()
    }
    return {
        "phase": phase,
        "status": "done",
        "timestamps": {"duration_s": seconds},
        "stats": stats,
        "tasks": tasks,
        "result": {},
        **extra,
    }


def full_run() -> list[tuple[dict[str, Any], str]]:
    built = {"result": {"images": [{"service": "a", "built": True}, {"service": "b", "built": False}]}}
    return [
        (receipt("baseline", 4.0, {"h1": 0}, 10), ""),
        (receipt("prep", 8.0, {"h1": 0}, 20), real_recap([("cutover_prep : Run the gates", 5.0), ("x", 0.5)])),
        (receipt("build", 12.0, {"h1": 3, "h2": 2}, 30, **built), real_recap([("cutover_build : Build", 9.0)])),
        (receipt("migrate", 5.0, {"h1": 2}, 25), ""),
        (receipt("swap", 15.0, {"h1": 6}, 40), real_recap([("cutover_swap : Wait healthy", 7.5)])),
        (receipt("verify", 6.0, {"h1": 1}, 12), ""),
        (receipt("recert", 3.0, {"h1": 0}, 8), ""),
        (receipt("closeout", 2.0, {"h1": 0}, 5), ""),
    ]


def test_receipts_give_phase_times_changed_tasks_and_the_slowest_tasks() -> None:
    s = bp.summarize_receipts(full_run(), top=3)
    assert [p["phase"] for p in s["phases"]] == [
        "baseline",
        "prep",
        "build",
        "migrate",
        "swap",
        "verify",
        "recert",
        "closeout",
    ]
    build = s["phases"][2]
    assert build == {"phase": "build", "seconds": 12.0, "changed": 5, "tasks": 30, "task_s": 9.0, "status": "done"}
    assert s["phases"][0]["task_s"] is None  # no recap in that phase's output
    assert s["phases_s"] == 55.0 and s["work_s"] == 38.0
    assert s["changed"] == 14 and s["tasks"] == 150 and s["images_built"] == 1
    assert s["profile_tasks"] is True
    assert s["slowest_tasks"] == [
        {"phase": "build", "task": "cutover_build : Build", "seconds": 9.0},
        {"phase": "swap", "task": "cutover_swap : Wait healthy", "seconds": 7.5},
        {"phase": "prep", "task": "cutover_prep : Run the gates", "seconds": 5.0},
    ]


def test_real_receipts_of_the_recorded_run_are_read_in_ledger_order(tmp_path: Path) -> None:
    replay = load_replay()
    docs = replay.write_scenario("good", tmp_path)
    loaded = bp.load_run_receipts(tmp_path)
    assert [d["id"] for d, _, _ in loaded] == [d["id"] for d in docs]
    s = bp.summarize_receipts(loaded)
    assert [p["phase"] for p in s["phases"]] == [d["phase"] for d in docs]
    assert [p["seconds"] for p in s["phases"]] == [d["timestamps"]["duration_s"] for d in docs]
    assert s["changed"] == sum(h["changed"] for d in docs for h in d["stats"].values())
    assert s["tasks"] == sum(d["tasks"] for d in docs) > 0
    # one playbook process: no phase's output has profile_tasks' recap; the events' times stand in
    assert s["profile_tasks"] is True and s["slowest_tasks"]
    assert all(p["task_s"] is not None and p["task_s"] <= p["seconds"] + 1 for p in s["phases"])


def test_events_stdout_is_the_fallback_for_a_missing_output(tmp_path: Path) -> None:
    rid = "CAP-20260212-011535__cutover.build__Rfixture000"
    (tmp_path / rid).mkdir()
    (tmp_path / rid / "receipt.json").write_text(json.dumps(receipt("build", 1.0, {"h": 0}, 1)))
    recap = real_recap([("cutover_build : Build", 2.0)])
    (tmp_path / rid / "events.jsonl").write_text(
        json.dumps({"stdout": recap}) + "\n" + json.dumps({"event": "x"}) + "\n"
    )
    (tmp_path / "ledger.csv").write_text(f"run_id,created_at\n{rid},x\n")
    [(_doc, output, _times)] = bp.load_run_receipts(tmp_path)
    assert bp.parse_profile_tasks(output) == [("cutover_build : Build", 2.0)]


# ---- targets, table, comparison ---------------------------------------------------------


def result(label: str, full_wall: float, noop_wall: float, floor_s: float, noop_changed: int = 0) -> dict[str, Any]:
    full = {"wall_s": full_wall, "rc": 0, **bp.summarize_receipts(full_run())}
    noop_receipts = [(receipt(d["phase"], 1.0, {"h1": 0}, d["tasks"]), "") for d, _ in full_run()]
    noop = {"wall_s": noop_wall, **bp.summarize_receipts(noop_receipts), "restarts": []}
    noop["changed"] = noop_changed
    floor = {"total_s": floor_s, "steps": [{"step": "ship", "seconds": 0.3, "detail": "git archive | ssh tar -x"}]}
    out: dict[str, Any] = {
        "schema": bp.SCHEMA,
        "label": label,
        "ref": "release-new",
        "release": "0ce4de6",
        "cpus": 2,
        "cold": True,
        "full": full,
        "noop": noop,
        "floor": floor,
    }
    out["ratio"] = bp.ratio(full, floor)
    out["targets"] = bp.evaluate_targets(out)
    return out


def test_targets_are_the_issues() -> None:
    good = result("after", 58.0, 9.0, 10.0)
    assert good["ratio"] == 3.8
    assert [(t["target"], t["ok"]) for t in good["targets"]] == [
        ("full run <= 60 s", True),
        ("build+migrate+swap+verify <= 4 x floor", True),
        ("no-op rerun <= 15 s", True),
        ("no-op changed = 0", True),
        ("no-op restarts nothing", True),
    ]
    bad = result("before", 75.0, 20.0, 5.0, noop_changed=3)
    assert [t["ok"] for t in bad["targets"]] == [False, False, False, False, True]
    assert bp.ratio(good["full"], None) is None
    assert [t["target"] for t in bp.evaluate_targets({"full": good["full"]})] == ["full run <= 60 s"]


def test_table_has_every_phase_the_totals_the_floor_and_the_targets() -> None:
    text = bp.render_table(result("after", 58.0, 9.0, 10.0))
    rows = {line.split("  ")[0].strip(): line for line in text.splitlines()}
    for phase in ("baseline", "prep", "build", "migrate", "swap", "verify", "recert", "closeout"):
        assert phase in rows
    assert rows["build"].split() == ["build", "12.0", "9.0", "5", "30", "1.0", "-", "0", "30"]
    assert rows["total (wall)"].split()[-1] == "9.0" and "58.0" in rows["total (wall)"]
    assert "38.0" in rows["build+migrate+swap+verify"]
    assert "10.0" in rows["floor (plain docker)"] and "3.80" in rows["ratio b+m+s+v / floor"]
    assert rows["wrapper (wall - phases)"].split()[4:6] == ["3.0", "1.0"]
    assert "slowest tasks of the full run" in text and "cutover_build : Build" in text
    assert "issue 9 targets" in text and "MISSED" not in text
    assert "ship" in text and "git archive | ssh tar -x" in text


def test_comparison_puts_two_results_side_by_side() -> None:
    before, after = result("before", 75.0, 20.0, 10.0), result("after", 58.0, 9.0, 10.0)
    text = bp.render_comparison(before, after)
    header = text.splitlines()[2]
    assert header.split() == ["before", "full", "after", "full", "before", "no-op", "after", "no-op"]
    rows = {line.split("  ")[0].strip(): line.split() for line in text.splitlines()[3:]}
    assert rows["total (wall)"][-4:] == ["75.0", "58.0", "20.0", "9.0"]
    assert rows["ratio b+m+s+v / floor"][-2:] == ["3.80", "3.80"]
    same = bp.render_comparison(after, after)
    assert "after (1) full" in same and "after (2) full" in same


def test_compare_two_saved_results_runs_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(result("before", 75.0, 20.0, 10.0)))
    b.write_text(json.dumps(result("after", 58.0, 9.0, 10.0)))
    assert bp.main(["--compare", str(a), "--compare", str(b)]) == 0
    assert "before full" in capsys.readouterr().out
    assert bp.main(["--compare", str(a), "--compare", str(b), "--json"]) == 0
    assert [r["label"] for r in json.loads(capsys.readouterr().out)["compare"]] == ["before", "after"]
    a.write_text("{}")
    with pytest.raises(SystemExit, match=r"not a `benchmarks/phases\.py --json` result"):
        bp.main(["--compare", str(a), "--compare", str(b)])


def test_a_failed_step_names_itself_and_shows_the_last_lines() -> None:
    with pytest.raises(bp.StepError) as info:
        bp.run_step("floor: build files-api", ["sh", "-c", "for i in $(seq 1 60); do echo line $i; done; exit 3"])
    text = info.value.report(lines=5)
    assert text.startswith("phases.py: step 'floor: build files-api' failed (exited 3)")
    assert text.rstrip().splitlines()[-5:] == [f"line {i}" for i in range(56, 61)]


def test_task_times_run_from_one_task_start_to_the_next() -> None:
    def ev(kind: str, at: str, task: str = "", role: str = "") -> dict:
        return {"event": kind, "created": f"2026-12-01T12:00:{at}+00:00",
                "event_data": {"task": task, **({"role": role} if role else {})}}  # fmt: skip

    events = [
        ev("playbook_on_play_start", "00.000000"),
        ev("playbook_on_task_start", "00.500000", "Read the host", "cutover_baseline"),
        ev("runner_on_ok", "01.200000"),
        ev("playbook_on_task_start", "01.250000", "Decide"),
        ev("runner_on_ok", "01.300000"),
        ev("playbook_on_task_start", "01.400000", "Publish"),
        ev("playbook_on_stats", "02.000000"),
        {"event": "verbose", "stdout": "no timestamp"},
    ]

    assert bp.task_times(events) == [("cutover_baseline : Read the host", 0.75), ("Publish", 0.6), ("Decide", 0.15)]
    assert bp.task_times([]) == []


def test_the_ratio_takes_the_floor_run_with_the_median_total() -> None:
    runs = [{"total_s": 8.4, "steps": ["slow"]}, {"total_s": 4.0, "steps": ["fast"]},
            {"total_s": 4.3, "steps": ["mid"]}]  # fmt: skip
    floor = bp.median_floor(runs)
    assert floor is not None and (floor["total_s"], floor["steps"], floor["runs_s"]) == (4.3, ["mid"], [8.4, 4.0, 4.3])
    assert bp.ratio({"work_s": 25.8}, floor) == 6.0
    assert bp.median_floor(runs[:2])["total_s"] == 4.0  # an even count: the lower of the two middle ones
    assert bp.median_floor([]) is None
