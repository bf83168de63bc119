"""Which services a release has, kept out of Jinja.

One inventory serves every release: a service whose build context (``<module>/<dockerfile>``)
is absent at the ref is "not in this release" (not gated, built or swapped; removed on the way
back), unless the inventory says ``required: true``, then the release is refused naming it.

  cutover_build_contexts(services)                   -> the paths git ls-tree looks for
  cutover_release_presence(services, listed, release) -> {present, absent, refused}
  cutover_deployed_services(services, state)         -> the services of the release being
      deployed (state.json's change in progress) or serving (its current release)
  cutover_git_resolved(output)                       -> {ok, error, commit, release, listed}: what
      source_resolve.yml's git script printed (an "error: ..." line, or the commit, the
      short SHA and the build contexts' files)
"""

from __future__ import annotations

from typing import Any


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _context(svc: dict[str, Any]) -> str:
    return f"{str(svc['module']).strip('/')}/{svc.get('dockerfile') or 'Dockerfile'}"


def cutover_build_contexts(services: Any) -> list[str]:
    return [_context(svc) for svc in services or []]


def cutover_release_presence(services: Any, listed: Any, release: str = "") -> dict[str, Any]:
    """Split the services by whether the commit has their Dockerfile (``listed``: the paths
    ``git ls-tree -r --name-only <commit> -- <contexts>`` printed)."""
    found = {str(line).strip() for line in listed or []}
    present, absent, refused = [], [], []
    for svc in services or []:
        if _context(svc) in found:
            present.append(svc["name"])
            continue
        absent.append(svc["name"])
        if svc.get("required") is True:
            refused.append(
                f"cutover_services: {svc['name']} is required (required: true) but release {release or '?'}"
                f" has no {_context(svc)}"
            )
    return {"present": present, "absent": absent, "refused": refused}


def cutover_deployed_services(services: Any, state: Any) -> list[dict[str, Any]]:
    """The services to check: those of the change in progress (recorded by the swap), else those
    of the current release; every service when state.json records neither (old layout)."""
    state = _mapping(state)
    names: list[str] | None = None
    in_progress = _mapping(state.get("in_progress"))
    if isinstance(in_progress.get("services"), list):
        names = [str(n) for n in in_progress["services"]]
    elif _mapping(_mapping(state.get("current")).get("services")):
        names = list(_mapping(state["current"]["services"]))
    services = list(services or [])
    return services if names is None else [svc for svc in services if svc["name"] in names]


def cutover_git_resolved(output: Any) -> dict[str, Any]:
    """source_resolve.yml's git output -> {ok, error, commit, release, listed}. The script prints
    "error: <git's words>" when the ref is no commit, else the commit, its short SHA (the image
    tag) and the files under the services' build contexts, a line each."""
    lines = [line.strip() for line in str(output or "").splitlines()]
    if not lines or not lines[0] or lines[0].startswith("error:"):
        error = lines[0][len("error:"):].strip() if lines and lines[0] else ""
        return {"ok": False, "error": error or "unknown ref", "commit": "", "release": "", "listed": []}
    commit, release = lines[0], lines[1] if len(lines) > 1 else ""
    listed = [line for line in lines[2:] if line]
    return {"ok": True, "error": "", "commit": commit, "release": release, "listed": listed}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "cutover_git_resolved": cutover_git_resolved,
            "cutover_build_contexts": cutover_build_contexts,
            "cutover_release_presence": cutover_release_presence,
            "cutover_deployed_services": cutover_deployed_services,
        }
