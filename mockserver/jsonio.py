"""JSON encoding of response bodies: orjson (several times faster than `json.dumps`), with
`json` as the fallback for what orjson refuses (integers beyond 64 bits, non-string keys).

Both write compact JSON; orjson writes non-ASCII characters as UTF-8 instead of `\\u` escapes,
which any JSON reader decodes to the same text. `NaN` and infinities, which `json` writes as
non-standard literals, are left to `json` too, so the output does not depend on the library.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

__all__ = ["dumps"]


def dumps(value: Any, default: Any = None) -> bytes:
    """Compact JSON of `value` as UTF-8 bytes."""
    try:
        encoded = orjson.dumps(value, default=default)
    except (TypeError, orjson.JSONEncodeError):
        return _standard(value, default)
    if b"null" in encoded and _has_non_finite(value):  # orjson writes NaN as null
        return _standard(value, default)
    return encoded


def _standard(value: Any, default: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=default).encode("utf-8")


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_non_finite(v) for v in value)
    return False
