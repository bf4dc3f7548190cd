"""`sqlite:PATH`: the state in one SQLite file, shared by the worker processes of one host.

Layout (five tables):

- ``entries(ns, key, value)``: namespaces; the rowid is the insertion order (an upsert keeps
  it, a new key gets a rowid above every existing one), and the index ``entries_order`` on
  ``ns`` (which SQLite stores as ``(ns, rowid)``) serves a page in order without a scan.
- ``items(list, pos, value)``: lists, keyed by ``(list, pos)`` (0-based append order), so a
  slice and the length are B-tree range reads, whatever the list's size.
- ``sizes(ns, n)``: the number of keys per namespace, kept in the writing transaction, so
  `count` is one lookup.
- ``counters(name, value)``: id counters. ``meta(name, value)``: the store's own bookkeeping
  (process numbers), outside `reset`, `dump` and `load`.

Concurrency: WAL journal (readers never block the writer), and every write runs in a
``BEGIN IMMEDIATE`` transaction — it takes the write lock before it reads, so a
read-modify-write (`update`, `append`, `next_id`) can neither lose an update nor fail with a
stale snapshot; other writers wait (busy timeout) instead of failing.

Durability: ``synchronous=NORMAL`` by default. In WAL mode a transaction is in the WAL file
(the OS's page cache) when COMMIT returns, so an acknowledged write survives the death of the
process (SIGKILL, a crash); only losing the OS itself (power cut, kernel panic) can drop the
last transactions. ``sqlite:PATH?synchronous=full`` fsyncs the WAL at every commit to survive
that too, at the cost of one fsync per write.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from mockserver.stores import decode, encode, prefix_upper_bound

__all__ = ["SqliteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                                    UNIQUE (ns, key));
CREATE INDEX IF NOT EXISTS entries_order ON entries (ns);
CREATE TABLE IF NOT EXISTS items (list TEXT NOT NULL, pos INTEGER NOT NULL, value TEXT NOT NULL,
                                  PRIMARY KEY (list, pos)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sizes (ns TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
"""
_SYNCHRONOUS = ("off", "normal", "full", "extra")
_BUSY_TIMEOUT_SECONDS = 60.0


