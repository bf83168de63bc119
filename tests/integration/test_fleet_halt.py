"""The fleet's other failure policy, cutover_fleet_on_failure=halt, on the fleet lab (issue 12):
the second batch fails, the canary that passed verify stays on the new release and the run
says so, the failed batch goes back.

Not part of `make test` (CI's 45-minute budget: a 3-host cutover is ~4 min under its load):
run it with `make test-fleet-halt` when the fleet's failure handling changes. It uses
test_fleet.py's lab, lock and helpers, and leaves every host on the old release as it found it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_fleet import (  # fleet, on_old: test_fleet's fixtures, under the fleet's lock
    HOSTS,
    INTAKE_PORT,
    INVENTORY,
    REPO_ROOT,
    ROOT_ON_HOST,
    back_to_old,
    explain,
    fleet,
    health,
    on_old,
    on_release,
    port_taken,
    release_recorded,
    run,
    running,
    ssh,
    state,
)

pytestmark = pytest.mark.integration
PLAYBOOK = str(REPO_ROOT / ".venv/bin/ansible-playbook")
__all__ = ["fleet", "on_old"]


@pytest.fixture()
def on_old_and_back(on_old: dict[str, str]) -> Iterator[dict[str, str]]:
    """test_fleet's on_old, and every host back on the old release afterwards."""
    yield on_old
    back_to_old(on_old["old"])


def test_halt_leaves_the_hosts_that_passed_on_the_new_release(on_old_and_back: dict[str, str], tmp_path: Path) -> None:
    old, new = on_old_and_back["old"], on_old_and_back["new"]
    args = [PLAYBOOK, "-i", INVENTORY, "playbooks/cutover.yml", "-e", "cutover_ref=release-new",
            "-e", "cutover_fleet_on_failure=halt"]  # fmt: skip
    with port_taken("fleet-h3", INTAKE_PORT):
        proc = run(args, check=False)
    assert proc.returncode != 0, explain(proc)
    assert "fleet-h2 stays on the new release" in proc.stdout, explain(proc)
    assert on_release("fleet-h2", new), running("fleet-h2")
    assert release_recorded("fleet-h2") == new
    for host in ("fleet-h3", "fleet-h4"):
        assert on_release(host, old), f"{host}: {running(host)}"
        assert release_recorded(host) in (old, None), host
    for host in HOSTS:
        assert not state(host).get("in_progress"), host
        assert ssh(host, f"test -e {ROOT_ON_HOST}/lock", check=False).returncode != 0, host
        code, body = health(host, 3500)
        assert code == 200 and body.get("status") == "ok", (host, code, body)
