"""Load the Jinja filter and test plugins once, in the controller's main process, before a task
is handed to its worker (issue 9: the per-task cost of a run).

Ansible runs every task - a skipped one too - in a worker process forked from the main process.
The first filter a worker's ``when`` or template names makes it load every filter plugin on the
path (each role's ``filter_plugins/`` and Ansible's own), and the worker exits with what it
loaded, so the next task loads them all again: about 10 ms a task on this package's 400-task
run, more where Python writes no bytecode. Loaded here, before the fork, every worker inherits
them. Ansible empties its list of filter plugins when a role with a new plugin directory is
included, so this checks before each task (a no-op while the list is full).

It loads automatically (no ``callbacks_enabled`` needed) for the playbooks beside it, prints
nothing and changes no result; a failure to warm is ignored: the worker then loads the plugins
itself, as it would without this.
"""

from __future__ import annotations

from typing import Any

from ansible.plugins.callback import CallbackBase
from ansible.plugins.loader import filter_loader, test_loader

DOCUMENTATION = """
    name: cutover_warm
    type: aggregate
    short_description: loads the Jinja filter and test plugins before each task's worker forks
    description:
      - Loads every filter and test plugin in the controller's main process before a task is
        queued, so the forked workers inherit them instead of each loading them again.
      - Prints nothing and changes no result.
"""


def warm_jinja_plugins() -> None:
    """Fill the filter and test loaders' plugin lists (kept until a new plugin dir is added).
    Looking up one built-in plugin by name fills a loader's list when it is empty and is a dict
    look-up when it is not."""
    filter_loader.get("ansible.builtin.bool")
    test_loader.get("ansible.builtin.success")


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "cutover_warm"
    CALLBACK_NEEDS_ENABLED = False

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        try:
            warm_jinja_plugins()
        except Exception:  # never fail a run: the worker loads them itself
            return

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        self.v2_playbook_on_task_start(task, False)
