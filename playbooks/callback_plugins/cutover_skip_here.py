"""Skip a task whose ``when`` is false in the controller's main process, without forking a worker
for it (issue 9: the per-task cost of a run).

Ansible hands every task to a worker process forked from the main one, a skipped task too: the
worker evaluates the task's ``when``, finds it false and returns "skipped". The fork and the
worker's start are most of a task's cost (~25 ms here), and a cutover skips about a third of its
tasks (check-mode steps, a fleet's steps on one host, the swap's steps when nothing changes), so a
no-op run spent seconds forking workers that only said "skipped".

When this callback loads it wraps the strategies' ``_queue_task`` (Ansible's linear and free, and
Mitogen's, which call it): the main process evaluates the ``when`` first, with the variables the
worker would get, and when it is false puts the worker's own skipped result ({changed: false,
skipped: true, skip_reason, false_condition}, no_log applied) on the same results queue, after the
same ``v2_runner_on_start`` callback. The strategy then handles it as any worker's result
(register, stats, callbacks, the wrapper's events). Everything else goes to a worker as before: a
task with a loop (its ``when`` is per item), ``delegate_to`` or ``run_once`` (the worker resolves
them first), a ``when`` that is true, and a ``when`` that cannot be evaluated here (the worker
reports the error as it always did). If this Ansible's internals are not what this expects, it
changes nothing and every task goes to a worker.

It loads automatically (no ``callbacks_enabled`` needed) for the playbooks beside it, and for
molecule through ``ANSIBLE_CALLBACK_PLUGINS``; it prints nothing. ``CUTOVER_SKIP_IN_WORKER=1``
turns it off (every task to a worker, Ansible's own way).
"""

from __future__ import annotations

import os
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: cutover_skip_here
    type: aggregate
    short_description: skips a task whose when is false without forking a worker for it
    description:
      - Wraps the strategy's task queueing so that a task without a loop, delegate_to or
        run_once whose when is false for a host is skipped in the controller's main process,
        with the result and the callbacks a worker would have produced.
      - Prints nothing. CUTOVER_SKIP_IN_WORKER=1 turns it off.
"""

# The worker's own words for a task skipped by its `when` (TaskExecutor._execute_internal).
SKIPPED = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}
_MARK = "_cutover_skip_here"


def skip_result(task: Any, task_vars: dict[str, Any]) -> dict[str, Any] | None:
    """The result a worker would return for ``task`` on this host when its ``when`` is false;
    None when the task must go to a worker (it runs, or this cannot tell)."""
    if not task.when or task.loop or task.loop_with or task.delegate_to or task.run_once:
        return None
    context: dict[str, Any] = {}
    try:
        if task._resolve_conditional(task.when, task_vars, result_context=context):
            return None
    except Exception:  # the worker evaluates it again and reports the error as always
        return None
    return dict(SKIPPED) | context


def install() -> bool:
    """Wrap StrategyBase._queue_task once; False when this Ansible lacks what it needs."""
    try:
        from ansible._internal._templating._engine import TemplateEngine
        from ansible.executor.task_result import _RawTaskResult
        from ansible.plugins.strategy import StrategyBase
    except ImportError:
        return False
    queue_task = StrategyBase._queue_task
    if getattr(queue_task, _MARK, False):
        return True

    def skipped_here(strategy: Any, host: Any, task: Any, task_vars: dict[str, Any], play_context: Any) -> bool:
        key = (host.name, task._uuid)
        try:
            result = skip_result(task, task_vars)
            if result is None:
                return False
            task.update_result_no_log(TemplateEngine(loader=strategy._loader, variables=task_vars), result)
            raw = _RawTaskResult(host=host, task=task, return_data=result, task_fields=task.dump_attrs())
            # What the base _queue_task records before it starts a worker, then what it sends.
            strategy._queued_task_cache[key] = {
                "host": host,
                "task": task,
                "task_vars": task_vars,
                "play_context": play_context,
            }
            strategy._tqm.send_callback("v2_runner_on_start", host, task)
        except Exception:  # Ansible's own way for this task
            strategy._queued_task_cache.pop(key, None)
            return False
        strategy._final_q.send_task_result(raw)
        strategy._pending_results += 1
        return True

    def _queue_task(self: Any, host: Any, task: Any, task_vars: dict[str, Any], play_context: Any) -> None:
        if not skipped_here(self, host, task, task_vars, play_context):
            queue_task(self, host, task, task_vars, play_context)

    setattr(_queue_task, _MARK, True)
    StrategyBase._queue_task = _queue_task  # type: ignore[method-assign]
    return True


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "cutover_skip_here"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if os.environ.get("CUTOVER_SKIP_IN_WORKER", "") != "1":
            install()
