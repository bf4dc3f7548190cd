"""The WSGI servers `jobmock serve` and `ServerThread` run on (waitress by default, Werkzeug on
request): port 0 and the banner, kept-alive connections, state shared by every connection,
Ctrl-C, and stopping a server thread."""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, closing
from typing import Any

import pytest

from mockserver.app import create_app
from mockserver.server import SERVERS, ServerThread

AUTH = {"Authorization": "Bearer jobmock", "Content-Type": "application/json"}


def _serve(*flags: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--api", "nimble", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    assert first.startswith("nimble   http://127.0.0.1:"), first
    return process, int(first.split()[1].rsplit(":", 1)[1].split("/")[0])


def _call(conn: http.client.HTTPConnection, method: str, path: str,
          body: str | None = None) -> tuple[int, bytes, http.client.HTTPResponse]:
    conn.request(method, path, body=body, headers=AUTH)
    response = conn.getresponse()
    return response.status, response.read(), response


@pytest.fixture(params=SERVERS)
def served(request: pytest.FixtureRequest) -> Iterator[tuple[subprocess.Popen[str], int, str]]:
    process, port = _serve("--server", request.param)
    yield process, port, request.param
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)
    for stream in (process.stdout, process.stderr):
        assert stream is not None
        stream.close()


def test_serve_answers_on_port_0_and_stops_on_ctrl_c(
        served: tuple[subprocess.Popen[str], int, str]) -> None:
    process, port, _ = served
    with closing(http.client.HTTPConnection("127.0.0.1", port, timeout=10)) as conn:
        status, body, _ = _call(conn, "POST", "/nimble/v1/jobs",
                                '{"name": "n", "agent_name": "a"}')
    assert status == 201 and b'"id":"job_1"' in body
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0
    assert process.stderr is not None and "Traceback" not in process.stderr.read()


def test_waitress_keeps_the_connection_open() -> None:
    process, port = _serve()  # the default server
    try:
        with closing(http.client.HTTPConnection("127.0.0.1", port, timeout=10)) as conn:
            for _ in range(3):
                status, _, response = _call(conn, "GET", "/nimble/v1/jobs")
                assert status == 200 and response.getheader("Connection") != "close"
            assert conn.sock is not None  # the same socket served all three
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            assert stream is not None
            stream.close()


@pytest.fixture(params=SERVERS)
def thread(request: pytest.FixtureRequest) -> Iterator[ServerThread]:
    server = ServerThread(create_app({"apis": ("nimble",), "random_seed": 1}),
                          server=request.param).start()
    yield server
    server.stop()


def test_a_write_on_one_connection_is_read_on_every_other(thread: ServerThread) -> None:
    port = int(thread.url.rsplit(":", 1)[1])
    with ExitStack() as stack:
        writer, *readers = [
            stack.enter_context(closing(http.client.HTTPConnection("127.0.0.1", port,
                                                                   timeout=10)))
            for _ in range(5)]
        for reader in readers:  # connections opened before the write
            assert _call(reader, "GET", "/nimble/v1/jobs")[0] == 200
        _call(writer, "POST", "/nimble/v1/jobs", '{"name": "n", "agent_name": "a"}')
        patched = _call(writer, "PATCH", "/nimble/v1/jobs/job_1", '{"display_name": "seen"}')
        assert patched[0] == 200
        for reader in readers:
            status, body, _ = _call(reader, "GET", "/nimble/v1/jobs/job_1")
            assert status == 200 and b'"display_name":"seen"' in body


@pytest.mark.parametrize("kind", SERVERS)
def test_a_stopped_server_thread_frees_its_port(kind: str) -> None:
    server = ServerThread(create_app({"apis": ("nimble",)}), server=kind).start()
    port = int(server.url.rsplit(":", 1)[1])
    with closing(http.client.HTTPConnection("127.0.0.1", port, timeout=10)) as conn:
        assert _call(conn, "GET", "/nimble/v1/jobs")[0] == 200
    server.stop()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_an_unknown_server_is_refused() -> None:
    with pytest.raises(ValueError, match="choose from waitress, werkzeug"):
        ServerThread(create_app({"apis": ("nimble",)}), server="gunicorn")


def _no_validate_client(**settings: Any) -> Any:
    return create_app({"apis": ("nimble",), "random_seed": 1, **settings}).test_client()


def test_no_validate_lets_invalid_input_through_and_checks_no_response() -> None:
    checked, unchecked = _no_validate_client(), _no_validate_client(validate=False)
    bad = {"name": 5, "agent_name": "a"}  # and so the answer's `name` is not a string either
    assert checked.post("/nimble/v1/jobs", json=bad, headers=AUTH).status_code == 422
    sent = unchecked.post("/nimble/v1/jobs", json=bad, headers=AUTH)
    assert (sent.status_code, sent.json["name"]) == (201, 5)  # strict, yet not a 500
    entry = unchecked.application.extensions["jobmock"].journal.entries()[-1]
    assert entry.request_issues == [] and entry.response_violations == []


def test_no_validate_is_a_serve_flag_and_an_environment_variable() -> None:
    from click.testing import CliRunner

    from mockserver.cli import main
    from mockserver.config import Config

    assert Config.load({}, environ={"JOBMOCK_VALIDATE": "false"}).validate is False
    assert Config.load({}, environ={}).validate is True
    help_text = CliRunner().invoke(main, ["serve", "--help"]).output
    assert "--no-validate" in help_text and "--server [waitress|werkzeug]" in help_text
