"""Where things are: the repo root, the inventory, and the safe facts we read from it."""

from __future__ import annotations

import configparser
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML comes with ansible-core; no stubs installed

from .health_contract import contract_of


def _phases() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The phase order and the phases that change the host, from the one definition
    (roles/cutover_defaults/vars/main.yml; phases.yml beside this module links to it)."""
    data = yaml.safe_load(Path(__file__).with_name("phases.yml").read_text(encoding="utf-8"))
    return tuple(data["cutover_phase_order"]), tuple(data["cutover_changing_phases"])


PHASES, CHANGING = _phases()


class InputError(Exception):
    """Bad input: the message names the field and what was expected."""


def repo_root() -> Path:
    """``$CUTOVER_HOME`` if set, else the checkout this package lives in."""
    env = os.environ.get("CUTOVER_HOME")
    if env:
        root = Path(env).resolve()
        if not (root / "playbooks").is_dir():
            raise InputError(f"CUTOVER_HOME: expected a cutover checkout with playbooks/, got {root}")
        return root
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "playbooks").is_dir() and (parent / "ansible.cfg").is_file():
            return parent
    raise InputError("CUTOVER_HOME: not set and the package is not inside a cutover checkout; set it")


def tool(name: str) -> str:
    """An Ansible executable: beside this interpreter (the venv) first, then PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise InputError(f"{name}: not found beside {sys.executable} nor on PATH; run scripts/setup.sh")
    return found


# Host key checking, as Ansible resolves it: each connection plugin reads these environment
# variables (the last one set wins) before its ansible.cfg keys; inventory variables
# (ansible_host_key_checking, ansible_ssh_host_key_checking) beat both.
_HKC_ENV = {
    "ssh": ("ANSIBLE_HOST_KEY_CHECKING", "ANSIBLE_SSH_HOST_KEY_CHECKING"),
    "paramiko": (
        "ANSIBLE_HOST_KEY_CHECKING",
        "ANSIBLE_SSH_HOST_KEY_CHECKING",
        "ANSIBLE_PARAMIKO_HOST_KEY_CHECKING",
    ),
}
_HKC_INI = {"ssh": ("defaults", "ssh_connection"), "paramiko": ("defaults", "paramiko_connection")}
_TRUE = frozenset(("y", "yes", "on", "1", "true", "t"))
_FALSE = frozenset(("n", "no", "off", "0", "false", "f"))


def _ansible_bool(value: str | None) -> bool | None:
    if value is None:
        return None
    text = value.strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def _cfg_host_key_checking(cfg: Path) -> dict[str, bool]:
    """``host_key_checking`` per ansible.cfg section that sets it (unreadable file: none)."""
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",), interpolation=None, strict=False)
    try:
        parser.read(cfg, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return {}
    out: dict[str, bool] = {}
    for section in ("defaults", "ssh_connection", "paramiko_connection"):
        value = _ansible_bool(parser.get(section, "host_key_checking", fallback=None))
        if value is not None:
            out[section] = value
    return out


def host_key_checking_env(cfg: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The host-key-checking variables that make an ansible-runner child check host keys exactly
    as a plain ``ansible-playbook`` with this ansible.cfg and this environment would.

    ansible-runner sets ``ANSIBLE_HOST_KEY_CHECKING=False`` when the variable is absent, and
    Ansible's ssh plugin then puts ``-o StrictHostKeyChecking=no`` on the ssh command line
    *before* the inventory's ``ansible_ssh_common_args``: ssh keeps the first value, so the
    inventory's ``StrictHostKeyChecking=yes`` (and a known_hosts mismatch) would be ignored.
    Here every plugin's effective value is computed the way Ansible does (the operator's
    environment, then the plugin's ansible.cfg section, then ``[defaults]``, then Ansible's
    default: on) and passed explicitly. Inventory variables still win over all of it.
    """
    ini = _cfg_host_key_checking(cfg)

    def effective(plugin: str) -> bool:
        for name in reversed(_HKC_ENV[plugin]):
            value = _ansible_bool(environ.get(name))
            if value is not None:
                return value
        for section in reversed(_HKC_INI[plugin]):
            if section in ini:
                return ini[section]
        return True

    generic = _ansible_bool(environ.get("ANSIBLE_HOST_KEY_CHECKING"))
    if generic is None:
        generic = ini.get("defaults", True)
    return {
        "ANSIBLE_HOST_KEY_CHECKING": str(generic),
        "ANSIBLE_SSH_HOST_KEY_CHECKING": str(effective("ssh")),
        "ANSIBLE_PARAMIKO_HOST_KEY_CHECKING": str(effective("paramiko")),
    }


MITOGEN_SWITCH = "CUTOVER_MITOGEN"
_ON, _OFF = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def mitogen_strategy_dir() -> Path | None:
    """The strategy plugins of Mitogen for Ansible installed beside this interpreter, if any."""
    spec = importlib.util.find_spec("ansible_mitogen")
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / "plugins" / "strategy"


def mitogen_env(
    environ: Mapping[str, str], locate: Callable[[], Path | None] = mitogen_strategy_dir
) -> dict[str, str]:
    """Mitogen for Ansible, behind the switch ``CUTOVER_MITOGEN=1`` (off by default): one
    Python per host kept for the whole run instead of one per task, the same tasks and modules.
    ``locate`` finds its strategy plugins (only asked when the switch is on)."""
    value = environ.get(MITOGEN_SWITCH, "").strip().lower()
    if value in _OFF:
        return {}
    if value not in _ON:
        raise InputError(f"{MITOGEN_SWITCH}: expected 1 (Mitogen for Ansible on) or 0 (off), got {value!r}")
    found = locate()
    if found is None or not found.is_dir():
        raise InputError(
            f"{MITOGEN_SWITCH}=1: Mitogen for Ansible (the mitogen package) is not installed beside "
            f"{sys.executable}; run scripts/setup.sh (requirements.txt pins it) or unset {MITOGEN_SWITCH}"
        )
    return {"ANSIBLE_STRATEGY_PLUGINS": str(found), "ANSIBLE_STRATEGY": "mitogen_linear"}


def ansible_env(root: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for Ansible child processes: the repo's ansible.cfg, the venv's tools,
    host key checking as ansible.cfg / the operator's environment say (never runner's "off"),
    and Mitogen when the operator switched it on (``mitogen_env``)."""
    environ = os.environ if environ is None else environ
    bindir = str(Path(sys.executable).parent)
    path = environ.get("PATH", "")
    cfg = root / "ansible.cfg"
    return {
        "ANSIBLE_CONFIG": str(cfg),
        "PATH": bindir + (os.pathsep + path if path else ""),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        **host_key_checking_env(cfg, environ),
        **mitogen_env(environ),
    }


@dataclass
class InventoryFacts:
    """Only the names and layout we need; never secret values."""

    path: Path
    project: str = "project"
    hosts: dict[str, str] = field(default_factory=dict)
    secret_env: list[str] = field(default_factory=list)
    smoke_key_names: list[str] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)
    ref: str = ""
    root_dir: str = ""

    def summary(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "project": self.project,
            "hosts": self.hosts,
            "services": self.services,
            "ref": self.ref,
            "root": self.root_dir,
        }


