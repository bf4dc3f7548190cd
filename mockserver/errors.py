"""The exceptions jobmock raises, and the typed validation issues it reports.

Hierarchy::

    JobmockError                 root of everything jobmock raises on purpose
    ├── SpecError                a spec document is broken (file, JSON pointer, problem)
    ├── ConfigError              a setting, flag or environment variable is wrong
    └── ApiError                 a vendor handler refuses a request (rendered in the vendor's shape)

`Issue` is not an exception: request and response validation return lists of issues, and the
vendor's error dialect decides how they look on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class JobmockError(Exception):
    """Root of the exceptions jobmock raises on purpose."""


class SpecError(JobmockError):
    """A spec document cannot be used: names the file, the JSON pointer and what to change."""

    def __init__(self, file: str, pointer: str, problem: str) -> None:
        self.file = file
        self.pointer = pointer or "/"
        self.problem = problem
        super().__init__(
            f"Invalid spec {file}\n  Location: {self.pointer}\n  Error details: {problem}"
        )


class ConfigError(JobmockError):
    """A configuration value is wrong; the message says which and how to fix it."""


class ApiError(JobmockError):
    """A handler's refusal: the vendor dialect renders it as its documented error response.

    `kind` is a short machine word (`not-found`, `conflict`, `unauthorized`, `bad-request`,
    `invalid`) that dialects map to their own codes; `detail` is extra structured information
    some dialects include.
    """

    def __init__(self, status: int, message: str, kind: str = "", detail: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind or _KIND_BY_STATUS.get(status, "error")
        self.detail = detail


_KIND_BY_STATUS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    422: "invalid",
}


@dataclass(frozen=True)
class Issue:
    """One validation failure.

    `location` is where it is, FastAPI style: ``("body", "schedule", "cron")``,
    ``("query", "page")``, ``("path", "jobId")``, ``("header", "authorization")``.
    `kind` names the broken rule (a JSON Schema keyword such as ``required``, ``type``,
    ``enum``, ``pattern``, ``maximum``, or ``json_invalid``, ``content_type``, ``parsing``).
    """

    location: tuple[str | int, ...]
    message: str
    kind: str
    value: Any = None
    constraint: Any = None
    schema_path: tuple[str | int, ...] = field(default=())

    @property
    def field(self) -> str:
        """The innermost named field, or the location's source (``body``) when there is none."""
        for part in reversed(self.location):
            if isinstance(part, str):
                return part
        return str(self.location[0]) if self.location else ""

    @property
    def pointer(self) -> str:
        """The location as a JSON pointer inside its source (``/schedule/cron``)."""
        parts = [str(p).replace("~", "~0").replace("/", "~1") for p in self.location[1:]]
        return "/" + "/".join(parts)

    def describe(self) -> str:
        """One line for people: where and what."""
        where = ".".join(str(p) for p in self.location)
        return f"{where}: {self.message}"
