"""Profile `jobmock serve` under the benchmark's mixed load with py-spy (a sampling profiler).

Run: `python benchmarks/profile_mix.py [--duration S] [--label NAME] [-- extra serve flags]`.
Writes benchmarks/results/profile-<label>.collapsed (py-spy's collapsed stacks, for
flamegraph tools) and profile-<label>.txt: the functions holding the most samples, inclusive
(anywhere on the stack) and exclusive (on top of it), as percentages of the samples. Only
the thread holding the GIL is sampled (`--gil`): a thread waiting for the GIL after a
socket call would otherwise look busy, and the mock is bound by one core's Python time.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import http_load
from servers import MockServer

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--label", default="mix")
    parser.add_argument("--summarise", metavar="FILE", type=Path,
                        help="only summarise a collapsed-stacks file recorded before")
    parser.add_argument("flags", nargs="*", help="extra `jobmock serve` flags")
    args = parser.parse_args()
    if args.summarise:
        print(summarise(args.summarise.read_text(encoding="utf-8"), None))
        return 0
    if shutil.which("py-spy") is None and not (Path(sys.executable).parent / "py-spy").exists():
        sys.exit("py-spy is not installed (pip install py-spy)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    mock = MockServer(args.label, tuple(args.flags)).start()
    try:
        plan, _ = http_load._mock_plan(mock)
        collapsed = RESULTS / f"profile-{args.label}.collapsed"
        spy = subprocess.Popen([_py_spy(), "record", "--pid", str(mock.process.pid),  # type: ignore[union-attr]
                                "--format", "raw", "--rate", "200", "--nonblocking", "--gil",
                                "--duration", str(args.duration + 1), "-o", str(collapsed)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run = http_load._wrk(mock, plan, lambda api, r: True, args.duration)
        spy.wait()
    finally:
        mock.stop()
    report = summarise(collapsed.read_text(encoding="utf-8"), run)
    (RESULTS / f"profile-{args.label}.txt").write_text(report, encoding="utf-8")
    print(report)
    return 0


def _py_spy() -> str:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else "py-spy"


LAYERS = (  # the first match from the top of the stack down names the layer of a sample
    ("jsonschema (exact validation)", ("jsonschema/", "referencing/", "rpds")),
    ("jsonschema-rs (fast validation)", ("CompiledSchema", "jsonschema_rs")),
    ("jobmock validation (params, issues)", ("mockserver/validation.py",)),
    ("jobmock pipeline, handlers, store, journal", ("mockserver/",)),
    ("Werkzeug's development server (werkzeug.serving, http.server)",
     ("werkzeug/serving.py", "socketserver.py", "http/server.py")),
    ("Flask and Werkzeug (request, routing, response)", ("flask/", "werkzeug/", "blinker/")),
    ("waitress (HTTP parsing, I/O loop, threads)", ("waitress/",)),
)


def _layer(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, markers in LAYERS:
            if any(marker in frame for marker in markers):
                return name
    return "other (interpreter, threads, sockets)"


def summarise(collapsed: str, run: dict[str, object] | None, top: int = 30) -> str:
    """Sample shares by layer, and per function inclusive and exclusive."""
    inclusive: collections.Counter[str] = collections.Counter()
    exclusive: collections.Counter[str] = collections.Counter()
    layers: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = [_short(f) for f in stack.split(";")]
        if _idle(frames[-1]):
            continue
        count = int(count_text)
        total += count
        exclusive[frames[-1]] += count
        layers[_layer(frames)] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"load: {run['rps']} req/s, p50 {run['p50_ms']} ms, p99 {run['p99_ms']} ms, "
             f"statuses {run['statuses']}" if run else "load: (summarised from a file)",
             f"busy samples: {total}", "", "layer %  layer (innermost library on the stack)"]
    lines += [f"{100 * n / total:7.1f}  {name}" for name, n in layers.most_common()]
    lines += ["", "inclusive %  function"]
    lines += [f"{100 * n / total:10.1f}  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "exclusive %  function"]
    lines += [f"{100 * n / total:10.1f}  {name}" for name, n in exclusive.most_common(top)]
    return "\n".join(lines) + "\n"


def _short(frame: str) -> str:
    """`handle (werkzeug/serving.py:390)` → `handle (werkzeug/serving.py)`."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/", "wt-perf/"):
        path = path.split(marker)[-1]
    return f"{name} ({path})" if where else name


def _idle(frame: str) -> bool:
    return any(frame.startswith(word) for word in ("select ", "poll ", "wait ", "accept ",
                                                    "Condition.wait ", "Event.wait "))


if __name__ == "__main__":
    sys.exit(main())
