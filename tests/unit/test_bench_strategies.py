"""benchmarks/strategies.py: the pure parts (load figures -> per service, rollback time from
receipt events, the table, the JSON shape, the compose file, env filtering), without the lab."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    name = "bench_strategies"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "benchmarks" / "strategies.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


bs = _load()

LOAD = {
    "duration_s": 12.0,
    "services": {
        "files-api": {
            "new_connection": {"requests": 100, "failed": 4, "longest_gap_s": 0.8, "still_down": False},
            "keepalive": {"requests": 90, "failed": 6, "longest_gap_s": 1.25, "still_down": False},
            "slow": {"started": 10, "completed": 9},
        },
        "order-intake": {
            "new_connection": {"requests": 0, "failed": 0, "longest_gap_s": 0.0, "still_down": False},
            "keepalive": {"requests": 0, "failed": 0, "longest_gap_s": 0.0, "still_down": False},
            "slow": {"started": 0, "completed": 0},
        },
    },
}


def test_aggregate_sums_counts_and_takes_the_longer_gap() -> None:
    figs = bs.aggregate_load(LOAD)
    assert figs["files-api"] == {
        "requests": 190,
        "failed": 10,
        "longest_gap_s": 1.25,
        "slow_started": 10,
        "slow_completed": 9,
    }
    assert figs["order-intake"]["requests"] == 0
    assert figs["order-intake"]["longest_gap_s"] == 0.0


def test_tally_counts_gap_from_first_failure_to_next_success_and_new_services_late() -> None:
    t = bs.Tally(counting=True)
    for ok, now in [(True, 0.0), (False, 1.0), (False, 1.5), (True, 3.0), (False, 4.0)]:
        t.record(ok, now)
    assert t.finish(4.5) == {"requests": 5, "failed": 3, "longest_gap_s": 2.0, "still_down": True}
    late = bs.Tally(counting=False)
    late.record(False, 0.0)  # not there yet: not counted
    late.record(True, 1.0)
    assert late.finish(2.0)["requests"] == 1
    assert late.finish(2.0)["failed"] == 0


def test_load_spec_parses_health_urls_and_marks_new_services() -> None:
    services = [
        {"name": "files-api", "health": {"url": "http://127.0.0.1:3500/health"}},
        {"name": "order-intake", "health": {"url": "http://127.0.0.1:3400/health"}},
    ]
    spec = bs.load_spec(services, {"files-api"})
    assert spec["files-api"] == {"host": "127.0.0.1", "port": 3500, "path": "/health", "existed": True}
    assert spec["order-intake"]["existed"] is False


def _event(kind: str, task: str, end: str, **extra: Any) -> dict[str, Any]:
    return {"event": kind, "created": end, "event_data": {"task": task, "end": end, **extra}}


def test_rollback_seconds_from_failed_task_to_last_restore() -> None:
    failing = [
        _event("runner_on_ok", "Validate the inventory", "2026-11-30T10:00:00+00:00"),
        _event("runner_on_failed", "Probe something", "2026-11-30T10:00:01+00:00", ignore_errors=True),
        _event("runner_on_failed", "Wait until files-api is healthy", "2026-11-30T10:00:05.500000+00:00"),
    ]
    rollback = [
        _event("runner_on_ok", "Flip the edge proxy back to files-api--c13e698", "2026-11-30T10:00:09+00:00"),
        _event("runner_on_ok", "Wait until the restored container is healthy - x", "2026-11-30T10:00:07+00:00"),
        _event("runner_on_ok", "Note what happened - files-api", "2026-11-30T10:00:20+00:00"),
    ]
    assert bs.rollback_seconds(failing, rollback) == 3.5
    assert bs.rollback_seconds([], rollback) is None
    assert bs.rollback_seconds(failing, []) is None
    # Blue/green: the rescue's flip back at once ends the outage, before the rollback play.
    flip_back = _event("runner_on_ok", "Flip the services on the edge at once - files-api", "2026-11-30T10:00:06+00:00")
    assert bs.rollback_seconds([*failing, flip_back], rollback) == 0.5


def test_json_shape_has_the_strategies_rollback_and_the_broken_runs_apart() -> None:
    figs = bs.aggregate_load(LOAD)
    results = {"recreate": figs, "recreate -> broken": figs, "bluegreen": figs, "docker-compose": figs}
    runs = {"recreate": {"wall_s": 50.0, "rc": 0}}
    doc = json.loads(json.dumps(bs.result_json(results, {"recreate": 4.2, "bluegreen": None}, runs)))
    assert set(doc) == {"recreate", "bluegreen", "docker-compose", "rollback_s", "rollback_runs", "runs"}
    assert {"requests", "failed", "longest_gap_s"} <= set(doc["recreate"]["files-api"])
    assert doc["rollback_s"] == {"recreate": 4.2, "bluegreen": None}
    assert set(doc["rollback_runs"]) == {"recreate -> broken"}
    again = bs.from_json(doc)
    assert list(again[0]) == ["recreate", "bluegreen", "docker-compose", "recreate -> broken"]
    assert again[2] == doc["rollback_s"]


def test_table_has_a_row_per_run_and_a_column_per_service() -> None:
    figs = bs.aggregate_load(LOAD)
    text = bs.render_table(
        {"recreate": figs, "bluegreen": {"files-api": figs["files-api"]}},
        ["files-api", "order-intake"],
        {"recreate": {"wall_s": 51.24, "note": "hello"}},
        {"recreate": 4.2, "bluegreen": None},
    )
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["run", "files-api", "order-intake"]
    recreate = next(line for line in lines if line.startswith("recreate "))
    assert "190 / 10 / 1.25s" in recreate
    assert "51.2s" in recreate
    assert "NO (9/10)" in recreate
    bluegreen = next(line for line in lines if line.startswith("bluegreen "))
    assert " - " in bluegreen  # order-intake missing from that run
    assert "rollback recreate: 4.20s" in text
    assert "rollback_view" not in text
    assert bs.rollback_view({"a": figs["order-intake"]}).endswith("served throughout")
    assert "10 failed requests, longest gap 1.25s" in bs.rollback_view(figs)
    assert "rollback bluegreen: n/a" in text
    assert "note recreate: hello" in text


def test_compose_document_and_env_filter() -> None:
    services = [
        {
            "name": "files-api",
            "image": "mint-modules/artwork",
            "ports": ["127.0.0.1:3500:3500"],
            "networks": ["mint-os-network", "storage-network"],
            "depends_on": [],
        },
        {
            "name": "quote-page",
            "image": "mint-modules/quote-page",
            "networks": ["mint-os-network"],
            "depends_on": ["files-api", "elsewhere"],
        },
    ]
    doc = bs.compose_document(services, "fb44949", {"files-api": "/tmp/x/files-api.env"}, "mint")
    api = doc["services"]["files-api"]
    assert api["image"] == "mint-modules/artwork:fb44949"
    assert api["container_name"] == "files-api"
    assert api["ports"] == ["127.0.0.1:3500:3500"]
    assert api["networks"]["storage-network"] == {"aliases": ["files-api"]}
    assert api["env_file"] == ["/tmp/x/files-api.env"]
    assert api["labels"]["cutover.project"] == "mint"
    assert doc["services"]["quote-page"]["depends_on"] == ["files-api"]
    assert "env_file" not in doc["services"]["quote-page"]
    assert doc["networks"]["mint-os-network"] == {"external": True, "name": "mint-os-network"}
    env = "# comment\nA=1\nB=x=y\nC=3\n"
    assert bs.filter_env(env, ["B", "A"]) == "A=1\nB=x=y\n"
    assert bs.filter_env(env, ["Z"]) == ""


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status":"ok"}'
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


def test_slow_request_completes_against_a_local_server() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        started = time.monotonic()
        assert bs.slow_request("127.0.0.1", port, "/health", 0.2) is True
        assert time.monotonic() - started >= 0.2
        assert bs.slow_request("127.0.0.1", port, "/missing", 0.0) is False
    finally:
        server.shutdown()
        server.server_close()
