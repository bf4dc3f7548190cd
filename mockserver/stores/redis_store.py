"""`redis://HOST:PORT/DB`: the state in a Redis server, shared by any number of processes/hosts.

Key layout (``P`` is the key prefix, ``jobmock:`` unless the URL says ``?prefix=...``):

=================  ========  ==========================================================
key                type      holds
=================  ========  ==========================================================
``P m:<ns>``       hash      a namespace: key -> JSON value
``P o:<ns>``       zset      the namespace's keys, scored by insertion number (order)
``P l:<name>``     list      a list's JSON values in append order (RPUSH / LRANGE)
``P c:<name>``     string    a counter (INCR)
``P names``        zset      every map/list/counter name as ``m:<ns>``, ``l:<name>``,
                             ``c:<name>`` (score 0, so ZRANGEBYLEX finds a prefix)
``P seq``          string    the insertion-number counter behind ``o:`` scores
``P processes``    string    process numbers handed out (outside reset/dump/load)
=================  ========  ==========================================================

Atomicity: a put, delete, append, counter step and page read is one Lua script (Redis runs
a script alone); `update` is optimistic — WATCH the namespace's hash, read, compute, then
MULTI/EXEC, retried when another client wrote the hash in between — so no update is lost.
`reset(prefix)` is one script too: it finds the names by lexical range and deletes them.

Durability is the Redis server's: with ``appendonly yes`` and ``appendfsync always`` an
acknowledged write is on disk before Redis answers the mock (the tests' server runs so).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from mockserver.stores import decode, encode

__all__ = ["RedisStore", "split_prefix"]

_CHUNK = 1000  # values read per script call (Lua's unpack() has a stack limit)
_ATOMIC_LOAD = 50_000  # `load` of at most this many values is one transaction

_PUT = """
if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
  redis.call('ZADD', KEYS[4], 0, ARGV[3])
end
return 1
"""
_DELETE = """
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])
"""
_PAGE = """
local keys = redis.call('ZRANGE', KEYS[2], ARGV[1], ARGV[2])
if #keys == 0 then return {} end
return redis.call('HMGET', KEYS[1], unpack(keys))
"""
_APPEND = """
local size = redis.call('RPUSH', KEYS[1], ARGV[1])
if size == 1 then redis.call('ZADD', KEYS[2], 0, ARGV[2]) end
return size
"""
_INCR = """
local value = redis.call('INCR', KEYS[1])
if value == 1 then redis.call('ZADD', KEYS[2], 0, ARGV[1]) end
return value
"""
# ARGV[1] = key prefix, ARGV[2] = name prefix. Deletes every map/list/counter under it.
_RESET = """
local removed = 0
for _, kind in ipairs({'m', 'l', 'c'}) do
  local low = '[' .. kind .. ':' .. ARGV[2]
  local high = '(' .. kind .. ':' .. ARGV[2] .. '\\255'
  local names = redis.call('ZRANGEBYLEX', KEYS[1], low, high)
  for _, name in ipairs(names) do
    redis.call('UNLINK', ARGV[1] .. name)
    if kind == 'm' then redis.call('UNLINK', ARGV[1] .. 'o:' .. string.sub(name, 3)) end
    redis.call('ZREM', KEYS[1], name)
    removed = removed + 1
  end
