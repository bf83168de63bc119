#!/usr/bin/env python3
"""Run prep's gates at the same time, on the controller, and print their results as JSON.

    run_gates.py --jobs N --timeout S '<json list of {service, module, gate, command, cwd}>'

Each result has the shape of a registered ansible.builtin.command loop item (item, cmd, rc,
stdout, stderr, delta, msg), so filter_plugins/cutover_gates.py judges it the same way.
A gate that runs longer than --timeout seconds is killed and has rc null.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def delta(seconds: float) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{secs:09.6f}"


def run_gate(gate: dict[str, Any], timeout: float) -> dict[str, Any]:
    item = [{"name": gate["service"], "module": gate["module"]}, {"key": gate["gate"], "value": gate["command"]}]
    result: dict[str, Any] = {"item": item, "cmd": gate["command"], "rc": None, "stdout": "", "stderr": "", "msg": ""}
    start = time.monotonic()
    try:
        done = subprocess.run(  # the inventory's gate command, as ansible.builtin.command cmd= runs it
            gate["command"], shell=True, cwd=gate["cwd"], capture_output=True, text=True, timeout=timeout,
            check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        result.update(rc=done.returncode, stdout=done.stdout, stderr=done.stderr)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        result.update(stdout=out, msg=f"timed out after {timeout:.0f}s")
    except OSError as exc:
        result.update(msg=f"cannot run in {gate['cwd']}: {exc}")
    result["delta"] = delta(time.monotonic() - start)
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("gates", help="JSON list of {service, module, gate, command, cwd}")
    args = parser.parse_args(argv)
    gates = json.loads(args.gates)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda g: run_gate(g, args.timeout), gates))
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
