"""Prep's verdict: every check's failure as one sentence, in the order an operator fixes them.

  cutover_prep_problems(checks) -> list[str]
      ``checks``: {env_file, env_contract: {readable, missing, problems}, require_clean_tree,
      tree_status: [porcelain lines], gates: [{ok, reason?, gate, service, module, rc}],
      drift: [sentences], migration_lint: [sentences], staging: {ok, reason} or none,
      staging_inventory}. An unreadable env file hides its contract's details (there are none);
      a dirty tree counts only when a clean one is required; a gate without a reason of its own
      is named by gate, service, module and exit code.
"""

from __future__ import annotations

from typing import Any


def _env_problems(env_file: str, contract: dict[str, Any]) -> list[str]:
    if not contract.get("readable"):
        return [f"cutover_env_file: {env_file} cannot be read on the host"]
    out = [f"env contract: {p}" for p in contract.get("problems") or []]
    if contract.get("missing"):
        out.append(f"env contract: missing or empty in {env_file}: {', '.join(contract['missing'])}")
    return out


def _gate_problem(gate: dict[str, Any]) -> str:
    return str(gate.get("reason") or f"gate {gate.get('gate')} of {gate.get('service')} ({gate.get('module')}) "
               f"failed with rc {gate.get('rc')}")  # fmt: skip


def cutover_prep_problems(checks: dict[str, Any]) -> list[str]:
    env_file = str(checks.get("env_file", ""))
    out = _env_problems(env_file, checks.get("env_contract") or {})
    dirty = [line.strip() for line in checks.get("tree_status") or [] if line.strip()]
    if checks.get("require_clean_tree", True) and dirty:
        out.append(f"cutover_source_repo: {checks.get('source_repo', '')} has uncommitted changes: {', '.join(dirty)}")
    out += [_gate_problem(g) for g in checks.get("gates") or [] if not g.get("ok")]
    out += list(checks.get("drift") or [])
    out += list(checks.get("migration_lint") or [])
    staging = checks.get("staging")
    if staging and not staging.get("ok"):
        inventory = checks.get("staging_inventory", "")
        out.append(f"staging smoke baseline ({inventory}) failed: {staging.get('reason', '')}")
    return out


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"cutover_prep_problems": cutover_prep_problems}
