"""Does reading one page cost the same with 1k, 100k and 1M stored items? Per store backend.

Run: `python benchmarks/store_scaling.py [--sizes 1000,100000,1000000] [--redis URL]`
(writes benchmarks/results/store_scaling.json). Redis comes from `--redis`, else
`JOBMOCK_TEST_REDIS_URL`; without one the Redis rows are skipped.

For each backend and size, the store is filled (`load`) with that many BullMQ log lines of
one job and that many jobs of one namespace, then timed (median of repeated reads):

- store API: `slice` of 10 log lines at the start, the middle and the end; `length`;
  `page` of 10 jobs at the start and the middle; `count`;
- HTTP: `GET /bullmq/queues/q/jobs/1/logs?start=0&length=10` against the mock on a real
  socket (Werkzeug, one process), the store behind it;
- space: bytes per stored log line (memory: traced Python allocations; sqlite: the pages
  of the lists' table after a WAL checkpoint (`dbstat`); redis: `MEMORY USAGE` of the list);
- `reset("bullmq:")`: seconds to forget the filled list.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from mockserver.app import create_app
from mockserver.server import ServerThread
from mockserver.store import Store, open_store

RESULTS = Path(__file__).parent / "results" / "store_scaling.json"
LOGS, JOBS = "bullmq:q:queue-1:logs:1", "nimble:jobs"
PAGE, REPEAT, HTTP_REPEAT = 10, 50, 30


def log_line(n: int) -> str:
    return f"2026-11-23T12:00:00.000Z worker-3 processed item {n} of batch 42"


def job(n: int) -> dict[str, Any]:
    return {"id": f"job_{n}", "name": f"job {n}", "agent_name": "amazon_product_page",
            "created_at": "2026-11-23T12:00:00.000Z", "description": None}


def median_ms(read: Callable[[], Any], repeat: int = REPEAT) -> float:
    read()  # warm up (connections, caches)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        read()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 4)


def fill(store: Store, size: int) -> float:
    """Load `size` log lines and `size` jobs; seconds taken."""
    started = time.perf_counter()
    store.load({"maps": {JOBS: {f"job_{n}": job(n) for n in range(size)}},
                "lists": {LOGS: [log_line(n) for n in range(size)]}, "counters": {}})
    return round(time.perf_counter() - started, 2)


def store_reads(store: Store, size: int) -> dict[str, float]:
    middle = size // 2
    return {
        "logs_first_page_ms": median_ms(lambda: store.slice(LOGS, 0, PAGE)),
        "logs_middle_page_ms": median_ms(lambda: store.slice(LOGS, middle, middle + PAGE)),
        "logs_last_page_ms": median_ms(lambda: store.slice(LOGS, -PAGE, None)),
        "logs_length_ms": median_ms(lambda: store.length(LOGS)),
        "jobs_first_page_ms": median_ms(lambda: store.page(JOBS, 0, PAGE)),
        "jobs_middle_page_ms": median_ms(lambda: store.page(JOBS, middle, PAGE)),
        "jobs_count_ms": median_ms(lambda: store.count(JOBS)),
    }


def http_read(url: str, store: Store) -> float:
    app = create_app({"apis": ("bullmq",), "store": url})
    server = ServerThread(app).start()
    try:
        with requests.Session() as http:
            http.headers["Authorization"] = "Bearer jobmock"
            target = f"{server.url}/bullmq/queues/queue-1/jobs/1/logs"

            def read() -> None:
                reply = http.get(target, params={"start": 0, "length": PAGE}, timeout=60)
                assert reply.status_code == 200 and len(reply.json()["logs"]) == PAGE

            return median_ms(read, HTTP_REPEAT)
    finally:
        server.stop()
        app.extensions["jobmock"].store.close()


def bytes_per_line(kind: str, url: str, store: Store, size: int) -> float:
    if kind == "sqlite":  # the pages of the `items` table (the lists), from `dbstat`
        with sqlite3.connect(url.removeprefix("sqlite:")) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name = 'items'").fetchone()
        return round(int(pages[0]) / size, 1)
    if kind == "redis":
        import redis

        client = redis.Redis.from_url(url.partition("?")[0])
        used = client.memory_usage(f"{store.prefix}l:{LOGS}", samples=0)  # type: ignore[attr-defined]
        client.close()
        return round(int(used or 0) / size, 1)
    tracemalloc.start()
    probe = open_store("memory:")
    before = tracemalloc.get_traced_memory()[0]
    probe.load({"lists": {LOGS: [log_line(n) for n in range(size)]}})
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return round(used / size, 1)


def timed_reset(store: Store) -> float:
    """Seconds to forget one API's state (`reset("bullmq:")`): the filled log list."""
    started = time.perf_counter()
    store.reset("bullmq:")
    assert store.length(LOGS) == 0
    return round(time.perf_counter() - started, 3)


def backend_urls(redis_url: str | None, directory: Path) -> dict[str, str | None]:
    prefix = f"jobmock-bench-{uuid.uuid4().hex[:8]}:"
    return {"memory": "memory:", "sqlite": f"sqlite:{directory / 'bench.db'}",
            "redis": f"{redis_url}?prefix={prefix}" if redis_url else None}


def measure(kind: str, url: str, sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    store = open_store(url)
    try:
        for size in sizes:
            row: dict[str, Any] = {"backend": kind, "size": size, "fill_seconds": fill(store, size)}
            row.update(store_reads(store, size))
            # memory: is per app, so the HTTP row reads an app's own store, filled the same way
            row["http_logs_page_ms"] = (http_read(url, store) if kind != "memory"
                                        else _memory_http(size))
            row["bytes_per_log_line"] = bytes_per_line(kind, url, store, size)
            row["reset_api_seconds"] = timed_reset(store)
            print(json.dumps(row), flush=True)
            rows.append(row)
    finally:
        store.reset()
        store.close()
    return rows


def _memory_http(size: int) -> float:
    app = create_app({"apis": ("bullmq",)})
    fill(app.extensions["jobmock"].store, size)
    server = ServerThread(app).start()
    try:
        with requests.Session() as http:
            http.headers["Authorization"] = "Bearer jobmock"
            target = f"{server.url}/bullmq/queues/queue-1/jobs/1/logs"
            return median_ms(lambda: http.get(target, params={"start": 0, "length": PAGE},
                                              timeout=60), HTTP_REPEAT)
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--redis", default=os.environ.get("JOBMOCK_TEST_REDIS_URL"))
    parser.add_argument("--backends", default="memory,sqlite,redis")
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as directory:
        urls = backend_urls(options.redis, Path(directory))
        for kind in options.backends.split(","):
            url = urls[kind]
            if url is None:
                print(f"{kind}: skipped (no --redis URL / JOBMOCK_TEST_REDIS_URL)")
                continue
            rows.extend(measure(kind, url, sizes))
    result = {"benchmark": "one page of 10 log lines / jobs, by stored count and backend",
              "rows": rows, "python": sys.version.split()[0], "machine": platform.machine(),
              "cpus": os.cpu_count(), "load_average": os.getloadavg()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"-> {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
