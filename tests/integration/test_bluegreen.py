"""Blue/green on the mint lab (`cutover run --strategy bluegreen`), from the old layout the lab
starts in (legacy containers that publish their ports themselves):

1. the first bluegreen cutover hands the ports over to the edge proxy mint-edge, once, and
   prints how long the ports were not served; the legacy containers are kept, stopped;
2. a broken release is swapped in behind the edge and rolled back by a flip: the downtime
   prober on the host sees no failed request, every service serves release-new again and the
   rows are still there;
3. a cutover to release-old whose verify fails (a smoke check that never passes): the rescue
   flips the traffic back to release-new's containers at once, before the rollback play;
4. `cutover rollback` goes back to release-old, which ran in the old layout: the edge proxy keeps
   the ports and release-old's images run behind it, each in a copy of its kept container's
   configuration without the published port (<service>--<release>.b).

The tests of this file run in order and build on each other (one lab, one history).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, PsqlRunner, health, host_docker, make, run
from tests.integration.test_cli import CliRun, cutover
from tests.integration.test_faults import variant

pytestmark = pytest.mark.integration

PORTS = {"files-api": 3500, "order-intake": 3400, "quote-page": 3341}
IMAGES = {"files-api": "mint-modules/artwork", "order-intake": "mint-modules/order-intake",
          "quote-page": "mint-modules/quote-page"}  # fmt: skip
LEGACY = {"files-api": "mint-artwork", "quote-page": "mint-quote-page"}


def serving(service: str) -> list[str]:
    """Names of the running containers the cutover made for a service on the host."""
    proc = host_docker("ps", "--filter", f"label=cutover.service={service}", "--filter", "label=cutover.project=mint",
                       "--format", "{{.Names}} {{.Image}}")  # fmt: skip
    return proc.stdout.splitlines()


def status_of(name: str) -> str:
    proc = host_docker("inspect", "-f", "{{.Config.Image}} {{.State.Status}}", name, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def bg_run(receipts: Path, *args: str) -> CliRun:
    proc = cutover(*args, "--receipts-dir", str(receipts))
    return CliRun(proc.returncode, proc.stdout, proc.stderr, receipts)


def explain(result: CliRun) -> str:
    return result.stdout[-5000:] + result.stderr[-2000:]


def swap_result(result: CliRun) -> dict:  # type: ignore[type-arg]
    return next(d for d in result.docs() if d["phase"] == "swap")["result"]


@pytest.fixture(scope="module")
def handover(lab: Path, tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    make("lab-reset")
    return bg_run(tmp_path_factory.mktemp("bg-handover"), "run", "--strategy", "bluegreen")


@pytest.fixture(scope="module")
def broken(handover: CliRun, releases: dict[str, dict[str, str]], psql: PsqlRunner,
           tmp_path_factory: pytest.TempPathFactory) -> tuple[CliRun, str]:  # fmt: skip
    rows = psql("SELECT count(*) FROM artwork_seeds")
    return bg_run(tmp_path_factory.mktemp("bg-broken"), "run", "--strategy", "bluegreen",
                  "--ref", releases["broken"]["tag"]), rows  # fmt: skip


@pytest.fixture(scope="module")
def verify_fails(broken: tuple[CliRun, str], tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    """release-new -> release-old behind the edge with a smoke check that never passes: the swap
    passes (files-api and quote-page flip to release-old, order-intake is retired), verify fails."""
    host = run([str(REPO_ROOT / ".venv" / "bin" / "ansible-inventory"), "--host", "docker-host"]).stdout
    checks = [*json.loads(host)["cutover_smoke_checks"], {
        "name": "a check release-old never passes", "method": "GET", "url": "http://127.0.0.1:3341/health",
        "status": 200, "json": {"status": "never-this"}}]  # fmt: skip
    inv = variant("bg-smokefail", group_vars={"cutover_smoke_checks": checks})
    return bg_run(tmp_path_factory.mktemp("bg-verify-fails"), "run", "-i", str(inv), "--strategy", "bluegreen",
                  "--ref", "release-old", "--phase", "build", "--phase", "migrate", "--phase", "swap",
                  "--phase", "verify")  # fmt: skip


@pytest.fixture(scope="module")
def back_to_old(verify_fails: CliRun, tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    return bg_run(tmp_path_factory.mktemp("bg-rollback"), "rollback")


def test_the_first_bluegreen_cutover_hands_the_ports_over_to_the_edge_proxy(
    handover: CliRun, releases: dict[str, dict[str, str]]
) -> None:
    assert handover.code == 0, explain(handover)
    old, new = releases["old"]["sha"], releases["new"]["sha"]
    for service, image in IMAGES.items():
        assert serving(service) == [f"{service}--{new} {image}:{new}"], service
        code, body = health(PORTS[service])
        assert code == 200 and body.get("status") == "ok", (service, body)
    assert status_of("mint-edge").endswith(" running")
    for service, legacy in LEGACY.items():  # the old layout's containers, kept for the way back
        assert status_of(f"{service}--{old}") == f"{IMAGES[service]}:{old} exited", service
        assert status_of(legacy) == "", legacy
    assert "hand-over to the edge proxy: ports not served for" in handover.stdout
    swap = swap_result(handover)
    assert 0 < swap["handover_s"] < 10, swap["handover_s"]  # stopping two containers and starting the edge
    assert swap["strategy"] == "bluegreen"
    assert {s["name"]: s["action"] for s in swap["services"]} == {
        "files-api": "replaced", "order-intake": "added", "quote-page": "replaced"}  # fmt: skip


def test_a_broken_release_behind_the_edge_rolls_back_by_a_flip_with_no_failed_request(
    broken: tuple[CliRun, str], releases: dict[str, dict[str, str]], psql: PsqlRunner
) -> None:
    result, rows_before = broken
    assert result.code == 3, explain(result)
    new = releases["new"]["sha"]
    for service, image in IMAGES.items():
        assert serving(service) == [f"{service}--{new} {image}:{new}"], service
    downtime = swap_result(result)["downtime"]
    assert downtime, "no downtime figures"
    for service, figures in downtime.items():
        assert figures["failed"] == 0 and figures["longest_gap_s"] == 0, (service, figures)
    rollback = next(d for d in result.docs() if d["phase"] == "rollback")["result"]
    assert rollback["outcome"] == "rolled_back", rollback
    assert psql("SELECT count(*) FROM artwork_seeds") == rows_before
    broken_sha = releases["broken"]["sha"]
    leftovers = host_docker("ps", "-a", "--filter", f"name=--{broken_sha}", "--format", "{{.Names}}").stdout.split()
    assert leftovers == [], leftovers  # the failed containers are removed (their log lines kept)


def test_a_failed_verify_behind_the_edge_flips_traffic_back_at_once_then_rolls_back(
    verify_fails: CliRun, releases: dict[str, dict[str, str]]
) -> None:
    assert verify_fails.code == 3, explain(verify_fails)
    assert "a check release-old never passes" in verify_fails.stdout
    old, new = releases["old"]["sha"], releases["new"]["sha"]
    for service, image in IMAGES.items():  # order-intake too: release-old lacks it, the rollback restores it
        assert serving(service) == [f"{service}--{new} {image}:{new}"], service
        code, body = health(PORTS[service])
        assert code == 200 and body.get("status") == "ok", (service, body)
    verify = next(d for d in verify_fails.docs() if d["phase"] == "verify")["result"]
    assert verify["flipped_back"] == ["files-api", "quote-page"], verify  # in the rescue, before the rollback play
    for service in LEGACY:  # release-old ran as <service>--<old>.b: the kept old-layout container keeps its name
        assert status_of(f"{service}--{old}") == f"{IMAGES[service]}:{old} exited", service
        assert status_of(f"{service}--{old}.b") == "", service  # the failed containers are removed
    rollback = next(d for d in verify_fails.docs() if d["phase"] == "rollback")["result"]
    assert rollback["outcome"] == "rolled_back", rollback


def test_rolling_back_to_a_release_of_the_old_layout_runs_its_image_behind_the_edge_proxy(
    back_to_old: CliRun, releases: dict[str, dict[str, str]]
) -> None:
    assert back_to_old.code == 0, explain(back_to_old)
    old, new = releases["old"]["sha"], releases["new"]["sha"]
    assert status_of("mint-edge").endswith(" running")  # the edge keeps the ports: the way back is a flip
    for service, legacy in LEGACY.items():
        assert serving(service) == [f"{service}--{old}.b {IMAGES[service]}:{old}"], service
        assert status_of(legacy) == "", legacy
        assert status_of(f"{service}--{old}") == f"{IMAGES[service]}:{old} exited", service  # kept as it was
        assert status_of(f"{service}--{new}") == f"{IMAGES[service]}:{new} exited", service  # kept for the way back
        ports = json.loads(host_docker("inspect", "-f", "{{json .HostConfig.PortBindings}}",
                                       f"{service}--{old}.b").stdout)  # fmt: skip
        assert not ports, ports  # the clone publishes nothing
        code, body = health(PORTS[service])
        assert code == 200 and body.get("status") == "ok", (service, body)
    assert serving("order-intake") == []  # release-old has no order-intake
    live = json.loads(host_docker("exec", "mint-edge", "cutover-edge", "show").stdout)["services"]
    assert live["files-api"]["live"] == f"files-api--{old}.b:3500", live
    recert = next(d for d in back_to_old.docs() if d["phase"] == "recert")["result"]
    assert recert["drift"] == [], recert
