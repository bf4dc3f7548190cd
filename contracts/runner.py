"""Run an API's suites against a target and collect a report. No pytest needed.

`run_suites(target, options)` runs the stateless suites of every selected operation, then the
API's state machine (`contracts.<api>.StateMachine`), and returns a `Report`: failures with
their reproductions, the (operation, status) coverage, and notes (e.g. skipped rules).
"""

from __future__ import annotations

import fnmatch
import importlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from hypothesis import seed as hypothesis_seed
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from contracts.failures import ContractFailure
from contracts.stateful import ApiStateMachine, suite_settings
from contracts.stateless import stateless_tests
from contracts.targets import Target, use_target
from mockserver.spec import Operation

__all__ = ["Options", "Outcome", "Report", "run_suites"]


@dataclass(frozen=True)
class Options:
    """What to run and with what budget."""

    max_examples: int = 25
    seed: int | None = None
    readonly: bool = False
    operations: str = "*"
    stateful: bool = True
    shrink_seconds: int = 30


@dataclass
class Outcome:
    """One suite's result."""

    suite: str
    operation: str
    failure: ContractFailure | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.failure is None and self.error is None


@dataclass
class Report:
    """Everything a run found."""

    api: str
    outcomes: list[Outcome] = field(default_factory=list)
    coverage: Counter[tuple[str, int]] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]

    @property
    def ok(self) -> bool:
        return not self.failures


Progress = Callable[[Outcome], None]


def run_suites(target: Target, options: Options, progress: Progress | None = None) -> Report:
    """Run the selected suites of `target.api`; never raises for a contract failure."""
    with _shrinking_bounded(options.shrink_seconds):
        return _run(target, options, progress)


@contextmanager
def _shrinking_bounded(seconds: int) -> Iterator[None]:
    """Bound the time Hypothesis spends shrinking one failure (its own limit is 5 minutes,
    long for a stateful run whose every step is several HTTP requests). The reproduction is
    the best found in that time."""
    from hypothesis.internal.conjecture import engine

    previous = getattr(engine, "MAX_SHRINKING_SECONDS", None)
    if previous is not None:
        engine.MAX_SHRINKING_SECONDS = seconds
    try:
        yield
    finally:
        if previous is not None:
            engine.MAX_SHRINKING_SECONDS = previous


def _run(target: Target, options: Options, progress: Progress | None) -> Report:
    report = Report(target.api)
    tracked = _CoverageTarget.wrap(target, report)
    for op in _selected(tracked, options):
        for kind, test in stateless_tests(tracked, op, options.max_examples, options.seed):
            _record(report, progress, f"stateless-{kind}", op.operation_id,
                    _seeded(test, options.seed))
    if options.stateful and not options.readonly:
        machine = _machine_class(target.api)
        _record(report, progress, "stateful", "*",
                lambda: _run_machine(machine, tracked, options))
    elif options.readonly:
        report.notes.append("read-only run: the stateful suite and unsafe methods were skipped")
    report.notes.extend(n for n in tracked.notes if n not in report.notes)
    return report


def _selected(target: Target, options: Options) -> list[Operation]:
    chosen = []
    for op in target.spec.operations:
        if options.readonly and op.method not in ("GET", "HEAD"):
            continue
        if fnmatch.fnmatch(op.operation_id, options.operations):
            chosen.append(op)
    return chosen


def _seeded(test: Callable[[], None], seed: int | None) -> Callable[[], None]:
    return test if seed is None else hypothesis_seed(seed)(test)


def _machine_class(api: str) -> type[ApiStateMachine]:
    module = importlib.import_module(f"contracts.{api}")
    machine: type[ApiStateMachine] = module.StateMachine
    return machine


def _run_machine(machine: type[ApiStateMachine], target: Target, options: Options) -> None:
    """Run the state machine; with a seed the run is derandomized (repeatable), and the
    runner never keeps Hypothesis' example database in the user's working directory."""
    budget = settings(suite_settings(max_examples=options.max_examples), database=None,
                      derandomize=options.seed is not None)
    with use_target(target):
        run_state_machine_as_test(machine, settings=budget)


def _record(report: Report, progress: Progress | None, suite: str, operation: str,
            test: Callable[[], None]) -> None:
    started = time.perf_counter()
    outcome = Outcome(suite, operation)
    try:
        test()
    except ContractFailure as failure:
        outcome.failure = failure
    except Exception as error:
        outcome.error = f"{type(error).__name__}: {error}"
    outcome.seconds = time.perf_counter() - started
    report.outcomes.append(outcome)
    if progress is not None:
        progress(outcome)


class _CoverageTarget(Target):
    """A target whose clients add their (operation, status) counts to the report."""

    report: Report

    @classmethod
    def wrap(cls, target: Target, report: Report) -> _CoverageTarget:
        wrapped = cls(target.api, target.transport, target.credentials, target.control,
                      target.readonly, target.notes)
        wrapped.report = report
        return wrapped

    def client(self):  # type: ignore[no-untyped-def]
        client = super().client()
        client.coverage = self.report.coverage
        return client
