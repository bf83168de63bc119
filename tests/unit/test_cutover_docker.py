"""Unit tests of the cutover_docker_api filter (roles/cutover_common/filter_plugins/cutover_docker.py)."""

from __future__ import annotations

import pytest

from tests.unit.plugins import ROLES, load

docker = load("cutover_docker", ROLES / "cutover_common" / "filter_plugins" / "cutover_docker.py")
api = docker.cutover_docker_api


def test_the_default_is_the_local_socket() -> None:
    for host in (None, "", "unix:///var/run/docker.sock"):
        assert api(host, ["containers", "files-api", "stop"], {"t": 10}) == {
            "url": "http://localhost/containers/files-api/stop?t=10",
            "unix_socket": "/var/run/docker.sock",
        }


def test_another_socket_path() -> None:
    assert api("unix:///run/user/1000/docker.sock", "/version") == {
        "url": "http://localhost/version",
        "unix_socket": "/run/user/1000/docker.sock",
    }


@pytest.mark.parametrize(
    ("host", "base"),
    [
        ("tcp://10.0.0.5:2375", "http://10.0.0.5:2375"),
        ("tcp://docker-1.example.com:2375/", "http://docker-1.example.com:2375"),
        ("tcp://[::1]:2375", "http://[::1]:2375"),
    ],
)
def test_tcp_is_a_url_without_socket(host: str, base: str) -> None:
    assert api(host, ["containers", "x", "logs"], {"stdout": True, "stderr": 1, "tail": 20}) == {
        "url": base + "/containers/x/logs?stdout=1&stderr=1&tail=20",
        "unix_socket": None,
    }


def test_segments_and_query_values_are_percent_encoded() -> None:
    got = api(None, ["containers", "a b/../c?d#e", "rename"], {"name": "x y&z=1"})
    assert got["url"] == "http://localhost/containers/a%20b%2F..%2Fc%3Fd%23e/rename?name=x%20y%26z%3D1"
    # a name that needs nothing stays as it is (the usual case: Docker names are [a-zA-Z0-9_.-])
    assert api(None, ["containers", "files-api--0ce4de6", "rename"], {"name": "mint-artwork"})["url"] == (
        "http://localhost/containers/files-api--0ce4de6/rename?name=mint-artwork"
    )


def test_a_none_query_value_is_left_out() -> None:
    assert api(None, ["containers", "x", "stop"], {"t": None})["url"] == "http://localhost/containers/x/stop"
    assert api(None, ["containers", "x", "start"], {})["url"] == "http://localhost/containers/x/start"


@pytest.mark.parametrize(
    ("host", "expect"),
    [
        ("/var/run/docker.sock", "no scheme"),
        ("unix://var/run/docker.sock", "must be absolute"),
        ("unix:///var/run/../docker.sock", "must be normalised"),
        ("unix:///", "must be normalised"),
        ("tcp://host", "is not tcp://host:port"),
        ("tcp://host:0", "port 0 is not 1-65535"),
        ("tcp://ho st:2375", "is not tcp://host:port"),
        ("ssh://deploy@host", "scheme 'ssh' is not supported"),
        ("http://127.0.0.1:2375", "scheme 'http' is not supported"),
        (" unix:///var/run/docker.sock", "whitespace"),
        (2375, "is not a Docker endpoint"),
    ],
)
def test_a_bad_endpoint_is_refused_naming_the_field(host: object, expect: str) -> None:
    problem = docker.cutover_docker_host_problem(host)
    assert problem.startswith("cutover_docker_host: ") and expect in problem
    with pytest.raises(docker.DockerHostError, match="^cutover_docker_host: .*" + expect.split("'")[0]):
        api(host, "/version")


def test_good_endpoints_have_no_problem() -> None:
    for host in (None, "unix:///var/run/docker.sock", "tcp://127.0.0.1:2375", "tcp://[fe80::1]:2376"):
        assert docker.cutover_docker_host_problem(host) == ""


@pytest.mark.parametrize("path", ["containers/x/stop", [], ["containers", ""], 5])
def test_a_bad_path_is_refused(path: object) -> None:
    with pytest.raises(docker.DockerHostError):
        api(None, path)


def test_the_filters_are_registered() -> None:
    assert set(docker.FilterModule().filters()) == {"cutover_docker_api", "cutover_docker_host_problem"}
