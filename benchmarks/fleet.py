#!/usr/bin/env python3
"""Wall time of a 3-host rolling cutover against a 1-host one, measured in the same run on the
fleet lab (inventory/lab-fleet, lab hosts 2-4; `make lab LAB_HOSTS=3` first):

  1 host   playbooks/cutover.yml --limit fleet-h2 (the single-host path: one host in the play)
  3 hosts  playbooks/cutover.yml on the fleet (canary fleet-h2, then fleet-h3 and fleet-h4)

Each starts from release-old on every host (the package's own rollback puts a host back) and
cuts over to release-new. Goal: 3 hosts under 1.5 times 1 host (the batch after the canary
runs in parallel). Images built by an earlier run are reused by both (an existing tag is not
rebuilt), so both measure the same work.

    .venv/bin/python benchmarks/fleet.py [--ref release-new] [--json] [--keep]

Takes the fleet's lock (/tmp/cutover-lab-fleet.lock) unless CUTOVER_FLEET_LOCKED=1; never
touches lab host 1. --keep leaves the fleet on the new release (default: back to the old one).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INVENTORY = "inventory/lab-fleet"
LOCK_FILE = os.environ.get("CUTOVER_FLEET_LOCK", "/tmp/cutover-lab-fleet.lock")
PLAYBOOK = str(REPO / ".venv" / "bin" / "ansible-playbook")
GOAL = 1.5


def step(args: list[str]) -> float:
    started = time.monotonic()
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    proc = subprocess.run(args, cwd=REPO, env=env, text=True, capture_output=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"{' '.join(args)} exited {proc.returncode}")
    return time.monotonic() - started


def back_to_old(limit: str | None = None) -> float:
    """The package's own rollback (playbooks/rollback.yml: current -> previous release); the
    caller runs it only where the new release serves."""
    return step([PLAYBOOK, "-i", INVENTORY, "playbooks/rollback.yml", *(["--limit", limit] if limit else [])])


def on_new(host: str, ref: str) -> bool:
    """Whether the host's state.json says the release of ``ref`` serves (read over SSH by Ansible)."""
    sha = subprocess.run(
        ["git", "-C", str(REPO / ".lab-fleet" / "workload"), "rev-parse", "--short=7", f"{ref}^{{commit}}"],
        text=True, capture_output=True, check=True,
    ).stdout.strip()  # fmt: skip
    proc = subprocess.run(
        [str(REPO / ".venv" / "bin" / "ansible"), "-i", INVENTORY, host, "-b", "-m", "ansible.builtin.command",
         "-a", "cat /opt/cutover/mint/state.json", "-o"],
        cwd=REPO, text=True, capture_output=True, check=False,
    )  # fmt: skip
    return f'"release": "{sha}"' in proc.stdout.split('"current"', 1)[-1].split('"previous"', 1)[0]


def cutover(ref: str, limit: str | None) -> float:
    return step(
        [PLAYBOOK, "-i", INVENTORY, "playbooks/cutover.yml", "-e", f"cutover_ref={ref}",
         *(["--limit", limit] if limit else [])]
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref", default="release-new")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="leave the fleet on the new release")
    args = parser.parse_args()
    handle = None
    if os.environ.get("CUTOVER_FLEET_LOCKED") != "1":
        handle = open(LOCK_FILE, "a")  # noqa: SIM115 - held for the whole benchmark
        fcntl.flock(handle, fcntl.LOCK_EX)
    hosts = ["fleet-h2", "fleet-h3", "fleet-h4"]
    serving_new = [host for host in hosts if on_new(host, args.ref)]
    if serving_new == hosts:
        back_to_old()  # the whole fleet in one rollback run
    for host in serving_new if serving_new != hosts else []:
        back_to_old(host)
    one = cutover(args.ref, "fleet-h2")
    back_to_old("fleet-h2")
    three = cutover(args.ref, None)
    if not args.keep:
        back_to_old()
    ratio = three / one if one else float("inf")
    figures = {"one_host_s": round(one, 1), "three_hosts_s": round(three, 1), "ratio": round(ratio, 2), "goal": GOAL}
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"1 host  (fleet-h2 alone)              {one:7.1f} s")
        print(f"3 hosts (canary, then 2 in parallel)  {three:7.1f} s")
        verdict = "met" if ratio < GOAL else "NOT met"
        print(f"ratio                                 {ratio:7.2f}x  (goal < {GOAL}x: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
