"""A fleet's rollout decisions (issue 12), kept out of Jinja. Ansible does the fan-out itself
(the batch play's ``serial``, forks); these filters only say what the batches are and what a
failure on one host means for the others.

  cutover_fleet_errors(canary, batch_size, on_failure)  -> every bad rollout field, each named
  cutover_fleet_batches(hosts, canary, batch_size)      -> the batches in order (lists of hosts)
  cutover_fleet_serial(hosts, canary, batch_size)       -> the batch play's ``serial`` list
  cutover_fleet_play_serial(hosts, hostvars)            -> that serial, read from the first host that has the plan
  cutover_fleet_failure(hosts, hostvars)                -> the first failure of the run among the hosts, or None
  cutover_fleet_share(run, failure, host, policy)       -> this host's run record after another host's failure
  cutover_fleet_built(hosts, hostvars)                  -> '' when every host built the same commit, else why not
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

POLICIES = ("rollback_all", "halt")


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def cutover_fleet_errors(canary: Any, batch_size: Any, on_failure: Any) -> list[str]:
    """Every problem of the rollout variables, each naming its field and what was expected."""
    errors = []
    if not _is_int(canary) or canary < 1:
        errors.append(f"cutover_canary_hosts: {canary!r} must be an integer >= 1 (hosts swapped and verified first)")
    if not _is_int(batch_size) or batch_size < 0:
        errors.append(
            f"cutover_batch_size: {batch_size!r} must be an integer >= 0"
            " (hosts per batch after the canary; 0 = all the rest)"
        )
    if on_failure not in POLICIES:
        errors.append(f"cutover_fleet_on_failure: {on_failure!r} must be one of: {', '.join(POLICIES)}")
    return errors


def cutover_fleet_batches(hosts: Sequence[str], canary: int = 1, batch_size: int = 0) -> list[list[str]]:
    """The batches in rollout order: the first ``canary`` hosts, then ``batch_size`` at a time
    (0: every other host at once). The hosts' order is the inventory's (the play's)."""
    hosts = list(hosts or [])
    if not hosts:
        return []
    canary = max(1, int(canary))
    batches = [hosts[:canary]]
    rest = hosts[canary:]
    size = int(batch_size) if int(batch_size) > 0 else len(rest)
    batches += [rest[i : i + size] for i in range(0, len(rest), size or 1)]
    return [b for b in batches if b]


def cutover_fleet_serial(hosts: Sequence[str], canary: int = 1, batch_size: int = 0) -> list[int]:
    """The batch play's ``serial``: one size per batch (Ansible repeats the last one, so the
    list is complete for the play's hosts)."""
    return [len(b) for b in cutover_fleet_batches(hosts, canary, batch_size)] or [1]


def cutover_fleet_play_serial(hosts: Sequence[str], hostvars: Mapping[str, Any]) -> list[int]:
    """The batch play's ``serial`` (templated before the play, from the start play's facts):
    the plan of the first host that has one; [] (every host at once) without a fleet."""
    for host in hosts or []:
        try:
            fleet = _mapping(hostvars[host].get("cutover_fleet"))
        except (KeyError, TypeError, AttributeError):
            continue
        if fleet.get("serial"):
            return [int(n) for n in fleet["serial"]]
    return []


def cutover_fleet_failure(hosts: Sequence[str], hostvars: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first failure of this run among the hosts (in rollout order), with the host's name;
    a failure another host only copied (``from_host``) is not a host's own."""
    for host in hosts or []:
        run = _mapping(_mapping(hostvars.get(host) if hasattr(hostvars, "get") else None).get("cutover_run"))
        failure = _mapping(run.get("failure"))
        if failure and not failure.get("from_host"):
            return {"host": host, **failure}
    return None


def cutover_fleet_share(run: Any, failure: Any, host: str, policy: str = "rollback_all") -> dict[str, Any]:
    """This host's run record once another host failed: its own failure stays; otherwise it
    takes the fleet's (``from_host`` names where it happened), so it runs no further changing
    phase and its rollback play undoes its change in progress. A host that already committed
    the release in this run (``fleet_committed``) goes back to the previous release too under
    ``rollback_all`` (``fleet_exchange``); under ``halt`` it stays on the new release."""
    run = _mapping(run)
    failure = _mapping(failure)
    if not failure or _mapping(run.get("failure")) or failure.get("host") == host:
        return run
    shared = {
        "phase": failure.get("phase"),
        "task": failure.get("task"),
        "reason": f"fleet: {failure.get('host')} failed ({failure.get('reason')})",
        "from_host": failure.get("host"),
    }
    out = {**run, "failure": shared}
    out["fleet_exchange"] = bool(run.get("fleet_committed")) and policy == "rollback_all"
    return out


def cutover_fleet_built(hosts: Sequence[str], hostvars: Mapping[str, Any]) -> str:
    """The build's fleet check: every host of the run that built has the same commit (the
    same exported source). '' when they agree; else which host built which commit."""
    built: dict[str, str] = {}
    for host in hosts or []:
        try:
            commit = _mapping(hostvars[host]).get("cutover_commit")
        except (KeyError, TypeError):
            continue
        if commit:
            built[host] = str(commit)
    if len(set(built.values())) <= 1:
        return ""
    return "the fleet's hosts built different commits: " + ", ".join(f"{h} {c}" for h, c in built.items())


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "cutover_fleet_errors": cutover_fleet_errors,
            "cutover_fleet_batches": cutover_fleet_batches,
            "cutover_fleet_serial": cutover_fleet_serial,
            "cutover_fleet_play_serial": cutover_fleet_play_serial,
            "cutover_fleet_failure": cutover_fleet_failure,
            "cutover_fleet_share": cutover_fleet_share,
            "cutover_fleet_built": cutover_fleet_built,
        }
