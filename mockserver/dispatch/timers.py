"""One-shot timers kept in the Store, so they reset, dump and load with the API's state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mockserver.store import Store

__all__ = ["Timer", "Timers", "epoch_ms", "from_ms"]


@dataclass(frozen=True)
class Timer:
    """A moment (epoch ms) at which `kind` happens with `args`; `seq` breaks ties."""

    key: str
    due_ms: int
    seq: int
    kind: str
    args: Mapping[str, Any]

    @property
    def due(self) -> datetime:
        return from_ms(self.due_ms)


class Timers:
    """The timers of one API, in namespace `<api>:timers`."""

    def __init__(self, store: Store, api: str) -> None:
        self._store = store
        self._namespace = f"{api}:timers"
        self._counter = f"{api}:timer-seq"

    def add(self, due: datetime, kind: str, **args: Any) -> str:
        seq = self._store.next_id(self._counter)
        key = f"{seq:012d}"
        self._store.put(self._namespace, key, {"due_ms": epoch_ms(due), "seq": seq,
                                               "kind": kind, "args": args})
        return key

    def cancel(self, kind: str, **match: Any) -> int:
        """Drop the timers of `kind` whose arguments include `match`; how many were dropped."""
        dropped = 0
        for timer in self.pending():
            if timer.kind == kind and all(timer.args.get(k) == v for k, v in match.items()):
                dropped += self._store.delete(self._namespace, timer.key)
        return dropped

    def pending(self) -> list[Timer]:
        """Every timer, earliest first (then in the order they were set)."""
        timers = [Timer(f"{v['seq']:012d}", int(v["due_ms"]), int(v["seq"]), str(v["kind"]),
                        dict(v["args"])) for v in self._store.values(self._namespace)]
        return sorted(timers, key=lambda t: (t.due_ms, t.seq))

    def next_due(self) -> datetime | None:
        pending = self.pending()
        return pending[0].due if pending else None

    def claim_due(self, now: datetime) -> list[Timer]:
        """The timers due at `now`, removed from the store; one claimant gets each."""
        limit = epoch_ms(now)
        return [t for t in self.pending()
                if t.due_ms <= limit and self._store.delete(self._namespace, t.key)]


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)
