"""What a broken contract raises: an `AssertionError` that pytest reports natively.

Hierarchy::

    AssertionError
    └── ContractFailure      operation, rule, message, and the requests that reproduce it
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts.transport import Sent

__all__ = ["ContractFailure"]


class ContractFailure(AssertionError):
    """A response broke a rule. `reproduction` holds the requests, in order, as curl lines."""

    def __init__(self, operation: str, rule: str, message: str,
                 requests: Sequence[Sent] = ()) -> None:
        self.operation = operation
        self.rule = rule
        self.message = message
        self.reproduction = [sent.curl() for sent in requests]
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [f"[{self.rule}] {self.operation}: {self.message}"]
        if self.reproduction:
            lines.append("Reproduce with:")
            lines.extend(f"  {line}" for line in self.reproduction)
        return "\n".join(lines)
