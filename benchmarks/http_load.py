"""Load benchmark: jobmock (validation on, validation off) against Stoplight Prism, side by side.

Run: `python benchmarks/http_load.py` (`--help` for the durations). Needs `wrk` (Debian
package) and Prism (`npm ci` in benchmarks/). Writes benchmarks/results/http_load-<time>.json
and benchmarks/results/http_load-latest.json, and prints a summary with the ratios.

What runs, in one process tree on loopback:
- `jobmock serve --port 0` (the default: every request and response validated, real state,
  waitress), `jobmock serve --port 0 --no-validate` (the ceiling of the stack),
  `jobmock serve --port 0 --server werkzeug` (the previous server, in the mix only), and one
  `prism mock --errors=false -v warn` per spec;
- state set up through each mock's API first (jobs, runs, BullMQ lock tokens), see
  `workload.py`; Prism is stateless and gets the same requests;
- wrk (`mix.lua`) with 16 connections, one per wrk thread, the threads shared out among the
  five APIs: the mix, then each API alone, then each operation alone; the CPU time each
  side used (server processes from /proc via psutil, wrk from its rusage);
- checks: a write on one connection is read back on another; `jobmock serve` start-up time;
  the pytest `jobmock` fixture's cost per test; and, with `--soak S`, the mock's resident
  memory over an S-second mixed run (300 for the 5-minute figure).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fixture_cost
import workload
from servers import MockServer, PrismServers, cpu_seconds, rss_bytes

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SCRIPT = HERE / "mix.lua"
CONNECTIONS = 16
TARGETS = {"p99_ms": 10.0, "vs_prism": 1.5, "validation_cost": 0.25, "ready_s": 1.0,
           "fixture_ms": 20.0}


def main() -> int:
    args = _arguments()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    mocks = [MockServer("jobmock"), MockServer("jobmock --no-validate", ("--no-validate",)),
             MockServer("jobmock --server werkzeug", ("--server", "werkzeug"))]
    if args.workers > 1:
        store = f"sqlite:{tempfile.mkdtemp(prefix='jobmock-bench-')}/state.db"
        mocks.append(MockServer(f"jobmock --workers {args.workers} --store sqlite:",
                                ("--workers", str(args.workers), "--store", store)))
    prism = PrismServers(apis=workload.API_NAMES)
    try:
        result = _run(args, mocks, prism)
    finally:
        for server in [*mocks, prism]:
            server.stop()
    _write(result)
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10,
                        help="seconds of the mixed run, per server (default 10)")
    parser.add_argument("--op-duration", type=float, default=3,
                        help="seconds of each API alone and each operation alone (default 3)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="mixed runs per server, interleaved; the best is reported")
    parser.add_argument("--soak", type=float, default=0,
                        help="seconds of a mixed run watching the mock's memory (300 = the "
                             "5-minute figure; default 0: skipped)")
    parser.add_argument("--no-per-op", action="store_true", help="skip the per-operation runs")
    parser.add_argument("--workers", type=int, default=0,
                        help="also run `jobmock serve --workers N --store sqlite:...` in the mix")
    return parser.parse_args()


def _run(args: argparse.Namespace, mocks: list[MockServer], prism: PrismServers) -> dict[str, Any]:
    for mock in mocks:
        mock.start()
    prism.start()
    plans = {mock.label: _mock_plan(mock) for mock in mocks}
    plans["prism"] = _prism_plan(prism, plans["jobmock"][1])
    servers: dict[str, Any] = {mock.label: mock for mock in mocks} | {"prism": prism}
    result: dict[str, Any] = _about(mocks, prism)
    result["consistency"] = _consistency(mocks[0])
    result["mix"] = _best_mix(args, servers, plans)
    main = {k: v for k, v in servers.items() if k in ("jobmock", "jobmock --no-validate", "prism")}
    result["per_api"] = _per_group(args, main, plans, "api")
    if not args.no_per_op:
        result["per_op"] = _per_group(args, main, plans, "op")
    result["memory"] = _memory(mocks[0], plans["jobmock"][0], args.soak, prism)
    result["fixture"] = fixture_cost.measure()
    result["ratios"] = _ratios(result)
    result["targets"] = _targets(result)
    return result


def _about(mocks: list[MockServer], prism: PrismServers) -> dict[str, Any]:
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return {
        "benchmark": "jobmock vs Stoplight Prism, mixed workload of the five APIs",
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "arch": platform.machine(),
                    "python": platform.python_version(), "loadavg": os.getloadavg()},
        "tools": {"wrk": (wrk.stdout or wrk.stderr).split("\n")[0], "prism": prism.version()},
        "connections": CONNECTIONS,
        "ready_seconds": {mock.label: round(mock.ready_seconds, 3) for mock in mocks},
    }


# -- plans: what wrk sends to each server -------------------------------------------------------

Plan = dict[str, list[workload.Request]]


def _mock_plan(mock: MockServer) -> tuple[Plan, workload.State]:
    state = workload.set_up(mock.root)
    return workload.plan(state, prefix=True), state


def _prism_plan(prism: PrismServers, state: workload.State) -> tuple[Plan, workload.State]:
    return workload.plan(state, prefix=False), state


def _lua_plan(server: Any, plan: Plan, keep: Any) -> Path:
    """Write the Lua table `mix.lua` reads: per API, its endpoint and requests kept by `keep`."""
    entries = []
    for api, requests_ in plan.items():
        chosen = [r for r in requests_ if keep(api, r)]
        if not chosen:
            continue
        endpoint = server.endpoint(api)
        items = ",".join(_lua_request(r) for r in chosen)
        entries.append(f'{{name={_lua(api)},host={_lua(endpoint.host)},port={endpoint.port},'
                       f'requests={{{items}}}}}')
    handle, name = tempfile.mkstemp(prefix="jobmock-plan-", suffix=".lua")
    with os.fdopen(handle, "w") as file:
        file.write("return {apis={" + ",".join(entries) + "}}\n")
    return Path(name)


def _lua_request(request: workload.Request) -> str:
    headers = ",".join(f"[{_lua(k)}]={_lua(v)}" for k, v in request.headers.items())
    body = _lua(request.body) if request.body is not None else "nil"
    return (f"{{method={_lua(request.method)},path={_lua(request.path)},"
            f"headers={{{headers}}},body={body}}}")


def _lua(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


# -- running wrk --------------------------------------------------------------------------------


def _wrk(server: Any, plan: Plan, keep: Any, duration: float) -> dict[str, Any]:
    """One wrk run of `duration` seconds; latency, statuses and the CPU of both sides."""
    plan_file = _lua_plan(server, plan, keep)
    try:
        apis = [api for api, rs in plan.items() if any(keep(api, r) for r in rs)]
        threads = CONNECTIONS if len(apis) > 1 else 2
        url = f"http://127.0.0.1:{server.endpoint(apis[0]).port}/"  # wrk checks it connects
        server_cpu = cpu_seconds(server.pids())
        wrk_cpu = _children_cpu()
        output = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(CONNECTIONS), "-d", f"{max(1, round(duration))}s",
             "--timeout", "5s", "-s", str(SCRIPT), url],
            capture_output=True, text=True, check=False,
            env={**os.environ, "JOBMOCK_BENCH_PLAN": str(plan_file)})
    finally:
        plan_file.unlink()
    if output.returncode != 0:
        raise RuntimeError(f"wrk failed: {output.stderr or output.stdout}")
    return _summary(output.stdout, cpu_seconds(server.pids()) - server_cpu,
                    _children_cpu() - wrk_cpu)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _summary(output: str, server_cpu: float, wrk_cpu: float) -> dict[str, Any]:
    line = next(x for x in output.splitlines() if x.startswith("JOBMOCK_RESULT "))
    raw = json.loads(line.split(" ", 1)[1])
    seconds = raw["duration_us"] / 1e6
    statuses = dict(sorted(raw["statuses"].items()))
    return {
        "requests": raw["requests"], "seconds": round(seconds, 2),
        "rps": round(raw["requests"] / seconds, 1),
        "p50_ms": raw["p50_us"] / 1000, "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000, "max_ms": raw["max_us"] / 1000,
        "statuses": statuses,
        "5xx": sum(n for s, n in statuses.items() if s.startswith("5")),
        "socket_errors": raw["errors"],
        "server_cpu_s": round(server_cpu, 2), "wrk_cpu_s": round(wrk_cpu, 2),
        "server_cpu_per_1k_requests_ms": round(1e6 * server_cpu / max(raw["requests"], 1), 2),
    }


def _best_mix(args: argparse.Namespace, servers: dict[str, Any],
              plans: dict[str, tuple[Plan, workload.State]]) -> dict[str, Any]:
    best: dict[str, Any] = {}
    for _ in range(args.rounds):
        for label, server in servers.items():
            run = _wrk(server, plans[label][0], lambda api, r: True, args.duration)
            _print(f"mix      {label:<22}", run)
            if label not in best or run["rps"] > best[label]["rps"]:
                best[label] = run
    return best


def _per_group(args: argparse.Namespace, servers: dict[str, Any],
               plans: dict[str, tuple[Plan, workload.State]], kind: str) -> dict[str, Any]:
    """Each API alone (`kind="api"`) or each operation alone (`kind="op"`), per server."""
    reference = plans["jobmock"][0]
    groups = list(reference) if kind == "api" else list(
        dict.fromkeys(r.op for rs in reference.values() for r in rs))
    found: dict[str, Any] = {}
    for group in groups:
        found[group] = {}
        for label, server in servers.items():
            keep = ((lambda api, r, g=group: api == g) if kind == "api"
                    else (lambda api, r, g=group: r.op == g))
            run = _wrk(server, plans[label][0], keep, args.op_duration)
            found[group][label] = run
            _print(f"{group:<26} {label:<22}", run)
    return found


def _print(title: str, run: dict[str, Any]) -> None:
    print(f"{title} {run['rps']:>8.0f} req/s  p50 {run['p50_ms']:6.2f} ms  "
          f"p99 {run['p99_ms']:6.2f} ms  server CPU {run['server_cpu_s']:5.1f} s  "
          f"statuses {run['statuses']}", flush=True)


# -- checks -------------------------------------------------------------------------------------


def _consistency(mock: MockServer) -> dict[str, Any]:
    """A write answered on one connection is read back on another."""
    job = f"{mock.root}/nimble/v1/jobs"
    with requests.Session() as writer, requests.Session() as reader:
        created = writer.post(job, json={"name": "consistency", "agent_name": "a"},
                              headers=workload.BEARER, timeout=10).json()
        writer.patch(f"{job}/{created['id']}", json={"display_name": "seen elsewhere"},
                     headers=workload.BEARER, timeout=10)
        read = reader.get(f"{job}/{created['id']}", headers=workload.BEARER, timeout=10).json()
    return {"write_then_read_on_another_connection": read.get("display_name") ==
            "seen elsewhere", "processes": 1}


def _memory(mock: MockServer, plan: Plan, seconds: float, prism: PrismServers) -> dict[str, Any]:
    """Resident memory of the mock sampled during a mixed run of `seconds` (0: skipped)."""
    if seconds <= 0:
        return {"skipped": "run with --soak 300 for the 5-minute figure"}
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    begun = time.perf_counter()

    def sample() -> None:
        while not stop.wait(5):
            samples.append((round(time.perf_counter() - begun), rss_bytes(mock.pids())))

    before = _state_size(mock)
    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    run = _wrk(mock, plan, lambda api, r: True, seconds)
    stop.set()
    watcher.join()
    return _memory_report(samples, before, _state_size(mock), run)


def _state_size(mock: MockServer) -> int:
    return len(requests.get(f"{mock.root}/__jobmock/state", timeout=30).content)


def _memory_report(samples: list[tuple[float, int]], state_before: int, state_after: int,
                   run: dict[str, Any]) -> dict[str, Any]:
    mib = 1024 * 1024
    rss = [value for _, value in samples]
    later = rss[len(rss) // 2:] or rss
    return {
        "seconds": run["seconds"], "requests": run["requests"], "rps": run["rps"],
        "rss_mib_samples": [(t, round(v / mib, 1)) for t, v in samples],
        "rss_mib_first": round(rss[0] / mib, 1) if rss else None,
        "rss_mib_last": round(rss[-1] / mib, 1) if rss else None,
        "rss_mib_growth_second_half": round((later[-1] - later[0]) / mib, 1) if later else None,
        "state_dump_mib_before": round(state_before / mib, 2),
        "state_dump_mib_after": round(state_after / mib, 2),
    }


def _ratios(result: dict[str, Any]) -> dict[str, Any]:
    mix = result["mix"]
    ratios: dict[str, Any] = {
        "mix_jobmock_vs_prism": round(mix["jobmock"]["rps"] / mix["prism"]["rps"], 2),
        "mix_novalidate_vs_prism": round(mix["jobmock --no-validate"]["rps"] /
                                         mix["prism"]["rps"], 2),
        "validation_cost": round(1 - mix["jobmock"]["rps"] /
                                 mix["jobmock --no-validate"]["rps"], 3),
        "validation_cost_in_server_cpu": round(
            1 - mix["jobmock --no-validate"]["server_cpu_per_1k_requests_ms"] /
            mix["jobmock"]["server_cpu_per_1k_requests_ms"], 3),
        "mix_waitress_vs_werkzeug": round(mix["jobmock"]["rps"] /
                                          mix["jobmock --server werkzeug"]["rps"], 2),
        "server_cpu_per_request_jobmock_vs_prism": round(
            mix["jobmock"]["server_cpu_per_1k_requests_ms"] /
            mix["prism"]["server_cpu_per_1k_requests_ms"], 2),
    }
    for group in ("per_api", "per_op"):
        ratios[f"{group}_jobmock_vs_prism"] = {
            name: round(runs["jobmock"]["rps"] / runs["prism"]["rps"], 2)
            for name, runs in result.get(group, {}).items()}
    return ratios


def _targets(result: dict[str, Any]) -> dict[str, Any]:
    memory = result["memory"]
    growth = memory.get("rss_mib_growth_second_half")
    return {
        "mix >= 1.5x prism": result["ratios"]["mix_jobmock_vs_prism"] >= TARGETS["vs_prism"],
        "mix p99 < 10 ms": result["mix"]["jobmock"]["p99_ms"] < TARGETS["p99_ms"],
        "validation costs <= 25%": result["ratios"]["validation_cost"]
        <= TARGETS["validation_cost"],
        "serve ready < 1 s": result["ready_seconds"]["jobmock"] < TARGETS["ready_s"],
        "fixture < 20 ms per test": result["fixture"]["per_test_ms_mean"] < TARGETS["fixture_ms"],
        "state consistent across connections":
            result["consistency"]["write_then_read_on_another_connection"],
        "no 5xx from jobmock in the mix": result["mix"]["jobmock"]["5xx"] == 0,
        "memory growth (MiB, second half of the soak)": growth,
    }


def _write(result: dict[str, Any]) -> None:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(result, indent=2) + "\n"
    for name in (f"http_load-{stamp}.json", "http_load-latest.json"):
        (RESULTS / name).write_text(text, encoding="utf-8")
    print("\nratios:", json.dumps(result["ratios"], indent=2))
    print("targets:", json.dumps(result["targets"], indent=2))
    print(f"-> {RESULTS / f'http_load-{stamp}.json'}")


if __name__ == "__main__":
    sys.exit(main())
