"""The control API is open on loopback by default; with a control token it requires it; a
server on a non-loopback address refuses to start without one.

The non-loopback bind runs in a network namespace of its own (`unshare --net`, as root or
through a user namespace), on an address that exists only inside it: nothing is exposed
beyond this machine, or even beyond the test. Where namespaces are not available the test is
skipped (and fails when `CI=true`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from flask.testing import FlaskClient

from contracts.client import ControlClient
from contracts.targets import http_target
from contracts.transport import HttpTransport
from mockserver.app import create_app
from mockserver.cli import main
from mockserver.errors import ConfigError
from mockserver.server import ServerThread, check_exposure, is_loopback

PROBE = Path(__file__).with_name("netns_probe.py")
NETNS_ADDRESS = "10.213.0.1"  # added to the namespace's own loopback device only
TOKEN = "ctl-token"


def test_control_api_is_open_on_loopback_by_default(
        make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("nimble")
    assert client.get("/__jobmock/health").status_code == 200
    assert client.get("/__jobmock/state").status_code == 200


@pytest.mark.parametrize("path", ["/health", "/state", "/journal", "/faults", "/clock",
                                  "/apis/nimble/actions"])
def test_control_token_is_required_on_every_control_route(
        make_client: Callable[..., FlaskClient], path: str) -> None:
    client = make_client("nimble", control_token=TOKEN)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                    {"x-jobmock-control-token": ""}, {"Authorization": f"Basic {TOKEN}"}):
        refused = client.get(f"/__jobmock{path}", headers=headers)
        assert refused.status_code == 401, headers
        assert "control token" in refused.json["error"]
        assert TOKEN not in refused.get_data(as_text=True)
    assert client.get(f"/__jobmock{path}",
                      headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get(f"/__jobmock{path}",
                      headers={"x-jobmock-control-token": TOKEN}).status_code == 200


def test_control_writes_are_refused_without_the_token(
        make_client: Callable[..., FlaskClient]) -> None:
    client = make_client("nimble", control_token=TOKEN)
    auth = {"Authorization": "Bearer jobmock"}
    client.post("/nimble/v1/jobs", headers=auth, json={"name": "keep", "agent_name": "a"})
    for method, path, body in (("POST", "/reset", {}), ("PUT", "/state", {"store": {}}),
                               ("DELETE", "/journal", None),
                               ("PUT", "/faults", {"api": "nimble", "probability": 1})):
        assert client.open(f"/__jobmock{path}", method=method, json=body).status_code == 401
    assert client.get("/nimble/v1/jobs", headers=auth).json["total"] == 1  # state kept


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.0.0.2", True),
                                                ("::1", True), ("localhost", True),
                                                ("0.0.0.0", False), ("::", False),
                                                ("10.1.2.3", False), ("192.0.2.7", False)])
def test_which_hosts_are_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_non_loopback_host_needs_a_control_token() -> None:
    app = create_app({"apis": ("nimble",)})
    with pytest.raises(ConfigError, match="control token"):
        check_exposure(app.extensions["jobmock"].config, "0.0.0.0")
    with pytest.raises(ConfigError, match="control token"):
        ServerThread(app, host="0.0.0.0")  # refused before any socket is bound
    check_exposure(create_app({"apis": ("nimble",), "control_token": TOKEN}).extensions[
        "jobmock"].config, "0.0.0.0")


def test_serve_refuses_a_non_loopback_host_without_a_token() -> None:
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", "0"],
                                env={"JOBMOCK_CONTROL_TOKEN": None})
    assert result.exit_code == 1
    assert "--control-token" in result.output and "127.0.0.1" in result.output


def _netns_command() -> list[str] | None:
    unshare = shutil.which("unshare")
    ip = shutil.which("ip") or "/usr/sbin/ip"
    if unshare is None or not Path(ip).exists():
        return None
    flags = ["--net"] if os.geteuid() == 0 else ["--net", "--map-root-user"]
    script = (f"{ip} link set lo up && {ip} addr add {NETNS_ADDRESS}/32 dev lo && "
              f'exec "{sys.executable}" "{PROBE}" {NETNS_ADDRESS}')
    check = subprocess.run([unshare, *flags, "true"], capture_output=True, timeout=30)
    return [unshare, *flags, "sh", "-c", script] if check.returncode == 0 else None


def test_non_loopback_bind_in_a_private_network_namespace() -> None:
    command = _netns_command()
    if command is None:
        message = "cannot create a network namespace here (unshare --net)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"non-loopback bind on {NETNS_ADDRESS} (private network namespace): {report}")
    assert report["without_token_exit"] == 1
    assert "refusing to bind" in str(report["without_token_output"])
    assert str(report["base_url"]).startswith(f"http://{NETNS_ADDRESS}:")
    assert (report["health_without_token"], report["reset_without_token"],
            report["state_wrong_token"]) == (401, 401, 401)
    assert (report["health_with_bearer"], report["state_with_header"]) == (200, 200)
    assert report["api_call"] == 200


# -- the clients of the control API send the token -------------------------------------------


def test_contract_clients_send_the_control_token(
        live_server: Callable[..., ServerThread]) -> None:
    server = live_server(apis=("nimble",), control_token=TOKEN)
    control = f"{server.url}/__jobmock"
    assert not ControlClient(HttpTransport(control)).healthy()
    assert ControlClient(HttpTransport(control), TOKEN).healthy()
    target = http_target("nimble", f"{server.url}/nimble", control_token=TOKEN)
    assert target.control is not None
    target.control.reset("nimble")
    assert http_target("nimble", f"{server.url}/nimble").control is None
    assert requests.get(f"{control}/health", timeout=5).status_code == 401


def test_jobmock_test_takes_a_control_token(live_server: Callable[..., ServerThread]) -> None:
    server = live_server(apis=("nimble",), control_token=TOKEN)
    args = ["test", "--api", "nimble", "--base-url", f"{server.url}/nimble",
            "--max-examples", "2", "--no-stateful", "--operations", "list_jobs*", "--seed", "1"]
    without = CliRunner().invoke(main, args, env={"JOBMOCK_CONTROL_TOKEN": None})
    assert "(no control API found)" in without.output
    with_token = CliRunner().invoke(main, [*args, "--control-token", TOKEN])
    assert "(no control API found)" not in with_token.output, with_token.output
    assert with_token.exit_code == 0, with_token.output
