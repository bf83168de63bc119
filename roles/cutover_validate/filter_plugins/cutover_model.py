"""Checks of the cutover data model: types, required and unknown keys, and what specs cannot express.

Filters:
  cutover_model_errors(model) -> list[str]   every problem, each naming its field and what was expected
  cutover_service_order(services) -> list[str]   dependency order (dependencies first)

The smoke-check schema is shared with the smoke runner (defence in depth): it lives in
roles/cutover_verify/module_utils/cutover_smoke_schema.py and is loaded from there. The rules
of ``cutover_docker_host`` (unix:///abs/path or tcp://host:port) are those of the
cutover_docker_api filter (roles/cutover_common/filter_plugins/cutover_docker.py).
"""

from __future__ import annotations

import difflib
import importlib.util
import posixpath
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PORT_RE = re.compile(
    r"^(?:(?P<ip>\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?"
    r"(?P<host>\d{1,5}):(?P<container>\d{1,5})(?:/(?P<proto>tcp|udp))?$"
)
STRATEGIES = ("recreate", "bluegreen")

# Docker's image reference grammar (github.com/distribution/reference, grammar in reference.go).
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
DOMAIN_RE = re.compile(
    rf"^(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$"
)
PATH_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
DIGEST_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")
NAME_MAX = 255

SERVICE_KEYS = (
    "name", "module", "image", "dockerfile", "ports", "container_port", "networks", "env",
    "health", "healthcheck", "depends_on", "legacy", "gates", "required",
)
# Docker's healthcheck of the container (community.docker.docker_container's healthcheck).
HEALTHCHECK_KEYS = ("test", "test_cli_compatible", "interval", "timeout", "start_period", "start_interval", "retries")
SERVICE_REQUIRED = {
    "name": "the service name (container name, network alias)",
    "module": "a directory of the source repo",
    "image": "an image name without a tag, e.g. mint-modules/artwork",
    "container_port": "the port the service listens on in the container, an integer 1-65535",
    "health": "a mapping with url (and optional fields, json, status_code, relaxed: the health contract)",
}
LEGACY_KEYS = ("container", "dir")
MIGRATION_KEYS = ("database", "paths", "lock_timeout_s", "ledger")
LEDGER_KEYS = ("table", "schema")
SQL_IDENT_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
DATABASE_KEYS = ("env_key", "host", "port")