class SqliteStore:
    """The `Store` interface over one SQLite file (see the module docstring for the layout)."""

    shared = True

    def __init__(self, path: str, synchronous: str = "normal") -> None:
        if synchronous.lower() not in _SYNCHRONOUS:
            raise ValueError(f"synchronous={synchronous!r}: use one of {', '.join(_SYNCHRONOUS)}")
        self.path = path
        self._synchronous = synchronous.upper()
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        with self._connection() as db:
            db.execute("PRAGMA journal_mode=WAL")
            with _immediate(db):
                for statement in _SCHEMA.split(";")[:-1]:
                    db.execute(statement)

    # -- connections: a small pool, one connection per concurrent caller ---------------------

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None,
                             check_same_thread=False)
        db.execute(f"PRAGMA synchronous={self._synchronous}")
        with self._lock:
            self._opened.append(db)
        return db

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            db = self._idle.get_nowait()
        except queue.Empty:
            db = self._connect()
        try:
            yield db
        finally:
            self._idle.put(db)

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as db, _immediate(db):
            yield db

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """One snapshot for several statements."""
        with self._connection() as db:
            db.execute("BEGIN")
            try:
                yield db
            finally:
                db.execute("COMMIT")

    def _one(self, sql: str, params: tuple[Any, ...]) -> Any:
        with self._connection() as db:
            row = db.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def _column(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self._connection() as db:
            return [decode(row[0]) for row in db.execute(sql, params)]

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for db in opened:
            db.close()

    # -- namespaces ------------------------------------------------------------------------------

    def get(self, namespace: str, key: str) -> Any | None:
        text = self._one("SELECT value FROM entries WHERE ns = ? AND key = ?", (namespace, key))
        return None if text is None else decode(text)

    def put(self, namespace: str, key: str, value: Any) -> None:
        text = encode(value)
        with self._writing() as db:
            added = db.execute("INSERT INTO entries (ns, key, value) VALUES (?, ?, ?) "
                               "ON CONFLICT (ns, key) DO NOTHING", (namespace, key, text))
            if added.rowcount:
                db.execute("INSERT INTO sizes (ns, n) VALUES (?, 1) "
                           "ON CONFLICT (ns) DO UPDATE SET n = n + 1", (namespace,))
            else:
                db.execute("UPDATE entries SET value = ? WHERE ns = ? AND key = ?",
                           (text, namespace, key))

    def delete(self, namespace: str, key: str) -> bool:
        with self._writing() as db:
            gone = db.execute("DELETE FROM entries WHERE ns = ? AND key = ?", (namespace, key))
            if gone.rowcount:
                db.execute("UPDATE sizes SET n = n - 1 WHERE ns = ?", (namespace,))
            return gone.rowcount > 0

    def values(self, namespace: str) -> list[Any]:
        return self._column("SELECT value FROM entries INDEXED BY entries_order WHERE ns = ? "
                            "ORDER BY rowid", (namespace,))

    def count(self, namespace: str) -> int:
        found = self._one("SELECT n FROM sizes WHERE ns = ?", (namespace,))
        return int(found or 0)

    def page(self, namespace: str, offset: int, limit: int) -> list[Any]:
        return self._column("SELECT value FROM entries INDEXED BY entries_order WHERE ns = ? "
                            "ORDER BY rowid LIMIT ? OFFSET ?",
                            (namespace, max(limit, 0), max(offset, 0)))

    def update(self, namespace: str, key: str, change: Callable[[Any], Any]) -> Any | None:
        """Atomically replace the value with `change(value)`; None when the key is absent.

        If `change` raises, nothing is written and the exception propagates."""
        with self._writing() as db:
            row = db.execute("SELECT value FROM entries WHERE ns = ? AND key = ?",
                             (namespace, key)).fetchone()
            if row is None:
                return None
            text = encode(change(decode(row[0])))
            db.execute("UPDATE entries SET value = ? WHERE ns = ? AND key = ?",
                       (text, namespace, key))
        return decode(text)

    # -- lists -----------------------------------------------------------------------------------

    def append(self, name: str, value: Any) -> int:
        with self._writing() as db:
            size = _list_length(db, name)
            db.execute("INSERT INTO items (list, pos, value) VALUES (?, ?, ?)",
                       (name, size, encode(value)))
        return size + 1

    def slice(self, name: str, start: int, stop: int | None) -> list[Any]:
        if start >= 0 and (stop is None or stop >= 0):
            return self._range(name, start, stop)
        with self._reading() as db:
            first, last, _ = slice(start, stop).indices(_list_length(db, name))
            return [decode(row[0]) for row in _range_rows(db, name, first, last)]

    def _range(self, name: str, start: int, stop: int | None) -> list[Any]:
        with self._connection() as db:
            return [decode(row[0]) for row in _range_rows(db, name, start, stop)]

    def length(self, name: str) -> int:
        with self._connection() as db:
            return _list_length(db, name)

    def drop_list(self, name: str) -> None:
        with self._writing() as db:
            db.execute("DELETE FROM items WHERE list = ?", (name,))

    # -- counters ----------------------------------------------------------------------------------

    def next_id(self, counter: str) -> int:
        with self._writing() as db:
            return _increment(db, "counters", counter)

    def process_number(self) -> int:
        """1 for the first process that opens this file, 2 for the next, ... (never reset)."""
        with self._writing() as db:
            return _increment(db, "meta", "processes")

    # -- whole state -------------------------------------------------------------------------------

    def reset(self, prefix: str = "") -> None:
        """Forget everything whose name starts with `prefix` (everything by default)."""
        with self._writing() as db:
            _delete_prefixed(db, prefix)

    def dump(self) -> dict[str, Any]:
        with self._reading() as db:
            maps: dict[str, dict[str, Any]] = {}
            for ns, key, text in db.execute("SELECT ns, key, value FROM entries ORDER BY rowid"):
                maps.setdefault(ns, {})[key] = decode(text)
            lists: dict[str, list[Any]] = {}
            for name, text in db.execute("SELECT list, value FROM items ORDER BY list, pos"):
                lists.setdefault(name, []).append(decode(text))
            counters = dict(db.execute("SELECT name, value FROM counters"))
        return {"maps": maps, "lists": lists, "counters": counters}

    def load(self, state: dict[str, Any]) -> None:
        """Replace the whole state with a `dump()` result (one transaction)."""
        with self._writing() as db:
            _delete_prefixed(db, "")
            db.executemany("INSERT INTO entries (ns, key, value) VALUES (?, ?, ?)",
                           ((ns, str(k), encode(v)) for ns, bucket in state.get("maps", {}).items()
                            for k, v in bucket.items()))
            db.executemany("INSERT INTO items (list, pos, value) VALUES (?, ?, ?)",
                           ((name, pos, encode(v)) for name, items in state.get("lists", {}).items()
                            for pos, v in enumerate(items)))
            db.executemany("INSERT INTO counters (name, value) VALUES (?, ?)",
                           ((str(k), int(v)) for k, v in state.get("counters", {}).items()))
            db.execute("INSERT INTO sizes (ns, n) SELECT ns, count(*) FROM entries GROUP BY ns")


@contextmanager
def _immediate(db: sqlite3.Connection) -> Iterator[None]:
    """A write transaction that holds the write lock from its first statement on."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _list_length(db: sqlite3.Connection, name: str) -> int:
    row = db.execute("SELECT max(pos) FROM items WHERE list = ?", (name,)).fetchone()
    return 0 if row[0] is None else int(row[0]) + 1


def _range_rows(db: sqlite3.Connection, name: str, start: int,
                stop: int | None) -> sqlite3.Cursor:
    if stop is None:
        return db.execute("SELECT value FROM items WHERE list = ? AND pos >= ? ORDER BY pos",
                          (name, start))
    return db.execute("SELECT value FROM items WHERE list = ? AND pos >= ? AND pos < ? "
                      "ORDER BY pos", (name, start, stop))


def _increment(db: sqlite3.Connection, table: str, name: str) -> int:
    row = db.execute(f"INSERT INTO {table} (name, value) VALUES (?, 1) ON CONFLICT (name) "
                     "DO UPDATE SET value = value + 1 RETURNING value", (name,)).fetchone()
    return int(row[0])


def _delete_prefixed(db: sqlite3.Connection, prefix: str) -> None:
    upper = prefix_upper_bound(prefix)
    for table, column in (("entries", "ns"), ("sizes", "ns"), ("items", "list"),
                          ("counters", "name")):
        if not prefix:
            db.execute(f"DELETE FROM {table}")
        elif upper is None:
            db.execute(f"DELETE FROM {table} WHERE substr({column}, 1, ?) = ?",
                       (len(prefix), prefix))
        else:
            db.execute(f"DELETE FROM {table} WHERE {column} >= ? AND {column} < ?",
                       (prefix, upper))
