"""Runs what is due: each API's timers and other due work, on a virtual or a real clock.

An API takes part by implementing `Scheduled`: `next_due(now)` (the earliest moment it has
work, or None) and `run_due(now)` (do everything due at `now`, earliest first). On a virtual
clock, `advance(seconds)` moves the clock to each due moment in turn, runs it, and waits
(bounded, in real time) for the outbound calls it started, so that the same seed and the same
requests give the same firings. On a real clock, a daemon thread does the same a few times a
second; serving never waits for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from mockserver.clock import Clock
from mockserver.dispatch.outbound import Outbound

__all__ = ["Dispatcher", "Scheduled"]

log = logging.getLogger("jobmock")
T = TypeVar("T")
MAX_STEPS = 10_000  # due moments in one advance: a runaway schedule cannot hang the control API
MAX_ROUNDS = 100  # rounds at one moment (work that makes more work due at once)


class Scheduled(Protocol):
    """What the dispatcher asks of an API."""

    def next_due(self, now: datetime) -> datetime | None: ...

    def run_due(self, now: datetime) -> None: ...


class Dispatcher:
    """One per runtime: the APIs in a fixed order, the clock and the outbound pool."""

    def __init__(self, apis: Mapping[str, Scheduled], clock: Clock, outbound: Outbound,
                 settle_seconds: float = 5.0, tick_seconds: float = 0.1,
                 on_error: Callable[[str, BaseException], None] | None = None) -> None:
        self._apis = dict(sorted(apis.items()))
        self._clock = clock
        self._outbound = outbound
        self.settle_seconds = settle_seconds
        self._tick = tick_seconds
        self._on_error = on_error
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- virtual clock --------------------------------------------------------------------------

    def advance(self, seconds: float, settle: float | None = None) -> datetime:
        """Move the virtual clock by `seconds`, running everything due on the way, in order
        of due time. After each step, wait up to `settle` real seconds for outbound calls."""
        wait = self.settle_seconds if settle is None else settle
        with self._lock:
            target = self._clock.peek() + timedelta(seconds=seconds)
            self._run_at(self._clock.peek(), wait)
            for _ in range(MAX_STEPS):
                due = self.next_due()
                if due is None or due > target:
                    break
                self._run_at(self._clock.advance_to(due), wait)
            self._run_at(self._clock.advance_to(target), wait)
            return self._clock.peek()

    def next_due(self) -> datetime | None:
        now = self._clock.peek()
        moments = [m for m in (self._guarded(name, lambda api: api.next_due(now))
                               for name in self._apis) if m is not None]
        return min(moments) if moments else None

    def _run_at(self, now: datetime, settle: float) -> None:
        for _ in range(MAX_ROUNDS):
            self.run_due(now)
            self._outbound.settle(settle)
            due = self.next_due()
            if due is None or due > now:
                return

    def run_due(self, now: datetime) -> None:
        """Run everything due at `now`, API by API in name order."""
        with self._lock:
            for name in self._apis:
                self._guarded(name, lambda api: api.run_due(now))

    # -- real clock -----------------------------------------------------------------------------

    def start(self) -> Dispatcher:
        """Run what is due in a daemon thread (real clock)."""
        if self._thread is None:
            self._outbound.after_call = self._wake.set  # an answer may free a worker slot
            self._thread = threading.Thread(target=self._loop, daemon=True,
                                            name="jobmock-dispatch")
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._outbound.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._tick)
            self._wake.clear()
            due = self.next_due()
            now = self._clock.peek()  # read after: an API may answer "due now"
            if due is not None and due <= now:
                self.run_due(now)

    def _guarded(self, name: str, work: Callable[[Scheduled], T]) -> T | None:
        try:
            return work(self._apis[name])
        except Exception as error:  # one API's bug must not stop the others' schedules
            log.exception("dispatch of %s failed", name)
            if self._on_error is not None:
                self._on_error(name, error)
            return None
