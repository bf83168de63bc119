#!/usr/bin/python
"""Append one line to the audit log: O_APPEND, never a rewrite of what is there."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cutover_audit
short_description: Append one JSON line to an append-only audit log
description:
  - Opens the file with O_APPEND (created with the given mode when missing), writes the line
    and a newline in one write, and fsyncs. Earlier lines are never read or rewritten.
options:
  path:
    description: The audit log.
    type: path
    required: true
  line:
    description: The line to append (one line; a newline inside is refused).
    type: str
    required: true
  mode:
    description: Permissions of a new file.
    type: str
    default: "0640"
author: cutover
"""

import os

from ansible.module_utils.basic import AnsibleModule


def append_line(path: str, line: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "line": {"type": "str", "required": True},
            "mode": {"type": "str", "default": "0640"},
        },
        supports_check_mode=True,
    )
    line = module.params["line"]
    if "\n" in line or "\r" in line:
        module.fail_json(msg="line: expected a single line (no newline)")
    if not module.check_mode:
        try:
            append_line(module.params["path"], line, int(module.params["mode"], 8))
        except OSError as exc:
            module.fail_json(msg=f"cannot append to {module.params['path']}: {exc}")
    module.exit_json(changed=True, path=module.params["path"])


if __name__ == "__main__":
    main()