end
return removed
"""


class RedisStore:
    """The `Store` interface over a Redis server (see the module docstring for the layout)."""

    shared = True

    def __init__(self, url: str) -> None:
        client_url, self.prefix = split_prefix(url)
        self._redis = redis.Redis.from_url(client_url, health_check_interval=30)
        self._redis.ping()
        self._put = self._redis.register_script(_PUT)
        self._delete = self._redis.register_script(_DELETE)
        self._page = self._redis.register_script(_PAGE)
        self._append = self._redis.register_script(_APPEND)
        self._incr = self._redis.register_script(_INCR)
        self._reset = self._redis.register_script(_RESET)

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    @property
    def _names(self) -> str:
        return f"{self.prefix}names"

    def close(self) -> None:
        self._redis.close()
        self._redis.connection_pool.disconnect()

    # -- namespaces ------------------------------------------------------------------------------

    def get(self, namespace: str, key: str) -> Any | None:
        text = self._redis.hget(self._key("m", namespace), key)
        return None if text is None else decode(text)

    def put(self, namespace: str, key: str, value: Any) -> None:
        self._put(keys=[self._key("m", namespace), self._key("o", namespace),
                        f"{self.prefix}seq", self._names],
                  args=[key, encode(value), f"m:{namespace}"])

    def delete(self, namespace: str, key: str) -> bool:
        removed = self._delete(keys=[self._key("m", namespace), self._key("o", namespace)],
                               args=[key])
        return bool(removed)

    def values(self, namespace: str) -> list[Any]:
        found: list[Any] = []
        while True:
            chunk = self.page(namespace, len(found), _CHUNK)
            found.extend(chunk)
            if len(chunk) < _CHUNK:
                return found

    def count(self, namespace: str) -> int:
        return int(self._redis.hlen(self._key("m", namespace)))

    def page(self, namespace: str, offset: int, limit: int) -> list[Any]:
        if limit <= 0:
            return []
        start = max(offset, 0)
        texts = self._page(keys=[self._key("m", namespace), self._key("o", namespace)],
                           args=[start, start + min(limit, _CHUNK) - 1])
        found = [decode(text) for text in texts if text is not None]
        if limit > _CHUNK and len(texts) == _CHUNK:
            found.extend(self.page(namespace, start + _CHUNK, limit - _CHUNK))
        return found

    def update(self, namespace: str, key: str, change: Callable[[Any], Any]) -> Any | None:
        """Atomically replace the value with `change(value)`; None when the key is absent.

        Optimistic: retried when another client writes the namespace meanwhile, so `change`
        must be a pure function of the value. If it raises, nothing is written."""
        bucket = self._key("m", namespace)
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(bucket)
                    current = pipe.hget(bucket, key)
                    if current is None:
                        return None
                    text = encode(change(decode(current)))
                    pipe.multi()
                    pipe.hset(bucket, key, text)
                    pipe.execute()
                    return decode(text)
                except redis.WatchError:
                    continue

    # -- lists -----------------------------------------------------------------------------------

    def append(self, name: str, value: Any) -> int:
        return int(self._append(keys=[self._key("l", name), self._names],
                                args=[encode(value), f"l:{name}"]))

    def slice(self, name: str, start: int, stop: int | None) -> list[Any]:
        if start < 0 or (stop is not None and stop < 0):
            start, stop, _ = slice(start, stop).indices(self.length(name))
        if stop is not None and stop <= start:
            return []
        last = -1 if stop is None else stop - 1
        return [decode(text) for text in self._redis.lrange(self._key("l", name), start, last)]

    def length(self, name: str) -> int:
        return int(self._redis.llen(self._key("l", name)))

    def drop_list(self, name: str) -> None:
        with self._redis.pipeline() as pipe:
            pipe.unlink(self._key("l", name))
            pipe.zrem(self._names, f"l:{name}")
            pipe.execute()

    # -- counters ----------------------------------------------------------------------------------

    def next_id(self, counter: str) -> int:
        return int(self._incr(keys=[self._key("c", counter), self._names],
                              args=[f"c:{counter}"]))

    def process_number(self) -> int:
        """1 for the first process that uses this key prefix, 2 for the next, ... (never
        reset)."""
        return int(self._redis.incr(f"{self.prefix}processes"))

    # -- whole state -------------------------------------------------------------------------------

    def reset(self, prefix: str = "") -> None:
        """Forget everything whose name starts with `prefix` (everything by default)."""
        self._reset(keys=[self._names], args=[self.prefix, prefix])

    def dump(self) -> dict[str, Any]:
        state: dict[str, dict[str, Any]] = {"maps": {}, "lists": {}, "counters": {}}
        for raw in self._redis.zrange(self._names, 0, -1):
            kind, _, name = _text(raw).partition(":")
            if kind == "m":
                state["maps"][name] = self._ordered_items(name)
            elif kind == "l":
                state["lists"][name] = self.slice(name, 0, None)
            elif kind == "c":
                value = self._redis.get(self._key("c", name))
                if value is not None:
                    state["counters"][name] = int(value)
        state["maps"] = {ns: items for ns, items in state["maps"].items() if items}
        state["lists"] = {name: items for name, items in state["lists"].items() if items}
        return state

    def _ordered_items(self, namespace: str) -> dict[str, Any]:
        keys = [_text(k) for k in self._redis.zrange(self._key("o", namespace), 0, -1)]
        texts = self._redis.hmget(self._key("m", namespace), keys) if keys else []
        return {k: decode(t) for k, t in zip(keys, texts, strict=True) if t is not None}

    def load(self, state: dict[str, Any]) -> None:
        """Replace the whole state with a `dump()` result.

        A state of up to `_ATOMIC_LOAD` values is written in one MULTI/EXEC; a larger one in
        batches, so Redis keeps serving other clients meanwhile (not atomic then)."""
        self.reset()
        size = sum(len(v) for part in ("maps", "lists") for v in state.get(part, {}).values())
        atomic = size <= _ATOMIC_LOAD
        with self._redis.pipeline(transaction=atomic) as pipe:
            for namespace, bucket in state.get("maps", {}).items():
                self._load_map(pipe, namespace, {str(k): v for k, v in bucket.items()}, atomic)
            for name, items in state.get("lists", {}).items():
                for start in range(0, len(items), _CHUNK):
                    pipe.rpush(self._key("l", name),
                               *(encode(v) for v in items[start:start + _CHUNK]))
                    _flush_unless(atomic, pipe)
                if items:
                    pipe.zadd(self._names, {f"l:{name}": 0})
            for name, value in state.get("counters", {}).items():
                pipe.set(self._key("c", name), int(value))
                pipe.zadd(self._names, {f"c:{name}": 0})
            pipe.execute()

    def _load_map(self, pipe: Any, namespace: str, bucket: dict[str, Any],
                  atomic: bool) -> None:
        if not bucket:
            return
        last = int(self._redis.incrby(f"{self.prefix}seq", len(bucket)))
        first = last - len(bucket) + 1
        keys = list(bucket)
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start:start + _CHUNK]
            order = {k: first + start + i for i, k in enumerate(chunk)}
            pipe.hset(self._key("m", namespace), mapping={k: encode(bucket[k]) for k in chunk})
            pipe.zadd(self._key("o", namespace), order)
            _flush_unless(atomic, pipe)
        pipe.zadd(self._names, {f"m:{namespace}": 0})


def _flush_unless(atomic: bool, pipe: Any) -> None:
    if not atomic and len(pipe) >= 20:
        pipe.execute()


def _text(raw: Any) -> str:
    return raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)


def split_prefix(url: str) -> tuple[str, str]:
    """`redis://h:p/db?prefix=x:` -> (`redis://h:p/db`, `x:`); the default prefix `jobmock:`."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), "jobmock:")
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix

