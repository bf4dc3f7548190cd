"""Body limits over real HTTP, with and without Content-Length."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import requests

from mockserver.server import ServerThread

AUTH = {"Authorization": "Bearer jobmock", "Content-Type": "application/json"}


def chunks(count: int) -> Iterator[bytes]:
    for _ in range(count):
        yield b"[" * 100


def test_chunked_oversize_body_gets_413_in_vendor_shape(
        live_server: Callable[..., ServerThread]) -> None:
    server = live_server(apis=("nimble",), max_body_bytes=1000)
    response = requests.post(f"{server.url}/nimble/v1/jobs", data=chunks(30), headers=AUTH,
                             timeout=10)
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body is larger than the limit of 1000 bytes"}


def test_oversize_body_with_content_length_gets_413(
        live_server: Callable[..., ServerThread]) -> None:
    server = live_server(apis=("nimble",), max_body_bytes=1000)
    response = requests.post(f"{server.url}/nimble/v1/jobs", data=b"{" * 5000, headers=AUTH,
                             timeout=10)
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/json"
