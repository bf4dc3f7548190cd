"""The Store interface every vendor module keeps its state in, and the in-memory default.

Names are plain strings. A *namespace* (``"nimble:jobs"``, ``"intuned:<ws>:<project>:jobs"``)
holds keyed JSON values in insertion order; a *list* (``"bullmq:<queue>:logs:<id>"``) holds
values in append order; a *counter* hands out ids. Every namespace, list and counter name
starts with the API's short name and a colon, so one API can be reset on its own.

Values are JSON-compatible and copied on the way in and out: a caller never shares a mutable
object with the store, exactly as with a store that serialises.

Backends, chosen by `open_store(url)` (`jobmock serve --store URL`, `JOBMOCK_STORE`):
`memory:` (`MemoryStore`, one process), `sqlite:PATH` (`stores.sqlite_store`, the processes of
one host) and `redis://HOST:PORT/DB` (`stores.redis_store`, any number of hosts).
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["MemoryStore", "Store", "open_store"]


class Store(Protocol):
    """What a vendor module may ask of its state."""

    def get(self, namespace: str, key: str) -> Any | None: ...

    def put(self, namespace: str, key: str, value: Any) -> None: ...

    def delete(self, namespace: str, key: str) -> bool: ...

    def values(self, namespace: str) -> list[Any]: ...

    def count(self, namespace: str) -> int: ...

    def page(self, namespace: str, offset: int, limit: int) -> list[Any]: ...

    def update(self, namespace: str, key: str, change: Callable[[Any], Any]) -> Any | None: ...

    def append(self, name: str, value: Any) -> int: ...

    def slice(self, name: str, start: int, stop: int | None) -> list[Any]: ...

    def length(self, name: str) -> int: ...

    def drop_list(self, name: str) -> None: ...

    def next_id(self, counter: str) -> int: ...

    def reset(self, prefix: str = "") -> None: ...

    def dump(self) -> dict[str, Any]: ...

    def load(self, state: dict[str, Any]) -> None: ...

    def process_number(self) -> int:
        """A number no other process using this store got: 1 for the first, then 2, ..."""
        ...

    def close(self) -> None:
        """Release connections and files; the store is not used afterwards."""
        ...


class MemoryStore:
    """The embedded default: dictionaries behind one lock, one process."""

    shared = False

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._maps: dict[str, dict[str, Any]] = {}
        self._lists: dict[str, list[Any]] = {}
        self._counters: dict[str, int] = {}

    def get(self, namespace: str, key: str) -> Any | None:
        with self._lock:
            value = self._maps.get(namespace, {}).get(key)
            return copy.deepcopy(value)

    def put(self, namespace: str, key: str, value: Any) -> None:
        with self._lock:
            self._maps.setdefault(namespace, {})[key] = copy.deepcopy(value)

    def delete(self, namespace: str, key: str) -> bool:
        with self._lock:
            return self._maps.get(namespace, {}).pop(key, None) is not None

    def values(self, namespace: str) -> list[Any]:
        with self._lock:
            return copy.deepcopy(list(self._maps.get(namespace, {}).values()))

    def count(self, namespace: str) -> int:
        with self._lock:
            return len(self._maps.get(namespace, {}))

    def page(self, namespace: str, offset: int, limit: int) -> list[Any]:
        with self._lock:
            bucket = self._maps.get(namespace, {}).values()
            return copy.deepcopy(list(itertools.islice(bucket, max(offset, 0),
                                                       max(offset, 0) + max(limit, 0))))

    def update(self, namespace: str, key: str, change: Callable[[Any], Any]) -> Any | None:
        """Atomically replace the value with `change(value)`; None when the key is absent."""
        with self._lock:
            bucket = self._maps.get(namespace, {})
            if key not in bucket:
                return None
            bucket[key] = copy.deepcopy(change(copy.deepcopy(bucket[key])))
            return copy.deepcopy(bucket[key])

    def append(self, name: str, value: Any) -> int:
        with self._lock:
            items = self._lists.setdefault(name, [])
            items.append(copy.deepcopy(value))
            return len(items)

    def slice(self, name: str, start: int, stop: int | None) -> list[Any]:
        with self._lock:
            return copy.deepcopy(self._lists.get(name, [])[start:stop])

    def length(self, name: str) -> int:
        with self._lock:
            return len(self._lists.get(name, []))

    def drop_list(self, name: str) -> None:
        with self._lock:
            self._lists.pop(name, None)

    def next_id(self, counter: str) -> int:
        with self._lock:
            self._counters[counter] = self._counters.get(counter, 0) + 1
            return self._counters[counter]

    def reset(self, prefix: str = "") -> None:
        """Forget everything whose name starts with `prefix` (everything by default)."""
        with self._lock:
            for table in (self._maps, self._lists, self._counters):
                for name in [n for n in table if n.startswith(prefix)]:
                    del table[name]

    def dump(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(
                {"maps": self._maps, "lists": self._lists, "counters": self._counters}
            )

    def load(self, state: dict[str, Any]) -> None:
        """Replace the whole state with a `dump()` result."""
        with self._lock:
            self._maps = copy.deepcopy(dict(state.get("maps", {})))
            self._lists = copy.deepcopy(dict(state.get("lists", {})))
            self._counters = {str(k): int(v) for k, v in state.get("counters", {}).items()}

    def process_number(self) -> int:
        return 1

    def close(self) -> None:
        pass


def open_store(url: str) -> Store:
    """The store a `--store` URL names: `memory:`, `sqlite:PATH` or `redis://HOST:PORT/DB`."""
    from mockserver.errors import ConfigError

    if url in ("memory:", "memory", ""):
        return MemoryStore()
    try:
        if url.startswith("sqlite:"):
            return _open_sqlite(url)
        if url.startswith(("redis://", "rediss://", "unix://")):
            return _open_redis(url)
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot open store {url!r}: {error}") from error
    raise ConfigError(f"unknown store {url!r}: use 'memory:', 'sqlite:PATH' or "
                      "'redis://HOST:PORT/DB'")


def _open_sqlite(url: str) -> Store:
    import sqlite3

    from mockserver.stores.sqlite_store import SqliteStore

    path, _, query = url.removeprefix("sqlite:").partition("?")
    if path.startswith("//"):  # sqlite:///abs/path, as SQLAlchemy spells it
        path = path[2:]
    if not path:
        raise ValueError("give a file: sqlite:PATH, e.g. sqlite:jobmock.db")
    options = dict(part.partition("=")[::2] for part in query.split("&") if part)
    unknown = set(options) - {"synchronous"}
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(sorted(unknown))}; known: synchronous")
    try:
        return SqliteStore(path, options.get("synchronous", "normal"))
    except sqlite3.Error as error:
        raise ValueError(str(error)) from error


def _open_redis(url: str) -> Store:
    try:
        from mockserver.stores.redis_store import RedisStore
    except ImportError as error:
        raise ValueError(f"the redis client library is missing ({error}): "
                         "pip install redis") from error
    import redis

    try:
        return RedisStore(url)
    except redis.RedisError as error:
        raise ValueError(f"cannot reach Redis: {error}") from error