def _load_sibling(name: str, *parts: str) -> Any:
    """A pure module of another role of the package, loaded by path (one set of rules)."""
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[2].joinpath(*parts)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - the file ships with the package
        raise ImportError(f"cannot load {name} from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# The smoke-check schema shared with library/cutover_smoke.py, and the Docker endpoint rules
# shared with the cutover_docker_api filter (roles/cutover_common/filter_plugins/cutover_docker.py).
smoke_schema = _load_sibling("cutover_smoke_schema", "cutover_verify", "module_utils", "cutover_smoke_schema.py")
docker_endpoint = _load_sibling("cutover_docker", "cutover_common", "filter_plugins", "cutover_docker.py")
# A fleet's rollout fields (cutover_canary_hosts, cutover_batch_size, cutover_fleet_on_failure).
fleet = _load_sibling("cutover_fleet", "cutover_common", "filter_plugins", "cutover_fleet.py")
# The health contract shared with the health module, the health filters and the wrapper.
health_contract = _load_sibling(
    "cutover_health_contract", "cutover_verify", "module_utils", "cutover_health_contract.py"
)
HEALTH_KEYS = health_contract.HEALTH_KEYS


def _known(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "none"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unknown_keys(f: str, value: Mapping[str, Any], known: Sequence[str], errors: list[str]) -> None:
    for key in value:
        if key in known:
            continue
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        errors.append(f"{f}.{key}: unknown key (expected one of: {', '.join(known)}){hint}")


def _str_list(f: str, value: Any, errors: list[str], what: str = "strings") -> list[str]:
    """The list's strings; a problem when it is not a list of non-empty strings."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        errors.append(f"{f}: {value!r} must be a list of {what}")
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
    return value


def _rel_path_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty relative path"
    if value.startswith("/"):
        return f"'{value}' must be relative to the source repo, not absolute"
    if ".." in value.split("/"):
        return f"'{value}' must not contain '..'"
    return None


def _abs_path_problem(value: Any, what: str) -> str | None:
    """None when value is an absolute, normalised path other than /."""
    if not isinstance(value, str) or not value.startswith("/"):
        return f"'{value}' must be an absolute path ({what})"
    if (
        value == "/"
        or ".." in value.split("/")
        or "//" in value
        or posixpath.normpath(value) != value
        or any(ord(c) < 32 for c in value)
    ):
        return (
            f"'{value}' must be an absolute, normalised path other than / "
            f"(no '.' or '..' components, no '//', no trailing '/'; {what})"
        )
    return None


def image_problem(value: Any, allow_tag: bool = False) -> str | None:
    """None when value follows Docker's reference grammar; without a tag unless allow_tag."""
    grammar = (
        "[registry-host[:port]/]path[/path...] with lowercase path components "
        "([a-z0-9] separated by '.', '_', '__' or '-')"
    )
    if not isinstance(value, str) or not value:
        return f"'{value}' must be an image name: {grammar}"
    name, digest = value, None
    if "@" in name:
        name, digest = name.split("@", 1)
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name[: len(name) - len(last)] + last.split(":", 1)[0], last.split(":", 1)[1]
    if not allow_tag and (tag is not None or digest is not None):
        return (
            f"'{value}' must be an image name without a tag or digest "
            "(the package tags each image with the release's short SHA: <image>:<sha>)"
        )
    if tag is not None and not TAG_RE.match(tag):
        return f"'{value}' has an invalid tag '{tag}' (expected [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})"
    if digest is not None and not DIGEST_RE.match(digest):
        return f"'{value}' has an invalid digest '{digest}' (expected <algorithm>:<hex>)"
    parts = name.split("/")
    first = parts[0]
    # A registry host has a '.' or a ':port', or is localhost. (Docker also takes a first
    # component with an upper-case letter for a host; here it is a path component, refused
    # as not lowercase: "Mint/artwork" is a typo far more often than a registry.)
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        if not DOMAIN_RE.match(first):
            return f"'{value}' has an invalid registry host '{first}' (expected host[:port]; {grammar})"
        parts = parts[1:]
    bad = [p for p in parts if not PATH_COMPONENT_RE.match(p)]
    if bad:
        return f"'{value}' is not a valid image name: bad path component '{bad[0]}' (expected {grammar})"
    if len(name) > NAME_MAX:
        return f"'{value}' is longer than {NAME_MAX} characters (Docker's limit for a name)"
    return None


def _cycle(services: Sequence[Mapping[str, Any]]) -> list[str] | None:
    """Return one dependency cycle as a list of names (first == last), or None."""
    deps = {
        str(s.get("name")): [str(d) for d in (s.get("depends_on") or []) if isinstance(d, str)]
        for s in services
        if isinstance(s, Mapping) and isinstance(s.get("depends_on") or [], list)
    }
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(deps, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        stack.append(node)
        for dep in deps.get(node, []):
            if dep not in colour:
                continue
            if colour[dep] == grey:
                return [*stack[stack.index(dep) :], dep]
            if colour[dep] == white:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        colour[node] = black
        return None

    for name in deps:
        if colour[name] == white:
            found = visit(name)
            if found:
                return found
    return None


def cutover_service_order(services: Sequence[Mapping[str, Any]]) -> list[str]:
    """Topological order, dependencies first; ties keep the inventory order."""
    names = [str(s["name"]) for s in services]
    deps = {
        str(s["name"]): [str(d) for d in (s.get("depends_on") or []) if d in names]
        for s in services
    }
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(names):
        progressed = False
        for name in names:
            if name not in done and all(d in done for d in deps[name]):
                order.append(name)
                done.add(name)
                progressed = True
                break
        if not progressed:
            raise ValueError(
                f"cutover_services: dependency cycle among {sorted(set(names) - done)}"
            )
    return order


def _check_ports(
    f: str, svc: Mapping[str, Any], ports_seen: dict[tuple[str, int, str], str], errors: list[str]
) -> None:
    ports = svc.get("ports")
    if ports is None:
        return
    if not isinstance(ports, list):
        errors.append(f"{f}.ports: {ports!r} must be a list of \"[ip:]host_port:container_port\" strings")
        return
    for j, port in enumerate(ports):
        m = PORT_RE.match(str(port)) if isinstance(port, str) else None
        if not m:
            errors.append(
                f"{f}.ports[{j}]: '{port}' must look like [ip:]host_port:container_port[/tcp|udp]"
            )
            continue
        hport = int(m.group("host"))
        if not 1 <= hport <= 65535 or not 1 <= int(m.group("container")) <= 65535:
            errors.append(f"{f}.ports[{j}]: '{port}' has a port outside 1-65535")
            continue
        ip = m.group("ip") or "0.0.0.0"
        proto = m.group("proto") or "tcp"
        for (oip, oport, oproto), owner in ports_seen.items():
            if oport == hport and oproto == proto and (oip == ip or "0.0.0.0" in (oip, ip)):
                errors.append(
                    f"{f}.ports[{j}]: host port {ip}:{hport}/{proto} already published by {owner}"
                )
                break
        ports_seen[(ip, hport, proto)] = f"{f} ({svc.get('name')})"


def _check_health(f: str, health: Any, errors: list[str]) -> None:
    errors.extend(health_contract.contract_errors(health, f"{f}.health"))


def _check_healthcheck(f: str, healthcheck: Any, errors: list[str]) -> None:
    if not isinstance(healthcheck, Mapping):
        errors.append(f"{f}.healthcheck: {healthcheck!r} must be a mapping (Docker's healthcheck: test, interval, ...)")
        return
    _unknown_keys(f"{f}.healthcheck", healthcheck, HEALTHCHECK_KEYS, errors)
    test = healthcheck.get("test")
    if test is not None and not (
        (isinstance(test, str) and test.strip())
        or (isinstance(test, list) and test and all(isinstance(t, str) for t in test))
    ):
        errors.append(f"{f}.healthcheck.test: {test!r} must be a command (a string or a list of strings)")
    retries = healthcheck.get("retries")
    if retries is not None and (not _is_int(retries) or retries < 0):
        errors.append(f"{f}.healthcheck.retries: '{retries}' must be an integer >= 0")


def _check_service(
    i: int,
    svc: Mapping[str, Any],
    ctx: dict[str, Any],
    errors: list[str],
) -> None:
    f = f"cutover_services[{i}]"
    _unknown_keys(f, svc, SERVICE_KEYS, errors)
    for key, what in SERVICE_REQUIRED.items():
        if key not in svc or svc[key] is None:
            errors.append(f"{f}.{key}: required ({what})")
    name = svc.get("name")
    if name is not None and (not isinstance(name, str) or not NAME_RE.match(name)):
        errors.append(f"{f}.name: '{name}' must match {NAME_RE.pattern}")
    elif isinstance(name, str) and name in ctx["seen"]:
        errors.append(
            f"{f}.name: duplicate service name '{name}' (also cutover_services[{ctx['seen'][name]}])"
        )
    elif isinstance(name, str):
        ctx["seen"][name] = i
    if "module" in svc:
        problem = _rel_path_problem(svc.get("module"))
        if problem:
            errors.append(f"{f}.module: {problem}")
    if "dockerfile" in svc:
        problem = _rel_path_problem(svc.get("dockerfile"))
        if problem:
            errors.append(f"{f}.dockerfile: {problem.replace('the source repo', 'the module dir')}")
    if "required" in svc and not isinstance(svc["required"], bool):
        errors.append(f"{f}.required: {svc['required']!r} must be true or false")
    if svc.get("image") is not None:
        problem = image_problem(svc.get("image"))
        if problem:
            errors.append(f"{f}.image: {problem}")
    cport = svc.get("container_port")
    if cport is not None and (not _is_int(cport) or not 1 <= cport <= 65535):
        errors.append(f"{f}.container_port: '{cport}' must be an integer 1-65535")
    _check_ports(f, svc, ctx["ports_seen"], errors)
    networks = _str_list(f"{f}.networks", svc.get("networks"), errors, "network names")
    for j, net in enumerate(networks):
        if ctx["networks"] and net not in ctx["networks"]:
            errors.append(
                f"{f}.networks[{j}]: '{net}' is not in cutover_required_networks (known: {_known(ctx['networks'])})"
            )
    env = _str_list(f"{f}.env", svc.get("env"), errors, "env key names")
    for j, key in enumerate(env):
        if key not in ctx["required_env"]:
            errors.append(
                f"{f}.env[{j}]: '{key}' is not in cutover_required_env (known: {_known(ctx['required_env'])})"
            )
    deps = _str_list(f"{f}.depends_on", svc.get("depends_on"), errors, "service names")
    for j, dep in enumerate(deps):
        if dep == name:
            errors.append(f"{f}.depends_on[{j}]: service '{name}' depends on itself")
        elif dep not in ctx["names"]:
            errors.append(f"{f}.depends_on: unknown service '{dep}' (known: {_known(ctx['names'])})")
    if svc.get("health") is not None:
        _check_health(f, svc["health"], errors)
    if svc.get("healthcheck") is not None:
        _check_healthcheck(f, svc["healthcheck"], errors)
    legacy = svc.get("legacy")
    if legacy is not None:
        if not isinstance(legacy, Mapping):
            errors.append(f"{f}.legacy: {legacy!r} must be a mapping with container and/or dir")
        else:
            _unknown_keys(f"{f}.legacy", legacy, LEGACY_KEYS, errors)
            container = legacy.get("container")
            if container is not None and (not isinstance(container, str) or not container.strip()):
                errors.append(f"{f}.legacy.container: '{container}' must be a container name")
            if legacy.get("dir") is not None:
                problem = _abs_path_problem(legacy["dir"], "the old source dir on the host")
                if problem:
                    errors.append(f"{f}.legacy.dir: {problem}")
    gates = svc.get("gates")
    if gates is not None and not isinstance(gates, Mapping):
        errors.append(f"{f}.gates: {gates!r} must be a mapping of gate name to command")
    elif isinstance(gates, Mapping):
        for gname, cmd in gates.items():
            if not isinstance(cmd, str) or not cmd.strip():
                errors.append(f"{f}.gates.{gname}: must be a non-empty command")


def _check_services(model: Mapping[str, Any], errors: list[str]) -> None:
    services = model.get("cutover_services")
    if not isinstance(services, list) or not services:
        errors.append("cutover_services: must be a non-empty list of services (mappings)")
        return
    ctx: dict[str, Any] = {
        "required_env": [str(k) for k in (model.get("cutover_required_env") or []) if isinstance(k, str)],
        "networks": [str(n) for n in (model.get("cutover_required_networks") or []) if isinstance(n, str)],
        "names": [str(s.get("name")) for s in services if isinstance(s, Mapping)],
        "seen": {},
        "ports_seen": {},
    }
    for i, svc in enumerate(services):
        if not isinstance(svc, Mapping):
            errors.append(f"cutover_services[{i}]: must be a mapping, got {type(svc).__name__}")
            continue
        _check_service(i, svc, ctx, errors)
    cycle = _cycle([s for s in services if isinstance(s, Mapping)])
    if cycle:
        errors.append(
            f"cutover_services[*].depends_on: dependency cycle {' -> '.join(cycle)}"
        )


def _check_migrations(model: Mapping[str, Any], required_env: list[str], errors: list[str]) -> None:
    migrations = model.get("cutover_migrations")
    if migrations is None:
        return
    if not isinstance(migrations, Mapping):
        errors.append(
            f"cutover_migrations: {migrations!r} must be a mapping (database, paths, lock_timeout_s) or {{}}"
        )
        return
    if not migrations:
        return
    _unknown_keys("cutover_migrations", migrations, MIGRATION_KEYS, errors)
    db = migrations.get("database")
    if not isinstance(db, Mapping):
        errors.append(
            "cutover_migrations.database: must be a mapping with env_key (and optional host, port)"
        )
    else:
        _unknown_keys("cutover_migrations.database", db, DATABASE_KEYS, errors)
        if db.get("env_key") not in required_env:
            errors.append(
                f"cutover_migrations.database.env_key: '{db.get('env_key')}' is not in cutover_required_env"
                f" (known: {_known(required_env)})"
            )
        host = db.get("host")
        if host is not None and (not isinstance(host, str) or not host.strip()):
            errors.append(f"cutover_migrations.database.host: '{host}' must be a host name or address")
        port = db.get("port")
        if port is not None and (not _is_int(port) or not 1 <= port <= 65535):
            errors.append(
                f"cutover_migrations.database.port: '{port}' must be an integer 1-65535"
            )
    paths = migrations.get("paths")
    if paths is not None and not isinstance(paths, list):
        errors.append(f"cutover_migrations.paths: {paths!r} must be a list of dirs in the source repo")
    for j, path in enumerate(paths if isinstance(paths, list) else []):
        problem = _rel_path_problem(path)
        if problem:
            errors.append(f"cutover_migrations.paths[{j}]: {problem}")
    ledger = migrations.get("ledger")
    if ledger is not None:
        if not isinstance(ledger, Mapping):
            errors.append(f"cutover_migrations.ledger: {ledger!r} must be a mapping with table and/or schema")
        else:
            _unknown_keys("cutover_migrations.ledger", ledger, LEDGER_KEYS, errors)
            for key in LEDGER_KEYS:
                value = ledger.get(key)
                if value is None or (key == "schema" and value == ""):
                    continue
                if not isinstance(value, str) or not SQL_IDENT_RE.match(value):
                    errors.append(
                        f"cutover_migrations.ledger.{key}: {value!r} must be a lowercase SQL identifier"
                        f" ({SQL_IDENT_RE.pattern})"
                    )
    lto = migrations.get("lock_timeout_s", 30)
    if not _is_int(lto) or lto < 1:
        errors.append(
            f"cutover_migrations.lock_timeout_s: '{lto}' must be an integer >= 1"
        )


def _check_scalars(model: Mapping[str, Any], errors: list[str]) -> None:
    project = model.get("cutover_project")
    if not isinstance(project, str) or not NAME_RE.match(project):
        errors.append(f"cutover_project: '{project}' must match {NAME_RE.pattern}")
    problem = _abs_path_problem(model.get("cutover_root"), "the state root on the host, e.g. /opt/cutover/<project>")
    if problem:
        errors.append(f"cutover_root: {problem}")
    ref = model.get("cutover_ref")
    if not isinstance(ref, str) or not ref.strip():
        errors.append(
            "cutover_ref: must be a non-empty git ref (tag, branch or commit)"
        )
    elif ref.startswith("-") or any(c.isspace() for c in ref):
        errors.append(f"cutover_ref: '{ref}' is not a valid git ref (no leading '-', no whitespace)")
    repo = model.get("cutover_source_repo")
    if not isinstance(repo, str) or not repo.strip():
        errors.append(
            "cutover_source_repo: must be the path of a git repository on the controller"
        )
    problem = _abs_path_problem(model.get("cutover_env_file"), "the env file on the host")
    if problem:
        errors.append(f"cutover_env_file: {problem}")
    retention = model.get("cutover_retention_releases")
    if not _is_int(retention) or retention < 1:
        errors.append(
            f"cutover_retention_releases: '{retention}' must be an integer >= 1"
        )
    disk = model.get("cutover_min_free_disk_mb")
    if not _is_int(disk) or disk < 0:
        errors.append(f"cutover_min_free_disk_mb: '{disk}' must be an integer >= 0")
    timeout = model.get("cutover_health_timeout_s")
    if not _is_int(timeout) or timeout < 1:
        errors.append(f"cutover_health_timeout_s: '{timeout}' must be an integer >= 1")
    strategy = model.get("cutover_swap_strategy")
    if strategy not in STRATEGIES:
        errors.append(
            f"cutover_swap_strategy: '{strategy}' must be one of: {', '.join(STRATEGIES)}"
        )
    run_id = model.get("cutover_run_id")
    if run_id is not None and (not isinstance(run_id, str) or not RUN_ID_RE.match(run_id)):
        errors.append(
            f"cutover_run_id: '{run_id}' must match {RUN_ID_RE.pattern} "
            "(a letter or digit, then up to 63 letters, digits, '.', '_' or '-'; it names a dir on the host)"
        )
    if "cutover_docker_host" in model:
        problem = docker_endpoint.docker_host_problem(model.get("cutover_docker_host"))
        if problem:
            errors.append(f"cutover_docker_host: {problem}")
    if any(k in model for k in ("cutover_canary_hosts", "cutover_batch_size", "cutover_fleet_on_failure")):
        errors.extend(
            fleet.cutover_fleet_errors(
                model.get("cutover_canary_hosts", 1),
                model.get("cutover_batch_size", 0),
                model.get("cutover_fleet_on_failure", "rollback_all"),
            )
        )
    base = model.get("cutover_base_image")
    if base is not None:
        problem = image_problem(base, allow_tag=True)
        if problem:
            errors.append(f"cutover_base_image: {problem}")


def cutover_model_errors(model: Mapping[str, Any]) -> list[str]:
    """Every problem of the model, each message starting with the field it is about."""
    errors: list[str] = []
    _check_scalars(model, errors)
    raw_required = model.get("cutover_required_env")
    if raw_required is None or not isinstance(raw_required, list):
        errors.append(f"cutover_required_env: {raw_required!r} must be a list of env key names")
        raw_required = []
    required_env: list[str] = []
    for j, key in enumerate(raw_required):
        if not isinstance(key, str) or not ENV_RE.match(key):
            errors.append(
                f"cutover_required_env[{j}]: '{key}' is not a valid env variable name ([A-Za-z_][A-Za-z0-9_]*)"
            )
        else:
            required_env.append(key)
    secret_env = model.get("cutover_secret_env")
    for j, key in enumerate(_str_list("cutover_secret_env", secret_env, errors, "env key names")):
        if key not in required_env:
            errors.append(
                f"cutover_secret_env[{j}]: '{key}' is not in cutover_required_env (known: {_known(required_env)})"
            )
    networks = model.get("cutover_required_networks")
    for j, net in enumerate(_str_list("cutover_required_networks", networks, errors, "network names")):
        if not NAME_RE.match(net.lower()):
            errors.append(
                f"cutover_required_networks[{j}]: '{net}' is not a valid network name (expected {NAME_RE.pattern})"
            )
    known_networks = [n for n in networks if isinstance(n, str)] if isinstance(networks, list) else []
    owned = model.get("cutover_owned_networks")
    for j, net in enumerate(_str_list("cutover_owned_networks", owned, errors, "network names")):
        if net not in known_networks:
            errors.append(
                f"cutover_owned_networks[{j}]: '{net}' is not in cutover_required_networks"
                f" (known: {_known(known_networks)}; list every network there, and here the ones the project creates)"
            )
    _check_services(model, errors)
    _check_migrations(model, required_env, errors)
    errors.extend(smoke_schema.smoke_check_errors(model.get("cutover_smoke_checks"), "cutover_smoke_checks"))
    _check_smoke_services(model, errors)
    _check_edge_ports(model, errors)
    return errors


def _check_edge_ports(model: Mapping[str, Any], errors: list[str]) -> None:
    """Blue/green: the edge proxy listens on each service's container_port, so every service
    needs one, and no two services may share it."""
    services = model.get("cutover_services")
    if model.get("cutover_swap_strategy") != "bluegreen" or not isinstance(services, list):
        return
    seen: dict[int, str] = {}
    for i, svc in enumerate(services):
        if not isinstance(svc, Mapping):
            continue
        port, name = svc.get("container_port"), svc.get("name")
        if port is None:
            errors.append(
                f"cutover_services[{i}].container_port: required with cutover_swap_strategy bluegreen"
                f" (the edge proxy listens on it for {name})"
            )
        elif _is_int(port) and port in seen:
            errors.append(
                f"cutover_services[{i}].container_port: {port} is also {seen[port]}'s; with cutover_swap_strategy"
                " bluegreen one edge proxy listens for every service, so each needs its own container_port"
            )
        elif _is_int(port):
            seen[port] = str(name)


def _check_smoke_services(model: Mapping[str, Any], errors: list[str]) -> None:
    """A smoke check's `service` names a service of the inventory (it is skipped when that
    service is not in the release being checked)."""
    checks, services = model.get("cutover_smoke_checks"), model.get("cutover_services")
    if not isinstance(checks, list) or not isinstance(services, list):
        return
    names = [s.get("name") for s in services if isinstance(s, Mapping)]
    for i, check in enumerate(checks):
        service = check.get("service") if isinstance(check, Mapping) else None
        if isinstance(service, str) and service.strip() and service not in names:
            errors.append(f"cutover_smoke_checks[{i}].service: unknown service '{service}' (known: {_known(names)})")


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict[str, Any]:
        return {
            "cutover_model_errors": cutover_model_errors,
            "cutover_service_order": cutover_service_order,
        }
