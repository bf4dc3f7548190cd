"""Fault injection: latency and seeded, documented error responses per operation."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from mockserver.errors import ConfigError
from mockserver.spec import Operation

__all__ = ["Fault", "FaultBook"]


@dataclass
class Fault:
    """What to do to one operation (or `*`, every operation of the API)."""

    api: str
    operation: str = "*"
    latency_ms: float = 0.0
    latency_max_ms: float | None = None
    probability: float = 0.0
    statuses: tuple[int, ...] = ()
    seed: int | None = None
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise ConfigError("probability must be between 0 and 1")
        if self.latency_ms < 0 or (self.latency_max_ms or 0) < 0:
            raise ConfigError("latency must not be negative")
        self._rng = random.Random(self.seed)

    def delay_seconds(self) -> float:
        if self.latency_max_ms is None:
            return self.latency_ms / 1000
        low, high = sorted((self.latency_ms, self.latency_max_ms))
        return self._rng.uniform(low, high) / 1000

    def error_status(self, op: Operation) -> int | None:
        """A documented error status to answer with, drawn with the seeded probability."""
        if self.probability <= 0 or self._rng.random() >= self.probability:
            return None
        documented = [s for s in op.documented_statuses if s >= 400]
        choices = [s for s in (self.statuses or documented) if s in documented]
        return self._rng.choice(choices) if choices else None

    def to_json(self) -> dict[str, Any]:
        return {"api": self.api, "operation": self.operation, "latency_ms": self.latency_ms,
                "latency_max_ms": self.latency_max_ms, "probability": self.probability,
                "statuses": list(self.statuses), "seed": self.seed}


class FaultBook:
    """The faults in force, looked up per request."""

    def __init__(self) -> None:
        self._faults: dict[tuple[str, str], Fault] = {}
        self._lock = threading.Lock()

    def set(self, fault: Fault) -> None:
        with self._lock:
            self._faults[(fault.api, fault.operation)] = fault

    def find(self, api: str, operation: str) -> Fault | None:
        if not self._faults:
            return None
        with self._lock:
            return self._faults.get((api, operation)) or self._faults.get((api, "*"))

    def all(self) -> list[Fault]:
        with self._lock:
            return list(self._faults.values())

    def clear(self, api: str | None = None) -> None:
        with self._lock:
            for key in [k for k in self._faults if api is None or k[0] == api]:
                del self._faults[key]
