"""Run schemathesis against every API of a running mock; print each summary; exit 1 on failure.

    python tests/sdk/schemathesis/run.py --base-url http://127.0.0.1:8080   # `jobmock serve`
    python tests/sdk/schemathesis/run.py --base-url ... --api nimble --max-examples 50
    python tests/sdk/schemathesis/run.py --base-url ... --max-time 30      # the CI budget

`st run specs/<api>.yaml --url <base-url>/<api>` for each API, in two processes that run at
once with the others: one for the phases that walk the schema (examples, coverage), one for
the phases that generate (fuzzing, and the stateful phase that follows the specs' links).
Apart, each gets its own time budget: in a single run a time limit is spent in phase order,
and the bounded phases could leave the stateful one nothing. `schemathesis.toml` beside this
file sets everything else (all checks, positive and negative data), `hooks.py` the
credentials and the excluded documented behaviours. tests/sdk/test_schemathesis.py calls
`run_all` against a live server.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
CONFIG = HERE / "schemathesis.toml"
HOOKS = HERE / "hooks.py"
APIS = ("sap", "nemo", "bullmq", "intuned", "nimble")
PARTS = {"walk": ("examples", "coverage"), "generate": ("fuzzing", "stateful")}
RUN_TIMEOUT = 600
# Under a time limit fuzzing and stateful scenarios take turns until it is spent; short turns
# (this many examples per operation, or scenarios, per turn) let the stateful phase start early.
TURN_EXAMPLES = 2


@dataclass
class Outcome:
    """One `st run`: the API, its part (see PARTS), exit status, everything `st` printed, and
    the failures the hooks dropped (one line per failure: rule, failure code, test case id)."""

    api: str
    part: str
    returncode: int
    output: str
    seconds: float
    dropped: list[str]

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def label(self) -> str:
        return f"{self.api}: {', '.join(PARTS[self.part])}"

    @property
    def summary(self) -> str:
        """The FAILURES (if any) and SUMMARY sections of the output."""
        lines = self.output.splitlines()
        start = next((i for i, line in enumerate(lines)
                      if " FAILURES " in line or " SUMMARY " in line), 0)
        return "\n".join(lines[start:])


def command(api: str, base_url: str, part: str = "walk", max_examples: int | None = None,
            seed: int | None = None, max_time: int | None = None) -> list[str]:
    """The `st run` command line for one part of one API."""
    cmd = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run",
           str(ROOT / "specs" / f"{api}.yaml"), "--url", f"{base_url.rstrip('/')}/{api}",
           "--phases", ",".join(PARTS[part])]
    for option, value in (("--max-examples", max_examples), ("--seed", seed),
                          ("--max-time", max_time)):
        if value is not None:
            cmd += [option, str(value)]
    return cmd


def run_all(base_url: str, apis: Sequence[str] = APIS, max_examples: int | None = None,
            seed: int | None = None, max_time: int | None = None) -> list[Outcome]:
    """Run both parts of every API at once against `base_url`; wait for all of them.

    `max_time` (seconds, per process) bounds each run: schemathesis shares it between the
    phases of the run, repeating fuzzing and stateful scenarios (TURN_EXAMPLES at a time,
    unless `max_examples` is given) until it is spent. Without it every phase runs to its end
    (`max_examples` per operation, default in schemathesis.toml)."""
    max_examples = max_examples or _env_int("JOBMOCK_ST_MAX_EXAMPLES")
    seed = seed or _env_int("JOBMOCK_ST_SEED")
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), "NO_COLOR": "1", "COLUMNS": "100"}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jobmock-st-") as logs:
        running = []
        for api in apis:
            for part in PARTS:
                log = Path(logs) / f"{api}-{part}"
                examples = max_examples or (TURN_EXAMPLES if max_time and part == "generate"
                                            else None)
                process = subprocess.Popen(
                    command(api, base_url, part, examples, seed, max_time), cwd=ROOT,
                    env={**env, "JOBMOCK_ST_DROPPED_LOG": str(log)},
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                running.append((api, part, log, process))
        return [_finish(api, part, log, process, started)
                for api, part, log, process in running]


def _finish(api: str, part: str, log: Path, process: subprocess.Popen[str],
            started: float) -> Outcome:
    try:
        output, _ = process.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        output = process.communicate()[0] + f"\n[run.py] killed after {RUN_TIMEOUT} s"
    dropped = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return Outcome(api, part, process.returncode, output, time.monotonic() - started, dropped)


def report(outcomes: Sequence[Outcome], full: bool = False) -> str:
    """Each run's summary (whole output if it failed or `full`), the failures each exclusion
    dropped, then the pending mock fixes the hooks exclude."""
    blocks = []
    for outcome in outcomes:
        verdict = "ok" if outcome.ok else f"FAILED (exit {outcome.returncode})"
        body = outcome.output if full or not outcome.ok else outcome.summary
        blocks.append(f"===== schemathesis {outcome.label} ({verdict}, {outcome.seconds:.0f} s)"
                      f" =====\n{body.rstrip()}{_dropped(outcome)}")
    blocks.append(pending_note())
    return "\n\n".join(blocks)


def _dropped(outcome: Outcome) -> str:
    """How many failures each rule of hooks.py dropped (the reasons are in hooks.py)."""
    if not outcome.dropped:
        return ""
    counts = Counter(line.split("\t")[0] for line in outcome.dropped)
    lines = [f"  {count:>5}  {rule}" for rule, count in counts.most_common()]
    return "\n\nDropped by hooks.py (reasons there):\n" + "\n".join(lines)


def pending_note() -> str:
    """The real mock bugs the hooks exclude until their fix lands (hooks.PENDING)."""
    spec = importlib.util.spec_from_file_location("_jobmock_st_hooks", HOOKS)
    assert spec is not None and spec.loader is not None
    hooks = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, hooks)
    spec.loader.exec_module(hooks)
    if not hooks.PENDING:
        return "No pending mock fixes are excluded."
    lines = ["Excluded until fixed (real mock bugs outside the vendor modules, hooks.PENDING):"]
    for item in hooks.PENDING:
        lines.append(f"- {item.name}: {item.bug}\n  fix: {item.fix}")
    return "\n".join(lines)


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--base-url", required=True, help="the server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--api", action="append", choices=APIS, help="repeatable; default all")
    parser.add_argument("--max-examples", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--max-time", type=int, help="seconds per run (default: no limit)")
    parser.add_argument("--full", action="store_true", help="print every run's whole output")
    args = parser.parse_args(argv)
    outcomes = run_all(args.base_url, args.api or APIS, args.max_examples, args.seed,
                       args.max_time)
    print(report(outcomes, full=args.full))
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
