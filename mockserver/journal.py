"""A bounded record of every exchange: request, response, validation results, timing."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Journal", "JournalEntry", "mask_headers"]

_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "cookie", "set-cookie"})
_BODY_PREVIEW = 4096


@dataclass
class JournalEntry:
    """One exchange as the journal keeps it (secrets masked, bodies truncated)."""

    seq: int
    api: str
    operation: str | None
    method: str
    path: str
    query: dict[str, list[str]]
    request_headers: dict[str, str]
    request_body: str
    status: int
    response_body: str
    request_issues: list[str] = field(default_factory=list)
    response_violations: list[str] = field(default_factory=list)
    fault: str | None = None
    duration_ms: float = 0.0
    # "inbound": a request to the mock; "outbound": a call the mock made (worker endpoint,
    # action URL, webhook), whose `path` is the full URL and `outcome` says how it ended.
    direction: str = "inbound"
    outcome: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Copy of `headers` with credentials replaced by `***`."""
    return {k: ("***" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}


def preview(body: bytes | str) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return text if len(text) <= _BODY_PREVIEW else text[:_BODY_PREVIEW] + "…"


class Journal:
    """Thread-safe ring buffer of `JournalEntry`s."""

    def __init__(self, size: int) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=max(size, 1))
        self._seq = 0
        self._lock = threading.Lock()

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def add(self, entry: JournalEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self, api: str | None = None, operation: str | None = None,
                limit: int | None = None) -> list[JournalEntry]:
        with self._lock:
            found = [e for e in self._entries
                     if (api is None or e.api == api)
                     and (operation is None or e.operation == operation)]
        return found[-limit:] if limit else found

    def clear(self, api: str | None = None) -> None:
        with self._lock:
            kept = [e for e in self._entries if api is not None and e.api != api]
            self._entries.clear()
            self._entries.extend(kept)
