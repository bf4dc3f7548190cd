"""HTTP calls the mock makes to the user's code, on a small pool, each one journaled.

Only URLs the user gave the mock are called (a worker's endpoint, a job's action URL, a
webhook), only over http(s), each with a bounded timeout. The serving threads never wait for
them: a call runs on the pool and reports to a callback. `settle(seconds)` lets the virtual
clock wait, in real time and bounded, for the calls in flight before it moves on.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from mockserver.journal import Journal, JournalEntry, mask_headers, preview

__all__ = ["Outbound", "OutboundRequest", "OutboundResult"]

log = logging.getLogger("jobmock")
MAX_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class OutboundRequest:
    """A call to make: `api` and `purpose` name it in the journal."""

    api: str
    purpose: str
    method: str
    url: str
    timeout: float
    headers: Mapping[str, str] = field(default_factory=dict)
    json_body: Any = None


@dataclass(frozen=True)
class OutboundResult:
    """How a call ended: a status (None when no answer came) or an error."""

    status: int | None
    reason: str = ""
    content_type: str = ""
    text: str = ""
    error: str | None = None
    timed_out: bool = False
    duration_ms: float = 0.0

    @property
    def answered(self) -> bool:
        return self.status is not None

    def body(self) -> Any:
        """The answer as JSON when its content type says so, else as text."""
        if "application/json" in self.content_type:
            try:
                return json.loads(self.text)
            except ValueError:
                return self.text
        return self.text

    @property
    def outcome(self) -> str:
        if self.timed_out:
            return "timeout"
        if self.status is None:
            return f"unreachable: {self.error}"
        return "ok" if 200 <= self.status < 300 else f"http {self.status}"


Callback = Callable[[OutboundResult], None]


class Outbound:
    """The pool that makes outbound calls; one per runtime."""

    def __init__(self, journal: Journal, hosts: tuple[str, ...] = ("*",),
                 workers: int = 8) -> None:
        self._journal = journal
        self._hosts = frozenset(h.lower() for h in hosts)
        self._refused: set[str] = set()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jobmock-out")
        self._session = requests.Session()
        self._in_flight: set[Future[None]] = set()
        self._lock = threading.Lock()
        self.after_call: Callable[[], None] = lambda: None  # e.g. wake the dispatcher

    def allows(self, url: str) -> bool:
        """Whether the mock may call `url`: http(s) to a host in `call_hosts` (or "*")."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        allowed = parts.scheme in ("http", "https") and ("*" in self._hosts or
                                                          host in self._hosts)
        if not allowed and host not in self._refused:
            self._refused.add(host)
            log.info("jobmock does not call %s: its host is not in call_hosts (%s); "
                        "allow it with --call-host", url, ", ".join(sorted(self._hosts)))
        return allowed

    def send(self, request: OutboundRequest, on_done: Callback) -> None:
        """Start the call; `on_done` gets its result on a pool thread."""
        future = self._pool.submit(self._call, request, on_done)
        with self._lock:
            self._in_flight.add(future)
        future.add_done_callback(self._forget)

    def in_flight(self) -> int:
        with self._lock:
            return len(self._in_flight)

    def settle(self, seconds: float) -> bool:
        """Wait up to `seconds` (real time) for the calls in flight; True when none is left."""
        deadline = time.monotonic() + max(seconds, 0.0)
        while True:
            with self._lock:
                pending = set(self._in_flight)
            if not pending:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            wait(pending, timeout=left)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._session.close()

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._in_flight.discard(future)

    def _call(self, request: OutboundRequest, on_done: Callback) -> None:
        started = time.perf_counter()
        result = self._perform(request)
        result = OutboundResult(**{**result.__dict__,
                                   "duration_ms": round((time.perf_counter() - started) * 1000,
                                                        3)})
        self._record(request, result)
        try:
            on_done(result)
        except Exception:  # a callback's failure must not kill the pool thread
            log.exception("handling the answer of %s %s failed", request.method, request.url)
        self.after_call()

    def _perform(self, request: OutboundRequest) -> OutboundResult:
        if urlsplit(request.url).scheme not in ("http", "https"):
            return OutboundResult(None, error=f"unsupported URL {request.url!r}")
        timeout = min(max(request.timeout, 0.001), MAX_TIMEOUT_SECONDS)
        try:
            response = self._session.request(
                request.method, request.url, headers=dict(request.headers),
                data=None if request.json_body is None else json.dumps(request.json_body),
                timeout=timeout, allow_redirects=False)
        except requests.Timeout:
            return OutboundResult(None, error="timeout", timed_out=True)
        except requests.RequestException as error:
            return OutboundResult(None, error=type(error).__name__)
        return OutboundResult(response.status_code, response.reason or "",
                              response.headers.get("content-type", ""), response.text)

    def _record(self, request: OutboundRequest, result: OutboundResult) -> None:
        body = "" if request.json_body is None else json.dumps(request.json_body, default=str)
        self._journal.add(JournalEntry(
            seq=self._journal.next_seq(), api=request.api, operation=request.purpose,
            method=request.method, path=request.url, query={},
            request_headers=mask_headers(request.headers), request_body=preview(body),
            status=result.status or 0, response_body=preview(result.text),
            duration_ms=result.duration_ms, direction="outbound", outcome=result.outcome))
