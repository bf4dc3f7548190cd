"""What the official Python SDKs' pydantic models make of the mock's answers."""

from __future__ import annotations

from typing import Any

__all__ = ["undeclared_fields"]


def undeclared_fields(value: Any, where: str = "") -> list[str]:
    """Fields the mock sent that the SDK's model does not declare, anywhere in the tree."""
    found: list[str] = []
    if isinstance(value, list):
        for i, item in enumerate(value):
            found += undeclared_fields(item, f"{where}[{i}]")
    elif hasattr(value, "model_fields"):
        found += [f"{where}.{name}" for name in (value.model_extra or {})]
        for name in type(value).model_fields:
            found += undeclared_fields(getattr(value, name), f"{where}.{name}")
    return found
