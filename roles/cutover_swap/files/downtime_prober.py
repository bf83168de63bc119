#!/usr/bin/env python3
"""Downtime prober: requests every service's health URL every ~50 ms until told to stop.

Written to the docker host and started there by prober_start.sh during the swap, so the URLs are
the addresses the host sees. Stops when the stop file appears, on SIGTERM/SIGINT, or after
--max-duration; then writes JSON {"duration_s", "services": {svc: {requests, failed,
longest_gap_s, slowest_s, still_down, reasons}}} to --out (atomically). With --pid-file it writes its pid there
once the first round of requests is done (so the caller knows it measures) and removes it
when it ends. A request fails unless it gets a 2xx within --timeout (2 s: a client's patience,
not a latency target; a slow answer is reported as slowest_s, not as a failure, so a loaded
host does not read as an outage). A gap is the time from the start of the first failed request
to the next successful answer; reasons counts the failed requests by why they failed ("HTTP 503",
"connection refused", "no answer within 2 s", ...; never a body). A service that did not exist
before the swap counts its own unavailability only after it first answered. Stdlib only, so any
Python 3.8+ runs it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import time
import urllib.error
import urllib.request
from typing import Any


class Probe:
    def __init__(self, url: str, existed: bool) -> None:
        self.url = url
        self.counting = existed  # new services start counting after their first success
        self.requests = 0
        self.failed = 0
        self.longest_gap = 0.0
        self.slowest = 0.0
        self.down_since: float | None = None
        self.reasons: dict[str, int] = {}

    def record(self, failure: str | None, sent: float, now: float) -> None:
        """failure: None for a 2xx answer, else why the request failed."""
        if not self.counting:
            if failure is not None:
                return
            self.counting = True
        self.requests += 1
        if failure is None:
            self.slowest = max(self.slowest, now - sent)
            if self.down_since is not None:
                self.longest_gap = max(self.longest_gap, now - self.down_since)
                self.down_since = None
            return
        self.failed += 1
        self.reasons[failure] = self.reasons.get(failure, 0) + 1
        if self.down_since is None:
            self.down_since = sent

    def finish(self, now: float) -> dict[str, Any]:
        if self.down_since is not None:
            self.longest_gap = max(self.longest_gap, now - self.down_since)
        return {
            "requests": self.requests,
            "failed": self.failed,
            "longest_gap_s": round(self.longest_gap, 3),
            "slowest_s": round(self.slowest, 3),
            "still_down": self.down_since is not None,
            "reasons": dict(sorted(self.reasons.items())),
        }


def failure_of(url: str, timeout: float) -> str | None:
    """None when url answers 2xx within timeout, else why not (a status or an error's kind, never a body)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return None if 200 <= response.status < 300 else f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except urllib.error.URLError as exc:
        return describe_error(exc.reason, timeout)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return describe_error(exc, timeout)


def describe_error(error: object, timeout: float) -> str:
    # socket.timeout is TimeoutError from Python 3.10 on, an OSError called "timeout" before
    if isinstance(error, TimeoutError) or error.__class__.__name__ == "timeout":
        return f"no answer within {timeout:g} s"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ConnectionResetError):
        return "connection reset"
    if isinstance(error, http.client.RemoteDisconnected):
        return "closed without an answer"
    return error.__class__.__name__ if isinstance(error, BaseException) else str(error)


def write_atomically(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--services",
        required=True,
        help='JSON {"svc": {"url": "...", "existed": true}}',
    )
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--max-duration", type=float, default=900.0)
    parser.add_argument("--pid-file", default="")
    args = parser.parse_args()
    stop = {"signal": 0}

    def on_signal(signum: int, _frame: object) -> None:
        stop["signal"] = signum

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    spec: dict[str, dict[str, Any]] = json.loads(args.services)
    probes = {
        name: Probe(str(s["url"]), bool(s.get("existed", True)))
        for name, s in spec.items()
    }
    for stale in (args.stop_file, args.out):  # left by an earlier attempt of the same run
        if os.path.exists(stale):
            os.unlink(stale)
    deadline = time.monotonic() + args.max_duration
    started = time.monotonic()
    rounds = 0
    # Its scratch directory gone (removed by a reset or by hand) means nobody will read its figures.
    workdir = os.path.dirname(os.path.abspath(args.out))

    def measuring() -> bool:
        return not stop["signal"] and not os.path.exists(args.stop_file) and time.monotonic() < deadline

    while measuring() and os.path.isdir(workdir):
        tick = time.monotonic()
        for probe in probes.values():
            sent = time.monotonic()
            probe.record(failure_of(probe.url, args.timeout), sent, time.monotonic())
        rounds += 1
        if rounds == 1 and args.pid_file:
            write_atomically(args.pid_file, f"{os.getpid()}\n")
        time.sleep(max(0.0, args.interval - (time.monotonic() - tick)))
    if not os.path.isdir(workdir):
        return 0
    now = time.monotonic()
    result = {name: probe.finish(now) for name, probe in probes.items()}
    document = {"duration_s": round(now - started, 3), "rounds": rounds, "services": result}
    write_atomically(args.out, json.dumps(document, indent=2, sort_keys=True) + "\n")
    if args.pid_file and os.path.exists(args.pid_file):
        os.unlink(args.pid_file)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
