"""A bounded record of every exchange: request, response, validation results, timing."""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Journal", "JournalEntry", "is_secret_name", "mask_headers", "mask_query",
           "mask_text"]

MASK = "***"
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie",
                             "set-cookie"})
# Any header or query parameter whose name says it carries a credential.
_SECRET_WORDS = re.compile(r"token|secret|passw|api[-_]?key|apikey|auth|session|signature|"
                           r"jwt|credential|^key$|^sig$", re.IGNORECASE)
_SECRET_PAIR = re.compile(r"([?&;]|^)([^=&\s;?]+)=([^&\s;#]*)")
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


def is_secret_name(name: str) -> bool:
    """Whether a header or query parameter of this name carries a credential."""
    return name.lower() in _SECRET_HEADERS or bool(_SECRET_WORDS.search(name))


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Copy of `headers` with credentials replaced by `***`."""
    return {k: (MASK if is_secret_name(k) else v) for k, v in headers.items()}


def mask_query(query: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Copy of a parsed query string with credential-like parameters replaced by `***`."""
    return {k: ([MASK] * len(v) if is_secret_name(k) else list(v)) for k, v in query.items()}


def mask_text(text: str) -> str:
    """`GET /x?token=abc&page=2` → `GET /x?token=***&page=2` (for log lines)."""
    return _SECRET_PAIR.sub(
        lambda m: f"{m[1]}{m[2]}={MASK}" if is_secret_name(m[2]) else m[0], text)


def preview(body: bytes | str) -> str:
    """The body as the journal keeps it: credential-named JSON fields masked, truncated."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = _mask_json(text)
    return text if len(text) <= _BODY_PREVIEW else text[:_BODY_PREVIEW] + "…"


def _mask_json(text: str) -> str:
    """Mask string values under credential-like keys (a worker's `Authorization` header, a
    webhook's token); text that is not JSON is kept as it is."""
    if not text.lstrip().startswith(("{", "[")):
        return text
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return text
    if not _has_secret(value):
        return text
    try:
        return json.dumps(_masked(value), ensure_ascii=False)
    except RecursionError:
        return "(not shown: holds a credential and is nested too deeply to mask)"


def _has_secret(value: Any) -> bool:
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if any(is_secret_name(str(k)) and isinstance(v, str) for k, v in node.items()):
                return True
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return False


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (MASK if is_secret_name(str(k)) and isinstance(v, str) else _masked(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


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
