"""How fast the mock hands BullMQ jobs to a worker endpoint and fires SAP schedules.

Run: `python benchmarks/dispatch.py` (writes benchmarks/results/dispatch.json). Three runs, side
by side in one process, each against its own mock on 127.0.0.1 and a local worker/action that
answers at once:
- virtual clock: 200 BullMQ jobs, worker concurrency 8, one `advance(0)` that dispatches all;
- real clock (`jobmock serve` defaults): the same 200 jobs, until the last one is completed;
- virtual clock: an SAP job whose cron fires every minute, `advance` one day (1440 calls).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from mockserver.app import create_app
from mockserver.server import ServerThread

RESULTS = Path(__file__).parent / "results" / "dispatch.json"
JOBS = 200
AUTH = {"Authorization": "Bearer jobmock"}


class _Quick(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_POST = do_PUT = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _receiver() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Quick)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def _bullmq(settings: dict[str, Any], virtual: bool) -> dict[str, Any]:
    server = ServerThread(create_app(settings), dispatch=not virtual).start()
    base, worker = f"{server.url}/bullmq", _receiver()
    requests.post(f"{base}/workers", headers=AUTH, timeout=10, json={
        "queue": "bench", "endpoint": {"url": worker, "method": "POST"},
        "opts": {"concurrency": 8}})
    jobs = [{"name": "j", "data": {"i": i}} for i in range(JOBS)]
    started = time.perf_counter()
    requests.post(f"{base}/queues/bench/jobs", headers=AUTH, json=jobs, timeout=30)
    if virtual:
        requests.post(f"{server.url}/__jobmock/clock", json={"advance": 0}, timeout=600)
    while True:
        counts = requests.get(f"{base}/queues/bench/jobs?statuses=completed&length=1",
                              headers=AUTH, timeout=10).json()["counts"]
        if counts["completed"] == JOBS:
            break
        time.sleep(0.01)
    seconds = time.perf_counter() - started
    server.stop()
    return {"jobs": JOBS, "seconds": round(seconds, 3), "jobs_per_second": round(JOBS / seconds)}


def _sap_cron_day() -> dict[str, Any]:
    server = ServerThread(create_app({"random_seed": 1})).start()
    action = _receiver()
    requests.post(f"{server.url}/sap/scheduler/jobs", auth=("jobmock", "jobmock"), timeout=10,
                  json={"name": "bench", "description": "d", "action": action, "active": True,
                        "httpMethod": "POST",
                        "schedules": [{"cron": "* * * * * * 0", "active": True}]})
    started = time.perf_counter()
    requests.post(f"{server.url}/__jobmock/clock", json={"advance": 86400}, timeout=600)
    seconds = time.perf_counter() - started
    server.stop()
    return {"firings": 1440, "seconds": round(seconds, 3),
            "firings_per_second": round(1440 / seconds)}


def main() -> int:
    result = {
        "benchmark": "dispatch to a local endpoint answering at once",
        "bullmq_virtual_advance": _bullmq({"random_seed": 1}, virtual=True),
        "bullmq_real_clock": _bullmq({"auto_progress": True}, virtual=False),
        "sap_cron_one_day_virtual": _sap_cron_day(),
        "python": sys.version.split()[0], "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
