"""Durable and shared backends of the `Store` interface (`mockserver.store`).

- `sqlite_store.SqliteStore` (`sqlite:PATH`): one file, several processes on one host.
- `redis_store.RedisStore` (`redis://HOST:PORT/DB`): any number of processes and hosts.

Both serialise values as JSON text, so they hand out copies exactly as `MemoryStore` does.
`mockserver.store.open_store(url)` picks one; import these modules only through it, so the
`redis` client library is needed only by those who use Redis.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["decode", "encode", "prefix_upper_bound"]


def encode(value: Any) -> str:
    """The JSON text a value is stored as (compact; keys in the caller's order)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def decode(text: str | bytes) -> Any:
    return json.loads(text)


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string above every string that starts with `prefix` (None: no bound).

    Binary (UTF-8 / code point) order: every name in `[prefix, bound)` starts with `prefix`.
    """
    if not prefix or ord(prefix[-1]) == 0x10FFFF:
        return None
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
