"""The servers the benchmark compares, started as their users start them, on 127.0.0.1.

- `MockServer`: `jobmock serve --port 0` (plus extra flags such as `--no-validate`), one
  process serving the five APIs under their prefixes; the port is read from its banner.
- `PrismServers`: Stoplight Prism (`benchmarks/node_modules`, see `package.json`), one
  `prism mock --errors=false -v warn` process per spec, as Prism serves one document each.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

__all__ = ["Endpoint", "MockServer", "PrismServers", "cpu_seconds", "rss_bytes"]

HERE = Path(__file__).resolve().parent
SPECS = HERE.parent / "specs"
PRISM = HERE / "node_modules" / ".bin" / "prism"
_BANNER_PORT = re.compile(r"http://127\.0\.0\.1:(\d+)/")


@dataclass(frozen=True)
class Endpoint:
    """Where one API is served: host, port and the path prefix in front of its own paths."""

    host: str
    port: int
    prefix: str


@dataclass
class MockServer:
    """`jobmock serve --port 0 [flags]` in a child process."""

    label: str
    flags: tuple[str, ...] = ()
    process: subprocess.Popen[str] | None = None
    port: int = 0
    ready_seconds: float = 0.0

    def start(self) -> MockServer:
        command = [_jobmock_command(), "serve", "--port", "0", *self.flags]
        begun = time.perf_counter()
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        found = _BANNER_PORT.search(self.process.stdout.readline())
        if found is None:
            raise RuntimeError(f"{' '.join(command)}: no port in its banner")
        self.port = int(found.group(1))
        _wait_http(f"{self.root}/__jobmock/health", begun)
        self.ready_seconds = time.perf_counter() - begun
        return self

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def endpoint(self, api: str) -> Endpoint:
        return Endpoint("127.0.0.1", self.port, f"/{api}")

    def pids(self) -> list[int]:
        return [self.process.pid] if self.process else []

    def stop(self) -> None:
        _stop(self.process)


def _jobmock_command() -> str:
    beside = Path(sys.executable).parent / "jobmock"
    return str(beside) if beside.exists() else (shutil.which("jobmock") or "jobmock")


@dataclass
class PrismServers:
    """One Prism mock process per spec."""

    label: str = "prism"
    apis: tuple[str, ...] = ()
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def start(self) -> PrismServers:
        if not PRISM.exists():
            raise RuntimeError(f"{PRISM} is missing: run `npm ci` in {HERE}")
        for api in self.apis:
            self.ports[api] = _free_port()
            self.processes[api] = subprocess.Popen(
                [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(self.ports[api]),
                 "--errors=false", "-v", "warn", str(SPECS / f"{api}.yaml")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        begun = time.perf_counter()
        for api in self.apis:
            _wait_http(f"http://127.0.0.1:{self.ports[api]}/", begun, timeout=60)
        return self

    def endpoint(self, api: str) -> Endpoint:
        return Endpoint("127.0.0.1", self.ports[api], "")

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes.values()]

    def version(self) -> str:
        return subprocess.run([str(PRISM), "--version"], capture_output=True, text=True,
                              check=False).stdout.strip()

    def stop(self) -> None:
        for process in self.processes.values():
            _stop(process)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, begun: float, timeout: float = 30.0) -> None:
    """Wait until `url` answers anything at all over HTTP."""
    while time.perf_counter() - begun < timeout:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.01)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def _stop(process: subprocess.Popen[str] | subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def _tree(pids: list[int]) -> list[psutil.Process]:
    found: list[psutil.Process] = []
    for pid in pids:
        try:
            parent = psutil.Process(pid)
            found += [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by these processes and their children."""
    total = 0.0
    for process in _tree(pids):
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of these processes and their children."""
    total = 0
    for process in _tree(pids):
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total
