"""A bound on stored items: any `Store`, wrapped so no collection grows past `max_items`.

Every namespace and list name of the store belongs to one tenant of one API (a NeMo
workspace's jobs, a BullMQ queue's jobs or one job's logs, an Intuned project's runs...), so a
bound per name is a bound per tenant and collection. Adding a new key or appending past the
bound raises `ApiError(429)`, which the vendor's dialect renders (each spec documents it as
`TooManyItems`, `x-inferred`); replacing an existing key never does. The check and the write
are two calls, so concurrent writers may overshoot the bound by at most one item each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mockserver.errors import ApiError
from mockserver.store import Store

__all__ = ["LimitedStore"]


class LimitedStore:
    """A `Store` that refuses to hold more than `max_items` items under one name."""

    def __init__(self, inner: Store, max_items: int) -> None:
        self.inner = inner
        self.max_items = max_items

    def _full(self, name: str) -> ApiError:
        collection = name.rsplit(":", 1)[-1]
        return ApiError(429, f"Too many items: this {collection} collection holds the most "
                             f"this mock allows ({self.max_items}); delete some, reset, or "
                             "start jobmock with a larger --max-items", kind="limit")

    def put(self, namespace: str, key: str, value: Any) -> None:
        if (self.inner.count(namespace) >= self.max_items
                and self.inner.get(namespace, key) is None):
            raise self._full(namespace)
        self.inner.put(namespace, key, value)

    def append(self, name: str, value: Any) -> int:
        if self.inner.length(name) >= self.max_items:
            raise self._full(name)
        return self.inner.append(name, value)

    # -- everything else as the wrapped store does it -------------------------------------

    def get(self, namespace: str, key: str) -> Any | None:
        return self.inner.get(namespace, key)

    def delete(self, namespace: str, key: str) -> bool:
        return self.inner.delete(namespace, key)

    def values(self, namespace: str) -> list[Any]:
        return self.inner.values(namespace)

    def count(self, namespace: str) -> int:
        return self.inner.count(namespace)

    def page(self, namespace: str, offset: int, limit: int) -> list[Any]:
        return self.inner.page(namespace, offset, limit)

    def update(self, namespace: str, key: str, change: Callable[[Any], Any]) -> Any | None:
        return self.inner.update(namespace, key, change)

    def slice(self, name: str, start: int, stop: int | None) -> list[Any]:
        return self.inner.slice(name, start, stop)

    def length(self, name: str) -> int:
        return self.inner.length(name)

    def drop_list(self, name: str) -> None:
        self.inner.drop_list(name)

    def next_id(self, counter: str) -> int:
        return self.inner.next_id(counter)

    def reset(self, prefix: str = "") -> None:
        self.inner.reset(prefix)

    def dump(self) -> dict[str, Any]:
        return self.inner.dump()

    def load(self, state: dict[str, Any]) -> None:
        self.inner.load(state)

    def process_number(self) -> int:
        return self.inner.process_number()

    def close(self) -> None:
        self.inner.close()

    @property
    def shared(self) -> bool:
        """Whether the wrapped store is shared between processes (sqlite:, redis://)."""
        return bool(getattr(self.inner, "shared", False))
