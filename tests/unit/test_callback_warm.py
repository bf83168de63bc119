"""The controller warm-up callback (playbooks/callback_plugins/cutover_warm.py): after it ran in
the main process, a task's worker resolves the package's filters without loading any plugin
file; a failure to warm never fails the run. Each case runs in a fresh Python (Ansible's
plugin loaders are process-wide)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PRELUDE = f"""
import os, sys
from ansible.plugins.loader import init_plugin_loader, add_all_plugin_dirs, filter_loader, PluginLoader
init_plugin_loader()
add_all_plugin_dirs({str(REPO / "roles/cutover_common")!r})
add_all_plugin_dirs({str(REPO / "playbooks")!r})
sys.path.insert(0, {str(REPO / "playbooks/callback_plugins")!r})
import cutover_warm
"""


def run(body: str) -> subprocess.CompletedProcess[str]:
    code = PRELUDE + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)


WORKER = """
    pid = os.fork()
    if pid == 0:  # the worker: count the plugin files it has to load to resolve one filter
        loads = []
        original = PluginLoader._load_module_source
        def counted(self, **kw):
            loads.append(kw["path"])
            return original(self, **kw)
        PluginLoader._load_module_source = counted
        errors = filter_loader.get("cutover_fleet_errors")
        works = errors is not None and errors.j2_function(1, 0, "halt") == []
        os._exit(min(len(loads), 100) if works else 101)
    _, status = os.waitpid(pid, 0)
    print("files loaded in the worker:", os.waitstatus_to_exitcode(status))
"""


def test_a_worker_forked_after_the_warm_up_loads_no_plugin_file_to_resolve_a_filter() -> None:
    out = run("cutover_warm.CallbackModule().v2_playbook_on_task_start(None, False)\n" + textwrap.dedent(WORKER))
    assert "files loaded in the worker: 0\n" in out.stdout, out.stdout + out.stderr


def test_without_the_warm_up_the_worker_loads_every_filter_file_itself() -> None:
    out = run(WORKER)
    loaded = int(out.stdout.rsplit(":", 1)[-1]) if "files loaded in the worker:" in out.stdout else -1
    assert 5 <= loaded <= 100, out.stdout + out.stderr


def test_a_failing_warm_up_is_ignored() -> None:
    out = run("""
        def broken(*a, **kw):
            raise RuntimeError("no plugins today")
        cutover_warm.filter_loader.get = broken
        cutover_warm.CallbackModule().v2_playbook_on_task_start(None, False)
        cutover_warm.CallbackModule().v2_playbook_on_handler_task_start(None)
        print("ran on")
    """)
    assert out.returncode == 0 and "ran on" in out.stdout, out.stderr
