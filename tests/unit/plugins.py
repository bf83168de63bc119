"""Load a role's filter plugin or module file by path, as Ansible does (they are not a package)."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

ROLES = Path(__file__).resolve().parents[2] / "roles"


def load(name: str, path: Path) -> ModuleType:
    """Import the file at ``path`` as module ``name`` (kept in sys.modules for dataclasses)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_module(name: str, path: Path) -> ModuleType:
    """Import a role's module (roles/<role>/library/<m>.py) after the module_utils its role ships,
    as ansible.module_utils.<name>, as Ansible does: a test file then runs on its own."""
    for util in sorted((path.parent.parent / "module_utils").glob("*.py")):
        load(f"ansible.module_utils.{util.stem}", util)
    return load(name, path)


@contextmanager
def fake_engine(routes: Mapping[str, tuple[int, Any]]) -> Iterator[str]:
    """A fake Docker Engine API over tcp answering GET ``path`` with ``routes[path]`` (status,
    JSON body), else 404 {"message": ...}; yields its docker_host (tcp://127.0.0.1:<port>)."""

    class Engine(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = routes.get(self.path, (404, {"message": "no such thing"}))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Engine)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
