#!/usr/bin/env python3
"""Downtime of one full cutover on the lab: reset to release-old, run playbooks/cutover.yml
(old -> new), print per service the prober's requests, failed requests and longest gap.

    .venv/bin/python benchmarks/downtime.py [--ref release-new] [--no-reset]

Takes the lab lock (/tmp/cutover-lab.lock) unless CUTOVER_LAB_LOCKED=1.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LOCK_FILE = os.environ.get("CUTOVER_LAB_LOCK", "/tmp/cutover-lab.lock")


def step(args: list[str], env: dict[str, str] | None = None) -> float:
    started = time.monotonic()
    proc = subprocess.run(
        args, cwd=REPO, env=env, text=True, capture_output=True, check=False
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"{' '.join(args)} exited {proc.returncode}")
    return time.monotonic() - started


def measure(ref: str, reset: bool) -> dict[str, Any]:
    reset_s = step(["make", "--no-print-directory", "lab-reset"]) if reset else 0.0
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "swap.json"
        env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
        cutover_s = step(
            [
                str(REPO / ".venv" / "bin" / "ansible-playbook"),
                "playbooks/cutover.yml",
                "-e",
                f"cutover_ref={ref}",
                "-e",
                f"cutover_swap_results_file={results}",
            ],
            env,
        )
        swap: dict[str, Any] = json.loads(results.read_text())
    return {"reset_s": reset_s, "cutover_s": cutover_s, "swap": swap}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ref", default="release-new")
    parser.add_argument(
        "--no-reset", action="store_true", help="do not run make lab-reset first"
    )
    args = parser.parse_args()
    handle = None
    if os.environ.get("CUTOVER_LAB_LOCKED") != "1":
        handle = open(LOCK_FILE, "a")  # noqa: SIM115 - held until exit
        fcntl.flock(handle, fcntl.LOCK_EX)
    try:
        figures = measure(args.ref, not args.no_reset)
    finally:
        if handle is not None:
            handle.close()
    swap = figures["swap"]
    actions = {s["name"]: s["action"] for s in swap["services"]}
    print(
        f"full cutover to {args.ref} ({swap['release']}), strategy {swap['strategy']}: {figures['cutover_s']:.1f}s"
    )
    print(
        f"{'service':<14} {'action':<10} {'requests':>8} {'failed':>7} {'longest gap':>12}"
    )
    for name, d in swap["downtime"].items():
        gap = f"{d['longest_gap_s']:.2f}s"
        print(
            f"{name:<14} {actions.get(name, '?'):<10} {d['requests']:>8} {d['failed']:>7} {gap:>12}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
