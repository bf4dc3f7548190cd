"""Time and identifiers: real for `jobmock serve`, virtual and seeded for tests.

A virtual clock starts at a fixed instant and moves only when told to (`advance`), plus one
millisecond per reading so that successive timestamps stay distinct and ordered. With the same
seed and the same requests, every id and timestamp repeats exactly.
"""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime, timedelta

__all__ = ["VIRTUAL_EPOCH", "Clock", "IdSource"]

VIRTUAL_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    """`now()` in UTC; real time, or a virtual time that tests advance."""

    def __init__(self, virtual: bool = False, start: datetime = VIRTUAL_EPOCH) -> None:
        self.virtual = virtual
        self._start = start
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        if not self.virtual:
            return datetime.now(UTC)
        with self._lock:
            self._now += timedelta(milliseconds=1)
            return self._now

    def advance(self, seconds: float) -> datetime:
        """Move a virtual clock forward; refused on a real one."""
        if not self.virtual:
            raise ValueError("the clock is real time; start with a virtual clock to advance it")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def peek(self) -> datetime:
        """The current time without the per-reading millisecond a virtual `now()` adds."""
        if not self.virtual:
            return datetime.now(UTC)
        with self._lock:
            return self._now

    def advance_to(self, moment: datetime) -> datetime:
        """Move a virtual clock forward to `moment` (never backward)."""
        if not self.virtual:
            raise ValueError("the clock is real time; start with a virtual clock to advance it")
        with self._lock:
            self._now = max(self._now, moment)
            return self._now

    def reset(self) -> None:
        with self._lock:
            self._now = self._start

    def iso(self, timespec: str = "seconds") -> str:
        """`2026-01-01T00:00:00Z` style (UTC, `Z` suffix)."""
        return self.now().isoformat(timespec=timespec).replace("+00:00", "Z")


class IdSource:
    """Random identifiers: reproducible when a seed is given.

    `stream` tells apart processes that share one store: stream 1 (the only one with the
    memory store) draws from `seed` itself, stream n > 1 from `(seed, n)`, so two processes
    given the same seed never hand out the same ids. Without a seed the generator is seeded
    from the OS, different in every process anyway."""

    def __init__(self, seed: int | None = None, stream: int = 1) -> None:
        self._seed: int | str | None = seed if seed is None or stream == 1 else f"{seed}/{stream}"
        self._rng = random.Random(self._seed)
        self._lock = threading.Lock()

    def uuid(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def token(self, length: int = 24) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        with self._lock:
            return "".join(self._rng.choice(alphabet) for _ in range(length))

    def random(self) -> float:
        with self._lock:
            return self._rng.random()

    def reset(self) -> None:
        with self._lock:
            self._rng = random.Random(self._seed)
