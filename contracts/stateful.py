"""The base of the per-API state machines: a model of what must exist, checked on every step.

Each API module (`contracts.nimble`, ...) subclasses `ApiStateMachine` with rules that call
operations through `self.client` and compare the answers with `self` 's model. Rules that need
the mock's control API (driving a run the vendor's backend would advance) are guarded with
`needs_control`; against a real implementation they are skipped and the report says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, precondition

from contracts.client import ApiClient, ControlClient, Result
from contracts.receiver import Receiver
from contracts.targets import Target, current_target

__all__ = ["ApiStateMachine", "needs_clock", "needs_control", "suite_settings"]

F = TypeVar("F", bound=Callable[..., Any])


def suite_settings(max_examples: int = 25, step_count: int = 15) -> settings:
    """The budget of one state-machine run (kept small enough for CI)."""
    return settings(max_examples=max_examples, stateful_step_count=step_count, deadline=None,
                    suppress_health_check=list(HealthCheck), derandomize=False)


def needs_control(rule: F) -> F:
    """Run this rule only when the target is a jobmock server (it drives the backend)."""
    guarded: F = precondition(lambda machine: machine.control is not None)(rule)
    guarded._jobmock_needs_control = True  # type: ignore[attr-defined]
    return guarded


def needs_clock(rule: F) -> F:
    """Run this rule only on a jobmock server with a virtual clock (it moves the clock, and
    the target calls back this suite's own port)."""
    guarded: F = precondition(lambda machine: machine.clock_control)(rule)
    guarded._jobmock_needs_control = True  # type: ignore[attr-defined]
    return guarded


class ApiStateMachine(RuleBasedStateMachine):
    """Resets the mock (when it is one) and gives rules a checked client and a model."""

    api: ClassVar[str]

    def __init__(self) -> None:
        super().__init__()
        self.target: Target = current_target(self.api)
        self.client: ApiClient = self.target.client()
        self.control: ControlClient | None = self.target.control
        self.isolated = self.control is not None
        self._names = 0
        self._receivers: list[Receiver] = []
        self.clock_control = self.control is not None and self.control.virtual_clock()
        if self.control is not None and not self.clock_control:
            self.target.note(f"{self.api}: rules where the mock calls this suite back were "
                             "skipped (the server's clock is real, so it cannot be advanced)")
        if self.control is not None:
            self.control.reset(self.api)
        else:
            self.target.note(f"{self.api}: rules that drive the backend through the control "
                             "API were skipped (the target is not a jobmock server)")

    def receiver(self, status: int = 200, body: Any = None) -> Receiver:
        """A stand-in for the user's code on 127.0.0.1 (closed when the run ends)."""
        server = Receiver(status, body)
        self._receivers.append(server)
        return server

    def teardown(self) -> None:
        for server in self._receivers:
            server.close()
        self._receivers.clear()

    def unique(self, prefix: str) -> str:
        """A name no earlier step used. On a reset mock a counter (runs stay repeatable for a
        seed); against a real implementation, which keeps its state, a random suffix."""
        if not self.isolated:
            return f"{prefix}-{uuid.uuid4().hex[:10]}"
        self._names += 1
        return f"{prefix}-{self._names}"

    def expect(self, result: Result, statuses: set[int] | int, rule: str, why: str = "") -> None:
        self.client.expect(result, statuses, rule, why)

    def check_equal(self, result: Result, rule: str, actual: Any, expected: Any,
                    what: str) -> None:
        """Fail with `rule` when the server's `actual` differs from the model's `expected`."""
        if actual != expected:
            self.client.fail(result.operation.operation_id, rule,
                             f"{what}: server says {actual!r}, the model expects {expected!r}")
