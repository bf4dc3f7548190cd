"""`jobmock serve` as a real subprocess (its own process group), for multi-process tests."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["ServedMock"]

_CONTROL_LINE = re.compile(r"^control\s+(http://\S+)/__jobmock")


class ServedMock:
    """`python -m mockserver serve --port 0 ARGS...`; `url` is read from its banner."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.args = args
        self.log = log
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> ServedMock:
        with self.log.open("a") as errors:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "mockserver", "serve", "--port", "0", *self.args],
                stdout=subprocess.PIPE, stderr=errors, start_new_session=True)
        self.url = self._read_url(self._process, time.monotonic() + timeout)
        return self

    def _read_url(self, process: subprocess.Popen[bytes], deadline: float) -> str:
        assert process.stdout is not None
        out = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 0.2)
            chunk = os.read(process.stdout.fileno(), 65536) if ready else b""
            out += chunk
            for line in out.decode("utf-8", "replace").splitlines():
                found = _CONTROL_LINE.match(line)
                if found:
                    return found.group(1)
            if ready and not chunk and process.poll() is not None:
                break
        self.kill()
        raise AssertionError(f"jobmock serve did not start: {out.decode('utf-8', 'replace')}"
                             f"{self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL the whole process group: the master and every worker, at once."""
        self._signal(signal.SIGKILL)

    def stop(self) -> int | None:
        """Ctrl-C (SIGINT to the group), as a terminal would; the exit status."""
        return self._signal(signal.SIGINT)

    def _signal(self, number: int) -> int | None:
        process, self._process = self._process, None
        if process is None:
            return None
        try:
            os.killpg(process.pid, number)
            process.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        finally:
            if process.stdout is not None:
                process.stdout.close()
        return process.returncode