_SERVICE_FIELDS = ("name", "module", "image", "ports", "container_port", "networks", "depends_on", "legacy")


def facts_from_inventory_json(path: Path, data: dict[str, Any]) -> InventoryFacts:
    """Pure: ``ansible-inventory --list`` output -> InventoryFacts."""
    hostvars: dict[str, dict[str, Any]] = (data.get("_meta") or {}).get("hostvars") or {}
    docker_hosts = (data.get("docker_hosts") or {}).get("hosts") or list(hostvars)
    facts = InventoryFacts(path=path)
    for host in docker_hosts:
        hv = hostvars.get(host, {})
        address = str(hv.get("ansible_host", host))
        port = hv.get("ansible_port")
        facts.hosts[host] = f"{address}:{port}" if port else address
        facts.project = str(hv.get("cutover_project", facts.project))
        facts.secret_env = [str(x) for x in hv.get("cutover_secret_env") or facts.secret_env]
        # The keyed smoke checks read their keys on the host (cutover_env_file); their names are
        # the checks' requires_keys, plus any name of the (off by default) cutover_smoke_api_keys
        # override. The redactor masks the values of these names wherever it knows them.
        names: list[str] = []
        for check in hv.get("cutover_smoke_checks") or []:
            if isinstance(check, dict) and isinstance(check.get("requires_keys"), list):
                names.extend(str(k) for k in check["requires_keys"])
        keys = hv.get("cutover_smoke_api_keys") or {}
        if isinstance(keys, dict):
            names.extend(str(k) for k in keys)
        if names:
            facts.smoke_key_names = sorted(set(names))
        facts.ref = str(hv.get("cutover_ref", facts.ref))
        facts.root_dir = str(hv.get("cutover_root", facts.root_dir))
        services = hv.get("cutover_services") or []
        if isinstance(services, list) and services:
            facts.services = [
                {k: svc.get(k) for k in _SERVICE_FIELDS if k in svc}
                | {"health_url": (svc.get("health") or {}).get("url")}
                # the health contract every gate uses (health_contract.contract_of): status and
                # the documents judge and show a service's answer by it
                | ({"health": contract_of(svc["health"])} if isinstance(svc.get("health"), dict) else {})
                for svc in services
                if isinstance(svc, dict)
            ]
    return facts


def resolve_inventory(root: Path, inventory: str | None, option: str = "--inventory") -> Path:
    raw = inventory or "inventory/lab"
    path = Path(raw)
    if not path.is_absolute():
        cwd_path = Path.cwd() / path
        path = cwd_path if cwd_path.exists() else root / path
    path = path.resolve()
    if not path.exists():
        raise InputError(f"{option}: expected an inventory file or directory, {raw!r} does not exist")
    return path


def load_inventory(root: Path, inventory: Path) -> InventoryFacts:
    """Read names from the inventory via ``ansible-inventory --list`` (no templating)."""
    env = dict(os.environ) | ansible_env(root)
    proc = subprocess.run(
        [tool("ansible-inventory"), "-i", str(inventory), "--list"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if proc.returncode != 0:
        raise InputError(f"--inventory {inventory}: ansible-inventory failed: {proc.stderr.strip()[-400:]}")
    try:
        data = json.loads(proc.stdout)
    except ValueError as exc:
        raise InputError(f"--inventory {inventory}: ansible-inventory printed no JSON ({exc})") from exc
    return facts_from_inventory_json(inventory, data)


def package_commit(root: Path) -> str:
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=False, timeout=10
        )
    except OSError:
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""
