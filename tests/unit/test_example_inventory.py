"""inventory/example (the model of a real host's inventory) must stay valid: it is loaded the way
Ansible and the wrapper load it (`ansible-inventory --list`, untemplated) and its docker host's
variables go through the validator every phase runs first (roles/cutover_validate:
filter_plugins/cutover_model.py, then meta/argument_specs.yml as the second net). It also keeps
the variable names of inventory/lab, SSH with host key checking on as a normal user with
become, and placeholder addresses only.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from tests.unit.plugins import load

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "inventory" / "example"
LAB = ROOT / "inventory" / "lab"
VALIDATE = ROOT / "roles" / "cutover_validate"
ANSIBLE_INVENTORY = ROOT / ".venv" / "bin" / "ansible-inventory"
DOC_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]


model_filter = load("cutover_model", VALIDATE / "filter_plugins" / "cutover_model.py")


@cache
def inventory_json() -> dict[str, Any]:
    proc = subprocess.run(
        [str(ANSIBLE_INVENTORY), "-i", str(EXAMPLE), "--list"],
        cwd=ROOT,
        env=os.environ | {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    # Ansible warns (and still exits 0) for a file of the inventory dir it cannot parse.
    assert "WARNING" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def docker_hosts() -> dict[str, dict[str, Any]]:
    data = inventory_json()
    hosts = data["docker_hosts"]["hosts"]
    assert hosts, "inventory/example has no host in group docker_hosts"
    return {h: data["_meta"]["hostvars"][h] for h in hosts}


def model_keys() -> list[str]:
    """The variables roles/cutover_validate/tasks/main.yml hands to cutover_model_errors."""
    text = (VALIDATE / "tasks" / "main.yml").read_text()
    block = text[text.index("cutover_validate_errors: >-") : text.index("| cutover_model_errors")]
    keys = re.findall(r"'(cutover_\w+)':", block)
    assert "cutover_services" in keys
    return keys


def model(hostvars: dict[str, Any]) -> dict[str, Any]:
    """What the validator sees: the role's defaults, then the host's variables; no run id."""
    merged = yaml.safe_load((ROOT / "roles" / "cutover_defaults" / "defaults" / "main.yml").read_text()) | hostvars
    return {key: merged.get(key) for key in model_keys()}


def spec_options() -> dict[str, Any]:
    specs = yaml.safe_load((VALIDATE / "meta" / "argument_specs.yml").read_text())
    return specs["argument_specs"]["model"]["options"]


def group_vars_names(inventory: Path) -> set[str]:
    names: set[str] = set()
    for path in (inventory / "group_vars" / "docker_hosts").glob("*.yml"):
        names |= set(yaml.safe_load(path.read_text()) or {})
    return names


def test_the_example_passes_the_validator() -> None:
    for host, hostvars in docker_hosts().items():
        assert model_filter.cutover_model_errors(model(hostvars)) == [], host


def test_the_example_passes_the_argument_specs() -> None:
    options = spec_options()
    for host, hostvars in docker_hosts().items():
        given = {k: v for k, v in hostvars.items() if k in options}
        result = ArgumentSpecValidator(options).validate(given)
        assert result.error_messages == [], host


def test_the_example_sets_the_lab_variables_and_no_unknown_one() -> None:
    lab, example = group_vars_names(LAB), group_vars_names(EXAMPLE)
    assert lab - example == set(), "variables of inventory/lab missing from inventory/example"
    known = set(spec_options())
    for defaults in ROOT.glob("roles/cutover_*/defaults/main.yml"):
        known |= set(yaml.safe_load(defaults.read_text()) or {})
    texts = "".join(p.read_text() for p in (EXAMPLE / "group_vars").rglob("*.yml"))
    helpers = set(re.findall(r"\{\{\s*(cutover_\w+)", texts))  # inventory-local, used by the inventory itself
    assert {n for n in example if n.startswith("cutover_")} - known - helpers == set()


def test_the_host_is_reached_over_ssh_with_host_key_checking_as_a_sudo_user() -> None:
    for host, hv in docker_hosts().items():
        assert hv["ansible_user"] not in ("root", ""), host
        assert hv["ansible_become"] is True, host
        assert hv["ansible_host_key_checking"] is True, host
        args = hv["ansible_ssh_common_args"]
        assert "StrictHostKeyChecking=yes" in args, host
        known_hosts = re.search(r"UserKnownHostsFile=(\S+)", args)
        assert known_hosts, host
        # not inside the inventory dir: Ansible would read it as inventory
        assert "inventory_dir" not in known_hosts.group(1), host
        assert hv["ansible_ssh_private_key_file"], host


def test_the_example_names_placeholder_addresses_only() -> None:
    for host, hv in docker_hosts().items():
        address = str(hv["ansible_host"])
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            assert address.endswith((".example", ".example.internal", ".example.com", ".invalid")), host
        else:
            assert any(ip in net for net in DOC_NETS), f"{host}: {address} is not a documentation address"
